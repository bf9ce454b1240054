//! The cashier app's HTTP side without a browser: who may call it (loopback
//! names only, no cross-site calls, JSON bodies only), the operator PIN
//! (refused without running anything, locked after five wrong tries, never
//! logged), posd's named errors passed through with their sentence, and a
//! page that still loads when posd is gone. Plain HTTP/1.1 over a
//! `TcpStream`: no client library between the test and the server.

use serde_json::{Value as Json, json};
use smartpos_tests::kiosk::{Kiosk, OPERATOR_PIN};
use smartpos_tests::posd::PosdRig;
use std::io::{Read, Write};
use std::net::TcpStream;

/// Sends one request; returns the status and the body.
fn http(kiosk: &Kiosk, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
    let addr = kiosk.url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut s = TcpStream::connect(&addr).expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req += &format!("Host: {addr}\r\n");
    }
    for (k, v) in headers {
        req += &format!("{k}: {v}\r\n");
    }
    let body = body.unwrap_or("");
    req += &format!("Content-Length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn post_json(kiosk: &Kiosk, path: &str, body: Json) -> (u16, Json) {
    let (status, text) = http(kiosk, "POST", path, &[("Content-Type", "application/json")], Some(&body.to_string()));
    (status, serde_json::from_str(&text).unwrap_or(Json::Null))
}

#[test]
fn only_the_terminals_own_screen_may_call_and_only_with_json() {
    let rig = PosdRig::start();
    let kiosk = Kiosk::start(&rig);
    let (ok, page) = http(&kiosk, "GET", "/", &[], None);
    assert_eq!(ok, 200);
    assert!(page.contains("<script src=\"/app.js\""), "the page: {page}");
    // DNS rebinding: a name that is not loopback.
    assert_eq!(http(&kiosk, "GET", "/api/state", &[("Host", "pos.evil.example:8080")], None).0, 421);
    // A page of another origin.
    let (cross, _) = http(&kiosk, "POST", "/api/sign-in", &[("Origin", "http://evil.example"), ("Content-Type", "application/json")], Some("{}"));
    assert_eq!(cross, 403);
    // A plain form post (what another site can send without asking): not JSON, refused.
    let (form, _) = http(&kiosk, "POST", "/api/bind", &[("Content-Type", "application/x-www-form-urlencoded")], Some("code=483920"));
    assert_eq!(form, 415);
    assert_eq!(rig.get("Terminal", "State"), json!("unbound"), "nothing ran");
    // Negative control: the same origin and JSON go through to posd.
    let (status, bound) = post_json(&kiosk, "/api/bind", json!({"code": "483920"}));
    assert_eq!(status, 200, "{bound}");
    assert_eq!(bound["terminal_id"], rig.get("Terminal", "TerminalId"));
}

#[test]
fn the_operator_pin_guards_void_refund_settle_and_unbind_and_locks_after_five_wrong_tries() {
    let rig = PosdRig::start();
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    let kiosk = Kiosk::start(&rig);
    let before = rig.sim.h.ledger().transactions.len();
    for (path, body) in [
        ("/api/void", json!({"stan": 1, "operator_pin": "0000"})),
        ("/api/refund", json!({"amount": 100, "rrn": "123456789012", "date": "0101", "operator_pin": "0000"})),
        ("/api/settle", json!({"operator_pin": "0000"})),
        ("/api/unbind", json!({"operator_pin": "0000"})),
    ] {
        let (status, e) = post_json(&kiosk, path, body);
        assert_eq!((status, e["error"]["name"].clone()), (403, json!("OperatorPin")), "{path}: {e}");
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("wrong") && m.contains("Ask")), "{e}");
    }
    assert_eq!(rig.sim.h.ledger().transactions.len(), before, "nothing reached the host");
    assert_eq!(rig.get("Terminal", "State"), json!("signed-in"), "not unbound");
    // The fifth wrong try locks; then even the right PIN waits.
    let (_, locked) = post_json(&kiosk, "/api/settle", json!({"operator_pin": "1111"}));
    assert!(locked["error"]["message"].as_str().is_some_and(|m| m.contains("Too many")), "{locked}");
    let (_, still) = post_json(&kiosk, "/api/settle", json!({"operator_pin": OPERATOR_PIN}));
    assert_eq!(still["error"]["name"], json!("OperatorPin"), "locked: {still}");
    assert!(!kiosk.log().contains(OPERATOR_PIN) && !kiosk.log().contains("1111"), "no PIN in the log");

    // As shipped (no operator_pin in kiosk.toml): the guarded calls are off, and say where to turn them on.
    let shipped = std::fs::read_to_string(smartpos_tests::oracle::repo_root().join("kiosk/systemd/kiosk.toml")).expect("kiosk.toml");
    let shipped = shipped.lines().filter(|l| !l.starts_with("listen")).collect::<Vec<_>>().join("\n");
    let bare = Kiosk::start_with(&rig, &shipped);
    let (status, e) = post_json(&bare, "/api/settle", json!({"operator_pin": OPERATOR_PIN}));
    assert_eq!((status, e["error"]["name"].clone()), (403, json!("OperatorPin")), "{e}");
    assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains("operator_pin in /etc/smartpos/kiosk.toml")), "{e}");
    assert_eq!(rig.get("Terminal", "State"), json!("signed-in"));
}

#[test]
fn posds_named_errors_reach_the_page_with_their_sentence_and_a_missing_posd_is_named() {
    let rig = PosdRig::start();
    let kiosk = Kiosk::start(&rig);
    // An unbound terminal's sale: posd's NotBound, its sentence as posd wrote it.
    let (status, e) = post_json(&kiosk, "/api/sale", json!({"amount": 100}));
    assert_eq!((status, e["error"]["name"].clone()), (409, json!("NotBound")), "{e}");
    assert!(e["error"]["message"].as_str().is_some_and(|m| m.len() > 20 && m.ends_with('.')), "a sentence: {e}");
    let (status, e) = post_json(&kiosk, "/api/bind", json!({"code": "12!"}));
    assert_eq!((status, e["error"]["name"].clone()), (409, json!("InvalidArgument")), "{e}");
    // Bad JSON is the kiosk's own clear refusal, not a crash.
    let (status, _) = http(&kiosk, "POST", "/api/sale", &[("Content-Type", "application/json")], Some("{\"amount\": \"ten\"}"));
    assert_eq!(status, 422);
    // posd gone: the state says so by name, the page still loads.
    let (_, state) = http(&kiosk, "GET", "/api/state", &[], None);
    assert_eq!(serde_json::from_str::<Json>(&state).expect("json")["posd"], json!(true));
    let mut rig = rig;
    assert!(rig.terminate().success());
    let (status, state) = http(&kiosk, "GET", "/api/state", &[], None);
    let state: Json = serde_json::from_str(&state).expect("json");
    assert_eq!((status, state["posd"].clone(), state["error"]["name"].clone()), (200, json!(false), json!("Unreachable")), "{state}");
    let (status, e) = post_json(&kiosk, "/api/sign-in", json!({}));
    assert_eq!((status, e["error"]["name"].clone()), (503, json!("Unreachable")), "{e}");
    assert_eq!(http(&kiosk, "GET", "/", &[], None).0, 200);
}
