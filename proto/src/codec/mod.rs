//! ISO 8583 framing and messages, driven by a [`FieldTable`] and [`Framing`].
//!
//! A frame is `LEN(2) | TPDU(5) | HEADER(6, optional) | MTI | BITMAP | FIELDS`
//! (acquirer-protocol.md §1). [`Codec`] turns [`Frame`]s into bytes and back;
//! decoding also returns the exact bytes the MAC covers and each field's
//! place in the frame, for MAC checks and audits.

pub mod bcd;
pub mod error;
pub mod field_spec;
pub mod field_table;
mod hex_serde;
mod interpreter;
pub mod message;

pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use field_spec::{FieldSpec, Format, Prefix};
pub use field_table::FieldTable;
pub use message::{Message, Mti};

use interpreter::Reader;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Bytes of the TPDU.
pub const TPDU_LEN: usize = 5;
/// Bytes of the CUP header.
pub const HEADER_LEN: usize = 6;

/// The framing part of a dialect: everything around the message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Framing {
    /// Largest value of the 2-byte length prefix accepted or produced.
    pub max_frame_len: usize,
    /// First TPDU byte.
    #[serde(with = "hex_serde::byte")]
    pub tpdu_id: u8,
    /// NII of the host (destination of requests), 4 BCD digits.
    #[serde(with = "hex_serde::array")]
    pub host_nii: [u8; 2],
    /// NII of the terminal (source of requests), 4 BCD digits.
    #[serde(with = "hex_serde::array")]
    pub terminal_nii: [u8; 2],
    /// The 6-byte header's fixed parts; `None` for dialects without a header.
    pub header: Option<HeaderTemplate>,
}

/// Fixed bytes of the CUP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderTemplate {
    #[serde(with = "hex_serde::byte")]
    pub application_type: u8,
    #[serde(with = "hex_serde::byte")]
    pub software_version: u8,
    #[serde(with = "hex_serde::array")]
    pub sub_version: [u8; 3],
}

impl Default for Framing {
    /// `smartpos-1`: TPDU `60 0003 0000`, header `61 31 s/p 31 00 00`.
    fn default() -> Self {
        Self {
            max_frame_len: 2048,
            tpdu_id: 0x60,
            host_nii: [0x00, 0x03],
            terminal_nii: [0x00, 0x00],
            header: Some(HeaderTemplate { application_type: 0x61, software_version: 0x31, sub_version: [0x31, 0x00, 0x00] }),
        }
    }
}

/// The TPDU: id, destination NII, source NII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tpdu {
    pub id: u8,
    pub destination: [u8; 2],
    pub source: [u8; 2],
}

impl Tpdu {
    /// The TPDU of the reply to this one: destination and source swapped.
    pub fn reply(self) -> Tpdu {
        Tpdu { id: self.id, destination: self.source, source: self.destination }
    }
}

/// The CUP header of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub application_type: u8,
    pub software_version: u8,
    /// Terminal status (high nibble): 0 normal, 1 test mode.
    pub terminal_status: u8,
    /// Processing requirement (low nibble): in a reply, what the host asks
    /// the terminal to do next (0 nothing, 3 sign in, 5 download IC params).
    pub processing: u8,
    pub sub_version: [u8; 3],
}

/// One frame: routing, header and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub tpdu: Tpdu,
    pub header: Option<Header>,
    pub message: Message,
}

/// Where one field sits in a decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpan {
    pub field: u8,
    pub range: Range<usize>,
}

/// A decoded frame with what MAC checks and audits need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrame {
    pub frame: Frame,
    /// The MAC block: bytes from the MTI through the field before 64, when
    /// field 64 is present.
    pub mac_block: Option<Vec<u8>>,
    /// Each present field's raw bytes (prefix included) within the frame.
    pub spans: Vec<FieldSpan>,
}

/// A field table and framing: everything needed to turn frames into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    pub table: FieldTable,
    pub framing: Framing,
}

