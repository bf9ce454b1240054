//! A private pcscd with the vpcd driver, and virtual cards plugged into it.
//!
//! pcscd always serves `/run/pcscd/pcscd.comm` (1.9.9 ignores
//! `PCSCLITE_CSOCK_NAME`), so it runs in its own mount namespace with a
//! fresh tmpfs on `/run` and a temporary folder bound over `/run/pcscd`:
//! the system's pcscd, if any, is never touched. Clients outside reach it
//! with `PCSCLITE_CSOCK_NAME=<folder>/pcscd.comm` ([`PrivatePcscd::client_env`]).
//! Each instance owns a vpcd TCP port (and the next one, vpcd's second
//! slot), so tests give each pcscd its own port.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct PrivatePcscd {
    dir: PathBuf,
    _owned: Option<tempfile::TempDir>,
    port: u16,
    child: Option<Child>,
}

/// vpcd's reader name for slot 0.
pub const READER_NAME: &str = "Virtual PCD 00 00";
/// vpcd's second slot: the contactless reader of the tests (§10).
pub const CONTACTLESS_READER_NAME: &str = "Virtual PCD 00 01";

impl PrivatePcscd {
    /// Starts pcscd with one vpcd reader listening on `port` (and `port + 1`).
    pub fn start(port: u16) -> Self {
        let owned = tempfile::tempdir().expect("temp dir");
        let mut me = Self::start_in(owned.path(), port);
        me._owned = Some(owned);
        me
    }

    /// [`PrivatePcscd::start`] in a folder the caller chose (so a child
    /// process can be given the socket's path before pcscd starts).
    pub fn start_in(dir: &Path, port: u16) -> Self {
        let conf = format!("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:{port}\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    {port}\n");
        std::fs::write(dir.join("reader.conf"), conf).expect("reader.conf");
        let mut me = Self { dir: dir.to_path_buf(), _owned: None, port, child: None };
        me.spawn();
        me
    }

    fn spawn(&mut self) {
        assert!(Path::new("/usr/lib/pcsc/drivers/serial/libifdvpcd.so").exists(), "vsmartcard-vpcd is not installed: run scripts/setup");
        for p in [self.port, self.port + 1] {
            wait_port_free(p);
        }
        let _ = std::fs::remove_file(self.socket());
        let d = self.dir.display();
        let script = format!("mount -t tmpfs tmpfs /run && mkdir /run/pcscd && mount --bind {d} /run/pcscd && exec pcscd --foreground --config {d}/reader.conf");
        let log = std::fs::File::create(self.dir.join("pcscd.log")).expect("log");
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("unshare + pcscd (run scripts/setup)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(self.socket().exists() && port_taken(self.port)) {
            assert!(Instant::now() < deadline, "private pcscd did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The socket clients use.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("pcscd.comm")
    }

    /// The environment a PC/SC client needs to reach this pcscd.
    pub fn client_env(&self) -> (&'static str, PathBuf) {
        ("PCSCLITE_CSOCK_NAME", self.socket())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pcscd.log")).unwrap_or_default()
    }

    /// Kills pcscd (as a crash would) and starts it again.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Taps the card `label` on the second slot (the contactless reader):
    /// the card process leaves once the card was read.
    pub fn tap(&self, exe: &str, label: &str) -> VirtualCardProcess {
        card_process(exe, label, self.port + 1, &["--tap"])
    }

    /// Plugs the card `label` of test-cards.toml in with the `pos-vcard`
    /// program at `exe` (`extra`: `--t0`, `--no-pse`).
    pub fn insert(&self, exe: &str, label: &str, extra: &[&str]) -> VirtualCardProcess {
        card_process(exe, label, self.port, extra)
    }
}

/// `pos-vcard --card LABEL --port PORT EXTRA…`, quiet.
fn card_process(exe: &str, label: &str, port: u16, extra: &[&str]) -> VirtualCardProcess {
    let child = Command::new(exe)
        .args(["--card", label, "--port", &port.to_string()])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pos-vcard");
    VirtualCardProcess(Some(child))
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A card in the reader: pulled when dropped or [`VirtualCardProcess::pull`]ed.
#[derive(Debug)]
pub struct VirtualCardProcess(Option<Child>);

/// vpcd polls its card about every 0.4 s; a card program that connects
/// before vpcd noticed the previous one leave is never seen (vsmartcard
/// 3.3). A pulled card therefore stays out this long, as a hand would.
const PULL_SETTLE: std::time::Duration = std::time::Duration::from_millis(1200);

impl VirtualCardProcess {
    pub fn pull(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(PULL_SETTLE);
        }
    }
}

impl Drop for VirtualCardProcess {
    fn drop(&mut self) {
        self.pull();
    }
}

fn port_taken(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_err()
}

fn wait_port_free(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while port_taken(port) {
        assert!(Instant::now() < deadline, "vpcd port {port} stays in use: another pcscd holds it");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The vpcd port base of this checkout (`SMARTPOS_VPCD_PORTS`, default
/// 29110), plus `offset` for a test of its own. The ports sit below Linux's
/// ephemeral range (32768–60999): a port in there can be held in TIME_WAIT
/// by any test's loopback connection, and once was (36110). A second
/// checkout testing on the same machine sets another base (`scripts/flaky` does).
pub fn vpcd_ports(offset: u16) -> u16 {
    std::env::var("SMARTPOS_VPCD_PORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(29110) + offset
}

/// Runs the ignored test `scenario` of the current test binary in a child
/// process whose environment names a private pcscd's socket (libpcsclite
/// reads it at start; a test may not change its own environment); the
/// child finds the folder for it in `POS_PCSCD_DIR`. Panics with the
/// child's output unless it passed.
pub fn run_scenario_in_child(scenario: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let out = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", scenario, "--nocapture", "--include-ignored", "--test-threads", "1"])
        .env("PCSCLITE_CSOCK_NAME", dir.path().join("pcscd.comm"))
        .env("POS_PCSCD_DIR", dir.path())
        .output()
        .expect("child test");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "child scenario {scenario} failed:\n{text}");
}
