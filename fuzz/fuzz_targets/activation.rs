//! Field 62 of activation: the reply's TLVs parse or fail with a
//! `FieldError`; what parses re-encodes to something that parses to the same
//! reply; the request round-trips; unwrapping a hostile "encrypted TMK"
//! fails cleanly (RSA-OAEP and its check value), never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smartpos_proto::crypto::activation::TerminalKeyPair;
use smartpos_proto::fields::activation62::{ActivationReply, ActivationRequest};
use std::sync::OnceLock;

static PAIR: OnceLock<TerminalKeyPair> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = ActivationReply::parse(data) {
        let again = ActivationReply::parse(&reply.encode()).expect("an encoded reply parses");
        assert_eq!(again, reply, "reply parse → encode → parse changed it");
        let pair = PAIR.get_or_init(|| TerminalKeyPair::generate().expect("key pair"));
        let _ = pair.unwrap_tmk(&reply.encrypted_tmk, &reply.tmk_check);
    }
    if let Ok(request) = ActivationRequest::parse(data) {
        let again = ActivationRequest::parse(&request.encode()).expect("an encoded request parses");
        assert_eq!(again, request, "request parse → encode → parse changed it");
    }
});
