//! A model of a real keypad matrix on virtual time, for the scanner's tests:
//! switches that bounce (several edges per press and per release), and rows
//! and columns coupled as wired without diodes, so pressed keys connect
//! every row and column they touch (three corners of a rectangle make the
//! fourth read as pressed).

use super::{MatrixPins, Rows};
use crate::keypad::KeypadError;
use std::time::Duration;

/// One physical press of the key at (`row`, `col`).
#[derive(Debug, Clone, Copy)]
pub struct Press {
    pub row: usize,
    pub col: usize,
    pub down: Duration,
    pub up: Duration,
    /// How long the contact chatters after closing and after opening.
    pub bounce: Duration,
}

#[derive(Debug)]
pub struct FakeMatrix {
    rows: usize,
    cols: usize,
    driven: Rows,
    now: Duration,
    pub presses: Vec<Press>,
    /// Scans performed (a scan drives each row once).
    pub row_selects: usize,
}

/// Resolution of the model's time when waiting for an edge.
const TICK: Duration = Duration::from_micros(250);

impl FakeMatrix {
    pub fn new(rows: usize, cols: usize, presses: Vec<Press>) -> Self {
        Self { rows, cols, driven: Rows::All, now: Duration::ZERO, presses, row_selects: 0 }
    }

    /// Whether the switch of `p` conducts at time `t`: closed between down
    /// and up, chattering (a pseudo-random pattern, several edges) during
    /// the bounce time after each change.
    fn closed(p: &Press, t: Duration) -> bool {
        let chatter = |since: Duration| {
            let us = since.as_micros() as u64;
            // A fixed irregular on/off pattern of ~300 µs steps.
            (us / 300).wrapping_mul(2_654_435_761) % 7 < 3
        };
        if t < p.down {
            false
        } else if t < p.down + p.bounce {
            chatter(t - p.down)
        } else if t < p.up {
            true
        } else if t < p.up + p.bounce {
            !chatter(t - p.up)
        } else {
            false
        }
    }

    pub fn columns_low_at(&self, t: Duration, driven: Rows) -> u32 {
        // Nodes: rows 0..R, columns R..R+C; closed switches are edges.
        let n = self.rows + self.cols;
        let mut adj = vec![Vec::new(); n];
        for p in self.presses.iter().filter(|p| Self::closed(p, t)) {
            adj[p.row].push(self.rows + p.col);
            adj[self.rows + p.col].push(p.row);
        }
        let mut low = vec![false; n];
        let mut stack: Vec<usize> = match driven {
            Rows::All => (0..self.rows).collect(),
            Rows::One(r) => vec![r],
        };
        while let Some(v) = stack.pop() {
            if !low[v] {
                low[v] = true;
                stack.extend(adj[v].iter().copied());
            }
        }
        (0..self.cols).filter(|c| low[self.rows + c]).fold(0, |m, c| m | 1 << c)
    }
}

impl MatrixPins for FakeMatrix {
    fn row_count(&self) -> usize {
        self.rows
    }
    fn column_count(&self) -> usize {
        self.cols
    }
    fn drive(&mut self, rows: Rows) {
        if let Rows::One(_) = rows {
            self.row_selects += 1;
        }
        self.driven = rows;
        // Reading a pin takes a little time on real hardware too.
        self.now += Duration::from_micros(5);
    }
    fn columns_low(&mut self) -> Result<u32, KeypadError> {
        Ok(self.columns_low_at(self.now, self.driven))
    }
    fn wait_edge(&mut self, timeout: Duration) -> Result<bool, KeypadError> {
        let end = self.now + timeout;
        let mut before = self.columns_low_at(self.now, Rows::All);
        while self.now < end {
            self.now = (self.now + TICK).min(end);
            let after = self.columns_low_at(self.now, Rows::All);
            if after & !before != 0 {
                return Ok(true);
            }
            before = after;
        }
        Ok(false)
    }
    fn sleep(&mut self, d: Duration) {
        self.now += d;
    }
    fn now(&self) -> Duration {
        self.now
    }
}
