//! Offline store-and-forward through the real engine: approvals by the
//! card's TC within the limits, committed before the result; refusals
//! outside them; the forwarder delivering each advice exactly once; nothing
//! expiring silently.

use posd::engine::{ErrorKind, SaleOptions};
use posd::store::journal::{EntryState, Kind};
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::faults::{ALWAYS, Faults};
use smartpos_tests::rig::Rig;

#[test]
fn an_unreachable_host_means_a_y3_offline_sale_forwarded_once_when_it_returns() {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    let res = r.sale("default", 2000).unwrap();
    assert!(res.approved && res.offline, "{res:?}");
    assert_eq!(res.response_code, "Y3");
    let stats = r.engine.store().queue_stats(0).unwrap();
    assert_eq!((stats.depth, stats.amount), (1, 2000));
    assert_eq!(r.ledger().charged("default"), 0, "nothing reached the host yet");
    // Flushing while the host is still away forwards nothing and loses nothing.
    let f = r.engine.flush().unwrap();
    assert_eq!((f.forwarded, f.remaining), (0, 1));
    r.host_reachable(true);
    let f = r.engine.flush().unwrap();
    assert_eq!((f.forwarded, f.remaining, f.declined), (1, 0, 0));
    let ledger = r.ledger();
    assert_eq!(ledger.charged("default"), 2000);
    assert_eq!(ledger.standing(Exchange::OfflineAdvice).len(), 1);
    let e = r.engine.store().entry_by_stan(Kind::Sale, 1, res.stan).unwrap().unwrap();
    assert_eq!((e.state, e.offline, e.response_code.as_str()), (EntryState::Approved, true, "Y3"));
    assert!(!e.rrn.is_empty(), "the host's RRN is kept");
    assert_eq!(r.engine.flush().unwrap().forwarded, 0, "a forwarded advice is never sent again");
    assert_eq!(r.ledger().charged("default"), 2000);
}

#[test]
fn a_sale_under_the_floor_limit_is_approved_offline_by_the_first_ac_y1() {
    let mut r = Rig::signed_in_with(|c| {
        c.emv.floor_limit = 10_000;
        // Online only for "exceeds floor limit": no ODA is needed for an offline approval here.
        c.emv.tac_online = "0000008000".into();
        c.emv.absent_iac_online = "0000000000".into();
        // The host's IC parameters (floor limit 0) would replace these: pinned, as an integrator would.
        c.emv.pin = vec!["floor_limit".into(), "tac_online".into()];
    });
    let res = r.sale("default", 5000).unwrap();
    assert_eq!((res.approved, res.offline, res.response_code.as_str()), (true, true, "Y1"));
    let over = r.sale("default", 20_000).unwrap();
    assert_eq!((over.approved, over.offline), (true, false), "at or above the floor limit it goes online");
    assert_eq!(r.engine.flush().unwrap().forwarded, 1);
    assert_eq!(r.ledger().charged("default"), 25_000);
}

#[test]
fn offline_limits_refuse_with_offline_limit_and_queue_nothing() {
    let mut r = Rig::signed_in_with(|c| {
        c.offline.max_amount = 3000;
        c.offline.max_total = 5000;
        c.offline.max_count = 2;
    });
    r.host_reachable(false);
    let e = r.sale("default", 3001).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OfflineLimit, "{e}");
    assert!(r.sale("default", 3000).unwrap().approved, "limits are inclusive");
    assert!(r.sale("default", 2000).unwrap().approved);
    let e = r.sale("default", 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OfflineLimit, "total and count reached: {e}");
    // The app may forbid offline approval; the card's own offline limit declines Z3.
    r.present("default");
    let e = r.engine.sale(10, &SaleOptions { allow_offline: false, reference: "app-1".into(), ..Default::default() }).unwrap_err();
    r.remove();
    assert_eq!(e.kind, ErrorKind::Network);
    let mut r2 = Rig::signed_in_with(|c| c.offline.max_amount = 100_000);
    r2.host_reachable(false);
    let d = r2.sale("default", 60_000).unwrap();
    assert_eq!((d.approved, d.response_code.as_str()), (false, "Z3"), "the card's offline limit is 500.00");
    assert_eq!(r2.engine.store().queue_stats(0).unwrap().depth, 0);
    r.host_reachable(true);
    assert_eq!(r.engine.flush().unwrap().forwarded, 2);
    assert_eq!(r.ledger().charged("default"), 5000);
}

