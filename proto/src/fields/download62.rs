//! Field 62 of §8's downloads: BER-TLV lists and records of CA public keys
//! and IC parameters. The host side encodes, the terminal parses; a parse
//! of a peer's bytes is total ([`FieldError`] names what is wrong).

use super::FieldError;
use crate::crypto::oda::{PublicKey, ca_key_checksum};
use crate::tlv;

fn err(reason: impl Into<String>) -> FieldError {
    FieldError::new(62, reason)
}

fn items(data: &[u8]) -> Result<Vec<tlv::Tlv>, FieldError> {
    tlv::parse(data).map_err(|e| err(format!("not BER-TLV: {e}")))
}

fn one<'a>(items: &'a [tlv::Tlv], tag: tlv::Tag, what: &str) -> Result<&'a [u8], FieldError> {
    items.iter().find(|t| t.tag == tag).map(|t| t.value.as_slice()).ok_or_else(|| err(format!("{what} without {tag:X}")))
}

fn rid(v: &[u8]) -> Result<[u8; 5], FieldError> {
    v.try_into().map_err(|_| err(format!("a RID of {} bytes", v.len())))
}

fn index(v: &[u8]) -> Result<u8, FieldError> {
    match v {
        [i] => Ok(*i),
        _ => Err(err(format!("a CA key index of {} bytes", v.len()))),
    }
}

/// `DF05`: YYYYMMDD as 8 ASCII digits.
fn expiry(v: &[u8]) -> Result<String, FieldError> {
    let s = std::str::from_utf8(v).ok().filter(|s| s.len() == 8 && s.bytes().all(|c| c.is_ascii_digit()));
    s.map(str::to_string).ok_or_else(|| err("a CA key expiry that is not 8 digits (YYYYMMDD)"))
}

/// One entry of the CA key list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaKeyEntry {
    pub rid: [u8; 5],
    pub index: u8,
    /// YYYYMMDD.
    pub expiry: String,
}

/// CA key list response: `9F06 9F22 DF05` per key, in that order.
pub fn encode_ca_key_list(entries: &[CaKeyEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        tlv::write(0x9F06, &e.rid, &mut out);
        tlv::write(0x9F22, &[e.index], &mut out);
        tlv::write(0xDF05, e.expiry.as_bytes(), &mut out);
    }
    out
}

pub fn parse_ca_key_list(data: &[u8]) -> Result<Vec<CaKeyEntry>, FieldError> {
    let all = items(data)?;
    if all.len() % 3 != 0 {
        return Err(err(format!("a CA key list of {} objects, not triples", all.len())));
    }
    all.chunks(3)
        .map(|c| match c {
            [a, b, d] if a.tag == 0x9F06 && b.tag == 0x9F22 && d.tag == 0xDF05 => Ok(CaKeyEntry { rid: rid(&a.value)?, index: index(&b.value)?, expiry: expiry(&d.value)? }),
            _ => Err(err("a CA key list entry not in the order 9F06 9F22 DF05")),
        })
        .collect()
}

/// The request of one key (and of one AID's parameters: `9F06` alone).
pub fn encode_key_request(rid: &[u8; 5], index: u8) -> Vec<u8> {
    let mut out = Vec::new();
    tlv::write(0x9F06, rid, &mut out);
    tlv::write(0x9F22, &[index], &mut out);
    out
}

pub fn parse_key_request(data: &[u8]) -> Result<([u8; 5], u8), FieldError> {
    let all = items(data)?;
    Ok((rid(one(&all, 0x9F06, "a key request")?)?, index(one(&all, 0x9F22, "a key request")?)?))
}

/// One CA public key as downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaKeyRecord {
    pub entry: CaKeyEntry,
    pub key: PublicKey,
    /// `DF03` as received.
    pub checksum: Vec<u8>,
}

