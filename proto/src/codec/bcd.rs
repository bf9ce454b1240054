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

fn nibble_of(c: u8, hex: bool) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'=' if hex => Some(0xD),
        b'A'..=b'F' if hex => Some(c - b'A' + 10),
        b'a'..=b'f' if hex => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Packs ASCII digits (or, with `hex`, hex digits and `=` as `D`) into
/// nibbles, appending to `out`.
pub fn pack(value: &[u8], align: Align, hex: bool, out: &mut Vec<u8>) -> Result<(), NibbleError> {
    let odd = value.len() % 2 == 1;
    let mut nibbles = value.iter().enumerate().map(|(i, &c)| nibble_of(c, hex).ok_or(NibbleError::BadChar(i)));
    let mut pending: Option<u8> = if odd && align == Align::Right { Some(0) } else { None };
    for n in &mut nibbles {
        let n = n?;
        match pending.take() {
            Some(hi) => out.push(hi << 4 | n),
            None => pending = Some(n),
        }
    }
    if let Some(hi) = pending {
        out.push(hi << 4);
    }
    Ok(())
}

/// Unpacks `digits` nibbles from `bytes` (which must be exactly
/// `packed_len(digits)` long). Numeric mode (`hex == false`) refuses nibbles
/// above 9; hex mode yields upper-case hex. The pad nibble must be 0.
pub fn unpack(bytes: &[u8], digits: usize, align: Align, hex: bool) -> Result<Vec<u8>, NibbleError> {
    debug_assert_eq!(bytes.len(), packed_len(digits));
    let odd = digits % 2 == 1;
    let mut out = Vec::with_capacity(digits);
    let last = bytes.len().saturating_sub(1);
    for (i, &b) in bytes.iter().enumerate() {
        for (pos, n) in [(0, b >> 4), (1, b & 0x0F)] {
            let is_pad = odd && ((align == Align::Right && i == 0 && pos == 0) || (align == Align::Left && i == last && pos == 1));
            if is_pad {
                if n != 0 {
                    return Err(NibbleError::BadPad(i));
                }
                continue;
            }
            if n > 9 && !hex {
                return Err(NibbleError::BadNibble(i));
            }
            out.push(if n < 10 { b'0' + n } else { b'A' + n - 10 });
        }
    }
    Ok(out)
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
