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
}

/// Identity and money settings of the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Terminal {
    /// Hardware serial sent in field 59.02 and at activation; empty: read
    /// from the device tree (`/proc/device-tree/serial-number`).
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
}

/// Waits the daemon bounds itself (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub connect_ms: u64,
    /// From request written to reply read; past it, a reversible request is reversed (`98`).
    pub response_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect_ms: 5_000, response_ms: 30_000 }
    }
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
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
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
        utc_offset_seconds(&t.utc_offset).ok_or_else(|| bad("terminal.utc_offset", format!("{:?} is not +HH:MM or -HH:MM", t.utc_offset)))?;
        if t.serial.len() > 32 || !t.serial.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(bad("terminal.serial", "letters, digits and '-' only, at most 32"));
        }
        for h in &self.hosts {
            let ok = h.address.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0));
            if !ok {
                return Err(bad("host.address", format!("{:?} is not host:port", h.address)));
            }
        }
        if self.timeouts.connect_ms == 0 || self.timeouts.response_ms == 0 {
            return Err(bad("timeouts", "timeouts must be above 0"));
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
