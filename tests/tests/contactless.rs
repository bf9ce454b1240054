//! Contactless (acquirer-protocol.md §10) over D-Bus: posd with a simulated
//! contact reader, a simulated contactless field and keypad, the acquirer
//! simulator on loopback (which checks each tap's cryptogram, TTQ and CTQ).
//! The CA keys and the IC parameters (contactless floor 500.00,
//! transaction limit 1,000.00, CVM limit 300.00) arrive with the first
//! sign-in, as on a real terminal. Each test asserts the result, posd's
//! journal and the simulator's ledger.

use serde_json::{Value as Json, json};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::posd::{PosdRig, on_progress, type_pin_when_asked};

/// posd with the contactless field, bound and signed in (the downloads done).
/// `online_taps`: the contactless floor limit pinned to 0, so every tap goes
/// online (the downloaded floor of 500.00 is above the CVM limit of 300.00:
/// a tap below the CVM limit would otherwise always be offline).
fn terminal(online_taps: bool) -> PosdRig {
    let rig = PosdRig::start_with(
        |cfg| {
            cfg["hardware"].as_table_mut().expect("[hardware]").insert("contactless".into(), "sim".into());
            if online_taps {
                let emv = cfg["emv"].as_table_mut().expect("[emv]");
                emv.insert("contactless_floor_limit".into(), 0.into());
                emv.insert("pin".into(), toml::Value::Array(vec!["contactless_floor_limit".into()]));
            }
        },
        &[],
    );
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    assert_eq!(rig.get("Terminal", "Parameters")["aids"], json!(2), "the IC parameters arrived with the sign-in");
    rig
}

const TAP_ONLY: &str = "1 interfaces as 1 contactless";

fn tap(rig: &PosdRig, label: &str) {
    rig.call("Simulator", "TapCard", &["s", label]).expect("tap");
}

fn stages(seen: &[(String, Json)]) -> Vec<&str> {
    seen.iter().map(|(s, _)| s.as_str()).collect()
}

#[test]
fn a_tap_below_the_cvm_limit_is_approved_online_without_pin() {
    let rig = terminal(true);
    assert_eq!(rig.get("Hardware", "ContactlessReader")["backend"], json!("simulator"));
    tap(&rig, "dda");
    let watch = on_progress(rig.bus.address(), "never", || {});
    let r = rig.sale(10_000, TAP_ONLY).unwrap_or_else(|e| panic!("{e}\n{}", rig.log()));
    let seen = watch.join().expect("progress");
    assert_eq!(
        (r["approved"].clone(), r["offline"].clone(), r["interface"].clone(), r["entry_mode"].clone()),
        (json!(true), json!(false), json!("contactless"), json!("072")),
        "{r}"
    );
    assert!(r["arqc"].as_str().is_some_and(|a| a.len() == 16), "the ARQC for the receipt: {r}");
    let st = stages(&seen);
    for want in ["waiting-card", "card-tapped", "reading-card", "remove-card", "connecting"] {
        assert!(st.contains(&want), "{want} missing from {st:?}");
    }
    assert!(!st.contains(&"waiting-pin"), "no CVM below the CVM limit: {st:?}");
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("dda"), 10_000, "charged once");
    let host = ledger.standing(Exchange::Sale);
    assert_eq!((host.len(), host[0].entry_mode.as_str()), (1, "072"), "the host saw a tap: {host:?}");
    let j = rig.journal();
    assert_eq!((j.len(), j[0].state.as_str(), j[0].amount), (1, "approved", 10_000), "{j:?}");
    assert_eq!(rig.database_value("SELECT interface FROM journal"), "contactless");
}

/// With the downloaded limits (floor 500.00 above the CVM limit 300.00):
/// 400.00 is within the floor, yet a CVM is required and the terminal's only
/// CVM is online PIN, so the tap goes online (docs/protocol.md, "Contactless").
#[test]
fn a_tap_at_or_above_the_cvm_limit_takes_the_online_pin_after_the_card_left() {
    let rig = terminal(false);
    tap(&rig, "cda");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.sale(40_000, TAP_ONLY).expect("sale");
    let seen = typist.join().expect("typist");
    assert_eq!((r["approved"].clone(), r["entry_mode"].clone()), (json!(true), json!("071")), "{r}");
    let st = stages(&seen);
    let (removed, pin) = (st.iter().position(|s| *s == "remove-card"), st.iter().position(|s| *s == "waiting-pin"));
    assert!(removed.is_some() && pin.is_some() && removed < pin, "the PIN after the card left the field: {st:?}");
    assert_eq!(rig.sim.h.ledger().charged("cda"), 40_000);
    // Negative control: a wrong PIN is refused by the host (55), nothing more charged.
    tap(&rig, "cda");
    let typist = type_pin_when_asked(rig.bus.address(), "000000#");
    let d = rig.sale(40_000, TAP_ONLY).expect("a decline is a result");
    let _ = typist.join();
    assert_eq!((d["approved"].clone(), d["response_code"].clone()), (json!(false), json!("55")), "{d}");
    assert_eq!(rig.sim.h.ledger().charged("cda"), 40_000);
}

