//! ISO 9564 format 0 PIN blocks, encrypted under the PIK (§4).
//!
//! The clear PIN and the clear PIN block live only in zeroizing buffers
//! inside this function; what leaves is the encrypted block.

use super::key::{CryptoError, Key};
use zeroize::Zeroizing;

/// The PAN field of format 0: `0000` + the 12 rightmost PAN digits excluding
/// the check digit.
pub fn pan_field(pan: &[u8]) -> Result<[u8; 8], CryptoError> {
    if pan.len() < 13 || pan.len() > 19 || !pan.iter().all(u8::is_ascii_digit) {
        return Err(CryptoError::Pan);
    }
    let digits = pan.get(pan.len() - 13..pan.len() - 1).ok_or(CryptoError::Pan)?;
    let mut out = [0u8; 8];
    for (i, pair) in digits.chunks(2).enumerate() {
        if let (Some(slot), [a, b]) = (out.get_mut(2 + i), pair) {
            *slot = (a - b'0') << 4 | (b - b'0');
        }
    }
    Ok(out)
}

/// The clear format 0 block (PIN field XOR PAN field), zeroized on drop.
pub fn clear_format0(pin: &[u8], pan: &[u8]) -> Result<Zeroizing<[u8; 8]>, CryptoError> {
    if !(4..=12).contains(&pin.len()) {
        return Err(CryptoError::Pin("length must be 4 to 12 digits"));
    }
    if !pin.iter().all(u8::is_ascii_digit) {
        return Err(CryptoError::Pin("digits only"));
    }
    let mut nibbles = Zeroizing::new([0xFu8; 16]);
    // Control 0, the length (checked above: at most 12, one nibble), the digits.
    let head = [0, pin.len() as u8].into_iter().chain(pin.iter().map(|d| d - b'0'));
    for (slot, n) in nibbles.iter_mut().zip(head) {
        *slot = n;
    }
    let pan_block = pan_field(pan)?;
    let mut block = Zeroizing::new([0u8; 8]);
    for (i, out) in block.iter_mut().enumerate() {
        let hi = nibbles.get(2 * i).copied().unwrap_or(0xF);
        let lo = nibbles.get(2 * i + 1).copied().unwrap_or(0xF);
        *out = (hi << 4 | lo) ^ pan_block.get(i).copied().unwrap_or(0);
    }
    Ok(block)
}

/// The field 52 value: format 0 block 3DES-encrypted under `pik`.
pub fn encrypt_format0(pik: &Key, pin: &[u8], pan: &[u8]) -> Result<[u8; 8], CryptoError> {
    let clear = clear_format0(pin, pan)?;
    Ok(pik.encrypt_block(*clear))
}

/// The host side: decrypts field 52 and recovers the PIN digits. Any block
/// that is not a well-formed format 0 block is an error (the host answers
/// `99`).
pub fn decrypt_format0(pik: &Key, block: &[u8], pan: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let block: [u8; 8] = block.try_into().map_err(|_| CryptoError::Pin("PIN block is not 8 bytes"))?;
    let clear = Zeroizing::new(pik.decrypt_block(block));
    let pan_block = pan_field(pan)?;
    let mut nibbles = Zeroizing::new(Vec::with_capacity(16));
    for (c, p) in clear.iter().zip(pan_block) {
        let b = c ^ p;
        nibbles.push(b >> 4);
        nibbles.push(b & 0xF);
    }
    let (control, len) = (nibbles.first().copied().unwrap_or(0xF), usize::from(nibbles.get(1).copied().unwrap_or(0)));
    if control != 0 || !(4..=12).contains(&len) {
        return Err(CryptoError::Pin("not a format 0 block"));
    }
    let digits = nibbles.get(2..2 + len).ok_or(CryptoError::Pin("not a format 0 block"))?;
    let fill = nibbles.get(2 + len..).unwrap_or_default();
    if digits.iter().any(|&d| d > 9) || fill.iter().any(|&f| f != 0xF) {
        return Err(CryptoError::Pin("not a format 0 block"));
    }
    Ok(Zeroizing::new(digits.iter().map(|d| b'0' + d).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_field_takes_twelve_digits_before_the_check_digit() {
        assert_eq!(pan_field(b"6228480000000000018").unwrap(), [0, 0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(pan_field(b"4761730000000011").unwrap(), [0, 0, 0x17, 0x30, 0x00, 0x00, 0x00, 0x01]);
        assert!(pan_field(b"12345").is_err());
    }

    #[test]
    fn round_trip_and_refusals() {
        let pik = Key::generate(16).unwrap();
        let block = encrypt_format0(&pik, b"123456", b"6228480000000000018").unwrap();
        assert_eq!(&*decrypt_format0(&pik, &block, b"6228480000000000018").unwrap(), b"123456");
        assert!(decrypt_format0(&pik, &[0u8; 8], b"6228480000000000018").is_err());
        assert!(encrypt_format0(&pik, b"12", b"6228480000000000018").is_err());
        assert!(encrypt_format0(&pik, b"12a4", b"6228480000000000018").is_err());
    }
}
