//! §8 downloads against the simulator over TCP: the CA key and IC parameter
//! sets arrive at the first sign-in, the corrupt-checksum key `82` is refused
//! and reported while the others are kept, a reply header's `4`/`5` asks
//! for a download, a forged (bad MAC) or lost reply in the middle leaves the
//! old set in force and the next sign-in completes it, a host without
//! downloads (`40`) leaves the terminal as it was; then ODA cards over the
//! whole engine: online and offline approvals carry `oda`, failed cards are
//! never approved offline.

use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::rig::Rig;

fn held(rig: &Rig) -> (usize, usize) {
    (rig.engine.store().ca_keys().expect("keys").len(), rig.engine.store().aid_params().expect("params").len())
}

#[test]
fn the_first_sign_in_downloads_both_sets_and_refuses_the_corrupt_key() {
    let rig = Rig::signed_in();
    assert_eq!(held(&rig), (2, 2), "keys 80 and 81 kept, 82 refused; both AIDs");
    let view = rig.engine.parameters_view().expect("view");
    assert_eq!((view.ca_keys, view.expired_keys, view.aids, view.source.as_str()), (1, 1, 2, "host"), "{view:?}");
    assert!(view.rejected.contains("A000000333/82 checksum"), "{view:?}");
    assert!(!view.updated_at.is_empty());
    let keys = rig.engine.store().ca_keys().expect("keys");
    assert!(keys.iter().all(|k| k.index != 0x82));
}

#[test]
fn a_host_without_downloads_leaves_the_terminal_as_it_was() {
    let mut rig = Rig::unbound();
    rig.engine.bind("483920").expect("bind");
    rig.faults(Faults { response_code: Some("40".into()), response_code_count: 1, response_code_for: Some(Exchange::CaKeyList), ..Faults::default() });
    rig.engine.sign_in().expect("sign-in succeeds whatever the download does");
    assert_eq!(held(&rig).0, 0, "no CA keys");
    assert!(rig.engine.parameters_view().expect("view").last_outcome.contains("40"));
    // As today: the default card is approved; no ODA.
    let r = rig.sale("default", 1000).expect("sale");
    assert!(r.approved && r.oda == "none", "{r:?}");
}

#[test]
fn a_forged_or_lost_reply_mid_download_keeps_the_old_set_and_the_next_sign_in_completes_it() {
    let mut rig = Rig::signed_in();
    let before = rig.engine.store().ca_keys().expect("keys");
    for fault in [
        Faults { bad_mac: 1, faults_for: Some(Exchange::CaKeyDownload), ..Faults::default() },
        Faults { lose_reply: 1, faults_for: Some(Exchange::CaKeyDownload), ..Faults::default() },
        Faults { lose_reply: 1, faults_for: Some(Exchange::CaKeyDownloadEnd), ..Faults::default() },
    ] {
        // Replace the set with one key, so a kept old set is visible.
        let tx = rig.engine.store().transaction().expect("tx");
        posd::store::Store::replace_ca_keys(&tx, &before[..1]).expect("replace");
        tx.commit().expect("commit");
        rig.faults(fault.clone());
        let err = rig.engine.update_parameters().expect_err("the download must stop");
        assert!(err.message.contains("keeps the set it had"), "{err:?}");
        assert_eq!(rig.engine.store().ca_keys().expect("keys").len(), 1, "{fault:?}: the old set stays in force");
        rig.clear_faults();
        // A bad MAC makes the terminal sign in again; either way the next sign-in completes it.
        rig.engine.sign_in().expect("sign in");
        rig.engine.update_parameters().expect("download");
        assert_eq!(rig.engine.store().ca_keys().expect("keys").len(), 2, "{fault:?}: completed");
    }
}

#[test]
fn a_reply_header_asking_4_or_5_starts_a_download() {
    let mut rig = Rig::signed_in();
    let tx = rig.engine.store().transaction().expect("tx");
    posd::store::Store::replace_ca_keys(&tx, &[]).expect("empty");
    posd::store::Store::replace_aid_params(&tx, &[]).expect("empty");
    tx.commit().expect("commit");
    rig.faults(Faults { ask_ca_keys: 1, ..Faults::default() });
    rig.sale("default", 100).expect("sale");
    rig.engine.run_due_downloads(false);
    assert_eq!(held(&rig), (2, 0), "4: the CA keys only");
    rig.faults(Faults { ask_params: 1, ..Faults::default() });
    rig.sale("default", 100).expect("sale");
    rig.engine.run_due_downloads(false);
    assert_eq!(held(&rig), (2, 2), "5: the parameters");
    // Negative control: without a request an idle tick downloads nothing.
    let tx = rig.engine.store().transaction().expect("tx");
    posd::store::Store::replace_ca_keys(&tx, &[]).expect("empty");
    tx.commit().expect("commit");
    rig.engine.run_due_downloads(false);
    assert_eq!(held(&rig).0, 0);
}

