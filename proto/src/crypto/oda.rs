//! Offline data authentication's cryptography (EMV 4.x Book 2 §5–§6,
//! acquirer-protocol.md §9): the RSA public operation (unpadded: EMV's
//! "recovery"), and the checks of each recovered format — the issuer public
//! key certificate (format `02`), signed static application data (`03`),
//! the ICC public key certificate (`04`) and signed dynamic application
//! data (`05`, DDA and CDA). Every check that fails names itself
//! ([`OdaError`]); none of them panics on card data.
//!
//! The RSA operation is `rsa`'s `BigUint` (`modpow`), the hash `sha1`. The
//! card side (signing) is the virtual card's (`smartpos_vcard::oda`);
//! an independent oracle (`tests/oracles/oda_oracle.py`) checks both.

use rsa::BigUint;
use sha1::{Digest, Sha1};

/// An RSA public key as EMV carries it: modulus and exponent, big-endian.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({} bits, e={})", self.modulus.len() * 8, hex::encode_upper(&self.exponent))
    }
}

/// Why a certificate or signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdaError {
    #[error("{what} is {got} bytes, the key's modulus {want}")]
    Length { what: &'static str, got: usize, want: usize },
    #[error("{0}: the recovered data does not start with 6A and end with BC")]
    Frame(&'static str),
    #[error("{what}: format {got:02X}, not {want:02X}")]
    Format { what: &'static str, got: u8, want: u8 },
    #[error("{0}: the hash does not match")]
    Hash(&'static str),
    #[error("{0}: hash or key algorithm not supported (only SHA-1 and RSA, 01)")]
    Algorithm(&'static str),
    #[error("{0} does not match the card's PAN")]
    Pan(&'static str),
    #[error("{0} has expired")]
    Expired(&'static str),
    #[error("{0}: malformed")]
    Malformed(&'static str),
}

/// `data^e mod n`, left-padded to the modulus length (EMV recovery).
pub fn recover(data: &[u8], key: &PublicKey, what: &'static str) -> Result<Vec<u8>, OdaError> {
    let n_len = key.modulus.len();
    if data.len() != n_len || n_len < 64 {
        return Err(OdaError::Length { what, got: data.len(), want: n_len });
    }
    let n = BigUint::from_bytes_be(&key.modulus);
    let x = BigUint::from_bytes_be(data);
    if x >= n {
        return Err(OdaError::Malformed(what));
    }
    let out = x.modpow(&BigUint::from_bytes_be(&key.exponent), &n).to_bytes_be();
    let mut padded = vec![0u8; n_len.saturating_sub(out.len())];
    padded.extend_from_slice(&out);
    if padded.first() != Some(&0x6A) || padded.last() != Some(&0xBC) {
        return Err(OdaError::Frame(what));
    }
    Ok(padded)
}

fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The recovered bytes between header and hash, and the hash.
fn body_and_hash(rec: &[u8]) -> (&[u8], &[u8]) {
    let n = rec.len();
    (rec.get(1..n - 21).unwrap_or_default(), rec.get(n - 21..n - 1).unwrap_or_default())
}

fn check_format(rec: &[u8], want: u8, what: &'static str) -> Result<(), OdaError> {
    match rec.get(1).copied() {
        Some(got) if got == want => Ok(()),
        got => Err(OdaError::Format { what, got: got.unwrap_or(0), want }),
    }
}

/// The digits of a BCD field up to its `F` padding.
fn digits(bcd: &[u8]) -> String {
    hex::encode_upper(bcd).trim_end_matches('F').to_string()
}

/// A certificate's MMYY is still valid on `today` (YYMMDD): valid through
/// the end of that month.
fn not_expired(mmyy: &[u8], today: &str) -> bool {
    let m = hex::encode(mmyy);
    let (Some(mm), Some(yy)) = (m.get(..2), m.get(2..4)) else { return false };
    let (Some(ty), Some(tm)) = (today.get(..2), today.get(2..4)) else { return false };
    (yy, mm) >= (ty, tm)
}

/// The key of a certificate: the leftmost part it holds, and the remainder
/// when the key does not fit.
fn key_from(field: &[u8], key_len: usize, remainder: &[u8], exponent: &[u8], what: &'static str) -> Result<PublicKey, OdaError> {
    let modulus = if key_len <= field.len() {
        field.get(..key_len).ok_or(OdaError::Malformed(what))?.to_vec()
    } else {
        if field.len() + remainder.len() != key_len {
            return Err(OdaError::Malformed(what));
        }
        [field, remainder].concat()
    };
    if exponent.is_empty() {
        return Err(OdaError::Malformed(what));
    }
    Ok(PublicKey { modulus, exponent: exponent.to_vec() })
}

/// Where a public key certificate's parts sit (Book 2 Tables 13 and 14):
/// both are format, identifier (PAN or its leftmost digits), expiry MMYY,
/// serial, hash and key algorithms, key length, exponent length, key.
struct CertLayout {
    what: &'static str,
    format: u8,
    /// The identifier's bytes (BCD, F-padded).
    id: std::ops::Range<usize>,
}

impl CertLayout {
    /// Recovers the certificate (with the key's remainder and exponent)
    /// under `signer` and runs every check; the hash covers the remainder,
    /// the exponent and `covered`.
    fn recover_key(
        &self,
        (cert, remainder, exponent): (&[u8], &[u8], &[u8]),
        signer: &PublicKey,
        id_ok: impl Fn(&str) -> bool,
        covered: &[u8],
        today: &str,
    ) -> Result<PublicKey, OdaError> {
        let rec = recover(cert, signer, self.what)?;
        check_format(&rec, self.format, self.what)?;
        let (body, hash) = body_and_hash(&rec);
        if sha1(&[body, remainder, exponent, covered]) != hash {
            return Err(OdaError::Hash(self.what));
        }
        if !id_ok(&digits(rec.get(self.id.clone()).unwrap_or_default())) {
            return Err(OdaError::Pan(self.what));
        }
        let at = self.id.end;
        if !not_expired(rec.get(at..at + 2).unwrap_or_default(), today) {
            return Err(OdaError::Expired(self.what));
        }
        // Serial (3 bytes), then the hash and key algorithms.
        if rec.get(at + 5) != Some(&0x01) || rec.get(at + 6) != Some(&0x01) {
            return Err(OdaError::Algorithm(self.what));
        }
        let key_len = usize::from(*rec.get(at + 7).ok_or(OdaError::Malformed(self.what))?);
        let field = rec.get(at + 9..rec.len() - 21).unwrap_or_default();
        key_from(field, key_len, remainder, exponent, self.what)
    }
}

/// Issuer public key from its certificate (tag `90`, with `92` remainder and
/// `9F32` exponent) under the CA key (EMV Book 2 §5.3 / §6.3). `pan` is the
/// card's PAN digits, `today` YYMMDD.
pub fn recover_issuer_key(cert: &[u8], remainder: &[u8], exponent: &[u8], ca: &PublicKey, pan: &str, today: &str) -> Result<PublicKey, OdaError> {
    let layout = CertLayout { what: "issuer public key certificate", format: 0x02, id: 2..6 };
    layout.recover_key((cert, remainder, exponent), ca, |id| (3..=8).contains(&id.len()) && pan.starts_with(id), &[], today)
}

/// A signature of format `format` under `key` whose hash covers `covered`
/// (Book 2 Tables 15 and 17: format, hash algorithm, …, hash, trailer).
fn signed_data(signed: &[u8], key: &PublicKey, format: u8, covered: &[u8], what: &'static str) -> Result<Vec<u8>, OdaError> {
    let rec = recover(signed, key, what)?;
    check_format(&rec, format, what)?;
    let (body, hash) = body_and_hash(&rec);
    if sha1(&[body, covered]) != hash {
        return Err(OdaError::Hash(what));
    }
    if rec.get(2) != Some(&0x01) {
        return Err(OdaError::Algorithm(what));
    }
    Ok(rec)
}

/// SDA: signed static application data (tag `93`) over the static data to
/// be authenticated; returns the data authentication code (`9F45`).
pub fn verify_ssad(ssad: &[u8], issuer: &PublicKey, static_data: &[u8]) -> Result<[u8; 2], OdaError> {
    let rec = signed_data(ssad, issuer, 0x03, static_data, "signed static application data")?;
    Ok([rec.get(3).copied().unwrap_or(0), rec.get(4).copied().unwrap_or(0)])
}

/// ICC public key from its certificate (`9F46`, `9F48` remainder, `9F47`
/// exponent) under the issuer key; the certificate covers the static data.
pub fn recover_icc_key(cert: &[u8], remainder: &[u8], exponent: &[u8], issuer: &PublicKey, pan: &str, static_data: &[u8], today: &str) -> Result<PublicKey, OdaError> {
    let layout = CertLayout { what: "ICC public key certificate", format: 0x04, id: 2..12 };
    layout.recover_key((cert, remainder, exponent), issuer, |id| id == pan, static_data, today)
}

/// DDA and CDA: signed dynamic application data (`9F4B`) under the ICC key,
/// hashed with `terminal_data` (the DDOL data for DDA, the unpredictable
/// number for CDA). Returns the ICC dynamic data.
pub fn verify_sdad(sdad: &[u8], icc: &PublicKey, terminal_data: &[u8]) -> Result<Vec<u8>, OdaError> {
    const WHAT: &str = "signed dynamic application data";
    let rec = signed_data(sdad, icc, 0x05, terminal_data, WHAT)?;
    let len = usize::from(*rec.get(3).ok_or(OdaError::Malformed(WHAT))?);
    rec.get(4..4 + len).filter(|_| 4 + len <= rec.len() - 21).map(<[u8]>::to_vec).ok_or(OdaError::Malformed(WHAT))
}

/// What CDA's ICC dynamic data holds (Book 2 Table 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdaDynamicData {
    pub dynamic_number: Vec<u8>,
    pub cid: u8,
    pub cryptogram: [u8; 8],
    /// SHA-1 of the PDOL data, the CDOL1 data and the response's other TLVs.
    pub transaction_hash: [u8; 20],
}

impl CdaDynamicData {
    pub fn parse(data: &[u8]) -> Result<Self, OdaError> {
        const WHAT: &str = "CDA dynamic data";
        let n = usize::from(*data.first().ok_or(OdaError::Malformed(WHAT))?);
        let rest = data.get(1 + n..).ok_or(OdaError::Malformed(WHAT))?;
        if !(2..=8).contains(&n) || rest.len() < 29 {
            return Err(OdaError::Malformed(WHAT));
        }
        Ok(Self {
            dynamic_number: data.get(1..1 + n).unwrap_or_default().to_vec(),
            cid: rest.first().copied().unwrap_or(0),
            cryptogram: rest.get(1..9).and_then(|s| s.try_into().ok()).ok_or(OdaError::Malformed(WHAT))?,
            transaction_hash: rest.get(9..29).and_then(|s| s.try_into().ok()).ok_or(OdaError::Malformed(WHAT))?,
        })
    }
}

/// The transaction data hash code of CDA (Book 2 §6.6.1).
pub fn transaction_hash(parts: &[&[u8]]) -> [u8; 20] {
    sha1(parts)
}

/// The CA key checksum of a download (§8 `DF03`): SHA-1(RID ‖ index ‖ modulus ‖ exponent).
pub fn ca_key_checksum(rid: &[u8], index: u8, key: &PublicKey) -> [u8; 20] {
    sha1(&[rid, &[index], &key.modulus, &key.exponent])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_ca() -> PublicKey {
        let n = "EBABFBCCDE391D2848C79F06FC9156F68B023C956FE4BDEBC11063037DEBF87FD4F3F626E42005A6585E38D6E4BDFBB24393845A4BB5D87513E194289C83CEE857B5B1190ADB39F6B5CD5E86FBFF099DC5C32C8A6309A22E986AA7558A4AFA28D1AEB15E66D9D44291C8017AAA9E16B794E6104CC543BFA494AD0D7E3D8D515E45F0D6CAC2D7ADC0E3E47A38A1591EEAA0C0863F35B670A7BBCC5B86028DEAE8B4CA97131B63677EA8BCDCB331B1A21B";
        PublicKey { modulus: hex::decode(n).unwrap_or_default(), exponent: vec![3] }
    }

    #[test]
    fn the_checksum_of_test_cards_ca_key_80() {
        let rid = hex::decode("A000000333").unwrap_or_default();
        assert_eq!(hex::encode_upper(ca_key_checksum(&rid, 0x80, &test_ca())), "4213CA4AE78C13A36664C470E436FA6187E58B02");
    }

    #[test]
    fn card_data_of_any_shape_is_an_error_not_a_panic() {
        let ca = test_ca();
        for len in [0, 1, 20, 175, 176, 177] {
            let junk = vec![0x6A; len];
            assert!(recover_issuer_key(&junk, &[], &[3], &ca, "6228480000000000059", "261203").is_err());
        }
        assert!(recover(&[0xFF; 176], &ca, "x").is_err(), "above the modulus");
        assert!(CdaDynamicData::parse(&[]).is_err() && CdaDynamicData::parse(&[9; 3]).is_err());
        assert!(!not_expired(&[], "261203") && !not_expired(&[0x12, 0x30], ""));
        assert!(not_expired(&[0x12, 0x26], "261203") && !not_expired(&[0x11, 0x26], "261203"));
    }
}
