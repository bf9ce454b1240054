//! The terminal engine: binding, sign-in, EMV payments, reversal, offline
//! store-and-forward and settlement (acquirer-protocol.md §3, §5, §6, §7),
//! as plain synchronous logic over the hardware traits of `smartpos-hal`,
//! a [`HostLink`] and the SQLite [`Store`]. Every state change that matters
//! is committed before the message that depends on it leaves; the named
//! [`failpoint`]s sit between those steps for the crash tests.
//!
//! | concept | module |
//! |---|---|
//! | errors with kind, category and remedy | [`error`] |
//! | the path to the host | [`link`] |
//! | amounts in the merchant's units | [`money`] |
//! | building, MACing, sending and checking messages | `wire` |
//! | activation and unbinding | `binding` |
//! | sign-in, sign-out, when to sign in again | `session` |
//! | the EMV contact kernel | [`emv`] |
//! | the contactless kernel (qPBOC) | [`qpboc`] |
//! | payment codes from the scanner, and the wait for the customer's confirmation | [`code`] |
//! | one card session, whichever interface: waiting, reading, PIN | [`card_session`] |
//! | sale and balance inquiry (online and offline) | `payment` |
//! | void and refund | `adjust` |
//! | pending reversals | `reversal` |
//! | the advice forwarder | `forward` |
//! | settlement and batch upload | `settle` |
//! | CA key and IC parameter downloads, parameters in force (§8) | [`parameters`] |
//! | crash-test failpoints | [`failpoint`] |

pub mod adjust;
mod binding;
pub mod card_session;
pub mod code;
pub mod emv;
pub mod error;
pub mod failpoint;
mod forward;
pub mod link;
pub mod money;
pub mod parameters;
mod payment;
pub mod qpboc;
mod reversal;
mod session;
mod settle;
pub mod tls;
mod wire;

pub use binding::BindResult;
pub use error::{EngineError, EngineResult, ErrorKind};
pub use forward::FlushResult;
pub use link::{HostLink, LinkError, TcpLink};
pub use payment::{SaleOptions, TxnResult, mask_pan};
pub use session::SignInResult;
pub use settle::SettleResult;

use crate::config::Config;
use crate::store::queue::{QueueStats, QueueTotals};
use crate::store::{Identity, Store};
use smartpos_hal::scanner::{CodeScanner, ScannerInfo};
use smartpos_hal::{Cancel, CardReader, PinPad};
use smartpos_proto::clock::{CivilTime, unix_now};
use smartpos_proto::codec::Codec;
use smartpos_proto::crypto::MacAlgorithm;
use smartpos_proto::fields::sign_in62::WorkingKeys;
use smartpos_proto::fields::terminal_info59::Location;

/// Wall-clock time, replaceable in tests (offline age limits).
pub trait Clock: Send {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        unix_now()
    }
}

/// The hardware and the network the engine drives.
pub struct Devices {
    pub reader: Box<dyn CardReader>,
    /// The contactless reader, when the terminal has one (§10).
    pub contactless: Option<Box<dyn CardReader>>,
    /// The code scanner, when the terminal has one (§11).
    pub scanner: Option<Box<dyn CodeScanner>>,
    pub pinpad: Box<dyn PinPad>,
    pub link: Box<dyn HostLink>,
    pub clock: Box<dyn Clock>,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices").field("reader", &self.reader.info()).field("link", &self.link.describe()).finish()
    }
}

/// The reader and keypad as [`Engine::hardware_check`] found them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HardwareCheck {
    pub reader_backend: &'static str,
    pub reader_name: String,
    pub reader_present: bool,
    pub card_present: bool,
    pub reader_problem: Option<String>,
    pub keypad_ok: bool,
    /// The contactless reader, when the terminal has one.
    pub contactless: Option<ReaderCheck>,
    /// The code scanner, when the terminal has one.
    pub scanner: Option<ScannerInfo>,
}

/// One reader as [`Engine::hardware_check`] found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReaderCheck {
    pub backend: &'static str,
    pub name: String,
    pub present: bool,
    pub card_present: bool,
    pub problem: Option<String>,
}

