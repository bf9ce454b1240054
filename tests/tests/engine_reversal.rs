//! Every fault the simulator can inject, met by the engine's reversal
//! rules (§6): a sale whose answer is lost, late, cut short, unreadable or
//! wrongly MACed is reversed, so the ledger never keeps a charge the
//! terminal did not approve.

use posd::engine::{ErrorKind, SaleOptions};
use posd::store::journal::{EntryState, Kind};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::{ALWAYS, Faults};
use smartpos_tests::acquirer::state::TxnState;
use smartpos_tests::rig::Rig;

/// The sale's STAN is the newest journal row's.
fn last_sale(r: &Rig) -> posd::store::journal::Entry {
    r.engine.store().recent_entries(1).unwrap().into_iter().next().expect("a journal row")
}

fn reversed_and_not_charged(r: &Rig) {
    let e = last_sale(r);
    assert_eq!(e.state, EntryState::Reversed, "{e:?}");
    assert!(r.engine.store().pending_reversals().unwrap().is_empty());
    assert_eq!(r.ledger().charged("default"), 0);
}

/// A sale of `amount` with the default card, `knob` set on the card once it
/// is in the reader (the card left in the slot for the caller to look at).
fn sale_with_card(r: &mut Rig, amount: u64, knob: impl FnOnce(&mut smartpos_vcard::card::VirtualCard)) -> Result<posd::engine::TxnResult, posd::engine::EngineError> {
    r.insert("default");
    r.slot.with_card(knob);
    r.type_pin("default");
    r.engine.sale(amount, &SaleOptions::default())
}

/// The host approved the sale, then took the terminal's reversal.
fn host_sale_reversed(r: &Rig) {
    let sale_txn = r.ledger().transactions.into_iter().find(|t| t.exchange == Exchange::Sale).expect("the sale reached the host");
    assert_eq!(sale_txn.state, TxnState::Reversed);
}

#[test]
fn every_lost_or_bad_answer_to_a_sale_is_reversed() {
    for (name, fault, kind) in [
        ("lose_reply", Faults { lose_reply: 1, ..Default::default() }, ErrorKind::Network),
        ("truncate_reply", Faults { truncate_reply: 1, ..Default::default() }, ErrorKind::Network),
        ("garbage", Faults { garbage: 1, ..Default::default() }, ErrorKind::Network),
        ("delay", Faults { delay_ms: 2500, delay_count: 1, ..Default::default() }, ErrorKind::Network),
        ("drop_request", Faults { drop_request: 1, ..Default::default() }, ErrorKind::Network),
        ("bad_mac", Faults { bad_mac: 1, ..Default::default() }, ErrorKind::Host),
    ] {
        let mut r = Rig::signed_in();
        r.faults(fault);
        let e = r.sale("default", 1500).unwrap_err();
        assert_eq!(e.kind, kind, "{name}: {e}");
        reversed_and_not_charged(&r);
        let reversal = r.ledger().transactions.into_iter().find(|t| t.exchange == Exchange::Sale);
        if name != "drop_request" {
            assert_eq!(reversal.map(|t| t.state), Some(TxnState::Reversed), "{name}: the host charged, then undid it");
        }
        // The terminal works on: the next sale is approved.
        r.clear_faults();
        assert!(r.sale("default", 100).unwrap().approved, "{name}");
        assert_eq!(r.ledger().charged("default"), 100, "{name}");
    }
}

#[test]
fn a_bad_mac_makes_the_terminal_sign_in_again() {
    let mut r = Rig::signed_in();
    let before = r.engine.store().session().unwrap().unwrap();
    r.faults(Faults { bad_mac: 1, ..Default::default() });
    let e = r.sale("default", 100).unwrap_err();
    assert_eq!(e.code.as_deref(), Some("A0"));
    assert!(r.engine.signed_in());
    let after = r.engine.store().session().unwrap().unwrap();
    assert!(after.signed_in_at >= before.signed_in_at);
    assert!(r.sale("default", 100).unwrap().approved);
}

#[test]
fn a_reversal_that_cannot_be_delivered_is_retried_flagged_and_kept() {
    let mut r = Rig::signed_in();
    r.faults(Faults { lose_reply: ALWAYS, ..Default::default() });
    assert_eq!(r.sale("default", 800).unwrap_err().kind, ErrorKind::Network);
    let p = r.engine.store().pending_reversals().unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].reason, "98");
    // Each further financial message sends it first, up to the limit of 3 tries.
    while !r.engine.store().pending_reversals().unwrap()[0].flagged {
        let _ = r.engine.flush();
    }
    let p = &r.engine.store().pending_reversals().unwrap()[0];
    assert_eq!(p.tries, 3);
    r.clear_faults();
    // A flagged reversal is not dropped: a sale goes on, Flush delivers it.
    assert!(r.sale("default", 100).unwrap().approved);
    assert_eq!(r.engine.store().pending_reversals().unwrap().len(), 1);
    let f = r.engine.flush().unwrap();
    assert_eq!(f.reversals, 0);
    assert_eq!(r.ledger().charged("default"), 100);
}

