//! The acquirer simulator end to end over loopback TCP: every exchange of
//! acquirer-protocol.md §3 by an independent test terminal, each answer of
//! §5 the host gives, the ledger afterwards, and every injectable fault.

use smartpos_proto::codec::{Message, Mti};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::{balance54, original61::Original, reserved60::Field60, settlement48::Settlement48};
use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::acquirer::control::ControlClient;
use smartpos_tests::acquirer::faults::{ALWAYS, Faults};
use smartpos_tests::test_terminal::{CardRead, TestTerminal};
use smartpos_vcard::card::{VirtualCard, cid};
use smartpos_vcard::testdata::TestData;

fn card(label: &str) -> VirtualCard {
    let d = TestData::embedded();
    VirtualCard::new(d.card(label).unwrap(), &d.issuer.imk_ac).unwrap()
}

fn terminal(s: &LocalSim) -> TestTerminal {
    let mut t = TestTerminal::new(s.h.addr, "SP2026000123");
    assert_eq!(t.activate("483920").unwrap().0, "00");
    assert_eq!(t.sign_in().unwrap().get_str(39), Some("00"));
    t
}

fn rc(m: &Message) -> &str {
    m.get_str(39).unwrap_or("")
}

/// A sale as a terminal does it: card, request, second GENERATE AC.
fn sale(t: &mut TestTerminal, label: &str, amount: u64, pin: Option<&str>) -> (Message, CardRead, u8) {
    let mut c = card(label);
    let read = TestTerminal::read_card(&mut c, amount, 0x00, cid::ARQC);
    let req = t.card_request(Exchange::Sale, &read, amount, pin);
    let reply = t.exchange(req, true).unwrap().frame.message;
    let second = TestTerminal::complete(&mut c, &read, rc(&reply), reply.get(55));
    (reply, read, second)
}

fn pin_of(label: &str) -> String {
    TestData::embedded().card(label).unwrap().pin.clone()
}

#[test]
fn activation_binds_and_refuses_unknown_codes_and_serials() {
    let s = LocalSim::start();
    let mut t = TestTerminal::new(s.h.addr, "SP2026000123");
    assert_eq!(t.activate("000000").unwrap().0, "03");
    let (code, reply) = t.activate("483920").unwrap();
    assert_eq!(code, "00");
    let reply = reply.unwrap();
    assert_eq!((t.tid.as_str(), t.mid.as_str()), ("10000001", "898110000000001"));
    assert_eq!(reply.merchant_name, "测试便利店 Test Mart");
    assert_eq!((reply.deposit_amount, reply.deposit_status), (5900, 'P'));
    assert!(t.tmk.is_some(), "TMK unwrapped with a matching check value");

    let mut blocked = TestTerminal::new(s.h.addr, "SPBLOCKED0001");
    assert_eq!(blocked.activate("483920").unwrap().0, "97");

    // Another serial signing in as the bound TID gets 97.
    let mut other = TestTerminal::new(s.h.addr, "SP2026999999");
    other.tid = t.tid.clone();
    other.mid = t.mid.clone();
    other.tmk = t.tmk.clone();
    assert_eq!(rc(&other.sign_in().unwrap()), "97");
}

#[test]
fn sign_in_delivers_checked_keys_and_the_batch() {
    let s = LocalSim::start();
    let t = terminal(&s);
    assert!(t.keys.is_some());
    assert_eq!(t.batch, 1);
    let l = s.h.ledger();
    assert!(l.terminals[0].signed_in);
}

#[test]
fn balance_inquiry_reports_the_issuer_balance_and_moves_no_money() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let mut c = card("default");
    let read = TestTerminal::read_card(&mut c, 0, 0x31, cid::ARQC);
    let r = t.send_card(Exchange::BalanceInquiry, &read, 0, Some(&pin_of("default"))).unwrap().frame.message;
    assert_eq!(rc(&r), "00");
    assert_eq!(balance54::parse(r.get_str(54).unwrap()).unwrap(), 10_000_000);
    assert_eq!(TestTerminal::complete(&mut c, &read, "00", r.get(55)), cid::TC, "the card accepts the ARPC");
    assert_eq!(s.h.ledger().charged("default"), 0);
}

