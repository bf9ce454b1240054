//! The terminal's persistent state: one SQLite file under the state
//! directory (WAL, `synchronous=FULL`), schema by versioned migrations
//! ([`migrations`]), keys sealed by a [`keystore::KeyStore`] before they
//! are written. Counters advance inside the caller's transaction, so a STAN
//! is never used twice across a crash; STANs are reserved in blocks
//! ([`Store::next_stan`]), so a crash may skip the rest of one block.

pub mod journal;
pub mod keystore;
pub mod migrations;
pub mod parameters;
pub mod queue;
mod read_cache;
pub mod reversal;
pub mod session;

use keystore::{KeyStore, KeyStoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

/// A store failure, with what the operator can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error(transparent)]
    Migration(#[from] migrations::MigrationError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Key(#[from] KeyStoreError),
    #[error("database holds unreadable data: {0}")]
    Corrupt(String),
    /// A program error: the store was asked what its rules forbid.
    #[error("store rule broken: {0}")]
    Invariant(String),
}

/// Who the terminal is bound to (activation result).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub serial: String,
    pub tid: Option<String>,
    pub mid: Option<String>,
    pub merchant_name: Option<String>,
    pub deposit_amount: Option<u64>,
    pub deposit_status: Option<String>,
    pub bound_at: Option<String>,
}

impl Identity {
    pub fn is_bound(&self) -> bool {
        self.tid.is_some() && self.mid.is_some()
    }
}

/// The store.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) keys: Arc<dyn KeyStore>,
    cache: read_cache::ReadCache,
    stans: std::cell::Cell<StanBlock>,
    /// No row below this id waits in the advice queue (`queue.rs`); `None`
    /// until first needed.
    queue_floor: std::cell::Cell<Option<i64>>,
}

/// STANs reserved on disk and not yet handed out: `next..=end`, where
/// `end` is the counter's value when the block was reserved.
#[derive(Debug, Clone, Copy, Default)]
struct StanBlock {
    next: u32,
    end: u32,
}

