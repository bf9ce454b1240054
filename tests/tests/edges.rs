//! The edges of issue 20, each over the real process and the real bus: one
//! posd per state directory and per bus name, a configuration that cannot
//! be half-read (files it names, one-line errors, exit 78), the simulated
//! keypad dropping presses made before the prompt, messages in yuan and
//! characters, one `LastError` rule, the freedesktop error names, and what
//! posctl prints.

use serde_json::json;
use smartpos_tests::acquirer::faults::Faults;
use smartpos_tests::posd::{DEST, PATH, PosdRig, busctl_raw, on_progress, workspace_bin};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs a posd to its end (it must end within 30 s) with `args`.
fn posd_until_exit(args: &[&str]) -> Output {
    let mut child = Command::new(workspace_bin("posd")).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("posd");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("this posd kept running: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The lines posd wrote to stderr, without tracing's own lines (a fatal
/// error is printed as `posd: …`).
fn fatal_lines(out: &Output) -> Vec<String> {
    stderr(out).lines().filter(|l| l.starts_with("posd: ")).map(str::to_string).collect()
}

fn assert_first_still_serves(rig: &PosdRig) {
    assert_eq!(rig.get("Terminal", "State"), json!("bound"), "the first posd must keep serving");
    let owner = busctl_raw(rig.bus.address(), &["call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s", DEST]);
    let text = String::from_utf8_lossy(&owner.stdout);
    assert!(text.contains(&rig.pid().to_string()), "the name must still be the first posd's ({}): {text}", rig.pid());
    let status = rig.posctl(&["status"]);
    assert!(status.status.success(), "posctl status: {}", String::from_utf8_lossy(&status.stderr));
}

#[test]
fn item1_a_second_posd_on_the_same_state_dir_exits_75_and_the_first_keeps_serving() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let config = rig.config.display().to_string();
    // On the same bus, and on a bus of its own: the lock refuses it either way.
    let other_bus = smartpos_tests::dbus::PrivateBus::start();
    for bus in [rig.bus.address().to_string(), other_bus.address().to_string()] {
        let out = posd_until_exit(&["--config", &config, "--bus", &bus]);
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
        let lines = fatal_lines(&out);
        assert_eq!(lines.len(), 1, "one line: {}", stderr(&out));
        assert!(lines[0].contains(&format!("pid {}", rig.pid())) && lines[0].contains("state directory"), "{lines:?}");
        assert_first_still_serves(&rig);
    }
}

#[test]
fn item1_a_second_posd_for_the_same_bus_name_exits_75_and_the_first_keeps_serving() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let mut cfg: toml::Table = std::fs::read_to_string(&rig.config).expect("config").parse().expect("toml");
    cfg["terminal"]["state_dir"] = toml::Value::String(rig.dir.path().join("state-2").display().to_string());
    let second = rig.dir.path().join("second.toml");
    std::fs::write(&second, toml::to_string(&cfg).expect("toml")).expect("write");
    let out = posd_until_exit(&["--config", &second.display().to_string(), "--bus", rig.bus.address()]);
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let lines = fatal_lines(&out);
    assert!(lines.len() == 1 && lines[0].contains(&format!("pid {}", rig.pid())) && lines[0].contains("org.smartpos.Pos1"), "{}", stderr(&out));
    assert_first_still_serves(&rig);
    // Negative control: the same second configuration on a free bus runs.
    let free = smartpos_tests::dbus::PrivateBus::start();
    let mut child = Command::new(workspace_bin("posd")).args(["--config", &second.display().to_string(), "--bus", free.address()]).stderr(Stdio::null()).spawn().expect("posd");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().expect("wait").is_none(), "the second configuration must run on a bus of its own");
    let _ = child.kill();
    let _ = child.wait();
}