impl Default for Codec {
    fn default() -> Self {
        Self { table: FieldTable::smartpos1(), framing: Framing::default() }
    }
}

impl Codec {
    pub fn new(table: FieldTable, framing: Framing) -> Self {
        Self { table, framing }
    }

    /// The TPDU a terminal puts on requests.
    pub fn request_tpdu(&self) -> Tpdu {
        Tpdu { id: self.framing.tpdu_id, destination: self.framing.host_nii, source: self.framing.terminal_nii }
    }

    /// The header a terminal puts on requests (status normal, processing 0).
    pub fn request_header(&self) -> Option<Header> {
        self.framing.header.map(|h| Header {
            application_type: h.application_type,
            software_version: h.software_version,
            terminal_status: 0,
            processing: 0,
            sub_version: h.sub_version,
        })
    }

    /// A request frame around `message`.
    pub fn request(&self, message: Message) -> Frame {
        Frame { tpdu: self.request_tpdu(), header: self.request_header(), message }
    }

    /// MTI, bitmap and fields.
    pub fn encode_message(&self, msg: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if msg.mti.0 > 9999 {
            return Err(EncodeError::BadMti(msg.mti.0));
        }
        bcd::pack_len(usize::from(msg.mti.0), 2, out);
        let bitmap = msg.field_numbers().fold(0u64, |b, n| b | 1u64 << (64 - u32::from(n)));
        out.extend_from_slice(&bitmap.to_be_bytes());
        for n in msg.field_numbers() {
            let spec = self.table.get(n).ok_or(EncodeError::UnknownField { field: n })?;
            interpreter::encode_field(spec, msg.get(n).unwrap_or_default(), out)?;
        }
        Ok(())
    }

