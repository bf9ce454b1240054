//! The virtual card against the rules of acquirer-protocol.md §7.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "an integration test: a panic is the failure report")]

use smartpos_proto::crypto::{Key, emv};
use smartpos_proto::tlv;
use smartpos_vcard::card::{CDOL1, Transport, VirtualCard, cid};
use smartpos_vcard::testdata::TestData;

fn card(label: &str) -> VirtualCard {
    let d = TestData::embedded();
    VirtualCard::new(d.card(label).unwrap(), &d.issuer.imk_ac).unwrap()
}

fn ok(resp: Vec<u8>) -> Vec<u8> {
    let (data, sw) = resp.split_at(resp.len() - 2);
    assert_eq!(sw, [0x90, 0x00], "status word of {resp:02X?}");
    data.to_vec()
}

fn select(c: &mut VirtualCard, name: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x00, name.len() as u8];
    apdu.extend_from_slice(name);
    apdu.push(0);
    c.transmit(&apdu)
}

/// CDOL1 data: amount, other amount, country, TVR, currency, date, type, UN.
fn cdol1(amount: u64) -> Vec<u8> {
    let mut d = hex::decode(format!("{amount:012}")).unwrap();
    d.extend(hex::decode("000000000000015600000000000156261122000A1B2C3D").unwrap());
    assert_eq!(d.len(), 29);
    d
}

fn gac(c: &mut VirtualCard, p1: u8, data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x80, 0xAE, p1, 0x00, data.len() as u8];
    apdu.extend_from_slice(data);
    apdu.push(0);
    let r = ok(c.transmit(&apdu));
    tlv::find(&r, 0x80).unwrap()
}

fn ready(label: &str) -> VirtualCard {
    let mut c = card(label);
    let aid = hex::decode(&c.profile().aid).unwrap();
    ok(select(&mut c, &aid));
    ok(c.transmit(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]));
    c
}

#[test]
fn pse_directory_lists_the_application() {
    let mut c = card("default");
    let fci = ok(select(&mut c, b"1PAY.SYS.DDF01"));
    assert_eq!(tlv::find(&fci, 0x88).unwrap(), [0x02]);
    let rec = ok(c.transmit(&[0x00, 0xB2, 0x01, (2 << 3) | 4, 0x00]));
    assert_eq!(tlv::find(&rec, 0x4F).unwrap(), hex::decode("A000000333010101").unwrap());
    assert_eq!(tlv::find(&rec, 0x50).unwrap(), b"UnionPay Debit");
    assert_eq!(tlv::find(&rec, 0x87).unwrap(), [0x01]);
    assert_eq!(c.transmit(&[0x00, 0xB2, 0x02, (2 << 3) | 4, 0x00]), [0x6A, 0x83]);
}

#[test]
fn a_card_without_pse_answers_6a82_and_still_selects_by_aid() {
    let mut c = card("visa");
    c.with_pse = false;
    assert_eq!(select(&mut c, b"1PAY.SYS.DDF01"), [0x6A, 0x82]);
    let fci = ok(select(&mut c, &hex::decode("A0000000031010").unwrap()));
    assert_eq!(tlv::find(&fci, 0x50).unwrap(), b"VISA CREDIT");
    assert!(tlv::find(&fci, 0x9F38).is_none(), "no PDOL");
    assert_eq!(select(&mut c, &hex::decode("A000000333010101").unwrap()), [0x6A, 0x82]);
}

#[test]
fn gpo_and_the_record_carry_the_spec_tags() {
    let mut c = card("default");
    ok(select(&mut c, &hex::decode("A000000333010101").unwrap()));
    assert_eq!(c.transmit(&[0x00, 0xB2, 0x01, 0x0C, 0x00]), [0x69, 0x85], "record before GPO");
    let gpo = ok(c.transmit(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]));
    assert_eq!(gpo, hex::decode("80061C0008010100").unwrap());
    let rec = ok(c.transmit(&[0x00, 0xB2, 0x01, 0x0C, 0x00]));
    let inner = tlv::parse(&tlv::find(&rec, 0x70).map(|_| rec.clone()).unwrap()).unwrap();
    assert_eq!(inner.len(), 1);
    let tags: Vec<u32> = tlv::parse(&inner[0].value).unwrap().iter().map(|t| t.tag).collect();
    assert_eq!(tags, [0x57, 0x5A, 0x5F24, 0x5F34, 0x5F20, 0x8C, 0x8D, 0x8E, 0x9F07, 0x9F08]);
    assert_eq!(hex::encode_upper(tlv::find(&rec, 0x57).unwrap()), "6228480000000000018D30122200000000000F");
    assert_eq!(hex::encode_upper(tlv::find(&rec, 0x5F24).unwrap()), "301231");
    assert_eq!(hex::encode_upper(tlv::find(&rec, 0x8C).unwrap()), CDOL1);
    assert_eq!(hex::encode_upper(tlv::find(&rec, 0x8D).unwrap()), "8A02910A95059F3704");
}

