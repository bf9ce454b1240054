//! The daemon's configuration (`/etc/posd/posd.toml`): one typed schema,
//! unknown keys refused, every key with a documented default
//! (`docs/configuration.md`, whose example block a test parses back).
//! Each later capability adds its section here.

use serde::{Deserialize, Serialize};
use smartpos_proto::dialect::DialectConfig;
use std::path::PathBuf;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub terminal: Terminal,
    /// Acquirer hosts, tried in order (primary first).
    #[serde(rename = "host")]
    pub hosts: Vec<Host>,
    pub dialect: DialectConfig,
    pub timeouts: Timeouts,
    pub emv: Emv,
    pub offline: Offline,
    pub retries: Retries,
    pub hardware: Hardware,
    pub printer: Printer,
    pub simulator: Simulator,
}

/// Identity and money settings of the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Terminal {
    /// Hardware serial sent in field 59.02 and at activation; empty: read
    /// from the device tree (`/sys/firmware/devicetree/base/serial-number`).
    pub serial: String,
    /// Where the database and key files live.
    pub state_dir: PathBuf,
    /// ISO 4217 numeric currency code of field 49.
    pub currency: String,
    /// Largest amount accepted for a payment, minor units.
    pub max_amount: u64,
    /// Operator code of sign-in and settlement (field 63).
    pub operator: String,
    /// Offset of local time from UTC, `+HH:MM` (fields 12/13 and receipts).
    pub utc_offset: String,
}

impl Default for Terminal {
    fn default() -> Self {
        Self {
            serial: String::new(),
            state_dir: PathBuf::from("/var/lib/posd"),
            currency: "156".into(),
            max_amount: 10_000_000,
            operator: "001".into(),
            utc_offset: "+08:00".into(),
        }
    }
}

/// One acquirer host address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// `host:port`.
    pub address: String,
    /// TLS (rustls) trusting only `ca_cert`; plain TCP when false.
    #[serde(default)]
    pub tls: bool,
    /// PEM file of the acquirer's CA certificate (required with `tls`).
    #[serde(default)]
    pub ca_cert: String,
    /// The name the host's certificate must carry; empty: the host part of `address`.
    #[serde(default)]
    pub server_name: String,
}

impl Host {
    /// A plain-TCP host.
    pub fn plain(address: &str) -> Self {
        Self { address: address.into(), tls: false, ca_cert: String::new(), server_name: String::new() }
    }

    /// The name checked against the host's certificate.
    pub fn server_name(&self) -> String {
        if !self.server_name.is_empty() {
            return self.server_name.clone();
        }
        self.address.rsplit_once(':').map_or(self.address.as_str(), |(h, _)| h).trim_matches(['[', ']']).to_string()
    }
}

/// Waits the daemon bounds itself (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub connect_ms: u64,
    /// From request written to reply read; past it, a reversible request is reversed (`98`).
    pub response_ms: u64,
    /// Waiting for the card to be inserted.
    pub card_ms: u64,
    /// Waiting for the PIN to be entered.
    pub pin_ms: u64,
    /// After a payment code's `Q1`: how long the terminal polls for the
    /// customer's confirmation before it reverses the sale (§11: 60 s).
    pub code_confirm_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect_ms: 5_000, response_ms: 30_000, card_ms: 60_000, pin_ms: 60_000, code_confirm_ms: 60_000 }
    }
}

/// The EMV kernel's terminal parameters. The action codes' defaults are
/// those of a typical online-only UnionPay terminal; production values come
/// from the acquirer (`docs/emv-kernel.md`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Emv {
    /// The terminal's AID list, tried in order when the card has no PSE;
    /// a PSE entry is used only when its AID starts with one of these.
    pub aids: Vec<String>,
    /// Amounts at or above it set TVR "exceeds floor limit" (minor units).
    pub floor_limit: u64,
    /// Terminal action codes, 5 bytes hex each.
    pub tac_denial: String,
    pub tac_online: String,
    pub tac_default: String,
    /// What an absent issuer action code counts as (EMV: all bits set).
    pub absent_iac_online: String,
    pub absent_iac_default: String,
    /// Tag 9F33, terminal capabilities.
    pub terminal_capabilities: String,
    /// Tag 9F35, terminal type.
    pub terminal_type: String,
    /// Tag 9F1A, terminal country code (4 digits).
    pub country_code: String,
    /// Tag 9F09, terminal's application version number.
    pub app_version: String,
    /// Keys of this table whose value here stays in force over the IC
    /// parameters downloaded from the host (§8): an integrator's override.
    /// Any of [`PINNABLE`].
    pub pin: Vec<String>,
    /// Contactless (§10, minor units): at or below the floor limit a tap
    /// may be approved offline; above the transaction limit the chip is
    /// asked for (0: taps not taken); at or above the CVM limit an online
    /// tap takes the PIN. The download's `DF19`/`DF20`/`DF21` replace them.
    pub contactless_floor_limit: u64,
    pub contactless_txn_limit: u64,
    pub contactless_cvm_limit: u64,
}

