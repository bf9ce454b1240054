//! Fields with inner structure: typed builders and total parsers for the
//! sub-elements of fields 48, 54, 59, 60, 61 and 62 (acquirer-protocol.md
//! §2–§3, and §8's downloads). Each parser turns a peer's bad value into [`FieldError`].

pub mod activation62;
pub mod balance54;
pub mod download62;
pub mod original61;
pub mod reserved60;
pub mod settlement48;
pub mod sign_in62;
pub mod terminal_info59;

/// A structured field whose content does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field}: {reason}")]
pub struct FieldError {
    pub field: u8,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: u8, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// Parses ASCII decimal digits, refusing anything else.
pub(crate) fn digits_u64(field: u8, s: &str) -> Result<u64, FieldError> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(FieldError::new(field, format!("{s:?} is not digits")));
    }
    s.parse().map_err(|_| FieldError::new(field, format!("{s:?} out of range")))
}
