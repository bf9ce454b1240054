//! Receipts as text (`Payment.Receipt`, dbus-api.md "Receipts") over
//! D-Bus: posd with the simulated reader, contactless field, scanner and
//! keypad, against the acquirer simulator. A contact sale, an offline sale,
//! a tap, a code payment, a void and a refund each get their slip, and each
//! slip is checked for every item of the contract against the result the
//! payment returned; no slip shows more than the masked card or code.

use serde_json::{Value as Json, json};
use smartpos_tests::posd::PosdRig;
use smartpos_tests::printer::assert_items;

fn terminal() -> PosdRig {
    let rig = PosdRig::start_with(
        |cfg| {
            let hw = cfg["hardware"].as_table_mut().expect("[hardware]");
            hw.insert("contactless".into(), "sim".into());
            hw.insert("scanner".into(), "sim".into());
        },
        &[],
    );
    rig.call("Terminal", "Bind", &["s", "483920"]).expect("bind");
    rig.call("Terminal", "SignIn", &[]).expect("sign in");
    rig
}

fn receipt(rig: &PosdRig, r: &Json, copy: &str) -> String {
    let got = rig.call("Payment", "Receipt", &["us", &r["stan"].to_string(), copy]).unwrap_or_else(|e| panic!("receipt of {r}: {e}"));
    got.as_str().expect("a string").to_string()
}

/// The text slip's items, and its width on 58 mm paper.
fn assert_slip(slip: &str, r: &Json, kind: &str, interface: &str) {
    assert_items(slip, r, kind, interface);
    for line in slip.lines() {
        let cols: usize = line.chars().map(|c| if ('\u{2E80}'..='\u{FFE6}').contains(&c) { 2 } else { 1 }).sum();
        assert!(cols <= 32, "wider than 58 mm paper: {line:?}");
    }
}

#[test]
fn every_kind_of_payment_gets_its_slip_with_every_item() {
    let rig = terminal();
    let sale = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "1234", "1", "interfaces", "as", "1", "contact"]);
    let slip = receipt(&rig, &sale, "merchant");
    assert_slip(&slip, &sale, "消费 SALE", "插卡 CHIP");
    assert!(slip.contains("MERCHANT COPY") && slip.contains("ARQC") && !slip.contains("OFFLINE") && !slip.contains("[QR"), "{slip}");
    assert!(!slip.contains("SIGNATURE"), "a PIN was entered: no signature line\n{slip}");
    let customer = receipt(&rig, &sale, "customer");
    assert!(customer.contains("CARDHOLDER COPY") && customer.contains(&format!("[QR {}]", sale["rrn"].as_str().expect("rrn"))), "{customer}");

    // A tap and a code payment.
    rig.call("Simulator", "TapCard", &["s", "dda"]).expect("tap");
    let tap = rig.sale(2_500, "1 interfaces as 1 contactless").expect("tap sale");
    assert_slip(&receipt(&rig, &tap, "merchant"), &tap, "消费 SALE", "挥卡 CONTACTLESS");
    rig.call("Simulator", "ScanCode", &["s", "6259000000000000017"]).expect("scan");
    let code = rig.sale(1_880, "1 interfaces as 1 code").expect("code sale");
    let slip = receipt(&rig, &code, "customer");
    assert_slip(&slip, &code, "消费 SALE", "扫码 PAYMENT CODE");
    assert!(slip.contains("付款码 PAYMENT CODE") && !slip.contains("AID"), "a code has no chip data:\n{slip}");

    // An offline sale.
    rig.call("Simulator", "SetHostReachable", &["b", "false"]).expect("cut");
    let offline = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "8800", "1", "interfaces", "as", "1", "contact"]);
    assert_eq!(offline["offline"], json!(true), "{offline}");
    let slip = receipt(&rig, &offline, "merchant");
    assert_slip(&slip, &offline, "消费 SALE", "插卡 CHIP");
    assert!(slip.contains("OFFLINE") && slip.contains("TC "), "{slip}");
    rig.call("Simulator", "SetHostReachable", &["b", "true"]).expect("restore");

    // A void and a refund: the amount with a minus.
    let void = rig.call("Payment", "Void", &["u", &code["stan"].to_string()]).expect("void");
    let slip = receipt(&rig, &void, "merchant");
    assert_slip(&slip, &void, "消费撤销 VOID", "扫码 PAYMENT CODE");
    assert!(slip.contains("RMB -18.80"), "{slip}");
    let date = sale["host_date"].as_str().expect("host_date").to_string();
    let refund = rig.with_card("default", "", "Refund", &["tssa{sv}", "500", sale["rrn"].as_str().expect("rrn"), &date, "0"]);
    let slip = receipt(&rig, &refund, "merchant");
    assert_slip(&slip, &refund, "退货 REFUND", "插卡 CHIP");
    assert!(slip.contains("RMB -5.00"), "{slip}");
}

