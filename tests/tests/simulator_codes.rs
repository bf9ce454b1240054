//! The acquirer simulator's payment codes (§11) over loopback TCP, by the
//! independent test terminal: the wallets of `test-cards.toml` approve
//! once, refuse reuse (`12`), unknown codes (`14`) and short balances
//! (`51`); a payment above the wallet's confirmation limit is answered
//! `Q1` and confirmed by a status inquiry once the customer has confirmed,
//! charged once; with the customer never confirming it stays `Q1` and a
//! reversal ends it uncharged. Each asserts the host's ledger.

use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::test_terminal::TestTerminal;
use smartpos_vcard::testdata::TestData;
use std::time::{Duration, Instant};

fn terminal(s: &LocalSim) -> TestTerminal {
    let mut t = TestTerminal::new(s.h.addr, "SP2026000123");
    assert_eq!(t.activate("483920").unwrap().0, "00");
    assert_eq!(t.sign_in().unwrap().get_str(39), Some("00"));
    t
}

fn code_of(label: &str) -> String {
    TestData::embedded().payment_codes.iter().find(|c| c.label == label).unwrap().code.clone()
}

fn send(t: &mut TestTerminal, m: Message) -> Message {
    t.exchange(m, true).unwrap().frame.message
}

fn rc(m: &Message) -> String {
    m.get_str(39).unwrap_or_default().to_string()
}

#[test]
fn a_code_pays_once_and_reuse_unknown_and_short_balance_are_refused() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let wallet = code_of("wallet");
    let req = t.code_sale_request(&wallet, 1_234);
    let r = send(&mut t, req);
    assert_eq!(rc(&r), "00");
    assert!(r.get_str(37).is_some_and(|rrn| rrn.len() == 12) && r.get_str(38).is_some(), "RRN and auth code: {r:?}");
    let req = t.code_sale_request(&wallet, 1_234);
    assert_eq!(rc(&send(&mut t, req)), "12", "a code pays once");
    let req = t.code_sale_request("6259000000000009999", 100);
    assert_eq!(rc(&send(&mut t, req)), "14");
    let req = t.code_sale_request(&code_of("wallet-poor"), 501);
    assert_eq!(rc(&send(&mut t, req)), "51");
    let ledger = s.h.ledger();
    assert_eq!((ledger.charged("wallet"), ledger.charged("wallet-poor")), (1_234, 0));
    // A code sale that carries a card field (14, the expiry) is malformed: 30.
    let mut req = t.code_sale_request(&code_of("wallet-poor"), 100);
    req.set(14, "3012");
    assert_eq!(rc(&send(&mut t, req)), "30");
}

#[test]
fn above_the_confirmation_limit_the_host_says_q1_until_the_customer_confirms() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let code = code_of("wallet-confirm");
    let amount = 150_000; // above 1,000.00
    let req = t.code_sale_request(&code, amount);
    let sale_stan = t.stan;
    let r = send(&mut t, req);
    assert_eq!(rc(&r), "Q1");
    assert_eq!(s.h.ledger().charged("wallet-confirm"), 0, "nothing charged before the customer confirms");
    // Poll as the terminal does (every 2 s in §11; faster here) until final.
    let deadline = Instant::now() + Duration::from_secs(30);
    let last = loop {
        let req = t.code_status_request(&code, amount, sale_stan);
        let r = send(&mut t, req);
        if rc(&r) != "Q1" {
            break r;
        }
        assert!(Instant::now() < deadline, "never confirmed");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(rc(&last), "00", "{last:?}");
    assert_eq!(last.get_str(37), r.get_str(37), "the sale's RRN");
    // An inquiry after the final answer repeats it; nothing is charged twice.
    let req = t.code_status_request(&code, amount, sale_stan);
    assert_eq!(rc(&send(&mut t, req)), "00");
    assert_eq!(s.h.ledger().charged("wallet-confirm"), amount as i64);
}

#[test]
fn a_customer_who_never_confirms_leaves_q1_and_the_reversal_charges_nothing() {
    let s = LocalSim::start();
    s.h.set_faults(Faults { never_confirm: true, ..Faults::default() });
    let mut t = terminal(&s);
    let code = code_of("wallet-confirm");
    let amount = 200_000;
    let req = t.code_sale_request(&code, amount);
    let sale_stan = t.stan;
    let sale = req.clone();
    assert_eq!(rc(&send(&mut t, req)), "Q1");
    for _ in 0..3 {
        let req = t.code_status_request(&code, amount, sale_stan);
        assert_eq!(rc(&send(&mut t, req)), "Q1");
    }
    // The terminal's deadline passes: it reverses the sale (§6, reason 98).
    let mut rev = Message::new(Exchange::Reversal.spec().mti);
    for f in smartpos_proto::exchange::reversal_request_fields(Exchange::Sale) {
        if let Some(v) = sale.get(f) {
            rev.set(f, v);
        }
    }
    rev.set(39, "98");
    assert_eq!(rc(&send(&mut t, rev)), "00");
    let req = t.code_status_request(&code, amount, sale_stan);
    assert_eq!(rc(&send(&mut t, req)), "25", "a reversed sale is no longer pending");
    assert_eq!(s.h.ledger().charged("wallet-confirm"), 0);
}
