//! Packed BCD and nibble strings.
//!
//! ISO 8583 numerics (`n`) and track data (`z`) travel as nibbles, two per
//! byte. A value with an odd number of digits needs one pad nibble, whose
//! place (leading or trailing) is the field's alignment. Every function here
//! is total: bad input is an error value, never a panic.

/// Where the pad nibble of an odd-length value goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Value right-aligned, pad nibble first (`123` → `01 23`).
    Right,
    /// Value left-aligned, pad nibble last (`051` → `05 10`).
    Left,
}

/// Why a nibble string could not be packed or unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NibbleError {
    /// A character that is not allowed (index into the value).
    BadChar(usize),
    /// A nibble that is not allowed (index of the byte holding it).
    BadNibble(usize),
    /// The pad nibble is not `0` (index of the byte holding it).
    BadPad(usize),
}

/// Number of bytes needed for `digits` nibbles.
pub const fn packed_len(digits: usize) -> usize {
    digits.div_ceil(2)
}

const fn nibble_of(c: u8, hex: bool) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'=' if hex => Some(0xD),
        b'A'..=b'F' if hex => Some(c - b'A' + 10),
        b'a'..=b'f' if hex => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Each character's nibble: `DIGITS` for `n`, `HEX` for `z` (hex digits
/// and `=` as `D`); 0xFF where the character is not allowed.
#[allow(clippy::indexing_slicing, reason = "const context: c < 256 by the loop bound; a bad index would fail compilation")]
const fn nibble_table(hex: bool) -> [u8; 256] {
    let mut t = [0xFFu8; 256];
    let mut c = 0;
    while c < 256 {
        if let Some(n) = nibble_of(c as u8, hex) {
            t[c] = n;
        }
        c += 1;
    }
    t
}
const DIGITS: [u8; 256] = nibble_table(false);
const HEX: [u8; 256] = nibble_table(true);

/// Packs ASCII digits (or, with `hex`, hex digits and `=` as `D`) into
/// nibbles, appending to `out`. A bad character is `BadChar(its index)`.
pub fn pack(value: &[u8], align: Align, hex: bool, out: &mut Vec<u8>) -> Result<(), NibbleError> {
    let table = if hex { &HEX } else { &DIGITS };
    // A u8 always indexes a 256-entry table: the compiler drops the bound check.
    let nib = |c: &u8| table.get(usize::from(*c)).copied().unwrap_or(0xFF);
    // One pass without early exit to check (it vectorises), the index only on failure.
    if value.iter().fold(0u8, |bad, c| bad | (nib(c) & 0xF0)) != 0 {
        let i = value.iter().position(|c| nib(c) == 0xFF).unwrap_or_default();
        return Err(NibbleError::BadChar(i));
    }
    out.reserve(packed_len(value.len()));
    // A right-aligned odd value starts with its pad nibble (a `0` before the
    // first character); a left-aligned one ends with it.
    let (head, rest) = match value.split_first() {
        Some((first, rest)) if value.len() % 2 == 1 && align == Align::Right => (Some(nib(first)), rest),
        _ => (None, value),
    };
    out.extend(head);
    let pairs = rest.chunks_exact(2);
    let tail = pairs.remainder().first().map(|c| nib(c) << 4);
    out.extend(pairs.map(|p| match p {
        [a, b] => nib(a) << 4 | nib(b),
        _ => 0,
    }));
    out.extend(tail);
    Ok(())
}

/// Unpacks `digits` nibbles from `bytes` (which must be exactly
/// `packed_len(digits)` long). Numeric mode (`hex == false`) refuses nibbles
/// above 9; hex mode yields upper-case hex. The pad nibble must be 0.
pub fn unpack(bytes: &[u8], digits: usize, align: Align, hex: bool) -> Result<Vec<u8>, NibbleError> {
    let mut out = Vec::with_capacity(digits);
    unpack_into(bytes, digits, align, hex, &mut out)?;
    Ok(out)
}

