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
//! | the PC/SC backend of a card reader (contact or contactless) | [`pcsc_reader`] |
//! | keys of the keypad, and the PIN pad built on them | [`keypad`] |
//! | the GPIO matrix keypad (rppal) | [`matrix`] |
//! | the LTE modem through ModemManager | [`modem`] |
//! | the code scanner (§11): lines in; evdev (USB HID) and serial backends | [`scanner`] |
//! | the receipt printer (ESC/POS): usblp, serial and TCP 9100 backends, the paper sensor | [`printer`] |
//! | simulated reader, keypad, modem, scanner and printer (feature `simulator`) | `sim` |

#![forbid(unsafe_code)]

pub mod cancel;
pub mod keypad;
pub mod matrix;
pub mod modem;
pub mod pcsc_reader;
pub mod printer;
pub mod reader;
pub mod scanner;
#[cfg(feature = "simulator")]
pub mod sim;

pub use cancel::Cancel;
pub use keypad::{KeyPress, KeySource, KeypadPinPad, PinError, PinPad};
pub use reader::{CardReader, ReaderError};
pub use scanner::{CodeScanner, ScannerError};
