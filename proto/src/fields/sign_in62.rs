//! Field 62 of the sign-in reply: 60 bytes, PIK(16) KCV(4) MAK(16) KCV(4)
//! TDK(16) KCV(4), each key encrypted under the TMK (§3). With the CUP ECB
//! MAC the MAK slot holds an 8-byte DES key under the TMK and 8 zero bytes.

use super::FieldError;
use crate::crypto::{CryptoError, Key, MacAlgorithm};

/// The working keys of a session.
#[derive(Debug, Clone)]
pub struct WorkingKeys {
    pub pik: Key,
    pub mak: Key,
    pub tdk: Key,
}

/// Why the keys of a sign-in reply were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDeliveryError {
    #[error(transparent)]
    Field(#[from] FieldError),
    #[error("{key} {source}")]
    Key { key: &'static str, source: CryptoError },
}

/// Unwraps and checks the three working keys.
pub fn unwrap(tmk: &Key, field62: &[u8], mac: MacAlgorithm) -> Result<WorkingKeys, KeyDeliveryError> {
    if field62.len() != 60 {
        return Err(FieldError::new(62, format!("sign-in keys are {} bytes, expected 60", field62.len())).into());
    }
    let slot = |i: usize| (field62.get(i * 20..i * 20 + 16).unwrap_or_default(), field62.get(i * 20 + 16..i * 20 + 20).unwrap_or_default());
    let one = |name: &'static str, i: usize, len: usize| {
        let (wrapped, kcv) = slot(i);
        tmk.unwrap_key(wrapped, len, kcv).map_err(|source| KeyDeliveryError::Key { key: name, source })
    };
    Ok(WorkingKeys { pik: one("PIK", 0, 16)?, mak: one("MAK", 1, mac.mak_len())?, tdk: one("TDK", 2, 16)? })
}

/// The host side: field 62 for fresh keys.
pub fn wrap(tmk: &Key, keys: &WorkingKeys) -> Vec<u8> {
    let mut out = Vec::with_capacity(60);
    for k in [&keys.pik, &keys.mak, &keys.tdk] {
        let mut w = tmk.wrap_key(k);
        w.resize(16, 0);
        out.extend_from_slice(&w);
        out.extend_from_slice(&k.check_value());
    }
    out
}
