//! BER-TLV as EMV uses it (field 55, card records, activation field 62).
//!
//! Parsing is strict so that decode → encode gives the same bytes: tags of
//! up to 3 bytes, lengths in their shortest form (one byte below 128, `81 xx`
//! below 256, `82 xx xx` above), no padding between objects. Nesting is
//! bounded, so hostile input cannot exhaust the stack.

use std::fmt;

/// A tag, as its bytes read big-endian (`9F26` is `0x9F26`).
pub type Tag = u32;

/// Deepest nesting [`find`] and [`parse_tree`] follow.
pub const MAX_DEPTH: usize = 8;

/// One TLV object.
#[derive(Clone, PartialEq, Eq)]
pub struct Tlv {
    pub tag: Tag,
    pub value: Vec<u8>,
}

impl fmt::Debug for Tlv {
    /// Tag and length only: values may be card data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tlv({:X}, {} bytes)", self.tag, self.value.len())
    }
}

impl Tlv {
    pub fn new(tag: Tag, value: impl Into<Vec<u8>>) -> Self {
        Self { tag, value: value.into() }
    }

    /// Whether the tag marks a constructed object (bit 6 of the first byte).
    pub fn is_constructed(&self) -> bool {
        tag_first_byte(self.tag) & 0x20 != 0
    }
}

fn tag_first_byte(tag: Tag) -> u8 {
    let bytes = tag.to_be_bytes();
    bytes.iter().copied().find(|&b| b != 0).unwrap_or(0)
}

/// Why bytes are not valid TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    #[error("input ends inside a tag at byte {0}")]
    TruncatedTag(usize),
    #[error("tag longer than 3 bytes at byte {0}")]
    TagTooLong(usize),
    #[error("input ends inside a length at byte {0}")]
    TruncatedLength(usize),
    #[error("length form not supported or not minimal at byte {0}")]
    BadLength(usize),
    #[error("value runs past the end at byte {0}")]
    Overrun(usize),
    #[error("tag 00 (padding) at byte {0}")]
    ZeroTag(usize),
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
}