    /// The whole frame, length prefix included.
    pub fn encode_frame(&self, frame: &Frame) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(&[0, 0]);
        out.push(frame.tpdu.id);
        out.extend_from_slice(&frame.tpdu.destination);
        out.extend_from_slice(&frame.tpdu.source);
        if let Some(h) = frame.header {
            out.extend_from_slice(&[h.application_type, h.software_version, (h.terminal_status & 0x0F) << 4 | (h.processing & 0x0F)]);
            out.extend_from_slice(&h.sub_version);
        }
        self.encode_message(&frame.message, &mut out)?;
        let len = out.len() - 2;
        let max = self.framing.max_frame_len.min(usize::from(u16::MAX));
        if len > max {
            return Err(EncodeError::FrameTooLong { len, max });
        }
        let be = u16::try_from(len).map_err(|_| EncodeError::FrameTooLong { len, max })?.to_be_bytes();
        if let Some(prefix) = out.get_mut(..2) {
            prefix.copy_from_slice(&be);
        }
        Ok(out)
    }

    /// Encodes with field 64 set to `mac(MAC block)`; `frame.message`'s own
    /// field 64, if any, is replaced.
    pub fn encode_frame_with_mac(&self, frame: &Frame, mac: impl FnOnce(&[u8]) -> [u8; 8]) -> Result<Vec<u8>, EncodeError> {
        let mut frame = frame.clone();
        frame.message.set(64, [0u8; 8]);
        let mut bytes = self.encode_frame(&frame)?;
        let mab_start = self.body_offset();
        let mab_end = bytes.len() - 8;
        let value = mac(bytes.get(mab_start..mab_end).unwrap_or_default());
        if let Some(tail) = bytes.get_mut(mab_end..) {
            tail.copy_from_slice(&value);
        }
        Ok(bytes)
    }

    /// Offset of the MTI in a frame (after LEN, TPDU and header).
    pub fn body_offset(&self) -> usize {
        2 + TPDU_LEN + if self.framing.header.is_some() { HEADER_LEN } else { 0 }
    }

    /// The message length announced by a 2-byte prefix, checked against the
    /// dialect's maximum. Stream readers call this before reading the rest.
    pub fn frame_len(&self, prefix: [u8; 2]) -> Result<usize, DecodeError> {
        let len = usize::from(u16::from_be_bytes(prefix));
        if len > self.framing.max_frame_len {
            return Err(DecodeError { kind: DecodeErrorKind::FrameTooLong { len, max: self.framing.max_frame_len }, field: None, offset: 0 });
        }
        Ok(len)
    }

    /// Decodes a whole frame, length prefix included.
    pub fn decode_frame(&self, bytes: &[u8]) -> Result<DecodedFrame, DecodeError> {
        let mut r = Reader::new(bytes, 0);
        let prefix = r.take(2, None)?;
        let announced = self.frame_len([prefix.first().copied().unwrap_or(0), prefix.get(1).copied().unwrap_or(0)])?;
        if announced != r.remaining() {
            return Err(DecodeError { kind: DecodeErrorKind::LengthMismatch { announced, actual: r.remaining() }, field: None, offset: 0 });
        }
        let t = r.take(TPDU_LEN, None)?;
        let at = |i: usize| t.get(i).copied().unwrap_or_default();
        let tpdu = Tpdu { id: at(0), destination: [at(1), at(2)], source: [at(3), at(4)] };
        if tpdu.id != self.framing.tpdu_id {
            return Err(DecodeError { kind: DecodeErrorKind::BadTpdu { found: tpdu.id }, field: None, offset: 2 });
        }
        let header = match self.framing.header {
            None => None,
            Some(_) => {
                let h = r.take(HEADER_LEN, None)?;
                let at = |i: usize| h.get(i).copied().unwrap_or_default();
                Some(Header { application_type: at(0), software_version: at(1), terminal_status: at(2) >> 4, processing: at(2) & 0x0F, sub_version: [at(3), at(4), at(5)] })
            }
        };
        let body_start = r.pos();
        // Built in place: a message is a few hundred bytes, not worth moving twice.
        let mut decoded = DecodedFrame { frame: Frame { tpdu, header, message: Message::new(Mti(0)) }, mac_block: None, spans: Vec::with_capacity(24) };
        self.decode_body(&mut r, &mut decoded.frame.message, &mut decoded.spans)?;
        if r.remaining() > 0 {
            return Err(DecodeError { kind: DecodeErrorKind::TrailingBytes { count: r.remaining() }, field: None, offset: r.pos() });
        }
        decoded.mac_block = decoded.spans.iter().find(|s| s.field == 64).and_then(|s| bytes.get(body_start..s.range.start)).map(<[u8]>::to_vec);
        Ok(decoded)
    }

    fn decode_body(&self, r: &mut Reader<'_>, message: &mut Message, spans: &mut Vec<FieldSpan>) -> Result<(), DecodeError> {
        let mti_at = r.pos();
        let mti_bytes = r.take(2, None)?;
        let mti = bcd::unpack_len(mti_bytes).ok_or(DecodeError { kind: DecodeErrorKind::BadMti, field: None, offset: mti_at })?;
        message.mti = Mti(u16::try_from(mti).unwrap_or_default());
        // Values never take more bytes than twice their packed form.
        message.reserve(2 * r.remaining());
        let bitmap_at = r.pos();
        let b = r.take(8, None)?;
        let bitmap = u64::from_be_bytes(b.try_into().unwrap_or_default());
        if bitmap & (1 << 63) != 0 {
            return Err(DecodeError { kind: DecodeErrorKind::SecondaryBitmap, field: Some(1), offset: bitmap_at });
        }
        for n in 2u8..=64 {
            if bitmap & (1u64 << (64 - u32::from(n))) == 0 {
                continue;
            }
            let start = r.pos();
            let spec = self.table.get(n).ok_or(DecodeError { kind: DecodeErrorKind::UnknownField, field: Some(n), offset: bitmap_at })?;
            message.set_with(n, |out| interpreter::decode_field(spec, r, out))?;
            spans.push(FieldSpan { field: n, range: start..r.pos() });
        }
        Ok(())
    }
}