/// The `[emv]` keys a download can replace, and so `emv.pin` can name.
pub const PINNABLE: [&str; 8] =
    ["floor_limit", "tac_denial", "tac_online", "tac_default", "app_version", "contactless_floor_limit", "contactless_txn_limit", "contactless_cvm_limit"];

impl Default for Emv {
    fn default() -> Self {
        Self {
            aids: vec!["A000000333010101".into(), "A000000333010102".into(), "A000000333010103".into(), "A0000000031010".into(), "A0000000041010".into()],
            floor_limit: 0,
            tac_denial: "0050000000".into(),
            tac_online: "D84004F800".into(),
            tac_default: "D84000A800".into(),
            absent_iac_online: "FFFFFFFFFF".into(),
            absent_iac_default: "FFFFFFFFFF".into(),
            terminal_capabilities: "E0E1C8".into(),
            terminal_type: "22".into(),
            country_code: "0156".into(),
            app_version: "0030".into(),
            pin: Vec::new(),
            contactless_floor_limit: 0,
            contactless_txn_limit: 100_000,
            contactless_cvm_limit: 30_000,
        }
    }
}

/// Offline store-and-forward limits, all inclusive (§6).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Offline {
    /// Approve sales offline when the host cannot be reached.
    pub enabled: bool,
    /// Largest single offline sale, minor units.
    pub max_amount: u64,
    /// Largest total of queued sales, minor units.
    pub max_total: u64,
    /// Most queued sales.
    pub max_count: u32,
    /// Oldest a queued sale may be before new offline sales are refused and
    /// the old one is flagged (it is still forwarded, never dropped).
    pub max_age_secs: u64,
}

impl Default for Offline {
    fn default() -> Self {
        Self { enabled: true, max_amount: 50_000, max_total: 500_000, max_count: 100, max_age_secs: 7 * 86_400 }
    }
}

/// How often the engine tries again.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retries {
    /// Sends of one reversal before it is flagged (kept, reported).
    pub reversal_tries: u32,
    /// Sign-in attempts when the host cannot be reached.
    pub sign_in_attempts: u32,
    /// First wait between sign-in attempts; doubles each time.
    pub sign_in_backoff_ms: u64,
    /// How often posd forwards what waits (queue, reversals) by itself.
    /// `None`: every 30 s, or every `timeouts.response_ms` (at least 5 s)
    /// when that is shorter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_every_secs: Option<u64>,
}

impl Default for Retries {
    fn default() -> Self {
        Self { reversal_tries: 3, sign_in_attempts: 3, sign_in_backoff_ms: 2_000, forward_every_secs: None }
    }
}

impl Retries {
    /// The interval of the automatic forwarding.
    pub fn forward_every(&self, response_ms: u64) -> std::time::Duration {
        match self.forward_every_secs {
            Some(s) => std::time::Duration::from_secs(s),
            None => std::time::Duration::from_secs(30).min(std::time::Duration::from_millis(response_ms.max(5_000))),
        }
    }
}

