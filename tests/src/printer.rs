//! A test ESC/POS printer (`tests/oracles/escpos_printer.py`) on a loopback
//! TCP port or a pty, what it received, and that stream decoded by the
//! independent decoder (`tests/oracles/escpos_decode.py`); plus the check
//! that a slip — as text or as decoded paper — carries every item of the
//! receipt contract for a payment's result and nothing more than masked.

use serde_json::Value as Json;
use smartpos_vcard::testdata::TestData;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

#[derive(Debug)]
pub struct TestPrinter {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT` or the pty's path.
    pub device: String,
}

impl TestPrinter {
    /// A network printer on a free loopback port.
    pub fn tcp() -> Self {
        Self::start(&["--tcp", "127.0.0.1:0"], |line| line.strip_prefix("listening ").map(|p| format!("127.0.0.1:{p}")))
    }

    /// A serial printer on a new pty: `device` is the port to print on.
    pub fn pty() -> Self {
        Self::start(&["--pty"], |line| line.strip_prefix("pty ").map(str::to_string))
    }

    fn start(args: &[&str], device: impl Fn(&str) -> Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("received.bin");
        let mut child = Command::new("python3")
            .arg(crate::oracle::dir().join("escpos_printer.py"))
            .args(args)
            .arg("--out")
            .arg(&out)
            .arg("--paper-file")
            .arg(dir.path().join("paper"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (scripts/setup)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("printer's first line");
        let device = device(line.trim()).unwrap_or_else(|| panic!("the test printer said {line:?}"));
        Self { child, dir, device }
    }

    /// `ok`, `low` or `out`, as the paper sensor will report it.
    pub fn set_paper(&self, state: &str) {
        std::fs::write(self.dir.path().join("paper"), state).expect("paper file");
    }

    pub fn received(&self) -> Vec<u8> {
        std::fs::read(self.out()).unwrap_or_default()
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("received.bin")
    }

    /// What the paper shows, by the independent decoder.
    pub fn decoded(&self) -> Json {
        let out = crate::oracle::run("escpos_decode.py", &[self.out().to_str().expect("utf-8 path")], &[]);
        serde_json::from_slice(&out).expect("decoder JSON")
    }
}

impl Drop for TestPrinter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines of one decoded copy as text.
pub fn copy_text(copy: &Json) -> String {
    copy["lines"].as_array().map(|ls| ls.iter().filter_map(|l| l["text"].as_str()).collect::<Vec<_>>().join("\n")).unwrap_or_default()
}

/// Every item of the contract for the slip of result `r` (a `Payment`
/// result dict): merchant name, MID, TID, operator, kind, interface, batch,
/// STAN, RRN, auth code, time, amount, masked card or code, AID, label,
/// cryptogram, TVR — and no full PAN or code of the test cards.
pub fn assert_items(slip: &str, r: &Json, kind: &str, interface: &str) {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let amount = r["amount"].as_u64().expect("amount");
    let mut want = vec![
        "测试便利店 Test Mart".to_string(),
        "898110000000001".into(),
        "10000001".into(),
        "001".into(),
        kind.into(),
        interface.into(),
        format!("{:06}", r["batch"].as_u64().expect("batch")),
        format!("{:06}", r["stan"].as_u64().expect("stan")),
        format!("{}.{:02}", amount / 100, amount % 100),
        s("time").get(11..19).expect("time").to_string(),
    ];
    for k in ["rrn", "auth_code", "masked_pan", "masked_code", "aid", "app_label", "tvr", "arqc", "tc"] {
        if !s(k).trim().is_empty() {
            want.push(s(k).trim().to_string());
        }
    }
    for w in &want {
        assert!(slip.contains(w.as_str()), "{w:?} missing from the slip of {r}:\n{slip}");
    }
    let data = TestData::embedded();
    for secret in data.cards.iter().map(|c| c.pan.as_str()).chain(data.payment_codes.iter().map(|c| c.code.as_str())) {
        assert!(!slip.contains(secret), "a full card number or code on the slip:\n{slip}");
    }
}
