//! The virtual card in a real pcscd (private, vpcd driver), read by an
//! independent EMV reader (pyscard + our own APDUs in Python) and by the
//! daemon's PC/SC backend.

use smartpos_hal::pcsc_reader::PcscReader;
use smartpos_hal::{Cancel, CardReader, ReaderError};
use smartpos_tests::oracle;
use smartpos_tests::pcscd::{PrivatePcscd, READER_NAME, run_scenario_in_child, vpcd_ports};
use smartpos_vcard::testdata::TestData;
use std::time::Duration;

const VCARD: &str = env!("CARGO_BIN_EXE_pos-vcard");

fn independent_read(pcscd: &PrivatePcscd) -> serde_json::Value {
    let (var, sock) = pcscd.client_env();
    let out = oracle::run_with_env("pcsc_emv_read.py", &["Virtual PCD 00 00"], &[(var, sock.as_os_str())], b"");
    serde_json::from_slice(&out).expect("reader printed JSON")
}

#[test]
fn an_independent_emv_reader_sees_application_pan_and_expiry() {
    let pcscd = PrivatePcscd::start(vpcd_ports(0));
    let data = TestData::embedded();
    for (label, extra) in [("default", &[][..]), ("low-balance", &["--t0", "--no-pse"][..])] {
        let profile = data.card(label).expect("card");
        let _card = pcscd.insert(VCARD, label, extra);
        let seen = independent_read(&pcscd);
        assert_eq!(seen["aid"], profile.aid.to_uppercase(), "{label}: {seen}");
        assert_eq!(seen["label"], profile.app_label, "{label}");
        assert_eq!(seen["pan"], profile.pan, "{label}");
        assert_eq!(seen["expiry"], format!("{}31", profile.expiry), "{label}");
    }
}

#[test]
fn the_pcsc_backend_follows_cards_pcscd_restarts_and_cancel() {
    run_scenario_in_child("pcsc_backend_scenario");
}

/// Runs in a child process that has the private pcscd's socket in its
/// environment (libpcsclite reads it; a test may not change its own
/// environment), started by the test above.
#[test]
#[ignore = "runs inside the_pcsc_backend_follows_cards_pcscd_restarts_and_cancel"]
fn pcsc_backend_scenario() {
    let dir = std::env::var("POS_PCSCD_DIR").expect("run through the_pcsc_backend_follows_cards_pcscd_restarts_and_cancel");
    let mut pcscd = PrivatePcscd::start_in(std::path::Path::new(&dir), vpcd_ports(10));
    let mut reader = PcscReader::new("virtual pcd 00 00");
    let never = Cancel::new();
    let select_pse = b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00";

    // No card: the wait ends in a timeout, the reader is found and named.
    assert_eq!(reader.wait_card(Duration::from_millis(300), &never), Err(ReaderError::Timeout));
    assert_eq!(reader.info().name, READER_NAME);
    assert_eq!(reader.card_present(), Ok(false));

    // A card: ATR, an APDU, then pulled mid-transaction.
    let mut card = pcscd.insert(VCARD, "default", &[]);
    let atr = reader.wait_card(Duration::from_secs(10), &never).expect("card");
    assert_eq!(atr, smartpos_vcard::card::ATR);
    assert_eq!(reader.card_present(), Ok(true));
    let fci = reader.transmit(select_pse).expect("select");
    assert_eq!(fci[fci.len() - 2..], [0x90, 0x00]);
    // Pulled after a completed exchange, another card inserted: found by the next wait.
    card.pull();
    let mut card = pcscd.insert(VCARD, "default", &[]);
    reader.wait_card(Duration::from_secs(10), &never).expect("the next card after a pull");
    let fci = reader.transmit(select_pse).expect("select");
    assert_eq!(fci[fci.len() - 2..], [0x90, 0x00]);
    card.pull();
    let after_pull = (0..50).find_map(|_| {
        std::thread::sleep(Duration::from_millis(20));
        reader.transmit(select_pse).err()
    });
    assert_eq!(after_pull, Some(ReaderError::CardRemoved));
    assert_eq!(reader.card_present(), Ok(false));

    // pcscd dies mid-session: the stale handle is reported, then the
    // backend re-establishes its context and reads the next card.
    let _card = pcscd.insert(VCARD, "default", &[]);
    reader.wait_card(Duration::from_secs(10), &never).expect("card");
    pcscd.restart();
    let stale = reader.transmit(select_pse).expect_err("pcscd was restarted");
    assert!(matches!(stale, ReaderError::NoReader(_) | ReaderError::CardRemoved), "{stale:?}");
    let _card = pcscd.insert(VCARD, "default", &[]);
    reader.wait_card(Duration::from_secs(10), &never).expect("card after the restart");
    let fci = reader.transmit(select_pse).expect("select after the restart");
    assert_eq!(fci[fci.len() - 2..], [0x90, 0x00]);

    // pcscd gone for good: a device error naming the problem, not a hang.
    pcscd.stop();
    match reader.wait_card(Duration::from_millis(600), &never) {
        Err(ReaderError::NoReader(why)) => assert!(why.contains("pcscd") || why.contains("reader"), "{why}"),
        other => panic!("expected NoReader, got {other:?}"),
    }

    // Cancel from another thread ends a wait early.
    pcscd.restart();
    let cancel = Cancel::new();
    let raiser = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        raiser.cancel();
    });
    let started = std::time::Instant::now();
    assert_eq!(reader.wait_card(Duration::from_secs(30), &cancel), Err(ReaderError::Cancelled));
    assert!(started.elapsed() < Duration::from_secs(30));
    t.join().expect("thread");
}