#[test]
fn above_the_contactless_limit_the_sale_continues_on_the_chip_and_is_charged_once() {
    let rig = terminal(false);
    tap(&rig, "dda");
    let address = rig.bus.address().to_string();
    let insert = on_progress(rig.bus.address(), "use-contact", move || {
        let _ = smartpos_tests::posd::busctl_raw(&address, &["call", "org.smartpos.Pos1", "/org/smartpos/Pos1", "org.smartpos.Pos1.Simulator", "InsertCard", "s", "dda"]);
    });
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.sale(120_000, "0").expect("sale");
    let seen = insert.join().expect("progress");
    let _ = typist.join();
    assert_eq!((r["approved"].clone(), r["interface"].clone(), r["entry_mode"].clone()), (json!(true), json!("contact"), json!("051")), "{r}");
    let st = stages(&seen);
    assert!(st.contains(&"card-tapped") && st.contains(&"use-contact") && st.contains(&"card-inserted"), "{st:?}");
    assert!(!st.contains(&"remove-card"), "the tap stopped at selection: {st:?}");
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("dda"), 120_000, "charged once, on the chip");
    assert_eq!(ledger.standing(Exchange::Sale).len(), 1);
    assert_eq!(rig.journal().len(), 1);
}

#[test]
fn a_tap_that_needs_a_cvm_while_the_host_is_down_continues_on_the_chip() {
    let rig = terminal(false);
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    // The first tap finds the host away only when it tries it, after the PIN.
    tap(&rig, "dda");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let err = rig.sale(40_000, TAP_ONLY).expect_err("the host is away");
    let _ = typist.join();
    assert!(err.contains("Insert the card (this amount cannot be approved on a tap offline)"), "{err}");
    assert_eq!(rig.journal().iter().filter(|j| j.state == "approved").count(), 0);
    tap(&rig, "dda");
    let address = rig.bus.address().to_string();
    let insert = on_progress(rig.bus.address(), "use-contact", move || {
        let _ = smartpos_tests::posd::busctl_raw(&address, &["call", "org.smartpos.Pos1", "/org/smartpos/Pos1", "org.smartpos.Pos1.Simulator", "InsertCard", "s", "dda"]);
    });
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.sale(40_000, TAP_ONLY).expect("sale");
    let seen = insert.join().expect("progress");
    let _ = typist.join();
    assert_eq!((r["approved"].clone(), r["offline"].clone(), r["interface"].clone()), (json!(true), json!(true), json!("contact")), "{r}");
    assert!(stages(&seen).contains(&"use-contact"), "{:?}", stages(&seen));
    assert_eq!(rig.database_value("SELECT interface FROM journal"), "contact");
    assert_eq!(rig.pending(), (0, 1), "the chip's offline sale is queued");
    // Negative control: below the CVM limit the same tap is approved offline on the tap.
    tap(&rig, "dda");
    let r = rig.sale(20_000, TAP_ONLY).expect("sale");
    assert_eq!((r["approved"].clone(), r["interface"].clone()), (json!(true), json!("contactless")), "{r}");
}

#[test]
fn an_offline_tap_within_the_floor_limit_is_approved_with_fdda_and_forwarded_once() {
    let rig = terminal(false);
    tap(&rig, "dda");
    let r = rig.sale(20_000, TAP_ONLY).expect("sale");
    assert_eq!((r["approved"].clone(), r["offline"].clone(), r["response_code"].clone(), r["oda"].clone()), (json!(true), json!(true), json!("Y1"), json!("fdda")), "{r}");
    assert!(r["tc"].as_str().is_some_and(|t| t.len() == 16), "the TC for the receipt: {r}");
    assert_eq!(rig.sim.h.ledger().charged("dda"), 0, "not at the host yet");
    assert_eq!(rig.pending(), (0, 1), "one advice queued");
    let f = rig.call("Queue", "Flush", &[]).expect("flush");
    assert_eq!(f["forwarded"], json!(1), "{f}");
    rig.call("Queue", "Flush", &[]).expect("flush again");
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("dda"), 20_000, "forwarded exactly once");
    let advices = ledger.standing(Exchange::OfflineAdvice);
    assert_eq!((advices.len(), advices[0].entry_mode.as_str()), (1, "072"), "{advices:?}");
    assert_eq!(rig.pending(), (0, 0));
    // The same tap with the host cut: still approved offline (the TTQ says offline only).
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    tap(&rig, "cda");
    let r = rig.sale(15_000, TAP_ONLY).expect("sale offline");
    assert_eq!((r["approved"].clone(), r["offline"].clone()), (json!(true), json!(true)), "{r}");
}

