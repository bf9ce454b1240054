//! Every decode error as a table: malformed input → the exact error, with
//! the field and byte offset it names. Offsets count from the length prefix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "an integration test: a panic is the failure report")]

use smartpos_proto::codec::{Codec, DecodeError, DecodeErrorKind as K, EncodeError, Message, Mti};

const BODY_AT: usize = 13; // LEN 2 + TPDU 5 + header 6

/// LEN + TPDU + header + `body` (hex, spaces ignored).
fn frame(body_hex: &str) -> Vec<u8> {
    let body = hex::decode(body_hex.replace(' ', "")).unwrap();
    let mut out = ((body.len() + 11) as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&[0x60, 0x00, 0x03, 0x00, 0x00, 0x61, 0x31, 0x00, 0x31, 0x00, 0x00]);
    out.extend_from_slice(&body);
    out
}

fn bitmap(fields: &[u8]) -> String {
    let mut b = 0u64;
    for &f in fields {
        b |= 1 << (64 - u32::from(f));
    }
    hex::encode(b.to_be_bytes())
}

fn err(kind: K, field: Option<u8>, offset: usize) -> DecodeError {
    DecodeError { kind, field, offset }
}

#[test]
fn malformed_frames_give_exact_errors() {
    let b11 = bitmap(&[11]);
    let first = BODY_AT + 10; // first field after MTI and bitmap
    let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
        ("empty input", vec![], err(K::Truncated { needed: 2, available: 0 }, None, 0)),
        ("one byte", vec![0x00], err(K::Truncated { needed: 2, available: 1 }, None, 0)),
        ("length above 2048", [&[0x08, 0x01][..], &[0; 2049]].concat(), err(K::FrameTooLong { len: 2049, max: 2048 }, None, 0)),
        ("length announces more than sent", vec![0x00, 0x20, 0x60, 0, 3, 0, 0], err(K::LengthMismatch { announced: 32, actual: 5 }, None, 0)),
        ("length announces less than sent", [frame(&format!("0820 {b11} 000001")), vec![0]].concat(), err(K::LengthMismatch { announced: 24, actual: 25 }, None, 0)),
        (
            "wrong TPDU id",
            {
                let mut f = frame(&format!("0820 {b11} 000001"));
                f[2] = 0x61;
                f
            },
            err(K::BadTpdu { found: 0x61 }, None, 2),
        ),
        ("header cut short", vec![0x00, 0x08, 0x60, 0, 3, 0, 0, 0x61, 0x31, 0x00], err(K::Truncated { needed: 6, available: 3 }, None, 7)),
        ("no MTI", frame(""), err(K::Truncated { needed: 2, available: 0 }, None, BODY_AT)),
        ("non-BCD MTI", frame(&format!("0A20 {b11} 000001")), err(K::BadMti, None, BODY_AT)),
        ("bitmap cut short", frame("0820 0020"), err(K::Truncated { needed: 8, available: 2 }, None, BODY_AT + 2)),
        ("secondary bitmap", frame("0820 8020000000000000 000001"), err(K::SecondaryBitmap, Some(1), BODY_AT + 2)),
        ("field not in the table", frame(&format!("0820 {} 000001", bitmap(&[5]))), err(K::UnknownField, Some(5), BODY_AT + 2)),
        ("non-BCD digit", frame(&format!("0820 {b11} 0000A1")), err(K::NonBcd, Some(11), first + 2)),
        ("fixed field overruns", frame(&format!("0820 {b11} 0000")), err(K::Overrun { needed: 3, available: 2 }, Some(11), first)),
        ("left-aligned pad not 0", frame(&format!("0200 {} 0511", bitmap(&[22]))), err(K::BadPad, Some(22), first + 1)),
        ("right-aligned pad not 0", frame(&format!("0200 {} 1001", bitmap(&[23]))), err(K::BadPad, Some(23), first)),
        ("variable n pad not 0", frame(&format!("0200 {} 0011 000000003505", bitmap(&[60]))), err(K::BadPad, Some(60), first + 7)),
        ("non-BCD length prefix", frame(&format!("0200 {} 1A 6228", bitmap(&[2]))), err(K::BadLengthPrefix, Some(2), first)),
        ("length above the field maximum", frame(&format!("0200 {} 20 62284800000000000180", bitmap(&[2]))), err(K::LengthOverMax { len: 20, max: 19 }, Some(2), first)),
        ("LLL above maximum", frame(&format!("0200 {} 0018 000000000000000000", bitmap(&[60]))), err(K::LengthOverMax { len: 18, max: 17 }, Some(60), first)),
        ("variable field overruns", frame(&format!("0200 {} 0017 0000", bitmap(&[60]))), err(K::Overrun { needed: 9, available: 2 }, Some(60), first + 2)),
        ("length prefix cut short", frame(&format!("0200 {} 00", bitmap(&[60]))), err(K::Overrun { needed: 2, available: 1 }, Some(60), first)),
        ("control byte in an", frame(&format!("0210 {} 3001", bitmap(&[39]))), err(K::BadCharacter { byte: 0x01 }, Some(39), first + 1)),
        ("DEL in ans", frame(&format!("0210 {} 313030303030307F", bitmap(&[41]))), err(K::BadCharacter { byte: 0x7F }, Some(41), first + 7)),
        ("bytes after the last field", frame(&format!("0820 {b11} 000001 00")), err(K::TrailingBytes { count: 1 }, None, first + 3)),
    ];
    let codec = Codec::default();
    for (name, input, want) in cases {
        let got = codec.decode_frame(&input);
        assert_eq!(got.as_ref().err(), Some(&want), "{name}: got {got:?}");
    }
}

