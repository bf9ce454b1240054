//! Receipts on ESC/POS printers, read back by an independent decoder
//! (`tests/oracles/escpos_decode.py`, from the ESC/POS reference, GB18030 by
//! Python's codec): posd's real printer backends write to test printers that
//! answer the paper sensor as the reference defines it — a network printer
//! on a loopback TCP port (9100's protocol) and a serial printer on a pty.
//! Every receipt item is asserted for a contact sale, an offline sale, a
//! tap, a code payment, a void and a refund; paper out never stops a
//! payment. posd is on a private bus with simulated card hardware, against
//! the acquirer simulator.

use serde_json::{Value as Json, json};
use smartpos_tests::posd::{PosdRig, eventually};
use smartpos_tests::printer::{TestPrinter, assert_items, copy_text};
use std::time::Duration;

fn terminal(printer: &[(&str, toml::Value)]) -> PosdRig {
    let printer: toml::Table = printer.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let rig = PosdRig::start_with(
        |cfg| {
            let hw = cfg["hardware"].as_table_mut().expect("[hardware]");
            hw.insert("contactless".into(), "sim".into());
            hw.insert("scanner".into(), "sim".into());
            cfg.insert("printer".into(), toml::Value::Table(printer));
        },
        &[],
    );
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig
}

