//! Human output, in the manner of `mmcli`: a status page of aligned
//! sections, results a merchant reads at a glance. `--json` bypasses all
//! of this and prints what the daemon returned.

use serde_json::{Map, Value as Json};

fn s<'a>(m: &'a Map<String, Json>, k: &str) -> &'a str {
    m.get(k).and_then(Json::as_str).unwrap_or("")
}
fn u(m: &Map<String, Json>, k: &str) -> u64 {
    m.get(k).and_then(Json::as_u64).unwrap_or(0)
}
fn b(m: &Map<String, Json>, k: &str) -> bool {
    m.get(k).and_then(Json::as_bool).unwrap_or(false)
}
fn obj(m: &Map<String, Json>, k: &str) -> Map<String, Json> {
    m.get(k).and_then(Json::as_object).cloned().unwrap_or_default()
}
fn yes(v: bool) -> &'static str {
    if v { "yes" } else { "no" }
}

/// Fen as yuan with the currency.
pub fn money(fen: u64) -> String {
    format!("{}.{:02} CNY", fen / 100, fen % 100)
}

/// One section of the status page.
struct Page(String);

impl Page {
    fn new() -> Self {
        Self(String::new())
    }
    fn section(&mut self, title: &str, rows: &[(&str, String)]) {
        self.0.push_str("  ----------------------------------\n");
        for (i, (k, v)) in rows.iter().enumerate() {
            let head = if i == 0 { title } else { "" };
            self.0.push_str(&format!("  {head:<10} | {k:>18}: {v}\n"));
        }
    }
}

pub fn status(terminal: &Map<String, Json>, queue: &Map<String, Json>, hardware: &Map<String, Json>) -> String {
    let mut p = Page::new();
    let state = s(terminal, "State");
    let mut rows = vec![("state", state.to_string())];
    if state != "unbound" {
        rows.push(("terminal id", s(terminal, "TerminalId").into()));
        rows.push(("merchant", format!("{} ({})", s(terminal, "MerchantId"), s(terminal, "MerchantName"))));
    }
    rows.push(("serial number", s(terminal, "SerialNumber").into()));
    rows.push(("batch", format!("{:06}", u(terminal, "Batch"))));
    let signed = s(terminal, "SignedInAt");
    rows.push(("signed in at", if signed.is_empty() { "--".into() } else { signed.into() }));
    rows.push(("host reachable", yes(b(terminal, "Online")).into()));
    let dep = obj(terminal, "Deposit");
    if state != "unbound" {
        rows.push(("deposit", format!("{} {}", money(u(&dep, "amount")), s(&dep, "status"))));
    }
    p.section("Terminal", &rows);
    p.section(
        "Queue",
        &[
            ("offline sales", format!("{} ({})", u(queue, "Depth"), money(u(queue, "Amount")))),
            ("oldest", format!("{} s", u(queue, "OldestAge"))),
            ("reversal pending", yes(b(queue, "PendingReversal")).into()),
        ],
    );
    let r = obj(hardware, "CardReader");
    let k = obj(hardware, "Keypad");
    let m = obj(hardware, "Modem");
    let reader = if b(&r, "present") {
        format!("{} \"{}\", {}", s(&r, "backend"), s(&r, "name"), if b(&r, "card_present") { "card inserted" } else { "no card" })
    } else {
        format!("{}: not found", s(&r, "backend"))
    };
    let c = obj(hardware, "ContactlessReader");
    let contactless = match (s(&c, "backend"), b(&c, "present")) {
        ("none" | "", _) => None,
        (backend, true) => Some(format!("{backend} \"{}\", {}", s(&c, "name"), if b(&c, "card_present") { "card in the field" } else { "no card" })),
        (backend, false) => Some(format!("{backend}: not found")),
    };
    let sc = obj(hardware, "Scanner");
    let scanner = match (s(&sc, "backend"), b(&sc, "present")) {
        ("none" | "", _) => None,
        (backend, true) => Some(format!("{backend} \"{}\", ready", s(&sc, "name"))),
        (backend, false) => Some(format!("{backend} \"{}\": NOT CONNECTED (replug it)", s(&sc, "name"))),
    };
    let modem = if s(&m, "backend") == "none" {
        "none (wired network)".to_string()
    } else {
        format!("{} {}, {} on {}, {}, signal {}%", s(&m, "backend"), s(&m, "state"), s(&m, "registration"), s(&m, "operator"), s(&m, "technology"), u(&m, "signal"))
    };
    let mut hw = vec![("card reader", reader)];
    if let Some(c) = contactless {
        hw.push(("contactless", c));
    }
    if let Some(c) = scanner {
        hw.push(("code scanner", c));
    }
    let pr = obj(hardware, "Printer");
    match (s(&pr, "backend"), b(&pr, "present"), s(&pr, "paper")) {
        ("none" | "", _, _) => {}
        (backend, false, _) => hw.push(("printer", format!("{backend} \"{}\": NOT CONNECTED", s(&pr, "name")))),
        (backend, true, paper) => {
            let paper = match paper {
                "ok" => "paper ok",
                "low" => "paper LOW: load a new roll soon",
                "out" => "OUT OF PAPER: load a roll, then posctl reprint STAN",
                _ => "paper unknown (no status from the printer)",
            };
            hw.push(("printer", format!("{backend} \"{}\", {paper}", s(&pr, "name"))));
        }
    }
    hw.extend([("keypad", format!("{}, {}", s(&k, "backend"), if b(&k, "ok") { "ok" } else { "NOT RESPONDING" })), ("modem", modem)]);
    if !s(&m, "location").is_empty() {
        hw.push(("cell", s(&m, "location").into()));
    }
    p.section("Hardware", &hw);
    p.section("Parameters", &parameter_rows(&obj(terminal, "Parameters")));
    let e = obj(terminal, "LastError");
    if e.is_empty() {
        p.section("Last error", &[("", "none".into())]);
    } else {
        let code = if s(&e, "code").is_empty() { String::new() } else { format!(" (code {})", s(&e, "code")) };
        p.section(
            "Last error",
            &[("category", format!("{}{code}", s(&e, "category"))), ("what", s(&e, "message").into()), ("do", s(&e, "remedy").into()), ("at", s(&e, "at").into())],
        );
    }
    p.0.push_str("  ----------------------------------\n");
    p.0
}

