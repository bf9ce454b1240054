//! Payment codes (acquirer-protocol.md §11) over D-Bus: posd with the
//! simulated code scanner (`Simulator.ScanCode`, a phone held under it) and
//! the acquirer simulator on loopback, which serves the wallets of
//! `test-cards.toml` (single use, `12` on reuse, `14` unknown, `51`, `Q1`
//! above `wallet-confirm`'s limit until the customer confirms). Each test
//! asserts the result, posd's journal and the simulator's ledger; the last
//! one searches everything posd left behind for the full codes. The
//! evdev scanner under posd is tested in the QEMU guest of
//! `scripts/image-test` (check `code-sale-evdev`).

use serde_json::{Value as Json, json};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::acquirer::state::TxnState;
use smartpos_tests::posd::{PosdRig, on_progress};
use smartpos_tests::secrets::{contains, digit_forms};
use smartpos_vcard::testdata::TestData;
use std::path::Path;

const CODE_ONLY: &str = "1 interfaces as 1 code";

fn code_of(label: &str) -> String {
    TestData::embedded().payment_codes.iter().find(|c| c.label == label).unwrap_or_else(|| panic!("no payment code {label}")).code.clone()
}

/// posd with the simulated scanner (and `edit` on its configuration), bound and signed in.
fn terminal(edit: impl FnOnce(&mut toml::Table)) -> PosdRig {
    let rig = PosdRig::start_with(
        |cfg| {
            cfg["hardware"].as_table_mut().expect("[hardware]").insert("scanner".into(), "sim".into());
            edit(cfg);
        },
        &[],
    );
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig
}

fn scan(rig: &PosdRig, code: &str) {
    rig.call("Simulator", "ScanCode", &["s", code]).expect("scan");
}

fn stages(seen: &[(String, Json)]) -> Vec<&str> {
    seen.iter().map(|(s, _)| s.as_str()).collect()
}

/// Requests of `exchange` posd sent, by its log (`request exchange=Sale stan=…`).
fn requests(rig: &PosdRig, exchange: &str) -> usize {
    rig.log().matches(&format!("request exchange={exchange} ")).count()
}

#[test]
fn a_code_pays_once_and_reuse_unknown_short_balance_and_junk_are_refused() {
    let rig = terminal(|_| {});
    assert_eq!(rig.get("Hardware", "Scanner"), json!({"backend": "simulator", "name": "simulated scanner", "present": true}));
    let wallet = code_of("wallet");
    scan(&rig, &wallet);
    let watch = on_progress(rig.bus.address(), "never", || {});
    let r = rig.sale(1_234, CODE_ONLY).unwrap_or_else(|e| panic!("{e}\n{}", rig.log()));
    let seen = watch.join().expect("progress");
    assert_eq!(
        (r["approved"].clone(), r["interface"].clone(), r["entry_mode"].clone(), r["masked_code"].clone(), r["masked_pan"].clone()),
        (json!(true), json!("code"), json!("032"), json!("6259***********0017"), json!("")),
        "{r}"
    );
    assert!(r.get("arqc").is_none() && r.get("tc").is_none(), "no cryptogram for a code: {r}");
    let st = stages(&seen);
    for want in ["waiting-code", "code-scanned", "connecting"] {
        assert!(st.contains(&want), "{want} missing from {st:?}");
    }
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("wallet"), 1_234, "charged once");
    let host = ledger.standing(Exchange::Sale);
    assert_eq!((host.len(), host[0].entry_mode.as_str()), (1, "032"), "the host saw a code sale: {host:?}");
    let j = rig.journal();
    assert_eq!((j.len(), j[0].state.as_str(), j[0].amount), (1, "approved", 1_234), "{j:?}");
    assert_eq!(rig.database_value("SELECT masked_pan || ' ' || interface FROM journal"), "6259***********0017 code");

    // Reuse, an unknown code, a short balance: declines, nothing charged.
    for (code, amount, want) in [(wallet.clone(), 1_234, "12"), ("6259000000000009999".to_string(), 100, "14"), (code_of("wallet-poor"), 501, "51")] {
        scan(&rig, &code);
        let d = rig.sale(amount, CODE_ONLY).unwrap_or_else(|e| panic!("{want}: {e}"));
        assert_eq!((d["approved"].clone(), d["response_code"].clone()), (json!(false), json!(want)), "{d}");
    }
    let ledger = rig.sim.h.ledger();
    assert_eq!((ledger.charged("wallet"), ledger.charged("wallet-poor")), (1_234, 0));
    assert_eq!(rig.pending(), (0, 0), "no reversal left, nothing queued");

    // Refused before anything is sent: a link, a 22-digit code (field 2 takes 19).
    let sent = requests(&rig, "Sale");
    assert_eq!(sent, 4, "the sales so far were counted:\n{}", rig.log());
    scan(&rig, "https://qr.example/pay?x=1");
    let e = rig.sale(100, CODE_ONLY).expect_err("a link is no code");
    assert!(e.contains("nothing was charged") && e.contains("not only digits"), "{e}");
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("operator"));
    scan(&rig, "6259000000000000000017");
    let e = rig.sale(100, CODE_ONLY).expect_err("too long for field 2");
    assert!(e.contains("not accepted on this terminal"), "{e}");
    assert_eq!(requests(&rig, "Sale"), sent, "nothing was sent for a refused code");
    let states: Vec<_> = rig.journal().iter().map(|j| format!("{} {}", j.state, j.response_code.as_deref().unwrap_or(""))).collect();
    assert_eq!(states, ["approved 00", "declined 12", "declined 14", "declined 51"], "refused scans leave no row");
}

