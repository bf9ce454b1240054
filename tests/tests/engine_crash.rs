//! Crash tests (§6 "never lose, never double-charge"): `pos-engine-driver`
//! runs the real engine in its own process and is killed with SIGKILL at
//! every named failpoint of `posd::engine::failpoint::ALL` — each must be
//! reached — and at 100 random moments of a mixed workload. After each
//! kill it is started again to recover (sign in, send reversals, forward
//! the queue), and the simulator's ledger and the journal must agree: no
//! approved sale lost, none charged twice, every interrupted sale reversed.

use posd::engine::failpoint::ALL;
use posd::store::Store;
use posd::store::journal::{EntryState, Kind};
use posd::store::keystore::FileKeyStore;
use rand::Rng;
use serde_json::Value;
use smartpos_proto::exchange::Exchange;
use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::acquirer::ledger::Ledger;
use smartpos_tests::acquirer::state::TxnState;
use smartpos_vcard::testdata::TestData;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const DRIVER: &str = env!("CARGO_BIN_EXE_pos-engine-driver");
const TID: &str = "10000001";

/// A state directory holding the terminal's RSA key pair (made once: slow).
fn template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let s = LocalSim::start();
        let run = run(d.path(), &s, &["bind"], Kill::Never, None);
        assert!(run.results.first().is_some_and(|r| r["ok"] == true), "template bind: {:?} {}", run.results, run.stderr);
        d
    })
    .path()
}

fn fresh_state() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in ["device.key", "posd.db", "posd.db-wal", "posd.db-shm"] {
        let src = template().join(f);
        if src.exists() {
            std::fs::copy(&src, d.path().join(f)).unwrap();
        }
    }
    d
}

