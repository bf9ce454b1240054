//! `pos-acquirer-sim`: the acquirer simulator as a program.
//!
//! `pos-acquirer-sim serve` runs it; `pos-acquirer-sim ctl` talks to a
//! running one (faults, ledger, shutdown).

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use smartpos_tests::acquirer::control::ControlClient;
use smartpos_tests::acquirer::{self, SimConfig};
use smartpos_vcard::testdata::TestData;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "pos-acquirer-sim", version, about = "Acquirer host simulator for smartpos terminals (test equipment)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the simulator until `ctl shutdown` or Ctrl-C.
    Serve {
        /// Address terminals connect to.
        #[arg(long, default_value = "127.0.0.1:5800")]
        listen: SocketAddr,
        /// Control socket (JSON lines). Keep it on loopback.
        #[arg(long, default_value = "127.0.0.1:5801")]
        control: SocketAddr,
        /// Cards, merchants and issuer key (default: the repository's copy of test-cards.toml).
        #[arg(long)]
        cards: Option<PathBuf>,
        /// Do not log one JSON line per exchange on stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// Talk to a running simulator.
    Ctl {
        #[arg(long, default_value = "127.0.0.1:5801")]
        control: SocketAddr,
        #[command(subcommand)]
        action: Ctl,
    },
}

#[derive(Subcommand)]
enum Ctl {
    /// Print the ledger as JSON.
    Ledger,
    /// Print the active faults.
    Faults,
    /// Replace the faults with a JSON object, e.g. '{"lose_reply":1}'.
    SetFaults { json: String },
    /// Clear every fault.
    Clear,
    /// Reset a card's wrong-PIN count.
    ResetPinTries { card: String },
    /// Drop the held advice answers (as after the host's holding window):
    /// a repeated advice the host already processed then gets 94.
    ForgetHeldAnswers,
    /// Stop the simulator.
    Shutdown,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { listen, control, cards, quiet } => serve(listen, control, cards, quiet),
        Command::Ctl { control, action } => ctl(control, action),
    }
}

fn serve(listen: SocketAddr, control: SocketAddr, cards: Option<PathBuf>, quiet: bool) -> ExitCode {
    let test_data = match cards {
        None => TestData::embedded(),
        Some(p) => match TestData::load(&p) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("pos-acquirer-sim: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pos-acquirer-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let cfg = SimConfig { listen, control, test_data, log_exchanges: !quiet, tls: None };
        let sim = match acquirer::start(cfg).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pos-acquirer-sim: cannot listen: {e}");
                return ExitCode::FAILURE;
            }
        };
        // One line on stdout that scripts read for the actual ports.
        println!("{}", json!({"listen": sim.addr.to_string(), "control": sim.control_addr.to_string()}));
        tokio::select! {
            _ = sim.stopped() => {}
            _ = tokio::signal::ctrl_c() => sim.stop(),
        }
        ExitCode::SUCCESS
    })
}

fn ctl(control: SocketAddr, action: Ctl) -> ExitCode {
    let request = match &action {
        Ctl::Ledger => json!({"cmd": "ledger"}),
        Ctl::Faults => json!({"cmd": "faults"}),
        Ctl::SetFaults { json: text } => match serde_json::from_str::<Value>(text) {
            Ok(f) => json!({"cmd": "set_faults", "faults": f}),
            Err(e) => {
                eprintln!("pos-acquirer-sim: faults are not JSON: {e}");
                return ExitCode::from(2);
            }
        },
        Ctl::Clear => json!({"cmd": "clear_faults"}),
        Ctl::ResetPinTries { card } => json!({"cmd": "reset_pin_tries", "card": card}),
        Ctl::ForgetHeldAnswers => json!({"cmd": "forget_held_answers"}),
        Ctl::Shutdown => json!({"cmd": "shutdown"}),
    };
    let result = ControlClient::connect(control).map_err(|e| format!("cannot reach {control}: {e}")).and_then(|mut c| c.call(&request));
    match result {
        Ok(Value::Null) => ExitCode::SUCCESS,
        Ok(v) => {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pos-acquirer-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