/// The decoded copies, once `n` have been cut.
fn copies(printer: &TestPrinter, n: usize) -> Vec<Json> {
    eventually(
        Duration::from_secs(20),
        || printer.decoded()["copies"].as_array().is_some_and(|c| c.len() >= n),
        || format!("the printer did not get {n} copies: {}", printer.decoded()),
    );
    printer.decoded()["copies"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_network_printer_gets_both_copies_of_every_kind_of_payment_with_every_item() {
    let printer = TestPrinter::tcp();
    let rig = terminal(&[("backend", "tcp".into()), ("device", printer.device.as_str().into()), ("auto_print", true.into())]);
    assert_eq!(rig.get("Hardware", "Printer"), json!({"backend": "tcp", "name": printer.device, "present": true, "paper": "ok"}));

    let mut paid = vec![(rig.with_card("default", "123456#", "Sale", &["ta{sv}", "1234", "1", "interfaces", "as", "1", "contact"]), "消费 SALE", "插卡 CHIP")];
    copies(&printer, 2 * paid.len()); // printed before the next payment starts: the jobs keep the payments' order
    rig.call("Simulator", "TapCard", &["s", "dda"]).expect("tap");
    paid.push((rig.sale(2_500, "1 interfaces as 1 contactless").expect("tap"), "消费 SALE", "挥卡 CONTACTLESS"));
    copies(&printer, 2 * paid.len()); // printed before the next payment starts: the jobs keep the payments' order
    rig.call("Simulator", "ScanCode", &["s", "6259000000000000017"]).expect("scan");
    let code = rig.sale(1_880, "1 interfaces as 1 code").expect("code");
    paid.push((code.clone(), "消费 SALE", "扫码 PAYMENT CODE"));
    copies(&printer, 2 * paid.len()); // printed before the next payment starts: the jobs keep the payments' order
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    paid.push((rig.with_card("default", "123456#", "Sale", &["ta{sv}", "8800", "1", "interfaces", "as", "1", "contact"]), "消费 SALE", "插卡 CHIP"));
    copies(&printer, 2 * paid.len()); // printed before the next payment starts: the jobs keep the payments' order
    rig.call("Simulator", "SetHostReachable", &["b", "true"]).expect("restore");
    paid.push((rig.call("Payment", "Void", &["u", &code["stan"].to_string()]).expect("void"), "消费撤销 VOID", "扫码 PAYMENT CODE"));
    copies(&printer, 2 * paid.len()); // printed before the next payment starts: the jobs keep the payments' order
    let first = paid[0].0.clone();
    let date = first["host_date"].as_str().expect("host_date").to_string();
    paid.push((rig.with_card("default", "", "Refund", &["tssa{sv}", "500", first["rrn"].as_str().expect("rrn"), &date, "0"]), "退货 REFUND", "插卡 CHIP"));
    copies(&printer, 2 * paid.len()); // printed before the next payment starts: the jobs keep the payments' order
    assert_eq!(paid[3].0["offline"], json!(true), "the fourth was offline");

    let got = copies(&printer, 2 * paid.len());
    assert_eq!(got.len(), 2 * paid.len(), "two copies per payment, nothing more");
    let decoded = printer.decoded();
    assert_eq!(
        (decoded["chinese"].clone(), decoded["status_requests"].as_array().map(Vec::len)),
        (json!(true), Some(paid.len() + 1)),
        "Chinese mode on; one paper check per job and one for the property read"
    );
    for (i, (r, kind, interface)) in paid.iter().enumerate() {
        let (merchant, customer) = (&got[2 * i], &got[2 * i + 1]);
        for (copy, name) in [(merchant, "MERCHANT COPY"), (customer, "CARDHOLDER COPY")] {
            let text = copy_text(copy);
            assert_items(&text, r, kind, interface);
            assert!(text.contains(name), "{name}:\n{text}");
            assert_eq!(copy["cut"], json!("partial"), "cut after each copy");
            // The Chinese merchant name decodes back exactly, as a line of its own.
            assert!(copy["lines"].as_array().expect("lines").iter().any(|l| l["text"] == json!("测试便利店 Test Mart")), "{text}");
            let title = &copy["lines"][0];
            assert_eq!(
                (title["text"].clone(), title["align"].clone(), title["bold"].clone(), title["width"].clone()),
                (json!("银联 POS 签购单"), json!("centre"), json!(true), json!(2)),
                "{title}"
            );
        }
        let rrn = r["rrn"].as_str().unwrap_or_default();
        // The customer copy's QR is the RRN (an offline sale has none yet).
        assert_eq!(customer["qr"], if rrn.is_empty() { json!([]) } else { json!([rrn]) }, "{r}");
        assert_eq!(merchant["qr"], json!([]), "none on the merchant copy");
        let amount_line = merchant["lines"].as_array().expect("lines").iter().find(|l| l["text"].as_str().is_some_and(|t| t.contains("AMOUNT"))).cloned().expect("amount line");
        assert_eq!((amount_line["bold"].clone(), amount_line["height"].clone()), (json!(true), json!(2)), "{amount_line}");
        let offline = copy_text(merchant).contains("离线交易 OFFLINE");
        assert_eq!(offline, r["offline"] == json!(true), "OFFLINE exactly on the offline approvals (the chip sale with the host away, the tap within the floor): {r}");
    }
    // The printer's bytes hold no full PAN or code in any encoding.
    let bytes = printer.received();
    let data = smartpos_vcard::testdata::TestData::embedded();
    for secret in data.cards.iter().map(|c| c.pan.clone()).chain(data.payment_codes.iter().map(|c| c.code.clone())) {
        for (form, needle) in smartpos_tests::secrets::digit_forms(&secret) {
            assert!(!smartpos_tests::secrets::contains(&bytes, &needle), "a full card number or code ({form}) in the printer's bytes");
        }
    }
}

#[test]
fn a_serial_printer_reprints_a_copy_and_paper_out_never_stops_a_payment() {
    let printer = TestPrinter::pty();
    let rig = terminal(&[("backend", "serial".into()), ("device", printer.device.as_str().into()), ("baud", 115_200.into()), ("auto_print", true.into()), ("paper_mm", 80.into())]);
    // Out of paper: the sale completes and is charged once; nothing printed.
    printer.set_paper("out");
    assert_eq!(rig.get("Hardware", "Printer")["paper"], json!("out"));
    let sale = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "4321", "1", "interfaces", "as", "1", "contact"]);
    assert_eq!(sale["approved"], json!(true), "{sale}");
    assert_eq!(rig.sim.h.ledger().charged("default"), 4_321, "charged once");
    rig.wait_for_log("out of paper");
    let stan = sale["stan"].to_string();
    let e = rig.call("Payment", "PrintReceipt", &["us", &stan, "customer"]).expect_err("no paper");
    assert!(e.contains("out of paper") && e.contains("Load a new roll") && e.contains(&format!("posctl reprint {stan}")), "{e}");
    assert_eq!(printer.decoded()["copies"], json!([]), "nothing printed without paper");
    // Paper loaded: the reprint works, marked as one.
    printer.set_paper("low");
    rig.call("Payment", "PrintReceipt", &["us", &stan, "customer"]).expect("reprint");
    let got = copies(&printer, 1);
    let text = copy_text(&got[0]);
    assert_items(&text, &sale, "消费 SALE", "插卡 CHIP");
    assert!(text.contains("REPRINT") && text.contains("CARDHOLDER COPY"), "{text}");
    assert!(text.lines().any(|l| l == "-".repeat(48)), "80 mm paper: 48 columns\n{text}");
    assert_eq!(got[0]["qr"], json!([sale["rrn"].as_str().expect("rrn")]));
    assert_eq!(rig.sim.h.ledger().charged("default"), 4_321, "printing charged nothing");
}

