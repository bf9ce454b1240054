//! Logs go to journald with structured fields when posd runs under systemd
//! (`journalctl -u posd STAN=000123`, `RESPONSE_CODE=51`, `CATEGORY=host`:
//! field names are the tracing fields upper-cased, without a prefix), and
//! to stderr otherwise. `RUST_LOG` / `--log` set the level. The engine
//! never logs a PAN, PIN, PIN block or key (the secret-scan test checks).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Sets up logging; true when the logs go to journald.
pub fn init(level: &str) -> bool {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some() || std::env::var_os("INVOCATION_ID").is_some();
    if under_systemd && let Ok(journald) = tracing_journald::layer() {
        let _ = tracing_subscriber::registry().with(filter).with(journald.with_field_prefix(None).with_syslog_identifier("posd".into())).try_init();
        return true;
    }
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
        .try_init();
    false
}
