//! The engine end to end: binding, sign-in, sales online and offline,
//! balance, void, refund, settlement — on a real SQLite file, the
//! simulated reader and keypad with the virtual cards, and the acquirer
//! simulator over loopback TCP. Every test reads the simulator's ledger.

use posd::engine::{ErrorKind, SaleOptions, Stage};
use posd::store::journal::{EntryState, Kind};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::rig::{ACTIVATION_CODE, Rig};

#[test]
fn bind_sign_in_and_an_online_sale_charge_the_card_once() {
    let mut r = Rig::unbound();
    let b = r.engine.bind(ACTIVATION_CODE).unwrap();
    assert_eq!((b.terminal_id.as_str(), b.merchant_id.as_str()), ("10000001", "898110000000001"));
    assert_eq!((b.deposit_amount, b.deposit_status.as_str()), (5900, "P"));
    assert_eq!(b.merchant_name, "测试便利店 Test Mart");
    let s = r.engine.sign_in().unwrap();
    assert_eq!(s.batch, 1);
    let res = r.sale("default", 1234).unwrap();
    assert!(res.approved, "{res:?}");
    assert!(!res.offline);
    assert_eq!(res.response_code, "00");
    assert_eq!(res.masked_pan, "622848*********0018");
    assert_eq!(res.entry_mode, "051");
    assert_eq!(res.rrn.len(), 12);
    let ledger = r.ledger();
    assert_eq!(ledger.charged("default"), 1234);
    let e = r.engine.store().entry_by_stan(Kind::Sale, 1, res.stan).unwrap().unwrap();
    assert_eq!((e.state, e.rrn.as_str(), e.amount), (EntryState::Approved, res.rrn.as_str(), 1234));
    assert!(r.engine.store().pending_reversals().unwrap().is_empty());
}

fn ok(r: &mut Rig, label: &str, amount: u64) -> posd::engine::TxnResult {
    let res = r.sale(label, amount).unwrap();
    assert!(res.approved, "{res:?}");
    res
}

#[test]
fn binding_errors_name_their_cause_and_an_unbound_terminal_refuses_work() {
    let mut r = Rig::unbound();
    assert_eq!(r.engine.bind("12").unwrap_err().kind, ErrorKind::InvalidArgument);
    let e = r.engine.bind("000000").unwrap_err();
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::NotBound, Some("03")));
    let e = r.engine.sign_in().unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotBound);
    assert!(e.remedy.contains("activation code"), "{}", e.remedy);
    r.present("default");
    assert_eq!(r.engine.sale(100, &SaleOptions::default()).unwrap_err().kind, ErrorKind::NotBound);
    let last = r.engine.store().last_error().unwrap().unwrap();
    assert!(last.contains("\"category\":\"binding\""), "{last}");
    assert!(r.ledger().transactions.is_empty());

    let mut blocked = Rig::with_config(|c| c.terminal.serial = "SPBLOCKED0001".into());
    let e = blocked.engine.bind(ACTIVATION_CODE).unwrap_err();
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::NotBound, Some("97")));
}

#[test]
fn a_host_97_at_sign_in_unbinds_the_terminal() {
    let mut r = Rig::signed_in();
    r.faults(Faults { response_code: Some("97".into()), response_code_count: 1, response_code_for: Some(Exchange::SignIn), ..Default::default() });
    let e = r.engine.sign_in().unwrap_err();
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::NotBound, Some("97")));
    assert!(!r.engine.store().identity().unwrap().unwrap().is_bound());
    assert_eq!(r.sale("default", 100).unwrap_err().kind, ErrorKind::NotBound);
    // Binding again restores service.
    r.engine.bind(ACTIVATION_CODE).unwrap();
    ok(&mut r, "default", 100);
}

#[test]
fn each_decline_of_the_test_cards_is_a_result_not_an_error() {
    let mut r = Rig::signed_in();
    let low = r.sale("low-balance", 500).unwrap();
    assert_eq!((low.approved, low.response_code.as_str()), (false, "51"));
    let expired = r.sale("expired", 500).unwrap();
    assert_eq!((expired.approved, expired.response_code.as_str()), (false, "54"));
    let blocked = r.sale("blocked", 500).unwrap();
    assert_eq!((blocked.approved, blocked.response_code.as_str()), (false, "Z1"));
    let ledger = r.ledger();
    assert!(ledger.transactions.iter().all(|t| t.card != "expired" && t.card != "blocked"), "expired and blocked cards are declined without going online");
    assert_eq!(ledger.charged("low-balance"), 0);
    // Wrong PINs: 55, 55, then 75 — and 75 for the right PIN afterwards until the issuer resets.
    for want in ["55", "55", "75"] {
        r.insert("default");
        r.keys.type_when_asked("999999#").unwrap();
        let res = r.engine.sale(100, &SaleOptions::default()).unwrap();
        r.remove();
        assert_eq!((res.approved, res.response_code.as_str()), (false, want));
    }
    assert_eq!(r.sale("default", 100).unwrap().response_code, "75");
    assert_eq!(r.ledger().charged("default"), 0);
    // A foreign card is approved and counted in the other half at settlement.
    let visa = ok(&mut r, "visa", 700);
    assert_eq!(visa.aid, "A0000000031010");
    assert!(r.engine.store().pending_reversals().unwrap().is_empty(), "declines with a MAC clear the reversal record");
}

