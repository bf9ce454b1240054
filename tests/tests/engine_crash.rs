//! Crash tests (§6 "never lose, never double-charge"): `pos-engine-driver`
//! runs the real engine in its own process and is killed with SIGKILL at
//! every named failpoint of `posd::engine::failpoint::ALL` — each must be
//! reached — and at 100 random moments of a mixed workload. After each
//! kill it is started again to recover (sign in, send reversals, forward
//! the queue), and the simulator's ledger and the journal must agree: no
//! approved sale lost, none charged twice, every interrupted sale reversed.

use posd::engine::failpoint::ALL;
use rand::Rng;
use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::driver::{Kill, Run, check, run};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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
