//! `kiosk.toml`: where the app listens (loopback only), the operator PIN
//! that guards void, refund, settle and unbind, and the screen's first
//! language. A bad file is refused at start with one line naming the key
//! (exit 78, as posd).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use zeroize::Zeroizing;

/// The installed configuration (`systemd/kiosk.toml`).
pub const DEFAULT_PATH: &str = "/etc/smartpos/kiosk.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot be read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {key}: {message}")]
    Invalid { path: String, key: &'static str, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    operator_pin: Option<String>,
    language: Option<String>,
}

/// The checked configuration.
pub struct Config {
    /// A loopback address: the app is for the terminal's own screen.
    pub listen: SocketAddr,
    /// 4–8 digits; compared in constant time, never logged. `None` (the
    /// shipped file sets none): void, refund, settle and unbind are refused
    /// until the integrator sets one — never a default PIN everyone knows.
    pub operator_pin: Option<Zeroizing<String>>,
    /// `zh` or `en`: the language the screen starts in.
    pub language: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("listen", &self.listen).field("operator_pin", &"…").field("language", &self.language).finish()
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: name.clone(), source })?;
        Self::parse(&name, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.into(), message: e.message().to_string() })?;
        let invalid = |key: &'static str, message: &str| ConfigError::Invalid { path: path.into(), key, message: message.into() };
        let listen = file.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen.parse().map_err(|_| invalid("listen", "must be an address and port such as 127.0.0.1:8080"))?;
        if !listen.ip().is_loopback() {
            return Err(invalid("listen", "must be a loopback address (127.0.0.1 or ::1): the cashier app is for this terminal's own screen, never the network"));
        }
        let pin = file.operator_pin.map(Zeroizing::new);
        if pin.as_ref().is_some_and(|p| !(4..=8).contains(&p.len()) || !p.bytes().all(|c| c.is_ascii_digit())) {
            return Err(invalid("operator_pin", "must be 4 to 8 digits"));
        }
        let language = file.language.unwrap_or_else(|| "zh".into());
        if language != "zh" && language != "en" {
            return Err(invalid("language", "must be zh or en"));
        }
        Ok(Self { listen, operator_pin: pin, language })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let c = Config::parse("k.toml", "operator_pin = \"2580\"").expect("minimal");
        assert_eq!((c.listen.to_string(), c.language.as_str()), ("127.0.0.1:8080".to_string(), "zh"));
        assert!(!format!("{c:?}").contains("2580"), "the PIN is not in Debug");
        for (text, key) in [
            ("operator_pin = \"2580\"\nlisten = \"0.0.0.0:8080\"", "listen"),
            ("operator_pin = \"2580\"\nlisten = \"192.168.1.5:80\"", "listen"),
            ("operator_pin = \"2580\"\nlisten = \"localhost\"", "listen"),
            ("operator_pin = \"12a4\"", "operator_pin"),
            ("operator_pin = \"123\"", "operator_pin"),
            ("operator_pin = \"2580\"\nlanguage = \"fr\"", "language"),
        ] {
            match Config::parse("k.toml", text) {
                Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(Config::parse("k.toml", "operator_pin = \"2580\"\ntypo = 1"), Err(ConfigError::Parse { .. })));
        assert!(Config::parse("k.toml", "operator_pin = \"2580\"\nlisten = \"[::1]:9000\"").is_ok());
        assert!(Config::parse("k.toml", "").expect("no PIN set").operator_pin.is_none());
    }
}