#[test]
fn a_tap_certified_under_the_expired_ca_key_is_declined_offline_and_charges_nothing() {
    let rig = terminal(false);
    tap(&rig, "dda-expired-ca");
    let r = rig.sale(20_000, TAP_ONLY).expect("a decline is a result");
    assert_eq!((r["approved"].clone(), r["response_code"].clone(), r["oda"].clone()), (json!(false), json!("Z1"), json!("failed")), "{r}");
    assert_eq!(rig.pending(), (0, 0), "nothing queued");
    assert!(rig.journal().iter().all(|j| j.state != "approved"));
    assert_eq!(rig.sim.h.ledger().charged("dda-expired-ca"), 0);
    // Negative control: the same amount tapped with a card under a valid key is approved.
    tap(&rig, "dda");
    assert_eq!(rig.sale(20_000, TAP_ONLY).expect("sale")["approved"], json!(true));
}

#[test]
fn a_card_taken_away_mid_read_is_a_clear_device_error_and_charges_nothing() {
    let rig = terminal(true);
    // PPSE, SELECT, GPO, then gone before the first record.
    rig.call("Simulator", "TapCardBriefly", &["su", "dda", "3"]).expect("tap");
    let err = rig.sale(10_000, TAP_ONLY).expect_err("the read cannot finish");
    assert!(err.contains("left the reader's field") && err.contains("tap again"), "{err}");
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("device"));
    assert_eq!(rig.sim.h.ledger().charged("dda"), 0);
    assert!(rig.journal().is_empty(), "nothing reached the host, nothing journaled");
    // Negative control: the whole read (7 APDUs) succeeds.
    rig.call("Simulator", "TapCardBriefly", &["su", "dda", "7"]).expect("tap");
    assert_eq!(rig.sale(10_000, TAP_ONLY).expect("sale")["approved"], json!(true));
}

#[test]
fn a_tap_whose_reply_was_lost_is_reversed() {
    let rig = terminal(true);
    rig.sim.h.set_faults(Faults { lose_reply: 1, faults_for: Some(Exchange::Sale), ..Faults::default() });
    tap(&rig, "dda");
    let err = rig.sale(10_000, TAP_ONLY).expect_err("no answer");
    assert!(!err.is_empty());
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("network"), "{err}");
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("dda"), 0, "the approval the host gave was reversed");
    assert!(ledger.transactions.iter().any(|t| t.exchange == Exchange::Reversal || t.state == smartpos_tests::acquirer::state::TxnState::Reversed), "{:?}", ledger.transactions);
    let j = rig.journal();
    assert_eq!((j.len(), j[0].state.as_str()), (1, "reversed"), "{j:?}");
    assert_eq!(rig.pending(), (0, 0));
}

#[test]
fn a_void_and_a_refund_of_a_tap() {
    let rig = terminal(true);
    tap(&rig, "dda");
    let r = rig.sale(10_000, TAP_ONLY).expect("sale");
    let stan = r["stan"].as_u64().expect("stan").to_string();
    let v = rig.call("Payment", "Void", &["u", &stan]).expect("void");
    assert_eq!((v["approved"].clone(), v["entry_mode"].clone(), v["interface"].clone()), (json!(true), json!("072"), json!("contactless")), "{v}");
    assert_eq!(rig.sim.h.ledger().charged("dda"), 0, "voided");
    // A refund taken by tap.
    tap(&rig, "dda");
    let s = rig.sale(10_000, TAP_ONLY).expect("sale");
    tap(&rig, "dda");
    let rrn = s["rrn"].as_str().expect("rrn").to_string();
    let date = s["host_date"].as_str().expect("date").to_string();
    let f = rig.call("Payment", "Refund", &["tssa{sv}", "4000", &rrn, &date, "0"]).expect("refund");
    assert_eq!((f["approved"].clone(), f["interface"].clone()), (json!(true), json!("contactless")), "{f}");
    assert_eq!(rig.sim.h.ledger().charged("dda"), 6_000);
}

#[test]
fn sale_options_name_the_interfaces_and_bad_ones_are_refused() {
    let rig = terminal(true);
    for (bad, says) in [("1 interfaces as 1 nfc", "\"nfc\" is not an interface"), ("1 interfaces as 0", "interfaces is empty"), ("1 interfaces s contactless", "interfaces")] {
        let err = rig.sale(100, bad).expect_err(bad);
        assert!(err.contains(says), "{bad}: {err}");
    }
    assert_eq!(rig.get("Terminal", "LastError"), json!({}), "refused before running: LastError unchanged");
    // A contact-only sale ignores a card in the field and times out (card_ms) without one inserted.
    tap(&rig, "dda");
    let err = rig.sale(100, "1 interfaces as 1 contact").expect_err("no card inserted");
    assert!(err.contains("No card was inserted"), "{err}");
    assert_eq!(rig.sim.h.ledger().charged("dda"), 0);
}
