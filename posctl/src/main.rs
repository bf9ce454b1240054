//! `posctl`: the command line a field engineer uses over SSH. Every command
//! is one or two calls to posd's D-Bus API; human output by default,
//! `--json` for scripts.
//!
//! Exit codes: 0 done (approved), 1 declined, 2 usage, 3 the daemon
//! refused (a named error: not bound, network, host…), 4 posd or the bus
//! cannot be reached.

#![forbid(unsafe_code)]

mod progress;
mod render;
mod slip_png;

use clap::{CommandFactory, Parser, Subcommand};
use serde_json::{Map, Value as Json, json};
use smartpos_client::{self as client, Bus, CallError, Client};
use std::collections::HashMap;
use std::process::ExitCode;
use zbus::zvariant::Value;

const DECLINED: u8 = 1;
const REFUSED: u8 = 3;
const UNREACHABLE: u8 = 4;

#[derive(Debug, Parser)]
#[command(
    name = "posctl",
    version,
    about = "Control and inspect the smartpos terminal daemon (posd)",
    after_help = "Amounts are in yuan (12.34). Exit codes: 0 done/approved, 1 declined, 2 usage, 3 refused by posd (the message says why and what to do), 4 posd not reachable."
)]
struct Cli {
    /// Print what posd returned as JSON (amounts in fen).
    #[arg(long, global = true)]
    json: bool,
    /// Use the session bus.
    #[arg(long, global = true, conflicts_with = "bus")]
    session: bool,
    /// Use the bus at this address.
    #[arg(long, global = true, value_name = "ADDRESS")]
    bus: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The terminal's status page.
    Status,
    /// Activate the terminal with the code from the acquirer.
    Bind { code: String },
    /// Forget the binding and all keys.
    Unbind,
    /// Sign in (fetch working keys).
    SignIn,
    /// Sign out: drop the working keys (payments need a sign-in again).
    SignOut,
    /// The CA keys and IC parameters in force and where they came from.
    Params {
        /// Download both sets from the host now (Terminal.UpdateParameters).
        #[arg(long)]
        update: bool,
    },
    /// Take a payment: waits for the card and the PIN.
    Sale {
        /// Amount in yuan, e.g. 12.34.
        amount: String,
        /// Refuse to approve offline when the host is unreachable.
        #[arg(long)]
        no_offline: bool,
        /// Your own id for the sale, stored and returned.
        #[arg(long)]
        reference: Option<String>,
        /// Take the card by tap only (interfaces = contactless).
        #[arg(long, conflicts_with_all = ["chip", "code"])]
        tap: bool,
        /// Take the card by insert only (interfaces = contact).
        #[arg(long, conflicts_with = "code")]
        chip: bool,
        /// Take the customer's payment code only (interfaces = code).
        #[arg(long)]
        code: bool,
    },
    /// Void a sale of the current batch by its STAN.
    Void { stan: u32 },
    /// Refund a sale of an earlier batch.
    Refund {
        amount: String,
        /// The original sale's RRN (12 digits).
        rrn: String,
        /// The original sale's host date, MMDD: `host date` in its result
        /// (the host's day, which can differ from the terminal's).
        date: String,
        #[arg(long)]
        batch: Option<u32>,
        #[arg(long)]
        stan: Option<u32>,
    },
    /// Ask the card's balance.
    Balance,
    /// Print the receipt of a transaction again (both copies unless --copy),
    /// marked REPRINT.
    Reprint {
        stan: u32,
        #[arg(long, value_parser = ["merchant", "customer"])]
        copy: Option<String>,
    },
    /// Show the receipt of a transaction of the journal, as printed (58 mm).
    Receipt {
        stan: u32,
        /// Which copy: merchant or customer.
        #[arg(long, default_value = "merchant", value_parser = ["merchant", "customer"])]
        copy: String,
        /// Also draw it as an image of the paper (PNG) into this file.
        #[arg(long, value_name = "FILE")]
        png: Option<std::path::PathBuf>,
        /// The CJK font for --png (default: WenQuanYi Zen Hei Mono).
        #[arg(long, value_name = "TTF", requires = "png")]
        font: Option<std::path::PathBuf>,
    },
    /// Settle the batch.
    Settle,
    /// The offline queue.
    Queue {
        #[command(subcommand)]
        action: Option<QueueAction>,
    },
    /// The current batch's transactions, newest first (masked; what void and refund take).
    Journal {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Check network, device, host, binding and operator, with remedies
    /// (exit 3 when a check fails).
    Diagnose,
    /// Follow posd's signals live (Ctrl-C to stop).
    Monitor,
    /// Abort the running payment (before it reaches the host).
    Cancel,
    /// Drive the simulated hardware (development builds).
    Sim {
        #[command(subcommand)]
        action: SimAction,
    },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand)]
