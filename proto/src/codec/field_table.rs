//! The field table of the `smartpos-1` dialect (acquirer-protocol.md §2).
//!
//! This is data: another acquirer's dialect is another table (a TOML file
//! named in the configuration), not another code path.

use super::bcd::Align;
use super::field_spec::{FieldSpec, Format, Prefix};
use serde::{Deserialize, Serialize};

/// A complete table: at most one row per field number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldTable {
    rows: Vec<Option<FieldSpec>>, // indexed by field number, 0..=64
}

/// The form a table takes in a TOML file: `[[field]]` rows.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTableFile {
    pub field: Vec<FieldSpec>,
}

impl FieldTable {
    /// Builds a table from rows, refusing duplicates and impossible rows.
    pub fn new(specs: impl IntoIterator<Item = FieldSpec>) -> Result<Self, String> {
        let mut rows: Vec<Option<FieldSpec>> = vec![None; 65];
        for spec in specs {
            spec.validate()?;
            let slot = rows.get_mut(usize::from(spec.number)).ok_or("field number out of range")?;
            if slot.is_some() {
                return Err(format!("field {} is defined twice", spec.number));
            }
            *slot = Some(spec);
        }
        if rows.get(64).is_none_or(|r| r.is_none()) {
            return Err("field 64 (MAC) must be defined".into());
        }
        Ok(Self { rows })
    }

    /// Parses a table from TOML (`[[field]]` rows).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: FieldTableFile = toml::from_str(text).map_err(|e| {
            // One line (the toml crate's message has a caret excerpt): where and what.
            let line = e.span().map(|s| text.get(..s.start).unwrap_or(text).matches('\n').count() + 1);
            let what = e.message().trim().trim_end_matches('.');
            line.map_or_else(|| what.to_string(), |n| format!("line {n}: {what}"))
        })?;
        Self::new(file.field)
    }

    /// The row of field `n`, if the table defines it.
    pub fn get(&self, n: u8) -> Option<&FieldSpec> {
        self.rows.get(usize::from(n)).and_then(Option::as_ref)
    }

    /// All rows in field order.
    pub fn iter(&self) -> impl Iterator<Item = &FieldSpec> {
        self.rows.iter().flatten()
    }

    /// The table of acquirer-protocol.md §2.
    pub fn smartpos1() -> Self {
        use Format::*;
        use Prefix::*;
        let row = |number: u8, name: &str, format: Format, prefix: Prefix, max: usize| FieldSpec {
            number,
            name: name.to_owned(),
            format,
            prefix,
            max,
            // Fixed numerics are right-aligned; variable ones left-aligned (§2).
            align: if prefix == Fixed { Align::Right } else { Align::Left },
        };
        let mut rows = vec![
            row(2, "primary account number", N, Ll, 19),
            row(3, "processing code", N, Fixed, 6),
            row(4, "amount", N, Fixed, 12),
            row(11, "system trace audit number", N, Fixed, 6),
            row(12, "local time", N, Fixed, 6),
            row(13, "local date", N, Fixed, 4),
            row(14, "card expiry", N, Fixed, 4),
            row(15, "settlement date", N, Fixed, 4),
            row(22, "POS entry mode", N, Fixed, 3),
            row(23, "card sequence number", N, Fixed, 3),
            row(25, "POS condition code", N, Fixed, 2),
            row(26, "PIN capture code", N, Fixed, 2),
            row(32, "acquiring institution id", N, Ll, 11),
            row(35, "track 2 data", Z, Ll, 37),
            row(37, "retrieval reference number", An, Fixed, 12),
            row(38, "authorization code", An, Fixed, 6),
            row(39, "response code", An, Fixed, 2),
            row(41, "terminal id", Ans, Fixed, 8),
            row(42, "merchant id", Ans, Fixed, 15),
            row(44, "additional response data", An, Ll, 25),
            row(48, "additional data", N, Lll, 322),
            row(49, "currency code", An, Fixed, 3),
            row(52, "PIN block", B, Fixed, 8),
            row(53, "security control information", N, Fixed, 16),
            row(54, "balance amounts", An, Lll, 20),
            row(55, "ICC data", B, Lll, 255),
            row(59, "terminal information", Ans, Lll, 600),
            row(60, "reserved", N, Lll, 17),
            row(61, "original transaction", N, Lll, 29),
            row(62, "keys / activation data", B, Lll, 512),
            row(63, "operator / card organisation", Ans, Lll, 163),
            row(64, "MAC", B, Fixed, 8),
        ];
        // §2: field 22 is the one fixed numeric that is left-aligned.
        if let Some(r) = rows.iter_mut().find(|r| r.number == 22) {
            r.align = Align::Left;
        }
        Self::new(rows).unwrap_or_else(|e| unreachable!("built-in table is valid: {e}"))
    }
}
