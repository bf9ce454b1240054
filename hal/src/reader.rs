//! The card reader as the EMV kernel needs it: wait for a card, exchange
//! APDUs, tell whether the card is still there. T=0 details (`61xx`,
//! `6Cxx`) are the kernel's business, so a backend passes status words
//! through unchanged.

use crate::Cancel;
use std::time::Duration;

/// Why the reader could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReaderError {
    #[error("no card reader: {0}")]
    NoReader(String),
    #[error("no card was inserted in time")]
    Timeout,
    #[error("the card was removed")]
    CardRemoved,
    #[error("cancelled")]
    Cancelled,
    #[error("card reader: {0}")]
    Io(String),
}

/// What the hardware page shows about a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    pub backend: &'static str,
    pub name: String,
}

pub trait CardReader: Send {
    /// Blocks until a card is inserted and powered (or `timeout`, or
    /// `cancel`); returns its ATR.
    fn wait_card(&mut self, timeout: Duration, cancel: &Cancel) -> Result<Vec<u8>, ReaderError>;
    /// One command APDU → the response APDU (data ‖ SW1 SW2).
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, ReaderError>;
    /// Whether a card is in the reader now.
    fn card_present(&mut self) -> Result<bool, ReaderError>;
    fn info(&self) -> ReaderInfo;
}