enum QueueAction {
    /// List what waits to be forwarded (masked).
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Forward now.
    Flush,
}

#[derive(Debug, Subcommand)]
enum SimAction {
    /// Insert a card of test-cards.toml.
    Insert { label: String },
    /// Take the simulated card out.
    Remove,
    /// Tap a dual-interface card of test-cards.toml on the contactless reader
    /// (it leaves the field once read).
    Tap {
        label: String,
        /// The card leaves after this many APDUs (taken away mid-read).
        #[arg(long, value_name = "APDUS")]
        leave_after: Option<u32>,
    },
    /// Show a payment code to the simulated scanner (a phone held under it),
    /// e.g. a `[[payment_code]]` of test-cards.toml.
    Scan { code: String },
    /// Press keys: digits, # enter, * clear/cancel. Presses made while no
    /// PIN is asked are dropped when PIN entry starts, as on the real keypad.
    Keys {
        keys: String,
        /// Wait until posd asks for the PIN, then press (a scripted cardholder).
        #[arg(long)]
        when_asked: bool,
    },
    /// Cut or restore the network path to the host.
    Host {
        #[arg(value_parser = ["up", "down"])]
        state: String,
    },
    /// Set the simulated modem's signal strength (0-100 %).
    Signal { percent: u32 },
    /// Set the simulated modem's state.
    ModemState {
        #[arg(value_parser = ["absent", "disabled", "searching", "registered", "connected", "failed"])]
        state: String,
    },
}

/// `12.34` / `12` yuan → fen.
fn parse_amount(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not an amount in yuan like 12.34");
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) || frac.len() > 2 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

type Dict<'a> = HashMap<&'a str, Value<'a>>;

struct Out {
    json: bool,
}

impl Out {
    fn print(&self, value: &Json, human: impl FnOnce(&Json) -> String) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
        } else {
            print!("{}", human(value));
        }
    }
}

fn map(v: &Json) -> Map<String, Json> {
    v.as_object().cloned().unwrap_or_default()
}

fn fail(out: &Out, e: CallError) -> ExitCode {
    let (code, name, message) = match e {
        CallError::Daemon { name, message } => (REFUSED, name, message),
        CallError::Bus(message) => (UNREACHABLE, "Unreachable".to_string(), message),
    };
    if out.json {
        println!("{}", json!({"error": {"name": name, "message": message}}));
    } else {
        eprintln!("error: {name}: {message}");
    }
    ExitCode::from(code)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out { json: cli.json };
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(shell, &mut Cli::command(), "posctl", &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let bus = Bus::of_flags(cli.session, cli.bus);
    let client = match Client::connect(&bus).await {
        Ok(c) => c,
        Err(e) => return fail(&out, e),
    };
    match run(&client, &out, cli.command).await {
        Ok(code) => code,
        Err(e) => fail(&out, e),
    }
}

/// A payment: follow progress while it runs; a decline exits 1.
async fn payment<B>(client: &Client, out: &Out, method: &str, body: &B) -> Result<ExitCode, CallError>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    let follower = if out.json { None } else { progress::follow(&client.conn).await };
    let result = client.call("Payment", method, body).await;
    progress::finish(follower);
    let r = result?;
    out.print(&r, |v| render::txn(&map(v)));
    Ok(if r.get("approved").and_then(Json::as_bool).unwrap_or(false) { ExitCode::SUCCESS } else { ExitCode::from(DECLINED) })
}

