//! Offline data authentication checked by an independent oracle: each ODA
//! card of `test-cards.toml`, plugged into a private pcscd through vpcd, is
//! read by `tests/oracles/oda_oracle.py` (pyscard, textbook RSA from EMV
//! Book 2, not the Rust code) and by the terminal's kernel through the
//! daemon's PC/SC backend; both must give the verdict §9 gives the card,
//! and so each other's. A negative control: the oracle refuses
//! `tampered-sda` and `dda-expired-ca`, and a default card has no method.

use posd::config::Emv;
use posd::engine::emv::oda::{Authenticator, Method};
use posd::engine::emv::tvr::Decision;
use posd::engine::emv::{EmvTxn, Params, TxnType};
use smartpos_hal::pcsc_reader::PcscReader;
use smartpos_hal::{Cancel, CardReader};
use smartpos_tests::acquirer::terminal_ca_keys;
use smartpos_tests::oracle;
use smartpos_tests::pcscd::{PrivatePcscd, run_scenario_in_child, vpcd_ports};
use smartpos_vcard::testdata::TestData;
use std::time::Duration;

const VCARD: &str = env!("CARGO_BIN_EXE_pos-vcard");
/// The oracle's and the kernel's day (certificates and CA key expiry are judged on it).
const TODAY: &str = "20261203";

/// The cards and the verdict acquirer-protocol.md §9 gives each.
const CARDS: [(&str, &str, bool); 6] =
    [("sda", "sda", true), ("dda", "dda", true), ("cda", "cda", true), ("tampered-sda", "sda", false), ("dda-expired-ca", "dda", false), ("default", "none", false)];

#[test]
fn the_oracle_and_the_terminal_agree_on_every_oda_card() {
    run_scenario_in_child("oda_scenario");
}

/// Runs in a child process that has the private pcscd's socket in its environment.
#[test]
#[ignore = "runs inside the_oracle_and_the_terminal_agree_on_every_oda_card"]
fn oda_scenario() {
    let dir = std::env::var("POS_PCSCD_DIR").expect("run through the_oracle_and_the_terminal_agree_on_every_oda_card");
    let pcscd = PrivatePcscd::start_in(std::path::Path::new(&dir), vpcd_ports(40));
    let (var, sock) = pcscd.client_env();
    let data = TestData::embedded();
    let cards_toml = oracle::repo_root().join("vcard/test-cards.toml");
    let auth = Authenticator { ca_keys: terminal_ca_keys(&data) };
    let params = Params::new(&Emv::default(), "156", "SP2026000123");
    let seed = std::env::var("ODA_ORACLE_SEED").unwrap_or_else(|_| "20261203".into());
    println!("oda_scenario: ODA_ORACLE_SEED={seed}");
    for (label, method, ok) in CARDS {
        // The oracle, on a card of its own.
        let card = pcscd.insert(VCARD, label, &[]);
        let out = oracle::run_with_env(
            "oda_oracle.py",
            &["Virtual PCD 00 00", cards_toml.to_str().expect("path"), TODAY],
            &[(var, sock.as_os_str()), ("ODA_ORACLE_SEED", std::ffi::OsStr::new(&seed))],
            b"",
        );
        drop(card);
        let seen: serde_json::Value = serde_json::from_slice(&out).expect("oracle JSON");
        assert_eq!(seen["method"], method, "{label}: {seen}");
        assert_eq!(seen["verdict"] == "ok", ok, "the oracle's verdict on {label}: {seen}");

        // The terminal's kernel through the PC/SC backend, on a fresh card.
        let _card = pcscd.insert(VCARD, label, &[]);
        let mut reader = PcscReader::new("virtual pcd 00 00");
        reader.wait_card(Duration::from_secs(10), &Cancel::new()).expect("card");
        let mut txn = EmvTxn::begin(&mut reader, &params, &auth, 1000, TxnType::Goods, &TODAY[2..]).unwrap_or_else(|e| panic!("{label}: {e}"));
        if txn.oda.method == Method::Cda {
            txn.first_ac(&mut reader, Decision::Tc).expect("first GENERATE AC");
        }
        let terminal_method = match txn.oda.method {
            Method::None => "none",
            m => m.as_str(),
        };
        assert_eq!(terminal_method, method, "{label}: the terminal's method");
        assert_eq!(txn.oda.ok(), ok, "{label}: the terminal's verdict ({:?}), the oracle's {seen}", txn.oda.failure);
        println!("oda_scenario: {label}: {method} {} (oracle: {})", if ok { "ok" } else { "failed" }, seen["reason"].as_str().unwrap_or("ok"));
    }
}
