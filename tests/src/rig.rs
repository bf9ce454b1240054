//! A terminal under test: `posd`'s real engine on a real SQLite file in a
//! temporary directory, the simulated card reader and keypad holding the
//! virtual cards of `test-cards.toml`, and the acquirer simulator on
//! loopback TCP. Tests drive it as a merchant would and read the
//! simulator's ledger afterwards.

use crate::acquirer::LocalSim;
use crate::acquirer::faults::Faults;
use crate::acquirer::ledger::Ledger;
use posd::config::{Config, Host};
use posd::engine::{Clock, Devices, Engine, EngineError, SaleOptions, TcpLink, TxnResult};
use posd::store::Store;
use posd::store::keystore::FileKeyStore;
use smartpos_hal::KeypadPinPad;
use smartpos_hal::sim::{CardSlot, SimKeypad, SimKeys, SimReader};
use smartpos_vcard::card::VirtualCard;
use smartpos_vcard::testdata::TestData;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The hardware serial the tests bind.
pub const SERIAL: &str = "SP2026000123";
/// The activation code of merchant 1 (Test Mart).
pub const ACTIVATION_CODE: &str = "483920";

/// The test configuration (`tests/fixtures/posd-test.toml`) pointing at `host`.
pub fn test_config(host: SocketAddr, state_dir: &Path) -> Config {
    let text = include_str!("../fixtures/posd-test.toml");
    let mut cfg = Config::parse(text).unwrap_or_else(|e| panic!("tests/fixtures/posd-test.toml: {e}"));
    cfg.hosts = vec![Host::plain(&host.to_string())];
    cfg.terminal.state_dir = state_dir.to_path_buf();
    cfg
}

/// A clock tests can move forward (offline age limits).
#[derive(Debug, Clone, Default)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// Moves the clock `secs` ahead of the system clock.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        smartpos_proto::clock::unix_now() + self.0.load(Ordering::SeqCst)
    }
}

/// Opens the store and an engine over simulated hardware.
pub fn open_engine(cfg: &Config, slot: &CardSlot, keypad: SimKeypad, clock: TestClock) -> Engine {
    let dir = &cfg.terminal.state_dir;
    let keys = Arc::new(FileKeyStore::open_or_create(&dir.join("device.key")).expect("device key"));
    let store = Store::open(&dir.join("posd.db"), keys).expect("store");
    let dev = Devices {
        reader: Box::new(SimReader::new(slot.clone())),
        contactless: None,
        scanner: None,
        pinpad: Box::new(KeypadPinPad::new(keypad)),
        link: Box::new(TcpLink::new(&cfg.hosts, &cfg.timeouts)),
        clock: Box::new(clock),
    };
    Engine::new(cfg.clone(), store, dev, &cfg.terminal.serial).expect("engine")
}

/// The whole rig.
pub struct Rig {
    /// The simulator (`sim.h` is its handle).
    pub sim: LocalSim,
    pub dir: tempfile::TempDir,
    pub cfg: Config,
    pub slot: CardSlot,
    pub keys: SimKeys,
    pub clock: TestClock,
    pub engine: Engine,
    cards: HashMap<String, VirtualCard>,
    inserted: Option<String>,
    data: TestData,
}

impl std::fmt::Debug for Rig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rig").field("sim", &self.sim.h.addr).field("dir", &self.dir.path()).finish()
    }
}

impl Rig {
    /// A fresh terminal, unbound, and a fresh simulator.
    pub fn unbound() -> Self {
        Self::with_config(|_| {})
    }

    /// [`Rig::unbound`] with configuration changes.
    pub fn with_config(edit: impl FnOnce(&mut Config)) -> Self {
        let sim = LocalSim::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = test_config(sim.h.addr, dir.path());
        edit(&mut cfg);
        let slot = CardSlot::new();
        let (keypad, keys) = SimKeypad::new();
        let clock = TestClock::default();
        let engine = open_engine(&cfg, &slot, keypad, clock.clone());
        Self { sim, dir, cfg, slot, keys, clock, engine, cards: HashMap::new(), inserted: None, data: TestData::embedded() }
    }

