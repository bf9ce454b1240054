//! One row of a field table: how a single ISO 8583 field is written.
//!
//! A field is described by three independent choices — the interpreter
//! (character class and how it packs), the length prefix and, for nibble
//! encodings, the alignment — in the manner of jPOS packagers. The codec is
//! an interpreter over these rows; nothing about a specific field lives in
//! code.

use super::bcd::Align;
use serde::{Deserialize, Serialize};

/// How a field's value is represented and packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Numeric digits, packed BCD. Length counts digits.
    N,
    /// Track data: nibbles, `=` written as `D`. The encrypted part of track 2
    /// is arbitrary nibbles, so values are hex strings. Length counts nibbles.
    Z,
    /// Alphanumeric ASCII (letters, digits, space). Length counts bytes.
    An,
    /// Alphanumeric and special ASCII (0x20..=0x7E). Length counts bytes.
    Ans,
    /// Raw bytes. Length counts bytes.
    B,
}

impl Format {
    /// Whether the value travels as nibbles (two per byte).
    pub const fn is_nibbles(self) -> bool {
        matches!(self, Format::N | Format::Z)
    }

    /// Whether every byte of `value` may appear in this format. The check is
    /// written without an early exit (the codec's hot loop: it vectorises);
    /// find the culprit with [`Format::allows`] only when this says no.
    pub fn allows_all(self, value: &[u8]) -> bool {
        match self {
            Format::N => value.iter().fold(true, |ok, c| ok & c.is_ascii_digit()),
            Format::Z => value.iter().fold(true, |ok, &c| ok & (c.is_ascii_hexdigit() | (c == b'='))),
            Format::An => value.iter().fold(true, |ok, &c| ok & (c.is_ascii_alphanumeric() | (c == b' '))),
            Format::Ans => value.iter().fold(true, |ok, &c| ok & (0x20..=0x7E).contains(&c)),
            Format::B => true,
        }
    }

    /// Whether `c` may appear in a value of this format (for `B`: any byte).
    pub fn allows(self, c: u8) -> bool {
        match self {
            Format::N => c.is_ascii_digit(),
            Format::Z => c.is_ascii_hexdigit() || c == b'=',
            Format::An => c.is_ascii_alphanumeric() || c == b' ',
            Format::Ans => (0x20..=0x7E).contains(&c),
            Format::B => true,
        }
    }
}

/// The length prefix of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefix {
    /// Fixed length: no prefix, the length is `max`.
    Fixed,
    /// One BCD byte (`LL`, at most 99).
    Ll,
    /// Two BCD bytes (`0L LL`, at most 999).
    Lll,
}

impl Prefix {
    /// Bytes the prefix takes on the wire.
    pub const fn width(self) -> usize {
        match self {
            Prefix::Fixed => 0,
            Prefix::Ll => 1,
            Prefix::Lll => 2,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Field number, 2..=64.
    pub number: u8,
    /// Name, for errors and audits.
    pub name: String,
    pub format: Format,
    pub prefix: Prefix,
    /// Exact length for `Fixed`, maximum otherwise (digits or bytes, see [`Format`]).
    pub max: usize,
    /// Where the pad nibble goes for an odd number of nibbles.
    #[serde(default = "default_align")]
    pub align: Align,
}

fn default_align() -> Align {
    Align::Right
}

impl FieldSpec {
    /// Checks that the row is one the interpreter can run.
    pub fn validate(&self) -> Result<(), String> {
        if !(2..=64).contains(&self.number) {
            return Err(format!("field number {} outside 2..=64", self.number));
        }
        let limit = match self.prefix {
            Prefix::Fixed => usize::MAX,
            Prefix::Ll => 99,
            Prefix::Lll => 999,
        };
        if self.max == 0 || self.max > limit {
            return Err(format!("field {}: max {} does not fit its prefix", self.number, self.max));
        }
        Ok(())
    }
}
