//! No secret at rest or in the logs: after a full workload through the real
//! engine (every kind of payment, offline, a lost answer, settlement with
//! upload) and a run killed mid-way (so `-wal`/`-shm` stay behind), the
//! database files and the captured debug logs are searched for the cards'
//! PANs, track 2, PINs and PIN blocks, and every key the host issued — as
//! raw bytes/BCD, upper- and lower-case hex, and ASCII.
//!
//! Most of the workload runs on a card of the scan's own, the sentinel: its
//! PAN and 12-digit PIN are digit strings that random hex or a sealed blob
//! cannot produce by chance (a 12-digit run in random hex: about one in 10¹⁴
//! per place), so the PIN is searched as text anywhere. The shared cards'
//! PINs (`123456`, `4321`, …) are short enough to turn up in any hex string,
//! so as text they are searched only where they would be a leak — after a
//! `pin` key — and otherwise in their binary forms (PIN field, PIN blocks).
//! A negative control plants each kind of secret into a copy of the
//! database and the logs and requires the same scan to report every one.

use smartpos_proto::crypto::{Key, emv, pin_block};
use smartpos_tests::acquirer::{LocalSim, SimConfig, SimHandle};
use smartpos_vcard::testdata::{EMBEDDED, TestData};
use std::path::Path;
use std::process::Command;

const DRIVER: &str = env!("CARGO_BIN_EXE_pos-engine-driver");

/// The scan's own card. Its digits are chosen, not random: no run of them
/// is a shared card's PAN or PIN, and none repeats.
const SENTINEL: &str = r#"
[[card]]
label = "sentinel"
aid = "A000000333010101"
app_label = "UnionPay Debit"
pan = "6228487391046258315"
psn = "01"
expiry = "3012"
service_code = "220"
name = "SCAN/SENTINEL"
pin = "739418265073"
balance = 10000000
offline_limit = 50000
aip = "1C00"
"#;

struct Needle {
    what: String,
    bytes: Vec<u8>,
}

fn forms(what: &str, raw: &[u8], out: &mut Vec<Needle>) {
    out.push(Needle { what: format!("{what} (bytes)"), bytes: raw.to_vec() });
    out.push(Needle { what: format!("{what} (HEX)"), bytes: hex::encode_upper(raw).into_bytes() });
    out.push(Needle { what: format!("{what} (hex)"), bytes: hex::encode(raw).into_bytes() });
}

fn bcd(digits: &str, pad: char) -> Vec<u8> {
    let mut d = digits.to_string();
    if d.len() % 2 == 1 {
        d.push(pad);
    }
    hex::decode(d).unwrap()
}

/// What to look for: binary needles (each long enough never to match by
/// chance), and the PINs as text with whether they may be matched anywhere
/// (the sentinel's) or only after a `pin` key (the shared cards').
struct Needles {
    binary: Vec<Needle>,
    pins: Vec<(String, String, bool)>,
}

