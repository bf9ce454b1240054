//! The receipt printer: an ESC/POS thermal printer that takes a print job
//! (bytes the daemon's receipt encoder made) and answers `DLE EOT 4`, its
//! roll paper sensor status, with one byte. Backends: a USB printer-class
//! device (`/dev/usb/lp*`, the kernel's usblp), a serial port, and a
//! network printer on TCP port 9100 — one [`stream::StreamPrinter`] over
//! three transports — and a simulated printer (`sim`, feature
//! `simulator`) that keeps what it was sent.
//!
//! The status byte is read as the ESC/POS reference defines it ([`paper_of`]);
//! a printer that does not answer in time is reported as such, and its
//! paper as unknown, never as "ok".

pub mod stream;

/// What the paper sensor says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaperState {
    Ok,
    /// The roll is near its end: print, and tell the merchant.
    Low,
    /// No paper: nothing can be printed.
    Out,
}

impl PaperState {
    /// `ok`, `low`, `out` (`Hardware.Printer`'s `paper`).
    pub fn as_str(self) -> &'static str {
        match self {
            PaperState::Ok => "ok",
            PaperState::Low => "low",
            PaperState::Out => "out",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(PaperState::Ok),
            "low" => Some(PaperState::Low),
            "out" => Some(PaperState::Out),
            _ => None,
        }
    }
}

/// `DLE EOT 4`: transmit the roll paper sensor status.
pub const PAPER_STATUS_REQUEST: &[u8] = &[0x10, 0x04, 4];

/// The `DLE EOT 4` reply (ESC/POS reference): bits 2–3 set = roll paper
/// near end; bits 5–6 set = roll paper end (none left); bits 1 and 4 are
/// always 1, 0 and 7 always 0 — a byte that breaks those is no status.
pub fn paper_of(status: u8) -> Option<PaperState> {
    if status & 0b1001_0011 != 0b0001_0010 {
        return None;
    }
    Some(if status & 0b0110_0000 != 0 {
        PaperState::Out
    } else if status & 0b0000_1100 != 0 {
        PaperState::Low
    } else {
        PaperState::Ok
    })
}

/// Why a print or a status read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrinterError {
    #[error("the printer {0} is not connected: {1}")]
    NotPresent(String, String),
    #[error("the printer {0} did not answer its paper status request")]
    NoStatus(String),
    #[error("the printer {0} answered its paper status with {1:#04x}, which is no ESC/POS status byte")]
    BadStatus(String, u8),
    #[error("printer {0}: {1}")]
    Io(String, String),
}

/// What the hardware page shows about a printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterInfo {
    pub backend: &'static str,
    pub name: String,
}

pub trait ReceiptPrinter: Send {
    /// The paper sensor, asked now.
    fn paper(&mut self) -> Result<PaperState, PrinterError>;
    /// Sends a whole print job.
    fn print(&mut self, job: &[u8]) -> Result<(), PrinterError>;
    fn info(&self) -> PrinterInfo;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_bits_as_the_reference_defines_them() {
        assert_eq!(paper_of(0x12), Some(PaperState::Ok));
        assert_eq!(paper_of(0x1E), Some(PaperState::Low));
        assert_eq!(paper_of(0x72), Some(PaperState::Out));
        assert_eq!(paper_of(0x7E), Some(PaperState::Out));
        // Fixed bits wrong: not a status byte (e.g. an echo of the request).
        for junk in [0x00, 0x04, 0x10, 0xFF, 0x13, 0x92] {
            assert_eq!(paper_of(junk), None, "{junk:#04x}");
        }
    }
}