impl CaKeyRecord {
    /// Whether `DF03` is SHA-1(RID ‖ index ‖ modulus ‖ exponent).
    pub fn checksum_ok(&self) -> bool {
        ca_key_checksum(&self.entry.rid, self.entry.index, &self.key)[..] == self.checksum[..]
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = encode_key_request(&self.entry.rid, self.entry.index);
        tlv::write(0xDF05, self.entry.expiry.as_bytes(), &mut out);
        tlv::write(0xDF06, &[0x01], &mut out);
        tlv::write(0xDF07, &[0x01], &mut out);
        tlv::write(0xDF02, &self.key.modulus, &mut out);
        tlv::write(0xDF04, &self.key.exponent, &mut out);
        tlv::write(0xDF03, &self.checksum, &mut out);
        out
    }

    pub fn parse(data: &[u8]) -> Result<Self, FieldError> {
        let all = items(data)?;
        let get = |tag| one(&all, tag, "a CA key");
        if get(0xDF06)? != [0x01] || get(0xDF07)? != [0x01] {
            return Err(err("a CA key of another hash or key algorithm than SHA-1 / RSA (01)"));
        }
        let key = PublicKey { modulus: get(0xDF02)?.to_vec(), exponent: get(0xDF04)?.to_vec() };
        if !(64..=248).contains(&key.modulus.len()) || key.exponent.is_empty() || key.exponent.len() > 3 {
            return Err(err(format!("a CA key of {} modulus bytes and {} exponent bytes", key.modulus.len(), key.exponent.len())));
        }
        Ok(Self { entry: CaKeyEntry { rid: rid(get(0x9F06)?)?, index: index(get(0x9F22)?)?, expiry: expiry(get(0xDF05)?)? }, key, checksum: get(0xDF03)?.to_vec() })
    }
}

/// IC parameter list response: one `9F06` AID per set.
pub fn encode_aid_list(aids: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in aids {
        tlv::write(0x9F06, a, &mut out);
    }
    out
}

pub fn parse_aid_list(data: &[u8]) -> Result<Vec<Vec<u8>>, FieldError> {
    let all = items(data)?;
    if all.iter().any(|t| t.tag != 0x9F06 || !(5..=16).contains(&t.value.len())) {
        return Err(err("an AID list with something else than 9F06 AIDs of 5 to 16 bytes"));
    }
    Ok(all.into_iter().map(|t| t.value).collect())
}

/// One AID's IC parameters (§8).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AidParams {
    pub aid: Vec<u8>,
    /// `DF01`: 00 partial selection allowed, 01 exact.
    pub asi: u8,
    pub app_version: Vec<u8>,
    pub tac_default: [u8; 5],
    pub tac_online: [u8; 5],
    pub tac_denial: [u8; 5],
    /// `9F1B`, minor units.
    pub floor_limit: u32,
    pub random_threshold: u32,
    pub random_max_target: u8,
    pub random_target: u8,
    pub default_ddol: Vec<u8>,
    /// `DF19`, `DF20`, `DF21` (n12), minor units.
    pub contactless_floor_limit: u64,
    pub contactless_txn_limit: u64,
    pub contactless_cvm_limit: u64,
}

fn n12(v: u64) -> Vec<u8> {
    hex::decode(format!("{:012}", v.min(999_999_999_999))).unwrap_or_default()
}

fn parse_n12(v: &[u8], tag: tlv::Tag) -> Result<u64, FieldError> {
    let s = hex::encode(v);
    if v.len() != 6 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err(format!("{tag:X} is not n12 (6 BCD bytes)")));
    }
    s.parse().map_err(|_| err(format!("{tag:X} out of range")))
}

