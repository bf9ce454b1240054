//! The daemon: configuration, store and hardware opened, the engine on its
//! worker thread, every interface of `dbus-api.md` served on
//! `/org/smartpos/Pos1`, the bus name taken only then, and `READY=1`.
//! Background tasks turn engine progress into `Progress` signals and
//! snapshot changes into `PropertiesChanged`, follow the modem, forward the
//! queue when the host is back, and ping the watchdog. SIGTERM stops new
//! work, lets a payment that reached the host finish, and exits.

pub mod backends;
pub mod diagnose;
pub mod dict;
pub mod error;
pub mod hardening;
pub mod hardware;
pub mod logging;
pub mod notify;
pub mod payment;
pub mod printing;
pub mod queue;
pub mod shared;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod snapshot;
pub mod state_dir;
pub mod strict;
pub mod terminal;
pub mod worker;

use crate::config::Config;
use crate::engine::{Devices, Engine, Stage, SystemClock};
use backends::Backends;
use notify::Notifier;
use shared::Shared;
use smartpos_hal::modem::ModemStatus;
use snapshot::Snapshot;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strict::Strict;
use tokio::sync::{mpsc, watch};
use worker::{Job, Worker};

pub const BUS_NAME: &str = "org.smartpos.Pos1";
pub const OBJECT_PATH: &str = "/org/smartpos/Pos1";

/// Which bus to serve on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    System,
    Session,
    Address(String),
    /// A system-like bus at an address (tests): the system bus's rules apply.
    SystemAt(String),
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration, loaded and checked by [`load_config`] (posd does
    /// that first, to exit 78 on a bad file before anything else starts).
    pub config: Config,
    pub bus: Bus,
    /// Where ModemManager is (default: the system bus).
    pub modem_bus: Option<String>,
    /// Overrides `terminal.state_dir` (systemd's `$STATE_DIRECTORY` does too).
    pub state_dir: Option<PathBuf>,
}

/// Why posd cannot run, and the exit code that says so (78: configuration
/// or state directory, not retried by systemd; 75: another posd; 1: other).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    pub exit: u8,
    pub message: String,
}

impl From<String> for Fatal {
    fn from(message: String) -> Self {
        Self { exit: 1, message }
    }
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads and checks the configuration file and the files it names (field
/// table, CA certificates); errors are one line naming the file and key.
pub fn load_config(path: &std::path::Path) -> Result<Config, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("{}: no such file: install one (docs/configuration.md has an example) or name yours with --config", path.display()));
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut cfg = Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    cfg.load_named_files(path.parent().unwrap_or(std::path::Path::new("/"))).map_err(|e| format!("{}: {e}", path.display()))?;
    backends::check_build_supports(&cfg).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(cfg)
}

/// Owns [`BUS_NAME`] or says who does.
async fn take_name(conn: &zbus::Connection) -> Result<(), Fatal> {
    use zbus::fdo::{RequestNameFlags, RequestNameReply};
    let taken = || async {
        let owner = owner_pid(conn).await.map_or_else(|| "another process".to_string(), |pid| format!("another process (pid {pid})"));
        Fatal { exit: state_dir::EXIT_ANOTHER_POSD, message: format!("{owner} owns {BUS_NAME} on this bus: stop it first (systemctl stop posd), or run this posd on another bus") }
    };
    match conn.request_name_with_flags(BUS_NAME, RequestNameFlags::DoNotQueue.into()).await {
        Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => Ok(()),
        // zbus answers a taken name as an error; the bus's own reply as Exists.
        Ok(RequestNameReply::Exists | RequestNameReply::InQueue) | Err(zbus::Error::NameTaken) => Err(taken().await),
        Err(e) => Err(format!("cannot own {BUS_NAME} on the bus: {e} (does the bus policy let this user own it? see /usr/share/dbus-1/system.d/org.smartpos.Pos1.conf)").into()),
    }
}

async fn owner_pid(conn: &zbus::Connection) -> Option<u32> {
    let dbus = zbus::fdo::DBusProxy::new(conn).await.ok()?;
    let owner = dbus.get_name_owner(zbus::names::BusName::try_from(BUS_NAME).ok()?).await.ok()?;
    dbus.get_connection_unix_process_id(owner.into()).await.ok()
}

