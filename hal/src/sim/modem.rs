//! A simulated modem whose state and signal a test or the D-Bus
//! `Simulator` interface sets.

use crate::modem::{CellLocation, ModemStatus};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct SimModem(Arc<Mutex<ModemStatus>>);

impl Default for SimModem {
    fn default() -> Self {
        Self::new()
    }
}

/// `SetModemState` accepts these (ModemManager's state words), plus `absent`.
pub const STATES: [&str; 6] = ["absent", "disabled", "searching", "registered", "connected", "failed"];

impl SimModem {
    /// A registered LTE modem on a good home network with its bearer up.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(ModemStatus {
            backend: "sim",
            present: true,
            state: "connected".into(),
            registration: "home".into(),
            operator: "China Mobile".into(),
            operator_code: "46000".into(),
            technology: "lte".into(),
            signal: 80,
            sim_present: true,
            bearer_connected: true,
            location: Some(CellLocation { mcc: 460, mnc: 0, lac: 0x1A2B, ci: 0xC3D4E }),
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut ModemStatus) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn status(&self) -> ModemStatus {
        self.with(|s| s.clone())
    }

    pub fn set_signal(&self, percent: u32) {
        self.with(|s| s.signal = percent.min(100));
    }

    /// Sets a ModemManager state word; registration and bearer follow it.
    pub fn set_state(&self, state: &str) -> Result<(), String> {
        if !STATES.contains(&state) {
            return Err(format!("unknown modem state {state:?}: use one of {}", STATES.join(", ")));
        }
        self.with(|s| {
            s.present = state != "absent";
            s.state = state.into();
            s.registration = match state {
                "registered" | "connected" => "home",
                "searching" => "searching",
                _ => "idle",
            }
            .into();
            s.bearer_connected = state == "connected";
        });
        Ok(())
    }

    /// What `Simple.Connect` does: the bearer comes up.
    pub fn connect(&self) {
        self.with(|s| {
            s.state = "connected".into();
            s.bearer_connected = true;
        });
    }
}
