//! # smartpos-proto
//!
//! The acquirer protocol of smartpos (`shared/spec/acquirer-protocol.md`),
//! free of I/O so that the daemon, the hardware layer, the virtual cards and
//! the acquirer simulator all share one implementation.
//!
//! | concept | module |
//! |---|---|
//! | civil time for fields 12/13/15 and RFC 3339 | [`clock`] |
//! | ISO 8583 frames and messages, table-driven | [`codec`] |
//! | the field table of `smartpos-1` | [`codec::field_table`] |
//! | a dialect: table + framing + MAC, as data | [`dialect`] |
//! | the exchanges of §3 as a table | [`exchange`] |
//! | structured fields (48, 54, 59, 60, 61, 62) | [`fields`] |
//! | response codes and categories of §5 | [`response_code`] |
//! | BER-TLV (field 55, card records) | [`tlv`] |
//! | a customer's payment code (§11): checks and masking | [`payment_code`] |
//! | keys, MAC, PIN block, track 2, RSA, EMV cryptograms | [`crypto`] |
//!
//! ## Basic usage
//!
//! ```
//! use smartpos_proto::codec::{Codec, Message, Mti};
//! let codec = Codec::default();
//! let msg = Message::new(Mti(820)).with(11, "000001").with(41, "10000001")
//!     .with(42, "898110000000001").with(60, "00000001002");
//! let bytes = codec.encode_frame(&codec.request(msg.clone())).unwrap();
//! assert_eq!(codec.decode_frame(&bytes).unwrap().frame.message, msg);
//! ```

#![forbid(unsafe_code)]

pub mod clock;
pub mod codec;
pub mod crypto;
pub mod dialect;
pub mod exchange;
pub mod fields;
pub mod payment_code;
pub mod response_code;
pub mod tlv;

pub use dialect::Dialect;