#[test]
fn an_old_queue_blocks_new_offline_sales_but_is_still_forwarded() {
    let mut r = Rig::signed_in_with(|c| c.offline.max_age_secs = 3600);
    // An hour on must not cross midnight (a new day's sign-in) whenever this runs.
    r.at_beijing_noon();
    r.host_reachable(false);
    assert!(r.sale("default", 100).unwrap().approved);
    r.clock.advance(3601);
    let e = r.sale("default", 100).unwrap_err();
    assert_eq!(e.kind, ErrorKind::OfflineLimit);
    assert!(e.message.contains("oldest"), "{e}");
    let list = r.engine.store().queue_list(10).unwrap();
    assert_eq!(list.len(), 1);
    assert!(r.engine.store().queue_stats(r.engine.store_now()).unwrap().oldest_age > 3600);
    r.host_reachable(true);
    assert_eq!(r.engine.flush().unwrap().forwarded, 1);
    assert_eq!(r.ledger().charged("default"), 100);
}

/// An offline sale of `amount` whose advice the host took but whose answer
/// was lost: still queued on the terminal, charged on the host.
fn offline_sale_whose_advice_answer_was_lost(amount: u64) -> (Rig, posd::engine::TxnResult) {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    let res = r.sale("default", amount).unwrap();
    r.host_reachable(true);
    r.faults(Faults { lose_reply: 1, ..Default::default() });
    let f = r.engine.flush().unwrap();
    assert_eq!((f.forwarded, f.remaining), (0, 1), "no answer: still queued");
    assert_eq!(r.ledger().charged("default"), amount as i64, "the host took it the first time");
    (r, res)
}

#[test]
fn a_lost_advice_answer_is_resent_with_its_stan_and_charged_once() {
    let (mut r, res) = offline_sale_whose_advice_answer_was_lost(4200);
    let f = r.engine.flush().unwrap();
    assert_eq!(f.forwarded, 1);
    let ledger = r.ledger();
    assert_eq!(ledger.charged("default"), 4200, "the repeat was recognised by TID, batch and STAN");
    assert_eq!(ledger.entries("10000001", 1, res.stan).len(), 1);
}

/// Fault matrix: the host answers `94` (duplicate) to a replayed advice it
/// processed but no longer holds the answer of. The advice counts as
/// delivered: approved in the journal with its offline code, off the
/// queue, charged once, never sent again.
#[test]
fn a_replayed_advice_the_host_answers_94_counts_as_delivered_once() {
    let (mut r, res) = offline_sale_whose_advice_answer_was_lost(4300);
    r.sim.h.forget_held_answers();
    let f = r.engine.flush().unwrap();
    assert_eq!((f.forwarded, f.declined, f.remaining), (1, 0, 0), "{f:?}");
    let e = r.engine.store().entry_by_stan(Kind::Sale, 1, res.stan).unwrap().unwrap();
    assert_eq!((e.state, e.response_code.as_str()), (EntryState::Approved, res.response_code.as_str()), "{e:?}");
    assert_eq!(r.engine.flush().unwrap().forwarded, 0, "nothing left to send");
    let db = rusqlite::Connection::open(r.db_path()).unwrap();
    let outcome: String = db.query_row("SELECT advice_outcome FROM journal WHERE id = ?1", [e.id], |row| row.get(0)).unwrap();
    assert_eq!(outcome, "94", "the replay was answered 94, not with a held answer");
    let ledger = r.ledger();
    assert_eq!(ledger.charged("default"), 4300);
    assert_eq!(ledger.entries("10000001", 1, res.stan).len(), 1, "processed once");
}

#[test]
fn a_declined_advice_is_kept_as_advice_declined_and_not_retried() {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    let res = r.sale("default", 900).unwrap();
    r.host_reachable(true);
    r.faults(Faults { response_code: Some("05".into()), response_code_count: 1, response_code_for: Some(Exchange::OfflineAdvice), ..Default::default() });
    let f = r.engine.flush().unwrap();
    assert_eq!((f.forwarded, f.declined, f.remaining), (1, 1, 0));
    let e = r.engine.store().entry_by_stan(Kind::Sale, 1, res.stan).unwrap().unwrap();
    assert_eq!(e.state, EntryState::AdviceDeclined);
    assert_eq!(r.engine.flush().unwrap().forwarded, 0);
}

#[test]
fn host_system_errors_keep_advices_queued() {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    r.sale("default", 100).unwrap();
    r.host_reachable(true);
    r.faults(Faults { response_code: Some("96".into()), response_code_count: ALWAYS, response_code_for: Some(Exchange::OfflineAdvice), ..Default::default() });
    assert_eq!(r.engine.flush().unwrap().remaining, 1);
    r.clear_faults();
    assert_eq!(r.engine.flush().unwrap().forwarded, 1);
    assert_eq!(r.ledger().charged("default"), 100);
}

#[test]
fn unbind_is_busy_while_advices_wait() {
    let mut r = Rig::signed_in();
    r.host_reachable(false);
    r.sale("default", 100).unwrap();
    assert_eq!(r.engine.unbind().unwrap_err().kind, ErrorKind::Busy);
    r.host_reachable(true);
    r.engine.flush().unwrap();
    r.engine.unbind().unwrap();
    assert!(!r.engine.store().identity().unwrap().unwrap().is_bound());
}