#[test]
fn a_sale_is_charged_once_and_the_card_accepts_the_arpc() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let (r, _, second) = sale(&mut t, "default", 1234, Some(&pin_of("default")));
    assert_eq!(rc(&r), "00");
    assert_eq!(second, cid::TC);
    for f in [2, 3, 4, 11, 12, 13, 15, 32, 37, 38, 39, 41, 42, 44, 49, 55, 60, 64] {
        assert!(r.has(f), "field {f} missing from the sale reply");
    }
    let l = s.h.ledger();
    assert_eq!(l.charged("default"), 1234);
    assert_eq!(l.balances["default"], 10_000_000 - 1234);
    assert_eq!(l.standing(Exchange::Sale).len(), 1);
    assert!(l.transactions[0].masked_pan.contains("****"));
}

#[test]
fn declines_of_the_test_cards() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    // Insufficient funds.
    let (r, _, second) = sale(&mut t, "low-balance", 500, Some(&pin_of("low-balance")));
    assert_eq!(rc(&r), "51");
    assert_eq!(second, cid::AAC);
    // A foreign card works the same way.
    assert_eq!(rc(&sale(&mut t, "visa", 100, Some(&pin_of("visa"))).0), "00");
    // Expired card (if one reaches the host).
    let mut c = card("expired");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert_eq!(rc(&t.send_card(Exchange::Sale, &read, 100, Some("222222")).unwrap().frame.message), "54");
    // Blocked card (its AAC sent anyway): lost/stolen.
    let mut c = card("blocked");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert_eq!(rc(&t.send_card(Exchange::Sale, &read, 100, Some("333333")).unwrap().frame.message), "41");
    // A tampered cryptogram is 05; field 2 disagreeing with field 35 is 14.
    let mut c = card("default");
    let mut read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let pos = read.icc.windows(3).position(|w| w == [0x9F, 0x26, 0x08]).unwrap() + 3;
    read.icc[pos] ^= 1;
    assert_eq!(rc(&t.send_card(Exchange::Sale, &read, 100, Some("123456")).unwrap().frame.message), "05");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let mut m = t.card_request(Exchange::Sale, &read, 100, Some("123456"));
    m.set(2, "6228480000000000026");
    assert_eq!(rc(&t.exchange(m, true).unwrap().frame.message), "14");
    // A PIN block that is not format 0 under the PIK: 99.
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let mut m = t.card_request(Exchange::Sale, &read, 100, Some("123456"));
    m.set(52, vec![0u8; 8]);
    assert_eq!(rc(&t.exchange(m, true).unwrap().frame.message), "99");
    assert_eq!(s.h.ledger().charged("default"), 0);
}

#[test]
fn wrong_pins_give_55_then_75_until_the_issuer_resets() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let codes: Vec<String> = ["000000", "111111", "222222", "123456"].iter().map(|p| rc(&sale(&mut t, "default", 100, Some(p)).0).to_string()).collect();
    assert_eq!(codes, ["55", "55", "75", "75"]);
    let mut ctl = ControlClient::connect(s.h.control_addr).unwrap();
    ctl.call(&serde_json::json!({"cmd": "reset_pin_tries", "card": "default"})).unwrap();
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("123456")).0), "00");
    // A right PIN before the third wrong one resets the count.
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("000000")).0), "55");
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("123456")).0), "00");
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("000000")).0), "55");
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("000000")).0), "55");
}

#[test]
fn void_once_with_the_exact_original() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let (r, read, _) = sale(&mut t, "default", 5000, Some("123456"));
    let stan = t.stan;
    let mut wrong = r.clone();
    wrong.set(37, "999999999999");
    assert_eq!(rc(&t.void(&wrong, &read, stan, 5000).unwrap()), "25", "wrong RRN");
    assert_eq!(rc(&t.void(&r, &read, stan, 4000).unwrap()), "13", "wrong amount");
    let v = t.void(&r, &read, stan, 5000).unwrap();
    assert_eq!(rc(&v), "00");
    assert_eq!(v.get_str(38), r.get_str(38), "the void carries the original auth code");
    assert_ne!(v.get_str(37), r.get_str(37), "and a new RRN");
    assert_eq!(rc(&t.void(&r, &read, stan, 5000).unwrap()), "12", "second void");
    assert_eq!(s.h.ledger().charged("default"), 0);
}

fn refund(t: &mut TestTerminal, read: &CardRead, rrn: &str, orig: Original, amount: u64, stan: Option<u32>) -> Message {
    let mut m = t.card_request(Exchange::Refund, read, amount, None);
    if let Some(s) = stan {
        t.stan -= 1;
        m.set(11, format!("{s:06}"));
    }
    m.set(37, rrn).set(61, orig.encode());
    t.exchange(m, true).unwrap().frame.message
}

