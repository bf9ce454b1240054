//! Typed codec errors. Each names the field (when there is one) and the byte
//! offset from the start of the frame, so a log line says exactly where a
//! peer's message went wrong.

use std::fmt;

/// What was wrong with the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The 2-byte length announces more than the dialect allows.
    FrameTooLong { len: usize, max: usize },
    /// The buffer does not hold exactly what the length announced.
    LengthMismatch { announced: usize, actual: usize },
    /// Input ended before the part being read was complete.
    Truncated { needed: usize, available: usize },
    /// The TPDU does not start with the dialect's id byte.
    BadTpdu { found: u8 },
    /// The MTI is not four BCD digits.
    BadMti,
    /// Bit 1 is set: this dialect has no secondary bitmap.
    SecondaryBitmap,
    /// The bitmap names a field the table does not define.
    UnknownField,
    /// A numeric field holds a nibble above 9.
    NonBcd,
    /// The pad nibble of an odd-length value is not 0.
    BadPad,
    /// A length prefix is not BCD.
    BadLengthPrefix,
    /// A length prefix above the field's maximum (or a fixed field's length).
    LengthOverMax { len: usize, max: usize },
    /// The field runs past the end of the frame.
    Overrun { needed: usize, available: usize },
    /// A character the field's format does not allow.
    BadCharacter { byte: u8 },
    /// Bytes left after the last field.
    TrailingBytes { count: usize },
}

/// A frame that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    /// The field being read, if any.
    pub field: Option<u8>,
    /// Byte offset from the start of the frame (the length prefix is byte 0).
    pub offset: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeErrorKind::*;
        match &self.kind {
            FrameTooLong { len, max } => write!(f, "frame length {len} exceeds {max}")?,
            LengthMismatch { announced, actual } => write!(f, "frame announces {announced} bytes but holds {actual}")?,
            Truncated { needed, available } => write!(f, "truncated: needed {needed} bytes, {available} left")?,
            BadTpdu { found } => write!(f, "TPDU id {found:#04x} is not the dialect's")?,
            BadMti => write!(f, "MTI is not BCD")?,
            SecondaryBitmap => write!(f, "secondary bitmap not supported")?,
            UnknownField => write!(f, "field not in the table")?,
            NonBcd => write!(f, "non-BCD nibble")?,
            BadPad => write!(f, "pad nibble is not 0")?,
            BadLengthPrefix => write!(f, "length prefix is not BCD")?,
            LengthOverMax { len, max } => write!(f, "length {len} exceeds maximum {max}")?,
            Overrun { needed, available } => write!(f, "field overruns the frame: needs {needed} bytes, {available} left")?,
            BadCharacter { byte } => write!(f, "character {byte:#04x} not allowed")?,
            TrailingBytes { count } => write!(f, "{count} bytes after the last field")?,
        }
        if let Some(n) = self.field {
            write!(f, " in field {n}")?;
        }
        write!(f, " at byte {}", self.offset)
    }
}

impl std::error::Error for DecodeError {}

/// A message that could not be encoded: a bug in the caller, or data from
/// outside (a card) that does not fit the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("field {field} is not in the table")]
    UnknownField { field: u8 },
    #[error("field {field}: character at index {index} not allowed")]
    BadCharacter { field: u8, index: usize },
    #[error("field {field}: length {len}, expected exactly {expected}")]
    WrongLength { field: u8, len: usize, expected: usize },
    #[error("field {field}: length {len} exceeds maximum {max}")]
    TooLong { field: u8, len: usize, max: usize },
    #[error("MTI {0} is not four digits")]
    BadMti(u16),
    #[error("encoded frame of {len} bytes exceeds {max}")]
    FrameTooLong { len: usize, max: usize },
}