#[test]
fn oda_cards_through_the_engine_online_and_offline() {
    let mut rig = Rig::signed_in();
    for label in ["sda", "dda", "cda"] {
        let r = rig.sale(label, 1000).unwrap_or_else(|e| panic!("{label}: {e:?}"));
        assert!(r.approved && !r.offline && r.oda == label, "{label} online: {r:?}");
    }
    for label in ["tampered-sda", "dda-expired-ca"] {
        let r = rig.sale(label, 1000).unwrap_or_else(|e| panic!("{label}: {e:?}"));
        assert_eq!(r.oda, "failed", "{label}: {r:?}");
        let tvr = u8::from_str_radix(r.tvr.get(..2).unwrap_or("00"), 16).unwrap_or(0);
        assert!(tvr & 0x48 != 0, "{label}: the TVR carries the failed method: {}", r.tvr);
        assert!(r.approved && !r.offline, "{label}: online, the host decides (and approves): {r:?}");
    }
    rig.host_reachable(false);
    for label in ["sda", "dda", "cda"] {
        let r = rig.sale(label, 2000).unwrap_or_else(|e| panic!("{label} offline: {e:?}"));
        assert!(r.approved && r.offline && r.oda == label, "{label} offline: {r:?}");
    }
    for label in ["tampered-sda", "dda-expired-ca"] {
        let r = rig.sale(label, 2000).unwrap_or_else(|e| panic!("{label} offline: {e:?}"));
        assert!(!r.approved && r.oda == "failed", "{label} must never be approved offline: {r:?}");
        assert!(r.response_code == "Z1" || r.response_code == "Z3", "{label}: {r:?}");
    }
    rig.host_reachable(true);
    let flushed = rig.engine.flush().expect("flush");
    assert_eq!(flushed.forwarded, 3, "{flushed:?}");
    let l = rig.ledger();
    for label in ["sda", "dda", "cda"] {
        let charged: Vec<_> = l.transactions.iter().filter(|t| t.card == label && t.amount == 2000).collect();
        assert_eq!(charged.len(), 1, "{label}: the offline sale reaches the host once: {charged:?}");
    }
    for label in ["tampered-sda", "dda-expired-ca"] {
        assert!(!l.transactions.iter().any(|t| t.card == label && t.amount == 2000), "{label}: nothing offline was charged");
    }
}

