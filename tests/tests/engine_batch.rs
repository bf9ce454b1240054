//! Void, refund and settlement through the real engine: the journal's
//! totals against the host's, batch upload when they differ, the batch
//! closing on both sides.

use posd::engine::ErrorKind;
use posd::engine::adjust::RefundOriginal;
use posd::store::journal::{EntryState, Kind};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::state::TxnState;
use smartpos_tests::rig::Rig;

/// A sale that must be approved.
fn sale(r: &mut Rig, label: &str, amount: u64) -> posd::engine::TxnResult {
    let out = r.sale(label, amount).unwrap();
    assert!(out.approved, "{out:?}");
    out
}

#[test]
fn a_void_undoes_a_sale_once() {
    let mut r = Rig::signed_in();
    let s = sale(&mut r, "default", 5000);
    let v = r.engine.void(s.stan).unwrap();
    assert!(v.approved, "{v:?}");
    assert_eq!(r.ledger().charged("default"), 0);
    let e = r.engine.void(s.stan).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Operator);
    assert!(e.message.contains("already voided"), "{e}");
    assert_eq!(r.engine.void(999_998).unwrap_err().kind, ErrorKind::Operator);
    assert_eq!(r.engine.void(0).unwrap_err().kind, ErrorKind::InvalidArgument);
    let host = r.ledger();
    assert_eq!(host.standing(Exchange::Void).len(), 1);
}

#[test]
fn a_void_whose_answer_is_lost_is_reversed_and_the_sale_stands() {
    let mut r = Rig::signed_in();
    let s = sale(&mut r, "default", 5000);
    r.faults(smartpos_tests::acquirer::faults::Faults { lose_reply: 1, ..Default::default() });
    assert_eq!(r.engine.void(s.stan).unwrap_err().kind, ErrorKind::Network);
    assert_eq!(r.ledger().charged("default"), 5000, "the void was reversed: the sale stands");
    assert!(r.engine.store().pending_reversals().unwrap().is_empty());
    assert!(r.engine.void(s.stan).unwrap().approved, "and can be voided again");
    assert_eq!(r.ledger().charged("default"), 0);
}

#[test]
fn refunds_by_rrn_and_date_with_or_without_the_journal() {
    let mut r = Rig::signed_in();
    let s = sale(&mut r, "default", 8000);
    let date = r.engine.store().entry_by_stan(Kind::Sale, 1, s.stan).unwrap().unwrap().host_date;
    r.insert("default");
    let f = r.engine.refund(3000, &RefundOriginal { rrn: s.rrn.clone(), date: date.clone(), ..Default::default() }).unwrap();
    r.remove();
    assert!(f.approved, "{f:?}");
    assert_eq!(r.ledger().charged("default"), 5000);
    // Above what remains: 13, a result.
    r.insert("default");
    let f = r.engine.refund(6000, &RefundOriginal { rrn: s.rrn.clone(), date: date.clone(), batch: Some(0), stan: Some(0) }).unwrap();
    r.remove();
    assert_eq!((f.approved, f.response_code.as_str()), (false, "13"));
    // Unknown original: 25.
    r.insert("default");
    let f = r.engine.refund(100, &RefundOriginal { rrn: "000000000000".into(), date, ..Default::default() }).unwrap();
    r.remove();
    assert_eq!((f.approved, f.response_code.as_str()), (false, "25"));
    assert_eq!(r.engine.refund(100, &RefundOriginal { rrn: "x".into(), date: "1399".into(), ..Default::default() }).unwrap_err().kind, ErrorKind::InvalidArgument);
}

/// A terminal abroad (Los Angeles, -08:00) acquiring for a host in Beijing
/// (+08:00): at 19:00 UTC the host's day is already the next one. Both
/// clocks are put at that instant, so the test holds at any time of day.
/// The sale's result carries the host's date; a refund naming it finds its
/// original in the journal (field 61 carries its batch and STAN); the
/// terminal's own date finds nothing.
#[test]
fn a_refund_from_a_terminal_in_another_zone_finds_its_original_by_the_hosts_date() {
    let now = smartpos_proto::clock::unix_now();
    let shift = (19 * 3600 - now.rem_euclid(86_400)).rem_euclid(86_400);
    let mut r = Rig::with_config(|c| c.terminal.utc_offset = "-08:00".into());
    r.clock.advance(shift);
    r.sim.h.set_host_clock(8 * 3600, shift);
    r.engine.bind(smartpos_tests::rig::ACTIVATION_CODE).unwrap();
    r.engine.sign_in().unwrap();
    let s = sale(&mut r, "default", 8000);
    let local = smartpos_proto::clock::CivilTime::from_unix(now + shift, -8 * 3600).mmdd();
    let host = smartpos_proto::clock::CivilTime::from_unix(now + shift, 8 * 3600).mmdd();
    assert_ne!(local, host, "the two zones are on different days at 19:00 UTC");
    assert_eq!(s.host_date, host, "the result carries the host's date: {s:?}");
    assert_eq!(r.engine.store().entry_by_stan(Kind::Sale, 1, s.stan).unwrap().unwrap().host_date, host);
    // With the terminal's own date: no such original (and the host agrees: 25).
    r.insert("default");
    let f = r.engine.refund(1000, &RefundOriginal { rrn: s.rrn.clone(), date: local, ..Default::default() }).unwrap();
    r.remove();
    assert_eq!((f.approved, f.response_code.as_str()), (false, "25"), "{f:?}");
    // With the host's date, as the receipt shows it: the original is found.
    r.insert("default");
    let f = r.engine.refund(3000, &RefundOriginal { rrn: s.rrn.clone(), date: host.clone(), ..Default::default() }).unwrap();
    r.remove();
    assert!(f.approved, "{f:?}");
    assert_eq!(r.ledger().charged("default"), 5000);
    let sent = r.sim.h.ledger();
    let refund = sent.transactions.iter().find(|t| t.exchange == Exchange::Refund && t.state == TxnState::Approved).expect("the refund at the host");
    assert_eq!(refund.original, Some((1, s.stan)), "field 61 named the original from the journal");
}

