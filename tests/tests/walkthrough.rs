//! The protocol walk-through (`pos-walkthrough`: every exchange of the
//! protocol from a minimal hand-built terminal, no posd) completes against
//! a fresh simulator. The README's demo (posd + posctl) runs in
//! `scripts/test` itself.

use smartpos_tests::acquirer::LocalSim;
use std::process::Command;

#[test]
fn the_demo_walk_through_completes() {
    let sim = LocalSim::start();
    let out = Command::new(env!("CARGO_BIN_EXE_pos-walkthrough")).arg("--host").arg(sim.h.addr.to_string()).arg("--control").arg(sim.h.control_addr.to_string()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("walk-through complete"), "{stdout}");
    assert_eq!(sim.h.ledger().charged("default"), 8800, "the ledger the walk-through prints: the offline sale stands, the voided one does not");
}
