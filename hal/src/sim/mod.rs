//! Simulated hardware for development, the demo and tests: a reader slot
//! that holds a [`VirtualCard`](smartpos_vcard::card::VirtualCard) and a
//! keypad fed by a channel, a modem, a code scanner and a receipt printer.
//! Compiled only with the `simulator` feature.

mod keys;
mod modem;
mod printer;
mod scanner;
mod slot;

pub use keys::{SimKeypad, SimKeys};
pub use modem::SimModem;
pub use printer::{SimPaper, SimPrinter};
pub use scanner::{SimScan, SimScanner};
pub use slot::{CardSlot, SimReader};
