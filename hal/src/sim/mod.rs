//! Simulated hardware for development, the demo and tests: a reader slot
//! that holds a [`VirtualCard`](smartpos_vcard::card::VirtualCard) and a
//! keypad fed by a channel. Compiled only with the `simulator` feature.

mod keys;
mod modem;
mod slot;

pub use keys::{SimKeypad, SimKeys};
pub use modem::SimModem;
pub use slot::{CardSlot, SimReader};
