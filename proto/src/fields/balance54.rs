//! Field 54 of a balance reply: account type `10`, amount type `02`,
//! currency, sign `C`/`D`, amount n12 (20 characters).

use super::{FieldError, digits_u64};

/// Encodes a signed balance in minor units.
pub fn encode(currency: &str, balance: i64) -> String {
    let sign = if balance < 0 { 'D' } else { 'C' };
    format!("1002{currency:0>3}{sign}{:012}", balance.unsigned_abs() % 1_000_000_000_000)
}

/// The signed balance from field 54.
pub fn parse(v: &str) -> Result<i64, FieldError> {
    if v.len() != 20 {
        return Err(FieldError::new(54, "expected 20 characters"));
    }
    let magnitude = digits_u64(54, v.get(8..20).unwrap_or_default())? as i64;
    match v.get(7..8) {
        Some("C") => Ok(magnitude),
        Some("D") => Ok(-magnitude),
        _ => Err(FieldError::new(54, "sign is not C or D")),
    }
}