#[derive(Debug, Clone, Copy)]
enum Kill {
    Never,
    At(&'static str),
    After(Duration),
}

#[derive(Debug)]
struct Run {
    results: Vec<Value>,
    /// The failpoint the process stopped at, when it did.
    stopped_at: Option<String>,
    killed: bool,
    stderr: String,
}

fn run(state: &Path, s: &LocalSim, ops: &[&str], kill: Kill, log: Option<&Path>) -> Run {
    let mut cmd = Command::new(DRIVER);
    cmd.arg("--state").arg(state).arg("--host").arg(s.h.addr.to_string()).arg("--control").arg(s.h.control_addr.to_string()).args(ops);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Kill::At(name) = kill {
        cmd.env("POSD_FAILPOINT", name);
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
    let started = Instant::now();
    let mut results = Vec::new();
    let mut stopped_at = None;
    let mut killed = false;
    loop {
        let wait = match kill {
            Kill::After(d) => d.saturating_sub(started.elapsed()),
            _ => Duration::from_secs(60),
        };
        match rx.recv_timeout(wait) {
            Ok(line) => {
                if let Some(name) = line.strip_prefix("FAILPOINT ") {
                    stopped_at = Some(name.to_string());
                    let _ = child.kill();
                    killed = true;
                } else if let Some(json) = line.strip_prefix("RESULT ") {
                    results.push(serde_json::from_str(json).unwrap());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if matches!(kill, Kill::After(_)) {
                    killed = child.try_wait().ok().flatten().is_none();
                    let _ = child.kill();
                } else {
                    let _ = child.kill();
                    panic!("pos-engine-driver hung: {ops:?}");
                }
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
    Run { results, stopped_at, killed, stderr }
}

/// The workload that reaches a failpoint.
fn workload(point: &str) -> Vec<&'static str> {
    let head = ["bind", "signin"];
    let tail: &[&str] = match point.split('.').next().unwrap_or("") {
        "sale" => &["sale:default:1500"],
        "offline" => &["host-down", "sale:default:1200"],
        "advice" => &["host-down", "sale:default:1100", "host-up", "flush"],
        "reversal" => &["lose-reply", "sale:default:1300"],
        "void" => &["sale:default:1600", "void-last"],
        "settlement" => &["sale:default:1000", "sale:visa:2000", "unbalanced", "settle"],
        other => panic!("no workload reaches failpoints of {other:?}"),
    };
    head.iter().chain(tail).copied().collect()
}

const MIXED: &[&str] = &[
    "bind",
    "signin",
    "sale:default:1000",
    "host-down",
    "sale:default:900",
    "sale:visa:800",
    "host-up",
    "flush",
    "sale:low-balance:50",
    "void-last",
    "sale:default:700",
    "lose-reply",
    "sale:visa:600",
    "unbalanced",
    "settle",
    "sale:default:500",
];

/// Recovers the terminal and checks the ledger against the journal.
fn recover_and_check(state: &Path, s: &LocalSim, before: &Run, what: &str, log: Option<&Path>) {
    s.h.set_faults(Faults::default());
    std::thread::sleep(Duration::from_millis(30));
    let rec = run(state, s, &["recover"], Kill::Never, log);
    let r = rec.results.first().unwrap_or_else(|| panic!("{what}: recover printed nothing: {}", rec.stderr));
    // A kill before binding finished leaves an unbound terminal: nothing to recover.
    let bound = before.results.iter().any(|v| v["op"] == "bind" && v["ok"] == true);
    if bound {
        assert_eq!(r["ok"], true, "{what}: recover failed: {r}\n{}", rec.stderr);
        assert_eq!((r["remaining"].as_u64(), r["reversals"].as_u64()), (Some(0), Some(0)), "{what}: {r}");
    }
    check(state, &s.h.ledger(), before, what);
}

fn check(state: &Path, ledger: &Ledger, before: &Run, what: &str) {
    let keys = Arc::new(FileKeyStore::open_or_create(&state.join("device.key")).unwrap());
    let store = Store::open(&state.join("posd.db"), keys).unwrap();
    assert!(store.pending_reversals().unwrap().is_empty(), "{what}: a reversal is still pending");
    let q = store.queue_stats(0).unwrap();
    assert_eq!((q.depth, q.unanswered_refunds), (0, 0), "{what}: advices still queued");
    let mut rows = Vec::new();
    for b in 1..=3 {
        rows.extend(store.batch_entries(b).unwrap());
    }
    assert!(rows.iter().all(|e| e.state != EntryState::InFlight), "{what}: an in-flight row survived recovery: {rows:?}");
    let approved = |k: Kind| rows.iter().filter(move |e| e.kind == k && e.state == EntryState::Approved).map(|e| (e.batch, e.stan)).collect::<BTreeSet<_>>();
    let host = |ex: &[Exchange]| {
        ledger.transactions.iter().filter(|t| t.tid == TID && ex.contains(&t.exchange) && t.state == TxnState::Approved).map(|t| (t.batch, t.stan)).collect::<BTreeSet<_>>()
    };
    assert_eq!(approved(Kind::Sale), host(&[Exchange::Sale, Exchange::OfflineAdvice]), "{what}: approved sales differ between terminal and host");
    assert_eq!(approved(Kind::Void), host(&[Exchange::Void]), "{what}: approved voids differ");
    for t in &ledger.transactions {
        assert!(ledger.entries(&t.tid, t.batch, t.stan).len() == 1, "{what}: the host recorded ({}, {}) twice", t.batch, t.stan);
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

#[test]
fn sigkill_at_every_failpoint_loses_nothing_and_charges_nothing_twice() {
    let mut missed = Vec::new();
    for &point in ALL {
        let s = LocalSim::start();
        let state = fresh_state();
        let before = run(state.path(), &s, &workload(point), Kill::At(point), None);
        if before.stopped_at.as_deref() != Some(point) {
            missed.push(point);
            continue;
        }
        recover_and_check(state.path(), &s, &before, point, None);
    }
    assert!(missed.is_empty(), "failpoints never reached by their workload: {missed:?}");
}

#[test]
fn sigkill_at_100_random_moments_loses_nothing_and_charges_nothing_twice() {
    let runs: usize = std::env::var("CRASH_RANDOM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    // How long the whole workload takes unkilled: kills land anywhere in it.
    let s = LocalSim::start();
    let state = fresh_state();
    let t0 = Instant::now();
    let full = run(state.path(), &s, MIXED, Kill::Never, None);
    let span = t0.elapsed();
    assert!(full.results.iter().any(|v| v["op"] == "settle" && v["ok"] == true), "the mixed workload settles: {:?}\n{}", full.results, full.stderr);
    check(state.path(), &s.h.ledger(), &full, "unkilled run");
    let mut rng = rand::thread_rng();
    let mut killed = 0;
    for i in 0..runs {
        let s = LocalSim::start();
        let state = fresh_state();
        let at = Duration::from_micros(rng.gen_range(0..span.as_micros() as u64));
        let before = run(state.path(), &s, MIXED, Kill::After(at), None);
        killed += usize::from(before.killed);
        recover_and_check(state.path(), &s, &before, &format!("random kill {i} at {at:?}"), None);
    }
    eprintln!("random kills: {killed} of {runs} landed inside a workload of {span:?}");
    assert!(killed * 10 >= runs * 8, "most random kills must land inside the workload ({killed} of {runs})");
}
