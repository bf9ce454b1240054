//! `pos-engine-driver`: runs `posd`'s engine in a process of its own over a
//! state directory, the simulated reader and keypad, and a running
//! `pos-acquirer-sim`, performing a list of operations. The crash tests
//! start it with `POSD_FAILPOINT=<name>` (built with the `failpoints`
//! feature) or kill it at a random moment, then start it again with
//! `recover` and check the ledger. One JSON line per operation on stdout:
//! `RESULT {"op": …, "ok": …, "approved": …, "stan": …}`. `--cards FILE`
//! reads the cards from FILE instead of the repository's test-cards.toml.
//!
//! Operations: `bind`, `signin`, `sale:<card>:<amount>`, `void-last`,
//! `flush`, `settle`, `recover` (sign in, then flush), `host-down`,
//! `host-up`, `lose-reply`, `unbalanced`, `fault:<kind>` (one exchange:
//! `drop_request`, `lose_reply`, `truncate_reply`, `delay` (past the
//! response timeout), `bad_mac`, `garbage`, `resign`), `rss` (this
//! process's resident memory, kB: the soak's memory check).

#![forbid(unsafe_code)]

use clap::Parser;
use posd::engine::SaleOptions;
use serde_json::json;
use smartpos_hal::sim::{CardSlot, SimKeypad};
use smartpos_tests::acquirer::control::ControlClient;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::rig::{ACTIVATION_CODE, TestClock, open_engine, test_config};
use smartpos_vcard::card::VirtualCard;
use smartpos_vcard::testdata::TestData;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Drive posd's engine through a list of operations (crash tests)")]
struct Cli {
    #[arg(long)]
    state: PathBuf,
    #[arg(long)]
    host: SocketAddr,
    #[arg(long)]
    control: SocketAddr,
    /// The cards (a test-cards.toml); the repository's copy when absent.
    #[arg(long)]
    cards: Option<PathBuf>,
    ops: Vec<String>,
}

fn say(v: serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "RESULT {v}");
    let _ = out.flush();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Everything the engine logs goes to stderr: the secret scan reads it.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_env_filter(tracing_subscriber::EnvFilter::new(std::env::var("RUST_LOG").unwrap_or_else(|_| "debug".into())))
        .init();
    let cfg = test_config(cli.host, &cli.state);
    let data = match &cli.cards {
        None => TestData::embedded(),
        Some(path) => match TestData::load(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("pos-engine-driver: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let slot = CardSlot::new();
    let (keypad, keys) = SimKeypad::new();
    let mut engine = open_engine(&cfg, &slot, keypad, TestClock::default());
    let mut control = match ControlClient::connect(cli.control) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pos-engine-driver: control socket {}: {e}", cli.control);
            return ExitCode::FAILURE;
        }
    };
    let mut last_stan = None;
    for op in &cli.ops {
        let parts: Vec<&str> = op.split(':').collect();
        let outcome: Result<serde_json::Value, String> = match parts.as_slice() {
            ["bind"] => engine.bind(ACTIVATION_CODE).map(|b| json!({"tid": b.terminal_id})).map_err(|e| e.to_string()),
            ["signin"] => engine.sign_in().map(|s| json!({"batch": s.batch})).map_err(|e| e.to_string()),
            ["update-parameters"] => engine.update_parameters().map(|u| json!({"ca_keys": u.ca_keys, "aids": u.aids})).map_err(|e| e.to_string()),
            ["recover"] => {
                let _ = engine.sign_in();
                engine.flush().map(|f| json!({"forwarded": f.forwarded, "remaining": f.remaining, "reversals": f.reversals})).map_err(|e| e.to_string())
            }
            ["flush"] => engine.flush().map(|f| json!({"forwarded": f.forwarded, "remaining": f.remaining})).map_err(|e| e.to_string()),
            ["settle"] => engine.settle().map(|s| json!({"batch": s.batch, "balanced": s.balanced, "uploaded": s.uploaded})).map_err(|e| e.to_string()),
            ["sale", label, amount] => {
                let Some(profile) = data.card(label) else { return ExitCode::FAILURE };
                let Ok(card) = VirtualCard::new(profile, &data.issuer.imk_ac) else { return ExitCode::FAILURE };
                slot.insert(card);
                let _ = keys.type_when_asked(&format!("{}#", profile.pin));
                let r = engine.sale(amount.parse().unwrap_or(1), &SaleOptions::default());
                slot.remove();
                r.map(|t| {
                    if t.approved {
                        last_stan = Some(t.stan);
                    }
                    json!({"approved": t.approved, "offline": t.offline, "stan": t.stan, "batch": t.batch, "code": t.response_code, "card": label})
                })
                .map_err(|e| e.to_string())
            }
            ["void-last"] => match last_stan {
                Some(stan) => engine.void(stan).map(|t| json!({"approved": t.approved, "stan": t.stan, "voided": stan})).map_err(|e| e.to_string()),
                None => Err("no sale to void".into()),
            },
            ["host-down"] => control.set_faults(&Faults { refuse: true, ..Default::default() }).map(|()| json!({})),
            ["host-up"] => control.set_faults(&Faults::default()).map(|()| json!({})),
            ["lose-reply"] => control.set_faults(&Faults { lose_reply: 1, ..Default::default() }).map(|()| json!({})),
            ["unbalanced"] => control.set_faults(&Faults { unbalanced: 1, ..Default::default() }).map(|()| json!({})),
            ["fault", kind] => one_fault(kind).and_then(|f| control.set_faults(&f)).map(|()| json!({})),
            ["rss"] => smartpos_tests::posd::rss_kib("self").map(|kb| json!({"rss_kb": kb})).ok_or_else(|| "no VmRSS".to_string()),
            _ => {
                eprintln!("pos-engine-driver: unknown operation {op:?}");
                return ExitCode::FAILURE;
            }
        };
        match outcome {
            Ok(mut v) => {
                v["op"] = json!(op);
                v["ok"] = json!(true);
                say(v);
            }
            Err(e) => say(json!({"op": op, "ok": false, "error": e})),
        }
    }
    ExitCode::SUCCESS
}

/// One exchange's worth of the named fault.
fn one_fault(kind: &str) -> Result<Faults, String> {
    let mut f = Faults::default();
    match kind {
        "drop_request" => f.drop_request = 1,
        "lose_reply" => f.lose_reply = 1,
        "truncate_reply" => f.truncate_reply = 1,
        "delay" => {
            // test_config's response timeout is 1.5 s.
            f.delay_ms = 1_700;
            f.delay_count = 1;
        }
        "bad_mac" => f.bad_mac = 1,
        "garbage" => f.garbage = 1,
        "resign" => f.resign = 1,
        other => return Err(format!("unknown fault {other:?}")),
    }
    Ok(f)
}