/// Which backend drives each device, and their settings (`hal/README.md`
/// has the wiring).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hardware {
    /// `pcsc` or `sim`.
    pub reader: String,
    /// The first PC/SC reader whose name contains this (ignoring case); empty: the first reader.
    pub reader_name: String,
    /// The contactless reader (§10): `none`, `pcsc` or `sim`.
    pub contactless: String,
    /// The PC/SC contactless reader's name pattern (as `reader_name`; required
    /// with `pcsc`: readers are told apart by name, never by the card's ATR).
    pub contactless_name: String,
    /// `rppal` (GPIO matrix) or `sim`.
    pub keypad: String,
    /// BCM GPIO numbers of the rows (driven) and columns (read, pulled up).
    pub keypad_rows: Vec<u8>,
    pub keypad_columns: Vec<u8>,
    /// One string per row, keys separated by spaces: `0`-`9`, `*`, `#`, `F1`-`F9`, `-`.
    pub keypad_map: Vec<String>,
    pub keypad_debounce_ms: u64,
    /// Holding `*` this long cancels (short: clears the digits).
    pub keypad_long_press_ms: u64,
    /// The code scanner (§11): `none`, `evdev` (USB HID, keyboard mode), `serial` or `sim`.
    pub scanner: String,
    /// Its device: an evdev node (`/dev/input/by-id/…-event-kbd`) or a tty
    /// (`/dev/ttyACM0`, a udev symlink); required with `evdev` and `serial`.
    pub scanner_device: String,
    /// Baud rate of a serial scanner.
    pub scanner_baud: u32,
    /// `modemmanager`, `none` or `sim`.
    pub modem: String,
    /// APN for the data bearer, brought up when the host is unreachable.
    pub apn: String,
    /// Fallback re-read of the modem's status (changes are followed by signal too).
    pub modem_poll_secs: u64,
}

impl Default for Hardware {
    fn default() -> Self {
        Self {
            reader: "pcsc".into(),
            reader_name: String::new(),
            contactless: "none".into(),
            contactless_name: String::new(),
            keypad: "rppal".into(),
            keypad_rows: vec![5, 6, 13, 19],
            keypad_columns: vec![12, 16, 20, 21],
            keypad_map: ["1 2 3 F1", "4 5 6 F2", "7 8 9 F3", "* 0 # F4"].map(String::from).to_vec(),
            keypad_debounce_ms: 20,
            keypad_long_press_ms: 1_000,
            scanner: "none".into(),
            scanner_device: String::new(),
            scanner_baud: 9600,
            modem: "modemmanager".into(),
            apn: "cmnet".into(),
            modem_poll_secs: 30,
        }
    }
}

/// The receipt printer (ESC/POS).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Printer {
    /// `none`, `usblp`, `serial`, `tcp` or `sim`.
    pub backend: String,
    /// `/dev/usb/lp0`, a tty, or `host:port` (port 9100) for `tcp`.
    pub device: String,
    /// A serial printer's speed.
    pub baud: u32,
    /// 58 or 80.
    pub paper_mm: u32,
    /// Print both copies after every approved payment.
    pub auto_print: bool,
}

impl Default for Printer {
    fn default() -> Self {
        Self { backend: "none".into(), device: String::new(), baud: 9600, paper_mm: 58, auto_print: false }
    }
}

/// The D-Bus `Simulator` interface (only in builds with the `simulator` feature).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Simulator {
    /// Serve `Simulator` on the system bus too (test images only; on a
    /// session or private bus it is always served).
    pub on_system_bus: bool,
}

/// A configuration that cannot be used, naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Syntax(String),
    #[error("{key}: {reason}")]
    Value { key: &'static str, reason: String },
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value { key, reason: reason.into() }
}

impl Config {
    /// Parses and validates a configuration file's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax(one_line(text, &e)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads the files the configuration names (`dialect.field_table`, each
    /// TLS host's `ca_cert`), relative paths from `base` (the configuration
    /// file's folder), so a missing or unusable one stops posd at start and
    /// in `--check-config`, not at the first payment.
    pub fn load_named_files(&mut self, base: &std::path::Path) -> Result<(), ConfigError> {
        let resolve = |p: &str| base.join(p).display().to_string();
        let table = &mut self.dialect;
        if !table.field_table.is_empty() {
            let path = resolve(&table.field_table);
            let text = std::fs::read_to_string(&path).map_err(|e| bad("dialect.field_table", format!("{path}: {e}")))?;
            smartpos_proto::codec::FieldTable::from_toml(&text).map_err(|e| bad("dialect.field_table", format!("{path}: {}", e.lines().next().unwrap_or_default())))?;
            table.field_table = path;
            table.table_text = Some(text);
        }
        for h in self.hosts.iter_mut().filter(|h| h.tls) {
            let path = resolve(&h.ca_cert);
            crate::engine::tls::client_config(std::path::Path::new(&path)).map_err(|e| bad("host.ca_cert", format!("host {:?}: {e}", h.address)))?;
            h.ca_cert = path;
        }
        Ok(())
    }

