//! Track 2 equivalent data for field 35, encrypted under the TDK (§4).
//!
//! The digits (with `=` as `D`) are packed, padded with `0` to whole bytes,
//! and the 8 bytes that end at the second-to-last byte are replaced by
//! their 3DES encryption. The result travels as a `z` nibble string whose
//! length is the clear digit count.

use super::key::{CryptoError, Key};
use zeroize::Zeroizing;

/// Normalises a track 2 string: tag 57 as hex (trailing `F` pad dropped),
/// `=` written as `D`, upper case. Refuses anything but digits and one `D`.
pub fn normalise(track2: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut out = Zeroizing::new(Vec::with_capacity(track2.len()));
    for &c in track2 {
        out.push(match c {
            b'=' | b'd' => b'D',
            c => c.to_ascii_uppercase(),
        });
    }
    while out.last() == Some(&b'F') {
        out.pop();
    }
    if out.iter().filter(|&&c| c == b'D').count() != 1 || !out.iter().all(|c| c.is_ascii_digit() || *c == b'D') {
        return Err(CryptoError::Track2("expected digits with one separator"));
    }
    Ok(out)
}

fn pack(nibbles: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(nibbles.len().div_ceil(2)));
    for pair in nibbles.chunks(2) {
        let n = |c: u8| char::from(c).to_digit(16).map(|d| d as u8).ok_or(CryptoError::Track2("not a hex digit"));
        let hi = n(pair.first().copied().unwrap_or(b'0'))?;
        let lo = n(pair.get(1).copied().unwrap_or(b'0'))?;
        bytes.push(hi << 4 | lo);
    }
    Ok(bytes)
}

fn transform(tdk: &Key, nibbles: &[u8], encrypt: bool) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut bytes = pack(nibbles)?;
    if bytes.len() < 9 {
        return Err(CryptoError::Track2("shorter than 9 packed bytes"));
    }
    let end = bytes.len() - 1;
    let tdb: [u8; 8] = bytes.get(end - 8..end).and_then(|s| s.try_into().ok()).ok_or(CryptoError::Track2("length"))?;
    let out = if encrypt { tdk.encrypt_block(tdb) } else { tdk.decrypt_block(tdb) };
    if let Some(slot) = bytes.get_mut(end - 8..end) {
        slot.copy_from_slice(&out);
    }
    let mut hex = Zeroizing::new(hex::encode_upper(&*bytes).into_bytes());
    hex.truncate(nibbles.len());
    Ok(hex)
}

/// Field 35 value (upper-case hex nibbles) for clear track 2 data.
pub fn encrypt(tdk: &Key, track2: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let clear = normalise(track2)?;
    transform(tdk, &clear, true).map(|z| z.to_vec())
}

/// The host side: clear track 2 (`D` as separator) from a field 35 value.
pub fn decrypt(tdk: &Key, field35: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let clear = transform(tdk, field35, false)?;
    normalise(&clear)
}

/// PAN and expiry (YYMM) from clear track 2.
pub fn pan_and_expiry(track2: &[u8]) -> Option<(&[u8], &[u8])> {
    let sep = track2.iter().position(|&c| c == b'D' || c == b'=')?;
    Some((track2.get(..sep)?, track2.get(sep + 1..sep + 5)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_length_and_clear_ends() {
        let tdk = Key::generate(16).unwrap();
        let t2 = b"6228480000000000018D30122200000000000F";
        let enc = encrypt(&tdk, t2).unwrap();
        assert_eq!(enc.len(), 37);
        assert_eq!(&enc[..6], b"622848"); // bytes before the encrypted block stay clear
        assert_eq!(&*decrypt(&tdk, &enc).unwrap(), &t2[..37]);
        let (pan, exp) = pan_and_expiry(&t2[..37]).unwrap();
        assert_eq!((pan, exp), (&b"6228480000000000018"[..], &b"3012"[..]));
    }

    #[test]
    fn short_or_malformed_tracks_are_refused() {
        let tdk = Key::generate(16).unwrap();
        assert!(encrypt(&tdk, b"1234D5678").is_err());
        assert!(encrypt(&tdk, b"62284800000000000183012220000000000").is_err()); // no separator
        assert!(encrypt(&tdk, b"6228X80000000000018D3012220000000000").is_err());
    }
}
