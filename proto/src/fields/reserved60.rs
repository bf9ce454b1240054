//! Field 60: 60.1 type n2, 60.2 batch n6, 60.3 network code n3, and on
//! 0200/0220/0400 also 60.4 read capability n1 and 60.5 IC condition n1.

use super::{FieldError, digits_u64};

/// The parts of field 60.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field60 {
    pub type_code: String,
    pub batch: u32,
    pub network_code: String,
    /// 60.4 and 60.5, present on financial MTIs.
    pub ic: Option<(u8, u8)>,
}

impl Field60 {
    pub fn new(type_code: &str, batch: u32, network_code: &str, ic: Option<(u8, u8)>) -> Self {
        Self { type_code: type_code.into(), batch, network_code: network_code.into(), ic }
    }

    /// 11 or 13 digits.
    pub fn encode(&self) -> String {
        let mut s = format!("{:0>2}{:06}{:0>3}", self.type_code, self.batch % 1_000_000, self.network_code);
        if let Some((read, cond)) = self.ic {
            s.push_str(&format!("{}{}", read % 10, cond % 10));
        }
        s
    }

    pub fn parse(value: &str) -> Result<Self, FieldError> {
        if value.len() != 11 && value.len() != 13 || !value.bytes().all(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(60, format!("expected 11 or 13 digits, got {}", value.len())));
        }
        let part = |r: std::ops::Range<usize>| value.get(r).unwrap_or_default();
        let batch = u32::try_from(digits_u64(60, part(2..8))?).map_err(|_| FieldError::new(60, "batch"))?;
        let ic = if value.len() == 13 {
            let d = |i: usize| value.as_bytes().get(i).map(|c| c - b'0').unwrap_or(0);
            Some((d(11), d(12)))
        } else {
            None
        };
        Ok(Self { type_code: part(0..2).into(), batch, network_code: part(8..11).into(), ic })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn both_lengths() {
        let f = Field60::new("22", 12, "000", Some((5, 0)));
        assert_eq!(f.encode(), "2200001200050");
        assert_eq!(Field60::parse("2200001200050").unwrap(), f);
        assert_eq!(Field60::parse("00000001004").unwrap().network_code, "004");
        assert!(Field60::parse("0000000100").is_err());
    }
}
