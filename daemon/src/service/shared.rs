//! What every D-Bus interface object shares: the worker, the latest
//! snapshots, a read-only view of the store, the modem and the
//! simulator's handles.

use super::backends::Handles;
use super::snapshot::Snapshot;
use super::worker::Worker;
use crate::config::Config;
use crate::store::Store;
use smartpos_hal::modem::{Modem, ModemStatus};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Shared {
    pub worker: Worker,
    pub cfg: Arc<Config>,
    /// A second connection for reads that must not wait for a payment (`Queue.List`, `Diagnose`).
    pub reads: Arc<Mutex<Store>>,
    pub modem: Modem,
    pub modem_status: watch::Receiver<ModemStatus>,
    pub host_reachable: Arc<AtomicBool>,
    pub keypad_backend: &'static str,
    /// The receipt printer, when the terminal has one.
    pub printer: Option<super::printing::PrinterHandle>,
    /// `Progress` stages from outside the worker (`printing`).
    pub progress: tokio::sync::mpsc::UnboundedSender<crate::engine::Stage>,
    /// Serving on the system bus (the `Simulator` interface checks it).
    pub system_bus: bool,
    #[cfg(feature = "simulator")]
    pub sim: super::backends::SimHandles,
}

impl Shared {
    pub fn new(
        worker: Worker,
        cfg: Arc<Config>,
        reads: Store,
        backends: &Handles,
        modem_status: watch::Receiver<ModemStatus>,
        progress: tokio::sync::mpsc::UnboundedSender<crate::engine::Stage>,
        system_bus: bool,
    ) -> Self {
        Self {
            worker,
            cfg,
            reads: Arc::new(Mutex::new(reads)),
            modem: backends.modem.clone(),
            modem_status,
            host_reachable: backends.host_reachable.clone(),
            keypad_backend: backends.keypad_backend,
            printer: backends.printer.clone(),
            progress,
            system_bus,
            #[cfg(feature = "simulator")]
            sim: backends.sim.clone(),
        }
    }

    pub fn snap(&self) -> Snapshot {
        self.worker.snapshot().borrow().clone()
    }

    pub fn busy(&self) -> bool {
        *self.worker.running().borrow()
    }

    pub fn with_reads<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.reads.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
