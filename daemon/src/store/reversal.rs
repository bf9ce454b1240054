//! Pending reversals (§6): the 0400 for a sale or void, committed before
//! the original request is written, cleared only by an authenticated
//! answer, flagged (never dropped) after the configured number of sends.

use super::keystore::KeyStore;
use super::{Store, StoreError, exec, one};
use rusqlite::{Transaction, params};
use zeroize::Zeroizing;

/// A reversal waiting to be sent.
#[derive(Debug)]
pub struct PendingReversal {
    pub journal_id: i64,
    /// Field 39 of the reversal: `06`, `98`, `A0` or `96`.
    pub reason: String,
    /// The reversal request without MAC (codec bytes; 39 is set when sent).
    pub request: Zeroizing<Vec<u8>>,
    pub tries: u32,
    pub flagged: bool,
}

fn reversal_name(journal_id: i64) -> String {
    format!("reversal:{journal_id}")
}

impl Store {
    /// Commits the reversal of journal row `journal_id` (reason `06` until
    /// the exchange tells otherwise).
    pub fn put_reversal(tx: &Transaction<'_>, keys: &dyn KeyStore, journal_id: i64, request: &[u8], now: i64) -> Result<(), StoreError> {
        let sealed = keys.seal(&reversal_name(journal_id), request)?;
        exec(tx, "INSERT INTO pending_reversal (journal_id, reason, request_sealed, created_at) VALUES (?1, '06', ?2, ?3)", params![journal_id, sealed, now])?;
        Ok(())
    }

    pub fn set_reversal_reason(tx: &Transaction<'_>, journal_id: i64, reason: &str) -> Result<(), StoreError> {
        exec(tx, "UPDATE pending_reversal SET reason = ?2 WHERE journal_id = ?1", params![journal_id, reason])?;
        Ok(())
    }

    /// Counts a send; `flag` marks it as out of tries.
    pub fn count_reversal_try(tx: &Transaction<'_>, journal_id: i64, flag: bool) -> Result<(), StoreError> {
        exec(tx, "UPDATE pending_reversal SET tries = tries + 1, flagged = flagged OR ?2 WHERE journal_id = ?1", params![journal_id, flag])?;
        Ok(())
    }

    /// Removes the record: the original was answered, or the reversal was.
    pub fn clear_reversal(tx: &Transaction<'_>, journal_id: i64) -> Result<(), StoreError> {
        exec(tx, "DELETE FROM pending_reversal WHERE journal_id = ?1", [journal_id])?;
        Ok(())
    }

    /// All pending reversals, oldest first.
    pub fn pending_reversals(&self) -> Result<Vec<PendingReversal>, StoreError> {
        // Only "none" is remembered: the records hold sealed requests, opened on read.
        if self.cached(|c| &mut c.no_reversals, || Ok(self.count_reversals()? == 0))? {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare_cached("SELECT journal_id, reason, request_sealed, tries, flagged FROM pending_reversal ORDER BY journal_id")?;
        let rows: Vec<(i64, String, Vec<u8>, u32, bool)> = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?.collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(journal_id, reason, sealed, tries, flagged)| {
                Ok(PendingReversal { journal_id, request: self.keys.open(&reversal_name(journal_id), &sealed)?, reason, tries, flagged })
            })
            .collect()
    }

    fn count_reversals(&self) -> Result<u32, StoreError> {
        Ok(one(&self.conn, "SELECT count(*) FROM pending_reversal", [], |r| r.get(0))?)
    }
}
