//! BER-TLV: whatever parses must encode to the same bytes; nested parsing
//! and search must not panic or recurse without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartpos_proto::tlv;

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = tlv::parse(data) {
        assert_eq!(tlv::encode(&items), data, "parse → encode changed the bytes");
    }
    let _ = tlv::parse_tree(data);
    let _ = tlv::find(data, 0x9F26);
    let _ = tlv::parse_dol(data);
});