/// What a waiting person is told (the D-Bus `Progress` signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a card on these interfaces (the ones the terminal has).
    WaitingCard(card_session::Interfaces),
    CardInserted,
    CardTapped,
    /// The tap was read: the card may leave the field.
    RemoveCard,
    /// Above the contactless limit: insert the chip.
    UseContact,
    /// Waiting for the customer's payment code (the scanner is the only way asked).
    WaitingCode,
    /// A line came from the scanner.
    CodeScanned,
    /// The host said `Q1`: the customer confirms on the phone.
    WaitingCustomer,
    /// A receipt goes to the printer (after the payment's `completed`).
    Printing,
    ReadingCard,
    WaitingPin,
    /// Digits typed so far: a count, never a digit.
    PinDigit(usize),
    PinEntered,
    Connecting,
    Sending,
    WaitingHost,
    Reversing,
    Completed,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::WaitingCard { .. } => "waiting-card",
            Stage::CardInserted => "card-inserted",
            Stage::CardTapped => "card-tapped",
            Stage::RemoveCard => "remove-card",
            Stage::UseContact => "use-contact",
            Stage::WaitingCode => "waiting-code",
            Stage::CodeScanned => "code-scanned",
            Stage::WaitingCustomer => "waiting-customer",
            Stage::Printing => "printing",
            Stage::ReadingCard => "reading-card",
            Stage::WaitingPin => "waiting-pin",
            Stage::PinDigit(_) => "pin-digit",
            Stage::PinEntered => "pin-entered",
            Stage::Connecting => "connecting",
            Stage::Sending => "sending",
            Stage::WaitingHost => "waiting-host",
            Stage::Reversing => "reversing",
            Stage::Completed => "completed",
        }
    }
}

/// Receives progress; the daemon turns it into `Progress` signals and logs.
pub type ProgressSink = Box<dyn FnMut(Stage) + Send>;

/// The engine. One thread owns it; the D-Bus layer calls it through a task.
pub struct Engine {
    pub(crate) cfg: Config,
    pub(crate) params: emv::Params,
    /// Offline data authentication under the CA keys of the last download
    /// (none held: every card is "ODA not performed").
    pub(crate) oda: emv::oda::Authenticator,
    pub(crate) codec: Codec,
    pub(crate) mac: MacAlgorithm,
    pub(crate) store: Store,
    pub(crate) dev: Devices,
    /// Working keys of the current session (sealed in the store as well).
    pub(crate) keys: Option<WorkingKeys>,
    pub(crate) cancel: Cancel,
    progress: ProgressSink,
    /// The host answered (or not) at the last attempt.
    pub(crate) online: Option<bool>,
    /// The host, a code or a key check asked for a new sign-in.
    pub(crate) resign: bool,
    /// Downloads a reply header asked for (§8), run at the next chance.
    pub(crate) requested: parameters::Requested,
    pub(crate) location: Location,
    pub(crate) serial: String,
    /// What `LastError` holds on disk, once known: an unchanged value is not rewritten.
    last_error: Option<Option<String>>,
    /// The queue's totals, kept in step with the engine's own writes (it is
    /// the store's only writer) so an offline sale does not re-add the queue.
    queue_totals: Option<QueueTotals>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("serial", &self.serial).field("signed_in", &self.keys.is_some()).field("online", &self.online).finish()
    }
}

impl Engine {
    /// An engine over `store` and `dev`. `serial` is the hardware serial
    /// (the configuration's, or the device tree's). Working keys of a
    /// session that survived a restart are loaded.
    pub fn new(cfg: Config, store: Store, dev: Devices, serial: &str) -> EngineResult<Self> {
        if !cfg.dialect.field_table.is_empty() && cfg.dialect.table_text.is_none() {
            return Err(EngineError::invalid(format!("dialect.field_table: {} was not read (the configuration loader reads it)", cfg.dialect.field_table)));
        }
        let dialect =
            smartpos_proto::Dialect::from_config(&cfg.dialect, cfg.dialect.table_text.as_deref()).map_err(|e| EngineError::invalid(format!("dialect.field_table: {e}")))?;
        let params = emv::Params::new(&cfg.emv, &cfg.terminal.currency, serial);
        let mut e = Self {
            cfg,
            params,
            oda: emv::oda::Authenticator::default(),
            codec: dialect.codec,
            mac: dialect.mac,
            store,
            dev,
            keys: None,
            cancel: Cancel::new(),
            progress: Box::new(|_| {}),
            online: None,
            resign: false,
            requested: parameters::Requested::default(),
            location: Location::None,
            serial: serial.to_string(),
            last_error: None,
            queue_totals: None,
        };
        e.ensure_identity_row()?;
        e.load_session_keys()?;
        e.load_parameters()?;
        Ok(e)
    }

    /// Where progress goes.
    pub fn set_progress(&mut self, sink: ProgressSink) {
        self.progress = sink;
    }

    /// The cancel flag the D-Bus `Cancel()` raises.
    pub fn cancel_handle(&self) -> Cancel {
        self.cancel.clone()
    }