/// The usblp backend's code path (opened non-blocking, written, its status
/// read back) on a real character device: the test printer's pty stands in
/// for `/dev/usb/lp0`, which this machine has no USB printer for.
#[test]
fn the_usblp_backend_prints_on_a_character_device_and_reads_its_paper_sensor() {
    let printer = TestPrinter::pty();
    let rig = terminal(&[("backend", "usblp".into()), ("device", printer.device.as_str().into())]);
    printer.set_paper("low");
    assert_eq!(rig.get("Hardware", "Printer"), json!({"backend": "usblp", "name": printer.device, "present": true, "paper": "low"}));
    let sale = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "777", "1", "interfaces", "as", "1", "contact"]);
    rig.call("Payment", "PrintReceipt", &["us", &sale["stan"].to_string(), "merchant"]).expect("printed");
    let got = copies(&printer, 1);
    assert_items(&copy_text(&got[0]), &sale, "消费 SALE", "插卡 CHIP");
}

#[test]
fn the_simulated_printer_reports_paper_and_a_terminal_without_a_printer_says_so() {
    let rig = terminal(&[("backend", "sim".into())]);
    let monitor = smartpos_tests::posd::BusRecorder::start(rig.bus.address());
    assert_eq!(rig.get("Hardware", "Printer"), json!({"backend": "simulator", "name": "simulated printer", "present": true, "paper": "ok"}));
    rig.call("Simulator", "SetPaper", &["s", "out"]).expect("paper out");
    assert_eq!(rig.get("Hardware", "Printer")["paper"], json!("out"));
    let sale = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "100", "1", "interfaces", "as", "1", "contact"]);
    let e = rig.call("Payment", "PrintReceipt", &["us", &sale["stan"].to_string(), "merchant"]).expect_err("no paper");
    assert!(e.contains("out of paper"), "{e}");
    rig.call("Simulator", "SetPaper", &["s", "ok"]).expect("paper in");
    rig.call("Payment", "PrintReceipt", &["us", &sale["stan"].to_string(), "merchant"]).expect("printed");
    let bus = monitor.stop();
    assert!(bus.contains("string \"printing\""), "a printing stage on Progress:\n{bus}");
    let e = rig.call("Simulator", "SetPaper", &["s", "torn"]).expect_err("bad state");
    assert!(e.contains("ok, low or out"), "{e}");

    let bare = terminal(&[]);
    assert_eq!(bare.get("Hardware", "Printer")["backend"], json!("none"));
    let sale = bare.with_card("default", "123456#", "Sale", &["ta{sv}", "100", "1", "interfaces", "as", "1", "contact"]);
    let e = bare.call("Payment", "PrintReceipt", &["us", &sale["stan"].to_string(), "merchant"]).expect_err("no printer");
    assert!(e.contains("no receipt printer configured"), "{e}");
}

/// Negative controls for the decoder: bytes the reference does not define,
/// and Chinese text sent as UTF-8 instead of GB18030, do not pass.
#[test]
fn the_decoder_refuses_what_a_printer_would_misprint() {
    let decode = |bytes: &[u8]| {
        let mut child = std::process::Command::new("python3")
            .arg(smartpos_tests::oracle::dir().join("escpos_decode.py"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), bytes).expect("write");
        drop(child.stdin.take());
        let out = child.wait_with_output().expect("decoder");
        (out.status.success(), serde_json::from_slice::<Json>(&out.stdout).expect("JSON"))
    };
    let (ok, good) = decode(&[b"\x1b\x40\x1c\x26".as_slice(), "测试便利店".encode_gb18030().as_slice(), b"\n\x1d\x56\x42\x60"].concat());
    assert!(ok && good["copies"][0]["lines"][0]["text"] == json!("测试便利店"), "{good}");
    let (ok, bad) = decode(&[b"\x1b\x40\x1c\x26".as_slice(), "测试便利店".as_bytes(), b"\n"].concat());
    assert!(!ok || bad["copies"][0]["lines"][0]["text"] != json!("测试便利店"), "UTF-8 must not read back as the name: {bad}");
    let (ok, bad) = decode(b"\x1b\x40\x1b\x74\x00hello\n");
    assert!(!ok && bad["error"].as_str().is_some_and(|e| e.contains("unknown ESC")), "{bad}");
}

trait Gb18030 {
    fn encode_gb18030(&self) -> Vec<u8>;
}

impl Gb18030 for str {
    /// GB18030 as Python's codec makes it: the test's bytes come from the oracle side.
    fn encode_gb18030(&self) -> Vec<u8> {
        let out = std::process::Command::new("python3").args(["-c", "import sys; sys.stdout.buffer.write(sys.argv[1].encode('gb18030'))", self]).output().expect("python3");
        out.stdout
    }
}
