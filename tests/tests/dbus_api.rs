//! posd's D-Bus API through clients that are not posd's code: `busctl`
//! (systemd) for every method, property and named error, a zbus signal
//! subscription for `Progress`, and the shipped introspection XML compared
//! with the live one by a Python script.

use serde_json::{Value as Json, json};
use smartpos_tests::oracle;
use smartpos_tests::posd::{DEST, PATH, PosdRig, type_pin_when_asked};

/// The D-Bus error name of a failed call (busctl prints only the message,
/// so the call goes through gdbus, another independent client).
fn call_error(rig: &PosdRig, iface: &str, method: &str, gdbus_args: &[&str]) -> (String, String) {
    let mut cmd = std::process::Command::new("gdbus");
    cmd.args(["call", "--address", rig.bus.address(), "--dest", DEST, "--object-path", PATH, "--method", &format!("org.smartpos.Pos1.{iface}.{method}"), "--timeout", "120"]);
    cmd.args(gdbus_args);
    let out = cmd.output().expect("gdbus");
    assert!(!out.status.success(), "{method} {gdbus_args:?} was expected to fail but returned {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    // "Error: GDBus.Error:org.smartpos.Pos1.Error.NotBound: The terminal …"
    let after = err.split("GDBus.Error:").nth(1).unwrap_or("").trim();
    let (name, message) = after.split_once(": ").unwrap_or((after, ""));
    (name.to_string(), message.trim().to_string())
}

fn expect_error(rig: &PosdRig, iface: &str, method: &str, args: &[&str], name: &str) -> String {
    let (got, message) = call_error(rig, iface, method, args);
    assert_eq!(got, format!("org.smartpos.Pos1.Error.{name}"), "{method} {args:?}: {message}");
    assert!(message.ends_with('.') && message.len() > 20, "the message must be a sentence with a remedy: {message:?}");
    message
}

/// Inserts `card`, types `pin` when asked, runs `Sale(amount)`.
fn sale(rig: &PosdRig, card: &str, pin: &str, amount: u64, options: &[&str]) -> Result<Json, String> {
    rig.call("Simulator", "InsertCard", &["s", card]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), pin);
    let amount = amount.to_string();
    let mut args = vec!["ta{sv}", amount.as_str()];
    args.extend_from_slice(options);
    let r = rig.call("Payment", "Sale", &args);
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    r
}

#[test]
fn the_live_introspection_matches_the_shipped_xml() {
    let rig = PosdRig::start();
    let out = smartpos_tests::posd::busctl_raw(rig.bus.address(), &["introspect", "--xml-interface", DEST, PATH]);
    assert!(out.status.success());
    let dir = oracle::repo_root().join("daemon/dbus");
    let files: Vec<String> = std::fs::read_dir(&dir).expect("daemon/dbus").map(|e| e.expect("entry").path().display().to_string()).filter(|p| p.ends_with(".xml")).collect();
    assert_eq!(files.len(), 5, "one XML per interface: {files:?}");
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let diffs: Json = serde_json::from_slice(&oracle::run("compare_introspection.py", &args, &out.stdout)).expect("json");
    assert_eq!(diffs, json!([]), "live introspection differs from daemon/dbus/*.xml");
}

