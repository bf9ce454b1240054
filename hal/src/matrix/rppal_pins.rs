//! The matrix on a Raspberry Pi's GPIO through `rppal` (the character
//! device `/dev/gpiochipN`; the user needs group `gpio`). Rows are switched
//! between driven-low output and input (high impedance) so two keys in one
//! column can never short a high row against a low one; columns are inputs
//! with the internal pull-ups and falling-edge interrupts.

use super::{MatrixPins, Rows};
use crate::keypad::KeypadError;
use rppal::gpio::{Gpio, InputPin, IoPin, Mode, Trigger};
use std::time::{Duration, Instant};

pub struct RppalPins {
    gpio: Gpio,
    rows: Vec<IoPin>,
    columns: Vec<InputPin>,
    started: Instant,
}

impl std::fmt::Debug for RppalPins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RppalPins").field("rows", &self.rows.len()).field("columns", &self.columns.len()).finish()
    }
}

impl RppalPins {
    /// Opens the BCM pin numbers given for rows and columns. Errors name
    /// the cause a person can fix (not a Pi, no permission, pin busy).
    pub fn open(row_pins: &[u8], column_pins: &[u8]) -> Result<Self, KeypadError> {
        let gpio = Gpio::new().map_err(explain)?;
        let rows = row_pins.iter().map(|&p| gpio.get(p).map(|pin| pin.into_io(Mode::Input)).map_err(explain)).collect::<Result<Vec<_>, _>>()?;
        let mut columns = column_pins.iter().map(|&p| gpio.get(p).map(|pin| pin.into_input_pullup()).map_err(explain)).collect::<Result<Vec<_>, _>>()?;
        for c in &mut columns {
            c.set_interrupt(Trigger::FallingEdge, None).map_err(explain)?;
        }
        Ok(Self { gpio, rows, columns, started: Instant::now() })
    }
}

/// rppal's errors as a device error with a remedy.
pub fn explain(e: rppal::gpio::Error) -> KeypadError {
    use rppal::gpio::Error;
    KeypadError::Device(match e {
        Error::UnknownModel => "this board is not a Raspberry Pi that rppal knows: use keypad backend \"sim\" or a supported board".into(),
        Error::PermissionDenied(path) => format!("no permission to open {path}: add the posd user to group \"gpio\""),
        Error::PinUsed(pin) => format!("GPIO {pin} is used by another program or driver: free it or change the keypad pins"),
        Error::PinNotAvailable(pin) => format!("GPIO {pin} does not exist on this board: check the keypad pins in posd.toml"),
        other => format!("GPIO: {other}"),
    })
}

impl MatrixPins for RppalPins {
    fn row_count(&self) -> usize {
        self.rows.len()
    }
    fn column_count(&self) -> usize {
        self.columns.len()
    }
    fn drive(&mut self, rows: Rows) {
        for (i, pin) in self.rows.iter_mut().enumerate() {
            if rows == Rows::All || rows == Rows::One(i) {
                pin.set_low();
                pin.set_mode(Mode::Output);
            } else {
                pin.set_mode(Mode::Input);
            }
        }
        // Let the column lines settle through the pull-ups.
        std::thread::sleep(Duration::from_micros(10));
    }
    fn columns_low(&mut self) -> Result<u32, KeypadError> {
        Ok(self.columns.iter().enumerate().filter(|(_, c)| c.is_low()).fold(0, |m, (i, _)| m | 1 << i))
    }
    fn wait_edge(&mut self, timeout: Duration) -> Result<bool, KeypadError> {
        let pins: Vec<&InputPin> = self.columns.iter().collect();
        Ok(self.gpio.poll_interrupts(&pins, true, Some(timeout)).map_err(explain)?.is_some())
    }
    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
    fn now(&self) -> Duration {
        self.started.elapsed()
    }
}
