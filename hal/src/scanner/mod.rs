//! The code scanner (§11): a 2D barcode scanner that reads the customer's
//! payment code off a phone and sends it as one line. Backends: a USB HID
//! scanner in keyboard mode ([`evdev_hid`], keys decoded by [`keymap`]), a
//! serial scanner ([`serial`], CDC-ACM or RS-232) and a simulated one
//! (`sim`, feature `simulator`); all share the line framing of [`lines`].
//!
//! A scanner only frames lines: whether a line is a payment code is §11's
//! rule (`smartpos_proto::payment_code`), applied by the engine. A line is
//! a bearer credential until the host used it, so it is kept zeroizing and
//! never printed. Input that arrived before a payment began to wait is
//! dropped ([`CodeScanner::discard`]): a code scanned while no sale asked
//! must never pay the next one.

pub mod evdev_hid;
pub mod keymap;
pub mod lines;
pub mod serial;

use crate::Cancel;
use std::time::Duration;
use zeroize::Zeroizing;

/// One line as the scanner sent it, without its terminator (never `Debug`-printed in clear).
pub struct ScannedLine(pub Zeroizing<String>);

impl std::fmt::Debug for ScannedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScannedLine({} chars)", self.0.len())
    }
}

/// Why no line came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScannerError {
    #[error("no code was scanned in time")]
    Timeout,
    #[error("cancelled")]
    Cancelled,
    #[error("the code scanner {0} is not connected: {1}")]
    NotPresent(String, String),
    #[error("the code scanner {0} was unplugged")]
    Unplugged(String),
    #[error("the scanner sent a line longer than {0} characters: not a payment code")]
    LineTooLong(usize),
    #[error("the scanner sent something that is not text: check its interface setting (USB keyboard or serial, no prefix)")]
    NotText,
    #[error("code scanner: {0}")]
    Io(String),
}

/// What the hardware page shows about a scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerInfo {
    pub backend: &'static str,
    pub name: String,
    pub present: bool,
}

pub trait CodeScanner: Send {
    /// Drops what the scanner sent before now: called once when a payment
    /// begins to wait for a code (a code scanned while no sale asked must
    /// never pay the next one).
    fn discard(&mut self) -> Result<(), ScannerError>;
    /// Blocks until the scanner sends a line (or `timeout`, or `cancel`).
    /// A line begun before a timeout is kept for the next call, so a
    /// terminal that watches the card readers in between loses nothing.
    fn wait_line(&mut self, timeout: Duration, cancel: &Cancel) -> Result<ScannedLine, ScannerError>;
    /// Backend, name and whether it is connected now (reconnecting if it was unplugged).
    fn info(&mut self) -> ScannerInfo;
}