#[test]
fn a_code_is_never_approved_offline_and_the_error_suggests_a_card() {
    let rig = terminal(|_| {});
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    scan(&rig, &code_of("wallet"));
    let e = rig.sale(500, CODE_ONLY).expect_err("no host, no code payment");
    assert!(e.contains("never approved offline") && e.contains("by card"), "{e}");
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("network"));
    assert_eq!(rig.pending(), (0, 0), "nothing queued, nothing to reverse");
    assert!(rig.journal().is_empty(), "no row for a sale that never left");
    // Negative control: the same sale with the host back is approved.
    rig.call("Simulator", "SetHostReachable", &["b", "true"]).expect("restore");
    scan(&rig, &code_of("wallet"));
    assert_eq!(rig.sale(500, CODE_ONLY).expect("sale")["approved"], json!(true));
    assert_eq!(rig.sim.h.ledger().charged("wallet"), 500);
}

#[test]
fn above_the_confirmation_limit_the_terminal_polls_until_the_customer_confirms_and_is_charged_once() {
    let rig = terminal(|_| {});
    // The first poll's reply is lost: the terminal polls on.
    rig.sim.h.set_faults(Faults { lose_reply: 1, faults_for: Some(Exchange::StatusInquiry), ..Faults::default() });
    scan(&rig, &code_of("wallet-confirm"));
    let watch = on_progress(rig.bus.address(), "never", || {});
    let r = rig.sale(150_000, "0").unwrap_or_else(|e| panic!("{e}\n{}", rig.log()));
    let seen = watch.join().expect("progress");
    assert_eq!((r["approved"].clone(), r["response_code"].clone(), r["interface"].clone()), (json!(true), json!("00"), json!("code")), "{r}");
    assert!(r["auth_code"].as_str().is_some_and(|a| !a.trim().is_empty()) && r["rrn"].as_str().is_some_and(|s| s.len() == 12), "{r}");
    let st = stages(&seen);
    assert!(st.contains(&"waiting-card"), "all interfaces: waiting-card with code among them: {st:?}");
    let waiting_customer = st.iter().filter(|s| **s == "waiting-customer").count();
    assert!(waiting_customer >= 2, "the customer confirms after 3 s: at least one more poll after the first: {st:?}");
    assert!(requests(&rig, "StatusInquiry") >= 2, "status inquiries polled:\n{}", rig.log());
    assert!(rig.log().contains("status inquiry not answered"), "the lost poll reply was seen and polled past:\n{}", rig.log());
    assert_eq!(rig.sim.h.ledger().charged("wallet-confirm"), 150_000, "charged once");
    assert_eq!(rig.pending(), (0, 0), "the final answer cleared the reversal record");
    let j = rig.journal();
    assert_eq!((j.len(), j[0].state.as_str(), j[0].response_code.as_deref()), (1, "approved", Some("00")), "{j:?}");
}

