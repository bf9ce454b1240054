//! PIN entry. A [`KeySource`] is a keypad that yields key presses (the GPIO
//! matrix, the simulator); [`KeypadPinPad`] turns presses into an encrypted
//! ISO 9564 format 0 PIN block. The clear PIN lives only in a zeroizing
//! buffer inside [`KeypadPinPad::pin_block`] and is wiped when it returns:
//! this is the seam where a certified PIN entry device or secure element
//! replaces the whole [`PinPad`].

use crate::Cancel;
use smartpos_proto::crypto::{Key, pin_block};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// One key of the keypad. `Digit` holds 0–9.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum KeyPress {
    Digit(u8),
    /// `*`: clears the digits typed, or cancels when there are none.
    Clear,
    Cancel,
    /// `#`.
    Enter,
    /// `F1`…: function keys, for the apps; PIN entry ignores them.
    Function(u8),
}

impl std::fmt::Debug for KeyPress {
    /// Never shows which digit: a debug log of key presses must not leak a PIN.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyPress::Digit(_) => "Digit",
            KeyPress::Clear => "Clear",
            KeyPress::Cancel => "Cancel",
            KeyPress::Enter => "Enter",
            KeyPress::Function(_) => "Function",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeypadError {
    #[error("keypad: {0}")]
    Device(String),
}

pub trait KeySource: Send {
    /// The next key press, or `None` when `timeout` passes first.
    fn next_key(&mut self, timeout: Duration) -> Result<Option<KeyPress>, KeypadError>;
    /// Drops presses made before PIN entry started.
    fn flush(&mut self) {}
}

/// What the cardholder sees while typing: a count, never a digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinProgress {
    /// Earlier presses are dropped: the keypad takes the PIN from now on.
    Ready,
    Digits(usize),
    Entered,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("PIN entry timed out")]
    Timeout,
    #[error("PIN entry was cancelled")]
    Cancelled,
    #[error("keypad: {0}")]
    Device(String),
    #[error("PIN block: {0}")]
    Block(String),
}

pub trait PinPad: Send {
    /// Takes a PIN for `pan` and returns it as a format 0 block under `pik`.
    fn pin_block(&mut self, pan: &str, pik: &Key, timeout: Duration, cancel: &Cancel, progress: &mut dyn FnMut(PinProgress)) -> Result<[u8; 8], PinError>;
    /// Whether the keypad answers (for diagnostics).
    fn ok(&mut self) -> bool {
        true
    }
}

/// A PIN pad made of any keypad: 4–12 digits, `#` to enter, `*` to clear.
#[derive(Debug)]
pub struct KeypadPinPad<K> {
    keys: K,
}

/// PIN length bounds of ISO 9564 format 0.
const MIN_DIGITS: usize = 4;
const MAX_DIGITS: usize = 12;
/// How often a wait looks at the cancel flag.
const POLL: Duration = Duration::from_millis(50);

impl<K: KeySource> KeypadPinPad<K> {
    pub fn new(keys: K) -> Self {
        Self { keys }
    }

    pub fn keys_mut(&mut self) -> &mut K {
        &mut self.keys
    }
}

impl<K: KeySource> PinPad for KeypadPinPad<K> {
    fn pin_block(&mut self, pan: &str, pik: &Key, timeout: Duration, cancel: &Cancel, progress: &mut dyn FnMut(PinProgress)) -> Result<[u8; 8], PinError> {
        let deadline = Instant::now() + timeout;
        let mut pin: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(MAX_DIGITS));
        self.keys.flush();
        // Announced only after the flush, so a key pressed on seeing the
        // prompt is never one of the dropped ones.
        progress(PinProgress::Ready);
        loop {
            if cancel.is_cancelled() {
                return Err(PinError::Cancelled);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PinError::Timeout);
            }
            let key = self.keys.next_key(left.min(POLL)).map_err(|e| PinError::Device(e.to_string()))?;
            match key {
                None => continue,
                Some(KeyPress::Digit(d)) if d <= 9 && pin.len() < MAX_DIGITS => {
                    pin.push(b'0' + d);
                    progress(PinProgress::Digits(pin.len()));
                }
                Some(KeyPress::Digit(_)) => {}
                Some(KeyPress::Clear) if !pin.is_empty() => {
                    pin.clear();
                    progress(PinProgress::Digits(0));
                }
                Some(KeyPress::Clear | KeyPress::Cancel) => return Err(PinError::Cancelled),
                Some(KeyPress::Enter) if pin.len() >= MIN_DIGITS => {
                    progress(PinProgress::Entered);
                    return pin_block::encrypt_format0(pik, &pin, pan.as_bytes()).map_err(|e| PinError::Block(e.to_string()));
                }
                // Too short: ignored, as a PIN pad beeps and waits.
                Some(KeyPress::Enter | KeyPress::Function(_)) => {}
            }
        }
    }
}