#[test]
fn every_method_property_and_named_error_over_the_bus() {
    let rig = PosdRig::start();
    // Unbound: properties, and NotBound for what needs a binding.
    assert_eq!(rig.get("Terminal", "State"), json!("unbound"));
    assert_eq!(rig.get("Terminal", "SerialNumber"), json!("SP2026000123"));
    assert_eq!(rig.get("Terminal", "TerminalId"), json!(""));
    assert_eq!(rig.get("Terminal", "SignedInAt"), json!(""));
    assert_eq!(rig.get("Terminal", "LastError"), json!({}));
    expect_error(&rig, "Terminal", "SignIn", &[], "NotBound");
    let e = rig.get("Terminal", "LastError");
    assert_eq!(e["category"], json!("binding"), "{e}");
    assert!(!e["remedy"].as_str().unwrap_or("").is_empty() && !e["at"].as_str().unwrap_or("").is_empty(), "{e}");
    expect_error(&rig, "Payment", "Sale", &["uint64 100", "@a{sv} {}"], "NotBound");

    // Bind: a malformed code, an unknown one (host 03), the right one.
    expect_error(&rig, "Terminal", "Bind", &["'12!'"], "InvalidArgument");
    expect_error(&rig, "Terminal", "Bind", &["'999999'"], "NotBound");
    let bound = rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    assert_eq!(bound["terminal_id"], json!("10000001"));
    assert_eq!(bound["merchant_id"], json!("898110000000001"));
    assert_eq!((bound["deposit_amount"].clone(), bound["deposit_status"].clone()), (json!(5900), json!("paid")));
    assert!(bound["merchant_name"].as_str().is_some_and(|n| n.contains("Test Mart")));
    assert_eq!(rig.get("Terminal", "State"), json!("bound"));
    assert_eq!(rig.get("Terminal", "MerchantName"), bound["merchant_name"]);
    assert_eq!(rig.get("Terminal", "Deposit"), json!({"amount": 5900, "status": "paid"}));
    assert_eq!(rig.get("Terminal", "LastError"), json!({}), "a success clears LastError");

    // Bound, host cut: SignIn is a Network error, a sale NotSignedIn.
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    expect_error(&rig, "Terminal", "SignIn", &[], "Network");
    assert_eq!(rig.get("Terminal", "Online"), json!(false));
    expect_error(&rig, "Payment", "Sale", &["uint64 100", "@a{sv} {}"], "NotSignedIn");
    rig.call("Simulator", "SetHostReachable", &["b", "true"]).expect("restore");

    // SignIn.
    let s = rig.call("Terminal", "SignIn", &[]).expect("sign in");
    assert_eq!(s["batch"], json!(1));
    assert!(s["signed_in_at"].as_str().is_some_and(|t| t.len() >= 20 && t.contains('T')), "{s}");
    assert_eq!(rig.get("Terminal", "State"), json!("signed-in"));
    assert_eq!(rig.get("Terminal", "Online"), json!(true));
    assert_eq!(rig.get("Terminal", "SignedInAt"), s["signed_in_at"]);
    assert_eq!(rig.get("Terminal", "Batch"), json!(1));

    // InvalidArgument at the boundary: amount 0, above the maximum, bad options.
    expect_error(&rig, "Payment", "Sale", &["uint64 0", "@a{sv} {}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Sale", &["uint64 10000001", "@a{sv} {}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Sale", &["uint64 100", "{'allow_offline': <'yes'>}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Sale", &["uint64 100", "{'tip': <uint64 5>}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Void", &["uint32 0"], "InvalidArgument");
    expect_error(&rig, "Payment", "Void", &["uint32 1000000"], "InvalidArgument");
    expect_error(&rig, "Payment", "Refund", &["uint64 100", "'12345678901A'", "'1122'", "@a{sv} {}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Refund", &["uint64 100", "'123456789012'", "'1340'", "@a{sv} {}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Refund", &["uint64 100", "'123456789012'", "'11a2'", "@a{sv} {}"], "InvalidArgument");
    expect_error(&rig, "Payment", "Refund", &["uint64 0", "'123456789012'", "'1122'", "@a{sv} {}"], "InvalidArgument");
    expect_error(&rig, "Simulator", "InsertCard", &["'no-such-card'"], "InvalidArgument");
    expect_error(&rig, "Simulator", "PressKeys", &["'12a#'"], "InvalidArgument");
    expect_error(&rig, "Simulator", "SetSignal", &["uint32 101"], "InvalidArgument");
    expect_error(&rig, "Simulator", "SetModemState", &["'flying'"], "InvalidArgument");

    // Sale approved, with the PIN typed when asked.
    let r = sale(&rig, "default", "123456#", 1234, &["1", "reference", "s", "order-7"]).expect("sale");
    assert_eq!((r["approved"].clone(), r["offline"].clone(), r["response_code"].clone()), (json!(true), json!(false), json!("00")), "{r}");
    assert_eq!((r["amount"].clone(), r["reference"].clone()), (json!(1234), json!("order-7")));
    assert_eq!(r["masked_pan"], json!("622848*********0018"));
    for key in ["stan", "batch", "rrn", "auth_code", "message", "aid", "app_label", "entry_mode", "time", "host_date"] {
        assert!(r.get(key).is_some(), "result key {key} missing: {r}");
    }
    assert!(r["host_date"].as_str().is_some_and(|d| d.len() == 4 && d.bytes().all(|c| c.is_ascii_digit())), "host_date is MMDD: {r}");
    let sale_rrn = r["rrn"].as_str().expect("rrn").to_string();

    // A decline is a result, not an error.
    let d = sale(&rig, "low-balance", "111111#", 5000, &["0"]).expect("a decline is a result");
    assert_eq!((d["approved"].clone(), d["response_code"].clone()), (json!(false), json!("51")), "{d}");

    // Operator: PIN cancelled with * on an empty entry.
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "*");
    expect_error(&rig, "Payment", "Sale", &["uint64 100", "@a{sv} {}"], "Operator");
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    assert_eq!(rig.get("Terminal", "LastError")["category"], json!("operator"));

    // Void of a second sale; Void of an unknown STAN is an Operator error.
    let to_void = sale(&rig, "default", "123456#", 200, &["0"]).expect("sale");
    let void_stan = to_void["stan"].as_u64().expect("stan");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let v = rig.call("Payment", "Void", &["u", &void_stan.to_string()]).expect("void");
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    assert_eq!(v["approved"], json!(true), "{v}");
    expect_error(&rig, "Payment", "Void", &["uint32 999"], "Operator");

    // Payment.List (beyond the contract): the batch newest first, the voided sale marked, masked only.
    let list = rig.call("Payment", "List", &["u", "10"]).expect("list");
    let rows: Vec<(String, String, u64, bool)> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|r| (r["kind"].as_str().unwrap_or("").to_string(), r["state"].as_str().unwrap_or("").to_string(), r["stan"].as_u64().unwrap_or(0), r["voided"] == json!(true)))
        .collect();
    let v_stan = v["stan"].as_u64().expect("stan");
    assert_eq!(rows.get(..2), Some(&[("void".to_string(), "approved".to_string(), v_stan, false), ("sale".to_string(), "approved".to_string(), void_stan, true)][..]), "{list}");
    assert!(rows.iter().any(|row| row.0 == "sale" && row.1 == "declined"), "the decline is listed: {list}");
    let first_stan = r["stan"].as_u64().expect("stan");
    assert!(rows.iter().any(|row| row.2 == first_stan && row.1 == "approved" && !row.3), "the first sale, not voided: {list}");
    assert_eq!(list[1]["masked_pan"], json!("622848*********0018"), "{list}");
    assert!(!list.to_string().contains("6228480000000000018"), "no full PAN on the bus");
    assert_eq!(rig.call("Payment", "List", &["u", "1"]).expect("list").as_array().map(Vec::len), Some(1), "limit");
    // posctl journal reads it as a table: the voided sale says so, masked only.
    let out = rig.posctl(&["journal"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let voided_line = text.lines().find(|l| l.contains(&format!("{void_stan:06}")) && l.trim_start().starts_with("sale")).unwrap_or("");
    assert!(voided_line.contains("approved, voided") && voided_line.contains("622848*********0018"), "{text}");
    assert!(!text.contains("6228480000000000018"), "no full PAN: {text}");

    // Balance.
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let b = rig.call("Payment", "Balance", &[]).expect("balance");
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    assert!(b["balance"].as_i64().is_some(), "{b}");

    // Refund (an advice; the original's RRN and date).
    let mmdd = r["time"].as_str().map(|t| format!("{}{}", &t[5..7], &t[8..10])).expect("date");
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    let f = rig.call("Payment", "Refund", &["tssa{sv}", "500", &sale_rrn, &mmdd, "0"]);
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    let f = f.expect("refund");
    assert_eq!(f["approved"], json!(true), "{f}");

    // Offline: cut, sale approved offline, queue properties and list, Busy for Unbind, flush.
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    let o = sale(&rig, "default", "123456#", 8800, &["0"]).expect("offline sale");
    assert_eq!((o["approved"].clone(), o["offline"].clone(), o["response_code"].clone()), (json!(true), json!(true), json!("Y3")), "{o}");
    assert_eq!(rig.get("Queue", "Depth"), json!(1));
    assert_eq!(rig.get("Queue", "Amount"), json!(8800));
    assert!(rig.get("Queue", "OldestAge").as_u64().is_some());
    assert_eq!(rig.get("Queue", "PendingReversal"), json!(false));
    let list = rig.call("Queue", "List", &["u", "10"]).expect("list");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["masked_pan"], json!("622848*********0018"));
    assert!(!list.to_string().contains("6228480000000000018"), "no full PAN on the bus");
    expect_error(&rig, "Terminal", "Unbind", &[], "Busy");
    // OfflineLimit: above the offline maximum while cut.
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let typist = type_pin_when_asked(rig.bus.address(), "123456#");
    expect_error(&rig, "Payment", "Sale", &["uint64 60000", "@a{sv} {}"], "OfflineLimit");
    let _ = typist.join();
    rig.call("Simulator", "RemoveCard", &[]).expect("remove");
    rig.call("Simulator", "SetHostReachable", &["b", "true"]).expect("restore");
    let fl = rig.call("Queue", "Flush", &[]).expect("flush");
    assert_eq!((fl["forwarded"].clone(), fl["remaining"].clone()), (json!(1), json!(0)), "{fl}");
    assert_eq!(rig.get("Queue", "Depth"), json!(0));

    // Host: a system-category answer is a Host error with the code.
    rig.sim.h.set_faults(smartpos_tests::acquirer::faults::Faults { response_code: Some("96".into()), response_code_count: 1, ..Default::default() });
    let m = expect_error(&rig, "Terminal", "SignIn", &[], "Host");
    assert!(m.contains("96"), "{m}");
    assert_eq!(rig.get("Terminal", "LastError")["code"], json!("96"));

    // Settle.
    let st = rig.call("Terminal", "Settle", &[]).expect("settle");
    for key in ["batch", "balanced", "debit_count", "debit_amount", "credit_count", "credit_amount", "uploaded"] {
        assert!(st.get(key).is_some(), "settle key {key} missing: {st}");
    }
    assert_eq!(rig.get("Terminal", "Batch"), json!(2));

    // Hardware properties, modem knobs.
    let reader = rig.get("Hardware", "CardReader");
    assert_eq!((reader["backend"].clone(), reader["present"].clone(), reader["card_present"].clone()), (json!("simulator"), json!(true), json!(false)), "{reader}");
    assert_eq!(rig.get("Hardware", "Keypad"), json!({"backend": "sim", "ok": true}));
    rig.call("Simulator", "SetSignal", &["u", "15"]).expect("signal");
    rig.call("Simulator", "SetModemState", &["s", "searching"]).expect("state");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let modem = loop {
        let m = rig.get("Hardware", "Modem");
        if m["signal"] == json!(15) || std::time::Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!((modem["signal"].clone(), modem["state"].clone(), modem["registration"].clone()), (json!(15), json!("searching"), json!("searching")), "{modem}");

    // Diagnose: rows of five strings in the six categories (parameters: version 1 additions).
    let rows = rig.call("Terminal", "Diagnose", &[]).expect("diagnose");
    let rows = rows.as_array().expect("rows");
    assert!(rows.len() >= 10);
    for row in rows {
        let f = row.as_array().expect("row");
        assert_eq!(f.len(), 5);
        assert!(["network", "device", "host", "binding", "parameters", "operator"].contains(&f[0].as_str().unwrap_or("")), "{row}");
        assert!(["ok", "warn", "fail"].contains(&f[2].as_str().unwrap_or("")), "{row}");
    }

    // Cancel with nothing running is harmless; SignOut; Unbind once the queue is empty.
    rig.call("Payment", "Cancel", &[]).expect("cancel");
    rig.call("Terminal", "SignOut", &[]).expect("sign out");
    assert_eq!(rig.get("Terminal", "State"), json!("bound"));
    rig.call("Terminal", "Unbind", &[]).expect("unbind");
    assert_eq!(rig.get("Terminal", "State"), json!("unbound"));
}

#[test]
fn device_error_when_the_card_leaves_and_simulator_access_denied_on_a_system_bus() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    // The card is pulled at the PIN prompt; the PIN comes after.
    rig.call("Simulator", "InsertCard", &["s", "default"]).expect("insert");
    let address = rig.bus.address().to_string();
    let puller = smartpos_tests::posd::on_progress(rig.bus.address(), "waiting-pin", move || {
        let _ = smartpos_tests::posd::busctl_raw(&address, &["call", DEST, PATH, "org.smartpos.Pos1.Simulator", "RemoveCard"]);
        let _ = smartpos_tests::posd::busctl_raw(&address, &["call", DEST, PATH, "org.smartpos.Pos1.Simulator", "PressKeys", "s", "123456#"]);
    });
    let m = expect_error(&rig, "Payment", "Sale", &["uint64 300", "@a{sv} {}"], "Device");
    assert!(m.contains("removed"), "{m}");
    let _ = puller.join();

    // On a system bus, the Simulator is refused by posd's own check…
    let sys = PosdRig::start_system_like(|_| {});
    expect_error(&sys, "Simulator", "InsertCard", &["'default'"], "AccessDenied");
    expect_error(&sys, "Simulator", "SetHostReachable", &["false"], "AccessDenied");
    // …unless the configuration of a test image allows it.
    let allowed = PosdRig::start_system_like(|cfg| {
        cfg.insert("simulator".into(), toml::Value::Table(toml::toml! { on_system_bus = true }));
    });
    allowed.call("Simulator", "InsertCard", &["s", "default"]).expect("allowed by [simulator] on_system_bus");
}
