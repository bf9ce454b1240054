//! A USB HID code scanner in keyboard mode, read through Linux evdev
//! (`/dev/input/by-id/usb-…-event-kbd`, a udev symlink that survives
//! replugging). The device is grabbed (`EVIOCGRAB`) so that its keystrokes
//! reach neither the console nor the kiosk browser: a payment code typed
//! into a text field would be a leak. Key presses become characters by the
//! US layout ([`super::keymap`]), characters become lines by the shared
//! framer.
//!
//! As with the serial scanner, what was typed before a wait is dropped, an
//! unplug (the device returns `ENODEV`) is reported once, and the next wait
//! opens the path again.

use super::keymap::UsKeymap;
use super::lines::LineFramer;
use super::{CodeScanner, ScannedLine, ScannerError, ScannerInfo};
use crate::Cancel;
use evdev::{Device, EventSummary};
use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a wait sleeps when no event is queued (a scanner types a code
/// in 10–50 ms; the kernel queues events meanwhile).
const IDLE: Duration = Duration::from_millis(10);

pub struct EvdevScanner {
    path: PathBuf,
    device: Option<Device>,
    keymap: UsKeymap,
    framer: LineFramer,
}

impl std::fmt::Debug for EvdevScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvdevScanner").field("path", &self.path).field("open", &self.device.is_some()).finish()
    }
}

impl EvdevScanner {
    pub fn new(path: impl Into<PathBuf>, max_line: usize) -> Self {
        Self { path: path.into(), device: None, keymap: UsKeymap::default(), framer: LineFramer::new(max_line) }
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn open(&mut self) -> Result<&mut Device, ScannerError> {
        if self.device.is_none() {
            let absent = |e: std::io::Error| ScannerError::NotPresent(self.name(), e.to_string());
            let mut d = Device::open(&self.path).map_err(absent)?;
            d.grab().map_err(|e| ScannerError::Io(format!("cannot take {} for posd alone (EVIOCGRAB): {e}", self.name())))?;
            d.set_nonblocking(true).map_err(|e| ScannerError::Io(e.to_string()))?;
            self.keymap = UsKeymap::default();
            self.framer.clear();
            self.device = Some(d);
        }
        self.device.as_mut().ok_or_else(|| ScannerError::NotPresent(String::new(), "not open".into()))
    }

    fn unplugged(&mut self) -> ScannerError {
        self.device = None;
        self.framer.clear();
        ScannerError::Unplugged(self.name())
    }

    /// Reads what the kernel has queued; a finished line only when `deliver`.
    fn drain(&mut self, deliver: bool) -> Result<Drained, ScannerError> {
        let fetched: Result<Vec<_>, std::io::Error> = match self.open()?.fetch_events() {
            Ok(events) => Ok(events
                .filter_map(|e| match e.destructure() {
                    EventSummary::Key(_, code, value) => Some((code, value)),
                    _ => None,
                })
                .collect()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => return Ok(Drained::Empty),
            Err(e) => Err(e),
        };
        let Ok(typed) = fetched else { return Err(self.unplugged()) };
        for (code, value) in typed {
            if let Some(c) = self.keymap.key(code, value)
                && let Some(line) = self.framer.push(c)
                && deliver
            {
                return Ok(Drained::Line(line));
            }
        }
        Ok(Drained::Progress)
    }
}

enum Drained {
    Empty,
    Progress,
    Line(Result<ScannedLine, ScannerError>),
}

impl CodeScanner for EvdevScanner {
    fn discard(&mut self) -> Result<(), ScannerError> {
        while !matches!(self.drain(false)?, Drained::Empty) {}
        self.framer.clear();
        Ok(())
    }

    fn wait_line(&mut self, timeout: Duration, cancel: &Cancel) -> Result<ScannedLine, ScannerError> {
        let deadline = Instant::now() + timeout;
        loop {
            if cancel.is_cancelled() {
                return Err(ScannerError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(ScannerError::Timeout);
            }
            match self.drain(true)? {
                Drained::Line(line) => return line,
                Drained::Progress => {}
                Drained::Empty => std::thread::sleep(IDLE),
            }
        }
    }

    fn info(&mut self) -> ScannerInfo {
        let present = self.open().is_ok();
        ScannerInfo { backend: "evdev", name: self.name(), present }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real device path is tested in the QEMU guest (no uinput on this
    /// machine); here: a missing device and a file that is not one.
    #[test]
    fn a_missing_or_wrong_device_is_not_present_with_its_name() {
        let mut s = EvdevScanner::new("/nonexistent/usb-scanner-event-kbd", 64);
        assert!(!s.info().present);
        let err = s.wait_line(Duration::from_millis(10), &Cancel::new()).unwrap_err();
        assert!(matches!(&err, ScannerError::NotPresent(name, _) if name.contains("usb-scanner")), "{err:?}");
        let file = std::env::temp_dir().join(format!("not-an-input-device-{}", std::process::id()));
        std::fs::write(&file, b"123\n").unwrap();
        let mut s = EvdevScanner::new(&file, 64);
        assert!(!s.info().present, "a plain file is no input device");
        let _ = std::fs::remove_file(&file);
    }
}
