//! The terminal's RSA-2048 key pair and the OAEP transport of the TMK
//! during activation (§3, activation; §4).
//!
//! The terminal generates its pair once, sends the public key as
//! SubjectPublicKeyInfo DER in `62.DF03`, and receives the TMK encrypted
//! with RSA-OAEP (SHA-256, MGF1-SHA-256, no label) in `62.DF04`.

use super::key::{CryptoError, Key};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroizing;

/// Bits of the terminal key.
pub const TERMINAL_KEY_BITS: usize = 2048;

/// The terminal's private key.
pub struct TerminalKeyPair {
    private: RsaPrivateKey,
}

impl fmt::Debug for TerminalKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TerminalKeyPair(RSA-2048, private part hidden)")
    }
}

fn rsa_err(e: impl fmt::Display) -> CryptoError {
    CryptoError::Rsa(e.to_string())
}

impl TerminalKeyPair {
    /// Generates a fresh pair (seconds in a debug build without opt-level 3).
    pub fn generate() -> Result<Self, CryptoError> {
        RsaPrivateKey::new(&mut rand::rngs::OsRng, TERMINAL_KEY_BITS).map(|private| Self { private }).map_err(rsa_err)
    }

    /// Restores a pair from PKCS#8 DER (as sealed in the key store).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        RsaPrivateKey::from_pkcs8_der(der).map(|private| Self { private }).map_err(rsa_err)
    }

    /// PKCS#8 DER of the private key, in zeroizing memory.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.private.to_pkcs8_der().map(|d| Zeroizing::new(d.as_bytes().to_vec())).map_err(rsa_err)
    }

    /// SubjectPublicKeyInfo DER for `62.DF03`.
    pub fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        self.private.to_public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()).map_err(rsa_err)
    }

    /// Decrypts `62.DF04` and checks the TMK against `62.DF05`.
    pub fn unwrap_tmk(&self, encrypted: &[u8], check_value: &[u8]) -> Result<Key, CryptoError> {
        let clear = Zeroizing::new(self.private.decrypt(Oaep::new::<Sha256>(), encrypted).map_err(rsa_err)?);
        let tmk = Key::new(&clear)?;
        if check_value.len() != 4 || tmk.check_value() != check_value {
            return Err(CryptoError::CheckValue);
        }
        Ok(tmk)
    }
}

/// The host side: encrypts a TMK under the terminal's public key.
pub fn wrap_tmk(public_key_der: &[u8], tmk: &Key) -> Result<Vec<u8>, CryptoError> {
    let public = RsaPublicKey::from_public_key_der(public_key_der).map_err(rsa_err)?;
    public.encrypt(&mut rand::rngs::OsRng, Oaep::new::<Sha256>(), tmk.expose()).map_err(rsa_err)
}
