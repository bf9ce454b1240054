//! §8's "a set is committed only when it is complete", crash-tested: the
//! engine in its own process (`pos-engine-driver`) holds a recognisable old
//! set (one CA key, one AID), runs `UpdateParameters`, and is killed with
//! SIGKILL at every step of it — before and after each of the nine
//! exchanges' requests, after each reply, around each set's commit. After
//! each kill the database holds either the old set or the new one, never a
//! mix, exactly as far as the commits went; and the next sign-in completes
//! the download. A negative control: an unkilled run replaces both sets.

use smartpos_tests::acquirer::LocalSim;
use smartpos_tests::driver::{Kill, run};
use std::path::Path;

/// (CA keys, IC parameter sets) in the driver's database.
fn held(state: &Path) -> (u32, u32) {
    let db = rusqlite::Connection::open(state.join("posd.db")).expect("posd.db");
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, u32>(0)).expect(sql);
    (count("SELECT count(*) FROM ca_key"), count("SELECT count(*) FROM aid_params"))
}

/// Leaves one CA key and one AID: the "old set" a kill must not disturb.
fn shrink(state: &Path) {
    let db = rusqlite::Connection::open(state.join("posd.db")).expect("posd.db");
    db.execute_batch("DELETE FROM ca_key WHERE idx <> 128; DELETE FROM aid_params WHERE aid <> x'A000000333010101';").expect("shrink");
    assert_eq!(held(state), (1, 1));
}

/// What must be held after a kill at `point`, hit `nth`: the CA key set
/// (exchanges 1–5, then its commit) comes before the IC parameters' (6–9).
fn expected(point: &str, nth: u32) -> (u32, u32) {
    match point {
        "download.commit.before" if nth == 1 => (1, 1),
        "download.commit.after" if nth == 1 => (2, 1),
        "download.commit.before" => (2, 1),
        "download.commit.after" => (2, 2),
        _ if nth <= 5 => (1, 1),
        _ => (2, 1),
    }
}

#[test]
fn sigkill_at_every_download_step_leaves_a_whole_set_and_the_next_sign_in_completes_it() {
    let s = LocalSim::start();
    let mut steps: Vec<(&str, u32)> = Vec::new();
    for point in ["download.request.before", "download.request.after", "download.response.after"] {
        steps.extend((1..=9).map(|n| (point, n)));
    }
    for point in ["download.commit.before", "download.commit.after"] {
        steps.extend((1..=2).map(|n| (point, n)));
    }
    for (point, nth) in steps {
        let state = tempfile::tempdir().expect("dir");
        let first = run(state.path(), &s, &["bind", "signin"], Kill::Never, None);
        assert!(first.results.iter().all(|r| r["ok"] == true), "{:?} {}", first.results, first.stderr);
        assert_eq!(held(state.path()), (2, 2), "the first sign-in downloads both sets");
        shrink(state.path());
        let target: &'static str = Box::leak(format!("{point}@{nth}").into_boxed_str());
        let killed = run(state.path(), &s, &["update-parameters"], Kill::At(target), None);
        assert_eq!(killed.stopped_at.as_deref(), Some(point), "{target} was not reached: {:?} {}", killed.results, killed.stderr);
        assert_eq!(held(state.path()), expected(point, nth), "after a SIGKILL at {target}");
        let next = run(state.path(), &s, &["signin"], Kill::Never, None);
        assert!(next.results.iter().all(|r| r["ok"] == true), "{target}: {:?} {}", next.results, next.stderr);
        assert_eq!(held(state.path()), (2, 2), "{target}: the next sign-in completes the download");
    }
    // Negative control: unkilled, the old set is replaced (the counts above can change).
    let state = tempfile::tempdir().expect("dir");
    run(state.path(), &s, &["bind", "signin"], Kill::Never, None);
    shrink(state.path());
    let whole = run(state.path(), &s, &["update-parameters"], Kill::Never, None);
    assert!(whole.results.iter().all(|r| r["ok"] == true), "{:?}", whole.results);
    assert_eq!(held(state.path()), (2, 2));
}