/// A payment's result.
/// The CA keys and IC parameters in force (`Terminal.Parameters`).
fn parameter_rows(p: &Map<String, Json>) -> Vec<(&'static str, String)> {
    let updated = s(p, "updated_at");
    let mut rows = vec![
        ("source", s(p, "source").to_string()),
        ("CA keys", format!("{} usable, {} expired", u(p, "ca_keys"), u(p, "expired_keys"))),
        ("IC parameter sets", u(p, "aids").to_string()),
        ("updated at", if updated.is_empty() { "never (no download yet)".into() } else { updated.into() }),
    ];
    if !s(p, "rejected").is_empty() {
        rows.push(("keys refused", s(p, "rejected").into()));
    }
    if !s(p, "last_download").is_empty() {
        rows.push(("last download", s(p, "last_download").into()));
    }
    rows
}

/// The values in force per AID (`Parameters.in_force`), one row each.
fn in_force_rows(p: &Map<String, Json>) -> Vec<(&'static str, String)> {
    let lines = p.get("in_force").and_then(Json::as_array).cloned().unwrap_or_default();
    lines.iter().filter_map(Json::as_str).map(|l| ("", l.to_string())).collect()
}

/// `posctl params`.
pub fn parameters(p: &Map<String, Json>) -> String {
    let mut page = Page::new();
    page.section("Parameters", &parameter_rows(p));
    page.section("In force", &in_force_rows(p));
    page.0
}