    /// Bound to merchant 1 and signed in.
    pub fn signed_in() -> Self {
        Self::signed_in_with(|_| {})
    }

    pub fn signed_in_with(edit: impl FnOnce(&mut Config)) -> Self {
        let mut r = Self::with_config(edit);
        r.engine.bind(ACTIVATION_CODE).expect("bind");
        r.engine.sign_in().expect("sign in");
        r
    }

    /// Restarts the engine on the same files (a power cycle of the terminal).
    pub fn restart(&mut self) {
        let (keypad, keys) = SimKeypad::new();
        self.keys = keys;
        self.engine = open_engine(&self.cfg, &self.slot, keypad, self.clock.clone());
    }

    /// Powers the terminal off, runs `while_off` (its files are closed: a
    /// disk can be unmounted and repaired), and powers it on again.
    pub fn power_cycle(&mut self, while_off: impl FnOnce()) {
        let off = tempfile::tempdir().expect("tempdir");
        let mut elsewhere = self.cfg.clone();
        elsewhere.terminal.state_dir = off.path().to_path_buf();
        let (keypad, _) = SimKeypad::new();
        // Replacing the engine drops it, closing the database and key files.
        self.engine = open_engine(&elsewhere, &self.slot, keypad, self.clock.clone());
        while_off();
        self.restart();
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("posd.db")
    }

    /// Puts the card `label` in the reader (the same card object each time: its ATC goes on).
    pub fn insert(&mut self, label: &str) {
        self.remove();
        let card = match self.cards.remove(label) {
            Some(c) => c,
            None => VirtualCard::new(self.data.card(label).unwrap_or_else(|| panic!("no card {label:?}")), &self.data.issuer.imk_ac).expect("card"),
        };
        self.slot.insert(card);
        self.inserted = Some(label.to_string());
    }

    /// Takes the card out (kept for its next insert).
    pub fn remove(&mut self) {
        if let (Some(label), Some(card)) = (self.inserted.take(), self.slot.remove()) {
            self.cards.insert(label, card);
        }
    }

    /// The PIN of `label`, typed and confirmed when the next PIN entry asks.
    pub fn type_pin(&self, label: &str) {
        let pin = &self.data.card(label).expect("card").pin;
        self.keys.type_when_asked(&format!("{pin}#")).expect("keys");
    }

    /// Card in, and the cardholder ready to type the PIN when asked.
    pub fn present(&mut self, label: &str) {
        self.insert(label);
        self.type_pin(label);
    }

    pub fn faults(&self, f: Faults) {
        self.sim.h.set_faults(f);
    }

    pub fn clear_faults(&self) {
        self.sim.h.set_faults(Faults::default());
    }

    /// Moves the terminal's and the host's clocks together to noon in
    /// Beijing (the test zone of both), and returns the shift, so that a
    /// test that moves the clock by hours crosses midnight only when it means
    /// to, whatever the time it runs at. `shift` for later `set_host_clock`s.
    pub fn at_beijing_noon(&self) -> i64 {
        const DAY: i64 = 86_400;
        let beijing = 8 * 3600;
        let shift = DAY / 2 - (smartpos_proto::clock::unix_now() + beijing).rem_euclid(DAY);
        self.clock.advance(shift);
        self.sim.h.set_host_clock(beijing, shift);
        shift
    }

    /// Cuts (or restores) the path to the host: connections are refused.
    pub fn host_reachable(&self, up: bool) {
        // Returns once the cut (or its end) is in effect.
        self.sim.h.set_faults(Faults { refuse: !up, ..Faults::default() });
    }

    pub fn ledger(&self) -> Ledger {
        self.sim.h.ledger()
    }

    /// A sale with `label`'s card inserted and its PIN typed, the card taken out after.
    pub fn sale(&mut self, label: &str, amount: u64) -> Result<TxnResult, EngineError> {
        self.present(label);
        let out = self.engine.sale(amount, &SaleOptions::default());
        self.remove();
        out
    }

    pub fn data(&self) -> &TestData {
        &self.data
    }
}
