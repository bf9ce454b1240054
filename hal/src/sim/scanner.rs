//! A simulated code scanner: `SimScan::show(code)` from a test or the D-Bus
//! `Simulator.ScanCode` holds a line in front of it, as a customer holds a
//! phone under a presentation scanner; the next wait reads it once. Unlike
//! the serial scanner it keeps a line shown before the wait began (a real
//! one scans a phone held there again and again).

use crate::Cancel;
use crate::scanner::{CodeScanner, ScannedLine, ScannerError, ScannerInfo};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

#[derive(Debug, Default)]
struct Shown {
    line: Option<Zeroizing<String>>,
    unplugged: bool,
}

/// The scanner side (owned by the engine).
#[derive(Debug)]
pub struct SimScanner(Arc<(Mutex<Shown>, Condvar)>);

/// The customer's side (cloneable, any thread).
#[derive(Debug, Clone)]
pub struct SimScan(Arc<(Mutex<Shown>, Condvar)>);

impl SimScanner {
    pub fn new() -> (SimScanner, SimScan) {
        let shared = Arc::new((Mutex::new(Shown::default()), Condvar::new()));
        (SimScanner(shared.clone()), SimScan(shared))
    }
}

impl SimScan {
    /// Shows `line` to the scanner (replacing one not yet read).
    pub fn show(&self, line: &str) {
        let (m, cv) = &*self.0;
        m.lock().unwrap_or_else(PoisonError::into_inner).line = Some(Zeroizing::new(line.to_string()));
        cv.notify_all();
    }

    /// Unplugs (`false`) or replugs the simulated scanner.
    pub fn set_plugged(&self, plugged: bool) {
        let (m, cv) = &*self.0;
        m.lock().unwrap_or_else(PoisonError::into_inner).unplugged = !plugged;
        cv.notify_all();
    }
}

impl CodeScanner for SimScanner {
    /// Keeps a code shown now: the phone is still held under the scanner.
    fn discard(&mut self) -> Result<(), ScannerError> {
        Ok(())
    }

    fn wait_line(&mut self, timeout: Duration, cancel: &Cancel) -> Result<ScannedLine, ScannerError> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.0;
        let mut shown = m.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if shown.unplugged {
                return Err(ScannerError::NotPresent("simulated scanner".into(), "unplugged".into()));
            }
            if let Some(line) = shown.line.take() {
                return Ok(ScannedLine(line));
            }
            if cancel.is_cancelled() {
                return Err(ScannerError::Cancelled);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ScannerError::Timeout);
            }
            // Short slices: the cancel flag is polled, not signalled.
            let slice = (deadline - now).min(Duration::from_millis(50));
            shown = cv.wait_timeout(shown, slice).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    fn info(&mut self) -> ScannerInfo {
        let present = !self.0.0.lock().unwrap_or_else(PoisonError::into_inner).unplugged;
        ScannerInfo { backend: "simulator", name: "simulated scanner".into(), present }
    }
}
