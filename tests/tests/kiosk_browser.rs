//! The cashier app in a real browser: `pos-kiosk` against posd (simulated
//! hardware, private bus, the acquirer simulator on loopback), in headless
//! Chromium driven by Selenium (`tests/browser/kiosk.py` asserts what the
//! screen shows). Each test then asserts the simulator's ledger. Waits for
//! the card and the PIN are long (30 s) so that nothing depends on how fast
//! the browser is: the script acts on what the screen shows.
//!
//! The screenshots of the main screens at both panel sizes land in a
//! temporary folder, or in `docs/kiosk/` with `UPDATE_SCREENSHOTS=1`.

use serde_json::json;
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::kiosk::{Kiosk, OPERATOR_PIN, png_size, shots_dir};
use smartpos_tests::posd::PosdRig;

const SIZES: [&str; 2] = ["480x800", "800x480"];

fn unbound() -> PosdRig {
    PosdRig::start_with(
        |cfg| {
            cfg["timeouts"]["card_ms"] = toml::Value::Integer(30_000);
            cfg["timeouts"]["pin_ms"] = toml::Value::Integer(30_000);
            cfg["retries"].as_table_mut().expect("[retries]").insert("forward_every_secs".into(), toml::Value::Integer(3_600));
        },
        &[],
    )
}

fn signed_in() -> PosdRig {
    let rig = unbound();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig
}

fn assert_png(dir: &std::path::Path, name: &str, size: &str) {
    let (w, h) = size.split_once('x').map(|(w, h)| (w.parse().unwrap_or(0), h.parse().unwrap_or(0))).unwrap_or((0, 0));
    let path = dir.join(format!("{name}-{size}.png"));
    assert_eq!(png_size(&path), Some((w, h)), "{} is a {size} screenshot", path.display());
}

#[test]
fn a_sale_with_the_pin_on_the_keypad_and_a_decline_at_both_panel_sizes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let shots = shots_dir(&tmp);
    for size in SIZES {
        let rig = signed_in();
        let kiosk = Kiosk::start(&rig);
        kiosk.browse(&rig, "sale", size, &shots);
        let ledger = rig.sim.h.ledger();
        assert_eq!((ledger.charged("default"), ledger.charged("low-balance")), (1_234, 0), "the sale charged once, the decline nothing");
        assert_eq!(ledger.standing(Exchange::Sale).len(), 1, "one standing sale on the host");
        for name in ["home", "sale-progress", "result", "declined", "diagnose", "home-en"] {
            assert_png(&shots, name, size);
        }
        assert!(!kiosk.log().contains(OPERATOR_PIN), "the operator PIN is not logged");
    }
}

#[test]
fn with_the_host_down_diagnose_shows_the_network_row_and_an_offline_sale_is_forwarded_once_when_it_is_back() {
    let tmp = tempfile::tempdir().expect("tmp");
    let shots = shots_dir(&tmp);
    let rig = signed_in();
    let kiosk = Kiosk::start(&rig);
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    kiosk.browse(&rig, "diagnose-host-down", SIZES[0], &shots);
    kiosk.browse(&rig, "offline-sale", SIZES[0], &shots);
    assert_eq!(rig.sim.h.ledger().charged("default"), 0, "nothing reached the host while it was down");
    assert_eq!(rig.get("Queue", "Depth"), json!(1));
    rig.sim.h.set_faults(Faults::default());
    kiosk.browse(&rig, "flush", SIZES[0], &shots);
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("default"), 880, "the offline sale charged exactly once");
    assert_eq!(ledger.standing(Exchange::OfflineAdvice).len(), 1, "one advice on the host");
    assert_png(&shots, "diagnose-host-down", SIZES[0]);
}

#[test]
fn a_void_and_a_refund_behind_the_operator_pin_then_settle() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rig = signed_in();
    let kiosk = Kiosk::start(&rig);
    kiosk.browse(&rig, "void-settle", SIZES[1], &shots_dir(&tmp));
    let ledger = rig.sim.h.ledger();
    assert_eq!(ledger.charged("default"), 2_000, "the voided sale given back, 10.00 of the 30.00 refunded");
    assert_eq!(
        (ledger.standing(Exchange::Sale).len(), ledger.standing(Exchange::Void).len(), ledger.standing(Exchange::Refund).len()),
        (2, 1, 1),
        "two sales, one void, one refund, each once"
    );
    let settled = ledger.settlements.last().expect("a settlement");
    assert_eq!(settled.balanced, (true, true), "balanced");
    assert!(!kiosk.log().contains(OPERATOR_PIN), "the operator PIN is not logged");
}

#[test]
fn an_unbound_terminal_is_activated_from_the_app() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rig = unbound();
    assert_eq!(rig.get("Terminal", "State"), json!("unbound"));
    let kiosk = Kiosk::start(&rig);
    kiosk.browse(&rig, "activate", SIZES[0], &shots_dir(&tmp));
    assert_eq!(rig.get("Terminal", "State"), json!("signed-in"));
    let ledger = rig.sim.h.ledger();
    let tid = rig.get("Terminal", "TerminalId");
    assert!(ledger.terminals.iter().any(|t| json!(t.tid) == tid && t.signed_in), "the host knows the terminal, signed in: {tid}");
}

#[test]
fn the_layout_check_catches_a_cut_off_amount_and_a_box_beyond_the_screen() {
    let tmp = tempfile::tempdir().expect("tmp");
    let rig = signed_in();
    let kiosk = Kiosk::start(&rig);
    kiosk.browse(&rig, "layout-control", SIZES[0], tmp.path());
}