#[test]
fn refunds_partial_by_journal_or_by_rrn_and_repeats_answered_once() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let (r, read, _) = sale(&mut t, "default", 10_000, Some("123456"));
    let (sale_stan, rrn, date) = (t.stan, r.get_str(37).unwrap().to_string(), r.get_str(13).unwrap().to_string());
    let by_journal = Original { batch: t.batch, stan: sale_stan, date: Some(date.clone()) };
    assert_eq!(rc(&refund(&mut t, &read, &rrn, by_journal.clone(), 3000, None)), "00");
    let repeat_stan = t.stan;
    let by_rrn = Original { batch: 0, stan: 0, date: Some(date.clone()) };
    assert_eq!(rc(&refund(&mut t, &read, &rrn, by_rrn.clone(), 2000, None)), "00");
    assert_eq!(rc(&refund(&mut t, &read, &rrn, by_rrn.clone(), 5001, None)), "13", "more than remains");
    assert_eq!(rc(&refund(&mut t, &read, "000000000000", by_rrn, 1, None)), "25");
    // The repeat of the first refund gets the same answer and moves no money.
    let again = refund(&mut t, &read, &rrn, by_journal.clone(), 3000, Some(repeat_stan));
    assert_eq!(rc(&again), "00");
    assert_eq!(s.h.ledger().charged("default"), 10_000 - 5000);
    // A sale with a refund against it can no longer be voided.
    assert_eq!(rc(&t.void(&r, &read, sale_stan, 10_000).unwrap()), "12");
}

#[test]
fn offline_advices_are_charged_exactly_once_even_past_the_balance() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let mut c = card("low-balance");
    let read = TestTerminal::read_card(&mut c, 40_000, 0, cid::TC);
    assert_eq!(read.cid, cid::TC);
    let first = t.offline_advice(&read, 40_000, None).unwrap();
    assert_eq!(rc(&first), "00");
    let stan = t.stan;
    let again = t.offline_advice(&read, 40_000, Some(stan)).unwrap();
    assert_eq!(again.get_str(37), first.get_str(37), "a repeat gets the original answer");
    let l = s.h.ledger();
    assert_eq!(l.charged("low-balance"), 40_000);
    assert_eq!(l.balances["low-balance"], 100 - 40_000, "an offline approval binds the issuer");
    // A cryptogram that does not verify is declined (05), and held as such.
    let mut bad = TestTerminal::read_card(&mut c, 100, 0, cid::TC);
    bad.icc[5] ^= 0xFF;
    assert_eq!(rc(&t.offline_advice(&bad, 100, None).unwrap()), "05");
    assert_eq!(s.h.ledger().charged("low-balance"), 40_000);
}

fn reversal_of(t: &mut TestTerminal, original: &Message, reason: &str) -> Message {
    let mut m = original.clone();
    for f in [26, 35, 52, 53, 59, 64] {
        m.remove(f);
    }
    m.mti = Mti(400);
    m.set(39, reason);
    t.exchange(m, true).unwrap().frame.message
}

#[test]
fn reversals_undo_exactly_once_and_check_the_original() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let mut c = card("default");
    let read = TestTerminal::read_card(&mut c, 7000, 0, cid::ARQC);
    let req = t.card_request(Exchange::Sale, &read, 7000, Some("123456"));
    assert_eq!(rc(&t.exchange(req.clone(), true).unwrap().frame.message), "00");
    assert_eq!(s.h.ledger().charged("default"), 7000);
    let mut wrong_amount = req.clone();
    wrong_amount.set(4, "000000006999");
    assert_eq!(rc(&reversal_of(&mut t, &wrong_amount, "98")), "25");
    assert_eq!(rc(&reversal_of(&mut t, &req, "98")), "00");
    assert_eq!(s.h.ledger().charged("default"), 0);
    assert_eq!(rc(&reversal_of(&mut t, &req, "98")), "00", "again: no effect");
    assert_eq!(s.h.ledger().charged("default"), 0);
    // Unknown original: 00, nothing moves. A balance inquiry is not reversible: 12.
    let mut unknown = req.clone();
    unknown.set(11, "999999");
    assert_eq!(rc(&reversal_of(&mut t, &unknown, "98")), "00");
    let read = TestTerminal::read_card(&mut c, 0, 0x31, cid::ARQC);
    let bal = t.card_request(Exchange::BalanceInquiry, &read, 0, Some("123456"));
    assert_eq!(rc(&t.exchange(bal.clone(), true).unwrap().frame.message), "00");
    let mut bal_rev = bal.clone();
    bal_rev.remove(4);
    let mut m = bal_rev;
    for f in [26, 35, 52, 53, 59, 64] {
        m.remove(f);
    }
    m.mti = Mti(400);
    m.set(4, "000000000000").set(39, "98");
    assert_eq!(rc(&t.exchange(m, true).unwrap().frame.message), "12");
    assert_eq!(s.h.ledger().standing(Exchange::Sale).len(), 0);
}

