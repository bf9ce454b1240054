//! The one error boundary between the engine and D-Bus: every failure
//! becomes a named `org.smartpos.Pos1.Error.*` whose message is a sentence
//! with its remedy (the `LastError` property carries the same in fields).

use crate::engine::{EngineError, ErrorKind};

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.smartpos.Pos1.Error")]
pub enum PosError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NotBound(String),
    NotSignedIn(String),
    Network(String),
    Device(String),
    Host(String),
    Operator(String),
    OfflineLimit(String),
    InvalidArgument(String),
    Busy(String),
    AccessDenied(String),
}

impl From<EngineError> for PosError {
    fn from(e: EngineError) -> Self {
        let code = e.code.as_deref().map(|c| format!(" (host code {c})")).unwrap_or_default();
        let text = format!("{}{code}. {}", e.message.trim_end_matches('.'), e.remedy);
        match e.kind {
            ErrorKind::NotBound => PosError::NotBound(text),
            ErrorKind::NotSignedIn => PosError::NotSignedIn(text),
            ErrorKind::Network => PosError::Network(text),
            ErrorKind::Device => PosError::Device(text),
            ErrorKind::Host => PosError::Host(text),
            ErrorKind::Operator => PosError::Operator(text),
            ErrorKind::OfflineLimit => PosError::OfflineLimit(text),
            ErrorKind::InvalidArgument => PosError::InvalidArgument(text),
            ErrorKind::Busy => PosError::Busy(text),
        }
    }
}

impl PosError {
    pub fn invalid(what: &str) -> Self {
        PosError::InvalidArgument(what.into())
    }

    /// The worker answered a job with another job's kind of result (a bug).
    pub fn unexpected(done: &super::worker::Done) -> Self {
        PosError::ZBus(zbus::Error::Failure(format!("internal: unexpected result {done:?}")))
    }
}
