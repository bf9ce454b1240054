//! The card side of offline data authentication (acquirer-protocol.md §9,
//! EMV Book 2): the issuer's and ICC's key pairs of `oda-keys.toml` (made
//! once by `pos-oda-keys`), the issuer certificate signed with the test
//! CA's private key of `test-cards.toml`, the ICC certificate and signed
//! static data signed with the issuer key, and the signed dynamic data of
//! INTERNAL AUTHENTICATE and CDA signed with the ICC key. The formats are
//! laid out here from Book 2's tables; the terminal's recovery is separate
//! code (`smartpos_proto::crypto::oda`) and an independent Python oracle
//! checks both.

use crate::testdata::{CaKeyEntry, CardProfile, TestData};
use rsa::BigUint;
use serde::Deserialize;
use sha1::{Digest, Sha1};

/// `vcard/oda-keys.toml`.
pub const KEYS: &str = include_str!("../oda-keys.toml");

/// Certificates expire at the end of this month (MMYY).
const CERT_EXPIRY: [u8; 2] = [0x12, 0x30];
const CERT_SERIAL: [u8; 3] = [0x00, 0x00, 0x01];
/// Data authentication code of SDA (`9F45`).
pub const DAC: [u8; 2] = [0xDA, 0xC1];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    card: Vec<CardKeys>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardKeys {
    label: String,
    issuer_modulus: String,
    issuer_private_exponent: String,
    icc_modulus: String,
    icc_private_exponent: String,
}

/// A private key for EMV's unpadded signing: `m^d mod n`.
#[derive(Clone)]
pub struct SigningKey {
    pub modulus: Vec<u8>,
    private_exponent: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} bits)", self.modulus.len() * 8)
    }
}

impl SigningKey {
    fn from_hex(n: &str, d: &str) -> Option<Self> {
        Some(Self { modulus: hex::decode(n).ok()?, private_exponent: hex::decode(d).ok()? })
    }

    /// Signs a message of the modulus' length (its first byte, `6A`, keeps it below n).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let n = BigUint::from_bytes_be(&self.modulus);
        let s = BigUint::from_bytes_be(message).modpow(&BigUint::from_bytes_be(&self.private_exponent), &n).to_bytes_be();
        let mut out = vec![0u8; self.modulus.len().saturating_sub(s.len())];
        out.extend_from_slice(&s);
        out
    }
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `6A ‖ body ‖ SHA-1(body ‖ extra) ‖ BC`, signed.
fn signed(key: &SigningKey, body: &[u8], extra: &[&[u8]]) -> Vec<u8> {
    let mut parts = vec![body];
    parts.extend_from_slice(extra);
    let hash = sha1(&parts);
    let message = [&[0x6A][..], body, &hash, &[0xBC]].concat();
    key.sign(&message)
}

/// BCD digits, F-padded to `len` bytes.
fn bcd_padded(digits: &str, len: usize) -> Vec<u8> {
    let mut s: String = digits.chars().take(len * 2).collect();
    while s.len() < len * 2 {
        s.push('F');
    }
    hex::decode(s).unwrap_or_default()
}

/// A certificate of `key` (modulus, exponent 3) as Book 2 lays it out for a
/// signer of `signer_len` bytes: the key's leftmost bytes in the
/// certificate, the rest returned as the remainder. `head` is what comes
/// before the key length (format, identifier, expiry, serial, algorithms).
fn certificate(signer: &SigningKey, head: &[u8], key: &[u8], extra: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let room = signer.modulus.len() - head.len() - 2 - 22;
    let (field, remainder) = match key.split_at_checked(room) {
        Some((field, rest)) => (field.to_vec(), rest.to_vec()),
        None => ([key, &vec![0xBB; room - key.len()]].concat(), Vec::new()),
    };
    let body = [head, &[key.len() as u8, 0x01], &field].concat();
    (signed(signer, &body, &[&remainder, &[0x03], extra]), remainder)
}

/// Everything an ODA card serves and signs with.
#[derive(Debug, Clone)]
pub struct OdaMaterial {
    pub method: String,
    pub ca_index: u8,
    /// `90`, `92`, `9F32`.
    pub issuer_cert: Vec<u8>,
    pub issuer_remainder: Vec<u8>,
    pub icc_key: SigningKey,
    issuer_key: SigningKey,
}

