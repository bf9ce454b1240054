//! The hardware backends the configuration names (`[hardware]`), built at
//! start. A device that cannot be opened does not stop the daemon: it is
//! replaced by a stand-in that fails every use with the reason, so the
//! D-Bus API and `Diagnose` still answer and say what to fix.

use crate::config::Config;
use crate::engine::{HostLink, LinkError, TcpLink};
use smartpos_hal::keypad::{KeypadPinPad, PinProgress};
use smartpos_hal::matrix::rppal_pins::RppalPins;
use smartpos_hal::matrix::{KeyMap, MatrixKeypad, Timing};
use smartpos_hal::modem::Modem;
use smartpos_hal::modem::modemmanager::ModemManagerClient;
use smartpos_hal::pcsc_reader::PcscReader;
use smartpos_hal::scanner::{self, CodeScanner, evdev_hid::EvdevScanner, serial::SerialScanner};
use smartpos_hal::{Cancel, CardReader, PinError, PinPad};
use smartpos_proto::crypto::Key;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The simulated devices' handles, for the `Simulator` interface.
#[cfg(feature = "simulator")]
#[derive(Debug, Clone, Default)]
pub struct SimHandles {
    pub slot: Option<smartpos_hal::sim::CardSlot>,
    /// The simulated contactless field (`Simulator.TapCard`).
    pub field: Option<smartpos_hal::sim::CardSlot>,
    pub keys: Option<smartpos_hal::sim::SimKeys>,
    pub modem: Option<smartpos_hal::sim::SimModem>,
    /// The simulated code scanner (`Simulator.ScanCode`).
    pub scan: Option<smartpos_hal::sim::SimScan>,
    /// The simulated printer's paper and jobs (`Simulator.SetPaper`).
    pub paper: Option<smartpos_hal::sim::SimPaper>,
}

/// The devices the engine takes, and the handles the daemon keeps.
pub struct Backends {
    pub reader: Box<dyn CardReader>,
    pub contactless: Option<Box<dyn CardReader>>,
    /// The code scanner, when the terminal has one (§11).
    pub scanner: Option<Box<dyn CodeScanner>>,
    pub pinpad: Box<dyn PinPad>,
    pub link: Box<dyn HostLink>,
    pub handles: Handles,
}

/// What the daemon keeps of the backends after the engine took the devices.
#[derive(Debug, Clone)]
pub struct Handles {
    pub modem: Modem,
    pub keypad_backend: &'static str,
    /// `Simulator.SetHostReachable`: false cuts the path to the host.
    pub host_reachable: Arc<AtomicBool>,
    /// The receipt printer, when the terminal has one.
    pub printer: Option<super::printing::PrinterHandle>,
    #[cfg(feature = "simulator")]
    pub sim: SimHandles,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backends").field("reader", &self.reader.info()).field("handles", &self.handles).finish()
    }
}

/// A simulated backend named in a build without the simulator is a
/// configuration error: found when the file is loaded (so `--check-config`
/// and systemd's `RestartPreventExitStatus=78` see it), not when opening.
pub fn check_build_supports(cfg: &Config) -> Result<(), String> {
    #[cfg(not(feature = "simulator"))]
    for (key, backend) in [
        ("reader", &cfg.hardware.reader),
        ("contactless", &cfg.hardware.contactless),
        ("keypad", &cfg.hardware.keypad),
        ("modem", &cfg.hardware.modem),
        ("scanner", &cfg.hardware.scanner),
        ("printer", &cfg.printer.backend),
    ] {
        if backend == "sim" {
            return Err(format!("hardware.{key} = \"sim\" needs a posd built with the simulator feature"));
        }
    }
    #[cfg(feature = "simulator")]
    let _ = cfg;
    Ok(())
}

