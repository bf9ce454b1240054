//! No secret at rest or in the logs: after a full workload through the real
//! engine (every kind of payment, offline, a lost answer, settlement with
//! upload) and a run killed mid-way (so `-wal`/`-shm` stay behind), the
//! database files and the captured debug logs are searched for the test
//! cards' PANs, track 2, PINs and PIN blocks, and every key the host issued
//! — as raw bytes/BCD, upper- and lower-case hex, and ASCII.

use smartpos_proto::crypto::{Key, emv, pin_block};
use smartpos_tests::acquirer::{LocalSim, SimHandle};
use smartpos_vcard::testdata::TestData;
use std::path::Path;
use std::process::Command;

const DRIVER: &str = env!("CARGO_BIN_EXE_pos-engine-driver");

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

/// Binary needles (long enough never to match by chance) and the PINs, which
/// are searched as text only (a 4-digit string turns up in random bytes).
fn needles(data: &TestData, keys: &[Key]) -> (Vec<Needle>, Vec<(String, String)>) {
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
        pins.push((c.label.clone(), c.pin.clone()));
        let clear = pin_block::clear_format0(c.pin.as_bytes(), c.pan.as_bytes()).unwrap();
        forms(&format!("{} clear PIN block", c.label), &*clear, &mut n);
        let mut field = vec![c.pin.len() as u8];
        field.extend(bcd(&c.pin, 'F'));
        field.resize(8, 0xFF);
        forms(&format!("{} PIN field", c.label), &field, &mut n);
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
    (n, pins)
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// A PIN as a whole number in text (not inside a longer run of digits).
fn text_has_pin(text: &str, pin: &str) -> bool {
    text.match_indices(pin).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + pin.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
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

fn drive(state: &Path, sim: &SimHandle, ops: &[&str], kill_at: Option<&str>) -> String {
    let mut cmd = Command::new(DRIVER);
    cmd.arg("--state").arg(state).arg("--host").arg(sim.addr.to_string()).arg("--control").arg(sim.control_addr.to_string()).args(ops);
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

#[test]
fn database_files_and_logs_hold_no_pan_track_pin_pin_block_or_key() {
    let local = LocalSim::start();
    let sim = &local.h;
    let full = tempfile::tempdir().unwrap();
    let mut logs = drive(
        full.path(),
        &sim,
        &[
            "bind",
            "signin",
            "sale:default:1000",
            "sale:visa:2000",
            "sale:low-balance:5000",
            "host-down",
            "sale:default:900",
            "host-up",
            "flush",
            "void-last",
            "lose-reply",
            "sale:default:700",
            "unbalanced",
            "settle",
            "sale:default:300",
        ],
        None,
    );
    let killed = tempfile::tempdir().unwrap();
    logs.push_str(&drive(
        killed.path(),
        &sim,
        &["bind", "signin", "sale:default:1000", "host-down", "sale:visa:600", "host-up", "flush", "sale:default:400"],
        Some("sale.journal.before"),
    ));
    assert!(killed.path().join("posd.db-wal").exists(), "a killed run leaves its WAL behind for the scan");
    assert!(logs.contains("request") && logs.contains("reply"), "the logs were captured at debug level");

    let keys = sim.issued_keys();
    assert!(keys.len() >= 8, "activation and sign-in keys were issued: {}", keys.len());
    let (needles, pins) = needles(&TestData::embedded(), &keys);

    // The scanner finds what it looks for (a check that cannot fail is no check).
    let planted = [b"xx".to_vec(), needles[3].bytes.clone(), b"yy".to_vec()].concat();
    assert!(find(&planted, &needles[3].bytes));
    assert!(text_has_pin("PIN=123456;", "123456") && !text_has_pin("x0123456", "123456"));

    let mut leaks = Vec::new();
    for dir in [full.path(), killed.path()] {
        for f in ["posd.db", "posd.db-wal", "posd.db-shm"] {
            let Ok(bytes) = std::fs::read(dir.join(f)) else { continue };
            for n in &needles {
                if find(&bytes, &n.bytes) {
                    leaks.push(format!("{f}: {}", n.what));
                }
            }
        }
        for text in db_text(&dir.join("posd.db")) {
            for (label, pin) in &pins {
                if text_has_pin(&text, pin) {
                    leaks.push(format!("database text {text:?}: {label}'s PIN"));
                }
            }
        }
    }
    for n in &needles {
        if find(logs.as_bytes(), &n.bytes) {
            leaks.push(format!("logs: {}", n.what));
        }
    }
    for (label, pin) in &pins {
        if text_has_pin(&logs, pin) {
            leaks.push(format!("logs: {label}'s PIN"));
        }
    }
    assert!(leaks.is_empty(), "secrets found:\n{}", leaks.join("\n"));
}
