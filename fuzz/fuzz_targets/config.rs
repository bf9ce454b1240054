//! posd.toml: any text is a valid configuration or an error naming what is
//! wrong — never a panic (posd reads it before anything else, as root's file).
#![no_main]

use libfuzzer_sys::fuzz_target;
use posd::config::Config;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(e) = Config::parse(text)
    {
        assert!(!e.to_string().is_empty(), "an error must say something");
    }
});