impl Backends {
    /// Builds what `cfg` names. `modem_bus`: where ModemManager is (the
    /// system bus when `None`).
    pub async fn open(cfg: &Config, modem_bus: Option<&str>) -> Result<Self, String> {
        // load_config has checked this already; a Config built any other way
        // is checked here, so the `sim` arms below need no twin refusals.
        check_build_supports(cfg)?;
        let hw = &cfg.hardware;
        #[cfg(feature = "simulator")]
        let mut sim = SimHandles::default();
        let reader: Box<dyn CardReader> = match hw.reader.as_str() {
            #[cfg(feature = "simulator")]
            "sim" => {
                let slot = smartpos_hal::sim::CardSlot::new();
                sim.slot = Some(slot.clone());
                Box::new(smartpos_hal::sim::SimReader::new(slot))
            }
            _ => Box::new(PcscReader::new(&hw.reader_name).excluding(if hw.contactless == "pcsc" { &hw.contactless_name } else { "" })),
        };
        let contactless: Option<Box<dyn CardReader>> = match hw.contactless.as_str() {
            #[cfg(feature = "simulator")]
            "sim" => {
                let field = smartpos_hal::sim::CardSlot::new();
                sim.field = Some(field.clone());
                Some(Box::new(smartpos_hal::sim::SimReader::contactless(field)))
            }
            "pcsc" => Some(Box::new(PcscReader::new(&hw.contactless_name))),
            _ => None,
        };
        let scanner: Option<Box<dyn CodeScanner>> = match hw.scanner.as_str() {
            #[cfg(feature = "simulator")]
            "sim" => {
                let (scanner, scan) = smartpos_hal::sim::SimScanner::new();
                sim.scan = Some(scan);
                Some(Box::new(scanner))
            }
            "evdev" => Some(Box::new(EvdevScanner::new(&hw.scanner_device, scanner::lines::DEFAULT_MAX))),
            "serial" => Some(Box::new(SerialScanner::new(&hw.scanner_device, hw.scanner_baud, scanner::lines::DEFAULT_MAX))),
            _ => None,
        };
        let pinpad: Box<dyn PinPad> = match hw.keypad.as_str() {
            #[cfg(feature = "simulator")]
            "sim" => {
                let (keypad, keys) = smartpos_hal::sim::SimKeypad::new();
                sim.keys = Some(keys);
                Box::new(KeypadPinPad::new(keypad))
            }
            _ => match open_matrix(cfg) {
                Ok(p) => p,
                Err(why) => {
                    tracing::error!(CATEGORY = "device", "keypad: {why}");
                    Box::new(BrokenPinPad(why))
                }
            },
        };
        let modem = match hw.modem.as_str() {
            #[cfg(feature = "simulator")]
            "sim" => {
                let m = smartpos_hal::sim::SimModem::new();
                sim.modem = Some(m.clone());
                Modem::Sim(m)
            }
            "none" => Modem::None,
            _ => {
                let conn = match modem_bus {
                    Some(address) => zbus::connection::Builder::address(address).map_err(|e| e.to_string())?.build().await,
                    None => zbus::Connection::system().await,
                };
                match conn {
                    Ok(conn) => Modem::ModemManager(ModemManagerClient::new(conn)),
                    Err(e) => {
                        tracing::error!(CATEGORY = "network", "cannot reach ModemManager's bus: {e}; running without a modem");
                        Modem::None
                    }
                }
            }
        };
        let printer = match cfg.printer.backend.as_str() {
            #[cfg(feature = "simulator")]
            "sim" => {
                let (printer, paper) = smartpos_hal::sim::SimPrinter::new();
                sim.paper = Some(paper);
                Some(super::printing::PrinterHandle::new(Box::new(printer)))
            }
            _ => super::printing::open(cfg),
        };
        let host_reachable = Arc::new(AtomicBool::new(true));
        let link = Box::new(GatedLink { inner: TcpLink::new(&cfg.hosts, &cfg.timeouts), reachable: host_reachable.clone() });
        Ok(Self {
            reader,
            contactless,
            scanner,
            pinpad,
            link,
            handles: Handles {
                modem,
                keypad_backend: if hw.keypad == "sim" { "sim" } else { "rppal" },
                host_reachable,
                printer,
                #[cfg(feature = "simulator")]
                sim,
            },
        })
    }
}

fn open_matrix(cfg: &Config) -> Result<Box<dyn PinPad>, String> {
    let hw = &cfg.hardware;
    let map = KeyMap::parse(&hw.keypad_map).map_err(|e| e.to_string())?;
    let pins = RppalPins::open(&hw.keypad_rows, &hw.keypad_columns).map_err(|e| e.to_string())?;
    let timing = Timing { debounce: Duration::from_millis(hw.keypad_debounce_ms), long_press: Duration::from_millis(hw.keypad_long_press_ms), ..Timing::default() };
    let keypad = MatrixKeypad::new(pins, map, timing).map_err(|e| e.to_string())?;
    Ok(Box::new(KeypadPinPad::new(keypad)))
}

/// A keypad that could not be opened: every PIN entry fails with why.
struct BrokenPinPad(String);

impl PinPad for BrokenPinPad {
    fn pin_block(&mut self, _pan: &str, _pik: &Key, _timeout: Duration, _cancel: &Cancel, _progress: &mut dyn FnMut(PinProgress)) -> Result<[u8; 8], PinError> {
        Err(PinError::Device(self.0.clone()))
    }
    fn ok(&mut self) -> bool {
        false
    }
}

/// The TCP link behind a switch the simulator can open (a cable pulled):
/// closed, nothing is sent and the host is unreachable.
struct GatedLink {
    inner: TcpLink,
    reachable: Arc<AtomicBool>,
}

impl GatedLink {
    fn cut(&mut self) -> bool {
        let cut = !self.reachable.load(Ordering::SeqCst);
        if cut {
            self.inner.close();
        }
        cut
    }
}

impl HostLink for GatedLink {
    fn connect(&mut self) -> Result<(), LinkError> {
        if self.cut() {
            return Err(LinkError::Unreachable("the network path to the host is cut".into()));
        }
        self.inner.connect()
    }
    fn round_trip(&mut self, frame: &[u8], timeout: Duration, max_len: usize) -> Result<Vec<u8>, LinkError> {
        if self.cut() {
            return Err(LinkError::Unreachable("the network path to the host is cut".into()));
        }
        self.inner.round_trip(frame, timeout, max_len)
    }
    fn close(&mut self) {
        self.inner.close();
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The hardware serial: the configuration's, else the device tree's, else
/// the machine id's first 16 characters.
pub fn serial_number(cfg: &Config) -> Result<String, String> {
    if !cfg.terminal.serial.is_empty() {
        return Ok(cfg.terminal.serial.clone());
    }
    let from_file = |p: &str| std::fs::read_to_string(p).ok().map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).filter(|s| !s.is_empty());
    // The sysfs path, not /proc/device-tree (a link to it): posd.service sets
    // ProcSubset=pid, which hides everything in /proc but processes.
    from_file("/sys/firmware/devicetree/base/serial-number")
        .or_else(|| from_file("/etc/machine-id").map(|m| m.chars().take(16).collect::<String>().to_uppercase()))
        .filter(|s| s.len() <= 32 && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        .ok_or_else(|| "terminal.serial: empty and no usable /sys/firmware/devicetree/base/serial-number or /etc/machine-id: set it in posd.toml".into())
}
