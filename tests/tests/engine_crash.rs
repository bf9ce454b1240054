//! Crash tests (§6 "never lose, never double-charge"): `pos-engine-driver`
//! runs the real engine in its own process and is killed with SIGKILL at
//! every named failpoint of `posd::engine::failpoint::ALL` — each must be
//! reached — and at 100 random moments of a mixed workload, each drawn
//! (from a printed, settable seed) as "a random 0–2 ms after its n-th
//! failpoint" so that where kills land does not depend on the machine's load. After each
//! kill it is started again to recover (sign in, send reversals, forward
//! the queue), and the simulator's ledger and the journal must agree: no
//! approved sale lost, none charged twice, every interrupted sale reversed.

use posd::engine::failpoint::ALL;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::driver::{Kill, Run, check, run, run_with_env};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

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
        // The first sign-in downloads the §8 sets.
        "download" => &[],
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

/// The seed of the random kills: `CRASH_SEED` when set, else a fresh one.
/// It is printed first and named in every failure, so a red run replays.
fn seed() -> u64 {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("random kills: CRASH_SEED={seed}");
    seed
}

/// Recovers after `before` and runs the books check, returning its verdict
/// instead of panicking (the negative control needs to see it fail).
fn books_after(state: &Path, s: &LocalSim, before: &Run, what: &str) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| recover_and_check(state, s, before, what, None)))
        .map_err(|e| e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "books check panicked".into()))
}

#[test]
fn sigkill_at_100_random_moments_loses_nothing_and_charges_nothing_twice() {
    let runs: usize = std::env::var("CRASH_RANDOM_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    // The unkilled run: its trace of failpoints is the workload's progress,
    // the same on a fast machine and a loaded one.
    let s = LocalSim::start();
    let state = fresh_state();
    let full = run(state.path(), &s, MIXED, Kill::Trace, None);
    assert!(full.results.iter().any(|v| v["op"] == "settle" && v["ok"] == true), "the mixed workload settles: {:?}\n{}", full.results, full.stderr);
    check(state.path(), &s.h.ledger(), &full, "unkilled run");
    let steps = full.passed.len();
    assert!(steps > 20, "the mixed workload passes its failpoints: {:?}", full.passed);
    // Kill after a random step, a random 0–2 ms later: between two failpoints,
    // wherever the process then is. A kill after the last step may find the
    // workload finished; such a run is checked but not counted, and kills are
    // drawn until `runs` have landed (bounded, so a broken aim still fails).
    let (mut landed, mut attempts) = (0, 0);
    let mut after = std::collections::BTreeSet::new();
    while landed < runs && attempts < 3 * runs {
        attempts += 1;
        let nth = rng.gen_range(1..=steps);
        let delay = Duration::from_micros(rng.gen_range(0..2_000));
        let s = LocalSim::start();
        let state = fresh_state();
        let before = run(state.path(), &s, MIXED, Kill::AfterPass { nth, delay }, None);
        let what = format!("CRASH_SEED={seed}: kill {attempts} after step {nth} ({}) + {delay:?}", full.passed[nth - 1]);
        if let Err(e) = books_after(state.path(), &s, &before, &what) {
            panic!("{e}");
        }
        if before.killed {
            landed += 1;
            after.insert(full.passed[nth - 1].clone());
        }
    }
    eprintln!("random kills: {landed} landed in {attempts} attempts, after {} distinct failpoints of {steps} steps", after.len());
    assert_eq!(landed, runs, "CRASH_SEED={seed}: kills drawn inside the workload must land ({landed} of {attempts} did)");
    // Kills spread over the workload, not bunched at its start.
    let distinct: std::collections::BTreeSet<_> = full.passed.iter().collect();
    assert!(after.len() * 2 >= distinct.len().min(runs), "CRASH_SEED={seed}: kills landed after only {} of {} failpoints", after.len(), distinct.len());
}

/// The negative control: with one durable step skipped (the reversal record
/// a sale commits before its request leaves), a kill while the host holds
/// the request must fail the very books check above; the same kill without
/// the sabotage passes it.
#[test]
fn the_books_check_catches_a_kill_that_loses_the_reversal_record() {
    // The host takes the sale and answers past the timeout: the kill lands
    // while the request is at the host, whatever the machine's load.
    let ops = ["bind", "signin", "fault:delay", "sale:default:1500"];
    let at_request_sent = |sabotage: &[(&str, &str)]| {
        let s = LocalSim::start();
        let state = fresh_state();
        let probe = run_with_env(state.path(), &s, &ops, Kill::At("sale.request.after"), None, sabotage);
        assert_eq!(probe.stopped_at.as_deref(), Some("sale.request.after"), "{}", probe.stderr);
        books_after(state.path(), &s, &probe, "sale killed with its request at the host")
    };
    assert_eq!(at_request_sent(&[]), Ok(()), "without sabotage the books balance");
    let caught = at_request_sent(&[("POSD_SABOTAGE", "reversal-record")]);
    assert!(caught.is_err(), "a lost reversal record must fail the books check");
    eprintln!("negative control: {}", caught.unwrap_err().lines().next().unwrap_or_default());
}