    /// Checks values that the types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.terminal;
        if t.currency.len() != 3 || !t.currency.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("terminal.currency", format!("{:?} is not a 3-digit ISO 4217 code", t.currency)));
        }
        if t.max_amount == 0 || t.max_amount > 999_999_999_999 {
            return Err(bad("terminal.max_amount", "must be between 1 and 999999999999 (field 4 is n12)"));
        }
        if t.operator.len() != 3 || !t.operator.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("terminal.operator", format!("{:?} is not 3 letters or digits", t.operator)));
        }
        if self.retries.forward_every_secs.is_some_and(|s| s < 5) {
            return Err(bad("retries.forward_every_secs", "must be at least 5 (seconds)"));
        }
        utc_offset_seconds(&t.utc_offset).ok_or_else(|| bad("terminal.utc_offset", format!("{:?} is not +HH:MM or -HH:MM", t.utc_offset)))?;
        if t.serial.len() > 32 || !t.serial.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(bad("terminal.serial", "letters, digits and '-' only, at most 32"));
        }
        for h in &self.hosts {
            let ok = h.address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0));
            if !ok {
                return Err(bad("host.address", format!("{:?} is not host:port", h.address)));
            }
            if h.tls && h.ca_cert.is_empty() {
                return Err(bad("host.ca_cert", format!("host {:?} uses TLS: give the acquirer's CA certificate (PEM file)", h.address)));
            }
        }
        let e = &self.emv;
        for (key, v, len) in [
            ("emv.tac_denial", &e.tac_denial, 5),
            ("emv.tac_online", &e.tac_online, 5),
            ("emv.tac_default", &e.tac_default, 5),
            ("emv.absent_iac_online", &e.absent_iac_online, 5),
            ("emv.absent_iac_default", &e.absent_iac_default, 5),
            ("emv.terminal_capabilities", &e.terminal_capabilities, 3),
            ("emv.terminal_type", &e.terminal_type, 1),
            ("emv.country_code", &e.country_code, 2),
            ("emv.app_version", &e.app_version, 2),
        ] {
            if hex::decode(v).map(|b| b.len()) != Ok(len) {
                return Err(bad(key, format!("{v:?} is not {len} bytes of hex")));
            }
        }
        if let Some(unknown) = e.pin.iter().find(|k| !PINNABLE.contains(&k.as_str())) {
            return Err(bad("emv.pin", format!("{unknown:?} is not a key a download replaces (one of {})", PINNABLE.join(", "))));
        }
        if e.aids.is_empty() || e.aids.iter().any(|a| !(10..=32).contains(&a.len()) || hex::decode(a).is_err()) {
            return Err(bad("emv.aids", "a list of 5 to 16 byte AIDs in hex"));
        }
        for (key, v) in [("retries.reversal_tries", self.retries.reversal_tries), ("retries.sign_in_attempts", self.retries.sign_in_attempts)] {
            if v == 0 {
                return Err(bad(key, "must be at least 1"));
            }
        }
        let t = &self.timeouts;
        for (key, v) in [("timeouts.connect_ms", t.connect_ms), ("timeouts.response_ms", t.response_ms), ("timeouts.card_ms", t.card_ms), ("timeouts.pin_ms", t.pin_ms)] {
            if v == 0 {
                return Err(bad(key, "must be above 0 (milliseconds)"));
            }
        }
        let hw = &self.hardware;
        for (key, value, allowed) in [
            ("hardware.reader", &hw.reader, &["pcsc", "sim"][..]),
            ("hardware.contactless", &hw.contactless, &["none", "pcsc", "sim"][..]),
            ("hardware.keypad", &hw.keypad, &["rppal", "sim"][..]),
            ("hardware.scanner", &hw.scanner, &["none", "evdev", "serial", "sim"][..]),
            ("hardware.modem", &hw.modem, &["modemmanager", "none", "sim"][..]),
            ("printer.backend", &self.printer.backend, &["none", "usblp", "serial", "tcp", "sim"][..]),
        ] {
            if !allowed.contains(&value.as_str()) {
                return Err(bad(key, format!("{value:?} is not one of {}", allowed.join(", "))));
            }
        }
        if matches!(hw.scanner.as_str(), "evdev" | "serial") && hw.scanner_device.trim().is_empty() {
            return Err(bad(
                "hardware.scanner_device",
                "name the scanner's device: /dev/input/by-id/…-event-kbd for a USB HID scanner, /dev/ttyACM0 (or a udev symlink) for a serial one",
            ));
        }
        let pr = &self.printer;
        if matches!(pr.backend.as_str(), "usblp" | "serial" | "tcp") && pr.device.trim().is_empty() {
            return Err(bad("printer.device", "name the printer: /dev/usb/lp0 for USB, a tty for serial, host:9100 for a network printer"));
        }
        if pr.paper_mm != 58 && pr.paper_mm != 80 {
            return Err(bad("printer.paper_mm", format!("{} is not 58 or 80 (the roll's width in mm)", pr.paper_mm)));
        }
        if hw.scanner == "serial" && hw.scanner_baud == 0 {
            return Err(bad("hardware.scanner_baud", "must be above 0 (the scanner's serial speed, often 9600 or 115200)"));
        }
        if hw.contactless == "pcsc" && hw.contactless_name.trim().is_empty() {
            return Err(bad("hardware.contactless_name", "name the contactless reader (part of its PC/SC name, as pcsc_scan shows it): the two readers are told apart by name"));
        }
        if hw.contactless == "pcsc" && !hw.reader_name.is_empty() && hw.contactless_name.to_lowercase().contains(&hw.reader_name.to_lowercase()) {
            return Err(bad(
                "hardware.reader_name",
                format!("{:?} also matches the contactless reader {:?}: give each reader a pattern only its own name holds", hw.reader_name, hw.contactless_name),
            ));
        }
        // The keypad's own parser, so a key the scanner would refuse is refused here, at start.
        let map = smartpos_hal::matrix::KeyMap::parse(&hw.keypad_map).map_err(|e| bad("hardware.keypad_map", e.to_string()))?;
        if map.rows() != hw.keypad_rows.len() || map.columns() != hw.keypad_columns.len() {
            return Err(bad("hardware.keypad_map", "needs one row per keypad_rows pin, one key per keypad_columns pin"));
        }
        if hw.keypad_rows.iter().chain(&hw.keypad_columns).any(|&p| p > 53) {
            return Err(bad("hardware.keypad_rows", "GPIO numbers are 0-53"));
        }
        if hw.keypad_debounce_ms == 0 || hw.keypad_long_press_ms <= hw.keypad_debounce_ms || hw.modem_poll_secs == 0 {
            return Err(bad("hardware.keypad_debounce_ms", "debounce above 0, long press above debounce, modem_poll_secs above 0"));
        }
        let f = &self.dialect.framing;
        if !(64..=65_535).contains(&f.max_frame_len) {
            return Err(bad("dialect.framing.max_frame_len", "must be between 64 and 65535"));
        }
        Ok(())
    }

    /// The configured offset from UTC, seconds.
    pub fn utc_offset_seconds(&self) -> i64 {
        utc_offset_seconds(&self.terminal.utc_offset).unwrap_or(0)
    }
}

/// A TOML error as one line: where, which key, what (the toml crate's
/// message is several lines with a caret excerpt).
fn one_line(text: &str, e: &toml::de::Error) -> String {
    let what = e.message().trim().trim_end_matches('.').to_string();
    let Some(span) = e.span() else { return what };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    // The table header in force and the key on the error's line, when there is one.
    let table = before.lines().rev().find_map(|l| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(['[', ']']).trim().to_string())
    });
    let this_line = text.lines().nth(line - 1).unwrap_or_default();
    let key = this_line.split_once('=').map(|(k, _)| k.trim().to_string()).filter(|k| !k.is_empty() && !k.starts_with('['));
    match (table, key) {
        (Some(t), Some(k)) => format!("line {line}: {t}.{k}: {what}"),
        (None, Some(k)) => format!("line {line}: {k}: {what}"),
        (Some(t), None) => format!("line {line}: [{t}]: {what}"),
        (None, None) => format!("line {line}: {what}"),
    }
}

/// `+HH:MM` / `-HH:MM` → seconds.
pub fn utc_offset_seconds(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}