/// posd with the PC/SC backend reading the virtual card through the
/// private pcscd; keypad and modem simulated.
fn posd_on_pcsc(pcscd: &PrivatePcscd) -> smartpos_tests::posd::PosdRig {
    let sock = pcscd.socket().display().to_string();
    smartpos_tests::posd::PosdRig::start_with(
        |cfg| {
            let hw = cfg.get_mut("hardware").and_then(toml::Value::as_table_mut).expect("[hardware] in the test config");
            hw.insert("reader".into(), toml::Value::String("pcsc".into()));
            hw.insert("reader_name".into(), toml::Value::String(READER_NAME.into()));
            // vpcd notices a replugged card program within a few seconds.
            let t = cfg.get_mut("timeouts").and_then(toml::Value::as_table_mut).expect("[timeouts]");
            t.insert("card_ms".into(), toml::Value::Integer(15_000));
        },
        &[("PCSCLITE_CSOCK_NAME", &sock)],
    )
}

#[test]
fn a_sale_through_pcscd_with_card_pulled_and_pcscd_restarted() {
    let mut pcscd = PrivatePcscd::start(vpcd_ports(20));
    let rig = posd_on_pcsc(&pcscd);
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let reader = rig.get("Hardware", "CardReader");
    assert_eq!(reader["backend"], serde_json::json!("pcsc"), "{reader}");

    // A sale end to end through libpcsclite → pcscd → vpcd → the virtual card.
    let mut card = pcscd.insert(VCARD, "default", &["--t0"]);
    let typist = smartpos_tests::posd::type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.call("Payment", "Sale", &["ta{sv}", "1500", "0"]).expect("sale through pcscd");
    let _ = typist.join();
    assert_eq!((r["approved"].clone(), r["response_code"].clone()), (serde_json::json!(true), serde_json::json!("00")), "{r}");
    assert_eq!(r["masked_pan"], serde_json::json!("622848*********0018"));
    card.pull();

    // The card pulled while the PIN is being asked: a Device error naming the removal.
    // The card is pulled when the PIN is asked, then the PIN is typed.
    let mut card = pcscd.insert(VCARD, "default", &[]);
    let address = rig.bus.address().to_string();
    let puller = smartpos_tests::posd::on_progress(rig.bus.address(), "waiting-pin", move || {
        card.pull();
        let _ = smartpos_tests::posd::busctl_raw(&address, &["call", "org.smartpos.Pos1", "/org/smartpos/Pos1", "org.smartpos.Pos1.Simulator", "PressKeys", "s", "123456#"]);
    });
    let out = smartpos_tests::posd::busctl_raw(
        rig.bus.address(),
        &["--timeout=60", "call", "org.smartpos.Pos1", "/org/smartpos/Pos1", "org.smartpos.Pos1.Payment", "Sale", "ta{sv}", "1600", "0"],
    );
    let _ = puller.join();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "the sale cannot succeed without the card");
    assert!(err.contains("removed"), "a Device error naming the removal: {err}");
    assert_eq!(rig.get("Terminal", "LastError")["category"], serde_json::json!("device"));

    // pcscd restarts mid-session: the next sale finds it again.
    approved_after_pcscd_restart(&mut pcscd, &rig, 1700);
}

/// pcscd started again (as systemd would), a card inserted: a sale of
/// `amount` is approved.
fn approved_after_pcscd_restart(pcscd: &mut PrivatePcscd, rig: &smartpos_tests::posd::PosdRig, amount: u64) {
    pcscd.restart();
    let _card = pcscd.insert(VCARD, "default", &[]);
    let typist = smartpos_tests::posd::type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.call("Payment", "Sale", &["ta{sv}", &amount.to_string(), "0"]).expect("sale after pcscd restarted");
    let _ = typist.join();
    assert_eq!(r["approved"], serde_json::json!(true), "{r}");
}

/// Fault matrix: pcscd dies (SIGKILL) while the sale is at the host. The
/// host approves, the card cannot finish (no second GENERATE AC), so the
/// approval is reversed: a Device error, nothing charged, the journal says
/// reversed. With pcscd back the next sale is approved and charged once.
#[test]
fn pcscd_killed_while_the_sale_is_at_the_host_reverses_it() {
    let mut pcscd = PrivatePcscd::start(vpcd_ports(30));
    let rig = posd_on_pcsc(&pcscd);
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let mut card = pcscd.insert(VCARD, "default", &[]);
    rig.sim.h.set_faults(smartpos_tests::acquirer::faults::Faults { delay_ms: 1_000, delay_count: 1, ..Default::default() });
    let sale = rig.sale_in_background(1800);
    smartpos_tests::posd::eventually(
        Duration::from_secs(30),
        || rig.sim.h.ledger().transactions.iter().any(|t| t.amount == 1800),
        || format!("the sale never reached the host:\n{}", rig.log()),
    );
    pcscd.stop();
    let out = sale.join().expect("sale thread");
    card.pull();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "the sale cannot complete without the card: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(rig.get("Terminal", "LastError")["category"], serde_json::json!("device"), "{err}");
    assert_eq!(rig.sim.h.ledger().charged("default"), 0, "the approval was reversed:\n{}", rig.log());
    let row = rig.journal().into_iter().find(|r| r.amount == 1800).expect("the sale is in the journal");
    assert_eq!(row.state, "reversed", "{row:?}");
    assert_eq!(rig.pending(), (0, 0));

    approved_after_pcscd_restart(&mut pcscd, &rig, 1900);
    assert_eq!(rig.sim.h.ledger().charged("default"), 1900);
}
