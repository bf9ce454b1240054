//! A keypad fed through a channel: `SimKeys::press("123456#")` from a test
//! or the D-Bus `Simulator.PressKeys`, read by the PIN pad as key presses.
//! Like the matrix keypad, it drops presses made before PIN entry starts
//! ([`KeySource::flush`]): a press counts only while the PIN is asked. A
//! cardholder scripted ahead of the prompt is [`SimKeys::type_when_asked`].

use crate::keypad::{KeyPress, KeySource, KeypadError};
use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The keypad side (owned by the PIN pad).
#[derive(Debug)]
pub struct SimKeypad {
    rx: Receiver<KeyPress>,
    /// Presses the next PIN entry receives as it starts.
    when_asked: Arc<Mutex<Vec<KeyPress>>>,
    /// The armed presses of the PIN entry under way, read before the channel.
    answer: VecDeque<KeyPress>,
}

/// The pressing side (cloneable, any thread).
#[derive(Debug, Clone)]
pub struct SimKeys {
    tx: Sender<KeyPress>,
    when_asked: Arc<Mutex<Vec<KeyPress>>>,
}

impl SimKeypad {
    /// A connected keypad and presser.
    pub fn new() -> (SimKeypad, SimKeys) {
        let (tx, rx) = channel();
        let when_asked = Arc::new(Mutex::new(Vec::new()));
        (SimKeypad { rx, when_asked: when_asked.clone(), answer: VecDeque::new() }, SimKeys { tx, when_asked })
    }
}

/// Digits, `#` enter, `*` clear/cancel; anything else is the offending character.
fn parse(keys: &str) -> Result<Vec<KeyPress>, char> {
    keys.chars()
        .map(|c| match c {
            '0'..='9' => Ok(KeyPress::Digit(c as u8 - b'0')),
            '#' => Ok(KeyPress::Enter),
            '*' => Ok(KeyPress::Clear),
            other => Err(other),
        })
        .collect()
}

impl SimKeys {
    /// Presses `keys` now. A press made while no PIN is asked is dropped
    /// when the next PIN entry starts, as on the matrix keypad.
    pub fn press(&self, keys: &str) -> Result<(), char> {
        for k in parse(keys)? {
            // A dropped keypad only means nobody reads; nothing to report.
            let _ = self.tx.send(k);
        }
        Ok(())
    }

    /// A cardholder who types `keys` when the next PIN entry starts (the
    /// engine-level tests' way to answer the prompt without a progress
    /// callback). Replaces any sequence armed before and not yet asked for.
    pub fn type_when_asked(&self, keys: &str) -> Result<(), char> {
        let parsed = parse(keys)?;
        *self.when_asked.lock().unwrap_or_else(PoisonError::into_inner) = parsed;
        Ok(())
    }
}

impl KeySource for SimKeypad {
    fn next_key(&mut self, timeout: Duration) -> Result<Option<KeyPress>, KeypadError> {
        if let Some(k) = self.answer.pop_front() {
            return Ok(Some(k));
        }
        match self.rx.recv_timeout(timeout) {
            Ok(k) => Ok(Some(k)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(KeypadError::Device("simulated keypad disconnected".into())),
        }
    }

    fn flush(&mut self) {
        while self.rx.try_recv().is_ok() {}
        self.answer = std::mem::take(&mut *self.when_asked.lock().unwrap_or_else(PoisonError::into_inner)).into();
    }
}
