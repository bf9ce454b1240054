//! Issuer-side EMV cryptography of the virtual cards and the acquirer
//! simulator (acquirer-protocol.md §7). The terminal never computes a
//! cryptogram; it only carries them.
//!
//! - ICC master key: EMV option A derivation from the IMK-AC.
//! - AC: ISO 9797-1 MAC algorithm 3, padding method 1, under the ICC master
//!   key (a simplified scheme without session keys, like Visa CVN 10).
//! - ARPC method 1: 3DES(ICC MK, ARQC XOR (ARC ‖ 6 zero bytes)).

use super::key::{CryptoError, Key, set_odd_parity};
use super::mac::retail_mac;
use zeroize::Zeroizing;

/// EMV option A: Y = the 16 rightmost digits of PAN ‖ PSN (left-padded with
/// zeros); MK = 3DES(IMK, Y) ‖ 3DES(IMK, Y XOR FF…), with odd parity.
pub fn derive_icc_master_key(imk: &Key, pan: &str, psn: &str) -> Result<Key, CryptoError> {
    let digits: String = format!("{pan}{psn}");
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(CryptoError::Pan);
    }
    let y16 = format!("{digits:0>16}");
    let y_str = y16.get(y16.len() - 16..).ok_or(CryptoError::Pan)?;
    let y: [u8; 8] = hex::decode(y_str).ok().and_then(|v| v.try_into().ok()).ok_or(CryptoError::Pan)?;
    let left = imk.encrypt_block(y);
    let right = imk.encrypt_block(y.map(|b| b ^ 0xFF));
    let mut mk = Zeroizing::new([0u8; 16]);
    for (d, s) in mk.iter_mut().zip(left.iter().chain(&right)) {
        *d = *s;
    }
    set_odd_parity(&mut *mk);
    Key::new(&*mk)
}

/// Application cryptogram over `data` (CDOL data ‖ AIP ‖ ATC).
pub fn application_cryptogram(icc_mk: &Key, data: &[u8]) -> Result<[u8; 8], CryptoError> {
    retail_mac(icc_mk, data)
}

/// ARPC method 1 for an ARQC and a 2-byte ARC (field 39 as ASCII).
pub fn arpc_method1(icc_mk: &Key, arqc: &[u8; 8], arc: &[u8; 2]) -> [u8; 8] {
    let mut x = *arqc;
    x[0] ^= arc[0];
    x[1] ^= arc[1];
    icc_mk.encrypt_block(x)
}
