//! A dialect: everything that differs between acquirers, as data — the
//! field table, the framing (TPDU, header, length limit) and the MAC
//! algorithm. The default is `smartpos-1` (acquirer-protocol.md).

use crate::codec::{Codec, FieldTable, Framing};
use crate::crypto::MacAlgorithm;
use serde::{Deserialize, Serialize};

/// Configuration form of a dialect (the `[dialect]` section of `posd.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialectConfig {
    /// A name for logs.
    pub name: String,
    pub framing: Framing,
    pub mac: MacAlgorithm,
    /// A field table file (`[[field]]` rows); empty for the built-in table.
    pub field_table: String,
    /// The text of `field_table`, read by whoever owns I/O (posd's
    /// configuration loader); not a key of the file.
    #[serde(skip)]
    pub table_text: Option<String>,
}

impl Default for DialectConfig {
    fn default() -> Self {
        Self { name: "smartpos-1".into(), framing: Framing::default(), mac: MacAlgorithm::CupEcb, field_table: String::new(), table_text: None }
    }
}

/// A loaded dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialect {
    pub name: String,
    pub codec: Codec,
    pub mac: MacAlgorithm,
}

impl Default for Dialect {
    fn default() -> Self {
        Self::smartpos1()
    }
}

impl Dialect {
    /// The dialect of acquirer-protocol.md.
    pub fn smartpos1() -> Self {
        Self { name: "smartpos-1".into(), codec: Codec::default(), mac: MacAlgorithm::CupEcb }
    }

    /// Builds a dialect from configuration; `table_text` is the content of
    /// the file named by `field_table` (read by the caller, which owns I/O).
    pub fn from_config(cfg: &DialectConfig, table_text: Option<&str>) -> Result<Self, String> {
        let table = match table_text {
            Some(text) => FieldTable::from_toml(text)?,
            None => FieldTable::smartpos1(),
        };
        Ok(Self { name: cfg.name.clone(), codec: Codec::new(table, cfg.framing.clone()), mac: cfg.mac })
    }
}