/// Each byte as its two characters (upper-case hex; digits for BCD).
#[allow(clippy::indexing_slicing, reason = "const context: b < 256 and nibbles < 16; a bad index would fail compilation")]
const PAIRS: [[u8; 2]; 256] = {
    const DIGIT: &[u8; 16] = b"0123456789ABCDEF";
    let mut t = [[0u8; 2]; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = [DIGIT[b >> 4], DIGIT[b & 0x0F]];
        b += 1;
    }
    t
};

/// [`unpack`], appending to `out` (the decoder writes into the message's buffer).
pub fn unpack_into(bytes: &[u8], digits: usize, align: Align, hex: bool, out: &mut Vec<u8>) -> Result<(), NibbleError> {
    debug_assert_eq!(bytes.len(), packed_len(digits));
    let odd = digits % 2 == 1;
    let (pad_first, pad_last) = (odd && align == Align::Right, odd && align == Align::Left);
    let last = bytes.len().saturating_sub(1);
    for (i, &b) in bytes.iter().enumerate() {
        let (hi, lo) = (b >> 4, b & 0x0F);
        let (pad_hi, pad_lo) = (pad_first && i == 0, pad_last && i == last);
        if !hex && ((hi > 9 && !pad_hi) || (lo > 9 && !pad_lo)) {
            return Err(NibbleError::BadNibble(i));
        }
        if (pad_hi && hi != 0) || (pad_lo && lo != 0) {
            return Err(NibbleError::BadPad(i));
        }
    }
    // Checked: now the characters, two a byte, the pad nibble left out.
    let start = out.len();
    out.extend(bytes.iter().flat_map(|&b| PAIRS.get(usize::from(b)).copied().unwrap_or_default()));
    if pad_first {
        out.remove(start);
    } else if pad_last {
        out.pop();
    }
    Ok(())
}

/// Packs a length prefix of `width` bytes (1 = `LL`, 2 = `LLL`) as BCD.
/// Values beyond the width keep only their low digits; callers check
/// lengths against the field's maximum first.
pub fn pack_len(len: usize, width: usize, out: &mut Vec<u8>) {
    for i in (0..width).rev() {
        let pair = (len / 100usize.pow(i as u32)) % 100;
        out.push(((pair / 10) << 4 | (pair % 10)) as u8);
    }
}

/// Reads a BCD length prefix. `None` for a non-BCD nibble.
pub fn unpack_len(bytes: &[u8]) -> Option<usize> {
    bytes.iter().try_fold(0usize, |acc, &b| {
        let (hi, lo) = (b >> 4, b & 0x0F);
        (hi <= 9 && lo <= 9).then(|| acc * 100 + usize::from(hi) * 10 + usize::from(lo))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(v: &str, a: Align, hex: bool) -> Vec<u8> {
        let mut out = Vec::new();
        pack(v.as_bytes(), a, hex, &mut out).unwrap();
        out
    }

    #[test]
    fn alignment_rules_of_the_spec() {
        assert_eq!(packed("051", Align::Left, false), [0x05, 0x10]);
        assert_eq!(packed("123", Align::Right, false), [0x01, 0x23]);
        assert_eq!(packed("1234", Align::Left, false), [0x12, 0x34]);
        assert_eq!(packed("62=1", Align::Left, true), [0x62, 0xD1]);
    }

    #[test]
    fn unpack_refuses_what_pack_would_not_write() {
        assert_eq!(unpack(&[0x1A], 2, Align::Right, false), Err(NibbleError::BadNibble(0)));
        assert_eq!(unpack(&[0x11, 0x23], 3, Align::Right, false), Err(NibbleError::BadPad(0)));
        assert_eq!(unpack(&[0x05, 0x11], 3, Align::Left, false), Err(NibbleError::BadPad(1)));
        assert_eq!(unpack(&[0x05, 0x10], 3, Align::Left, false).unwrap(), b"051");
        assert_eq!(unpack(&[0x6D, 0xA0], 3, Align::Left, true).unwrap(), b"6DA");
    }

    #[test]
    fn lengths() {
        let mut v = Vec::new();
        pack_len(13, 2, &mut v);
        assert_eq!(v, [0x00, 0x13]);
        assert_eq!(unpack_len(&[0x01, 0x23]), Some(123));
        assert_eq!(unpack_len(&[0x0A]), None);
    }
}