/// Runs the daemon until SIGTERM / SIGINT.
pub async fn run(opts: Options) -> Result<(), Fatal> {
    let mut cfg = opts.config;
    let (dir, source) = state_dir::resolve(&cfg.terminal.state_dir, opts.state_dir.as_deref());
    let state = state_dir::StateDir::acquire(&dir, source)?;
    cfg.terminal.state_dir = state.path.clone();
    let (store, reads) = state.open_stores()?;
    let serial = backends::serial_number(&cfg)?;
    let bus_conn = match &opts.bus {
        Bus::System => zbus::connection::Builder::system(),
        Bus::Session => zbus::connection::Builder::session(),
        Bus::Address(a) | Bus::SystemAt(a) => zbus::connection::Builder::address(a.as_str()),
    }
    .map_err(|e| format!("D-Bus: {e}"))?;
    let modem_bus = opts.modem_bus.clone().or_else(|| if let Bus::Address(a) | Bus::SystemAt(a) = &opts.bus { Some(a.clone()) } else { None });
    let Backends { reader, contactless, scanner, pinpad, link, handles } = Backends::open(&cfg, modem_bus.as_deref()).await?;
    let devices = Devices { reader, contactless, scanner, pinpad, link, clock: Box::new(SystemClock) };
    let cfg = Arc::new(cfg);
    let engine = Engine::new((*cfg).clone(), store, devices, &serial).map_err(|e| format!("{}: {}", e.message, e.remedy))?;
    let (progress_tx, progress_rx) = mpsc::unbounded_channel();
    let (worker, _thread) = Worker::spawn(engine, progress_tx.clone())?;
    let (modem_tx, modem_rx) = watch::channel(handles.modem.status().await);
    let shared = Shared::new(worker.clone(), cfg.clone(), reads, &handles, modem_rx, progress_tx, matches!(opts.bus, Bus::System | Bus::SystemAt(_)));

    let builder = bus_conn
        .serve_at(OBJECT_PATH, Strict::new(terminal::TerminalIface(shared.clone())))
        .and_then(|b| b.serve_at(OBJECT_PATH, Strict::new(payment::PaymentIface(shared.clone()))))
        .and_then(|b| b.serve_at(OBJECT_PATH, Strict::new(queue::QueueIface(shared.clone()))))
        .and_then(|b| b.serve_at(OBJECT_PATH, Strict::new(hardware::HardwareIface(shared.clone()))))
        .map_err(|e| format!("D-Bus: {e}"))?;
    #[cfg(feature = "simulator")]
    let builder = builder.serve_at(OBJECT_PATH, Strict::new(simulator::SimulatorIface(shared.clone()))).map_err(|e| format!("D-Bus: {e}"))?;
    let conn = builder.build().await.map_err(|e| format!("D-Bus: {e}"))?;
    // The objects are served: only now may clients find the name. Never
    // queued, never given away: a second posd must fail, not take over.
    take_name(&conn).await?;

    let notifier = Arc::new(Notifier::from_env());
    notifier.ready(&shared.snap().status_line(false));
    tracing::info!(serial = %serial, "posd ready on the bus as {BUS_NAME}");
    worker.background(Job::StartUp);

    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(emit_progress(conn.clone(), progress_rx));
    tasks.spawn(emit_changes(conn.clone(), shared.clone(), notifier.clone()));
    tasks.spawn(follow_modem(conn.clone(), shared.clone(), modem_tx));
    tasks.spawn(housekeeping(worker.clone(), cfg.clone()));
    if let Some(every) = Notifier::watchdog_interval() {
        let n = notifier.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                n.send("WATCHDOG=1");
            }
        });
    }

    wait_for_signal().await;
    notifier.send("STOPPING=1");
    tracing::info!("stopping: no new payments; a payment that reached the host finishes");
    worker.stop_accepting();
    worker.cancel();
    let limit = Duration::from_millis(cfg.timeouts.connect_ms + cfg.timeouts.response_ms * (1 + u64::from(cfg.retries.reversal_tries)) + 1_000);
    let mut running = worker.running();
    if tokio::time::timeout(limit, running.wait_for(|r| !*r)).await.is_err() {
        tracing::error!("the running operation did not finish in {} ms: exiting; the reversal rules cover it at the next start", limit.as_millis());
    }
    tasks.abort_all();
    let _ = conn.release_name(BUS_NAME).await;
    // The finished operation's reply may still be on its way out: leaving
    // now lost a Settle's reply once ("recipient disconnected without
    // replying", scripts/flaky). Close the connection gracefully, which
    // waits for in-flight method calls, bounded in case a clone lingers.
    let t = std::time::Instant::now();
    if tokio::time::timeout(Duration::from_secs(3), conn.graceful_shutdown()).await.is_err() {
        tracing::warn!("the bus connection did not close within 3 s; exiting");
    }
    tracing::debug!("bus connection closed in {} ms", t.elapsed().as_millis());
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn emit_progress(conn: zbus::Connection, mut rx: mpsc::UnboundedReceiver<Stage>) {
    let Ok(emitter) = zbus::object_server::SignalEmitter::new(&conn, OBJECT_PATH) else { return };
    while let Some(stage) = rx.recv().await {
        let details = match stage {
            Stage::PinDigit(n) => dict::DictBuilder::new().u("count", u32::try_from(n).unwrap_or(u32::MAX)).build(),
            Stage::WaitingCard(interfaces) => dict::DictBuilder::new().strings("interfaces", &interfaces.names()).build(),
            _ => dict::Dict::new(),
        };
        if let Err(e) = payment::PaymentIface::progress(&emitter, stage.name(), details).await {
            tracing::warn!("Progress signal: {e}");
        }
    }
}

