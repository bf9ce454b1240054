//! What the properties show, computed by the worker after every operation:
//! D-Bus getters read the latest snapshot and never wait for the engine,
//! and a changed field becomes a `PropertiesChanged` signal.

use crate::engine::{Engine, HardwareCheck};
use crate::store::queue::QueueStats;

/// `LastError` in fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct LastError {
    pub category: String,
    pub code: String,
    pub message: String,
    pub remedy: String,
    pub at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `unbound`, `bound`, `signed-in` (`busy` is added by the service while a job runs).
    pub state: &'static str,
    pub terminal_id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub serial: String,
    pub batch: u32,
    pub signed_in_at: String,
    pub online: bool,
    pub deposit_amount: u64,
    pub deposit_status: String,
    pub last_error: Option<LastError>,
    pub queue: QueueStats,
    pub pending_reversal: bool,
    /// Host clock minus terminal clock at the last sign-in, seconds.
    pub clock_offset_secs: Option<i64>,
    pub tmk_present: bool,
    pub hardware: HardwareCheck,
    /// The CA keys and IC parameters in force (§8).
    pub parameters: crate::engine::parameters::ParametersView,
}

impl Snapshot {
    /// Reads everything from the engine and its store. A store that cannot
    /// be read leaves the field at its default: the `LastError` and the
    /// diagnostics report the store itself.
    pub fn take(engine: &mut Engine) -> Self {
        let store = engine.store();
        let id = store.identity().ok().flatten().unwrap_or_default();
        let session = store.session().ok().flatten();
        let last_error = store.last_error().ok().flatten().and_then(|j| serde_json::from_str::<LastError>(&j).ok());
        let batch = store.batch().unwrap_or(0);
        let pending_reversal = store.pending_reversals().map(|r| !r.is_empty()).unwrap_or(false);
        let tmk_present = store.key("tmk").ok().flatten().is_some();
        let state = if !id.is_bound() {
            "unbound"
        } else if engine.signed_in() {
            "signed-in"
        } else {
            "bound"
        };
        Snapshot {
            state,
            terminal_id: id.tid.clone().unwrap_or_default(),
            merchant_id: id.mid.clone().unwrap_or_default(),
            merchant_name: id.merchant_name.clone().unwrap_or_default(),
            serial: id.serial.clone(),
            batch,
            signed_in_at: if engine.signed_in() { session.as_ref().map(|s| s.signed_in_at.clone()).unwrap_or_default() } else { String::new() },
            online: engine.online().unwrap_or(false),
            deposit_amount: id.deposit_amount.unwrap_or(0),
            deposit_status: id.deposit_status.clone().unwrap_or_default(),
            last_error,
            queue: engine.queue_stats().unwrap_or_default(),
            pending_reversal,
            clock_offset_secs: session.map(|s| s.clock_offset_secs),
            tmk_present,
            hardware: engine.hardware_check(),
            parameters: engine.parameters_view().unwrap_or_default(),
        }
    }

    /// The line `systemctl status posd` shows.
    pub fn status_line(&self, busy: bool) -> String {
        let state = match (busy, self.state) {
            (true, _) => "busy".to_string(),
            (_, "signed-in") => format!("signed in, batch {:06}", self.batch),
            (_, "bound") => format!("bound as {}, not signed in", self.terminal_id),
            _ => "not bound: activate with posctl bind CODE".to_string(),
        };
        let mut line = format!("{state}, queue {}", self.queue.depth);
        if self.pending_reversal {
            line.push_str(", reversal pending");
        }
        if !self.online && self.state != "unbound" {
            line.push_str(", host unreachable");
        }
        line
    }
}