fn read_tag(data: &[u8], pos: &mut usize) -> Result<Tag, TlvError> {
    let start = *pos;
    let first = *data.get(*pos).ok_or(TlvError::TruncatedTag(start))?;
    if first == 0x00 || first == 0xFF {
        return Err(TlvError::ZeroTag(start));
    }
    *pos += 1;
    let mut tag = Tag::from(first);
    if first & 0x1F == 0x1F {
        loop {
            let b = *data.get(*pos).ok_or(TlvError::TruncatedTag(start))?;
            *pos += 1;
            tag = tag << 8 | Tag::from(b);
            if *pos - start > 3 {
                return Err(TlvError::TagTooLong(start));
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    Ok(tag)
}

fn read_len(data: &[u8], pos: &mut usize) -> Result<usize, TlvError> {
    let start = *pos;
    let first = *data.get(*pos).ok_or(TlvError::TruncatedLength(start))?;
    *pos += 1;
    let byte = |p: usize| data.get(p).copied().map(usize::from).ok_or(TlvError::TruncatedLength(start));
    let len = match first {
        0x00..=0x7F => usize::from(first),
        0x81 => {
            let l = byte(*pos)?;
            *pos += 1;
            if l < 0x80 {
                return Err(TlvError::BadLength(start));
            }
            l
        }
        0x82 => {
            let l = byte(*pos)? << 8 | byte(*pos + 1)?;
            *pos += 2;
            if l < 0x100 {
                return Err(TlvError::BadLength(start));
            }
            l
        }
        _ => return Err(TlvError::BadLength(start)),
    };
    Ok(len)
}

/// Parses a flat sequence of TLV objects (constructed values not opened).
pub fn parse(data: &[u8]) -> Result<Vec<Tlv>, TlvError> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        let tag = read_tag(data, &mut pos)?;
        let len = read_len(data, &mut pos)?;
        let value = data.get(pos..pos + len).ok_or(TlvError::Overrun(pos))?;
        pos += len;
        out.push(Tlv { tag, value: value.to_vec() });
    }
    Ok(out)
}

/// Checks that `data` and every constructed value inside it parse.
pub fn parse_tree(data: &[u8]) -> Result<Vec<Tlv>, TlvError> {
    fn check(items: &[Tlv], depth: usize) -> Result<(), TlvError> {
        if depth > MAX_DEPTH {
            return Err(TlvError::TooDeep);
        }
        for t in items.iter().filter(|t| t.is_constructed()) {
            check(&parse(&t.value)?, depth + 1)?;
        }
        Ok(())
    }
    let items = parse(data)?;
    check(&items, 1)?;
    Ok(items)
}

/// The value of the first `tag` found, searching constructed objects too.
pub fn find(data: &[u8], tag: Tag) -> Option<Vec<u8>> {
    fn walk(data: &[u8], tag: Tag, depth: usize) -> Option<Vec<u8>> {
        if depth > MAX_DEPTH {
            return None;
        }
        for t in parse(data).ok()? {
            if t.tag == tag {
                return Some(t.value);
            }
            if t.is_constructed()
                && let Some(v) = walk(&t.value, tag, depth + 1)
            {
                return Some(v);
            }
        }
        None
    }
    walk(data, tag, 1)
}

/// Appends a tag's bytes.
pub fn write_tag(tag: Tag, out: &mut Vec<u8>) {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(3);
    out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
}

/// Appends a length in its shortest form.
pub fn write_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

/// Appends one object.
pub fn write(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    write_tag(tag, out);
    write_len(value.len(), out);
    out.extend_from_slice(value);
}

/// Encodes a sequence of objects.
pub fn encode(items: &[Tlv]) -> Vec<u8> {
    let mut out = Vec::new();
    for t in items {
        write(t.tag, &t.value, &mut out);
    }
    out
}

/// A data object list (CDOL, PDOL): tag + length pairs, no values.
pub fn parse_dol(data: &[u8]) -> Result<Vec<(Tag, usize)>, TlvError> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < data.len() {
        let tag = read_tag(data, &mut pos)?;
        let len = read_len(data, &mut pos)?;
        out.push((tag, len));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_lengths_and_nesting() {
        let mut inner = Vec::new();
        write(0x5A, &[0x62, 0x28], &mut inner);
        write(0x9F36, &[0, 1], &mut inner);
        let mut outer = Vec::new();
        write(0x70, &inner, &mut outer);
        assert_eq!(outer, [0x70, 0x09, 0x5A, 0x02, 0x62, 0x28, 0x9F, 0x36, 0x02, 0x00, 0x01]);
        assert_eq!(find(&outer, 0x9F36).unwrap(), [0, 1]);
        assert_eq!(parse_tree(&outer).unwrap().len(), 1);
        let long = vec![0xAB; 300];
        let mut enc = Vec::new();
        write(0xDF03, &long, &mut enc);
        assert_eq!(&enc[..5], &[0xDF, 0x03, 0x82, 0x01, 0x2C]);
        assert_eq!(parse(&enc).unwrap()[0].value.len(), 300);
    }

    #[test]
    fn bad_inputs_are_named() {
        let cases: &[(&[u8], TlvError)] = &[
            (&[0x9F], TlvError::TruncatedTag(0)),
            (&[0x9F, 0x81, 0x81, 0x01, 0x00], TlvError::TagTooLong(0)),
            (&[0x5A], TlvError::TruncatedLength(1)),
            (&[0x5A, 0x81, 0x05], TlvError::BadLength(1)),
            (&[0x5A, 0x83, 0, 0, 1], TlvError::BadLength(1)),
            (&[0x5A, 0x03, 0x01], TlvError::Overrun(2)),
            (&[0x00], TlvError::ZeroTag(0)),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).unwrap_err(), *want, "{input:02X?}");
        }
        let mut deep = vec![0x5A, 0x00];
        for _ in 0..10 {
            let mut next = Vec::new();
            write(0x70, &deep, &mut next);
            deep = next;
        }
        assert_eq!(parse_tree(&deep).unwrap_err(), TlvError::TooDeep);
    }

    #[test]
    fn dol() {
        let cdol1 = hex::decode("9F02069F03069F1A0295055F2A029A039C019F3704").unwrap();
        let d = parse_dol(&cdol1).unwrap();
        assert_eq!(d.iter().map(|x| x.1).sum::<usize>(), 29);
    }
}
