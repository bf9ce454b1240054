//! What goes wrong, in the terms the D-Bus API and the diagnostics use:
//! a kind (the `org.smartpos.Pos1.Error.*` name), the §5 category, the
//! host's code when there was one, one sentence of message and one of
//! remedy. A decline is never an error: it is a [`TxnResult`](super::TxnResult).

use crate::store::StoreError;
use serde::Serialize;
use smartpos_hal::{PinError, ReaderError};

/// The error names of `dbus-api.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorKind {
    NotBound,
    NotSignedIn,
    Network,
    Device,
    Host,
    Operator,
    OfflineLimit,
    InvalidArgument,
    Busy,
}

impl ErrorKind {
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NotBound => "NotBound",
            ErrorKind::NotSignedIn => "NotSignedIn",
            ErrorKind::Network => "Network",
            ErrorKind::Device => "Device",
            ErrorKind::Host => "Host",
            ErrorKind::Operator => "Operator",
            ErrorKind::OfflineLimit => "OfflineLimit",
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::Busy => "Busy",
        }
    }

    /// A refusal before anything ran (the arguments, or another operation
    /// running): it leaves `LastError` as it was.
    pub fn refused_before_running(self) -> bool {
        matches!(self, ErrorKind::InvalidArgument | ErrorKind::Busy)
    }

    /// The diagnostic category (`network`, `device`, `host`, `binding`, `operator`).
    pub fn category(self) -> &'static str {
        match self {
            ErrorKind::NotBound => "binding",
            ErrorKind::NotSignedIn | ErrorKind::Host => "host",
            ErrorKind::Network | ErrorKind::OfflineLimit => "network",
            ErrorKind::Device => "device",
            ErrorKind::Operator | ErrorKind::InvalidArgument | ErrorKind::Busy => "operator",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} {remedy}")]
pub struct EngineError {
    pub kind: ErrorKind,
    /// The host's response code, when the error is the host's answer.
    pub code: Option<String>,
    pub message: String,
    pub remedy: String,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>, remedy: impl Into<String>) -> Self {
        Self { kind, code: None, message: message.into(), remedy: remedy.into() }
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.code = Some(code.to_string());
        self
    }

    /// The app or the cardholder cancelled the payment (`Cancel`, `*` held).
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Operator, "The payment was cancelled.", "Start it again when ready.")
    }

    pub fn not_bound() -> Self {
        Self::new(ErrorKind::NotBound, "The terminal is not bound to a merchant.", "Bind it with the activation code from your acquirer.")
    }

    pub fn not_signed_in(why: &str) -> Self {
        Self::new(ErrorKind::NotSignedIn, format!("The terminal is not signed in ({why})."), "Sign in, then repeat the payment.")
    }

    pub fn network(what: &str) -> Self {
        Self::new(ErrorKind::Network, format!("The acquirer host cannot be reached: {what}."), "Check the modem signal or the network cable, then try again.")
    }

    /// The host answered, but its TLS could not be trusted: a setting or
    /// the clock, not the network.
    pub fn untrusted_host(what: &str) -> Self {
        Self::new(
            ErrorKind::Host,
            format!("The acquirer host could not be verified: {what}."),
            "Check that host.ca_cert in posd.toml is the acquirer's CA certificate and the terminal's clock is right (posctl diagnose), else call the acquirer.",
        )
    }

    pub fn invalid(what: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, what, "Correct the value and try again.")
    }

    pub fn busy(what: &str) -> Self {
        Self::new(ErrorKind::Busy, format!("The terminal is busy: {what}."), "Wait for it to finish, then try again.")
    }

    /// The host answered a §5 code of category host or binding.
    pub fn host_code(code: &str, meaning: &str) -> Self {
        let (kind, remedy) = match code {
            "03" | "97" => (ErrorKind::NotBound, "The acquirer no longer knows this terminal: bind it again with a new activation code."),
            "22" | "77" | "99" | "A0" => (ErrorKind::Host, "The terminal signs in again; repeat the transaction."),
            "94" => (ErrorKind::Host, "The host saw this message before; check the journal before repeating."),
            _ => (ErrorKind::Host, "Try again later; if it persists, call the acquirer's help desk."),
        };
        Self::new(kind, format!("The host answered {code} ({meaning})."), remedy).with_code(code)
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        use rusqlite::ErrorCode::{DiskFull, ReadOnly};
        let code = match &e {
            StoreError::Sql(rusqlite::Error::SqliteFailure(f, _)) | StoreError::Open { source: rusqlite::Error::SqliteFailure(f, _), .. } => Some(f.code),
            _ => None,
        };
        match code {
            Some(DiskFull) => EngineError::storage_full(),
            Some(ReadOnly) => EngineError::storage_read_only(),
            _ => EngineError::new(ErrorKind::Device, format!("{STORAGE_FAILED}: {e}."), "Restart the terminal; if it persists, call service."),
        }
    }
}

/// How a storage error's message starts when SQLite could not say why.
const STORAGE_FAILED: &str = "The terminal's storage failed";

// A state change that cannot be committed is refused before anything leaves
// for the host (or, after the host answered, reversed at the next start):
// say so, and what helps.
impl EngineError {
    pub fn storage_full() -> Self {
        Self::new(ErrorKind::Device, "The terminal's storage is full; nothing was charged.", "Free space on the terminal (e.g. journalctl --vacuum-size=20M) or call service.")
    }

    pub fn storage_read_only() -> Self {
        Self::new(
            ErrorKind::Device,
            "The terminal's storage is read-only; nothing was charged.",
            "Check that /var/lib/posd is writable by posd (disk errors remount it read-only: reboot to have it checked), or call service.",
        )
    }

    /// A storage error SQLite could only call "disk I/O error", made
    /// precise by the file system's answer to `probe` (a write in the
    /// database's folder).
    pub fn explain_storage(self, probe: impl FnOnce() -> std::io::Result<()>) -> Self {
        if self.kind != ErrorKind::Device || !self.message.starts_with(STORAGE_FAILED) {
            return self;
        }
        match probe() {
            Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem || e.kind() == std::io::ErrorKind::PermissionDenied => Self::storage_read_only(),
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => Self::storage_full(),
            _ => self,
        }
    }
}

impl From<ReaderError> for EngineError {
    fn from(e: ReaderError) -> Self {
        match e {
            ReaderError::Timeout => EngineError::new(ErrorKind::Operator, "No card was inserted in time.", "Insert the card when asked."),
            ReaderError::Cancelled => EngineError::cancelled(),
            ReaderError::CardRemoved => {
                EngineError::new(ErrorKind::Device, "The card was removed during the transaction.", "Leave the card in the reader until the terminal says so, then try again.")
            }
            other => EngineError::new(ErrorKind::Device, format!("The card reader failed: {other}."), "Check the card reader's connection, then try again."),
        }
    }
}

impl From<PinError> for EngineError {
    fn from(e: PinError) -> Self {
        match e {
            PinError::Timeout => EngineError::new(ErrorKind::Operator, "PIN entry timed out.", "Ask the cardholder to enter the PIN and press # within the time."),
            PinError::Cancelled => EngineError::new(ErrorKind::Operator, "PIN entry was cancelled.", "Start the payment again when the cardholder is ready."),
            other => EngineError::new(ErrorKind::Device, format!("The PIN pad failed: {other}."), "Check the keypad's connection, then try again."),
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;