impl AidParams {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        tlv::write(0x9F06, &self.aid, &mut out);
        tlv::write(0xDF01, &[self.asi], &mut out);
        tlv::write(0x9F09, &self.app_version, &mut out);
        tlv::write(0xDF11, &self.tac_default, &mut out);
        tlv::write(0xDF12, &self.tac_online, &mut out);
        tlv::write(0xDF13, &self.tac_denial, &mut out);
        tlv::write(0x9F1B, &self.floor_limit.to_be_bytes(), &mut out);
        tlv::write(0xDF15, &self.random_threshold.to_be_bytes(), &mut out);
        tlv::write(0xDF16, &[self.random_max_target], &mut out);
        tlv::write(0xDF17, &[self.random_target], &mut out);
        tlv::write(0xDF14, &self.default_ddol, &mut out);
        tlv::write(0xDF19, &n12(self.contactless_floor_limit), &mut out);
        tlv::write(0xDF20, &n12(self.contactless_txn_limit), &mut out);
        tlv::write(0xDF21, &n12(self.contactless_cvm_limit), &mut out);
        out
    }

    pub fn parse(data: &[u8]) -> Result<Self, FieldError> {
        let all = items(data)?;
        let get = |tag| one(&all, tag, "IC parameters");
        let five = |tag| get(tag).and_then(|v| <[u8; 5]>::try_from(v).map_err(|_| err(format!("{tag:X} is not 5 bytes"))));
        let four = |tag| get(tag).and_then(|v| <[u8; 4]>::try_from(v).map(u32::from_be_bytes).map_err(|_| err(format!("{tag:X} is not 4 bytes"))));
        let byte = |tag| {
            get(tag).and_then(|v| match v {
                [b] => Ok(*b),
                _ => Err(err(format!("{tag:X} is not 1 byte"))),
            })
        };
        let aid = get(0x9F06)?.to_vec();
        if !(5..=16).contains(&aid.len()) {
            return Err(err("an AID of the wrong length"));
        }
        Ok(Self {
            aid,
            asi: byte(0xDF01)?,
            app_version: get(0x9F09)?.to_vec(),
            tac_default: five(0xDF11)?,
            tac_online: five(0xDF12)?,
            tac_denial: five(0xDF13)?,
            floor_limit: four(0x9F1B)?,
            random_threshold: four(0xDF15)?,
            random_max_target: byte(0xDF16)?,
            random_target: byte(0xDF17)?,
            default_ddol: get(0xDF14)?.to_vec(),
            contactless_floor_limit: parse_n12(get(0xDF19)?, 0xDF19)?,
            contactless_txn_limit: parse_n12(get(0xDF20)?, 0xDF20)?,
            contactless_cvm_limit: parse_n12(get(0xDF21)?, 0xDF21)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_records_round_trip_and_bad_bytes_are_errors() {
        let e = CaKeyEntry { rid: [0xA0, 0, 0, 3, 0x33], index: 0x80, expiry: "20301231".into() };
        assert_eq!(parse_ca_key_list(&encode_ca_key_list(std::slice::from_ref(&e))), Ok(vec![e.clone()]));
        let key = PublicKey { modulus: vec![0xC1; 128], exponent: vec![3] };
        let checksum = ca_key_checksum(&e.rid, e.index, &key).to_vec();
        let rec = CaKeyRecord { entry: e, key, checksum };
        let back = CaKeyRecord::parse(&rec.encode()).expect("parse");
        assert!(back.checksum_ok() && back == rec);
        let mut bad = rec.clone();
        if let Some(b) = bad.checksum.last_mut() {
            *b ^= 1;
        }
        assert!(!CaKeyRecord::parse(&bad.encode()).expect("parse").checksum_ok());
        for junk in [&b""[..], b"\x9F\x06", b"\x9F\x06\x01\x00"] {
            assert!(CaKeyRecord::parse(junk).is_err() && AidParams::parse(junk).is_err());
        }
        assert!(parse_ca_key_list(b"\x9F\x06\x05\xA0\x00\x00\x03\x33").is_err());
        let p = AidParams {
            aid: vec![0xA0, 0, 0, 3, 0x33, 1, 1, 1],
            asi: 0,
            app_version: vec![0, 0x30],
            tac_default: [0x5C, 0x40, 0, 0, 0],
            tac_online: [0xDC, 0x40, 0x04, 0xF8, 0],
            tac_denial: [0, 0x50, 0, 0, 0],
            floor_limit: 0,
            random_threshold: 0,
            random_max_target: 0,
            random_target: 0,
            default_ddol: vec![0x9F, 0x37, 0x04],
            contactless_floor_limit: 50000,
            contactless_txn_limit: 100000,
            contactless_cvm_limit: 30000,
        };
        assert_eq!(AidParams::parse(&p.encode()), Ok(p));
    }
}
