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
///
/// The values live one after another in a single buffer, each field a range
/// of it, and a bitmap says which are present: decoding a frame is then one
/// allocation, not one per field (the codec's hot path, docs/BENCHMARKS.md).
#[derive(Clone)]
pub struct Message {
    pub mti: Mti,
    present: u64,
    /// `(start, len)` in `data` per field number; meaningful only when present.
    spans: [(u32, u32); 65],
    data: Vec<u8>,
}

impl fmt::Debug for Message {
    /// Field numbers only: values may be secrets (PAN, track 2, PIN block).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message").field("mti", &self.mti).field("fields", &self.field_numbers().collect::<Vec<_>>()).finish()
    }
}

impl PartialEq for Message {
    /// Same MTI and the same value in every field (replaced values leave
    /// unused bytes in the buffer; they do not count).
    fn eq(&self, other: &Self) -> bool {
        self.mti == other.mti && self.present == other.present && self.field_numbers().all(|n| self.get(n) == other.get(n))
    }
}
impl Eq for Message {}

/// The bit of field `n` (2..=64) in [`Message::present`]'s order: field 2 lowest.
const fn bit(n: u8) -> u64 {
    1u64 << (n as u32 % 64)
}

impl Message {
    pub fn new(mti: Mti) -> Self {
        Self::with_capacity(mti, 0)
    }

    /// A message whose values will take about `bytes` bytes in all.
    pub fn with_capacity(mti: Mti, bytes: usize) -> Self {
        Self { mti, present: 0, spans: [(0, 0); 65], data: Vec::with_capacity(bytes) }
    }

    /// Room for `bytes` more bytes of values.
    pub(crate) fn reserve(&mut self, bytes: usize) {
        self.data.reserve(bytes);
    }

    /// Sets field `n` (2..=64). Out-of-range numbers are ignored by design:
    /// callers pass constants, and the encoder would refuse them anyway.
    pub fn set(&mut self, n: u8, value: impl AsRef<[u8]>) -> &mut Self {
        let value = value.as_ref();
        self.set_with(n, |out| out.extend_from_slice(value));
        self
    }

    /// Sets field `n` to what `write` appends to the message's buffer (the
    /// decoder writes values in place this way). Returns what `write` did.
    pub(crate) fn set_with<T>(&mut self, n: u8, write: impl FnOnce(&mut Vec<u8>) -> T) -> T {
        let start = self.data.len();
        let result = write(&mut self.data);
        if !(2..=64).contains(&n) {
            self.data.truncate(start);
            return result;
        }
        let (Ok(s), Ok(len)) = (u32::try_from(start), u32::try_from(self.data.len() - start)) else {
            self.data.truncate(start);
            return result;
        };
        if let Some(slot) = self.spans.get_mut(usize::from(n)) {
            *slot = (s, len);
            self.present |= bit(n);
        }
        result
    }

    /// Builder form of [`Message::set`].
    pub fn with(mut self, n: u8, value: impl AsRef<[u8]>) -> Self {
        self.set(n, value);
        self
    }

    pub fn remove(&mut self, n: u8) -> Option<Vec<u8>> {
        let value = self.get(n).map(<[u8]>::to_vec);
        if (2..=64).contains(&n) {
            self.present &= !bit(n);
        }
        value
    }

    pub fn get(&self, n: u8) -> Option<&[u8]> {
        if !(2..=64).contains(&n) || self.present & bit(n) == 0 {
            return None;
        }
        let &(start, len) = self.spans.get(usize::from(n))?;
        let start = start as usize;
        self.data.get(start..start + len as usize)
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
        // Field 64 is bit 0 (64 % 64); it comes last.
        let low = self.present & !1;
        let ones = std::iter::successors((low != 0).then_some(low), |&rest| {
            let next = rest & (rest - 1);
            (next != 0).then_some(next)
        })
        .map(|rest| rest.trailing_zeros() as u8);
        ones.chain((self.present & 1 != 0).then_some(64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_back_in_order_with_64_last() {
        let m = Message::new(Mti(200)).with(64, [1u8; 8]).with(3, "000000").with(2, "6228").with(63, "x");
        assert_eq!(m.field_numbers().collect::<Vec<_>>(), [2, 3, 63, 64]);
        assert_eq!(m.get(2), Some(&b"6228"[..]));
        assert_eq!(m.get(1), None);
        assert_eq!(m.get(65), None);
    }

    #[test]
    fn a_replaced_or_removed_value_is_gone_and_equality_ignores_leftovers() {
        let mut a = Message::new(Mti(200)).with(4, "000000000100");
        a.set(4, "000000000200");
        assert_eq!(a.get_str(4), Some("000000000200"));
        let b = Message::new(Mti(200)).with(4, "000000000200");
        assert_eq!(a, b, "the first value left bytes in the buffer; they do not count");
        assert_eq!(a.remove(4).as_deref(), Some(&b"000000000200"[..]));
        assert!(!a.has(4) && a.remove(4).is_none());
        assert_ne!(a, b);
        a.set(0, "x").set(1, "x").set(65, "x");
        assert_eq!(a.field_numbers().count(), 0, "numbers outside 2..=64 are ignored");
    }
}
