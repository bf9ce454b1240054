//! `test-cards.toml`: the cards, merchants and issuer key that the virtual
//! cards and the acquirer simulator share (acquirer-protocol.md §7).
//!
//! Unknown keys are refused, so a change of the shared file's schema shows
//! up as a test failure here rather than as silently ignored data.

use serde::Deserialize;
use std::path::Path;

/// The copy of `shared/spec/test-cards.toml` kept in this repository.
pub const EMBEDDED: &str = include_str!("../test-cards.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestData {
    pub issuer: Issuer,
    pub acquirer: Acquirer,
    #[serde(rename = "merchant")]
    pub merchants: Vec<Merchant>,
    #[serde(rename = "card")]
    pub cards: Vec<CardProfile>,
    /// The scheme's CA public keys the host serves (§8), with the test CA's
    /// private exponent so the virtual cards' certificates can be signed.
    #[serde(rename = "ca_key", default)]
    pub ca_keys: Vec<CaKeyEntry>,
    /// IC parameters per AID (§8).
    #[serde(rename = "aid_params", default)]
    pub aid_params: Vec<AidParams>,
    /// Customer payment codes (§11).
    #[serde(rename = "payment_code", default)]
    pub payment_codes: Vec<PaymentCode>,
}

/// One `[[ca_key]]`: either a whole key or one that reuses another's modulus
/// (`same_key_as`) under its own index and expiry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaKeyEntry {
    pub rid: String,
    pub index: String,
    #[serde(default)]
    pub modulus: Option<String>,
    #[serde(default)]
    pub exponent: Option<String>,
    #[serde(default)]
    pub private_exponent: Option<String>,
    /// YYYYMMDD.
    pub expiry: String,
    #[serde(default)]
    pub checksum: Option<String>,
    #[serde(default)]
    pub same_key_as: Option<String>,
    /// Served with one checksum byte flipped (the terminal must reject it).
    #[serde(default)]
    pub corrupt_checksum: bool,
}

/// One `[[aid_params]]`: the IC parameters of an AID; action codes as hex.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AidParams {
    pub aid: String,
    pub asi: String,
    pub app_version: String,
    pub tac_default: String,
    pub tac_denial: String,
    pub tac_online: String,
    pub floor_limit: u64,
    pub random_threshold: u64,
    pub random_target: u8,
    pub random_max_target: u8,
    pub ddol: String,
    pub contactless_floor_limit: u64,
    pub contactless_txn_limit: u64,
    pub contactless_cvm_limit: u64,
}

/// One `[[payment_code]]`: a wallet's single-use code and its account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentCode {
    pub label: String,
    pub code: String,
    pub balance: i64,
    /// Above this amount (minor units) the customer confirms on the phone.
    #[serde(default)]
    pub confirm_above: Option<u64>,
    #[serde(default)]
    pub confirm_after_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    /// IMK-AC, hex.
    pub imk_ac: String,
    pub institution: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acquirer {
    pub acquiring_institution: String,
    pub unregistered_serials: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    pub activation_code: String,
    pub tid: String,
    pub mid: String,
    pub name: String,
    pub deposit_amount: u64,
    pub deposit_status: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardProfile {
    pub label: String,
    pub aid: String,
    pub app_label: String,
    pub pan: String,
    pub psn: String,
    /// YYMM.
    pub expiry: String,
    pub service_code: String,
    pub name: String,
    pub pin: String,
    pub balance: i64,
    pub offline_limit: u64,
    pub aip: String,
    #[serde(default)]
    pub blocked: bool,
    /// Offline data authentication the card supports (§9): `sda`, `dda`, `cda`.
    #[serde(default)]
    pub oda: Option<String>,
    /// The `[[ca_key]]` index its issuer certificate is made under.
    #[serde(default)]
    pub ca_index: Option<String>,
    /// Its static data is changed after signing (SDA fails).
    #[serde(default)]
    pub tamper: bool,
    /// It also answers on the contactless interface (§10).
    #[serde(default)]
    pub contactless: bool,
}

impl CardProfile {
    /// Tag 57 as hex: PAN `D` expiry service code `0000000000`, F-padded.
    pub fn track2_hex(&self) -> String {
        let mut t = format!("{}D{}{}0000000000", self.pan, self.expiry, self.service_code);
        if t.len() % 2 == 1 {
            t.push('F');
        }
        t
    }

    /// The PAN as tag 5A: F-padded to whole bytes.
    pub fn pan_hex(&self) -> String {
        let mut p = self.pan.clone();
        if p.len() % 2 == 1 {
            p.push('F');
        }
        p
    }
}

/// A test data file that does not load.
#[derive(Debug, thiserror::Error)]
pub enum TestDataError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
}

impl TestData {
    pub fn parse(text: &str) -> Result<Self, TestDataError> {
        Ok(toml::from_str(text)?)
    }

    /// The repository's copy.
    pub fn embedded() -> Self {
        // The embedded copy is checked by this crate's tests.
        Self::parse(EMBEDDED).unwrap_or_else(|e| unreachable!("embedded test-cards.toml is valid: {e}"))
    }

    pub fn load(path: &Path) -> Result<Self, TestDataError> {
        let text = std::fs::read_to_string(path).map_err(|source| TestDataError::Io { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    pub fn card(&self, label: &str) -> Option<&CardProfile> {
        self.cards.iter().find(|c| c.label == label)
    }

    pub fn card_by_pan(&self, pan: &str) -> Option<&CardProfile> {
        self.cards.iter().find(|c| c.pan == pan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_copy_loads_with_every_card() {
        let d = TestData::embedded();
        assert_eq!(d.cards.len(), 10);
        assert_eq!((d.ca_keys.len(), d.aid_params.len(), d.payment_codes.len()), (3, 2, 3));
        assert_eq!(d.card("cda").unwrap().oda.as_deref(), Some("cda"));
        assert!(d.card("blocked").unwrap().blocked);
        assert_eq!(d.card("default").unwrap().track2_hex(), "6228480000000000018D30122200000000000F");
    }

    /// The copy must not drift from the contract in `shared/spec/`.
    #[test]
    fn embedded_copy_matches_shared_spec() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/test-cards.toml");
        let text = std::fs::read_to_string(&shared).unwrap_or_else(|e| panic!("{}: {e} (the repository must sit beside shared/)", shared.display()));
        assert_eq!(text, EMBEDDED, "vcard/test-cards.toml drifted from shared/spec/test-cards.toml: copy it again");
    }
}
