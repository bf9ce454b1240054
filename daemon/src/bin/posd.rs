//! `posd`: the smartpos terminal daemon. See `docs/configuration.md` for
//! the file, `docs/dbus-api.md` for the API.

use clap::Parser;
use posd::service::{self, Bus, Options};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "posd", version, about = "The smartpos payment terminal daemon")]
struct Args {
    /// Configuration file.
    #[arg(long, default_value = "/etc/posd/posd.toml")]
    config: PathBuf,
    /// Serve on the session bus (development).
    #[arg(long, conflicts_with = "bus")]
    session: bool,
    /// Serve on the bus at this address (development, tests).
    #[arg(long, value_name = "ADDRESS")]
    bus: Option<String>,
    /// Serve on the bus at this address with the system bus's rules (the
    /// `Simulator` check): for tests of a system-like bus.
    #[arg(long, value_name = "ADDRESS", conflicts_with_all = ["bus", "session"])]
    system_bus_address: Option<String>,
    /// Where ModemManager is, when not on the system bus (tests).
    #[arg(long, value_name = "ADDRESS")]
    modem_bus: Option<String>,
    /// Overrides terminal.state_dir.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Log level when RUST_LOG is not set (error, warn, info, debug).
    #[arg(long, default_value = "info")]
    log: String,
    /// Check the configuration file and exit.
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let to_journal = service::logging::init(&args.log);
    // A fatal error is said once: to the journal with its priority under
    // systemd, on stderr for a person at a shell.
    let fatal = |e: &str| {
        if to_journal {
            tracing::error!("{e}");
        } else {
            eprintln!("posd: {e}");
        }
    };
    if let Err(e) = service::hardening::harden_process() {
        fatal(&e);
        return ExitCode::FAILURE;
    }
    // A bad configuration exits 78 (EX_CONFIG), at start as with --check-config:
    // posd.service does not restart on it (RestartPreventExitStatus=78).
    let config = match service::load_config(&args.config) {
        Err(e) => {
            fatal(&e);
            return ExitCode::from(78);
        }
        Ok(config) if args.check_config => {
            let (dir, source) = service::state_dir::resolve(&config.terminal.state_dir, args.state_dir.as_deref());
            if let Err(e) = service::state_dir::check(&dir, source) {
                fatal(&format!("{}: {e}", args.config.display()));
                return ExitCode::from(78);
            }
            println!("{}: ok", args.config.display());
            return ExitCode::SUCCESS;
        }
        Ok(config) => config,
    };
    let bus = match (args.session, args.bus, args.system_bus_address) {
        (true, _, _) => Bus::Session,
        (false, Some(a), _) => Bus::Address(a),
        (false, None, Some(a)) => Bus::SystemAt(a),
        (false, None, None) => Bus::System,
    };
    let opts = Options { config, bus, modem_bus: args.modem_bus, state_dir: args.state_dir };
    // One thread is plenty: the engine has its own, D-Bus and the timers are light (and RSS stays small).
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            fatal(&format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(service::run(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            fatal(&e.message);
            ExitCode::from(e.exit)
        }
    }
}
