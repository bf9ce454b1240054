//! The acquirer simulator (`pos-acquirer-sim`): a real TCP server that
//! speaks the whole protocol of acquirer-protocol.md §3 against the cards
//! and merchants of `test-cards.toml`, keeps a ledger of what it charged,
//! and injects faults on command. It is test equipment: never linked into
//! `posd`.
//!
//! | concept | module |
//! |---|---|
//! | what the host remembers | [`state`] |
//! | the issuer's checks (track 2, PIN, ARQC/TC, ARPC) | [`issuer`] |
//! | one handler per exchange | `handlers` |
//! | faults switchable at run time | [`faults`] |
//! | the ledger tests read | [`ledger`] |
//! | TCP front and fault delivery | `server` |
//! | JSON-lines control socket | [`control`] |

pub mod control;
pub mod faults;
mod handlers;
pub mod issuer;
pub mod ledger;
mod server;
pub mod state;

use faults::Faults;
use ledger::Ledger;
use smartpos_vcard::testdata::TestData;
use state::HostState;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// State shared by the server, the control socket and the handle.
#[derive(Debug)]
pub struct Shared {
    pub(crate) state: Mutex<HostState>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) refuse: watch::Sender<bool>,
    /// Whether the listener is bound (the accept loop's side of `refuse`).
    pub(crate) listening: watch::Sender<bool>,
    /// Terminal connections open now (a cut network closes them all).
    pub(crate) connections: watch::Sender<usize>,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) log_exchanges: bool,
}

/// How long a fault switch may take to be in effect before it is an error.
const APPLY_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

impl Shared {
    pub fn faults(&self) -> Faults {
        self.faults.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Switches the faults. `refuse` takes effect on the simulator's own
    /// runtime; [`Shared::applied`] says when it has.
    pub fn set_faults(&self, f: Faults) {
        let refuse = f.refuse;
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = f;
        let _ = self.refuse.send_replace(refuse);
    }

    /// Whether the network is as `refuse` says: the listener closed and
    /// every connection gone, or the listener bound again.
    pub(crate) fn applied(&self, refuse: bool) -> bool {
        *self.listening.borrow() != refuse && (!refuse || *self.connections.borrow() == 0)
    }

    /// Waits on the runtime until [`Shared::applied`] (at most [`APPLY_WITHIN`]).
    pub(crate) async fn until_applied(&self, refuse: bool) -> Result<(), String> {
        let (mut l, mut c) = (self.listening.subscribe(), self.connections.subscribe());
        let wait = async {
            while !self.applied(refuse) {
                tokio::select! {
                    _ = l.changed() => {}
                    _ = c.changed() => {}
                }
            }
        };
        tokio::time::timeout(APPLY_WITHIN, wait)
            .await
            .map_err(|_| format!("the simulator did not {} within {APPLY_WITHIN:?}", if refuse { "cut the network" } else { "listen again" }))
    }

    pub fn ledger(&self) -> Ledger {
        Ledger::of(&self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Drops every held advice answer, as a host does after its holding
    /// window or a restart: a repeat it already processed then gets `94`.
    pub fn forget_held_answers(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).held.clear();
    }
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where terminals connect (port 0: any free port).
    pub listen: SocketAddr,
    /// The control socket (port 0: any free port). Keep it on loopback.
    pub control: SocketAddr,
    pub test_data: TestData,
    /// One JSON line per exchange on stderr.
    pub log_exchanges: bool,
    /// Serve TLS with this configuration (certificate and key) instead of plain TCP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl SimConfig {
    /// Loopback, free ports, the repository's test data, quiet.
    pub fn local() -> Self {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        Self { listen: any, control: any, test_data: TestData::embedded(), log_exchanges: false, tls: None }
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimHandle {
    pub addr: SocketAddr,
    pub control_addr: SocketAddr,
    pub shared: Arc<Shared>,
}

impl SimHandle {
    /// Switches the faults and returns once a network cut (or its end) is in
    /// effect: no test has to guess how long the simulator's runtime takes.
    pub fn set_faults(&self, f: Faults) {
        let refuse = f.refuse;
        self.shared.set_faults(f);
        let deadline = std::time::Instant::now() + APPLY_WITHIN;
        while !self.shared.applied(refuse) {
            assert!(std::time::Instant::now() < deadline, "the simulator did not apply refuse = {refuse} within {APPLY_WITHIN:?}");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    pub fn ledger(&self) -> Ledger {
        self.shared.ledger()
    }

    /// The host's zone (seconds east of UTC) and how far its clock runs
    /// ahead of this machine's.
    pub fn set_host_clock(&self, utc_offset: i64, shift: i64) {
        let mut s = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        (s.utc_offset, s.clock_shift) = (utc_offset, shift);
    }

    /// See [`Shared::forget_held_answers`].
    pub fn forget_held_answers(&self) {
        self.shared.forget_held_answers();
    }

    /// Every clear key the host issued so far (for the secret scan).
    pub fn issued_keys(&self) -> Vec<smartpos_proto::crypto::Key> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner()).issued_keys.clone()
    }

    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        let _ = self.shared.shutdown.send_replace(true);
    }

    /// Resolves when the simulator was told to shut down.
    pub async fn stopped(&self) {
        let mut rx = self.shared.shutdown.subscribe();
        while !*rx.borrow() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// A simulator on a tokio runtime of its own, for blocking tests and tools.
#[derive(Debug)]
pub struct LocalSim {
    _rt: tokio::runtime::Runtime,
    pub h: SimHandle,
}

impl LocalSim {
    /// Loopback, free ports, the repository's test data ([`SimConfig::local`]).
    pub fn start() -> Self {
        Self::start_with(SimConfig::local())
    }

    pub fn start_with(cfg: SimConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio runtime");
        let h = rt.block_on(start(cfg)).expect("simulator on loopback");
        Self { _rt: rt, h }
    }
}

/// Starts the simulator on the current tokio runtime.
pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
    let state = HostState::new(cfg.test_data).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(cfg.listen).await?;
    let control = TcpListener::bind(cfg.control).await?;
    let addr = listener.local_addr()?;
    let control_addr = control.local_addr()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        faults: Mutex::new(Faults::default()),
        refuse: watch::channel(false).0,
        listening: watch::channel(true).0,
        connections: watch::channel(0).0,
        shutdown: watch::channel(false).0,
        log_exchanges: cfg.log_exchanges,
    });
    tokio::spawn(server::accept_loop(addr, listener, shared.clone(), cfg.tls.map(tokio_rustls::TlsAcceptor::from)));
    tokio::spawn(control::serve(control, shared.clone()));
    Ok(SimHandle { addr, control_addr, shared })
}

/// The CA keys a terminal holds after a download from this host: the
/// `[[ca_key]]` entries it serves whose checksum verifies (80 and the
/// expired 81; 82's is corrupt), as the engine stores them.
pub fn terminal_ca_keys(data: &TestData) -> Vec<posd::engine::emv::oda::CaKey> {
    handlers::downloads::ca_keys(data)
        .into_iter()
        .filter(|k| k.checksum_ok())
        .map(|k| posd::engine::emv::oda::CaKey { rid: k.entry.rid, index: k.entry.index, key: k.key, expiry: k.entry.expiry })
        .collect()
}
