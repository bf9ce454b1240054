//! A customer's payment code (§11): what the terminal accepts from a
//! scanned line, how it is shown, and whether this dialect can send it.
//!
//! A code is a bearer credential until the host has used it, so it lives in
//! a zeroizing buffer, its `Debug` is masked, and only [`PaymentCode::masked`]
//! (first 4 and last 4 digits) is ever shown or stored.

use zeroize::Zeroizing;

/// Digits a payment code has at least / at most (§11).
pub const MIN_DIGITS: usize = 16;
pub const MAX_DIGITS: usize = 24;
/// What field 2 (LLVAR n..19, §2) carries in this dialect.
pub const FIELD2_MAX: usize = 19;

/// Why a scanned line is not a payment code this terminal takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the scanned code is empty")]
    Empty,
    #[error("the scanned code holds {0}, not only digits: it is not a payment code (a web link, a product barcode?)")]
    NotDigits(&'static str),
    #[error("the scanned code has {0} digits; a payment code has 16 to 24")]
    Length(usize),
    #[error("this kind of payment code ({0} digits) is not accepted on this terminal: its host takes codes of up to 19 digits")]
    TooLongForField2(usize),
}

/// A payment code that passed §11's checks.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentCode(Zeroizing<String>);

impl std::fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PaymentCode({})", self.masked())
    }
}

impl PaymentCode {
    /// A scanned line (without its CR) as a code: digits only, 16–24 of
    /// them, and at most [`FIELD2_MAX`] so that field 2 can carry it.
    pub fn parse(line: &str) -> Result<Self, CodeError> {
        let code = line.trim_matches([' ', '\t']);
        if code.is_empty() {
            return Err(CodeError::Empty);
        }
        if let Some(c) = code.chars().find(|c| !c.is_ascii_digit()) {
            return Err(CodeError::NotDigits(match c {
                'a'..='z' | 'A'..='Z' => "letters",
                c if c.is_control() => "control characters",
                _ => "other characters",
            }));
        }
        let n = code.len();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&n) {
            return Err(CodeError::Length(n));
        }
        if n > FIELD2_MAX {
            return Err(CodeError::TooLongForField2(n));
        }
        Ok(Self(Zeroizing::new(code.to_string())))
    }

    /// The whole code, for field 2 of the sale only.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// First 4 and last 4 digits, the rest as `*` (results, journal, receipt).
    pub fn masked(&self) -> String {
        let d = self.0.as_str();
        let n = d.len();
        format!("{}{}{}", &d[..4], "*".repeat(n - 8), &d[n - 4..])
    }

    /// In settlement 48 a code counts in the UnionPay half when it starts `62`.
    pub fn is_unionpay(&self) -> bool {
        self.0.starts_with("62")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_16_to_19_digits_and_refuses_the_rest_with_a_reason() {
        let c = PaymentCode::parse("6225880123456789\r".trim_end()).unwrap();
        assert_eq!((c.masked().as_str(), c.is_unionpay()), ("6225********6789", true));
        assert_eq!(format!("{c:?}"), "PaymentCode(6225********6789)", "Debug never shows the code");
        assert_eq!(PaymentCode::parse(" 2834567890123456789 ").unwrap().digits(), "2834567890123456789");
        assert_eq!(PaymentCode::parse(""), Err(CodeError::Empty));
        assert_eq!(PaymentCode::parse("https://qr.example/p"), Err(CodeError::NotDigits("letters")));
        assert_eq!(PaymentCode::parse("6225-8801-2345-6789"), Err(CodeError::NotDigits("other characters")));
        assert_eq!(PaymentCode::parse("622588012345678"), Err(CodeError::Length(15)));
        assert_eq!(PaymentCode::parse("1234567890123456789012345"), Err(CodeError::Length(25)));
        assert_eq!(PaymentCode::parse("12345678901234567890"), Err(CodeError::TooLongForField2(20)));
        assert_eq!(PaymentCode::parse("123456789012345678901234"), Err(CodeError::TooLongForField2(24)));
    }
}