#[test]
fn host_system_answers_mac_keys_batch_format_and_unknown_types() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    // A wrong MAC: A0, itself MACed.
    let mut c = card("default");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let req = t.card_request(Exchange::Sale, &read, 100, Some("123456"));
    let good_keys = t.keys.take();
    let reply = t.exchange(req, true).unwrap();
    t.keys = good_keys;
    assert_eq!(rc(&reply.frame.message), "A0");
    assert!(reply.mac_block.is_some());
    // Batch mismatch: 77.
    t.batch += 1;
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("123456")).0), "77");
    t.batch -= 1;
    // Format error in a field value: 30.
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let mut m = t.card_request(Exchange::Sale, &read, 100, Some("123456"));
    m.remove(14);
    assert_eq!(rc(&t.exchange(m, true).unwrap().frame.message), "30");
    // Unknown message type: 40.
    let m = Message::new(Mti(600)).with(11, "000123").with(41, t.tid.as_str()).with(42, t.mid.as_str());
    assert_eq!(rc(&t.exchange(m, false).unwrap().frame.message), "40");
    // A 0200 that is no exchange of §3 (balance inquiry's processing code
    // with a sale's 60.1 `22`, or an unknown 60.1 `99`): 40, not 30, and
    // nothing charged; so is a 0820 with §8's 60.3 `372` (not a sign-out).
    for type_code in ["22", "99"] {
        let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
        let mut m = t.card_request(Exchange::BalanceInquiry, &read, 0, Some("123456"));
        let f60 = m.get_str(60).unwrap().to_string();
        m.set(60, format!("{type_code}{}", &f60[2..]));
        assert_eq!(Exchange::identify(&m), None);
        assert_eq!(rc(&t.exchange(m, true).unwrap().frame.message), "40", "3 = 310000 with 60.1 = {type_code}");
    }
    let f60 = |net: &str| format!("00{:06}{net}", t.batch);
    let m = Message::new(Mti(820)).with(11, "000124").with(41, t.tid.as_str()).with(42, t.mid.as_str()).with(60, f60("399"));
    assert_eq!(rc(&t.exchange(m, false).unwrap().frame.message), "40");
    // After sign-out the host holds no keys: 22 without a MAC.
    assert_eq!(rc(&t.sign_out().unwrap()), "00");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let reply = t.send_card(Exchange::Sale, &read, 100, Some("123456")).unwrap();
    assert_eq!(rc(&reply.frame.message), "22");
    assert!(reply.mac_block.is_none());
    // An unparsable request: the host closes without a reply.
    assert!(t.send_raw(&[0x00, 0x03, 0x60, 0x00, 0x03]).is_err());
    assert_eq!(s.h.ledger().charged("default"), 0);
}

#[test]
fn settlement_balanced_then_unbalanced_with_batch_upload() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let (r, read, _) = sale(&mut t, "default", 1000, Some("123456"));
    let sale_stan = t.stan;
    assert_eq!(rc(&t.void(&r, &read, sale_stan, 1000).unwrap()), "00");
    assert_eq!(rc(&sale(&mut t, "visa", 2500, Some("4321")).0), "00");
    let mut totals = Settlement48::default();
    totals.unionpay.debit_amount = 1000;
    totals.unionpay.debit_count = 1;
    totals.unionpay.credit_amount = 1000;
    totals.unionpay.credit_count = 1;
    totals.other.debit_amount = 2500;
    totals.other.debit_count = 1;
    let reply = t.settle(&totals).unwrap();
    assert_eq!(rc(&reply), "00");
    assert!(Settlement48::parse(reply.get_str(48).unwrap()).unwrap().balanced());
    assert_eq!(rc(&t.upload_end("207", 3).unwrap()), "00");
    assert_eq!(s.h.ledger().terminals[0].batch, 2, "the batch closed on the host");

    // Next batch: the terminal's totals are off, so it uploads the sale.
    t.batch = 2;
    assert_eq!(rc(&sale(&mut t, "default", 700, Some("123456")).0), "00");
    let stan = t.stan;
    let mut wrong = Settlement48::default();
    wrong.unionpay.debit_amount = 600;
    wrong.unionpay.debit_count = 1;
    let r48 = Settlement48::parse(t.settle(&wrong).unwrap().get_str(48).unwrap()).unwrap();
    assert_eq!(r48.flags, (2, 1));
    let mut c = card("default");
    let read = TestTerminal::read_card(&mut c, 700, 0, cid::ARQC);
    let m = Message::new(Mti(320))
        .with(2, read.pan.as_str())
        .with(3, "000000")
        .with(4, "000000000700")
        .with(11, format!("{stan:06}"))
        .with(22, "051")
        .with(23, "001")
        .with(41, t.tid.as_str())
        .with(42, t.mid.as_str())
        .with(55, read.icc.clone())
        .with(60, Field60::new("00", 2, "205", None).encode());
    assert_eq!(rc(&t.exchange(m, false).unwrap().frame.message), "00");
    assert_eq!(rc(&t.upload_end("202", 1).unwrap()), "00");
    let l = s.h.ledger();
    assert_eq!(l.settlements.len(), 2);
    assert_eq!(l.settlements[1].uploaded, vec![stan]);
    assert_eq!(l.terminals[0].batch, 3);
}

