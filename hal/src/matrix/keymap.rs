//! What each key of the matrix means, from the configuration: one string per
//! row, keys separated by spaces, e.g. `["1 2 3 F1", "4 5 6 F2", "7 8 9 F3", "* 0 # F4"]`.

use crate::keypad::KeypadError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixKey {
    Digit(u8),
    /// `*`: clear (short), cancel (long).
    Star,
    /// `#`: enter.
    Hash,
    /// `F1`…`F9`: function keys, for the apps.
    Function(u8),
    /// `-`: no key at this position.
    None,
}

impl MatrixKey {
    pub fn has_long_meaning(self) -> bool {
        self == MatrixKey::Star
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMap {
    keys: Vec<Vec<MatrixKey>>,
}

impl KeyMap {
    /// The common 4×4 PIN pad layout.
    pub fn standard() -> Self {
        Self::parse(&["1 2 3 F1", "4 5 6 F2", "7 8 9 F3", "* 0 # F4"]).unwrap_or(Self { keys: Vec::new() })
    }

    pub fn parse<S: AsRef<str>>(rows: &[S]) -> Result<Self, KeypadError> {
        let keys: Vec<Vec<MatrixKey>> = rows
            .iter()
            .enumerate()
            .map(|(r, row)| {
                row.as_ref()
                    .split_whitespace()
                    .map(|k| parse_key(k).ok_or_else(|| KeypadError::Device(format!("key map row {}: unknown key {k:?} (use 0-9, *, #, F1-F9 or -)", r + 1))))
                    .collect()
            })
            .collect::<Result<_, _>>()?;
        let width = keys.first().map_or(0, Vec::len);
        if keys.is_empty() || width == 0 || keys.iter().any(|r| r.len() != width) {
            return Err(KeypadError::Device("key map: every row needs the same number of keys, at least one".into()));
        }
        if keys.len() > 16 || width > 16 {
            return Err(KeypadError::Device("key map: at most 16 rows and 16 columns".into()));
        }
        Ok(Self { keys })
    }

    pub fn rows(&self) -> usize {
        self.keys.len()
    }

    pub fn columns(&self) -> usize {
        self.keys.first().map_or(0, Vec::len)
    }

    pub fn key(&self, row: usize, column: usize) -> MatrixKey {
        self.keys.get(row).and_then(|r| r.get(column)).copied().unwrap_or(MatrixKey::None)
    }
}

fn parse_key(k: &str) -> Option<MatrixKey> {
    match k {
        "*" => Some(MatrixKey::Star),
        "#" => Some(MatrixKey::Hash),
        "-" => Some(MatrixKey::None),
        d if d.len() == 1 => d.parse().ok().map(MatrixKey::Digit),
        f => f.strip_prefix('F').and_then(|n| n.parse().ok()).filter(|n| (1..=9).contains(n)).map(MatrixKey::Function),
    }
}
