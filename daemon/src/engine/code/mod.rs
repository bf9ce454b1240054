//! Payment codes (acquirer-protocol.md §11), the sibling of the contact
//! ([`super::emv`]) and contactless ([`super::qpboc`]) kernels behind the
//! card-session seam: a line from the code scanner becomes a
//! [`PaymentCode`] (digits, 16–24, at most 19 for field 2) before anything
//! is sent, and the one payment path (reversal record, exchange, journal)
//! carries it. What is particular to codes lives here: reading the scanner,
//! and [`confirm`] — the status-inquiry polling after the host said `Q1`.
//!
//! The code is a bearer credential until the host has used it: it stays in
//! zeroizing buffers, only its masked form (first 4 and last 4 digits) is
//! shown, logged or stored in clear, and the sealed copy the batch upload
//! needs is wiped when the batch settles (`docs/protocol.md`, "Payment
//! codes").

pub mod confirm;

use super::{EngineError, ErrorKind};
use smartpos_hal::scanner::{ScannedLine, ScannerError};
use smartpos_proto::payment_code::{CodeError, PaymentCode};

/// A payment by code, as the card session holds it.
#[derive(Debug)]
pub struct CodeTxn {
    pub code: PaymentCode,
}

impl CodeTxn {
    /// The scanned line as a code, or the merchant's error saying why not.
    pub fn from_line(line: &ScannedLine) -> Result<Self, EngineError> {
        PaymentCode::parse(&line.0).map(|code| Self { code }).map_err(refused)
    }
}

/// A line that is not a code this terminal takes: nothing was sent.
fn refused(e: CodeError) -> EngineError {
    let remedy = match e {
        CodeError::TooLongForField2(_) => "Ask the customer for a UnionPay payment code, or pay by card.",
        _ => "Ask the customer to open the wallet's payment code (not a collection code or a link) and scan it again.",
    };
    EngineError::new(ErrorKind::Operator, format!("The scan was refused, nothing was charged: {e}."), remedy)
}

/// A scanner that could not give a line.
pub fn scanner_error(e: ScannerError) -> EngineError {
    match e {
        ScannerError::Timeout => EngineError::new(ErrorKind::Operator, "No payment code was scanned in time.", "Hold the customer's payment code under the scanner when asked."),
        ScannerError::Cancelled => EngineError::cancelled(),
        ScannerError::LineTooLong(_) | ScannerError::NotText => {
            EngineError::new(ErrorKind::Operator, format!("The scan was refused, nothing was charged: {e}."), "Scan the customer's payment code again.")
        }
        other => EngineError::new(
            ErrorKind::Device,
            format!("The code scanner cannot be used: {other}."),
            "Check the scanner's cable (replug it), or pay by card; posctl status shows the scanner.",
        ),
    }
}

/// A payment code cannot be approved without the host (§11).
pub fn never_offline() -> EngineError {
    EngineError::new(
        ErrorKind::Network,
        "The host cannot be reached, and a payment code is never approved offline; nothing was charged.",
        "Ask the customer to pay by card (it can be approved offline), or restore the network and scan again.",
    )
}
