//! Field 61: original batch n6 + original STAN n6 (+ original date MMDD
//! for a refund).

use super::{FieldError, digits_u64};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub batch: u32,
    pub stan: u32,
    pub date: Option<String>,
}

impl Original {
    pub fn encode(&self) -> String {
        let mut s = format!("{:06}{:06}", self.batch % 1_000_000, self.stan % 1_000_000);
        if let Some(d) = &self.date {
            s.push_str(d);
        }
        s
    }

    pub fn parse(v: &str) -> Result<Self, FieldError> {
        if v.len() != 12 && v.len() != 16 {
            return Err(FieldError::new(61, "expected 12 or 16 digits"));
        }
        let n = |r: std::ops::Range<usize>| digits_u64(61, v.get(r).unwrap_or_default()).map(|x| x as u32);
        Ok(Self { batch: n(0..6)?, stan: n(6..12)?, date: v.get(12..16).map(Into::into) })
    }
}