/// How many STANs one counter write reserves. A crash skips at most this
/// many (§6 asks STANs unique in a batch, not gapless); a reservation saves
/// one B-tree page write on 99 of 100 commits.
pub const STAN_BLOCK: u32 = 100;

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path, keys: Arc<dyn KeyStore>) -> Result<Self, StoreError> {
        Self::open_with(path, keys, migrations::MIGRATIONS)
    }

    /// [`Store::open`] with an explicit migration list (tests).
    pub fn open_with(path: &Path, keys: Arc<dyn KeyStore>, steps: &[&str]) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open { path: path.display().to_string(), source };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // WAL + FULL: a commit is on disk before the message that depends on it leaves.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
        // Every statement the engine runs stays prepared (see `exec`).
        conn.set_prepared_statement_cache_capacity(64);
        migrations::migrate(&mut conn, steps)?;
        let cache = read_cache::ReadCache::watching(&conn);
        Ok(Self { conn, keys, cache, stans: Default::default(), queue_floor: Default::default() })
    }

    /// The folder the database lives in.
    pub fn dir(&self) -> Option<&Path> {
        self.conn.path().map(Path::new).and_then(Path::parent)
    }

    /// A transaction for one state change and everything that must commit
    /// with it. Taken through `&self` (one connection, one owner thread:
    /// nesting would fail loudly, not corrupt).
    pub fn transaction(&self) -> Result<Transaction<'_>, StoreError> {
        Ok(self.conn.unchecked_transaction()?)
    }

    pub fn identity(&self) -> Result<Option<Identity>, StoreError> {
        self.cached(|c| &mut c.identity, || self.read_identity())
    }

    fn read_identity(&self) -> Result<Option<Identity>, StoreError> {
        Ok(one(&self.conn, "SELECT serial, tid, mid, merchant_name, deposit_amount, deposit_status, bound_at FROM terminal WHERE id = 1", [], |r| {
            Ok(Identity {
                serial: r.get(0)?,
                tid: r.get(1)?,
                mid: r.get(2)?,
                merchant_name: r.get(3)?,
                deposit_amount: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                deposit_status: r.get(5)?,
                bound_at: r.get(6)?,
            })
        })
        .optional()?)
    }

    /// Writes the identity (binding) in `tx`.
    pub fn put_identity(tx: &Transaction<'_>, id: &Identity) -> Result<(), StoreError> {
        exec(
            tx,
            "INSERT INTO terminal (id, serial, tid, mid, merchant_name, deposit_amount, deposit_status, bound_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET serial = ?1, tid = ?2, mid = ?3, merchant_name = ?4, deposit_amount = ?5, deposit_status = ?6, bound_at = ?7",
            params![id.serial, id.tid, id.mid, id.merchant_name, id.deposit_amount.map(|v| v as i64), id.deposit_status, id.bound_at],
        )?;
        Ok(())
    }

    /// The key store that seals keys for this database.
    pub fn keystore(&self) -> Arc<dyn KeyStore> {
        self.keys.clone()
    }

    /// Seals `clear` with `keys` and stores it under `name` in `tx`.
    pub fn put_key(tx: &Transaction<'_>, keys: &dyn KeyStore, name: &str, clear: &[u8], kcv: &str, now: &str) -> Result<(), StoreError> {
        let sealed = keys.seal(name, clear)?;
        exec(
            tx,
            "INSERT INTO sealed_key (name, sealed, kcv, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE SET sealed = ?2, kcv = ?3, updated_at = ?4",
            params![name, sealed, kcv, now],
        )?;
        Ok(())
    }

    /// Opens the key stored under `name`.
    pub fn key(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let sealed: Option<Vec<u8>> = one(&self.conn, "SELECT sealed FROM sealed_key WHERE name = ?1", [name], |r| r.get(0)).optional()?;
        Ok(match sealed {
            Some(s) => Some(self.keys.open(name, &s)?),
            None => None,
        })
    }

    /// Forgets keys (`Unbind`, a new activation, sign-out of working keys).
    pub fn delete_keys(tx: &Transaction<'_>, names: &[&str]) -> Result<(), StoreError> {
        for n in names {
            exec(tx, "DELETE FROM sealed_key WHERE name = ?1", [n])?;
        }
        Ok(())
    }

    /// The next STAN (000001–999999, wrapping to 000001, §6), taken in `tx`.
    ///
    /// The counter on disk holds the end of the block reserved last; a STAN
    /// is handed out from memory only while the counter read in `tx` still
    /// says that block is ours. A reservation whose transaction rolled back,
    /// or a counter changed by anyone else, fails that check and a new block
    /// is reserved from what is on disk, so no STAN is handed out that a
    /// committed counter does not cover.
    pub fn next_stan(&self, tx: &Transaction<'_>) -> Result<u32, StoreError> {
        let on_disk = counter(tx, "stan")?.unwrap_or(0);
        let block = self.stans.get();
        if block.end == on_disk && block.next != 0 {
            let stan = block.next;
            let next = if stan == block.end { 0 } else { stan % 999_999 + 1 };
            self.stans.set(StanBlock { next, end: block.end });
            return Ok(stan);
        }
        let first = on_disk % 999_999 + 1;
        let end = (on_disk + STAN_BLOCK - 1) % 999_999 + 1;
        put_counter(tx, "stan", end)?;
        let next = if first == end { 0 } else { first % 999_999 + 1 };
        self.stans.set(StanBlock { next, end });
        Ok(first)
    }

    /// The current batch (1 until the host gives another, §6).
    pub fn batch(&self) -> Result<u32, StoreError> {
        Self::batch_in(&self.conn)
    }

    /// [`Store::batch`] read through `conn` (inside a transaction: no read of its own).
    pub fn batch_in(conn: &Connection) -> Result<u32, StoreError> {
        Ok(counter(conn, "batch")?.unwrap_or(1))
    }

    /// Sets the batch in `tx` (adopted at sign-in, advanced after settlement).
    pub fn set_batch(tx: &Transaction<'_>, batch: u32) -> Result<(), StoreError> {
        put_counter(tx, "batch", batch)
    }

    /// The schema version on disk.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// A pragma's value (for checks and diagnostics).
    pub fn pragma(&self, name: &str) -> Result<String, StoreError> {
        Ok(self.conn.pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0)).map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })?)
    }
}

/// Writes, syncs and removes a probe file in `dir`: what a failed write of
/// the database cannot tell (SQLite reports EROFS and EIO alike as "disk
/// I/O error"), the file system's own error does.
pub fn probe_writable(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let probe = dir.join(".posd-write-probe");
    let mut f = std::fs::File::create(&probe)?;
    f.write_all(b"probe")?;
    f.sync_all()?;
    std::fs::remove_file(&probe)
}

/// `execute` through the statement cache: the hot paths run the same few
/// statements thousands of times, and parsing them each time costs more
/// than the insert.
pub(crate) fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
pub(crate) fn one<T>(conn: &Connection, sql: &str, params: impl rusqlite::Params, f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn counter(conn: &Connection, name: &str) -> Result<Option<u32>, StoreError> {
    Ok(one(conn, "SELECT value FROM counter WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

fn put_counter(conn: &Connection, name: &str, value: u32) -> Result<(), StoreError> {
    exec(conn, "INSERT INTO counter (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = ?2", params![name, value])?;
    Ok(())
}
