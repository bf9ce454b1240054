//! `org.smartpos.Pos1.Simulator`: the simulated hardware's knobs, for the
//! demo, development and tests. Compiled only with the `simulator`
//! feature; on the system bus served only when the configuration says so
//! (`[simulator] on_system_bus`, the test image), else every call is
//! refused with `AccessDenied`.

use super::error::PosError;
use super::shared::Shared;
use smartpos_vcard::card::VirtualCard;
use smartpos_vcard::testdata::TestData;
use std::sync::atomic::Ordering;

#[derive(Debug)]
pub struct SimulatorIface(pub Shared);

impl SimulatorIface {
    fn allowed(&self) -> Result<(), PosError> {
        if self.0.system_bus && !self.0.cfg.simulator.on_system_bus {
            return Err(PosError::AccessDenied("The simulator is not served on the system bus. Use a development bus, or set [simulator] on_system_bus in a test image.".into()));
        }
        Ok(())
    }

    /// The card `label` in the contactless field, leaving after `commands` APDUs or after one read.
    fn tap(&self, label: &str, commands: Option<u32>) -> Result<(), PosError> {
        self.allowed()?;
        let field = self.0.sim.field.as_ref().ok_or_else(|| Self::not_simulated("contactless"))?;
        let data = TestData::embedded();
        let dual: Vec<&str> = data.cards.iter().filter(|c| c.contactless).map(|c| c.label.as_str()).collect();
        let profile = data.card(label).ok_or_else(|| PosError::invalid(&format!("There is no test card {label:?}. Tap one of {}.", dual.join(", "))))?;
        let mut card = VirtualCard::contactless(profile, &data.issuer.imk_ac)
            .map_err(|e| PosError::Device(format!("The test card cannot be made: {e}. Check test-cards.toml.")))?
            .ok_or_else(|| PosError::invalid(&format!("Test card {label:?} has no contactless interface. Tap one of {}.", dual.join(", "))))?;
        card.leave_after = commands;
        field.insert(card);
        Ok(())
    }

    fn not_simulated(what: &str) -> PosError {
        PosError::Device(format!("The {what} is real hardware, not simulated. Set hardware.{what} = \"sim\" in posd.toml to use the simulator."))
    }
}

#[zbus::interface(name = "org.smartpos.Pos1.Simulator")]
impl SimulatorIface {
    async fn insert_card(&self, label: String) -> Result<(), PosError> {
        self.allowed()?;
        let slot = self.0.sim.slot.as_ref().ok_or_else(|| Self::not_simulated("reader"))?;
        let data = TestData::embedded();
        let profile = data.card(&label).ok_or_else(|| {
            let labels: Vec<&str> = data.cards.iter().map(|c| c.label.as_str()).collect();
            PosError::invalid(&format!("There is no test card {label:?}. Use one of {}.", labels.join(", ")))
        })?;
        let card = VirtualCard::new(profile, &data.issuer.imk_ac).map_err(|e| PosError::Device(format!("The test card cannot be made: {e}. Check test-cards.toml.")))?;
        slot.insert(card);
        self.0.worker.background(super::worker::Job::Refresh);
        Ok(())
    }

    async fn tap_card(&self, label: String) -> Result<(), PosError> {
        self.tap(&label, None)
    }

    async fn tap_card_briefly(&self, label: String, commands: u32) -> Result<(), PosError> {
        if commands == 0 {
            return Err(PosError::invalid("commands counts the APDUs the card answers before it leaves. Send 1 or more."));
        }
        self.tap(&label, Some(commands))
    }

    /// Shows `code` to the simulated scanner, as a customer holds the phone
    /// under it: the next wait for a code reads it (a payment code of
    /// `test-cards.toml`, or any line, to test refusals). Never logged.
    async fn scan_code(&self, code: String) -> Result<(), PosError> {
        self.allowed()?;
        let scan = self.0.sim.scan.as_ref().ok_or_else(|| Self::not_simulated("scanner"))?;
        if code.len() > smartpos_hal::scanner::lines::DEFAULT_MAX || code.contains(['\r', '\n']) {
            return Err(PosError::invalid("A scanned code is one line of at most 64 characters. Send the code's digits alone."));
        }
        scan.show(&code);
        self.0.worker.background(super::worker::Job::Refresh);
        Ok(())
    }

    /// The simulated printer's paper: `ok`, `low` (near its end) or `out`.
    async fn set_paper(&self, state: String, #[zbus(signal_emitter)] emitter: zbus::object_server::SignalEmitter<'_>) -> Result<(), PosError> {
        self.allowed()?;
        let paper =
            self.0.sim.paper.as_ref().ok_or_else(|| PosError::Device("The printer is not simulated. Set printer.backend = \"sim\" in posd.toml to use the simulator.".into()))?;
        let state = smartpos_hal::printer::PaperState::parse(&state).ok_or_else(|| PosError::invalid(&format!("{state:?} is not a paper state. Send ok, low or out.")))?;
        paper.set(state);
        if let Ok(h) = emitter.connection().object_server().interface::<_, super::strict::Strict<super::hardware::HardwareIface>>(super::OBJECT_PATH).await {
            let _ = h.get().await.printer_changed(h.signal_emitter()).await;
        }
        Ok(())
    }

    async fn remove_card(&self) -> Result<(), PosError> {
        self.allowed()?;
        self.0.sim.slot.as_ref().ok_or_else(|| Self::not_simulated("reader"))?.remove();
        self.0.worker.background(super::worker::Job::Refresh);
        Ok(())
    }

    async fn press_keys(&self, keys: String) -> Result<(), PosError> {
        self.allowed()?;
        let pad = self.0.sim.keys.as_ref().ok_or_else(|| Self::not_simulated("keypad"))?;
        if keys.is_empty() || keys.len() > 32 || !keys.bytes().all(|c| c.is_ascii_digit() || c == b'#' || c == b'*') {
            return Err(PosError::invalid("Keys are 1 to 32 of 0-9, # (enter) and * (clear/cancel). Send only those."));
        }
        pad.press(&keys).map_err(|c| PosError::invalid(&format!("Key {c:?} is not on the keypad. Send only 0-9, # and *.")))
    }

    async fn set_host_reachable(&self, reachable: bool) -> Result<(), PosError> {
        self.allowed()?;
        self.0.host_reachable.store(reachable, Ordering::SeqCst);
        tracing::info!(reachable, "simulator: network path to the host {}", if reachable { "restored" } else { "cut" });
        Ok(())
    }

    async fn set_signal(&self, percent: u32) -> Result<(), PosError> {
        self.allowed()?;
        if percent > 100 {
            return Err(PosError::invalid("Signal is a percentage. Send 0 to 100."));
        }
        self.0.sim.modem.as_ref().ok_or_else(|| Self::not_simulated("modem"))?.set_signal(percent);
        Ok(())
    }

    async fn set_modem_state(&self, state: String) -> Result<(), PosError> {
        self.allowed()?;
        let modem = self.0.sim.modem.as_ref().ok_or_else(|| Self::not_simulated("modem"))?;
        modem.set_state(&state).map_err(|e| PosError::invalid(&format!("{e}.")))
    }
}
