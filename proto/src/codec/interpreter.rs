//! The field interpreter: writes and reads one field as its table row says.
//!
//! Encoding checks characters, length and alignment; decoding is strict and
//! total — each malformed byte becomes a [`DecodeError`] naming the field and
//! offset, and no length read from the wire can cause an allocation larger
//! than the frame itself.

use super::bcd::{self, NibbleError};
use super::error::{DecodeError, DecodeErrorKind, EncodeError};
use super::field_spec::{FieldSpec, Format, Prefix};

/// A cursor over a frame that reports offsets relative to the frame start.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes `n` bytes; `field` and `structural` decide which error a short
    /// read becomes.
    pub(crate) fn take(&mut self, n: usize, field: Option<u8>) -> Result<&'a [u8], DecodeError> {
        let available = self.remaining();
        let Some(bytes) = self.buf.get(self.pos..self.pos.saturating_add(n)) else {
            let kind = if field.is_some() { DecodeErrorKind::Overrun { needed: n, available } } else { DecodeErrorKind::Truncated { needed: n, available } };
            return Err(DecodeError { kind, field, offset: self.pos });
        };
        self.pos += n;
        Ok(bytes)
    }
}

/// Appends field `spec` with `value` to `out`.
pub(crate) fn encode_field(spec: &FieldSpec, value: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let field = spec.number;
    // Nibble formats are checked character by character as they are packed;
    // `b` allows every byte.
    if !spec.format.is_nibbles()
        && !spec.format.allows_all(value)
        && let Some(index) = value.iter().position(|&c| !spec.format.allows(c))
    {
        return Err(EncodeError::BadCharacter { field, index });
    }
    let len = value.len();
    let mut pad = 0;
    match spec.prefix {
        Prefix::Fixed => {
            // §2: fixed `an`/`ans` values are right-padded with spaces.
            if matches!(spec.format, Format::An | Format::Ans) && len < spec.max {
                pad = spec.max - len;
            } else if len != spec.max {
                return Err(EncodeError::WrongLength { field, len, expected: spec.max });
            }
        }
        Prefix::Ll | Prefix::Lll => {
            if len > spec.max {
                return Err(EncodeError::TooLong { field, len, max: spec.max });
            }
            bcd::pack_len(len, spec.prefix.width(), out);
        }
    }
    if spec.format.is_nibbles() {
        let start = out.len();
        bcd::pack(value, spec.align, spec.format == Format::Z, out).map_err(|e| {
            out.truncate(start);
            match e {
                NibbleError::BadChar(index) | NibbleError::BadNibble(index) | NibbleError::BadPad(index) => EncodeError::BadCharacter { field, index },
            }
        })?;
    } else {
        out.extend_from_slice(value);
        out.resize(out.len() + pad, b' ');
    }
    Ok(())
}

/// Reads field `spec` at the reader's position, appending its value to `out`.
pub(crate) fn decode_field(spec: &FieldSpec, r: &mut Reader<'_>, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let field = Some(spec.number);
    let err = |kind, offset| DecodeError { kind, field, offset };
    let len = match spec.prefix {
        Prefix::Fixed => spec.max,
        Prefix::Ll | Prefix::Lll => {
            let at = r.pos();
            let prefix = r.take(spec.prefix.width(), field)?;
            let len = bcd::unpack_len(prefix).ok_or_else(|| err(DecodeErrorKind::BadLengthPrefix, at))?;
            if len > spec.max {
                return Err(err(DecodeErrorKind::LengthOverMax { len, max: spec.max }, at));
            }
            len
        }
    };
    let start = r.pos();
    if spec.format.is_nibbles() {
        let data = r.take(bcd::packed_len(len), field)?;
        bcd::unpack_into(data, len, spec.align, spec.format == Format::Z, out).map_err(|e| match e {
            NibbleError::BadNibble(i) | NibbleError::BadChar(i) => err(DecodeErrorKind::NonBcd, start + i),
            NibbleError::BadPad(i) => err(DecodeErrorKind::BadPad, start + i),
        })
    } else {
        let data = r.take(len, field)?;
        if !spec.format.allows_all(data)
            && let Some(i) = data.iter().position(|&c| !spec.format.allows(c))
        {
            let byte = data.get(i).copied().unwrap_or_default();
            return Err(err(DecodeErrorKind::BadCharacter { byte }, start + i));
        }
        out.extend_from_slice(data);
        Ok(())
    }
}