#[test]
fn arqc_is_the_alg3_mac_of_cdol1_aip_atc_under_the_derived_key() {
    let d = TestData::embedded();
    let p = d.card("default").unwrap();
    let mut c = ready("default");
    let data = cdol1(1234);
    let r = gac(&mut c, cid::ARQC, &data);
    assert_eq!(r[0], cid::ARQC);
    assert_eq!(u16::from_be_bytes([r[1], r[2]]), 1);
    let mk = emv::derive_icc_master_key(&Key::new(&hex::decode(&d.issuer.imk_ac).unwrap()).unwrap(), &p.pan, &p.psn).unwrap();
    let mut input = data.clone();
    input.extend_from_slice(&[0x1C, 0x00, 0x00, 0x01]);
    assert_eq!(&r[3..11], emv::application_cryptogram(&mk, &input).unwrap());

    // Second GENERATE AC with a correct ARPC approves; the ATC stays.
    let arqc: [u8; 8] = r[3..11].try_into().unwrap();
    let mut cdol2 = b"00".to_vec();
    cdol2.extend_from_slice(&emv::arpc_method1(&mk, &arqc, b"00"));
    cdol2.extend_from_slice(b"00");
    cdol2.extend_from_slice(&data[15..20]); // TVR
    cdol2.extend_from_slice(&data[25..29]); // UN
    let r2 = gac(&mut c, cid::TC, &cdol2);
    assert_eq!((r2[0], u16::from_be_bytes([r2[1], r2[2]])), (cid::TC, 1));
}

#[test]
fn a_wrong_arpc_or_a_decline_gets_an_aac() {
    for arc in [b"00", b"05"] {
        let mut c = ready("default");
        gac(&mut c, cid::ARQC, &cdol1(100));
        let mut cdol2 = arc.to_vec();
        cdol2.extend_from_slice(&[0x11; 8]);
        cdol2.extend_from_slice(arc);
        cdol2.extend_from_slice(&[0; 9]);
        assert_eq!(gac(&mut c, cid::TC, &cdol2)[0], cid::AAC);
    }
}

#[test]
fn tc_within_the_offline_limit_inclusive_arqc_above() {
    let mut c = ready("default");
    assert_eq!(gac(&mut c, cid::TC, &cdol1(50000))[0], cid::TC);
    let mut c = ready("default");
    assert_eq!(gac(&mut c, cid::TC, &cdol1(50001))[0], cid::ARQC);
}

#[test]
fn unable_to_go_online_y3_approves_within_the_limit_only() {
    for (amount, want) in [(50000, cid::TC), (50001, cid::AAC)] {
        let mut c = ready("default");
        gac(&mut c, cid::ARQC, &cdol1(amount));
        let mut cdol2 = b"Y3".to_vec();
        cdol2.extend_from_slice(&[0; 19]);
        assert_eq!(gac(&mut c, cid::TC, &cdol2)[0], want, "amount {amount}");
    }
}

#[test]
fn a_blocked_card_answers_aac() {
    let mut c = ready("blocked");
    assert_eq!(gac(&mut c, cid::ARQC, &cdol1(1))[0], cid::AAC);
}

#[test]
fn atc_advances_once_per_transaction() {
    let mut c = ready("default");
    gac(&mut c, cid::ARQC, &cdol1(1));
    let mut cdol2 = b"05".to_vec();
    cdol2.extend_from_slice(&[0; 19]);
    gac(&mut c, cid::TC, &cdol2);
    assert_eq!(c.atc(), 1);
    c.reset();
    ok(select(&mut c, &hex::decode("A000000333010101").unwrap()));
    ok(c.transmit(&[0x80, 0xA8, 0x00, 0x00, 0x02, 0x83, 0x00, 0x00]));
    gac(&mut c, cid::TC, &cdol1(1));
    assert_eq!(c.atc(), 2);
}

#[test]
fn t0_transport_uses_61xx_get_response_and_6cxx() {
    let mut c = card("default");
    c.transport = Transport::T0;
    let r = select(&mut c, b"1PAY.SYS.DDF01");
    assert_eq!(r[0], 0x61);
    let len = r[1];
    assert_eq!(c.transmit(&[0x00, 0xC0, 0x00, 0x00, len.wrapping_add(1)]), [0x6C, len]);
    let fci = ok(c.transmit(&[0x00, 0xC0, 0x00, 0x00, len]));
    assert_eq!(fci.len(), usize::from(len));
    // Case 2 with a wrong Le: 6C with the right length, then the data.
    let r = c.transmit(&[0x00, 0xB2, 0x01, 0x14, 0x05]);
    assert_eq!(r[0], 0x6C);
    ok(c.transmit(&[0x00, 0xB2, 0x01, 0x14, r[1]]));
}

#[test]
fn malformed_commands_get_status_words_not_panics() {
    let mut c = card("default");
    for apdu in [&[][..], &[0x00], &[0x00, 0xA4, 0x04], &[0x00, 0xA4, 0x04, 0x00, 0x05, 0x01], &[0xFF, 0x00, 0x00, 0x00]] {
        let r = c.transmit(apdu);
        assert_eq!(r.len(), 2, "{apdu:02X?}");
        assert_ne!(r, [0x90, 0x00]);
    }
    assert_eq!(c.transmit(&[0x80, 0xAE, 0x80, 0x00, 0x01, 0x00, 0x00]), [0x69, 0x85], "GAC before GPO");
    let mut c = ready("default");
    assert_eq!(c.transmit(&[0x80, 0xAE, 0x80, 0x00, 0x01, 0x00, 0x00]), [0x67, 0x00], "short CDOL1 data");
}
