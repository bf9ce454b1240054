//! `org.smartpos.Pos1.Hardware`: what the readers, scanner, printer, keypad and modem say.

use super::dict::{Dict, DictBuilder};
use super::shared::Shared;

#[derive(Debug)]
pub struct HardwareIface(pub Shared);

#[zbus::interface(name = "org.smartpos.Pos1.Hardware")]
impl HardwareIface {
    #[zbus(property)]
    async fn card_reader(&self) -> Dict {
        let h = self.0.snap().hardware;
        DictBuilder::new().s("backend", h.reader_backend).s("name", h.reader_name).b("present", h.reader_present).b("card_present", h.card_present).build()
    }

    /// As `CardReader`; `backend` `none` on a terminal without one.
    #[zbus(property)]
    async fn contactless_reader(&self) -> Dict {
        match self.0.snap().hardware.contactless {
            Some(r) => DictBuilder::new().s("backend", r.backend).s("name", r.name).b("present", r.present).b("card_present", r.card_present).build(),
            None => DictBuilder::new().s("backend", "none").s("name", "").b("present", false).b("card_present", false).build(),
        }
    }

    /// The receipt printer: `backend` (`usblp`, `serial`, `tcp`,
    /// `simulator`, or `none`), `name`, `present`, `paper` (`ok`, `low`,
    /// `out`, or `unknown` when it gave no status). Asked when read.
    #[zbus(property)]
    async fn printer(&self) -> Dict {
        let handle = self.0.printer.clone();
        let (backend, name, present, paper) =
            tokio::task::spawn_blocking(move || super::printing::status(handle.as_ref())).await.unwrap_or(("none", String::new(), false, "unknown"));
        DictBuilder::new().s("backend", backend).s("name", name).b("present", present).s("paper", paper).build()
    }

    /// The code scanner (§11): `backend` (`evdev`, `serial`, `simulator`;
    /// `none` on a terminal without one), `name` (its device), `present`.
    #[zbus(property)]
    async fn scanner(&self) -> Dict {
        match self.0.snap().hardware.scanner {
            Some(s) => DictBuilder::new().s("backend", s.backend).s("name", s.name).b("present", s.present).build(),
            None => DictBuilder::new().s("backend", "none").s("name", "").b("present", false).build(),
        }
    }

    #[zbus(property)]
    async fn keypad(&self) -> Dict {
        DictBuilder::new().s("backend", self.0.keypad_backend).b("ok", self.0.snap().hardware.keypad_ok).build()
    }

    #[zbus(property)]
    async fn modem(&self) -> Dict {
        let m = self.0.modem_status.borrow().clone();
        DictBuilder::new()
            .s("backend", m.backend)
            .s("state", m.state)
            .s("registration", m.registration)
            .s("operator", m.operator)
            .s("technology", m.technology)
            .u("signal", m.signal)
            .s("location", m.location.map(|l| l.display()).unwrap_or_default())
            .build()
    }
}
