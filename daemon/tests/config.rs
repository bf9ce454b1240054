//! The configuration schema: documented defaults, refusals that name the key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "an integration test: a panic is the failure report")]

use posd::config::{Config, ConfigError};

/// The example in docs/configuration.md is the default configuration.
#[test]
fn documented_defaults_are_the_real_defaults() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md")).unwrap();
    let block = doc.split("```toml").nth(1).and_then(|b| b.split("```").next()).expect("a ```toml block in docs/configuration.md");
    let parsed = Config::parse(block).unwrap();
    let want = Config { hosts: parsed.hosts.clone(), ..Config::default() };
    assert_eq!(parsed, want);
    assert_eq!(parsed.hosts.len(), 2, "the example lists a primary and a backup host");
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(Config::parse("").unwrap(), Config::default());
}

#[test]
fn unknown_keys_are_refused_with_their_name() {
    for (text, key) in [
        ("[terminal]\ncurency = \"156\"", "curency"),
        ("[nosuchsection]\na = 1", "nosuchsection"),
        ("[[host]]\naddress = \"a:1\"\ntls_ca = \"x\"", "tls_ca"),
        ("[dialect.framing]\nmax_len = 3", "max_len"),
    ] {
        match Config::parse(text) {
            Err(ConfigError::Syntax(msg)) => assert!(msg.contains(key), "{msg}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn bad_values_are_refused_with_their_key() {
    for (text, key) in [
        ("[terminal]\ncurrency = \"CNY\"", "terminal.currency"),
        ("[retries]\nforward_every_secs = 2", "retries.forward_every_secs"),
        ("[terminal]\nmax_amount = 0", "terminal.max_amount"),
        ("[terminal]\noperator = \"1\"", "terminal.operator"),
        ("[terminal]\nutc_offset = \"8\"", "terminal.utc_offset"),
        ("[terminal]\nserial = \"bad serial!\"", "terminal.serial"),
        ("[[host]]\naddress = \"nohostport\"", "host.address"),
        ("[[host]]\naddress = \"h:0\"", "host.address"),
        ("[timeouts]\nresponse_ms = 0", "timeouts"),
        ("[dialect.framing]\nmax_frame_len = 10", "dialect.framing.max_frame_len"),
        ("[hardware]\nreader = \"usb\"", "hardware.reader"),
        ("[hardware]\nkeypad_map = [\"1 2 3 X\", \"4 5 6 F2\", \"7 8 9 F3\", \"* 0 # F4\"]", "hardware.keypad_map"),
        ("[hardware]\nkeypad_map = [\"1 2 3\", \"4 5 6\", \"7 8 9\", \"* 0 #\"]", "hardware.keypad_map"),
        ("[[host]]\naddress = \"h:1\"\ntls = true", "host.ca_cert"),
    ] {
        match Config::parse(text) {
            Err(e @ ConfigError::Value { .. }) => assert!(e.to_string().starts_with(key), "{e}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }
    match Config::parse("[terminal]\nmax_amount = \"lots\"") {
        Err(ConfigError::Syntax(msg)) => assert!(msg.contains("max_amount"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn offsets() {
    assert_eq!(posd::config::utc_offset_seconds("+08:00"), Some(28_800));
    assert_eq!(posd::config::utc_offset_seconds("-03:30"), Some(-12_600));
    assert_eq!(posd::config::utc_offset_seconds("+15:00"), None);
}

#[test]
fn defaults_survive_a_write_and_read_back() {
    let text = toml::to_string(&Config::default()).unwrap();
    assert!(text.contains("host_nii = \"0003\""), "wire bytes are written as the spec writes them: {text}");
    assert_eq!(Config::parse(&text).unwrap(), Config::default());
}
