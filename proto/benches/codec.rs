//! Pack and unpack the spec's sale request (the golden frame's values), the
//! same work `scripts/bench` times in pyiso8583 for the ratio.

#![allow(clippy::indexing_slicing, reason = "a benchmark over a fixed fixture: a panic is a failed run")]

use criterion::{Criterion, criterion_group, criterion_main};
use smartpos_proto::codec::{Codec, Format, Message, Mti};
use std::hint::black_box;

fn sale_request(codec: &Codec) -> Message {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/golden/messages.toml")).expect("golden values");
    let doc: toml::Value = toml::from_str(&text).expect("TOML");
    let frames = doc["frame"].as_array().expect("frames");
    let sale = frames.iter().find(|f| f["name"].as_str() == Some("sale-request")).expect("sale-request");
    let mut m = Message::new(Mti(sale["mti"].as_str().and_then(|s| s.parse().ok()).expect("MTI")));
    for (k, v) in sale["fields"].as_table().expect("fields") {
        let n: u8 = k.parse().expect("field number");
        let v = v.as_str().expect("string value");
        let value = match codec.table.get(n).expect("field in table").format {
            Format::B => hex::decode(v).expect("hex"),
            _ => v.as_bytes().to_vec(),
        };
        m.set(n, value);
    }
    m.set(64, *b"00000000");
    m
}

fn codec(c: &mut Criterion) {
    let codec = Codec::default();
    let frame = codec.request(sale_request(&codec));
    let bytes = codec.encode_frame(&frame).expect("encodes");
    c.bench_function("sale_request_pack", |b| b.iter(|| codec.encode_frame(black_box(&frame)).expect("encodes")));
    c.bench_function("sale_request_unpack", |b| b.iter(|| codec.decode_frame(black_box(&bytes)).expect("decodes")));
    c.bench_function("sale_request_pack_unpack", |b| {
        b.iter(|| {
            let bytes = codec.encode_frame(black_box(&frame)).expect("encodes");
            codec.decode_frame(&bytes).expect("decodes")
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
