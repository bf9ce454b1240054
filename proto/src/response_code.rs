//! Response codes of acquirer-protocol.md §5: what each means, which
//! category of problem it is, and what the terminal does about it.

use serde::Serialize;

/// The categories that D-Bus errors and diagnostics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Network,
    Device,
    Host,
    Binding,
    Operator,
    Declined,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Network => "network",
            Category::Device => "device",
            Category::Host => "host",
            Category::Binding => "binding",
            Category::Operator => "operator",
            Category::Declined => "declined",
        }
    }
}

/// What the terminal does after a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    None,
    QueueAdvice,
    MarkUnbound,
    SignInAgain,
    TreatAsProcessed,
    SendReversal,
}

/// One row of §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseCode {
    pub code: &'static str,
    pub meaning: &'static str,
    /// `None` for approvals.
    pub category: Option<Category>,
    pub action: Action,
}

const fn rc(code: &'static str, meaning: &'static str, category: Option<Category>, action: Action) -> ResponseCode {
    ResponseCode { code, meaning, category, action }
}

use Action::{MarkUnbound, QueueAdvice, SendReversal, SignInAgain, TreatAsProcessed};
use Category::*;

/// The table of §5.
pub const TABLE: &[ResponseCode] = &[
    rc("00", "approved", Option::None, Action::None),
    rc("Y1", "offline approved by the card", Option::None, QueueAdvice),
    rc("Y3", "unable to go online, approved by the card", Option::None, QueueAdvice),
    rc("Z1", "declined by the card offline", Some(Declined), Action::None),
    rc("Z3", "unable to go online, declined by the card", Some(Declined), Action::None),
    rc("01", "refer to issuer", Some(Declined), Action::None),
    rc("03", "invalid merchant", Some(Binding), MarkUnbound),
    rc("05", "do not honour", Some(Declined), Action::None),
    rc("12", "invalid transaction", Some(Declined), Action::None),
    rc("13", "invalid amount", Some(Operator), Action::None),
    rc("14", "invalid card number", Some(Declined), Action::None),
    rc("22", "terminal state mismatch", Some(Host), SignInAgain),
    rc("25", "original not found", Some(Operator), Action::None),
    rc("30", "format error", Some(Host), Action::None),
    rc("40", "function not supported", Some(Host), Action::None),
    rc("41", "lost card", Some(Declined), Action::None),
    rc("43", "stolen card", Some(Declined), Action::None),
    rc("51", "insufficient funds", Some(Declined), Action::None),
    rc("54", "expired card", Some(Declined), Action::None),
    rc("55", "incorrect PIN", Some(Operator), Action::None),
    rc("61", "exceeds amount limit", Some(Declined), Action::None),
    rc("75", "PIN tries exceeded", Some(Declined), Action::None),
    rc("77", "batch mismatch", Some(Host), SignInAgain),
    rc("94", "duplicate transmission", Some(Host), TreatAsProcessed),
    rc("96", "system malfunction", Some(Host), Action::None),
    rc("97", "terminal not registered", Some(Binding), MarkUnbound),
    rc("98", "issuer timeout", Some(Host), SendReversal),
    rc("99", "PIN key out of sync", Some(Host), SignInAgain),
    rc("A0", "MAC error", Some(Host), SignInAgain),
];

/// The row of `code`. Unknown codes are treated as host malfunctions.
pub fn lookup(code: &str) -> ResponseCode {
    TABLE.iter().copied().find(|r| r.code == code).unwrap_or(ResponseCode { code: "??", meaning: "unknown response code", category: Some(Host), action: Action::None })
}

/// Whether a code is a result for the payer (approved, declined, operator)
/// rather than an error (host, binding) — see dbus-api.md, Payment.
pub fn is_result(code: &str) -> bool {
    matches!(lookup(code).category, Option::None | Some(Declined) | Some(Operator))
}
