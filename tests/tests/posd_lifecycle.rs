//! posd as systemd sees it: `READY=1` only once the name is owned, watchdog
//! pings, a STATUS line a person reads, SIGTERM during a payment that
//! reached the host lets it finish; `Progress` never carries a digit; bad
//! configuration refused with the key named.

use serde_json::json;
use smartpos_tests::posd::{DEST, PosdRig, busctl_raw, type_pin_when_asked, workspace_bin};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[test]
fn ready_comes_only_after_the_name_is_owned_and_the_watchdog_pings() {
    let dir = tempfile::tempdir().expect("dir");
    let sock_path = dir.path().join("notify");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let path = sock_path.display().to_string();
    let mut rig = PosdRig::start_with(|_| {}, &[("NOTIFY_SOCKET", &path), ("WATCHDOG_USEC", "200000")]);
    let mut buf = [0u8; 4096];
    let mut owner_at_ready = None;
    let mut watchdogs = 0;
    let mut status_lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && (owner_at_ready.is_none() || watchdogs < 3) {
        let n = sock.recv(&mut buf).expect("a notification");
        let msg = String::from_utf8_lossy(&buf[..n]).to_string();
        for line in msg.lines() {
            if line == "READY=1" {
                // Ask the bus, at this very moment, who owns the name.
                let out = busctl_raw(rig.bus.address(), &["call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s", DEST]);
                owner_at_ready = Some(out.status.success());
            }
            if line == "WATCHDOG=1" {
                watchdogs += 1;
            }
            if let Some(s) = line.strip_prefix("STATUS=") {
                status_lines.push(s.to_string());
            }
        }
        assert!(owner_at_ready.is_some() || watchdogs == 0, "a watchdog ping came before READY");
    }
    assert_eq!(owner_at_ready, Some(true), "READY=1 arrived while org.smartpos.Pos1 had no owner");
    assert!(watchdogs >= 3, "WATCHDOG_USEC=200000 must give pings every 100 ms; saw {watchdogs}");
    assert!(status_lines.first().is_some_and(|s| s.contains("not bound")), "{status_lines:?}");
    rig.wait_for_name();
    let status = rig.terminate();
    assert!(status.success(), "SIGTERM must end posd cleanly: {status}");
    let mut stopping = false;
    sock.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    while let Ok(n) = sock.recv(&mut buf) {
        stopping |= String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "STOPPING=1");
    }
    assert!(stopping, "STOPPING=1 on SIGTERM");
}

#[test]
fn sigterm_during_a_payment_at_the_host_lets_it_finish() {
    let mut rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig.sim.h.set_faults(smartpos_tests::acquirer::faults::Faults { delay_ms: 1_000, delay_count: 1, ..Default::default() });
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let sale = rig.sale_in_background(777);
    // Wait until the request is at the host, then SIGTERM.
    rig.wait_for_log("request exchange=Sale");
    let status = rig.terminate();
    let out = sale.join().expect("sale thread");
    assert!(status.success(), "posd's exit after SIGTERM: {status}\n{}", rig.log());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("\"approved\":{\"type\":\"b\",\"data\":true}"),
        "the sale at the host must finish: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn progress_carries_a_count_and_never_a_digit() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let r = rig.call("Payment", "Sale", &["ta{sv}", "100", "0"]).expect("sale");
    assert_eq!(r["approved"], json!(true));
    let seen = typist.join().expect("progress");
    let stages: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    for want in ["waiting-card", "reading-card", "waiting-pin", "pin-digit", "pin-entered", "connecting", "completed"] {
        assert!(stages.contains(&want), "stage {want} missing: {stages:?}");
    }
    let counts: Vec<_> = seen.iter().filter(|(s, _)| s == "pin-digit").map(|(_, d)| d.clone()).collect();
    assert_eq!(counts, (1..=6).map(|n| json!({"count": n})).collect::<Vec<_>>(), "pin-digit details are the count only");
    // Nothing but the count, and waiting-card's interfaces (dbus-api.md, version 1 additions).
    for (stage, d) in &seen {
        let keys: Vec<&String> = d.as_object().map(|o| o.keys().collect()).unwrap_or_default();
        assert!(keys.iter().all(|k| *k == "count" || stage == "waiting-card" && *k == "interfaces"), "unexpected progress details {stage} {d}");
    }
}

#[test]
fn a_bad_configuration_is_refused_at_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    for (text, key) in
        [("[terminal]\ncurrency = \"CNY\"\n", "terminal.currency"), ("[hardware]\nreader = \"usb\"\n", "hardware.reader"), ("[terminal]\ncolour = \"red\"\n", "colour")]
    {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).expect("write");
        // With --check-config, and at a real start (no bus is needed to refuse
        // it): 78 is what posd.service's RestartPreventExitStatus= stops on.
        for check in [true, false] {
            let mut cmd = std::process::Command::new(workspace_bin("posd"));
            if check {
                cmd.arg("--check-config");
            }
            let out = cmd.args(["--config", &path.display().to_string(), "--bus", "unix:path=/nonexistent"]).output().expect("posd");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(78), "{text} (check-config {check}): {err}");
            assert!(err.contains(key), "{text}: the message must name {key}: {err}");
        }
    }
}

/// Found by the benchmark: posd blocked in sd_notify when the manager's
/// socket queue was full, and with it the runtime (and SIGTERM).
#[test]
fn a_notify_socket_nobody_reads_never_blocks_posd() {
    let dir = tempfile::tempdir().expect("dir");
    let sock_path = dir.path().join("notify");
    let _sock = UnixDatagram::bind(&sock_path).expect("notify socket"); // never read
    let path = sock_path.display().to_string();
    let mut rig = PosdRig::start_with(|_| {}, &[("NOTIFY_SOCKET", &path), ("WATCHDOG_USEC", "20000")]);
    rig.wait_for_name();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    for _ in 0..3 {
        rig.call("Terminal", "SignIn", &[]).expect("sign in");
        rig.call("Terminal", "SignOut", &[]).expect("sign out");
    }
    // Watchdog pings every 10 ms have long filled the queue by now.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rig.get("Terminal", "State"), json!("bound"));
    assert!(rig.terminate().success());
}

/// A core dump of posd would hold working keys and card data in clear: posd
/// turns them off itself (posd.service's LimitCORE=0 aside).
#[test]
fn posd_never_dumps_core() {
    let mut rig = PosdRig::start();
    rig.wait_for_name();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", rig.pid())).expect("limits");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).expect("core line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "soft and hard core limits: {core}");
}

/// The device key, the database and its WAL are posd's alone, whatever the
/// umask of whoever started it (posd.service's StateDirectoryMode/UMask aside).
#[test]
fn state_files_are_private_to_posd() {
    use std::os::unix::fs::PermissionsExt;
    let mut rig = PosdRig::start();
    rig.wait_for_name();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    let state = rig.dir.path().join("state");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&state).expect("state dir") {
        let entry = entry.expect("entry");
        let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
        seen.push(format!("{} {mode:o}", entry.file_name().to_string_lossy()));
        assert_eq!(mode & 0o077, 0, "{} is open to others: {mode:o}", entry.path().display());
    }
    for name in ["device.key", "posd.db"] {
        assert!(seen.iter().any(|s| s.starts_with(name)), "{name} missing: {seen:?}");
    }
}
