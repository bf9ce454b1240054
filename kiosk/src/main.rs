//! The `pos-kiosk` binary: configuration, the bus, the listener; then [`pos_kiosk::serve`].

#![forbid(unsafe_code)]

use clap::Parser;
use pos_kiosk::config::{Config, DEFAULT_PATH};
use smartpos_client::{Bus, Client};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "pos-kiosk", version, about = "The merchant's cashier app: a local web page over posd's D-Bus API")]
struct Cli {
    /// The configuration (listen, operator_pin, language).
    #[arg(long, default_value = DEFAULT_PATH)]
    config: PathBuf,
    /// posd on the session bus (development).
    #[arg(long)]
    session: bool,
    /// posd on the bus at this address (tests, the demo).
    #[arg(long, value_name = "ADDRESS")]
    bus: Option<String>,
    /// Check the configuration and exit.
    #[arg(long)]
    check_config: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("KIOSK_LOG").unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    // A bad configuration exits 78 (EX_CONFIG) with one line naming the key; the unit does not restart on it.
    let cfg = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pos-kiosk: {e}");
            return ExitCode::from(78);
        }
    };
    if cli.check_config {
        println!("{}: ok (listen {}, language {})", cli.config.display(), cfg.listen, cfg.language);
        return ExitCode::SUCCESS;
    }
    let bus = Bus::of_flags(cli.session, cli.bus);
    let client = match Client::connect(&bus).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pos-kiosk: {e:?}");
            return ExitCode::from(69);
        }
    };
    let listener = match tokio::net::TcpListener::bind(cfg.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pos-kiosk: cannot listen on {}: {e}", cfg.listen);
            return ExitCode::from(75);
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!("the cashier app is at http://{addr}/");
    println!("pos-kiosk: http://{addr}/");
    let app = pos_kiosk::App::new(client, cfg);
    match pos_kiosk::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pos-kiosk: {e}");
            ExitCode::from(1)
        }
    }
}
