//! DES and triple-DES keys held in zeroizing memory.
//!
//! One type serves single DES (8 bytes, the CUP MAK) and double/triple
//! length 3DES (16/24 bytes: TMK, PIK, TDK, issuer keys). Clear key bytes
//! never appear in `Debug` output; only the length and check value do.

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::{Des, TdesEde2, TdesEde3};
use rand::RngCore;
use std::fmt;
use zeroize::Zeroizing;

/// Errors of the crypto layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("key length {0} is not 8, 16 or 24 bytes")]
    KeyLength(usize),
    #[error("data length {0} is not a multiple of 8")]
    BlockLength(usize),
    #[error("check value mismatch")]
    CheckValue,
    #[error("invalid PIN: {0}")]
    Pin(&'static str),
    #[error("invalid PAN")]
    Pan,
    #[error("invalid track 2 data: {0}")]
    Track2(&'static str),
    #[error("RSA: {0}")]
    Rsa(String),
}

/// A DES/3DES key.
#[derive(Clone)]
pub struct Key {
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({} bytes, kcv {})", self.bytes.len(), hex::encode_upper(self.check_value()))
    }
}

enum Engine {
    Single(Des),
    Double(TdesEde2),
    Triple(TdesEde3),
}

impl Key {
    /// A key from clear bytes (8, 16 or 24).
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        match bytes.len() {
            8 | 16 | 24 => Ok(Self { bytes: Zeroizing::new(bytes.to_vec()) }),
            n => Err(CryptoError::KeyLength(n)),
        }
    }

    /// A fresh random key of `len` bytes with odd DES parity (§4).
    pub fn generate(len: usize) -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        set_odd_parity(&mut bytes);
        Self::new(&bytes)
    }

    /// The clear key bytes, for sealing at rest or wrapping under another key.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn engine(&self) -> Engine {
        // Lengths were checked at construction; `new_from_slice` cannot fail.
        match self.bytes.len() {
            8 => Engine::Single(Des::new(GenericArray::from_slice(&self.bytes))),
            16 => Engine::Double(TdesEde2::new(GenericArray::from_slice(&self.bytes))),
            _ => Engine::Triple(TdesEde3::new(GenericArray::from_slice(&self.bytes))),
        }
    }

    /// ECB-encrypts whole 8-byte blocks.
    pub fn encrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.ecb(data, true).map(|z| z.to_vec())
    }

    /// ECB-decrypts whole 8-byte blocks into zeroizing memory (the result is
    /// usually a clear key).
    pub fn decrypt_ecb(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.ecb(data, false)
    }

    fn ecb(&self, data: &[u8], encrypt: bool) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if !data.len().is_multiple_of(8) {
            return Err(CryptoError::BlockLength(data.len()));
        }
        let engine = self.engine();
        let mut out = Zeroizing::new(data.to_vec());
        for block in out.chunks_exact_mut(8) {
            let b = GenericArray::from_mut_slice(block);
            match (&engine, encrypt) {
                (Engine::Single(c), true) => c.encrypt_block(b),
                (Engine::Single(c), false) => c.decrypt_block(b),
                (Engine::Double(c), true) => c.encrypt_block(b),
                (Engine::Double(c), false) => c.decrypt_block(b),
                (Engine::Triple(c), true) => c.encrypt_block(b),
                (Engine::Triple(c), false) => c.decrypt_block(b),
            }
        }
        Ok(out)
    }

    /// Encrypts one block.
    pub fn encrypt_block(&self, block: [u8; 8]) -> [u8; 8] {
        let v = self.encrypt_ecb(&block).unwrap_or_default();
        v.try_into().unwrap_or_default()
    }

    /// Decrypts one block.
    pub fn decrypt_block(&self, block: [u8; 8]) -> [u8; 8] {
        let v = self.decrypt_ecb(&block).unwrap_or_default();
        v.as_slice().try_into().unwrap_or_default()
    }

    /// Key check value: first 4 bytes of encrypting 8 zero bytes (§4).
    pub fn check_value(&self) -> [u8; 4] {
        let b = self.encrypt_block([0; 8]);
        [b[0], b[1], b[2], b[3]]
    }

    /// Unwraps a key encrypted under `self` (3DES-ECB) and verifies its check
    /// value. `clear_len` trims the CUP MAK layout (8 key bytes + 8 zeros).
    pub fn unwrap_key(&self, wrapped: &[u8], clear_len: usize, check: &[u8]) -> Result<Key, CryptoError> {
        let part = wrapped.get(..clear_len).ok_or(CryptoError::KeyLength(wrapped.len()))?;
        let clear = self.decrypt_ecb(part)?;
        let key = Key::new(&clear)?;
        if key.check_value().get(..check.len()) != Some(check) || check.is_empty() {
            return Err(CryptoError::CheckValue);
        }
        Ok(key)
    }

    /// Wraps `key` under `self` for delivery (the host side of [`Key::unwrap_key`]).
    pub fn wrap_key(&self, key: &Key) -> Vec<u8> {
        self.encrypt_ecb(key.expose()).unwrap_or_default()
    }
}

/// Sets odd parity on every byte (DES key convention).
pub fn set_odd_parity(bytes: &mut [u8]) {
    for b in bytes {
        let ones = (*b & 0xFE).count_ones();
        *b = (*b & 0xFE) | u8::from(ones % 2 == 0);
    }
}

/// Whether every byte has odd parity.
pub fn has_odd_parity(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.count_ones() % 2 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_odd_parity_and_debug_hides_them() {
        let k = Key::generate(16).unwrap();
        assert!(has_odd_parity(k.expose()));
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&hex::encode_upper(k.expose())));
        assert!(dbg.contains("16 bytes"));
    }

    #[test]
    fn wrap_unwrap_checks_the_kcv() {
        let tmk = Key::generate(16).unwrap();
        let pik = Key::generate(16).unwrap();
        let wrapped = tmk.wrap_key(&pik);
        let back = tmk.unwrap_key(&wrapped, 16, &pik.check_value()).unwrap();
        assert_eq!(back.expose(), pik.expose());
        assert_eq!(tmk.unwrap_key(&wrapped, 16, &[0, 0, 0, 0]).unwrap_err(), CryptoError::CheckValue);
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert_eq!(Key::new(&[0; 7]).unwrap_err(), CryptoError::KeyLength(7));
        let k = Key::new(&[1; 8]).unwrap();
        assert_eq!(k.encrypt_ecb(&[0; 5]).unwrap_err(), CryptoError::BlockLength(5));
    }
}
