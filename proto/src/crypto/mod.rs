//! The terminal's cryptography (acquirer-protocol.md §4), on RustCrypto
//! ciphers: DES/3DES keys and check values ([`key`]), the field 64 MAC
//! ([`mac`]), PIN blocks ([`pin_block`]), field 35 encryption ([`track2`]),
//! the activation key pair ([`activation`]) and the issuer-side EMV
//! cryptograms of the virtual cards and simulator ([`emv`]), and offline
//! data authentication's certificate recovery and signature checks ([`oda`]).

pub mod activation;
pub mod emv;
pub mod key;
pub mod mac;
pub mod oda;
pub mod pin_block;
pub mod track2;

pub use key::{CryptoError, Key};
pub use mac::MacAlgorithm;
