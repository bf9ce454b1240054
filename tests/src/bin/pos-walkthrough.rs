//! `pos-walkthrough`: a guided tour of the acquirer protocol against a
//! running `pos-acquirer-sim`, printing what a merchant would see and what
//! went over the wire. It drives the simulator with the project's small test
//! terminal. `scripts/demo` shows the daemon (posd + posctl); this shows the wire.

#![forbid(unsafe_code)]

use clap::Parser;
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::settlement48::Settlement48;
use smartpos_proto::response_code;
use smartpos_tests::acquirer::control::ControlClient;
use smartpos_tests::test_terminal::TestTerminal;
use smartpos_vcard::card::{VirtualCard, cid};
use smartpos_vcard::testdata::TestData;
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Walk through bind, sign-in, payments and settlement against pos-acquirer-sim")]
struct Cli {
    #[arg(long, default_value = "127.0.0.1:5800")]
    host: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:5801")]
    control: SocketAddr,
}

fn amount(fen: u64) -> String {
    format!("{}.{:02} CNY", fen / 100, fen % 100)
}

fn say(step: &str, text: &str) {
    println!("\n\x1b[1m== {step}\x1b[0m\n{text}");
}

fn outcome(m: &Message) -> String {
    let code = m.get_str(39).unwrap_or("??");
    let rc = response_code::lookup(code);
    format!("response {code} ({}){}", rc.meaning, rc.category.map(|c| format!(", category {}", c.as_str())).unwrap_or_default())
}

fn run(cli: &Cli) -> Result<(), String> {
    let data = TestData::embedded();
    let card = |label: &str| VirtualCard::new(data.card(label).expect("card"), &data.issuer.imk_ac).map_err(|e| e.to_string());
    let mut t = TestTerminal::new(cli.host, "SP2026000123");

    say("1. Bind the terminal", "Activation code 483920, hardware serial SP2026000123; the terminal sends its RSA-2048 public key.");
    let (code, reply) = t.activate("483920")?;
    let reply = reply.ok_or(format!("activation refused: {code}"))?;
    println!("  bound as TID {} / MID {} — {}", t.tid, t.mid, reply.merchant_name);
    println!(
        "  device deposit: {} ({})",
        amount(reply.deposit_amount),
        match reply.deposit_status {
            'P' => "paid",
            'U' => "unpaid",
            'R' => "refunded",
            _ => "waived",
        }
    );

    say("2. Sign in", "Working keys PIK/MAK/TDK arrive under the TMK; each is checked by its check value.");
    let r = t.sign_in()?;
    println!("  {} — batch {:06}", outcome(&r), t.batch);

    say("3. Sale 12.34 CNY, PIN entered", "Card default (UnionPay Debit): SELECT, GPO, READ RECORD, GENERATE AC (ARQC), PIN block under the PIK, MAC.");
    let mut c = card("default")?;
    let read = TestTerminal::read_card(&mut c, 1234, 0x00, cid::ARQC);
    let sale = t.send_card(Exchange::Sale, &read, 1234, Some("123456"))?.frame.message;
    let sale_stan = t.stan;
    let second = TestTerminal::complete(&mut c, &read, sale.get_str(39).unwrap_or("05"), sale.get(55));
    println!(
        "  {} — RRN {} auth {} — card's second GENERATE AC: {}",
        outcome(&sale),
        sale.get_str(37).unwrap_or(""),
        sale.get_str(38).unwrap_or(""),
        if second == cid::TC { "TC (approved)" } else { "AAC (declined)" }
    );

    say("4. Sale 5.00 CNY on a card with 1.00 CNY", "Card low-balance: the issuer declines.");
    let mut c2 = card("low-balance")?;
    let read2 = TestTerminal::read_card(&mut c2, 500, 0x00, cid::ARQC);
    let declined = t.send_card(Exchange::Sale, &read2, 500, Some("111111"))?.frame.message;
    println!("  {} — shown to the merchant as a decline, not an error", outcome(&declined));

    say("5. Void the first sale", "Same batch; field 61 names the original batch and STAN.");
    let read = TestTerminal::read_card(&mut c, 1234, 0x00, cid::ARQC);
    let void = t.void(&sale, &read, sale_stan, 1234)?;
    println!("  {}", outcome(&void));

    say("6. Offline sale 88.00 CNY", "The host is unreachable; the card approves offline with a TC, and the advice is forwarded when the host is back.");
    let mut ctl = ControlClient::connect(cli.control).map_err(|e| e.to_string())?;
    ctl.call(&serde_json::json!({"cmd": "set_faults", "faults": {"refuse": true}}))?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut probe = TestTerminal::new(cli.host, "probe");
    println!("  host reachable? {}", if probe.send_raw(&[0, 0]).is_ok() { "yes" } else { "no — going offline" });
    let offline = TestTerminal::read_card(&mut c, 8800, 0x00, cid::TC);
    println!("  card answered {}", if offline.cid == cid::TC { "TC: approved offline (Y1)" } else { "not TC" });
    ctl.call(&serde_json::json!({"cmd": "clear_faults"}))?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    println!("  host back; advice forwarded: {}", outcome(&t.offline_advice(&offline, 8800, None)?));

    say("7. Settle", "Totals from the terminal's journal: UnionPay debit 2 (12.34 + 88.00), credit 1 (void 12.34).");
    let mut totals = Settlement48::default();
    totals.unionpay.debit_amount = 1234 + 8800;
    totals.unionpay.debit_count = 2;
    totals.unionpay.credit_amount = 1234;
    totals.unionpay.credit_count = 1;
    let settled = t.settle(&totals)?;
    let balanced = Settlement48::parse(settled.get_str(48).unwrap_or("")).map(|s| s.balanced()).unwrap_or(false);
    println!("  {} — {}", outcome(&settled), if balanced { "balanced" } else { "not balanced" });
    println!("  batch closed: {}", outcome(&t.upload_end("207", 3)?));
    println!("  signed out: {}", outcome(&t.sign_out()?));

    say("8. The acquirer's ledger", "What the host charged (card numbers masked):");
    let ledger = ctl.ledger()?;
    for tx in &ledger.transactions {
        println!("  {:<16} STAN {:06} {:<12} {:>14}  {}  {:?}", format!("{:?}", tx.exchange), tx.stan, tx.card, amount(tx.amount), tx.masked_pan, tx.state);
    }
    println!("  charged to card default: {}", amount(ledger.charged("default") as u64));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => {
            println!("\nwalk-through complete");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pos-walkthrough: {e}");
            ExitCode::FAILURE
        }
    }
}