#[test]
fn error_messages_name_field_and_offset() {
    assert_eq!(err(K::NonBcd, Some(11), 25).to_string(), "non-BCD nibble in field 11 at byte 25");
    assert_eq!(err(K::FrameTooLong { len: 4000, max: 2048 }, None, 0).to_string(), "frame length 4000 exceeds 2048 at byte 0");
}

#[test]
fn bad_values_are_refused_at_encode_time() {
    let codec = Codec::default();
    let enc = |m: Message| codec.encode_frame(&codec.request(m)).err();
    let base = || Message::new(Mti(200));
    assert_eq!(enc(base().with(11, "12345")), Some(EncodeError::WrongLength { field: 11, len: 5, expected: 6 }));
    assert_eq!(enc(base().with(11, "12345a")), Some(EncodeError::BadCharacter { field: 11, index: 5 }));
    assert_eq!(enc(base().with(2, "62284800000000000180")), Some(EncodeError::TooLong { field: 2, len: 20, max: 19 }));
    assert_eq!(enc(base().with(5, "1")), Some(EncodeError::UnknownField { field: 5 }));
    assert_eq!(enc(base().with(39, "0\u{1}")), Some(EncodeError::BadCharacter { field: 39, index: 1 }));
    assert_eq!(enc(base().with(52, vec![0; 7])), Some(EncodeError::WrongLength { field: 52, len: 7, expected: 8 }));
    assert_eq!(enc(base().with(38, "ABCDEFG")), Some(EncodeError::WrongLength { field: 38, len: 7, expected: 6 }));
    assert_eq!(enc(Message::new(Mti(10000))), Some(EncodeError::BadMti(10000)));
}

#[test]
fn fixed_text_fields_are_space_padded_and_decode_padded() {
    let codec = Codec::default();
    let m = Message::new(Mti(210)).with(38, "A1").with(39, "00");
    let bytes = codec.encode_frame(&codec.request(m)).unwrap();
    let back = codec.decode_frame(&bytes).unwrap().frame.message;
    assert_eq!(back.get(38), Some(&b"A1    "[..]));
    assert_eq!(codec.encode_frame(&codec.request(back)).unwrap(), bytes);
}

#[test]
fn frames_over_the_dialect_limit_are_refused_both_ways() {
    let mut codec = Codec::default();
    codec.framing.max_frame_len = 40;
    let m = Message::new(Mti(200)).with(59, vec![b'a'; 30]);
    let len = 11 + 2 + 8 + 2 + 30;
    assert_eq!(codec.encode_frame(&codec.request(m.clone())).err(), Some(EncodeError::FrameTooLong { len, max: 40 }));
    let big = Codec::default().encode_frame(&Codec::default().request(m)).unwrap();
    assert_eq!(codec.decode_frame(&big).err().map(|e| e.kind), Some(K::FrameTooLong { len, max: 40 }));
    assert_eq!(codec.frame_len([0, 41]).err().map(|e| e.kind), Some(K::FrameTooLong { len: 41, max: 40 }));
}
