//! Serde helpers so that configuration shows wire bytes the way the spec
//! writes them: `tpdu_id = "60"`, `host_nii = "0003"`.

use serde::{Deserialize, Deserializer, Serializer, de::Error};

fn parse<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let v = hex::decode(s).map_err(|e| format!("{s:?} is not hex: {e}"))?;
    v.try_into().map_err(|_| format!("{s:?} is not {N} bytes ({} hex digits)", 2 * N))
}

/// `[u8; N]` as a hex string.
pub mod array {
    use super::*;
    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_upper(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
        parse::<N>(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `u8` as a 2-digit hex string.
pub mod byte {
    use super::*;
    pub fn serialize<S: Serializer>(v: &u8, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:02X}"))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
        parse::<1>(&String::deserialize(d)?).map(|[b]| b).map_err(D::Error::custom)
    }
}