#[test]
fn a_declined_payment_has_no_receipt_and_a_bad_copy_name_is_refused() {
    let rig = terminal();
    let declined = rig.with_card("low-balance", "111111#", "Sale", &["ta{sv}", "5000", "1", "interfaces", "as", "1", "contact"]);
    assert_eq!(declined["approved"], json!(false), "{declined}");
    let e = rig.call("Payment", "Receipt", &["us", &declined["stan"].to_string(), "merchant"]).expect_err("no slip for a decline");
    assert!(e.contains("not approved"), "{e}");
    let e = rig.call("Payment", "Receipt", &["us", "999999", "merchant"]).expect_err("no such STAN");
    assert!(e.contains("no transaction with STAN 999999"), "{e}");
    let e = rig.call("Payment", "Receipt", &["us", &declined["stan"].to_string(), "bank"]).expect_err("bad copy");
    assert!(e.contains("merchant or customer"), "{e}");
    // posctl shows the same slip.
    let ok = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "100", "1", "interfaces", "as", "1", "contact"]);
    let out = rig.posctl(&["receipt", &ok["stan"].to_string(), "--copy", "customer"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("CARDHOLDER COPY") && text.contains("测试便利店"), "{text}");
}

/// `posctl receipt --png`: the customer copy as an image of the paper; its
/// QR code read back by zbarimg (ZBar, an independent decoder) is the RRN.
/// With `SMARTPOS_WRITE_DOCS=1` the image also goes to `docs/receipt-customer.png`.
#[test]
fn the_customer_copy_as_an_image_of_the_paper_carries_a_readable_qr_of_the_rrn() {
    let rig = terminal();
    let sale = rig.with_card("default", "123456#", "Sale", &["ta{sv}", "1234", "1", "interfaces", "as", "1", "contact"]);
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("slip.png");
    let out = rig.posctl(&["receipt", &sale["stan"].to_string(), "--copy", "customer", "--png", png.to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).expect("png written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let (w, h) = (u32::from_be_bytes(bytes[16..20].try_into().expect("width")), u32::from_be_bytes(bytes[20..24].try_into().expect("height")));
    assert!(w == 416 && h > 1000, "384 dots of 58 mm paper plus margins, a slip's length: {w}×{h}");
    let z = std::process::Command::new("zbarimg").args(["--quiet", "--raw"]).arg(&png).output().expect("zbarimg (scripts/setup)");
    assert_eq!(String::from_utf8_lossy(&z.stdout).trim(), sale["rrn"].as_str().expect("rrn"), "the QR code read back from the image");
    // Negative control: the merchant copy has no QR, and zbarimg finds none.
    let merchant = dir.path().join("merchant.png");
    assert!(rig.posctl(&["receipt", &sale["stan"].to_string(), "--png", merchant.to_str().expect("path")]).status.success());
    let z = std::process::Command::new("zbarimg").args(["--quiet", "--raw"]).arg(&merchant).output().expect("zbarimg");
    assert!(!z.status.success() && z.stdout.is_empty(), "no QR on the merchant copy");
    if std::env::var_os("SMARTPOS_WRITE_DOCS").is_some() {
        std::fs::copy(&png, smartpos_tests::oracle::repo_root().join("docs/receipt-customer.png")).expect("docs");
    }
}
