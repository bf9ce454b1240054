//! The reads the engine repeats before every payment — who the terminal is
//! bound to, its session, whether a reversal waits — kept until a write
//! touches the table they come from.
//!
//! Each read saved is a read transaction: two lock calls and a look at the
//! WAL index, which on this machine's disk made up most of the gap between
//! an offline sale and a bare insert + commit (docs/BENCHMARKS.md). SQLite's
//! update hook names the table of every row this connection changes, and
//! posd is its database's only writer (one posd per state directory), so a
//! value is dropped the moment its table is written — before the commit, so
//! a rollback leaves it dropped too. Inside an open transaction nothing is
//! cached: what it wrote may still be rolled back. (The hook does not fire
//! for a `DELETE` without `WHERE`; the store issues none.)

use super::session::SessionRecord;
use super::{Identity, Store, StoreError};
use rusqlite::Connection;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub(crate) struct ReadCache(Arc<Mutex<Cached>>);

#[derive(Debug, Default)]
pub(crate) struct Cached {
    pub(crate) identity: Option<Option<Identity>>,
    pub(crate) session: Option<Option<SessionRecord>>,
    /// `Some(true)`: no reversal was pending.
    pub(crate) no_reversals: Option<bool>,
}

impl ReadCache {
    /// A cache that `conn`'s writes keep honest.
    pub(crate) fn watching(conn: &Connection) -> Self {
        let cache = Self::default();
        let cached = cache.0.clone();
        conn.update_hook(Some(move |_, _: &str, table: &str, _| {
            let mut c = cached.lock().unwrap_or_else(|p| p.into_inner());
            match table {
                "terminal" => (c.identity, c.session) = (None, None),
                "pending_reversal" => c.no_reversals = None,
                _ => {}
            }
        }));
        cache
    }
}

impl Store {
    /// `slot` of the cache when it holds a value, else `read()`, remembered.
    pub(crate) fn cached<T: Clone>(&self, slot: fn(&mut Cached) -> &mut Option<T>, read: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        if !self.conn.is_autocommit() {
            return read();
        }
        let lock = || self.cache.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = slot(&mut lock()) {
            return Ok(v.clone());
        }
        let v = read()?;
        *slot(&mut lock()) = Some(v.clone());
        Ok(v)
    }
}
