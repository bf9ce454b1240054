//! `pos-engine-driver` as the crash test and the soak run it: started over
//! a state folder against a simulator, killed with SIGKILL at a failpoint
//! or after its n-th failpoint, its `RESULT` lines collected; and the books check that
//! follows every recovery — the terminal's journal against the simulator's
//! ledger: nothing lost, nothing charged twice, nothing left pending.

use crate::acquirer::LocalSim;
use crate::acquirer::ledger::Ledger;
use crate::acquirer::state::TxnState;
use posd::store::Store;
use posd::store::journal::{EntryState, Kind};
use posd::store::keystore::FileKeyStore;
use serde_json::Value;
use smartpos_proto::exchange::Exchange;
use smartpos_vcard::testdata::TestData;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The terminal the simulator binds with the test activation code.
pub const TID: &str = "10000001";

/// `pos-engine-driver` next to the running test.
pub fn driver() -> PathBuf {
    crate::posd::workspace_bin("pos-engine-driver")
}

/// When the driver is killed.
#[derive(Debug, Clone, Copy)]
pub enum Kill {
    Never,
    /// Never, but with every failpoint passed reported (`Run::passed`).
    Trace,
    /// At the named failpoint (`POSD_FAILPOINT`, a `failpoints` build).
    At(&'static str),
    /// `delay` after the process passed its `nth` failpoint (1-based): a
    /// moment tied to the workload's progress, not to the machine's speed.
    AfterPass {
        nth: usize,
        delay: Duration,
    },
}

/// What one driver process reported.
#[derive(Debug, Default)]
pub struct Run {
    pub results: Vec<Value>,
    /// The failpoint the process stopped at, when it did.
    pub stopped_at: Option<String>,
    /// Failpoints passed, in order (with [`Kill::Trace`] and [`Kill::AfterPass`]).
    pub passed: Vec<String>,
    pub killed: bool,
    pub stderr: String,
}

/// Runs the driver over `state` with `ops`; its stderr is appended to `log`.
pub fn run(state: &Path, s: &LocalSim, ops: &[&str], kill: Kill, log: Option<&Path>) -> Run {
    run_with_env(state, s, ops, kill, log, &[])
}

/// [`run`] with extra environment for the driver (e.g. `POSD_SABOTAGE`).
pub fn run_with_env(state: &Path, s: &LocalSim, ops: &[&str], kill: Kill, log: Option<&Path>, env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(driver());
    cmd.arg("--state").arg(state).arg("--host").arg(s.h.addr.to_string()).arg("--control").arg(s.h.control_addr.to_string()).args(ops);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.envs(env.iter().copied());
    match kill {
        Kill::At(name) => {
            cmd.env("POSD_FAILPOINT", name);
        }
        Kill::Trace | Kill::AfterPass { .. } => {
            cmd.env("POSD_FAILPOINT", "trace");
        }
        Kill::Never => {}
    }
    let mut child = cmd.spawn().expect("pos-engine-driver");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut results = Vec::new();
    let mut stopped_at = None;
    let mut passed = Vec::new();
    let mut killed = false;
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                if let Some(name) = line.strip_prefix("FAILPOINT ") {
                    stopped_at = Some(name.to_string());
                    let _ = child.kill();
                    killed = true;
                } else if let Some(name) = line.strip_prefix("PASS ") {
                    passed.push(name.to_string());
                    if let Kill::AfterPass { nth, delay } = kill
                        && passed.len() == nth
                    {
                        spin(delay);
                        // Still running: the kill lands inside the workload.
                        killed = child.try_wait().ok().flatten().is_none();
                        let _ = child.kill();
                    }
                } else if let Some(json) = line.strip_prefix("RESULT ") {
                    results.push(serde_json::from_str(json).unwrap());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("pos-engine-driver hung: {ops:?}");
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if killed {
            // Drain what was already written, then stop.
            while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if let Some(json) = line.strip_prefix("RESULT ") {
                    results.push(serde_json::from_str(json).unwrap());
                }
            }
            break;
        }
    }
    let _ = child.wait();
    let stderr = err_thread.join().unwrap_or_default();
    if let Some(p) = log {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).unwrap();
        let _ = f.write_all(stderr.as_bytes());
    }
    Run { results, stopped_at, passed, killed, stderr }
}

/// Waits `d` without sleeping: a kill's moment should not depend on the
/// scheduler's timer slack (a sleep is at least ~50 µs, often much more).
fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// The books after a recovery: the journal in `state` against `ledger`;
/// `before` holds what the terminal reported before it was killed.
pub fn check(state: &Path, ledger: &Ledger, before: &Run, what: &str) {
    let keys = Arc::new(FileKeyStore::open_or_create(&state.join("device.key")).unwrap());
    let store = Store::open(&state.join("posd.db"), keys).unwrap();
    assert!(store.pending_reversals().unwrap().is_empty(), "{what}: a reversal is still pending");
    let q = store.queue_stats(0).unwrap();
    assert_eq!((q.depth, q.unanswered_refunds), (0, 0), "{what}: advices still queued");
    let mut rows = Vec::new();
    for b in 1..=store.batch().unwrap() {
        rows.extend(store.batch_entries(b).unwrap());
    }
    assert!(rows.iter().all(|e| e.state != EntryState::InFlight), "{what}: an in-flight row survived recovery: {rows:?}");
    let approved = |k: Kind| rows.iter().filter(move |e| e.kind == k && e.state == EntryState::Approved).map(|e| (e.batch, e.stan)).collect::<BTreeSet<_>>();
    let host = |ex: &[Exchange]| {
        ledger.transactions.iter().filter(|t| t.tid == TID && ex.contains(&t.exchange) && t.state == TxnState::Approved).map(|t| (t.batch, t.stan)).collect::<BTreeSet<_>>()
    };
    assert_eq!(approved(Kind::Sale), host(&[Exchange::Sale, Exchange::OfflineAdvice]), "{what}: approved sales differ between terminal and host");
    assert_eq!(approved(Kind::Void), host(&[Exchange::Void]), "{what}: approved voids differ");
    let mut seen = BTreeSet::new();
    for t in &ledger.transactions {
        assert!(seen.insert((&t.tid, t.batch, t.stan)), "{what}: the host recorded ({}, {}) twice", t.batch, t.stan);
    }
    // Every sale reported approved before the kill is still approved and charged.
    for v in before.results.iter().filter(|v| v["approved"] == true && v["op"].as_str().is_some_and(|o| o.starts_with("sale"))) {
        let key = (v["batch"].as_u64().unwrap() as u32, v["stan"].as_u64().unwrap() as u32);
        assert!(approved(Kind::Sale).contains(&key), "{what}: approved sale {key:?} was lost");
    }
    // Money: per card, the host charged exactly the journal's approved sales minus voids.
    let data = TestData::embedded();
    let mut expect: BTreeMap<String, i64> = BTreeMap::new();
    for e in rows.iter().filter(|e| e.state == EntryState::Approved) {
        let label = data.cards.iter().find(|c| posd::engine::mask_pan(&c.pan) == e.masked_pan).map(|c| c.label.clone()).unwrap();
        let sign = match e.kind {
            Kind::Sale => 1,
            Kind::Void | Kind::Refund => -1,
            Kind::Balance => 0,
        };
        *expect.entry(label).or_default() += sign * e.amount as i64;
    }
    for c in &data.cards {
        assert_eq!(ledger.charged(&c.label), expect.get(&c.label).copied().unwrap_or(0), "{what}: card {} charged wrongly", c.label);
    }
}
