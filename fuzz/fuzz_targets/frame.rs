//! Whole frames through the codec: whatever decodes must re-encode to the
//! same bytes, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartpos_proto::codec::Codec;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static CODEC: OnceLock<Codec> = OnceLock::new();
    let codec = CODEC.get_or_init(Codec::default);
    if let Ok(decoded) = codec.decode_frame(data) {
        let again = codec.encode_frame(&decoded.frame).expect("a decoded frame encodes");
        assert_eq!(again, data, "decode → encode changed the bytes");
    }
});
