//! posd as a process under test: a private bus, the acquirer simulator,
//! posd with simulated hardware (or a given configuration) in a temporary
//! state folder, and `busctl` — a D-Bus client that is not ours — to talk
//! to it. Everything is killed when the [`PosdRig`] drops.

use crate::acquirer::LocalSim;
use crate::dbus::PrivateBus;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A binary of the workspace next to the running test (`cargo build
/// --workspace` puts them there; `scripts/test` builds first).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join(name);
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace --bins` (scripts/test does)", bin.display());
    bin
}

/// Resident memory (`VmRSS`, kB) of process `pid` (`"self"`: the caller).
pub fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok())
}

/// Polls `cond` until it holds; past `within`, fails with `failure()`
/// (built only then, so it can show the latest log).
pub fn eventually(within: Duration, mut cond: impl FnMut() -> bool, failure: impl FnOnce() -> String) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "{}", failure());
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub const DEST: &str = "org.smartpos.Pos1";
pub const PATH: &str = "/org/smartpos/Pos1";

/// One row of posd's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalRow {
    pub kind: String,
    pub batch: u32,
    pub stan: u32,
    pub amount: u64,
    pub state: String,
    pub response_code: Option<String>,
}

#[derive(Debug)]
pub struct PosdRig {
    pub sim: LocalSim,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    child: Option<Child>,
    /// `--bus`, or `--system-bus-address` (the system bus's rules on the private bus).
    bus_flag: &'static str,
    // Dropped last: posd must go before its bus.
    pub bus: PrivateBus,
}

impl PosdRig {
    /// posd with simulated reader, keypad and modem, pointed at a fresh simulator.
    pub fn start() -> Self {
        Self::start_with(|_| {}, &[])
    }

    /// Edits the test configuration (a TOML table) before start; `env`
    /// is added to posd's environment.
    pub fn start_with(edit: impl FnOnce(&mut toml::Table), env: &[(&str, &str)]) -> Self {
        Self::start_with_sim(LocalSim::start(), edit, env)
    }

    /// [`PosdRig::start_with`] on a bus where posd applies the system bus's
    /// rules (`--system-bus-address`: the `Simulator` check).
    pub fn start_system_like(edit: impl FnOnce(&mut toml::Table)) -> Self {
        Self::launch(LocalSim::start(), edit, &[], "--system-bus-address")
    }

    /// [`PosdRig::start_with`] against a simulator the caller started (TLS, …).
    pub fn start_with_sim(sim: LocalSim, edit: impl FnOnce(&mut toml::Table), env: &[(&str, &str)]) -> Self {
        Self::launch(sim, edit, env, "--bus")
    }

    fn launch(sim: LocalSim, edit: impl FnOnce(&mut toml::Table), env: &[(&str, &str)], bus_flag: &'static str) -> Self {
        let bus = PrivateBus::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let text = std::fs::read_to_string(crate::oracle::repo_root().join("tests/fixtures/posd-test.toml")).expect("test config");
        let mut cfg: toml::Table = text.parse().expect("toml");
        cfg["terminal"]["state_dir"] = toml::Value::String(dir.path().join("state").display().to_string());
        cfg["host"] = toml::Value::Array(vec![toml::Value::Table(toml::toml! { address = (sim.h.addr.to_string()) })]);
        edit(&mut cfg);
        let config = dir.path().join("posd.toml");
        std::fs::write(&config, toml::to_string(&cfg).expect("toml")).expect("write config");
        let mut rig = Self { sim, dir, config, child: None, bus_flag, bus };
        rig.spawn(env);
        rig
    }

    fn spawn(&mut self, env: &[(&str, &str)]) {
        let log = std::fs::File::create(self.dir.path().join("posd.log")).expect("log");
        let child = Command::new(workspace_bin("posd"))
            .args(["--config", &self.config.display().to_string(), self.bus_flag, self.bus.address(), "--log", "debug"])
            .env_remove("NOTIFY_SOCKET")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("posd");
        self.child = Some(child);
        if !env.iter().any(|(k, _)| *k == "NOTIFY_SOCKET") {
            self.wait_for_name();
        }
    }

    /// Waits until posd owns its name (it serves its objects first).
    pub fn wait_for_name(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.busctl(&["call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s", DEST]).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("posd exited ({status}) before taking its name:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "posd did not take its name:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("posd.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("posd running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("posd did not stop on SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts posd again on the same state, bus and simulator (after
    /// [`PosdRig::terminate`] or a crash).
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.spawn(&[]);
    }

    /// posd's journal as its database holds it (read through SQLite, not
    /// through posd), oldest first.
    pub fn journal(&self) -> Vec<JournalRow> {
        let conn = self.database();
        let mut stmt = conn.prepare("SELECT kind, batch, stan, amount, state, response_code FROM journal ORDER BY id").expect("journal");
        stmt.query_map([], |r| Ok(JournalRow { kind: r.get(0)?, batch: r.get(1)?, stan: r.get(2)?, amount: r.get(3)?, state: r.get(4)?, response_code: r.get(5)? }))
            .expect("journal")
            .collect::<Result<_, _>>()
            .expect("journal rows")
    }

    /// Reversals posd still has to deliver, and advices still queued.
    pub fn pending(&self) -> (u32, u32) {
        let conn = self.database();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, u32>(0)).expect(sql);
        (count("SELECT count(*) FROM pending_reversal"), count("SELECT count(*) FROM journal WHERE queued_at IS NOT NULL AND forwarded_at IS NULL"))
    }

    /// The first column of the first row of `sql` on posd's database, as text.
    pub fn database_value(&self, sql: &str) -> String {
        self.database().query_row(sql, [], |r| r.get::<_, String>(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// posd's database, opened read-only beside the running posd (WAL lets both in).
    fn database(&self) -> rusqlite::Connection {
        let db = self.dir.path().join("state/posd.db");
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("posd.db")
    }

    /// Waits until posd's log holds `needle` (e.g. `request exchange=Sale`).
    pub fn wait_for_log(&self, needle: &str) {
        eventually(Duration::from_secs(20), || self.log().contains(needle), || format!("posd never logged {needle:?}:\n{}", self.log()));
    }

    /// A `Sale` of `amount` from another thread, the PIN of the default
    /// card typed when posd asks for it (the card is the caller's to
    /// insert); the thread returns busctl's output when the sale ends.
    pub fn sale_in_background(&self, amount: u64) -> std::thread::JoinHandle<Output> {
        let typist = type_pin_when_asked(self.bus.address(), "123456#");
        let address = self.bus.address().to_string();
        std::thread::spawn(move || {
            let out = busctl_raw(&address, &["--timeout=60", "call", DEST, PATH, "org.smartpos.Pos1.Payment", "Sale", "ta{sv}", &amount.to_string(), "0"]);
            let _ = typist.join();
            out
        })
    }

    /// `Payment.Sale(amount, options)`, the options in busctl's a{sv}
    /// syntax after the count (`"0"`, `"1 interfaces as 1 code"`).
    pub fn sale(&self, amount: u64, options: &str) -> Result<Json, String> {
        let amount = amount.to_string();
        let mut args = vec!["ta{sv}", amount.as_str()];
        args.extend(options.split(' '));
        self.call("Payment", "Sale", &args)
    }

    /// Inserts `card`, types `pin` when posd asks, calls `Payment.method`
    /// with `args` (busctl syntax), takes the card out.
    pub fn with_card(&self, card: &str, pin: &str, method: &str, args: &[&str]) -> Json {
        self.call("Simulator", "InsertCard", &["s", card]).expect("insert");
        let typist = type_pin_when_asked(self.bus.address(), pin);
        let r = self.call("Payment", method, args);
        let _ = typist.join();
        self.call("Simulator", "RemoveCard", &[]).expect("remove");
        r.unwrap_or_else(|e| panic!("{method}: {e}\n{}", self.log()))
    }

    /// `busctl --address=… --json=short ARGS`: the parsed JSON, or the error text.
    pub fn busctl(&self, args: &[&str]) -> Result<Json, String> {
        let out = busctl_raw(self.bus.address(), args);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim().is_empty() {
            return Ok(Json::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("busctl printed {text:?}: {e}"))
    }

    /// Calls `org.smartpos.Pos1.IFACE.METHOD` with busctl's SIGNATURE ARGS syntax.
    pub fn call(&self, iface: &str, method: &str, sig_and_args: &[&str]) -> Result<Json, String> {
        let iface = format!("org.smartpos.Pos1.{iface}");
        let mut args = vec!["--timeout=120", "call", DEST, PATH, iface.as_str(), method];
        args.extend_from_slice(sig_and_args);
        self.busctl(&args).map(|j| unwrap_reply(&j))
    }

    /// A property's value, as plain JSON.
    pub fn get(&self, iface: &str, prop: &str) -> Json {
        let iface = format!("org.smartpos.Pos1.{iface}");
        let j = self.busctl(&["get-property", DEST, PATH, iface.as_str(), prop]).unwrap_or_else(|e| panic!("get {prop}: {e}"));
        plain(&j)
    }

    /// Runs posctl against this posd.
    pub fn posctl(&self, args: &[&str]) -> Output {
        Command::new(workspace_bin("posctl")).arg("--bus").arg(self.bus.address()).args(args).output().expect("posctl")
    }
}

impl Drop for PosdRig {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn busctl_raw(address: &str, args: &[&str]) -> Output {
    Command::new("busctl").arg(format!("--address={address}")).arg("--json=short").args(args).output().expect("busctl (systemd)")
}

/// busctl's `{"type":…, "data":…}` wrappers removed: a reply of one value
/// is that value; variants become their contents.
pub fn unwrap_reply(j: &Json) -> Json {
    match j.get("data") {
        Some(Json::Array(items)) if items.len() == 1 => plain_typed(j.get("type").and_then(Json::as_str).unwrap_or(""), &items[0]),
        Some(other) => other.clone(),
        None => Json::Null,
    }
}

fn plain(j: &Json) -> Json {
    plain_typed(j.get("type").and_then(Json::as_str).unwrap_or(""), j.get("data").unwrap_or(&Json::Null))
}

fn plain_typed(sig: &str, data: &Json) -> Json {
    if sig.starts_with("a{s") {
        // a{sv}: each value is {"type","data"}.
        if let Json::Object(m) = data {
            return Json::Object(m.iter().map(|(k, v)| (k.clone(), if v.get("type").is_some() && v.get("data").is_some() { plain(v) } else { v.clone() })).collect());
        }
    }
    if sig.starts_with("aa{sv}")
        && let Json::Array(items) = data
    {
        return Json::Array(items.iter().map(|i| plain_typed("a{sv}", i)).collect());
    }
    data.clone()
}

/// Presses `pin` on the simulated keypad when posd asks for the PIN
/// (`Progress` "waiting-pin"): keys pressed earlier are flushed by design.
pub fn type_pin_when_asked(address: &str, pin: &str) -> std::thread::JoinHandle<Vec<(String, Json)>> {
    let (target, pin) = (address.to_string(), pin.to_string());
    on_progress(address, "waiting-pin", move || {
        let _ = busctl_raw(&target, &["call", DEST, PATH, "org.smartpos.Pos1.Simulator", "PressKeys", "s", &pin]);
    })
}

/// Runs `action` once, when posd's `Progress` reaches `stage`, and returns
/// every stage seen (with its details) until `completed`. The subscription
/// is in place when this returns.
pub fn on_progress(address: &str, stage: &'static str, action: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<Vec<(String, Json)>> {
    let address = address.to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            use futures_util::StreamExt;
            let conn = zbus::connection::Builder::address(address.as_str()).expect("address").build().await.expect("bus");
            let rule =
                zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).interface("org.smartpos.Pos1.Payment").expect("rule").member("Progress").expect("rule").build();
            let stream = zbus::MessageStream::for_match_rule(rule, &conn, Some(64)).await.expect("subscribe");
            // posd leaving the bus (SIGTERM, a crash) ends the watch too: its
            // last signals may never come.
            let gone = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .interface("org.freedesktop.DBus")
                .expect("rule")
                .member("NameOwnerChanged")
                .expect("rule")
                .arg(0, DEST)
                .expect("rule")
                .arg(2, "")
                .expect("rule")
                .build();
            let gone = zbus::MessageStream::for_match_rule(gone, &conn, Some(4)).await.expect("subscribe");
            let mut events = futures_util::stream::select(stream.map(Some), gone.map(|_| None));
            let _ = ready_tx.send(());
            let mut seen = Vec::new();
            let mut action = Some(action);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while let Ok(Some(Some(Ok(msg)))) = tokio::time::timeout_at(deadline, events.next()).await {
                let Ok((got, details)) = msg.body().deserialize::<(String, std::collections::HashMap<String, zbus::zvariant::OwnedValue>)>() else { continue };
                let details_json: serde_json::Map<String, Json> = details.iter().map(|(k, v)| (k.clone(), Json::from(u32::try_from(v).ok()))).collect();
                seen.push((got.clone(), Json::Object(details_json)));
                if got == stage
                    && let Some(act) = action.take()
                {
                    act();
                }
                if got == "completed" {
                    break;
                }
            }
            seen
        })
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(10));
    handle
}

/// `dbus-monitor` on a private bus: what posd sent while it ran — its
/// signals, method returns and errors (the calls the test made are left
/// out: they hold the test's own inputs).
#[derive(Debug)]
pub struct BusRecorder {
    child: Child,
    out: tempfile::NamedTempFile,
}

impl BusRecorder {
    /// Returns once the monitor is attached.
    pub fn start(address: &str) -> Self {
        let out = tempfile::NamedTempFile::new().expect("monitor output");
        let child = Command::new("dbus-monitor")
            .args(["--address", address, "--monitor"])
            .stdout(out.reopen().expect("monitor output"))
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (package dbus-bin)");
        let rec = Self { child, out };
        eventually(Duration::from_secs(20), || rec.text().contains("NameAcquired") || rec.text().contains("NameLost"), || "dbus-monitor did not attach".into());
        rec
    }

    /// Everything seen so far, as dbus-monitor printed it.
    pub fn text(&self) -> String {
        std::fs::read_to_string(self.out.path()).unwrap_or_default()
    }

    /// Stops the monitor; the signals, returns and errors it saw, as text.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = self.text();
        let mut kept = String::new();
        let mut keep = false;
        for line in text.lines() {
            if !line.starts_with(' ') {
                keep = line.starts_with("signal") || line.starts_with("method return") || line.starts_with("error");
            }
            if keep {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        kept
    }
}

impl Drop for BusRecorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