#[test]
fn a_refund_whose_answer_is_lost_is_resent_and_counted_once() {
    let mut r = Rig::signed_in();
    let s = sale(&mut r, "default", 8000);
    let date = r.engine.store().entry_by_stan(Kind::Sale, 1, s.stan).unwrap().unwrap().host_date;
    r.faults(smartpos_tests::acquirer::faults::Faults { lose_reply: 1, ..Default::default() });
    r.insert("default");
    let e = r.engine.refund(1000, &RefundOriginal { rrn: s.rrn.clone(), date, ..Default::default() }).unwrap_err();
    r.remove();
    assert_eq!(e.kind, ErrorKind::Network);
    assert_eq!(r.engine.store().queue_stats(0).unwrap().unanswered_refunds, 1);
    assert_eq!(r.engine.flush().unwrap().forwarded, 1);
    assert_eq!(r.ledger().charged("default"), 7000, "one refund, whatever the repeats");
}

#[test]
fn settlement_balanced_forwards_first_closes_the_batch_and_signs_in_again() {
    let mut r = Rig::signed_in();
    let a = sale(&mut r, "default", 1000);
    sale(&mut r, "visa", 2000);
    let c = sale(&mut r, "default", 3000);
    r.engine.void(c.stan).unwrap();
    let date = r.engine.store().entry_by_stan(Kind::Sale, 1, a.stan).unwrap().unwrap().host_date;
    r.insert("default");
    assert!(r.engine.refund(400, &RefundOriginal { rrn: a.rrn.clone(), date, ..Default::default() }).unwrap().approved);
    r.remove();
    r.host_reachable(false);
    sale(&mut r, "default", 500);
    let e = r.engine.settle().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "nothing settles while the host is away: {e}");
    r.host_reachable(true);
    let s = r.engine.settle().unwrap();
    assert!(s.balanced, "{s:?}");
    assert_eq!(s.batch, 1);
    assert_eq!((s.debit_count, s.debit_amount), (4, 6500), "a voided sale stays in debit; the offline sale was forwarded first");
    assert_eq!((s.credit_count, s.credit_amount), (2, 3400));
    assert_eq!(s.uploaded, 0);
    let host = r.ledger();
    let rec = host.settlements.last().unwrap();
    assert_eq!((rec.balanced, rec.closed), ((true, true), true));
    assert_eq!(host.terminals[0].batch, 2);
    assert_eq!(r.engine.store().batch().unwrap(), 2);
    assert!(r.engine.signed_in(), "signed in again after settlement");
    assert!(sale(&mut r, "default", 100).batch == 2);
}

#[test]
fn settlement_unbalanced_uploads_every_approved_sale() {
    let mut r = Rig::signed_in();
    let a = sale(&mut r, "default", 1000);
    let b = sale(&mut r, "visa", 2000);
    // The terminal lost track of an approved sale's amount (a corrupted row): totals differ.
    let conn = rusqlite::Connection::open(r.db_path()).unwrap();
    conn.execute("UPDATE journal SET amount = 999 WHERE stan = ?1", [a.stan]).unwrap();
    drop(conn);
    let s = r.engine.settle().unwrap();
    assert!(!s.balanced);
    assert_eq!(s.uploaded, 2);
    let host = r.ledger();
    let rec = host.settlements.last().unwrap();
    let mut uploaded = rec.uploaded.clone();
    uploaded.sort_unstable();
    assert_eq!(uploaded, vec![a.stan, b.stan], "each detail carries its sale's STAN");
    assert!(rec.closed);
    assert_eq!(host.standing(Exchange::Sale).len(), 2);
    assert!(host.transactions.iter().all(|t| t.state == TxnState::Approved));
    assert_eq!(r.engine.store().entry_by_stan(Kind::Sale, 1, b.stan).unwrap().unwrap().state, EntryState::Approved);
}
