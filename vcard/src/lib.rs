//! # smartpos-vcard
//!
//! Virtual EMV cards (acquirer-protocol.md §7; contactless §10) for the simulated
//! card reader, the engine's tests, and the program that plugs a card into
//! a real pcscd through vpcd.
//!
//! | concept | module |
//! |---|---|
//! | command APDUs and status words | [`apdu`] |
//! | the card's behaviour | [`card`] |
//! | offline data authentication: keys, certificates, signatures (§9) | [`oda`] |
//! | the contactless interface of a dual-interface card (§10, qPBOC) | [`qpboc`] |
//! | `test-cards.toml` (cards, merchants, issuer key) | [`testdata`] |
//! | the card side of vpcd (a virtual card in a real pcscd) | [`vpcd`] |
//!
//! ```
//! use smartpos_vcard::{card::VirtualCard, testdata::TestData};
//! let data = TestData::embedded();
//! let mut card = VirtualCard::new(data.card("default").unwrap(), &data.issuer.imk_ac).unwrap();
//! let fci = card.transmit(b"\x00\xA4\x04\x00\x0E1PAY.SYS.DDF01\x00");
//! assert_eq!(&fci[fci.len() - 2..], &[0x90, 0x00]);
//! ```

#![forbid(unsafe_code)]

pub mod apdu;
pub mod card;
pub mod oda;
pub mod qpboc;
pub mod testdata;
pub mod vpcd;