    /// The modem's latest location (field 59.06).
    pub fn set_location(&mut self, location: Location) {
        self.location = location;
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The engine's clock (seconds since the epoch): what queue ages are measured against.
    pub fn store_now(&self) -> i64 {
        self.now()
    }

    pub fn online(&self) -> Option<bool> {
        self.online
    }

    pub fn signed_in(&self) -> bool {
        self.keys.is_some()
    }

    /// What the reader and keypad say now (the `Hardware` property and
    /// diagnostics); called between operations only.
    pub fn hardware_check(&mut self) -> HardwareCheck {
        let contactless = self.dev.contactless.as_mut().map(|r| {
            let card = r.card_present();
            let info = r.info();
            ReaderCheck {
                backend: info.backend,
                name: info.name,
                present: !matches!(card, Err(smartpos_hal::ReaderError::NoReader(_))),
                card_present: matches!(card, Ok(true)),
                problem: card.err().map(|e| e.to_string()),
            }
        });
        let scanner = self.dev.scanner.as_mut().map(|s| s.info());
        let card = self.dev.reader.card_present();
        let info = self.dev.reader.info();
        HardwareCheck {
            contactless,
            scanner,
            reader_backend: info.backend,
            reader_name: info.name,
            reader_present: !matches!(card, Err(smartpos_hal::ReaderError::NoReader(_))),
            card_present: matches!(card, Ok(true)),
            reader_problem: card.err().map(|e| e.to_string()),
            keypad_ok: self.dev.pinpad.ok(),
        }
    }

    /// Queue depth, amount and age (`Queue` properties).
    pub fn queue_stats(&mut self) -> EngineResult<QueueStats> {
        let totals = match self.queue_totals {
            Some(t) => t,
            None => *self.queue_totals.insert(self.store.queue_totals()?),
        };
        Ok(totals.stats(self.queue_clock()))
    }

    /// After a commit that changed the queue other than by one offline sale.
    pub(crate) fn queue_changed(&mut self) {
        self.queue_totals = None;
    }

    /// After the commit of one offline sale of `amount` queued at `at`.
    pub(crate) fn queue_grew(&mut self, amount: u64, at: i64) {
        if let Some(t) = &mut self.queue_totals {
            t.depth += 1;
            t.amount += amount;
            t.oldest_queued_at = Some(t.oldest_queued_at.map_or(at, |o| o.min(at)));
        }
    }

    pub(crate) fn stage(&mut self, s: Stage) {
        tracing::debug!(stage = s.name(), "progress");
        (self.progress)(s);
    }

    pub(crate) fn now(&self) -> i64 {
        self.dev.clock.now()
    }

    /// The clock the offline queue is timed by: the later of ours and the
    /// host's as seen at sign-in (ours plus the offset then recorded). A
    /// clock that fell behind — a flat RTC battery, a bad time sync — would
    /// otherwise make queued sales look younger than they are and approve
    /// offline past the age limit (§6). A clock ahead of the host's only
    /// makes them look older: the safe side, left as it is.
    pub(crate) fn queue_clock(&self) -> i64 {
        let offset = self.store.session().ok().flatten().map_or(0, |s| s.clock_offset_secs);
        self.now().saturating_add(offset.max(0))
    }

    pub(crate) fn civil(&self) -> CivilTime {
        CivilTime::from_unix(self.now(), self.cfg.utc_offset_seconds())
    }

    /// The bound identity, or the *not bound* error.
    pub(crate) fn bound(&self) -> EngineResult<Identity> {
        match self.store.identity()? {
            Some(id) if id.is_bound() => Ok(id),
            _ => Err(EngineError::not_bound()),
        }
    }

    fn ensure_identity_row(&mut self) -> EngineResult<()> {
        if self.store.identity()?.is_none() {
            let tx = self.store.transaction()?;
            Store::put_identity(&tx, &Identity { serial: self.serial.clone(), ..Default::default() })?;
            tx.commit().map_err(crate::store::StoreError::from)?;
        }
        Ok(())
    }

    /// Records the outcome of a public operation as `LastError` (cleared on success).
    pub(crate) fn record<T>(&mut self, r: EngineResult<T>) -> EngineResult<T> {
        let r = r.map_err(|e| e.explain_storage(|| self.store.dir().map_or(Ok(()), crate::store::probe_writable)));
        // The LastError rule (docs/dbus-api.md): a call refused before it
        // ran, for its arguments or because another runs, is the caller's
        // answer alone; LastError keeps the last operation's outcome.
        if r.as_ref().is_err_and(|e| e.kind.refused_before_running()) {
            return r;
        }
        let json = match &r {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(kind = e.kind.name(), category = e.kind.category(), response_code = e.code.as_deref().unwrap_or(""), "{}", e.message);
                Some(
                    serde_json::json!({
                        "category": e.kind.category(),
                        "code": e.code.clone().unwrap_or_default(),
                        "message": e.message,
                        "remedy": e.remedy,
                        "at": self.civil().rfc3339(),
                    })
                    .to_string(),
                )
            }
        };
        if self.last_error.as_ref() != Some(&json)
            && let Ok(tx) = self.store.transaction()
            && Store::put_last_error(&tx, json.as_deref()).is_ok()
            && tx.commit().is_ok()
        {
            self.last_error = Some(json);
        }
        r
    }
}
