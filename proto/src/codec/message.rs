//! An ISO 8583 message as values: the MTI and up to 63 data fields.
//!
//! Values are kept in their logical form (ASCII digits for `n`, upper-case
//! hex nibbles for `z`, the text for `an`/`ans`, the bytes for `b`), so a
//! decoded message re-encodes to the same bytes.

use std::fmt;

/// Message type indicator, e.g. `0200` is `Mti(200)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti(pub u16);

impl Mti {
    /// The response MTI of a request (`0200` → `0210`).
    pub const fn response(self) -> Mti {
        Mti(self.0 + 10)
    }
}

impl fmt::Debug for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}
impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// A message: MTI plus fields 2..=64.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub mti: Mti,
    fields: Vec<Option<Vec<u8>>>,
}

impl fmt::Debug for Message {
    /// Field numbers only: values may be secrets (PAN, track 2, PIN block).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message").field("mti", &self.mti).field("fields", &self.field_numbers().collect::<Vec<_>>()).finish()
    }
}

impl Message {
    pub fn new(mti: Mti) -> Self {
        Self { mti, fields: vec![None; 65] }
    }

    /// Sets field `n` (2..=64). Out-of-range numbers are ignored by design:
    /// callers pass constants, and the encoder would refuse them anyway.
    pub fn set(&mut self, n: u8, value: impl Into<Vec<u8>>) -> &mut Self {
        if (2..=64).contains(&n)
            && let Some(slot) = self.fields.get_mut(usize::from(n))
        {
            *slot = Some(value.into());
        }
        self
    }

    /// Builder form of [`Message::set`].
    pub fn with(mut self, n: u8, value: impl Into<Vec<u8>>) -> Self {
        self.set(n, value);
        self
    }

    pub fn remove(&mut self, n: u8) -> Option<Vec<u8>> {
        self.fields.get_mut(usize::from(n)).and_then(Option::take)
    }

    pub fn get(&self, n: u8) -> Option<&[u8]> {
        self.fields.get(usize::from(n)).and_then(|v| v.as_deref())
    }

    /// Field `n` as text (every format but `b` is ASCII).
    pub fn get_str(&self, n: u8) -> Option<&str> {
        self.get(n).and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn has(&self, n: u8) -> bool {
        self.get(n).is_some()
    }

    /// Present field numbers in ascending order.
    pub fn field_numbers(&self) -> impl Iterator<Item = u8> + '_ {
        self.fields.iter().enumerate().filter(|(_, v)| v.is_some()).filter_map(|(i, _)| u8::try_from(i).ok())
    }
}