#[test]
fn a_customer_who_never_confirms_is_reversed_and_charged_nothing() {
    let rig = terminal(|cfg| {
        cfg.entry("timeouts").or_insert(toml::Value::Table(toml::Table::new())).as_table_mut().expect("[timeouts]").insert("code_confirm_ms".into(), 5_000.into());
    });
    rig.sim.h.set_faults(Faults { never_confirm: true, ..Faults::default() });
    scan(&rig, &code_of("wallet-confirm"));
    let e = rig.sale(150_000, CODE_ONLY).expect_err("no final answer");
    assert!(e.contains("did not confirm") && e.contains("reversed"), "{e}");
    assert_eq!(rig.sim.h.ledger().charged("wallet-confirm"), 0, "nothing charged");
    assert_eq!(rig.pending(), (0, 0), "the reversal was delivered");
    let j = rig.journal();
    assert_eq!((j.len(), j[0].state.as_str()), (1, "reversed"), "{j:?}");
}

#[test]
fn a_sigkill_while_polling_ends_reversed_exactly_once_after_the_restart() {
    let mut rig = terminal(|_| {});
    rig.sim.h.set_faults(Faults { never_confirm: true, ..Faults::default() });
    scan(&rig, &code_of("wallet-confirm"));
    let address = rig.bus.address().to_string();
    let sale_thread = std::thread::spawn(move || {
        smartpos_tests::posd::busctl_raw(
            &address,
            &["--timeout=90", "call", "org.smartpos.Pos1", "/org/smartpos/Pos1", "org.smartpos.Pos1.Payment", "Sale", "ta{sv}", "150000", "0"],
        )
    });
    rig.wait_for_log("request exchange=StatusInquiry");
    assert_eq!(rig.pending().0, 1, "the reversal record is kept while the customer confirms");
    let _ = std::process::Command::new("kill").args(["-KILL", &rig.pid().to_string()]).status();
    let out = sale_thread.join().expect("sale thread");
    assert!(!out.status.success(), "posd died during the sale");
    rig.sim.h.set_faults(Faults::default());
    rig.restart();
    rig.call("Queue", "Flush", &[]).expect("flush");
    assert_eq!(rig.pending(), (0, 0), "the reversal was delivered after the restart");
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("wallet-confirm"), 0, "charged nothing");
    let host: Vec<_> = ledger.transactions.iter().map(|t| (t.exchange, t.state)).collect();
    assert_eq!(host, [(Exchange::Sale, TxnState::Reversed)], "one sale at the host, reversed: {:?}", ledger.transactions);
    assert_eq!(rig.journal()[0].state, "reversed");
}

#[test]
fn a_code_payment_is_voided_and_refunded_by_rrn_without_the_code() {
    let rig = terminal(|_| {});
    scan(&rig, &code_of("wallet"));
    let s = rig.sale(2_000, CODE_ONLY).expect("sale");
    assert_eq!(s["approved"], json!(true), "{s}");
    let v = rig.call("Payment", "Void", &["u", &s["stan"].to_string()]).expect("void");
    assert_eq!((v["approved"].clone(), v["interface"].clone(), v["masked_code"].clone()), (json!(true), json!("code"), s["masked_code"].clone()), "{v}");
    assert_eq!(rig.sim.h.ledger().charged("wallet"), 0, "the void gave it back");

    scan(&rig, &code_of("wallet-confirm"));
    let s = rig.sale(3_000, CODE_ONLY).expect("sale");
    let rrn = s["rrn"].as_str().expect("rrn").to_string();
    let date = s["host_date"].as_str().expect("host_date").to_string();
    // No card and no code is presented: the host finds the wallet by RRN and
    // date. Its answer is lost: the refund stays queued (masked code only)
    // and is forwarded once.
    rig.sim.h.set_faults(Faults { lose_reply: 1, faults_for: Some(Exchange::Refund), ..Faults::default() });
    let e = rig.call("Payment", "Refund", &["tssa{sv}", "1000", &rrn, &date, "0"]).expect_err("the answer was lost");
    assert!(e.contains("sent again until the host answers"), "{e}");
    let queued = rig.call("Queue", "List", &["u", "10"]).expect("list");
    assert_eq!((queued[0]["kind"].clone(), queued[0]["masked_code"].clone(), queued[0]["masked_pan"].clone()), (json!("refund"), s["masked_code"].clone(), json!("")), "{queued}");
    rig.call("Queue", "Flush", &[]).expect("flush");
    assert_eq!(rig.pending(), (0, 0));
    assert_eq!(rig.sim.h.ledger().charged("wallet-confirm"), 2_000, "refunded once");
    let kinds: Vec<_> = rig.journal().iter().map(|j| format!("{} {}", j.kind, j.state)).collect();
    assert_eq!(kinds, ["sale approved", "void approved", "sale approved", "refund approved"]);
}

