//! Engine throughput, measured (issue 3's targets; figures in docs/BENCHMARKS.md):
//!
//! 1. offline sales per second through the engine's whole offline path —
//!    card (selection, records, GENERATE AC on the virtual card), PIN entry,
//!    risk checks, the queue commit — against a plain rusqlite
//!    insert-and-commit loop with the same pragmas in the same directory
//!    (aim: ratio ≥ 0.8);
//! 2. forwarding 10,000 queued sales to the simulator on loopback (aim ≥ 1,000/s).
//!
//! `cargo bench -p smartpos-tests --bench engine_offline [-- --quick] [--sales-only] [--keyed]`
//! prints one JSON line per figure (`--sales-only`: the first, for profiling;
//! `--keyed`: the floor with the journal's `UNIQUE (batch, stan)` key beside it).

use posd::engine::SaleOptions;
use smartpos_tests::rig::Rig;
use std::time::{Duration, Instant};

/// The baseline: one insert and one commit per row, same pragmas, same
/// directory. `keyed`: the same with the journal's `UNIQUE (batch, stan)`
/// key (context only: the aim is against the plain floor).
struct Plain {
    conn: rusqlite::Connection,
    next: i64,
}

impl Plain {
    fn new(dir: &std::path::Path, keyed: bool) -> Self {
        let conn = rusqlite::Connection::open(dir.join(if keyed { "plain-keyed.db" } else { "plain.db" })).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        let key = if keyed { ", batch INTEGER NOT NULL DEFAULT 1, UNIQUE (batch, stan)" } else { "" };
        conn.execute_batch(&format!("CREATE TABLE t (id INTEGER PRIMARY KEY, stan INTEGER, amount INTEGER, masked TEXT, sealed BLOB{key})")).unwrap();
        Self { conn, next: 0 }
    }

    fn block(&mut self, n: usize) -> Duration {
        let blob = vec![0xA5u8; 400];
        let t = Instant::now();
        for _ in 0..n {
            self.next += 1;
            let tx = self.conn.unchecked_transaction().unwrap();
            tx.prepare_cached("INSERT INTO t (stan, amount, masked, sealed) VALUES (?1, ?2, ?3, ?4)")
                .unwrap()
                .execute(rusqlite::params![self.next, 100, "622848*********0018", blob])
                .unwrap();
            tx.commit().unwrap();
        }
        t.elapsed()
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_sales, n_forward) = if quick { (300, 1_000) } else { (2_000, 10_000) };
    // `OFFLINE_SALES=N` for a longer sale loop when profiling.
    let n_sales = std::env::var("OFFLINE_SALES").ok().and_then(|v| v.parse().ok()).unwrap_or(n_sales);
    let n_forward = n_forward.max(n_sales);
    let mut r = Rig::signed_in_with(|c| {
        // Y1: under the floor limit with "exceeds floor limit" as the only online reason.
        c.emv.floor_limit = 1_000_000;
        c.emv.tac_online = "0000008000".into();
        c.emv.absent_iac_online = "0000000000".into();
        // Kept over the host's downloaded IC parameters (floor limit 0).
        c.emv.pin = vec!["floor_limit".into(), "tac_online".into()];
        c.offline.max_count = 1_000_000;
        c.offline.max_total = u64::MAX / 4;
        c.offline.max_age_secs = 86_400;
    });
    // Short blocks of each, alternating, so that the disk's drift (its fsync
    // latency wanders by ±15 % over seconds here) hits both alike; the
    // figure is the median of the paired blocks' ratios, with the ratio of
    // the totals beside it.
    let mut plain = Plain::new(r.dir.path(), false);
    // `--keyed`: also the floor with the journal's UNIQUE key, in the same
    // rounds (it shifts the paired ratios: off for the headline figure).
    let mut keyed = std::env::args().any(|a| a == "--keyed").then(|| Plain::new(r.dir.path(), true));
    let mut t_keyed = Duration::ZERO;
    r.insert("default");
    let opts = SaleOptions::default();
    let block = 20;
    let rounds = (n_sales / block).max(1);
    let (mut t_plain, mut t_engine) = (Duration::ZERO, Duration::ZERO);
    let mut paired = Vec::with_capacity(rounds);
    for round in 0..rounds {
        // Which goes first alternates: neither always follows the other's fsyncs.
        let mut engine_block = || {
            let t = Instant::now();
            for _ in 0..block {
                r.type_pin("default");
                let res = r.engine.sale(100, &opts).unwrap();
                assert!(res.approved && res.offline, "{res:?}");
            }
            t.elapsed()
        };
        let (tp, te) = if round % 2 == 0 {
            let tp = plain.block(block);
            (tp, engine_block())
        } else {
            let te = engine_block();
            (plain.block(block), te)
        };
        if let Some(k) = keyed.as_mut() {
            t_keyed += k.block(block);
        }
        t_plain += tp;
        t_engine += te;
        paired.push(tp.as_secs_f64() / te.as_secs_f64());
    }
    paired.sort_by(f64::total_cmp);
    let median = paired.get(paired.len() / 2).copied().unwrap_or_default();
    let n_sales = rounds * block;
    let plain = n_sales as f64 / t_plain.as_secs_f64();
    let engine = n_sales as f64 / t_engine.as_secs_f64();
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    let mut line = serde_json::json!({"bench": "offline-sale", "sales": n_sales, "engine_per_s": engine.round(), "plain_insert_commit_per_s": plain.round(), "ratio": r2(median), "ratio_of_totals": r2(engine / plain), "blocks": rounds});
    if keyed.is_some() {
        let k = n_sales as f64 / t_keyed.as_secs_f64();
        line["keyed_insert_commit_per_s"] = serde_json::json!(k.round());
        line["ratio_to_keyed"] = serde_json::json!(r2(engine / k));
    }
    println!("{line}");
    if std::env::args().any(|a| a == "--sales-only") {
        return; // for profiling the sale loop alone
    }
    // Fill the queue to n_forward, then forward it all.
    for _ in n_sales..n_forward {
        r.type_pin("default");
        r.engine.sale(100, &opts).unwrap();
    }
    r.remove();
    let depth = r.engine.store().queue_stats(0).unwrap().depth;
    let t = Instant::now();
    let f = r.engine.flush().unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!((f.forwarded, f.remaining), (depth, 0));
    assert_eq!(r.ledger().charged("default"), i64::from(depth) * 100);
    println!("{}", serde_json::json!({"bench": "forward", "advices": depth, "seconds": (secs * 100.0).round() / 100.0, "per_s": (f64::from(depth) / secs).round()}));
}
