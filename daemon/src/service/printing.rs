//! Printing receipts: the configured printer behind a lock (one job at a
//! time), `Payment.PrintReceipt`, the automatic print after an approved
//! payment (`printer.auto_print`), and what `Hardware.Printer` shows. A
//! print never delays or fails a payment: the automatic one runs after the
//! result was sent, and a failure is logged with the reprint command.

use super::error::PosError;
use super::shared::Shared;
use crate::config::Config;
use crate::receipt::escpos::{self, Paper};
use crate::receipt::{Copy, Receipt};
use crate::store::StoreError;
use smartpos_hal::printer::stream::{StreamPrinter, Transport};
use smartpos_hal::printer::{PaperState, PrinterError, ReceiptPrinter};
use std::sync::{Arc, Mutex, PoisonError};

/// The printer, shared by the D-Bus objects.
#[derive(Clone)]
pub struct PrinterHandle(Arc<Mutex<Box<dyn ReceiptPrinter>>>);

impl std::fmt::Debug for PrinterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrinterHandle(..)")
    }
}

impl PrinterHandle {
    pub fn new(p: Box<dyn ReceiptPrinter>) -> Self {
        Self(Arc::new(Mutex::new(p)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn ReceiptPrinter) -> T) -> T {
        f(self.0.lock().unwrap_or_else(PoisonError::into_inner).as_mut())
    }
}

/// The configured hardware printer (`usblp`, `serial`, `tcp`); `sim` is
/// built with the other simulated devices.
pub fn open(cfg: &Config) -> Option<PrinterHandle> {
    let p = &cfg.printer;
    let transport = match p.backend.as_str() {
        "usblp" => Transport::UsbLp(p.device.clone()),
        "serial" => Transport::Serial(p.device.clone(), p.baud),
        "tcp" => Transport::Tcp(p.device.clone()),
        _ => return None,
    };
    Some(PrinterHandle::new(Box::new(StreamPrinter::new(transport))))
}

/// `Hardware.Printer`: backend, name, present, paper (`ok`, `low`, `out`;
/// `unknown` when the printer did not answer its status request).
pub fn status(handle: Option<&PrinterHandle>) -> (&'static str, String, bool, &'static str) {
    let Some(h) = handle else { return ("none", String::new(), false, "unknown") };
    h.with(|p| {
        let info = p.info();
        match p.paper() {
            Ok(paper) => (info.backend, info.name, true, paper.as_str()),
            Err(PrinterError::NotPresent(..)) => (info.backend, info.name, false, "unknown"),
            Err(_) => (info.backend, info.name, true, "unknown"),
        }
    })
}

fn device_error(e: PrinterError, stan: u32) -> PosError {
    PosError::Device(format!("The receipt was not printed: {e}. Check the printer's cable, power and paper, then reprint with posctl reprint {stan}."))
}

/// `Payment.Receipt`'s and `PrintReceipt`'s `copy` argument.
pub fn copy_arg(copy: &str) -> Result<Copy, PosError> {
    Copy::parse(copy).ok_or_else(|| PosError::invalid(&format!("{copy:?} is not a copy. Send merchant or customer.")))
}

/// The slips of `copies` of the newest journal row with `stan`
/// (`Payment.Receipt` and every print).
pub fn slips(shared: &Shared, stan: u32, copies: &[Copy], reprint: bool) -> Result<Vec<Receipt>, PosError> {
    let terminal = &shared.cfg.terminal;
    let found = shared.with_reads(|s| Ok::<_, StoreError>((s.entry_by_stan_newest(stan)?, s.identity()?)));
    let (entry, id) = found.map_err(|e| PosError::Device(format!("The journal cannot be read: {e}. Restart the terminal; if it persists, call service.")))?;
    let entry =
        entry.ok_or_else(|| PosError::Operator(format!("There is no transaction with STAN {stan:06} in the journal. Check the STAN on the result or with posctl queue list.")))?;
    let id = id.unwrap_or_default();
    copies
        .iter()
        .map(|c| Receipt::of(&entry, &id, &terminal.operator, &terminal.currency, *c, reprint))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PosError::Operator(format!("No receipt: {e}. Print receipts of approved transactions only.")))
}

/// Prints `copies` of the transaction with `stan` (one job, cut after each copy).
pub async fn print(shared: &Shared, stan: u32, copies: &[Copy], reprint: bool) -> Result<(), PosError> {
    let handle = shared.printer.clone().ok_or_else(|| {
        PosError::Device("This terminal has no receipt printer configured. Set [printer] in posd.toml (docs/configuration.md), or show the receipt with posctl receipt.".into())
    })?;
    let cfg = &shared.cfg;
    let slips = slips(shared, stan, copies, reprint)?;
    let _ = shared.progress.send(crate::engine::Stage::Printing);
    let paper = Paper::from_mm(cfg.printer.paper_mm).unwrap_or(Paper::Mm58);
    let job = escpos::job(&slips, paper);
    let outcome = tokio::task::spawn_blocking(move || {
        handle.with(|p| {
            match p.paper() {
                Ok(PaperState::Out) => {
                    return Err(PosError::Device(format!("The printer is out of paper; the receipt was not printed. Load a new roll, then reprint with posctl reprint {stan}.")));
                }
                Ok(PaperState::Low) => tracing::warn!(CATEGORY = "device", "the printer's paper is running out: load a new roll soon"),
                Ok(PaperState::Ok) => {}
                // No back channel (some USB printers): print, the paper cannot be known.
                Err(PrinterError::NoStatus(name)) => tracing::info!("printer {name} gave no paper status; printing anyway"),
                Err(e) => return Err(device_error(e, stan)),
            }
            p.print(&job).map_err(|e| device_error(e, stan))
        })
    })
    .await
    .map_err(|e| PosError::Device(format!("The print job stopped: {e}. Reprint with posctl reprint {stan}.")))?;
    if outcome.is_ok() {
        tracing::info!(stan = %format!("{stan:06}"), copies = copies.len(), "receipt printed");
    }
    outcome
}

/// After an approved payment, when `printer.auto_print`: both copies, in
/// the background; a failure is logged, the payment stands.
pub fn auto_print(shared: &Shared, stan: u32) {
    if !shared.cfg.printer.auto_print || shared.printer.is_none() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(e) = print(&shared, stan, &[Copy::Merchant, Copy::Customer], false).await {
            tracing::warn!(CATEGORY = "device", stan = %format!("{stan:06}"), "{e}");
        }
    });
}