#[test]
fn over_the_bus_parameters_update_parameters_posctl_params_and_diagnose() {
    use serde_json::json;
    use smartpos_tests::posd::PosdRig;
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    assert_eq!(rig.get("Terminal", "Parameters")["source"], json!("config"), "before any download");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let p = rig.get("Terminal", "Parameters");
    assert_eq!((p["source"].clone(), p["ca_keys"].clone(), p["expired_keys"].clone(), p["aids"].clone()), (json!("host"), json!(1), json!(1), json!(2)), "{p}");
    let r = rig.call("Terminal", "UpdateParameters", &[]).expect("update");
    assert_eq!((r["ca_keys"].clone(), r["rejected_keys"].clone(), r["aids"].clone()), (json!(1), json!(1), json!(2)), "{r}");
    let out = rig.posctl(&["params"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("1 usable, 1 expired") && text.contains("A000000333/82 checksum") && text.contains("host"), "{text}");
    assert!(text.contains("A000000333010101: TAC denial 0050000000 (host)") && text.contains("default 5C40000000 (host)"), "the values in force, with their source: {text}");
    let out = rig.posctl(&["--json", "params"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("posctl --json params");
    assert_eq!(j["ca_keys"], json!(1), "{j}");
    let out = rig.posctl(&["status"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("IC parameter sets"), "posctl status shows the parameters");
    let diag = rig.posctl(&["--json", "diagnose"]);
    let rows: serde_json::Value = serde_json::from_slice(&diag.stdout).expect("diagnose json");
    let params: Vec<&serde_json::Value> = rows.as_array().expect("rows").iter().filter(|r| r[0] == "parameters").collect();
    // Rows are (category, check, status, detail, remedy).
    assert!(params.iter().any(|r| r[1] == "CA keys" && r[2] == "ok"), "{params:?}");
    assert!(params.iter().any(|r| r[1] == "refused keys" && r[2] == "warn"), "{params:?}");
    // A sale reports how the card was authenticated.
    rig.call("Simulator", "InsertCard", &["s", "dda"]).expect("insert");
    let typist = smartpos_tests::posd::type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.call("Payment", "Sale", &["ta{sv}", "1200", "0"]).expect("sale");
    let _ = typist.join();
    assert_eq!((r["approved"].clone(), r["oda"].clone()), (json!(true), json!("dda")), "{r}");
    assert!(r["tvr"].as_str().is_some_and(|t| t.len() == 10), "{r}");
}

#[test]
fn a_pinned_key_keeps_its_configured_value_and_says_so() {
    let rig = Rig::signed_in_with(|c| c.emv.pin = vec!["floor_limit".into()]);
    let view = rig.engine.parameters_view().expect("view");
    assert_eq!(view.source, "host+pinned");
    assert!(view.in_force.iter().all(|l| l.contains("floor limit 0.00 yuan (pinned)") && l.contains("default 5C40000000 (host)")), "{:?}", view.in_force);
}

/// The ODA cards end to end over D-Bus: posd, the simulator, the journal.
#[test]
fn oda_cards_over_the_bus_online_offline_ledger_and_journal() {
    use serde_json::json;
    use smartpos_tests::posd::{PosdRig, type_pin_when_asked};
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let sale = |label: &str, amount: u64| {
        rig.call("Simulator", "InsertCard", &["s", label]).expect("insert");
        let typist = type_pin_when_asked(rig.bus.address(), "123456#");
        let r = rig.call("Payment", "Sale", &["ta{sv}", &amount.to_string(), "0"]).unwrap_or_else(|e| panic!("{label}: {e}"));
        let _ = typist.join();
        rig.call("Simulator", "RemoveCard", &[]).expect("remove");
        r
    };
    for label in ["sda", "dda", "cda"] {
        let r = sale(label, 1100);
        assert_eq!((r["approved"].clone(), r["offline"].clone(), r["oda"].clone()), (json!(true), json!(false), json!(label)), "{label} online: {r}");
    }
    for label in ["tampered-sda", "dda-expired-ca"] {
        let r = sale(label, 1100);
        assert_eq!((r["approved"].clone(), r["oda"].clone()), (json!(true), json!("failed")), "{label} online: the host decides: {r}");
    }
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    for label in ["sda", "dda", "cda"] {
        let r = sale(label, 2200);
        assert_eq!((r["approved"].clone(), r["offline"].clone(), r["oda"].clone()), (json!(true), json!(true), json!(label)), "{label} offline: {r}");
    }
    for label in ["tampered-sda", "dda-expired-ca"] {
        let r = sale(label, 2200);
        assert_eq!((r["approved"].clone(), r["oda"].clone()), (json!(false), json!("failed")), "{label} never approved offline: {r}");
        assert!(["Z1", "Z3"].contains(&r["response_code"].as_str().unwrap_or("")), "{r}");
    }
    rig.sim.h.set_faults(Faults::default());
    let f = rig.call("Queue", "Flush", &[]).expect("flush");
    assert_eq!(f["forwarded"], json!(3), "{f}");
    let ledger = rig.sim.h.ledger();
    for label in ["sda", "dda", "cda"] {
        assert_eq!(ledger.transactions.iter().filter(|t| t.card == label && t.amount == 2200).count(), 1, "{label}: forwarded once");
    }
    for label in ["tampered-sda", "dda-expired-ca"] {
        assert!(!ledger.transactions.iter().any(|t| t.card == label && t.amount == 2200), "{label}: nothing offline charged");
    }
    // The journal keeps the ODA outcome of each payment.
    let db = rusqlite::Connection::open_with_flags(rig.dir.path().join("state/posd.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("db");
    let outcomes: Vec<(i64, bool, String, String)> = db
        .prepare("SELECT amount, offline, oda, tvr FROM journal WHERE kind = 'sale' ORDER BY id")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, Option<String>>(2)?.unwrap_or_default(), r.get::<_, Option<String>>(3)?.unwrap_or_default())))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    let offline_odas: Vec<&str> = outcomes.iter().filter(|o| o.1).map(|o| o.2.as_str()).collect();
    assert_eq!(offline_odas, ["sda", "dda", "cda"], "{outcomes:?}");
    assert!(outcomes.iter().all(|o| o.3.len() == 10), "every card payment keeps its TVR: {outcomes:?}");
}
