//! `posctl --json` output and exit codes, and `Diagnose` answering one
//! scenario per category (network, device, host, binding, operator) with
//! the right status and a remedy.

use serde_json::{Value as Json, json};
use smartpos_tests::posd::{PosdRig, type_pin_when_asked};

fn posctl_json(rig: &PosdRig, args: &[&str]) -> (i32, Json) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = rig.posctl(&all);
    let text = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("posctl {args:?} printed no JSON ({e}): {text:?} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), value)
}

/// The rows of `Diagnose` as (category, check, status, detail, remedy).
fn diagnose(rig: &PosdRig) -> Vec<[String; 5]> {
    let rows = rig.call("Terminal", "Diagnose", &[]).expect("diagnose");
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let f: Vec<String> = r.as_array().expect("row").iter().map(|v| v.as_str().unwrap_or("").to_string()).collect();
            [f[0].clone(), f[1].clone(), f[2].clone(), f[3].clone(), f[4].clone()]
        })
        .collect()
}

fn row(rows: &[[String; 5]], category: &str, check_starts: &str) -> [String; 5] {
    rows.iter().find(|r| r[0] == category && r[1].starts_with(check_starts)).cloned().unwrap_or_else(|| panic!("no {category}/{check_starts} row in {rows:?}"))
}

fn assert_row(rows: &[[String; 5]], category: &str, check: &str, status: &str, remedy_has: &str) {
    let r = row(rows, category, check);
    assert_eq!(r[2], status, "{r:?}");
    if status == "ok" {
        assert!(r[4].is_empty(), "an ok row has no remedy: {r:?}");
    } else {
        assert!(r[4].contains(remedy_has), "remedy of {r:?} should mention {remedy_has:?}");
    }
}

#[test]
fn posctl_json_output_and_exit_codes() {
    let rig = PosdRig::start();
    let (code, status) = posctl_json(&rig, &["status"]);
    assert_eq!((code, status["terminal"]["State"].clone()), (0, json!("unbound")), "{status}");
    assert_eq!(status["queue"]["Depth"], json!(0));
    assert_eq!(status["hardware"]["Keypad"]["backend"], json!("sim"));

    let (code, err) = posctl_json(&rig, &["sign-in"]);
    assert_eq!((code, err["error"]["name"].clone()), (3, json!("NotBound")), "{err}");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.to_lowercase().contains("bind")), "{err}");

    let (code, bound) = posctl_json(&rig, &["bind", "483920"]);
    assert_eq!((code, bound["terminal_id"].clone()), (0, json!("10000001")));

    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let (code, sale) = posctl_json(&rig, &["sale", "12.34", "--reference", "r-1"]);
    let _ = typist.join();
    assert_eq!((code, sale["approved"].clone(), sale["amount"].clone(), sale["reference"].clone()), (0, json!(true), json!(1234), json!("r-1")), "{sale}");

    rig.call("Simulator", "InsertCard", &["s", "low-balance"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "111111#");
    let (code, declined) = posctl_json(&rig, &["sale", "50"]);
    let _ = typist.join();
    assert_eq!((code, declined["approved"].clone(), declined["response_code"].clone()), (1, json!(false), json!("51")), "{declined}");

    let (code, list) = posctl_json(&rig, &["queue", "list"]);
    assert_eq!((code, list), (0, json!([])));
    let (code, rows) = posctl_json(&rig, &["diagnose"]);
    assert!(code == 0 || code == 3, "{code}");
    assert!(rows.as_array().is_some_and(|r| r.len() >= 10 && r.iter().all(|x| x.as_array().is_some_and(|f| f.len() == 5))), "{rows}");

    // Usage errors exit 2 without calling posd; no posd on a bus exits 4.
    let out = rig.posctl(&["sale", "12.345"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let other_bus = smartpos_tests::dbus::PrivateBus::start();
    let out = std::process::Command::new(smartpos_tests::posd::workspace_bin("posctl")).args(["--json", "--bus", other_bus.address(), "status"]).output().expect("posctl");
    assert_eq!(out.status.code(), Some(4));
    let err: Json = serde_json::from_slice(&out.stdout).expect("json");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("posd is not running")), "{err}");

    // Human output: the status page reads like one.
    let out = rig.posctl(&["status"]);
    let page = String::from_utf8_lossy(&out.stdout);
    for want in ["Terminal", "signed-in", "10000001", "Queue", "Hardware", "Last error"] {
        assert!(page.contains(want), "status page lacks {want:?}:\n{page}");
    }
}

