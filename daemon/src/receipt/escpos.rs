//! A [`Receipt`] as the bytes of an ESC/POS thermal printer (Epson's ESC/POS
//! command reference; the Chinese printers of UnionPay terminals follow it):
//! the printer initialised, its Chinese character mode on so that text goes
//! as GB18030 (through `encoding_rs`), one command per layout element, a QR
//! code by `GS ( k` (model 2), and a feed-and-cut after each copy. The
//! commands are the table [`cmd`]; `docs/receipts.md` says why this small
//! encoder is ours rather than a crate's.

use super::text::{self, WIDTH_58MM, WIDTH_80MM};
use super::{Line, Receipt};

/// The commands a slip uses, as the ESC/POS reference names them.
pub mod cmd {
    /// `ESC @`: initialise (modes back to their defaults).
    pub const INIT: &[u8] = &[0x1B, 0x40];
    /// `FS &`: Chinese (Kanji) character mode: bytes 0x81–0xFE start a two-byte character.
    pub const CHINESE_ON: &[u8] = &[0x1C, 0x26];
    /// `ESC a n`: justification.
    pub const ALIGN_LEFT: &[u8] = &[0x1B, 0x61, 0];
    pub const ALIGN_CENTRE: &[u8] = &[0x1B, 0x61, 1];
    /// `ESC E n`: emphasis.
    pub const BOLD_ON: &[u8] = &[0x1B, 0x45, 1];
    pub const BOLD_OFF: &[u8] = &[0x1B, 0x45, 0];
    /// `GS ! n`: character size (high nibble width, low nibble height, each ×(n+1)).
    pub const SIZE_NORMAL: &[u8] = &[0x1D, 0x21, 0x00];
    pub const SIZE_DOUBLE: &[u8] = &[0x1D, 0x21, 0x11];
    pub const SIZE_TALL: &[u8] = &[0x1D, 0x21, 0x01];
    /// `LF`: print the line and feed.
    pub const LF: u8 = 0x0A;
    /// `GS V 66 n`: feed n dots to the cutter, then a partial cut.
    pub const FEED_AND_CUT: &[u8] = &[0x1D, 0x56, 66, 96];
    /// `DLE EOT 4`: the roll paper sensor's status (one byte back).
    pub const PAPER_STATUS: &[u8] = &[0x10, 0x04, 4];
    /// `GS ( k`, function 165: QR model 2.
    pub const QR_MODEL_2: &[u8] = &[0x1D, 0x28, 0x6B, 4, 0, 0x31, 0x41, 0x32, 0];
    /// Function 167: module size 6 dots.
    pub const QR_SIZE_6: &[u8] = &[0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x43, 6];
    /// Function 169: error correction level M.
    pub const QR_LEVEL_M: &[u8] = &[0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x45, 0x31];
    /// Function 181: print the stored symbol.
    pub const QR_PRINT: &[u8] = &[0x1D, 0x28, 0x6B, 3, 0, 0x31, 0x51, 0x30];
}

/// Paper widths the terminal prints on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    Mm58,
    Mm80,
}

impl Paper {
    /// `58` or `80` (config `printer.paper_mm`).
    pub fn from_mm(mm: u32) -> Option<Self> {
        match mm {
            58 => Some(Paper::Mm58),
            80 => Some(Paper::Mm80),
            _ => None,
        }
    }

    pub fn columns(self) -> usize {
        match self {
            Paper::Mm58 => WIDTH_58MM,
            Paper::Mm80 => WIDTH_80MM,
        }
    }
}

fn gb18030(out: &mut Vec<u8>, s: &str) {
    let (bytes, _, _) = encoding_rs::GB18030.encode(s);
    out.extend_from_slice(&bytes);
}

fn line(out: &mut Vec<u8>, s: &str) {
    gb18030(out, s);
    out.push(cmd::LF);
}

/// `GS ( k` function 180: store `data` in the symbol area.
fn qr_store(out: &mut Vec<u8>, data: &[u8]) {
    let n = data.len() + 3;
    out.extend_from_slice(&[0x1D, 0x28, 0x6B, (n & 0xFF) as u8, (n >> 8) as u8, 0x31, 0x50, 0x30]);
    out.extend_from_slice(data);
}

/// One copy, ending with the feed and cut.
fn copy(out: &mut Vec<u8>, r: &Receipt, cols: usize) {
    for l in &r.lines {
        match l {
            Line::Title(t) => {
                out.extend_from_slice(cmd::ALIGN_CENTRE);
                out.extend_from_slice(cmd::BOLD_ON);
                out.extend_from_slice(cmd::SIZE_DOUBLE);
                for piece in text::wrap(t, cols / 2) {
                    line(out, &piece);
                }
                out.extend_from_slice(cmd::SIZE_NORMAL);
                out.extend_from_slice(cmd::BOLD_OFF);
                out.extend_from_slice(cmd::ALIGN_LEFT);
            }
            Line::Centre(t) => {
                out.extend_from_slice(cmd::ALIGN_CENTRE);
                for piece in text::wrap(t, cols) {
                    line(out, &piece);
                }
                out.extend_from_slice(cmd::ALIGN_LEFT);
            }
            Line::Pair(label, value) => {
                for piece in text::pair(label, value, cols) {
                    line(out, &piece);
                }
            }
            Line::Amount(t) => {
                out.extend_from_slice(cmd::BOLD_ON);
                out.extend_from_slice(cmd::SIZE_TALL);
                for piece in text::wrap(t, cols) {
                    line(out, &piece);
                }
                out.extend_from_slice(cmd::SIZE_NORMAL);
                out.extend_from_slice(cmd::BOLD_OFF);
            }
            Line::Text(t) => {
                for piece in text::wrap(t, cols) {
                    line(out, &piece);
                }
            }
            Line::Rule => line(out, &"-".repeat(cols)),
            Line::Signature => {
                out.extend_from_slice(&[cmd::LF, cmd::LF]);
                line(out, &"_".repeat(cols));
            }
            Line::Qr(content) => {
                out.extend_from_slice(cmd::ALIGN_CENTRE);
                out.extend_from_slice(cmd::QR_MODEL_2);
                out.extend_from_slice(cmd::QR_SIZE_6);
                out.extend_from_slice(cmd::QR_LEVEL_M);
                qr_store(out, content.as_bytes());
                out.extend_from_slice(cmd::QR_PRINT);
                out.push(cmd::LF);
                out.extend_from_slice(cmd::ALIGN_LEFT);
            }
        }
    }
    out.extend_from_slice(&[cmd::LF, cmd::LF]);
    out.extend_from_slice(cmd::FEED_AND_CUT);
}

/// The print job of `copies` (merchant copy then customer copy, cut between
/// and after) on `paper`.
pub fn job(copies: &[Receipt], paper: Paper) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    out.extend_from_slice(cmd::INIT);
    out.extend_from_slice(cmd::CHINESE_ON);
    for r in copies {
        copy(&mut out, r, paper.columns());
    }
    out
}
