//! Round-trip properties of the codec over every field type of the table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, reason = "an integration test: a panic is the failure report")]

use proptest::prelude::*;
use smartpos_proto::codec::{Codec, FieldSpec, Format, Frame, Message, Mti, Prefix};

fn value_for(spec: &FieldSpec) -> BoxedStrategy<Vec<u8>> {
    let len = match spec.prefix {
        Prefix::Fixed => (spec.max..=spec.max).boxed(),
        _ => (0..=spec.max).boxed(),
    };
    let chars: BoxedStrategy<u8> = match spec.format {
        Format::N => (b'0'..=b'9').boxed(),
        Format::Z => prop::sample::select(b"0123456789ABCDEF".to_vec()).boxed(),
        Format::An => prop::sample::select(b"ABCXYZabcxyz0123456789 ".to_vec()).boxed(),
        Format::Ans => (0x20u8..=0x7E).boxed(),
        Format::B => any::<u8>().boxed(),
    };
    len.prop_flat_map(move |n| prop::collection::vec(chars.clone(), n)).boxed()
}

/// One field's value, present or not.
type FieldValue = BoxedStrategy<Option<(u8, Vec<u8>)>>;

fn message() -> impl Strategy<Value = Message> {
    let table = Codec::default().table;
    let specs: Vec<FieldSpec> = table.iter().cloned().collect();
    let per_field: Vec<FieldValue> = specs
        .iter()
        .map(|s| {
            let n = s.number;
            prop::option::weighted(0.4, value_for(s).prop_map(move |v| (n, v))).boxed()
        })
        .collect();
    (0u16..=9999, per_field).prop_map(|(mti, fields)| {
        let mut m = Message::new(Mti(mti));
        for (n, v) in fields.into_iter().flatten() {
            m.set(n, v);
        }
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn encode_then_decode_gives_the_message_back(m in message()) {
        let codec = Codec::default();
        let frame = codec.request(m);
        match codec.encode_frame(&frame) {
            Ok(bytes) => {
                let decoded = codec.decode_frame(&bytes).unwrap();
                prop_assert_eq!(&decoded.frame, &frame);
                prop_assert_eq!(codec.encode_frame(&decoded.frame).unwrap(), bytes);
            }
            // Random messages with every field at its maximum can exceed 2048 bytes.
            Err(e) => { let too_long = matches!(e, smartpos_proto::codec::EncodeError::FrameTooLong { .. }); prop_assert!(too_long, "{:?}", e) }
        }
    }

    #[test]
    fn anything_that_decodes_re_encodes_to_the_same_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let codec = Codec::default();
        if let Ok(d) = codec.decode_frame(&bytes) {
            prop_assert_eq!(codec.encode_frame(&d.frame).unwrap(), bytes);
        }
    }

    #[test]
    fn damaged_valid_frames_never_panic(m in message(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let codec = Codec::default();
        if let Ok(mut bytes) = codec.encode_frame(&codec.request(m)) {
            let i = at.index(bytes.len());
            bytes[i] = byte;
            for candidate in [bytes.clone(), bytes[..cut.index(bytes.len())].to_vec()] {
                if let Ok(d) = codec.decode_frame(&candidate) {
                    prop_assert_eq!(codec.encode_frame(&d.frame).unwrap(), candidate);
                }
            }
        }
    }

    #[test]
    fn mac_covers_every_byte_from_mti_to_field_63(m in message(), flip in any::<prop::sample::Index>()) {
        let codec = Codec::default();
        let mak = smartpos_proto::crypto::Key::new(&[0x3D, 0x8F, 0x1A, 0x2B, 0x4C, 0x5E, 0x6D, 0x7F]).unwrap();
        let alg = smartpos_proto::crypto::MacAlgorithm::CupEcb;
        let frame = Frame { message: m, ..codec.request(Message::new(Mti(0))) };
        if let Ok(bytes) = codec.encode_frame_with_mac(&frame, |mab| alg.compute(&mak, mab).unwrap()) {
            let d = codec.decode_frame(&bytes).unwrap();
            prop_assert!(alg.verify(&mak, d.mac_block.as_ref().unwrap(), d.frame.message.get(64).unwrap()).unwrap());
            let body_start = codec.body_offset();
            let i = body_start + flip.index(bytes.len() - 8 - body_start);
            let mut mab = d.mac_block.clone().unwrap();
            mab[i - body_start] ^= 0x01;
            prop_assert!(!alg.verify(&mak, &mab, d.frame.message.get(64).unwrap()).unwrap());
        }
    }
}