async fn run(client: &Client, out: &Out, command: Command) -> Result<ExitCode, CallError> {
    let usage = |msg: String| {
        eprintln!("error: {msg}");
        Ok(ExitCode::from(2))
    };
    match command {
        Command::Status => {
            let t = client.properties("Terminal").await?;
            let q = client.properties("Queue").await?;
            let h = client.properties("Hardware").await?;
            let all = json!({"terminal": t, "queue": q, "hardware": h});
            out.print(&all, |_| render::status(&t, &q, &h));
        }
        Command::Bind { code } => {
            let r = client.call("Terminal", "Bind", &(code,)).await?;
            out.print(&r, |v| format!("bound\n{}", render::dict(&map(v))));
        }
        Command::Unbind => {
            client.call("Terminal", "Unbind", &()).await?;
            out.print(&json!({}), |_| "unbound: the terminal forgot its identity and keys\n".into());
        }
        Command::SignIn => {
            let r = client.call("Terminal", "SignIn", &()).await?;
            out.print(&r, |v| format!("signed in\n{}", render::dict(&map(v))));
        }
        Command::Params { update } => {
            if update {
                eprintln!("downloading CA keys and IC parameters from the host…");
                client.call("Terminal", "UpdateParameters", &()).await?;
            }
            let t = client.properties("Terminal").await?;
            let p = t.get("Parameters").cloned().unwrap_or_default();
            out.print(&p, |v| render::parameters(&map(v)));
        }
        Command::SignOut => {
            client.call("Terminal", "SignOut", &()).await?;
            out.print(&json!({}), |_| "signed out\n".into());
        }
        Command::Sale { amount, no_offline, reference, tap, chip, code } => {
            let amount = match parse_amount(&amount) {
                Ok(a) => a,
                Err(e) => return usage(e),
            };
            let mut opts: Dict<'_> = HashMap::new();
            if no_offline {
                opts.insert("allow_offline", Value::from(false));
            }
            if let Some(r) = &reference {
                opts.insert("reference", Value::from(r.as_str()));
            }
            if let Some(only) = [(tap, "contactless"), (chip, "contact"), (code, "code")].into_iter().find(|w| w.0) {
                opts.insert("interfaces", Value::from(vec![only.1]));
            }
            return payment(client, out, "Sale", &(amount, opts)).await;
        }
        Command::Void { stan } => return payment(client, out, "Void", &(stan,)).await,
        Command::Refund { amount, rrn, date, batch, stan } => {
            let amount = match parse_amount(&amount) {
                Ok(a) => a,
                Err(e) => return usage(e),
            };
            let mut opts: Dict<'_> = HashMap::new();
            if let Some(b) = batch {
                opts.insert("original_batch", Value::from(b));
            }
            if let Some(s) = stan {
                opts.insert("original_stan", Value::from(s));
            }
            return payment(client, out, "Refund", &(amount, rrn, date, opts)).await;
        }
        Command::Balance => return payment(client, out, "Balance", &()).await,
        Command::Reprint { stan, copy } => {
            let copies = match &copy {
                Some(c) => vec![c.as_str()],
                None => vec!["merchant", "customer"],
            };
            for c in &copies {
                client.call("Payment", "PrintReceipt", &(stan, *c)).await?;
            }
            out.print(&json!({"printed": copies}), |_| format!("receipt {stan:06} printed ({})\n", copies.join(" and ")));
        }
        Command::Receipt { stan, copy, png, font } => {
            let r = client.call("Payment", "Receipt", &(stan, copy)).await?;
            if let Some(file) = &png {
                if let Err(e) = slip_png::render(r.as_str().unwrap_or_default(), file, font.as_deref()) {
                    return usage(format!("cannot draw the receipt: {e}"));
                }
                eprintln!("receipt drawn into {}", file.display());
            }
            out.print(&r, |v| v.as_str().unwrap_or_default().to_string());
        }
        Command::Settle => {
            let r = client.call("Terminal", "Settle", &()).await?;
            out.print(&r, |v| format!("settled\n{}", render::dict(&map(v))));
        }
        Command::Queue { action } => match action.unwrap_or(QueueAction::List { limit: 50 }) {
            QueueAction::List { limit } => {
                let r = client.call("Queue", "List", &(limit,)).await?;
                out.print(&r, |v| render::queue_list(v.as_array().map(Vec::as_slice).unwrap_or_default()));
            }
            QueueAction::Flush => {
                let r = client.call("Queue", "Flush", &()).await?;
                out.print(&r, |v| format!("queue flushed\n{}", render::dict(&map(v))));
            }
        },
        Command::Journal { limit } => {
            let r = client.call("Payment", "List", &(limit,)).await?;
            out.print(&r, |v| render::journal(v.as_array().map(Vec::as_slice).unwrap_or_default()));
        }
        Command::Diagnose => {
            let r = client.call("Terminal", "Diagnose", &()).await?;
            out.print(&r, |v| render::diagnose(v.as_array().map(Vec::as_slice).unwrap_or_default()));
            let failing = r.as_array().is_some_and(|rows| rows.iter().any(|row| row.get(2).and_then(Json::as_str) == Some("fail")));
            return Ok(if failing { ExitCode::from(REFUSED) } else { ExitCode::SUCCESS });
        }
        Command::Monitor => monitor(client, out).await?,
        Command::Cancel => {
            client.call("Payment", "Cancel", &()).await?;
            out.print(&json!({}), |_| "cancel requested\n".into());
        }
        Command::Sim { action } => {
            let (method, done) = match &action {
                SimAction::Insert { label } => (client.call("Simulator", "InsertCard", &(label,)).await, format!("card {label} inserted")),
                SimAction::Remove => (client.call("Simulator", "RemoveCard", &()).await, "card removed".into()),
                // The code itself is not echoed: only its length.
                SimAction::Scan { code } => (client.call("Simulator", "ScanCode", &(code,)).await, format!("code of {} characters shown to the scanner", code.chars().count())),
                SimAction::Tap { label, leave_after: None } => (client.call("Simulator", "TapCard", &(label,)).await, format!("card {label} tapped")),
                SimAction::Tap { label, leave_after: Some(n) } => {
                    (client.call("Simulator", "TapCardBriefly", &(label, n)).await, format!("card {label} tapped, leaving after {n} APDUs"))
                }
                SimAction::Keys { keys, when_asked } => {
                    if *when_asked {
                        let stream = progress::subscribe(&client.conn).await.ok_or_else(|| CallError::Bus("cannot follow posd's Progress signals".into()))?;
                        // Said once the subscription is in place: a script may start the payment then.
                        eprintln!("waiting for posd to ask for the PIN (Ctrl-C to stop)");
                        if !progress::wait_for(stream, "waiting-pin").await {
                            return Err(CallError::Bus("the bus closed before posd asked for the PIN".into()));
                        }
                    }
                    (client.call("Simulator", "PressKeys", &(keys,)).await, "keys pressed".into())
                }
                SimAction::Host { state } => (client.call("Simulator", "SetHostReachable", &(state == "up",)).await, format!("host path {state}")),
                SimAction::Signal { percent } => (client.call("Simulator", "SetSignal", &(percent,)).await, format!("signal {percent}%")),
                SimAction::ModemState { state } => (client.call("Simulator", "SetModemState", &(state,)).await, format!("modem {state}")),
            };
            method?;
            out.print(&json!({}), |_| format!("{done}\n"));
        }
        Command::Completions { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints every signal posd emits until interrupted.
async fn monitor(client: &Client, out: &Out) -> Result<(), CallError> {
    use futures_util::StreamExt;
    let stream = client.signals().await?;
    let mut stream = std::pin::pin!(stream);
    if !out.json {
        eprintln!("following posd's signals (Ctrl-C to stop)");
    }
    while let Some(client::Signal { member, args: value }) = stream.next().await {
        if out.json {
            println!("{}", json!({"signal": member, "args": value}));
        } else if member == "Progress" {
            let stage = value.get(0).and_then(Json::as_str).unwrap_or("");
            println!("progress  {}", progress::describe(stage, value.get(1).unwrap_or(&Json::Null)));
        } else if member == "PropertiesChanged" {
            let iface = value.get(0).and_then(Json::as_str).unwrap_or("").trim_start_matches("org.smartpos.Pos1.");
            for (k, v) in value.get(1).and_then(Json::as_object).into_iter().flatten() {
                println!("changed   {iface}.{k} = {v}");
            }
        } else {
            println!("{member}  {value}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_are_yuan_with_at_most_two_decimals() {
        assert_eq!(parse_amount("12.34"), Ok(1234));
        assert_eq!(parse_amount("12.3"), Ok(1230));
        assert_eq!(parse_amount("12"), Ok(1200));
        assert_eq!(parse_amount("0.01"), Ok(1));
        for bad in ["", ".5", "1.234", "-1", "1e3", "12,34", "99999999999999999999"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }
}