fn leaks(codes: &[String], dir: &Path, texts: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for code in codes {
        for (form, needle) in digit_forms(code) {
            for f in ["posd.db", "posd.db-wal", "posd.db-shm"] {
                if std::fs::read(dir.join(f)).is_ok_and(|b| contains(&b, &needle)) {
                    out.push(format!("{f}: {code} as {form}"));
                }
            }
            for (what, text) in texts {
                if contains(text.as_bytes(), &needle) {
                    out.push(format!("{what}: {code} as {form}"));
                }
            }
        }
    }
    out
}

#[test]
fn after_settlement_no_full_code_is_in_the_database_the_logs_or_on_the_bus() {
    let rig = terminal(|_| {});
    let codes = [code_of("wallet"), code_of("wallet-confirm"), code_of("wallet-poor")];
    let watch = on_progress(rig.bus.address(), "never", || {});
    let monitor = smartpos_tests::posd::BusRecorder::start(rig.bus.address());
    scan(&rig, &codes[0]);
    let a = rig.sale(1_500, CODE_ONLY).expect("sale");
    watch.join().expect("progress");
    scan(&rig, &codes[1]);
    let b = rig.sale(120_000, CODE_ONLY).expect("confirmed sale");
    scan(&rig, &codes[2]);
    let c = rig.sale(900, CODE_ONLY).expect("a decline");
    rig.call("Payment", "Void", &["u", &a["stan"].to_string()]).expect("void");
    rig.sim.h.set_faults(Faults { unbalanced: 1, ..Faults::default() });
    let settled = rig.call("Terminal", "Settle", &[]).expect("settle");
    assert_eq!(settled["uploaded"], json!(2), "the unbalanced batch uploaded both approved code sales: {settled}");
    let sealed = "SELECT CAST(count(*) AS TEXT) FROM journal WHERE entry_mode = '032' AND card_sealed IS NOT NULL";
    assert_eq!(rig.database_value(sealed), "0", "settlement wiped the sealed codes the batch upload needed");
    let bus = monitor.stop();
    assert!(bus.contains("waiting-customer") && bus.contains("masked_code"), "the recorder saw the signals and replies:\n{bus}");
    let results = format!("{a}{b}{c}{settled}");
    let state = rig.dir.path().join("state");
    let log = rig.log();
    assert!(log.contains("StatusInquiry"), "debug logs captured");

    // Negative control: a code planted in a copy of the database and in the texts is found.
    let copy = tempfile::tempdir().expect("tmp");
    for f in ["posd.db", "posd.db-wal", "posd.db-shm", "device.key"] {
        if state.join(f).exists() {
            std::fs::copy(state.join(f), copy.path().join(f)).expect("copy");
        }
    }
    let conn = rusqlite::Connection::open(copy.path().join("posd.db")).expect("db");
    conn.execute("CREATE TABLE planted (v BLOB)", []).expect("plant");
    conn.execute("INSERT INTO planted VALUES (?1)", [hex::decode(format!("{}F", codes[1])).expect("bcd")]).expect("plant");
    drop(conn);
    let planted_log = format!("{log}\nfield 2 = {}\n", codes[0]);
    let found = leaks(&codes, copy.path(), &[("log", &planted_log)]);
    assert!(found.iter().any(|f| f.contains("BCD F") && f.contains(&codes[1])) && found.iter().any(|f| f.starts_with("log:")), "the scan finds planted codes: {found:?}");

    let found = leaks(&codes, &state, &[("log", &log), ("bus", &bus), ("results", &results)]);
    assert!(found.is_empty(), "full payment codes found:\n{}", found.join("\n"));
}