#[test]
fn a_host_decline_by_response_code_fault_is_a_result_and_a_system_code_an_error() {
    let mut r = Rig::signed_in();
    r.faults(Faults { response_code: Some("05".into()), response_code_count: 1, response_code_for: Some(Exchange::Sale), ..Default::default() });
    let d = r.sale("default", 100).unwrap();
    assert_eq!((d.approved, d.response_code.as_str()), (false, "05"));
    r.faults(Faults { response_code: Some("96".into()), response_code_count: 1, response_code_for: Some(Exchange::Sale), ..Default::default() });
    let e = r.sale("default", 100).unwrap_err();
    assert_eq!((e.kind, e.code.as_deref()), (ErrorKind::Host, Some("96")));
    assert_eq!(last_sale(&r).state, EntryState::Declined);
    // 98 (issuer timeout): the terminal reverses.
    r.faults(Faults { response_code: Some("98".into()), response_code_count: 1, response_code_for: Some(Exchange::Sale), ..Default::default() });
    assert_eq!(r.sale("default", 100).unwrap_err().code.as_deref(), Some("98"));
    assert_eq!(last_sale(&r).state, EntryState::Reversed);
    // 77: batch mismatch → sign in again, then it works.
    r.faults(Faults { response_code: Some("77".into()), response_code_count: 1, response_code_for: Some(Exchange::Sale), ..Default::default() });
    assert_eq!(r.sale("default", 100).unwrap_err().code.as_deref(), Some("77"));
    assert!(r.sale("default", 100).unwrap().approved);
    assert_eq!(r.ledger().charged("default"), 100);
    assert!(r.engine.store().pending_reversals().unwrap().is_empty());
}

#[test]
fn the_header_asking_for_sign_in_is_obeyed() {
    let mut r = Rig::signed_in();
    let first = r.ledger().transactions.len();
    r.faults(Faults { resign: 1, ..Default::default() });
    assert!(r.sale("default", 100).unwrap().approved);
    let s = r.engine.store().session().unwrap().unwrap();
    assert!(!s.signed_in_at.is_empty());
    assert!(r.ledger().transactions.len() > first);
    assert!(r.ledger().terminals[0].signed_in);
}

#[test]
fn a_card_that_refuses_the_second_ac_after_approval_gets_the_sale_reversed_96() {
    let mut r = Rig::signed_in();
    let res = sale_with_card(&mut r, 2500, |c| c.refuse_second_ac = true).unwrap();
    r.remove();
    assert_eq!((res.approved, res.response_code.as_str()), (false, "Z1"), "{res:?}");
    reversed_and_not_charged(&r);
    host_sale_reversed(&r);
}

#[test]
fn a_restart_with_a_pending_reversal_sends_it_before_the_next_sale() {
    let mut r = Rig::signed_in();
    r.faults(Faults { lose_reply: ALWAYS, ..Default::default() });
    let _ = r.sale("default", 700);
    r.restart();
    r.clear_faults();
    assert_eq!(r.engine.store().pending_reversals().unwrap().len(), 1);
    assert!(r.sale("default", 300).unwrap().approved);
    assert!(r.engine.store().pending_reversals().unwrap().is_empty());
    assert_eq!(r.ledger().charged("default"), 300);
    let rows = r.engine.store().batch_entries(1).unwrap();
    assert_eq!(rows.iter().filter(|e| e.kind == Kind::Sale && e.state == EntryState::Reversed).count(), 1);
}

/// Fault matrix: the card is pulled right after it gave the ARQC. The host
/// approves, but the card never confirms (no second GENERATE AC): the sale
/// must not stand — reversed, nothing charged, and the merchant told why.
#[test]
fn a_card_pulled_after_the_arqc_gets_the_approved_sale_reversed() {
    let mut r = Rig::signed_in();
    let outcome = sale_with_card(&mut r, 2500, |c| c.pull_after_arqc = true);
    assert!(!r.slot.is_present(), "the card left after the ARQC");
    let err = outcome.expect_err("a sale the card never confirmed must not be approved");
    assert_eq!(err.kind, ErrorKind::Device, "{err:?}");
    assert!(err.message.contains("removed"), "{err:?}");
    reversed_and_not_charged(&r);
    host_sale_reversed(&r);
}