#[test]
fn diagnose_tells_network_problems_apart() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let rows = diagnose(&rig);
    assert_row(&rows, "network", "host", "ok", "");
    assert_row(&rows, "network", "signal", "ok", "");
    assert!(row(&rows, "network", "host")[3].contains("TCP connect in"), "{rows:?}");

    // The acquirer refuses connections: the host row fails, the modem is fine.
    rig.sim.h.set_faults(smartpos_tests::acquirer::faults::Faults { refuse: true, ..Default::default() });
    let rows = diagnose(&rig);
    assert_row(&rows, "network", "host", "fail", "acquirer");
    assert_row(&rows, "network", "registration", "ok", "");
    rig.sim.h.set_faults(Default::default());

    // The modem lost the network: registration and signal say so.
    rig.call("Simulator", "SetModemState", &["s", "searching"]).expect("state");
    rig.call("Simulator", "SetSignal", &["u", "4"]).expect("signal");
    let rows = diagnose(&rig);
    assert_row(&rows, "network", "registration", "warn", "coverage");
    assert_row(&rows, "network", "signal", "fail", "antenna");
    assert_row(&rows, "network", "data connection", "warn", "apn");
    rig.call("Simulator", "SetModemState", &["s", "absent"]).expect("state");
    assert_row(&diagnose(&rig), "network", "modem", "fail", "ModemManager");
}

#[test]
fn diagnose_device_host_binding_and_operator() {
    let rig = PosdRig::start();
    // Binding: not bound.
    let rows = diagnose(&rig);
    assert_row(&rows, "binding", "bound", "fail", "posctl bind");
    assert_row(&rows, "host", "working keys", "warn", "Bind");
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let rows = diagnose(&rig);
    assert_row(&rows, "binding", "bound", "ok", "");
    assert_row(&rows, "binding", "master key", "ok", "");
    assert_row(&rows, "binding", "deposit", "ok", "");
    assert!(row(&rows, "binding", "deposit")[3].contains("59.00 paid"));

    // Device: a card left in the reader with nothing running.
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let slot = loop {
        let r = row(&diagnose(&rig), "device", "card slot");
        if r[2] != "ok" || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(slot[2], "warn", "{slot:?}");
    assert!(slot[4].contains("Remove the card"), "{slot:?}");
    assert_row(&diagnose(&rig), "device", "storage", "ok", "");
    assert_row(&diagnose(&rig), "device", "keypad", "ok", "");

    // Operator: PIN entry cancelled.
    let typist = type_pin_when_asked(rig.bus.address(), "*");
    assert!(rig.call("Payment", "Sale", &["ta{sv}", "100", "0"]).is_err());
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    assert_row(&diagnose(&rig), "operator", "last operator error", "warn", "Start the payment again");

    // Host: the host answers 96 at sign-in.
    rig.sim.h.set_faults(smartpos_tests::acquirer::faults::Faults { response_code: Some("96".into()), response_code_count: 1, ..Default::default() });
    assert!(rig.call("Terminal", "SignIn", &[]).is_err());
    let r = row(&diagnose(&rig), "host", "last answer");
    assert_eq!(r[2], "fail", "{r:?}");
    assert!(r[3].contains("code 96") && !r[4].is_empty(), "{r:?}");
    // Signed in again: the host rows clear.
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let rows = diagnose(&rig);
    assert_row(&rows, "host", "last answer", "ok", "");
    assert_row(&rows, "host", "working keys", "ok", "");
    assert_row(&rows, "device", "clock", "ok", "");
}

#[test]
fn a_gpio_keypad_on_a_board_that_is_not_a_pi_is_a_clear_device_error() {
    // This machine is not a Raspberry Pi: rppal refuses, posd keeps serving and says why.
    let rig = PosdRig::start_with(
        |cfg| {
            let hw = cfg.get_mut("hardware").and_then(toml::Value::as_table_mut).expect("[hardware]");
            hw.insert("keypad".into(), toml::Value::String("rppal".into()));
        },
        &[],
    );
    assert_eq!(rig.get("Hardware", "Keypad"), json!({"backend": "rppal", "ok": false}));
    let r = row(&diagnose(&rig), "device", "keypad");
    assert_eq!(r[2], "fail", "{r:?}");
    assert!(r[4].contains("gpio"), "{r:?}");
    assert!(rig.log().contains("not a Raspberry Pi") || rig.log().contains("permission"), "the cause is logged:\n{}", rig.log());
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let err = rig.call("Payment", "Sale", &["ta{sv}", "100", "0"]).expect_err("no keypad, no PIN");
    assert!(err.contains("keypad") || err.contains("PIN pad"), "{err}");
}
