//! Field 48 of settlement: two halves of 31 digits — UnionPay cards, then
//! all others — each debit amount n12, debit count n3, credit amount n12,
//! credit count n3 and a flag digit (`0` in the request; `1` balanced or `2`
//! not balanced in the reply). Batch upload end: debit + credit count, n4.

use super::{FieldError, digits_u64};

/// Totals of one half.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub debit_amount: u64,
    pub debit_count: u32,
    pub credit_amount: u64,
    pub credit_count: u32,
}

/// Field 48 of settlement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settlement48 {
    pub unionpay: Totals,
    pub other: Totals,
    /// Flag digits (`0`, `1` or `2`) of each half.
    pub flags: (u8, u8),
}

impl Settlement48 {
    pub fn encode(&self) -> String {
        let half = |t: &Totals, flag: u8| {
            format!("{:012}{:03}{:012}{:03}{}", t.debit_amount % 1_000_000_000_000, t.debit_count % 1000, t.credit_amount % 1_000_000_000_000, t.credit_count % 1000, flag)
        };
        format!("{}{}", half(&self.unionpay, self.flags.0), half(&self.other, self.flags.1))
    }

    pub fn parse(v: &str) -> Result<Self, FieldError> {
        if v.len() != 62 {
            return Err(FieldError::new(48, format!("expected 62 digits, got {}", v.len())));
        }
        let n = |r: std::ops::Range<usize>| digits_u64(48, v.get(r).unwrap_or_default());
        let half = |o: usize| -> Result<(Totals, u8), FieldError> {
            Ok((
                Totals { debit_amount: n(o..o + 12)?, debit_count: n(o + 12..o + 15)? as u32, credit_amount: n(o + 15..o + 27)?, credit_count: n(o + 27..o + 30)? as u32 },
                n(o + 30..o + 31)? as u8,
            ))
        };
        let (unionpay, f0) = half(0)?;
        let (other, f1) = half(31)?;
        Ok(Self { unionpay, other, flags: (f0, f1) })
    }

    /// Both halves balanced.
    pub fn balanced(&self) -> bool {
        self.flags == (1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn layout() {
        let s = Settlement48 { unionpay: Totals { debit_amount: 1234, debit_count: 2, credit_amount: 0, credit_count: 0 }, other: Totals::default(), flags: (1, 2) };
        let e = s.encode();
        assert_eq!(e.len(), 62);
        assert_eq!(&e[30..31], "1");
        assert_eq!(&e[61..62], "2");
        assert_eq!(Settlement48::parse(&e).unwrap(), s);
    }
}