fn needles(data: &TestData, keys: &[Key]) -> Needles {
    let mut n = Vec::new();
    let mut pins = Vec::new();
    for c in &data.cards {
        n.push(Needle { what: format!("{} PAN (ASCII)", c.label), bytes: c.pan.clone().into_bytes() });
        forms(&format!("{} PAN as ASCII", c.label), c.pan.as_bytes(), &mut n);
        n.push(Needle { what: format!("{} PAN (BCD, 0-padded)", c.label), bytes: bcd(&c.pan, '0') });
        n.push(Needle { what: format!("{} PAN (BCD, F-padded)", c.label), bytes: bcd(&c.pan, 'F') });
        let track2 = format!("{}D{}{}", c.pan, c.expiry, c.service_code);
        n.push(Needle { what: format!("{} track 2 (ASCII)", c.label), bytes: track2.clone().into_bytes() });
        n.push(Needle { what: format!("{} track 2 (=)", c.label), bytes: track2.replace('D', "=").into_bytes() });
        n.push(Needle { what: format!("{} track 2 (BCD)", c.label), bytes: bcd(&track2, 'F') });
        pins.push((c.label.clone(), c.pin.clone(), c.label == "sentinel"));
        let clear = pin_block::clear_format0(c.pin.as_bytes(), c.pan.as_bytes()).unwrap();
        forms(&format!("{} clear PIN block", c.label), &*clear, &mut n);
        let mut field = vec![c.pin.len() as u8];
        field.extend(bcd(&c.pin, 'F'));
        field.resize(8, 0xFF);
        forms(&format!("{} PIN field", c.label), &field, &mut n);
        if c.label == "sentinel" {
            n.push(Needle { what: format!("{} PIN (BCD)", c.label), bytes: bcd(&c.pin, 'F') });
        }
        for (i, k) in keys.iter().enumerate().filter(|(_, k)| k.len() == 16) {
            if let Ok(b) = pin_block::encrypt_format0(k, c.pin.as_bytes(), c.pan.as_bytes()) {
                forms(&format!("{} PIN block under issued key {i}", c.label), &b, &mut n);
            }
        }
    }
    for (i, k) in keys.iter().enumerate() {
        forms(&format!("issued key {i} ({} bytes)", k.len()), k.expose(), &mut n);
    }
    let imk = Key::new(&hex::decode(&data.issuer.imk_ac).unwrap()).unwrap();
    forms("issuer master key", imk.expose(), &mut n);
    for c in &data.cards {
        let mk = emv::derive_icc_master_key(&imk, &c.pan, &c.psn).unwrap();
        forms(&format!("{} ICC master key", c.label), mk.expose(), &mut n);
    }
    Needles { binary: n, pins }
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A PIN as a whole number in text (not inside a longer run of digits);
/// with `keyed`, only right after a `pin` key (`pin=`, `"pin": "`, `PIN `).
fn text_has_pin(text: &str, pin: &str, keyed: bool) -> bool {
    text.match_indices(pin).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + pin.len()..].chars().next();
        let whole = !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit());
        let key = text[..i].trim_end_matches(|c: char| " =:\"'".contains(c));
        whole && (!keyed || key.to_ascii_lowercase().ends_with("pin"))
    })
}

/// Every text value in every table.
fn db_text(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let mut out = Vec::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let cols = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..cols {
                if let Ok(rusqlite::types::ValueRef::Text(s)) = row.get_ref(i) {
                    out.push(format!("{t}: {}", String::from_utf8_lossy(s)));
                }
            }
        }
    }
    out
}

/// Every leak in the state folders `dirs` and in `logs`, one line each.
fn scan(n: &Needles, dirs: &[&Path], logs: &str) -> Vec<String> {
    let mut leaks = Vec::new();
    for dir in dirs {
        for f in ["posd.db", "posd.db-wal", "posd.db-shm"] {
            let Ok(bytes) = std::fs::read(dir.join(f)) else { continue };
            leaks.extend(n.binary.iter().filter(|x| find(&bytes, &x.bytes)).map(|x| format!("{f}: {}", x.what)));
        }
        for text in db_text(&dir.join("posd.db")) {
            for (label, pin, anywhere) in &n.pins {
                if text_has_pin(&text, pin, !anywhere) {
                    leaks.push(format!("database text {text:?}: {label}'s PIN"));
                }
            }
        }
    }
    leaks.extend(n.binary.iter().filter(|x| find(logs.as_bytes(), &x.bytes)).map(|x| format!("logs: {}", x.what)));
    for (label, pin, anywhere) in &n.pins {
        if text_has_pin(logs, pin, !anywhere) {
            leaks.push(format!("logs: {label}'s PIN"));
        }
    }
    leaks
}