#[test]
fn pin_entry_counts_digits_and_times_out_or_cancels_as_operator_errors() {
    let mut r = Rig::signed_in();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    r.engine.set_progress(Box::new(move |st| s2.lock().unwrap().push(st)));
    ok(&mut r, "default", 300);
    let stages = seen.lock().unwrap().clone();
    let names: Vec<&str> = stages.iter().map(|s| s.name()).collect();
    for want in ["waiting-card", "card-inserted", "reading-card", "waiting-pin", "pin-digit", "pin-entered", "connecting", "sending", "waiting-host", "completed"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let counts: Vec<usize> = stages.iter().filter_map(|s| if let Stage::PinDigit(n) = s { Some(*n) } else { None }).collect();
    assert_eq!(counts, vec![1, 2, 3, 4, 5, 6]);
    r.insert("default");
    let e = r.engine.sale(100, &SaleOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Operator, "{e}");
    r.keys.type_when_asked("12**").unwrap(); // clear, then * on nothing cancels
    let e = r.engine.sale(100, &SaleOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Operator);
    assert!(e.message.contains("cancelled"), "{e}");
    r.remove();
    assert_eq!(r.ledger().charged("default"), 300);
}

#[test]
fn no_card_in_time_and_a_card_pulled_out_are_clear_errors_without_host_traffic() {
    let mut r = Rig::signed_in();
    let before = r.ledger().transactions.len();
    let e = r.engine.sale(100, &SaleOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Operator);
    // Pull the card out while the cardholder types the PIN.
    r.insert("default");
    let slot = r.slot.clone();
    let keys = r.keys.clone();
    r.engine.set_progress(Box::new(move |st| {
        if st == Stage::WaitingPin {
            slot.remove();
            keys.press("123456#").unwrap();
        }
    }));
    let e = r.engine.sale(100, &SaleOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Device, "{e}");
    assert!(e.message.contains("removed"), "{e}");
    assert_eq!(r.ledger().transactions.len(), before);
}

#[test]
fn balance_inquiry_reads_field_54_and_moves_no_money() {
    let mut r = Rig::signed_in();
    r.present("default");
    let b = r.engine.balance().unwrap();
    r.remove();
    assert!(b.approved, "{b:?}");
    assert_eq!(b.balance, Some(10_000_000));
    assert_eq!(r.ledger().charged("default"), 0);
}

#[test]
fn a_new_day_signs_in_before_the_first_sale_and_a_restart_keeps_the_session() {
    let mut r = Rig::signed_in();
    let first = r.engine.store().session().unwrap().unwrap();
    r.restart();
    assert!(r.engine.signed_in(), "working keys survive a restart");
    ok(&mut r, "default", 100);
    assert_eq!(r.engine.store().session().unwrap().unwrap(), first, "same day, same session");
    r.clock.advance(86_400);
    ok(&mut r, "default", 100);
    let next = r.engine.store().session().unwrap().unwrap();
    assert_ne!(next.day, first.day, "a new day means a new sign-in");
    assert_eq!(r.ledger().charged("default"), 200);
}

#[test]
fn sign_in_retries_an_unreachable_host_and_names_the_category() {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    let e = r.engine.sign_in().unwrap_err();
    assert_eq!((e.kind, e.kind.category()), (ErrorKind::Network, "network"));
    assert!(e.message.contains("2 attempts"), "{e}");
    let last = r.engine.store().last_error().unwrap().unwrap();
    assert!(last.contains("\"category\":\"network\"") && last.contains("remedy"), "{last}");
    r.host_reachable(true);
    r.engine.sign_in().unwrap();
    assert_eq!(r.engine.store().last_error().unwrap(), None, "a success clears LastError");
    // A host-category refusal is not retried and says so.
    r.faults(Faults { response_code: Some("96".into()), response_code_count: 1, response_code_for: Some(Exchange::SignIn), ..Default::default() });
    let e = r.engine.sign_in().unwrap_err();
    assert_eq!((e.kind.category(), e.code.as_deref()), ("host", Some("96")));
}

#[test]
fn a_card_without_pse_speaking_t0_is_read_through_the_aid_list_and_61xx_6cxx() {
    let mut r = Rig::signed_in();
    r.insert("default");
    r.slot.with_card(|c| {
        c.with_pse = false;
        c.transport = smartpos_vcard::card::Transport::T0;
    });
    r.type_pin("default");
    let res = r.engine.sale(4320, &SaleOptions::default()).unwrap();
    r.remove();
    assert!(res.approved, "{res:?}");
    assert_eq!(res.app_label, "UnionPay Debit");
    assert_eq!(r.ledger().charged("default"), 4320);
}

#[test]
fn start_up_signs_in_on_a_new_day_and_forwards_what_waited() {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    assert!(r.sale("default", 800).unwrap().offline);
    let before = r.engine.store().session().unwrap().unwrap();
    r.host_reachable(true);
    r.clock.advance(86_400);
    r.restart();
    r.engine.start_up();
    assert_ne!(r.engine.store().session().unwrap().unwrap().day, before.day);
    assert_eq!(r.engine.store().queue_stats(0).unwrap().depth, 0);
    assert_eq!(r.ledger().charged("default"), 800);
    // Unbound: start-up does nothing and fails nothing.
    let mut u = Rig::unbound();
    u.engine.start_up();
    assert!(u.ledger().transactions.is_empty());
}

#[test]
fn the_hosts_lost_card_answer_is_a_decline() {
    let mut r = Rig::signed_in();
    r.faults(Faults { response_code: Some("41".into()), response_code_count: 1, response_code_for: Some(Exchange::Sale), ..Default::default() });
    let res = r.sale("default", 100).unwrap();
    assert_eq!((res.approved, res.response_code.as_str()), (false, "41"));
    assert_eq!(r.ledger().charged("default"), 0);
}