#[test]
fn faults_refuse_drop_lose_delay_bad_mac_garbage_code_and_resign() {
    let s = LocalSim::start();
    let mut t = terminal(&s);
    let set = |f: Faults| s.h.set_faults(f);

    set(Faults { refuse: true, ..Default::default() });
    let err = std::net::TcpStream::connect(s.h.addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    set(Faults::default());

    // Dropped before processing: no reply, nothing charged.
    set(Faults { drop_request: 1, ..Default::default() });
    let mut c = card("default");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert!(t.send_card(Exchange::Sale, &read, 100, Some("123456")).is_err());
    assert_eq!(s.h.ledger().charged("default"), 0);

    // Lost reply: processed (charged), no reply.
    set(Faults { lose_reply: 1, ..Default::default() });
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert!(t.send_card(Exchange::Sale, &read, 100, Some("123456")).is_err());
    assert_eq!(s.h.ledger().charged("default"), 100);

    // Truncated reply: processed, half a frame.
    set(Faults { truncate_reply: 1, ..Default::default() });
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert!(t.send_card(Exchange::Sale, &read, 100, Some("123456")).unwrap_err().starts_with("io"));

    // Late reply.
    set(Faults { delay_ms: 300, delay_count: 1, ..Default::default() });
    let started = std::time::Instant::now();
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("123456")).0), "00");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    // Bad MAC on the reply.
    set(Faults { bad_mac: 1, ..Default::default() });
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert_eq!(t.send_card(Exchange::Sale, &read, 100, Some("123456")).unwrap_err(), "reply MAC does not verify");

    // Garbage reply.
    set(Faults { garbage: 1, ..Default::default() });
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    assert!(t.send_card(Exchange::Sale, &read, 100, Some("123456")).unwrap_err().starts_with("decode"));

    // A chosen response code, only for sales, without processing.
    let before = s.h.ledger().charged("default");
    set(Faults { response_code: Some("96".into()), response_code_count: 1, response_code_for: Some(Exchange::Sale), ..Default::default() });
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("123456")).0), "96");
    assert_eq!(s.h.ledger().charged("default"), before);
    assert_eq!(rc(&sale(&mut t, "default", 100, Some("123456")).0), "00", "the fault was used up");

    // Ask for a new sign-in in the header.
    set(Faults { resign: ALWAYS, ..Default::default() });
    let mut c = card("default");
    let read = TestTerminal::read_card(&mut c, 100, 0, cid::ARQC);
    let d = t.send_card(Exchange::Sale, &read, 100, Some("123456")).unwrap();
    assert_eq!(d.frame.header.unwrap().processing, 3);

    // The control socket sees and clears the faults.
    let mut ctl = ControlClient::connect(s.h.control_addr).unwrap();
    assert_eq!(ctl.call(&serde_json::json!({"cmd": "faults"})).unwrap()["resign"], ALWAYS);
    ctl.call(&serde_json::json!({"cmd": "clear_faults"})).unwrap();
    assert_eq!(s.h.shared.faults(), Faults::default());
    assert!(ctl.call(&serde_json::json!({"cmd": "nonsense"})).is_err());
    assert!(ctl.ledger().unwrap().postings.len() >= 4);
}
