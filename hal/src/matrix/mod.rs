//! The GPIO matrix keypad: rows driven, columns read with pull-ups, one
//! key at a time.
//!
//! Idle, every row is driven low and the scanner sleeps on a falling edge
//! of any column. An edge starts a scan: one row low at a time, the others
//! released, columns read. A scan result counts only after it stayed the
//! same for the debounce time, so contact bounce (several edges per press)
//! gives one key. A result of more than one key is ignored until the keypad
//! is let go: without diodes, three keys on the corners of a rectangle make
//! the fourth read as pressed (ghosting), so no multi-key reading can be
//! trusted. Keys do not repeat when held. A key with a long-press meaning
//! (`*`: short = clear, long = cancel) reports on release or when the long
//! press time is reached.
//!
//! The scanner sits on [`MatrixPins`], so it is tested without a Pi against
//! a model of a bouncing, ghosting matrix; [`rppal_pins`] is the real one.

#[cfg(test)]
mod fake;
pub mod keymap;
pub mod rppal_pins;
#[cfg(test)]
mod tests;

pub use keymap::{KeyMap, MatrixKey};

use crate::keypad::{KeyPress, KeySource, KeypadError};
use std::time::Duration;

/// Which rows are driven low.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// All rows low: any key pulls its column low (idle, waiting for an edge).
    All,
    /// One row low, the others released.
    One(usize),
}

/// The pins of a matrix keypad, and time (so a model can run on virtual time).
pub trait MatrixPins: Send {
    fn row_count(&self) -> usize;
    fn column_count(&self) -> usize;
    fn drive(&mut self, rows: Rows);
    /// Bit `c` set = column `c` reads low.
    fn columns_low(&mut self) -> Result<u32, KeypadError>;
    /// Waits up to `timeout` for a falling edge on any column; `true` if one came.
    fn wait_edge(&mut self, timeout: Duration) -> Result<bool, KeypadError>;
    fn sleep(&mut self, d: Duration);
    /// Monotonic time.
    fn now(&self) -> Duration;
}

/// Timing of the scanner.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// A reading must hold this long to count.
    pub debounce: Duration,
    /// Sampling interval while debouncing or while a key is held.
    pub sample: Duration,
    /// Held this long, a key with a long meaning gives it.
    pub long_press: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self { debounce: Duration::from_millis(20), sample: Duration::from_millis(2), long_press: Duration::from_millis(1000) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    Nothing,
    /// A key is down since `since`; `reported` once its press was given out.
    Key {
        key: MatrixKey,
        since: Duration,
        reported: bool,
    },
    /// Several keys (or a ghost): wait until everything is let go.
    Confused,
}

/// A [`KeySource`] over a matrix.
#[derive(Debug)]
pub struct MatrixKeypad<P> {
    pins: P,
    map: KeyMap,
    timing: Timing,
    held: Held,
}

impl<P: MatrixPins> MatrixKeypad<P> {
    pub fn new(pins: P, map: KeyMap, timing: Timing) -> Result<Self, KeypadError> {
        if map.rows() != pins.row_count() || map.columns() != pins.column_count() {
            return Err(KeypadError::Device(format!(
                "the key map is {}×{} but the keypad has {} rows and {} columns",
                map.rows(),
                map.columns(),
                pins.row_count(),
                pins.column_count()
            )));
        }
        Ok(Self { pins, map, timing, held: Held::Nothing })
    }

    /// One pass over the rows: every (row, column) that reads closed.
    fn scan(&mut self) -> Result<Vec<(usize, usize)>, KeypadError> {
        let mut closed = Vec::new();
        for r in 0..self.pins.row_count() {
            self.pins.drive(Rows::One(r));
            let cols = self.pins.columns_low()?;
            closed.extend((0..self.pins.column_count()).filter(|c| cols & (1 << c) != 0).map(|c| (r, c)));
        }
        self.pins.drive(Rows::All);
        Ok(closed)
    }

    /// Scans until one reading held for the debounce time (or `deadline`).
    fn settled_scan(&mut self, deadline: Duration) -> Result<Option<Vec<(usize, usize)>>, KeypadError> {
        let mut reading = self.scan()?;
        let mut since = self.pins.now();
        loop {
            if self.pins.now().saturating_sub(since) >= self.timing.debounce {
                return Ok(Some(reading));
            }
            if self.pins.now() >= deadline {
                return Ok(None);
            }
            self.pins.sleep(self.timing.sample);
            let next = self.scan()?;
            if next != reading {
                reading = next;
                since = self.pins.now();
            }
        }
    }

    fn press(&self, key: MatrixKey, long: bool) -> Option<KeyPress> {
        match key {
            MatrixKey::Digit(d) => Some(KeyPress::Digit(d)),
            MatrixKey::Star if long => Some(KeyPress::Cancel),
            MatrixKey::Star => Some(KeyPress::Clear),
            MatrixKey::Hash => Some(KeyPress::Enter),
            MatrixKey::Function(n) => Some(KeyPress::Function(n)),
            MatrixKey::None => None,
        }
    }
}

impl<P: MatrixPins> KeySource for MatrixKeypad<P> {
    fn next_key(&mut self, timeout: Duration) -> Result<Option<KeyPress>, KeypadError> {
        let deadline = self.pins.now() + timeout;
        loop {
            let left = deadline.saturating_sub(self.pins.now());
            if self.held == Held::Nothing {
                self.pins.drive(Rows::All);
                if self.pins.columns_low()? == 0 {
                    if left.is_zero() {
                        return Ok(None);
                    }
                    self.pins.wait_edge(left)?;
                    continue;
                }
            } else if left.is_zero() {
                return Ok(None);
            } else {
                self.pins.sleep(self.timing.sample.min(left));
            }
            let Some(reading) = self.settled_scan(deadline)? else { return Ok(None) };
            let now = self.pins.now();
            match (self.held, reading.as_slice()) {
                // Let go (or a glitch that settled to nothing).
                (Held::Key { key, reported: false, .. }, []) => {
                    self.held = Held::Nothing;
                    if let Some(press) = self.press(key, false) {
                        return Ok(Some(press));
                    }
                }
                (_, []) => self.held = Held::Nothing,
                (Held::Nothing, [(r, c)]) => {
                    let key = self.map.key(*r, *c);
                    if key.has_long_meaning() {
                        self.held = Held::Key { key, since: now, reported: false };
                    } else {
                        self.held = Held::Key { key, since: now, reported: true };
                        if let Some(press) = self.press(key, false) {
                            return Ok(Some(press));
                        }
                    }
                }
                (Held::Key { key, since, reported: false }, [(r, c)]) if self.map.key(*r, *c) == key => {
                    if now.saturating_sub(since) >= self.timing.long_press {
                        self.held = Held::Key { key, since, reported: true };
                        if let Some(press) = self.press(key, true) {
                            return Ok(Some(press));
                        }
                    }
                }
                // Still held, or another key while one is held: nothing new.
                (Held::Key { .. }, [_]) | (Held::Confused, [_]) => {}
                // Two or more keys: possibly a ghost, never trusted.
                (_, _) => self.held = Held::Confused,
            }
        }
    }

    fn flush(&mut self) {
        // A key held when PIN entry starts must be let go before it counts.
        if let Held::Key { key, since, .. } = self.held {
            self.held = Held::Key { key, since, reported: true };
        }
    }
}
