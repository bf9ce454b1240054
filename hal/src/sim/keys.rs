//! A keypad fed through a channel: `SimKeys::press("123456#")` from a test
//! or the D-Bus `Simulator.PressKeys`, read by the PIN pad as key presses.

use crate::keypad::{KeyPress, KeySource, KeypadError};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

/// The keypad side (owned by the PIN pad).
#[derive(Debug)]
pub struct SimKeypad {
    rx: Receiver<KeyPress>,
}

/// The pressing side (cloneable, any thread).
#[derive(Debug, Clone)]
pub struct SimKeys {
    tx: Sender<KeyPress>,
}

impl SimKeypad {
    /// A connected keypad and presser. Presses made before PIN entry starts
    /// are kept (a test may type ahead).
    pub fn new() -> (SimKeypad, SimKeys) {
        let (tx, rx) = channel();
        (SimKeypad { rx }, SimKeys { tx })
    }
}

impl SimKeys {
    /// Presses `keys`: digits, `#` enter, `*` clear/cancel. Other characters
    /// are refused with the offending character.
    pub fn press(&self, keys: &str) -> Result<(), char> {
        let parsed: Vec<KeyPress> = keys
            .chars()
            .map(|c| match c {
                '0'..='9' => Ok(KeyPress::Digit(c as u8 - b'0')),
                '#' => Ok(KeyPress::Enter),
                '*' => Ok(KeyPress::Clear),
                other => Err(other),
            })
            .collect::<Result<_, _>>()?;
        for k in parsed {
            // A dropped keypad only means nobody reads; nothing to report.
            let _ = self.tx.send(k);
        }
        Ok(())
    }
}

impl KeySource for SimKeypad {
    fn next_key(&mut self, timeout: Duration) -> Result<Option<KeyPress>, KeypadError> {
        match self.rx.recv_timeout(timeout) {
            Ok(k) => Ok(Some(k)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(KeypadError::Device("simulated keypad disconnected".into())),
        }
    }
}
