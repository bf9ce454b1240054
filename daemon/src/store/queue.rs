//! The advice queue: offline sales waiting to be forwarded, and refunds
//! whose reply was lost (an advice is sent again with its STAN until the
//! host answers, §6). An entry leaves the pending set only when the host's
//! answer is committed (`forwarded_at`); nothing is deleted, nothing expires.
//! The queue lives in the journal rows themselves (schema 3): an advice is
//! its row's `advice_sealed` + `queued_at`, found through the partial index
//! `advice_pending` on the rows still waiting.

use super::keystore::KeyStore;
use super::{Store, StoreError, exec, one};
use rusqlite::{OptionalExtension, Transaction, params};
use zeroize::Zeroizing;

/// A pending advice with its request.
#[derive(Debug)]
pub struct QueuedAdvice {
    pub journal_id: i64,
    /// The advice message without MAC (codec bytes), opened from its seal.
    pub request: Zeroizing<Vec<u8>>,
    pub queued_at: i64,
    pub attempts: u32,
}

/// What `Queue` properties show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Offline sales not yet forwarded.
    pub depth: u32,
    pub amount: u64,
    /// Seconds since the oldest was queued (0 when empty).
    pub oldest_age: u64,
    /// Refunds sent without an answer, waiting to be sent again.
    pub unanswered_refunds: u32,
}

/// The queue's totals as stored (ages need a clock: [`QueueTotals::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueTotals {
    pub depth: u32,
    pub amount: u64,
    pub oldest_queued_at: Option<i64>,
    pub refunds: u32,
}

impl QueueTotals {
    pub fn stats(&self, now: i64) -> QueueStats {
        QueueStats { depth: self.depth, amount: self.amount, oldest_age: self.oldest_queued_at.map_or(0, |t| (now - t).max(0) as u64), unanswered_refunds: self.refunds }
    }
}

/// One line of `Queue.List`: masked data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    pub journal_id: i64,
    pub kind: String,
    pub batch: u32,
    pub stan: u32,
    pub amount: u64,
    pub masked_pan: String,
    pub queued_at: i64,
    pub attempts: u32,
}

fn advice_name(journal_id: i64) -> String {
    format!("advice:{journal_id}")
}

impl Store {
    /// Queues the advice for journal row `journal_id` in `tx`.
    pub fn enqueue(tx: &Transaction<'_>, keys: &dyn KeyStore, journal_id: i64, request: &[u8], now: i64) -> Result<(), StoreError> {
        let sealed = keys.seal(&advice_name(journal_id), request)?;
        exec(tx, "UPDATE journal SET advice_sealed = ?2, queued_at = ?3 WHERE id = ?1", params![journal_id, sealed, now])?;
        Ok(())
    }

    /// The oldest advice not yet answered.
    pub fn next_queued(&self) -> Result<Option<QueuedAdvice>, StoreError> {
        let row: Option<(i64, Vec<u8>, i64, u32)> = one(
            &self.conn,
            "SELECT id, advice_sealed, queued_at, advice_attempts FROM journal WHERE queued_at IS NOT NULL AND forwarded_at IS NULL ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
        let Some((journal_id, sealed, queued_at, attempts)) = row else {
            return Ok(None);
        };
        let request = self.keys.open(&advice_name(journal_id), &sealed)?;
        Ok(Some(QueuedAdvice { journal_id, request, queued_at, attempts }))
    }

    /// Counts a send of the advice (before it is written).
    pub fn count_advice_attempt(tx: &Transaction<'_>, journal_id: i64) -> Result<(), StoreError> {
        exec(tx, "UPDATE journal SET advice_attempts = advice_attempts + 1 WHERE id = ?1", [journal_id])?;
        Ok(())
    }

    /// Marks the advice answered with `outcome` (the response code).
    pub fn mark_forwarded(tx: &Transaction<'_>, journal_id: i64, outcome: &str, now: i64) -> Result<(), StoreError> {
        exec(tx, "UPDATE journal SET forwarded_at = ?2, advice_outcome = ?3 WHERE id = ?1", params![journal_id, now, outcome])?;
        Ok(())
    }

    /// Pending offline sales: count, total and the oldest `queued_at`; and unanswered refunds.
    pub fn queue_totals(&self) -> Result<QueueTotals, StoreError> {
        let (depth, amount, oldest): (u32, i64, Option<i64>) = one(
            &self.conn,
            "SELECT count(*), coalesce(sum(amount), 0), min(queued_at) FROM journal
             WHERE queued_at IS NOT NULL AND forwarded_at IS NULL AND kind = 'sale'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let refunds: u32 = one(&self.conn, "SELECT count(*) FROM journal WHERE queued_at IS NOT NULL AND forwarded_at IS NULL AND kind = 'refund'", [], |r| r.get(0))?;
        Ok(QueueTotals { depth, amount: amount as u64, oldest_queued_at: oldest, refunds })
    }

    pub fn queue_stats(&self, now: i64) -> Result<QueueStats, StoreError> {
        Ok(self.queue_totals()?.stats(now))
    }

    /// Pending advices, oldest first, at most `limit`.
    pub fn queue_list(&self, limit: u32) -> Result<Vec<QueueItem>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, kind, batch, stan, amount, masked_pan, queued_at, advice_attempts FROM journal
             WHERE queued_at IS NOT NULL AND forwarded_at IS NULL ORDER BY id LIMIT ?1",
        )?;
        let rows = st
            .query_map([limit], |r| {
                Ok(QueueItem {
                    journal_id: r.get(0)?,
                    kind: r.get(1)?,
                    batch: r.get(2)?,
                    stan: r.get(3)?,
                    amount: r.get::<_, i64>(4)? as u64,
                    masked_pan: r.get(5)?,
                    queued_at: r.get(6)?,
                    attempts: r.get(7)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How the host answered a forwarded advice (`None`: still pending or unknown).
    pub fn advice_outcome(&self, journal_id: i64) -> Result<Option<String>, StoreError> {
        Ok(one(&self.conn, "SELECT advice_outcome FROM journal WHERE id = ?1", [journal_id], |r| r.get(0)).optional()?.flatten())
    }
}