/// Emits `PropertiesChanged` for what changed between snapshots, and
/// keeps systemd's status line current.
async fn emit_changes(conn: zbus::Connection, shared: Shared, notifier: Arc<Notifier>) {
    let mut snaps = shared.worker.snapshot();
    let mut running = shared.worker.running();
    let mut last = (snaps.borrow().clone(), *running.borrow());
    let mut last_line = last.0.status_line(last.1);
    let server = conn.object_server();
    loop {
        tokio::select! {
            r = snaps.changed() => if r.is_err() { return },
            r = running.changed() => if r.is_err() { return },
        }
        let now = (snaps.borrow_and_update().clone(), *running.borrow_and_update());
        if now == last {
            continue;
        }
        if let Err(e) = announce(server, &last, &now).await {
            tracing::warn!("PropertiesChanged: {e}");
        }
        let line = now.0.status_line(now.1);
        if line != last_line {
            notifier.status(&line);
            last_line = line;
        }
        last = now;
    }
}

async fn announce(server: &zbus::ObjectServer, (old, was_busy): &(Snapshot, bool), (new, busy): &(Snapshot, bool)) -> zbus::Result<()> {
    let t = server.interface::<_, Strict<terminal::TerminalIface>>(OBJECT_PATH).await?;
    let (ti, te) = (t.get().await, t.signal_emitter().clone());
    if old.state != new.state || was_busy != busy {
        ti.state_changed(&te).await?;
    }
    if old.terminal_id != new.terminal_id {
        ti.terminal_id_changed(&te).await?;
    }
    if old.merchant_id != new.merchant_id {
        ti.merchant_id_changed(&te).await?;
    }
    if old.merchant_name != new.merchant_name {
        ti.merchant_name_changed(&te).await?;
    }
    if old.serial != new.serial {
        ti.serial_number_changed(&te).await?;
    }
    if old.batch != new.batch {
        ti.batch_changed(&te).await?;
    }
    if old.signed_in_at != new.signed_in_at {
        ti.signed_in_at_changed(&te).await?;
    }
    if old.online != new.online {
        ti.online_changed(&te).await?;
    }
    if (old.deposit_amount, &old.deposit_status) != (new.deposit_amount, &new.deposit_status) {
        ti.deposit_changed(&te).await?;
    }
    if old.last_error != new.last_error {
        ti.last_error_changed(&te).await?;
    }
    if old.parameters != new.parameters {
        ti.parameters_changed(&te).await?;
    }
    drop(ti);
    let q = server.interface::<_, Strict<queue::QueueIface>>(OBJECT_PATH).await?;
    let (qi, qe) = (q.get().await, q.signal_emitter().clone());
    if old.queue.depth != new.queue.depth {
        qi.depth_changed(&qe).await?;
    }
    if old.queue.amount != new.queue.amount {
        qi.amount_changed(&qe).await?;
    }
    if old.queue.oldest_age != new.queue.oldest_age {
        qi.oldest_age_changed(&qe).await?;
    }
    if old.pending_reversal != new.pending_reversal {
        qi.pending_reversal_changed(&qe).await?;
    }
    drop(qi);
    if old.hardware != new.hardware {
        let h = server.interface::<_, Strict<hardware::HardwareIface>>(OBJECT_PATH).await?;
        let (hi, he) = (h.get().await, h.signal_emitter().clone());
        if (old.hardware.reader_present, old.hardware.card_present, &old.hardware.reader_name)
            != (new.hardware.reader_present, new.hardware.card_present, &new.hardware.reader_name)
        {
            hi.card_reader_changed(&he).await?;
        }
        if old.hardware.keypad_ok != new.hardware.keypad_ok {
            hi.keypad_changed(&he).await?;
        }
        if old.hardware.contactless != new.hardware.contactless {
            hi.contactless_reader_changed(&he).await?;
        }
        if old.hardware.scanner != new.hardware.scanner {
            hi.scanner_changed(&he).await?;
        }
    }
    Ok(())
}

