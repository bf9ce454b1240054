//! Line framing shared by the scanner backends: bytes in, lines out. A
//! line ends at CR or LF (a CR LF pair gives one line, blank lines none);
//! it is at most `max` characters of printable ASCII, and a longer one is
//! refused whole, its rest dropped up to the next terminator, so that a
//! scanner stuck on a long barcode cannot grow memory or leak its tail into
//! the next line.

use super::{ScannedLine, ScannerError};
use zeroize::Zeroizing;

/// The longest line taken by default: far above §11's 24 digits, far below
/// anything that needs care.
pub const DEFAULT_MAX: usize = 64;

#[derive(Debug)]
pub struct LineFramer {
    buf: Zeroizing<Vec<u8>>,
    max: usize,
    overflow: bool,
}

impl LineFramer {
    pub fn new(max: usize) -> Self {
        Self { buf: Zeroizing::new(Vec::with_capacity(max)), max, overflow: false }
    }

    /// Forgets a partial line (a wait begins, or the device went away).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.overflow = false;
    }

    /// One byte; a finished line (or why it was refused) at its terminator.
    pub fn push(&mut self, b: u8) -> Option<Result<ScannedLine, ScannerError>> {
        if b == b'\r' || b == b'\n' {
            let overflow = std::mem::replace(&mut self.overflow, false);
            if overflow {
                self.buf.clear();
                return Some(Err(ScannerError::LineTooLong(self.max)));
            }
            if self.buf.is_empty() {
                return None;
            }
            let text = self.buf.iter().all(|c| c.is_ascii_graphic() || *c == b' ' || *c == b'\t');
            let line = if text { Ok(ScannedLine(Zeroizing::new(self.buf.iter().map(|&c| char::from(c)).collect()))) } else { Err(ScannerError::NotText) };
            self.buf.clear();
            return Some(line);
        }
        if self.overflow {
            return None;
        }
        if self.buf.len() == self.max {
            self.buf.clear();
            self.overflow = true;
            return None;
        }
        self.buf.push(b);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(f: &mut LineFramer, bytes: &[u8]) -> Vec<Result<String, ScannerError>> {
        bytes.iter().filter_map(|b| f.push(*b)).map(|r| r.map(|l| l.0.to_string())).collect()
    }

    #[test]
    fn lines_end_at_cr_or_lf_and_bad_ones_are_refused_whole() {
        let mut f = LineFramer::new(8);
        assert_eq!(feed(&mut f, b"1234\r\n5678\n\r\r"), [Ok("1234".to_string()), Ok("5678".to_string())]);
        assert_eq!(feed(&mut f, b"123456789abc\r12\r"), [Err(ScannerError::LineTooLong(8)), Ok("12".to_string())], "the long line's tail is not a line");
        assert_eq!(feed(&mut f, b"12345678\r"), [Ok("12345678".to_string())], "exactly max is taken");
        assert_eq!(feed(&mut f, b"12\x1b[A\r99\r"), [Err(ScannerError::NotText), Ok("99".to_string())]);
        assert_eq!(feed(&mut f, b"\xff\xfe\r"), [Err(ScannerError::NotText)]);
        feed(&mut f, b"half");
        f.clear();
        assert_eq!(feed(&mut f, b"77\r"), [Ok("77".to_string())], "a cleared partial line is gone");
    }
}
