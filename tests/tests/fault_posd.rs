//! Fault matrix rows that need the whole daemon: the modem loses its
//! registration while a sale is at the host, and SIGTERM arrives while a
//! settlement is at the host. Each asserts the acquirer simulator's ledger
//! and posd's journal (its SQLite file, read directly).

use serde_json::json;
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::mm_standin::ModemManagerStandIn;
use smartpos_tests::posd::{BusRecorder, DEST, PATH, PosdRig, busctl_raw};
use std::time::Duration;

/// Waits until `cond` holds (posd reacts to signals on its own time).
fn eventually(what: &str, cond: impl FnMut() -> bool) {
    smartpos_tests::posd::eventually(Duration::from_secs(20), cond, || format!("never: {what}"));
}

/// A sale of `amount` with the simulated reader's default card, in a thread.
fn sale_in_background(rig: &PosdRig, amount: u64) -> std::thread::JoinHandle<std::process::Output> {
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    rig.sale_in_background(amount)
}

#[test]
fn the_modem_losing_registration_mid_sale_reverses_it_once_the_network_returns() {
    let mut rig = PosdRig::start_with(
        |cfg| {
            let hw = cfg.get_mut("hardware").and_then(toml::Value::as_table_mut).expect("[hardware]");
            hw.insert("modem".into(), toml::Value::String("modemmanager".into()));
            hw.insert("modem_poll_secs".into(), toml::Value::Integer(1));
        },
        &[],
    );
    let mut mm = ModemManagerStandIn::start(rig.bus.address());
    eventually("posd sees the registered modem", || rig.get("Hardware", "Modem")["registration"] == json!("home"));
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");

    // The host takes the sale; its answer is on the way when the cell is lost.
    rig.sim.h.set_faults(Faults { delay_ms: 3_000, delay_count: 1, ..Faults::default() });
    let sale = sale_in_background(&rig, 2_500);
    eventually("the host processed the sale", || rig.sim.h.ledger().standing(Exchange::Sale).iter().any(|t| t.amount == 2_500));
    mm.send("signal 0");
    mm.send("register searching");
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    let out = sale.join().expect("sale thread");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("did not answer"), "the sale must fail as a network error: {err}");
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("network"));
    eventually("Hardware.Modem shows the lost registration", || rig.get("Hardware", "Modem")["registration"] == json!("searching"));
    // The field engineer's view names the cause.
    let diag = rig.posctl(&["diagnose"]);
    let text = String::from_utf8_lossy(&diag.stdout);
    assert!(text.contains("searching for a network") && text.contains("no usable signal"), "{text}");
    let sale_row = rig.journal().into_iter().find(|r| r.amount == 2_500).expect("the sale is in the journal");
    assert_eq!(sale_row.state, "in-flight", "outcome unknown until the reversal is delivered: {sale_row:?}");
    assert_eq!(rig.pending().0, 1, "the reversal waits for the network");
    assert_eq!(rig.sim.h.ledger().charged("default"), 2_500, "the host charged it; only the reversal can undo it");

    // The cell comes back: the reversal goes before the next sale.
    mm.send("register home");
    mm.send("signal 70");
    rig.sim.h.set_faults(Faults::default());
    let next = sale_in_background(&rig, 2_600).join().expect("sale thread");
    assert!(next.status.success(), "the next sale: {}", String::from_utf8_lossy(&next.stderr));
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("default"), 2_600, "the lost sale reversed, the next charged once");
    let rows = rig.journal();
    let states: Vec<(u64, &str)> = rows.iter().map(|r| (r.amount, r.state.as_str())).collect();
    assert_eq!(states, [(2_500, "reversed"), (2_600, "approved")], "{rows:?}");
    assert_eq!(rig.pending(), (0, 0));
    let _ = rig.terminate();
}

/// posd's own forwarding (every 5 s with the tests' short timeouts) is not
/// an operation anyone ran: when it reaches nobody it must leave the network
/// error of the merchant's sign-in in `LastError`. (Seen under load in the
/// test above: a background forward between the sale's failure and the
/// property read cleared it.) The background forward is seen on the bus:
/// its `connecting` stage after the sign-in's answer.
#[test]
fn a_background_forward_that_reaches_nobody_leaves_the_network_error_in_last_error() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    let queued = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "700", "0"]);
    assert_eq!((queued["approved"].clone(), queued["offline"].clone()), (json!(true), json!(true)), "queued offline: {queued}");
    let monitor = BusRecorder::start(rig.bus.address());
    let connecting = |m: &BusRecorder| m.text().matches("string \"connecting\"").count();
    let err = rig.call("Terminal", "SignIn", &[]).expect_err("the host refuses");
    assert!(err.contains("cannot be reached"), "{err}");
    let after_sign_in = connecting(&monitor);
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("network"));
    eventually("posd's own forward tried the host", || connecting(&monitor) > after_sign_in);
    // Its attempt is over once posd is idle again.
    eventually("the background forward finished", || rig.get("Terminal", "State") != json!("busy"));
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("network"), "the sign-in's network error stays");
    assert_eq!(rig.get("Queue", "Depth"), json!(1), "nothing was forwarded");
}

#[test]
fn sigterm_during_settlement_lets_it_finish_and_nothing_is_settled_twice() {
    let mut rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    for amount in [3_001, 3_002] {
        let out = sale_in_background(&rig, amount).join().expect("sale thread");
        assert!(out.status.success(), "sale {amount}: {}", String::from_utf8_lossy(&out.stderr));
        rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    }
    // The host disagrees (batch upload follows) and answers the settlement late.
    rig.sim.h.set_faults(Faults { unbalanced: 1, delay_ms: 1_000, delay_count: 1, ..Faults::default() });
    let address = rig.bus.address().to_string();
    let settle = std::thread::spawn(move || busctl_raw(&address, &["--timeout=60", "call", DEST, PATH, "org.smartpos.Pos1.Terminal", "Settle"]));
    rig.wait_for_log("request exchange=Settlement");
    let status = rig.terminate();
    let out = settle.join().expect("settle thread");
    assert!(status.success(), "posd's exit after SIGTERM: {status}\n{}", rig.log());
    assert!(out.status.success(), "the settlement at the host must finish: {}\n{}", String::from_utf8_lossy(&out.stderr), rig.log());

    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.settlements.len(), 1, "{:?}", ledger.settlements);
    let s = &ledger.settlements[0];
    assert!(s.closed && s.uploaded.len() == 2, "settled once, both sales uploaded: {s:?}");
    assert_eq!(ledger.charged("default"), 3_001 + 3_002);

    // Started again: the new batch, nothing pending, and a sale goes in it.
    rig.restart();
    assert_eq!(rig.get("Terminal", "Batch"), json!(2));
    assert_eq!(rig.pending(), (0, 0));
    let out = sale_in_background(&rig, 3_003).join().expect("sale thread");
    assert!(out.status.success(), "sale after the restart: {}", String::from_utf8_lossy(&out.stderr));
    let rows = rig.journal();
    let batches: Vec<(u64, u32, &str)> = rows.iter().map(|r| (r.amount, r.batch, r.state.as_str())).collect();
    assert_eq!(batches, [(3_001, 1, "approved"), (3_002, 1, "approved"), (3_003, 2, "approved")], "{rows:?}");
    assert_eq!(rig.sim.h.ledger().settlements.len(), 1, "no second settlement of batch 1");
}
