//! A serial code scanner: a USB CDC-ACM scanner (`/dev/ttyACM0`, better a
//! udev symlink such as `/dev/pos-scanner`) or an RS-232 one on a UART, in
//! raw mode at the configured baud rate, one code per line (§11).
//!
//! The port is opened when first needed and again after it went away: a
//! read that fails (a USB unplug closes the tty under us: EIO or hang-up) is
//! reported once as [`ScannerError::Unplugged`], and the next wait tries the
//! path again, so replugging the scanner is all a merchant has to do.

use super::lines::LineFramer;
use super::{CodeScanner, ScannedLine, ScannerError, ScannerInfo};
use crate::Cancel;
use serial2::SerialPort;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often a wait looks at its cancel flag (and retries an absent port).
const SLICE: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub struct SerialScanner {
    path: PathBuf,
    baud: u32,
    port: Option<SerialPort>,
    framer: LineFramer,
}

impl SerialScanner {
    /// Nothing is opened yet: a scanner plugged in later is found then.
    pub fn new(path: impl Into<PathBuf>, baud: u32, max_line: usize) -> Self {
        Self { path: path.into(), baud, port: None, framer: LineFramer::new(max_line) }
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn open(&mut self) -> Result<&SerialPort, ScannerError> {
        if self.port.is_none() {
            let mut port = SerialPort::open(&self.path, self.baud).map_err(|e| ScannerError::NotPresent(self.name(), e.to_string()))?;
            port.set_read_timeout(SLICE).map_err(|e| ScannerError::Io(e.to_string()))?;
            self.framer.clear();
            self.port = Some(port);
        }
        self.port.as_ref().ok_or_else(|| ScannerError::NotPresent(self.name(), "not open".into()))
    }

    fn unplugged(&mut self) -> ScannerError {
        self.port = None;
        self.framer.clear();
        ScannerError::Unplugged(self.name())
    }
}

impl CodeScanner for SerialScanner {
    fn discard(&mut self) -> Result<(), ScannerError> {
        let _ = self.open()?.discard_input_buffer();
        self.framer.clear();
        Ok(())
    }

    fn wait_line(&mut self, timeout: Duration, cancel: &Cancel) -> Result<ScannedLine, ScannerError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 64];
        loop {
            if cancel.is_cancelled() {
                return Err(ScannerError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(ScannerError::Timeout);
            }
            let read = self.open()?.read(&mut buf);
            match read {
                Ok(0) => return Err(self.unplugged()),
                Ok(n) => {
                    for b in buf.iter().take(n) {
                        if let Some(line) = self.framer.push(*b) {
                            return line;
                        }
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                Err(_) => return Err(self.unplugged()),
            }
        }
    }

    fn info(&mut self) -> ScannerInfo {
        let present = self.open().is_ok();
        ScannerInfo { backend: "serial", name: self.name(), present }
    }
}