impl OdaMaterial {
    /// The material of `profile` when it is an ODA card of the embedded
    /// data (its CA key from `test-cards.toml`, its keys from `oda-keys.toml`).
    pub fn for_card(profile: &CardProfile) -> Option<Self> {
        let method = profile.oda.clone()?;
        let ca_index = u8::from_str_radix(profile.ca_index.as_deref()?, 16).ok()?;
        let data = TestData::embedded();
        let ca = ca_signing_key(&data, &profile.ca_index.clone()?)?;
        let keys: KeyFile = toml::from_str(KEYS).ok()?;
        let k = keys.card.into_iter().find(|k| k.label == profile.label)?;
        let issuer_key = SigningKey::from_hex(&k.issuer_modulus, &k.issuer_private_exponent)?;
        let icc_key = SigningKey::from_hex(&k.icc_modulus, &k.icc_private_exponent)?;
        let head = [&[0x02][..], &bcd_padded(profile.pan.get(..6)?, 4), &CERT_EXPIRY, &CERT_SERIAL, &[0x01, 0x01]].concat();
        let (issuer_cert, issuer_remainder) = certificate(&ca, &head, &issuer_key.modulus, &[]);
        Some(Self { method, ca_index, issuer_cert, issuer_remainder, icc_key, issuer_key })
    }

    /// `93`: signed static application data over `static_data`.
    pub fn ssad(&self, static_data: &[u8]) -> Vec<u8> {
        let pad = vec![0xBB; self.issuer_key.modulus.len() - 26];
        let body = [&[0x03, 0x01][..], &DAC, &pad].concat();
        signed(&self.issuer_key, &body, &[static_data])
    }

    /// `9F46` and `9F48`: the ICC key's certificate, covering `static_data`.
    pub fn icc_certificate(&self, pan: &str, static_data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let head = [&[0x04][..], &bcd_padded(pan, 10), &CERT_EXPIRY, &CERT_SERIAL, &[0x01, 0x01]].concat();
        certificate(&self.issuer_key, &head, &self.icc_key.modulus, static_data)
    }

    /// `9F4B`: signed dynamic application data of `icc_dynamic_data`, hashed
    /// with `terminal_data` (DDOL data, or the unpredictable number for CDA).
    pub fn sdad(&self, icc_dynamic_data: &[u8], terminal_data: &[u8]) -> Vec<u8> {
        let pad = vec![0xBB; self.icc_key.modulus.len() - icc_dynamic_data.len() - 25];
        let body = [&[0x05, 0x01, icc_dynamic_data.len() as u8][..], icc_dynamic_data, &pad].concat();
        signed(&self.icc_key, &body, &[terminal_data])
    }
}

/// The test CA's private key of `index` (`same_key_as` followed).
fn ca_signing_key(data: &TestData, index: &str) -> Option<SigningKey> {
    let entry: &CaKeyEntry = data.ca_keys.iter().find(|k| k.index.eq_ignore_ascii_case(index))?;
    let base = match &entry.same_key_as {
        Some(other) => data.ca_keys.iter().find(|k| k.index.eq_ignore_ascii_case(other))?,
        None => entry,
    };
    SigningKey::from_hex(base.modulus.as_deref()?, base.private_exponent.as_deref()?)
}

/// The SHA-1 the card's dynamic number is drawn from: a fresh value per
/// signature (ATC and the terminal's data), as a card's would be.
pub fn dynamic_number(atc: u16, terminal_data: &[u8]) -> [u8; 8] {
    let h = sha1(&[&atc.to_be_bytes(), terminal_data]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h[..8]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_oda_card_has_its_material() {
        let data = TestData::embedded();
        for card in data.cards.iter().filter(|c| c.oda.is_some()) {
            let m = OdaMaterial::for_card(card).unwrap_or_else(|| panic!("{}", card.label));
            assert_eq!((m.issuer_cert.len(), m.issuer_remainder.len()), (176, 4), "{}", card.label);
            let (cert, rem) = m.icc_certificate(&card.pan, b"static");
            assert_eq!((cert.len(), rem.len()), (144, 26));
            assert_eq!(m.sdad(&[2, 0, 1], &[1, 2, 3, 4]).len(), 128);
        }
        assert!(OdaMaterial::for_card(data.card("default").expect("default")).is_none());
    }
}