fn drive(state: &Path, sim: &SimHandle, cards: &Path, ops: &[&str], kill_at: Option<&str>) -> String {
    let mut cmd = Command::new(DRIVER);
    cmd.arg("--state").arg(state).arg("--host").arg(sim.addr.to_string()).arg("--control").arg(sim.control_addr.to_string()).arg("--cards").arg(cards).args(ops);
    if let Some(p) = kill_at {
        cmd.env("POSD_FAILPOINT", p);
        let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0 && !line.starts_with("FAILPOINT") {
            line.clear();
        }
        child.kill().unwrap();
        let o = child.wait_with_output().unwrap();
        return String::from_utf8_lossy(&o.stderr).into_owned();
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Plants one of each kind of secret into a copy of `state`'s database and
/// into `logs`; returns the copy and the planted logs.
fn planted(state: &Path, logs: &str, n: &Needles) -> (tempfile::TempDir, String, Vec<String>) {
    let copy = tempfile::tempdir().unwrap();
    for f in ["device.key", "posd.db", "posd.db-wal", "posd.db-shm"] {
        if state.join(f).exists() {
            std::fs::copy(state.join(f), copy.path().join(f)).unwrap();
        }
    }
    let kinds = ["sentinel PAN (ASCII)", "sentinel PAN (BCD, F-padded)", "sentinel track 2 (BCD)", "sentinel PIN field (bytes)", "sentinel clear PIN block (HEX)", "issued key 0"];
    let conn = rusqlite::Connection::open(copy.path().join("posd.db")).unwrap();
    conn.execute_batch("CREATE TABLE planted (v BLOB, t TEXT)").unwrap();
    let mut expected = Vec::new();
    for kind in kinds {
        let x = n.binary.iter().find(|x| x.what.starts_with(kind)).unwrap_or_else(|| panic!("no needle {kind}"));
        conn.execute("INSERT INTO planted (v) VALUES (?1)", [&x.bytes]).unwrap();
        expected.push(x.what.clone());
    }
    // The PINs as text: the sentinel's anywhere, a shared card's after a key.
    conn.execute("INSERT INTO planted (t) VALUES ('entered 739418265073 at the prompt')", []).unwrap();
    conn.execute("INSERT INTO planted (t) VALUES ('{\"pin\": \"123456\"}')", []).unwrap();
    drop(conn);
    expected.extend(["sentinel's PIN".to_string(), "default's PIN".to_string()]);
    let logs = format!("{logs}\nDEBUG offline: card pin=4321 accepted\n");
    expected.push("logs: visa's PIN".into());
    (copy, logs, expected)
}

#[test]
fn database_files_and_logs_hold_no_pan_track_pin_pin_block_or_key() {
    let data = TestData::parse(&format!("{EMBEDDED}{SENTINEL}")).unwrap();
    let cards_dir = tempfile::tempdir().unwrap();
    let cards = cards_dir.path().join("test-cards.toml");
    std::fs::write(&cards, format!("{EMBEDDED}{SENTINEL}")).unwrap();
    let local = LocalSim::start_with(SimConfig { test_data: data.clone(), ..SimConfig::local() });
    let sim = &local.h;
    let full = tempfile::tempdir().unwrap();
    let mut logs = drive(
        full.path(),
        sim,
        &cards,
        &[
            "bind",
            "signin",
            "sale:sentinel:1000",
            "sale:visa:2000",
            "sale:low-balance:5000",
            "host-down",
            "sale:sentinel:900",
            "host-up",
            "flush",
            "void-last",
            "lose-reply",
            "sale:sentinel:700",
            "unbalanced",
            "settle",
            "sale:sentinel:300",
        ],
        None,
    );
    let killed = tempfile::tempdir().unwrap();
    logs.push_str(&drive(
        killed.path(),
        sim,
        &cards,
        &["bind", "signin", "sale:sentinel:1000", "host-down", "sale:sentinel:600", "host-up", "flush", "sale:sentinel:400"],
        Some("sale.journal.before"),
    ));
    assert!(killed.path().join("posd.db-wal").exists(), "a killed run leaves its WAL behind for the scan");
    assert!(logs.contains("request") && logs.contains("reply"), "the logs were captured at debug level");
    let charged = sim.ledger().charged("sentinel");
    assert!(charged >= 1000 + 900 + 300, "the workload ran on the sentinel card (charged {charged})");

    let keys = sim.issued_keys();
    assert!(keys.len() >= 8, "activation and sign-in keys were issued: {}", keys.len());
    let n = needles(&data, &keys);

    // Negative control: every kind of secret, planted, is reported by this very scan.
    let (copy, planted_logs, expected) = planted(full.path(), &logs, &n);
    let found = scan(&n, &[copy.path()], &planted_logs);
    let missed: Vec<_> = expected.iter().filter(|e| !found.iter().any(|f| f.contains(e.as_str()))).collect();
    assert!(missed.is_empty(), "the scan missed planted secrets: {missed:?}\nfound: {found:#?}");
    assert!(!text_has_pin("x0739418265073", "739418265073", false) && !text_has_pin("sealed: C38F4321", "4321", true), "digits inside a longer run or without a key are no leak");

    let leaks = scan(&n, &[full.path(), killed.path()], &logs);
    assert!(leaks.is_empty(), "secrets found:\n{}", leaks.join("\n"));
}