pub fn txn(r: &Map<String, Json>) -> String {
    let mut out = String::new();
    let head = if b(r, "approved") { "APPROVED" } else { "DECLINED" };
    let offline = if b(r, "offline") { " (offline, forwarded later)" } else { "" };
    out.push_str(&format!("{head}  {}{offline}\n", money(u(r, "amount"))));
    out.push_str(&format!("  {} {}\n", s(r, "response_code"), s(r, "message")));
    if r.contains_key("balance") {
        let bal = r.get("balance").and_then(Json::as_i64).unwrap_or(0);
        out.push_str(&format!("  balance: {}{}\n", if bal < 0 { "-" } else { "" }, money(bal.unsigned_abs())));
    }
    if !s(r, "masked_pan").is_empty() {
        let by = if s(r, "interface") == "contactless" { ", tapped" } else { "" };
        out.push_str(&format!("  card:  {} {} ({}{by})\n", s(r, "masked_pan"), s(r, "app_label"), s(r, "aid")));
    }
    if !s(r, "masked_code").is_empty() {
        out.push_str(&format!("  payment code:  {} (scanned)\n", s(r, "masked_code")));
    }
    let oda = match s(r, "oda") {
        "" => None,
        // An online tap is never authenticated offline: the host checks its cryptogram.
        "none" if s(r, "interface") == "contactless" && r.get("offline") == Some(&Json::Bool(false)) => Some("online (the host checked the card's cryptogram)".to_string()),
        "none" => Some("not authenticated offline (no method, or no CA key)".to_string()),
        "failed" => Some("FAILED offline data authentication (never approved offline)".to_string()),
        method => Some(format!("{} verified", method.to_uppercase())),
    };
    if let Some(oda) = oda {
        out.push_str(&format!("  card authentication: {oda}  TVR {}\n", or_dash(s(r, "tvr"))));
    }
    out.push_str(&format!("  stan {:06}  batch {:06}  rrn {}  auth {}\n", u(r, "stan"), u(r, "batch"), or_dash(s(r, "rrn")), or_dash(s(r, "auth_code"))));
    // The host's date is what a refund names (`posctl refund AMOUNT RRN DATE`).
    out.push_str(&format!("  time  {}  host date {}", s(r, "time"), or_dash(s(r, "host_date"))));
    if !s(r, "reference").is_empty() {
        out.push_str(&format!("  reference {}", s(r, "reference")));
    }
    out.push('\n');
    out
}

fn or_dash(v: &str) -> &str {
    if v.is_empty() { "--" } else { v }
}

/// Any other `a{sv}` result as `key: value` lines.
pub fn dict(r: &Map<String, Json>) -> String {
    let mut keys: Vec<_> = r.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let v = &r[k];
            let shown =
                if k.ends_with("amount") { v.as_u64().map(money).unwrap_or_else(|| v.to_string()) } else { v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()) };
            format!("  {k:>16}: {shown}\n")
        })
        .collect()
}

/// Diagnose rows as a table, failures first marked.
pub fn diagnose(rows: &[Json]) -> String {
    let mut out = String::new();
    let mut last = "";
    for row in rows {
        let f: Vec<&str> = row.as_array().map(|a| a.iter().map(|v| v.as_str().unwrap_or("")).collect()).unwrap_or_default();
        let [category, check, status, detail, remedy] = f.as_slice() else { continue };
        if *category != last {
            out.push_str(&format!("  {category}\n"));
            last = category;
        }
        let mark = match *status {
            "ok" => "  ok ",
            "warn" => "WARN ",
            _ => "FAIL ",
        };
        out.push_str(&format!("    {mark} {check:<28} {detail}\n"));
        if !remedy.is_empty() {
            out.push_str(&format!("          {:<28} → {remedy}\n", ""));
        }
    }
    out
}

/// `Payment.List`: the batch, newest first; a voided sale says so.
pub fn journal(items: &[Json]) -> String {
    if items.is_empty() {
        return "  no transactions in this batch\n".into();
    }
    let mut out = format!("  {:<8} {:>6} {:>16} {:<20} {:<16} {:<12} {:<5}\n", "kind", "stan", "amount", "card / code", "state", "rrn", "date");
    for i in items.iter().filter_map(Json::as_object) {
        let card = if s(i, "masked_pan").is_empty() { s(i, "masked_code") } else { s(i, "masked_pan") };
        let state = match (s(i, "state"), b(i, "voided"), b(i, "offline")) {
            (st, true, _) => format!("{st}, voided"),
            (st, _, true) => format!("{st} offline"),
            (st, _, _) => st.to_string(),
        };
        out.push_str(&format!("  {:<8} {:06} {:>16} {:<20} {:<16} {:<12} {:<5}\n", s(i, "kind"), u(i, "stan"), money(u(i, "amount")), card, state, s(i, "rrn"), s(i, "host_date")));
    }
    out
}

pub fn queue_list(items: &[Json]) -> String {
    if items.is_empty() {
        return "  the queue is empty\n".into();
    }
    let mut out = format!("  {:<8} {:>6} {:>6} {:>16} {:<20} {:>8}\n", "kind", "batch", "stan", "amount", "card", "attempts");
    for i in items.iter().filter_map(Json::as_object) {
        out.push_str(&format!("  {:<8} {:06} {:06} {:>16} {:<20} {:>8}\n", s(i, "kind"), u(i, "batch"), u(i, "stan"), money(u(i, "amount")), s(i, "masked_pan"), u(i, "attempts")));
    }
    out
}
