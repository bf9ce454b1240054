//! A simulated ESC/POS printer: keeps every job it was sent (for tests and
//! `posctl receipt`'s developers) and answers the paper status as the
//! ESC/POS reference's `DLE EOT 4` byte would, for the state
//! `Simulator.SetPaper` set.

use crate::printer::{PaperState, PrinterError, PrinterInfo, ReceiptPrinter, paper_of};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug)]
struct Paper {
    state: PaperState,
    jobs: Vec<Vec<u8>>,
}

/// The printer side (owned by the daemon).
#[derive(Debug)]
pub struct SimPrinter(Arc<Mutex<Paper>>);

/// The test's side: the paper, and what was printed.
#[derive(Debug, Clone)]
pub struct SimPaper(Arc<Mutex<Paper>>);

impl SimPrinter {
    pub fn new() -> (SimPrinter, SimPaper) {
        let shared = Arc::new(Mutex::new(Paper { state: PaperState::Ok, jobs: Vec::new() }));
        (SimPrinter(shared.clone()), SimPaper(shared))
    }
}

impl SimPaper {
    pub fn set(&self, state: PaperState) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).state = state;
    }

    /// Every job printed so far.
    pub fn jobs(&self) -> Vec<Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).jobs.clone()
    }
}

/// The status byte a printer with this paper sends (bits 1 and 4 fixed;
/// 2–3 near end; 5–6 end).
fn status_byte(state: PaperState) -> u8 {
    match state {
        PaperState::Ok => 0x12,
        PaperState::Low => 0x1E,
        PaperState::Out => 0x7E,
    }
}

impl ReceiptPrinter for SimPrinter {
    fn paper(&mut self) -> Result<PaperState, PrinterError> {
        let byte = status_byte(self.0.lock().unwrap_or_else(PoisonError::into_inner).state);
        paper_of(byte).ok_or(PrinterError::BadStatus("simulated printer".into(), byte))
    }

    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError> {
        let mut p = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if p.state == PaperState::Out {
            // A real printer takes the bytes and prints nothing.
            return Ok(());
        }
        p.jobs.push(job.to_vec());
        Ok(())
    }

    fn info(&self) -> PrinterInfo {
        PrinterInfo { backend: "simulator", name: "simulated printer".into() }
    }
}
