//! The app-developer examples (`examples/`) take a sale against a real
//! posd on a private bus: the zbus proxy client and the dbus-next client.

use smartpos_tests::posd::{PosdRig, type_pin_when_asked, workspace_bin};
use std::process::Command;

fn run_example(rig: &PosdRig, mut cmd: Command) -> String {
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let out = cmd.output().expect("example");
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "example failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[test]
fn the_rust_and_python_examples_take_a_sale() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let mut rust = Command::new(workspace_bin("smartpos-example-sale"));
    rust.args(["2500", rig.bus.address()]);
    let out = run_example(&rig, rust);
    assert!(out.contains("approved=true") && out.contains("response_code=00 ") && out.contains("622848*********0018"), "{out}");
    // Plain values, not zvariant's debug forms (`uint32 4`, `"00"`).
    let stan = out.split("stan=").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or("");
    assert!(!stan.is_empty() && stan.bytes().all(|c| c.is_ascii_digit()), "stan printed as {stan:?}: {out}");

    let mut py = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    py.arg(smartpos_tests::oracle::repo_root().join("examples/python/sale.py")).args(["2600", rig.bus.address()]);
    let out = run_example(&rig, py);
    assert!(out.contains("approved=True") && out.contains("response_code=00") && out.contains("622848*********0018"), "{out}");
}
