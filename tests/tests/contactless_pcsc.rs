//! Taps through a real pcscd: the contactless virtual card on vpcd's second
//! slot (`Virtual PCD 00 01`, the contactless reader by its configured
//! name), present for one read and then gone.
//!
//! - The independent fDDA oracle (`tests/oracles/fdda_oracle.py`: pyscard,
//!   textbook RSA, the ODA oracle's certificate code) taps each
//!   dual-interface card and verifies its fDDA signature; negative control:
//!   `dda-expired-ca` fails it.
//! - The terminal's own kernel reads the same taps through the daemon's
//!   PC/SC backend and gives the same verdicts.
//! - posd with both readers on PC/SC takes a tapped sale to the simulator.

use posd::config::Emv;
use posd::engine::emv::Params;
use posd::engine::emv::oda::{Authenticator, Method};
use posd::engine::emv::tvr::Decision;
use posd::engine::qpboc::{TapContext, TapRead, read_tap};
use serde_json::json;
use smartpos_hal::pcsc_reader::PcscReader;
use smartpos_hal::{Cancel, CardReader};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::terminal_ca_keys;
use smartpos_tests::oracle;
use smartpos_tests::pcscd::{CONTACTLESS_READER_NAME, PrivatePcscd, READER_NAME, run_scenario_in_child, vpcd_ports};
use smartpos_vcard::testdata::TestData;
use std::time::Duration;

const VCARD: &str = env!("CARGO_BIN_EXE_pos-vcard");
const TODAY: &str = "20261203";
/// 100.00: within the cards' offline limit, so a tap with no online request gives a TC and fDDA.
const AMOUNT: u64 = 10_000;

#[test]
fn the_fdda_oracle_and_the_terminal_agree_on_every_tap() {
    run_scenario_in_child("fdda_scenario");
}

#[test]
#[ignore = "runs inside the_fdda_oracle_and_the_terminal_agree_on_every_tap"]
fn fdda_scenario() {
    let dir = std::env::var("POS_PCSCD_DIR").expect("run through the_fdda_oracle_and_the_terminal_agree_on_every_tap");
    let pcscd = PrivatePcscd::start_in(std::path::Path::new(&dir), vpcd_ports(50));
    let (var, sock) = pcscd.client_env();
    let data = TestData::embedded();
    let cards_toml = oracle::repo_root().join("vcard/test-cards.toml");
    let seed = std::env::var("ODA_ORACLE_SEED").unwrap_or_else(|_| "20261203".into());
    println!("fdda_scenario: ODA_ORACLE_SEED={seed}");
    let auth = Authenticator { ca_keys: terminal_ca_keys(&data) };
    let mut params = Params::new(&Emv::default(), "156", "SP2026000123");
    params.contactless.floor = AMOUNT;
    let mut reader = PcscReader::new(CONTACTLESS_READER_NAME);
    for (label, ok) in [("dda", true), ("cda", true), ("dda-expired-ca", false)] {
        let mut tap = pcscd.tap(VCARD, label);
        let amount = AMOUNT.to_string();
        let out = oracle::run_with_env(
            "fdda_oracle.py",
            &[CONTACTLESS_READER_NAME, cards_toml.to_str().expect("path"), TODAY, &amount],
            &[(var, sock.as_os_str()), ("ODA_ORACLE_SEED", std::ffi::OsStr::new(&seed))],
            b"",
        );
        tap.pull();
        let seen: serde_json::Value = serde_json::from_slice(&out).expect("oracle JSON");
        assert_eq!(seen["cid"], json!("40"), "{label}: a TC within the offline limit: {seen}");
        assert_eq!(seen["verdict"] == "ok", ok, "the oracle on {label}: {seen}");

        // The terminal's kernel on a tap of its own, through the PC/SC backend.
        let mut tap = pcscd.tap(VCARD, label);
        reader.wait_card(Duration::from_secs(15), &Cancel::new()).unwrap_or_else(|e| panic!("{label}: no tap seen: {e}"));
        let ctx = TapContext { amount: AMOUNT, txn_type: posd::engine::emv::TxnType::Goods, today: &TODAY[2..], host_reachable: true, offline_allowed: true };
        let read = read_tap(&mut reader, &params, &auth, &ctx).unwrap_or_else(|e| panic!("{label}: {e}"));
        tap.pull();
        let TapRead::Read(t) = read else { panic!("{label}: asked for the chip") };
        assert_eq!(t.oda.method, Method::Fdda, "{label}");
        assert_eq!(t.oda.failure.is_none(), ok, "the kernel on {label}: {:?}", t.oda);
        assert_eq!(t.decision() == Decision::Tc, ok, "{label}: a TC only with a valid fDDA");
    }
}

#[test]
fn a_tapped_sale_through_pcscd() {
    run_scenario_in_child("posd_tap_scenario");
}

#[test]
#[ignore = "runs inside a_tapped_sale_through_pcscd"]
fn posd_tap_scenario() {
    let dir = std::env::var("POS_PCSCD_DIR").expect("run through a_tapped_sale_through_pcscd");
    let pcscd = PrivatePcscd::start_in(std::path::Path::new(&dir), vpcd_ports(60));
    let sock = pcscd.socket().display().to_string();
    let rig = smartpos_tests::posd::PosdRig::start_with(
        |cfg| {
            let hw = cfg.get_mut("hardware").and_then(toml::Value::as_table_mut).expect("[hardware]");
            hw.insert("reader".into(), "pcsc".into());
            hw.insert("reader_name".into(), READER_NAME.into());
            hw.insert("contactless".into(), "pcsc".into());
            hw.insert("contactless_name".into(), CONTACTLESS_READER_NAME.into());
            let t = cfg.get_mut("timeouts").and_then(toml::Value::as_table_mut).expect("[timeouts]");
            t.insert("card_ms".into(), toml::Value::Integer(15_000));
        },
        &[("PCSCLITE_CSOCK_NAME", &sock)],
    );
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let reader = rig.get("Hardware", "ContactlessReader");
    assert_eq!((reader["backend"].clone(), reader["present"].clone()), (json!("pcsc"), json!(true)), "{reader}");
    let _tap = pcscd.tap(VCARD, "dda");
    let r = rig.call("Payment", "Sale", &["ta{sv}", "20000", "1", "interfaces", "as", "1", "contactless"]).unwrap_or_else(|e| panic!("{e}\n{}", rig.log()));
    assert_eq!((r["approved"].clone(), r["offline"].clone(), r["oda"].clone(), r["interface"].clone()), (json!(true), json!(true), json!("fdda"), json!("contactless")), "{r}");
    rig.call("Queue", "Flush", &[]).expect("flush");
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("dda"), 20_000, "the offline tap forwarded and charged once");
    assert_eq!(ledger.standing(Exchange::OfflineAdvice)[0].entry_mode, "072");
}
