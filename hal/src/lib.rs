//! # smartpos-hal
//!
//! The hardware the terminal engine sees, as traits, and their backends.
//! The engine is written against the traits only; which backend runs is the
//! daemon's configuration.
//!
//! | concept | module |
//! |---|---|
//! | cancelling a wait from another thread | [`cancel`] |
//! | card reader: card present, APDU exchange | [`reader`] |
//! | keys of the keypad, and the PIN pad built on them | [`keypad`] |
//! | simulated reader and keypad (feature `simulator`) | `sim` |
//!
//! Real backends (PC/SC, rppal GPIO keypad, ModemManager) come with the
//! hardware issue; they implement the same traits.

#![forbid(unsafe_code)]

pub mod cancel;
pub mod keypad;
pub mod matrix;
pub mod modem;
pub mod pcsc_reader;
pub mod reader;
#[cfg(feature = "simulator")]
pub mod sim;

pub use cancel::Cancel;
pub use keypad::{KeyPress, KeySource, KeypadPinPad, PinError, PinPad};
pub use reader::{CardReader, ReaderError};