/// Follows the modem: on every ModemManager signal and every poll
/// interval, re-reads it, publishes `Hardware.Modem`, hands the serving
/// cell to the engine (field 59), and brings the bearer up when the host
/// was unreachable.
async fn follow_modem(conn: zbus::Connection, shared: Shared, tx: watch::Sender<ModemStatus>) {
    let poll = Duration::from_secs(shared.cfg.hardware.modem_poll_secs);
    let mut snaps = shared.worker.snapshot();
    loop {
        let status = shared.modem.status().await;
        if let Some(cell) = status.location {
            let old = tx.borrow().location;
            if old != Some(cell) {
                shared.worker.background(Job::SetLocation(cell.to_field59()));
            }
        }
        if *tx.borrow() != status {
            tx.send_replace(status.clone());
            if let Ok(h) = conn.object_server().interface::<_, Strict<hardware::HardwareIface>>(OBJECT_PATH).await {
                let _ = h.get().await.modem_changed(h.signal_emitter()).await;
            }
        }
        if !shared.snap().online && shared.snap().state != "unbound" {
            match shared.modem.ensure_connected(&shared.cfg.hardware.apn).await {
                Ok(true) => tracing::info!(CATEGORY = "network", apn = %shared.cfg.hardware.apn, "host unreachable: data bearer brought up"),
                Ok(false) => {}
                Err(e) => tracing::warn!(CATEGORY = "network", "host unreachable and the bearer cannot come up: {e}"),
            }
        }
        let modem_changed = async {
            match &shared.modem {
                smartpos_hal::modem::Modem::ModemManager(mm) => {
                    let _ = mm.changed().await;
                }
                _ => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = modem_changed => {}
            r = snaps.changed() => if r.is_err() { return },
        }
    }
}

/// Every few seconds when idle: a fresh snapshot (card left in the reader,
/// queue ages), and the queue forwarded when there is something to send.
async fn housekeeping(worker: Worker, cfg: Arc<Config>) {
    let every = Duration::from_secs(5);
    let forward_every = cfg.retries.forward_every(cfg.timeouts.response_ms);
    let mut since_forward = Duration::ZERO;
    loop {
        tokio::time::sleep(every).await;
        since_forward += every;
        if *worker.running().borrow() {
            continue;
        }
        let snap = worker.snapshot().borrow().clone();
        if since_forward >= forward_every && (snap.queue.depth > 0 || snap.queue.unanswered_refunds > 0 || snap.pending_reversal) {
            since_forward = Duration::ZERO;
            worker.background(Job::Forward);
        } else {
            worker.background(Job::Refresh);
        }
    }
}