/// `--check-config` and a real start both refuse it: exit 78, one line
/// naming `key`.
fn refused(config_text: &str, key: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("posd.toml");
    std::fs::write(&path, config_text).expect("write");
    for check in [true, false] {
        let mut args = vec!["--config", path.to_str().expect("path"), "--bus", "unix:path=/nonexistent"];
        if check {
            args.insert(0, "--check-config");
        }
        let out = posd_until_exit(&args);
        assert_eq!(out.status.code(), Some(78), "{config_text:?} check={check}: {}", stderr(&out));
        let lines = fatal_lines(&out);
        assert_eq!(lines.len(), 1, "{config_text:?}: one line, not {}", stderr(&out));
        assert!(lines[0].contains(key), "{config_text:?}: the line must name {key}: {}", lines[0]);
    }
}

fn base_config(extra: &str) -> String {
    format!("[terminal]\nserial = \"SP2026000123\"\nstate_dir = \"/tmp/posd-edges-unused\"\n[hardware]\nreader = \"sim\"\nkeypad = \"sim\"\nmodem = \"sim\"\n{extra}")
}

#[test]
fn item2_the_field_table_is_read_and_checked() {
    refused(&base_config("[dialect]\nfield_table = \"/nonexistent/fields.toml\"\n"), "dialect.field_table");
    let dir = tempfile::tempdir().expect("dir");
    let garbage = dir.path().join("garbage.toml");
    std::fs::write(&garbage, "this is = not [ a field table").expect("write");
    refused(&base_config(&format!("[dialect]\nfield_table = \"{}\"\n", garbage.display())), "dialect.field_table");
    // Negative control: a table of one valid row passes (the loader reads
    // it; the check is not a blanket refusal).
    let good = dir.path().join("fields.toml");
    std::fs::write(&good, "[[field]]\nnumber = 64\nname = \"MAC\"\nformat = \"b\"\nprefix = \"fixed\"\nmax = 8\n").expect("write");
    let path = dir.path().join("ok.toml");
    std::fs::write(&path, base_config(&format!("[dialect]\nfield_table = \"{}\"\n", good.display()))).expect("write");
    let out = posd_until_exit(&["--check-config", "--config", path.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn item3_a_missing_config_file_is_fatal() {
    let out = posd_until_exit(&["--config", "/nonexistent/posd.toml", "--bus", "unix:path=/nonexistent"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let lines = fatal_lines(&out);
    assert!(lines.len() == 1 && lines[0].contains("/nonexistent/posd.toml") && lines[0].contains("--config"), "{}", stderr(&out));
}

#[test]
fn item4_state_dir_errors_name_the_key_and_exit_78() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").expect("write");
    for state in ["", "relative/state", file.to_str().expect("path"), "/proc/sys/posd-state"] {
        let text = base_config("").replace("/tmp/posd-edges-unused", state);
        refused(&text, "terminal.state_dir");
    }
    // The flag overrides the key, and its errors name the flag.
    let path = dir.path().join("posd.toml");
    std::fs::write(&path, base_config("")).expect("write");
    let out = posd_until_exit(&["--config", path.to_str().expect("path"), "--state-dir", file.to_str().expect("path"), "--bus", "unix:path=/nonexistent"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(fatal_lines(&out).iter().any(|l| l.contains("--state-dir")), "{}", stderr(&out));
}

#[test]
fn item5_config_errors_are_one_line_naming_the_key() {
    refused(&base_config("[timeouts]\npin_ms = 0\n"), "timeouts.pin_ms");
    refused(&base_config("[timeouts]\npin_ms = \"soon\"\n"), "timeouts.pin_ms");
    refused(&base_config("[retries]\nreversal_tries = -1\n"), "retries.reversal_tries");
    refused(&base_config("[timeouts]\npin_secs = 30\n"), "pin_secs");
}

#[test]
fn item6_a_missing_ca_certificate_fails_check_config() {
    refused(&base_config("[[host]]\naddress = \"127.0.0.1:9\"\ntls = true\nca_cert = \"/nonexistent/ca.pem\"\n"), "host.ca_cert");
}

#[test]
fn item7_keys_pressed_before_the_pin_prompt_are_dropped() {
    let rig = PosdRig::start_with(|cfg| cfg["timeouts"]["pin_ms"] = toml::Value::Integer(1500), &[]);
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig.call("Simulator", "PressKeys", &["s", "123456#"]).expect("press ahead of the prompt");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let err = rig.call("Payment", "Sale", &["ta{sv}", "222", "0"]).expect_err("no key was pressed at the prompt");
    assert!(err.contains("PIN"), "the sale must end on the PIN wait: {err}");
    assert!(rig.sim.h.ledger().transactions.is_empty(), "nothing may reach the host");
    // Negative control: the same keys pressed at the prompt pay.
    let typist = on_progress(rig.bus.address(), "waiting-pin", {
        let address = rig.bus.address().to_string();
        move || {
            let _ = busctl_raw(&address, &["call", DEST, PATH, "org.smartpos.Pos1.Simulator", "PressKeys", "s", "123456#"]);
        }
    });
    let r = rig.call("Payment", "Sale", &["ta{sv}", "222", "0"]).expect("sale with the PIN typed at the prompt");
    let _ = typist.join();
    assert_eq!(r["approved"], json!(true));
}

#[test]
fn item8_messages_speak_yuan_and_characters() {
    let rig = PosdRig::start();
    let bind = |code: &str| rig.call("Terminal", "Bind", &["s", code]).expect_err(code);
    let e = bind("483920!");
    assert!(e.contains("'!'") && !e.contains("7 characters"), "{e}");
    let e = bind("٤٨٣٩٢٠");
    assert!(e.contains("'٤'") && !e.contains("12"), "bytes were counted: {e}");
    let e = bind("abc");
    assert!(e.contains("3 characters"), "{e}");
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let e = rig.call("Payment", "Sale", &["ta{sv}", "10000001", "0"]).expect_err("too much");
    assert!(e.contains("100000.01 yuan") && e.contains("100000.00 yuan") && !e.contains("minor units") && !e.contains("10000001"), "{e}");
    // posctl takes yuan and answers in yuan.
    let out = rig.posctl(&["sale", "100000.01"]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("100000.01 yuan"), "{text}");
    // Offline: the limit in yuan.
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = smartpos_tests::posd::type_pin_when_asked(rig.bus.address(), "123456#");
    let e = rig.call("Payment", "Sale", &["ta{sv}", "60000", "0"]).expect_err("above the offline limit");
    let _ = typist.join();
    assert!(e.contains("600.00 yuan") && e.contains("500.00 yuan"), "{e}");
}

#[test]
fn item9_last_error_is_left_alone_by_a_refused_call() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    rig.call("Terminal", "SignIn", &[]).expect_err("host down");
    let before = rig.get("Terminal", "LastError");
    assert_eq!(before["category"], json!("network"), "{before}");
    rig.call("Terminal", "Bind", &["s", "48!"]).expect_err("bad code");
    assert_eq!(rig.get("Terminal", "LastError"), before, "Bind's InvalidArgument");
    rig.call("Payment", "Sale", &["ta{sv}", "0", "0"]).expect_err("zero");
    assert_eq!(rig.get("Terminal", "LastError"), before, "Sale's InvalidArgument");
    // Negative control: an error of the operation itself replaces it.
    rig.sim.h.set_faults(Faults::default());
    rig.sim.h.set_faults(Faults { response_code: Some("97".into()), response_code_count: 1, ..Faults::default() });
    rig.call("Terminal", "SignIn", &[]).expect_err("host refuses");
    assert_ne!(rig.get("Terminal", "LastError"), before);
}

#[test]
fn item10_binding_with_queued_sales_gives_one_remedy() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig.sim.h.set_faults(Faults { refuse: true, ..Faults::default() });
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = smartpos_tests::posd::type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.call("Payment", "Sale", &["ta{sv}", "100", "0"]).expect("offline sale");
    let _ = typist.join();
    assert_eq!(r["offline"], json!(true), "{r}");
    let e = rig.call("Terminal", "Bind", &["s", "483920"]).expect_err("queued work");
    assert!(e.contains("1 queued offline payment") && e.contains("posctl queue flush"), "{e}");
    assert!(!e.contains("Wait for it to finish") && !e.contains("0 pending"), "the old second remedy, or a count of nothing: {e}");
    assert_eq!(e.matches("try again").count(), 1, "{e}");
}

/// `dbus-send` (it sends the types it is given; gdbus and busctl would
/// introspect or hide the error name): stderr, which carries the name.
fn dbus_send(rig: &PosdRig, args: &[&str]) -> String {
    let out = Command::new("dbus-send")
        .arg(format!("--bus={}", rig.bus.address()))
        .args(["--print-reply", &format!("--dest={DEST}"), PATH])
        .args(args)
        .output()
        .expect("dbus-send (dbus-bin)");
    assert!(!out.status.success(), "{args:?} must be refused");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn item11_freedesktop_error_names() {
    let rig = PosdRig::start();
    let e = dbus_send(&rig, &["org.smartpos.Pos1.Terminal.Bind", "int32:42"]);
    assert!(e.contains("org.freedesktop.DBus.Error.InvalidArgs"), "{e}");
    let e = dbus_send(&rig, &["org.smartpos.Pos1.Payment.Sale", "string:100"]);
    assert!(e.contains("org.freedesktop.DBus.Error.InvalidArgs") && e.contains("ta{sv}"), "{e}");
    let e = dbus_send(&rig, &["org.freedesktop.DBus.Properties.Set", "string:org.smartpos.Pos1.Terminal", "string:State", "variant:string:bound"]);
    assert!(e.contains("org.freedesktop.DBus.Error.PropertyReadOnly"), "{e}");
    let e = dbus_send(&rig, &["org.freedesktop.DBus.Properties.Set", "string:org.smartpos.Pos1.Terminal", "string:Colour", "variant:string:red"]);
    assert!(e.contains("org.freedesktop.DBus.Error.UnknownProperty"), "{e}");
    // Negative control: the right signature reaches posd's own checks.
    let e = dbus_send(&rig, &["org.smartpos.Pos1.Terminal.Bind", "string:48!"]);
    assert!(e.contains("org.smartpos.Pos1.Error.InvalidArgument"), "{e}");
    assert_eq!(rig.get("Terminal", "State"), json!("unbound"));
}

#[test]
fn item12_posctl_prints_no_done_before_an_error() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let address = rig.bus.address().to_string();
    let canceller = on_progress(rig.bus.address(), "waiting-pin", move || {
        let _ = busctl_raw(&address, &["call", DEST, PATH, "org.smartpos.Pos1.Simulator", "PressKeys", "s", "*"]);
    });
    let out = rig.posctl(&["sale", "2.22"]);
    let _ = canceller.join();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && all.contains("cancelled"), "{all}");
    assert!(!all.contains("Done."), "{all}");
}

#[test]
fn item13_posctl_help_describes_every_command() {
    for args in [&["help", "sign-out"][..], &["sim", "help", "remove"], &["sim", "help", "signal"], &["sim", "help", "modem-state"]] {
        let out = Command::new(workspace_bin("posctl")).args(args).output().expect("posctl");
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or_default();
        assert!(out.status.success() && !first.starts_with("Usage") && first.len() > 10, "{args:?} has no description: {text}");
    }
    let out = Command::new(workspace_bin("posctl")).args(["help", "diagnose"]).output().expect("posctl");
    assert!(String::from_utf8_lossy(&out.stdout).contains("exit 3"), "diagnose's help must say it exits 3");
    let readme = std::fs::read_to_string(smartpos_tests::oracle::repo_root().join("README.md")).expect("README");
    assert!(readme.contains("exits 3"), "the README must say diagnose exits 3 when a check fails");
}
