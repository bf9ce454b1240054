//! The LTE modem as the terminal needs it: is there a network, how good is
//! it, where is the terminal (3GPP cell for field 59), and "bring the data
//! bearer up" when the host cannot be reached. The modem itself belongs to
//! ModemManager; [`modemmanager`] is its D-Bus client. [`Modem`] picks the
//! backend the configuration names.

pub mod modemmanager;
pub mod status;

pub use status::{CellLocation, ModemStatus};

#[cfg(feature = "simulator")]
use crate::sim::SimModem;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModemError {
    #[error("no modem: {0}")]
    Absent(String),
    #[error("the modem is not registered on a network ({0})")]
    NotRegistered(String),
    #[error("ModemManager: {0}")]
    Bus(String),
}

/// The configured modem backend.
#[derive(Debug, Clone)]
pub enum Modem {
    /// No modem (Ethernet or Wi-Fi terminals).
    None,
    ModemManager(modemmanager::ModemManagerClient),
    #[cfg(feature = "simulator")]
    Sim(SimModem),
}

impl Modem {
    pub async fn status(&self) -> ModemStatus {
        match self {
            Modem::None => ModemStatus::none(),
            Modem::ModemManager(mm) => mm.status().await,
            #[cfg(feature = "simulator")]
            Modem::Sim(sim) => sim.status(),
        }
    }

    /// Brings the data bearer up with `apn` when the modem is registered
    /// and not connected; returns whether a connect was attempted.
    pub async fn ensure_connected(&self, apn: &str) -> Result<bool, ModemError> {
        let status = self.status().await;
        if !status.present || status.bearer_connected || status.state == "connected" {
            return Ok(false);
        }
        if !status.registered() {
            return Err(ModemError::NotRegistered(status.registration));
        }
        match self {
            Modem::None => Ok(false),
            Modem::ModemManager(mm) => mm.connect(apn).await.map(|_| true),
            #[cfg(feature = "simulator")]
            Modem::Sim(sim) => {
                sim.connect();
                Ok(true)
            }
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Modem::None => "none",
            Modem::ModemManager(_) => "modemmanager",
            #[cfg(feature = "simulator")]
            Modem::Sim(_) => "sim",
        }
    }
}
