//! The advice queue: offline sales waiting to be forwarded, and refunds
//! whose reply was lost (an advice is sent again with its STAN until the
//! host answers, §6). An entry leaves the pending set only when the host's
//! answer is committed (`forwarded_at`); nothing is deleted, nothing expires.
//! The queue lives in the journal rows themselves (schema 3): an advice is
//! its row's `advice_sealed` + `queued_at`.
//!
//! The waiting rows are found without an index (schema 6 dropped it: one
//! page fewer per offline sale). Each store keeps a *floor*, an id below
//! which no row waits, and reads a rowid range from it. It holds because
//! only the newest row of the journal can be queued ([`Store::enqueue`]
//! refuses any other), so a row below the floor that was not waiting never
//! will; and rowids only grow, as nothing is deleted. The floor is found by
//! one scan at first use and moves up as the oldest waiting row is answered,
//! each move read in one statement (one snapshot), so a row queued by the
//! writer meanwhile is always above it. A floor too low is only slower.

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
    /// The masked PAN, or for a payment code's refund the masked code.
    pub masked_pan: String,
    /// Field 22 as journaled: `032` is a payment code (§11).
    pub entry_mode: String,
    pub queued_at: i64,
    pub attempts: u32,
}

fn advice_name(journal_id: i64) -> String {
    format!("advice:{journal_id}")
}

impl Store {
    /// Queues the advice for journal row `journal_id` in `tx`: the row just
    /// inserted, the newest (the floor's rule, in the module doc).
    pub fn enqueue(tx: &Transaction<'_>, keys: &dyn KeyStore, journal_id: i64, request: &[u8], now: i64) -> Result<(), StoreError> {
        let sealed = keys.seal(&advice_name(journal_id), request)?;
        let changed = exec(tx, "UPDATE journal SET advice_sealed = ?2, queued_at = ?3 WHERE id = ?1 AND id = (SELECT max(id) FROM journal)", params![journal_id, sealed, now])?;
        if changed != 1 {
            return Err(StoreError::Invariant(format!("journal row {journal_id} is not the newest: only the row just written can be queued")));
        }
        Ok(())
    }

    /// An id at or below the oldest waiting row, moved up to it (or past the
    /// newest row when none waits) in one snapshot.
    fn queue_floor(&self) -> Result<i64, StoreError> {
        let from = self.queue_floor.get().unwrap_or(0);
        let (oldest, newest): (Option<i64>, i64) = one(
            &self.conn,
            "SELECT (SELECT min(id) FROM journal WHERE id >= ?1 AND queued_at IS NOT NULL AND forwarded_at IS NULL),
                    (SELECT coalesce(max(id), 0) FROM journal)",
            [from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let floor = oldest.unwrap_or(newest + 1).max(from);
        self.queue_floor.set(Some(floor));
        Ok(floor)
    }

    /// The oldest advice not yet answered.
    pub fn next_queued(&self) -> Result<Option<QueuedAdvice>, StoreError> {
        let floor = self.queue_floor()?;
        let row: Option<(i64, Vec<u8>, i64, u32)> = one(
            &self.conn,
            "SELECT id, advice_sealed, queued_at, advice_attempts FROM journal WHERE id >= ?1 AND queued_at IS NOT NULL AND forwarded_at IS NULL ORDER BY id LIMIT 1",
            [floor],
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
        let floor = self.queue_floor()?;
        let (depth, amount, oldest, refunds): (u32, i64, Option<i64>, u32) = one(
            &self.conn,
            "SELECT count(*) FILTER (WHERE kind = 'sale'), coalesce(sum(amount) FILTER (WHERE kind = 'sale'), 0),
                    min(queued_at) FILTER (WHERE kind = 'sale'), count(*) FILTER (WHERE kind = 'refund')
             FROM journal WHERE id >= ?1 AND queued_at IS NOT NULL AND forwarded_at IS NULL",
            [floor],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        Ok(QueueTotals { depth, amount: amount as u64, oldest_queued_at: oldest, refunds })
    }

    pub fn queue_stats(&self, now: i64) -> Result<QueueStats, StoreError> {
        Ok(self.queue_totals()?.stats(now))
    }

    /// Pending advices, oldest first, at most `limit`.
    pub fn queue_list(&self, limit: u32) -> Result<Vec<QueueItem>, StoreError> {
        let floor = self.queue_floor()?;
        let mut st = self.conn.prepare_cached(
            "SELECT id, kind, batch, stan, amount, masked_pan, queued_at, advice_attempts, entry_mode FROM journal
             WHERE id >= ?2 AND queued_at IS NOT NULL AND forwarded_at IS NULL ORDER BY id LIMIT ?1",
        )?;
        let rows = st
            .query_map(params![limit, floor], |r| {
                Ok(QueueItem {
                    journal_id: r.get(0)?,
                    kind: r.get(1)?,
                    batch: r.get(2)?,
                    stan: r.get(3)?,
                    amount: r.get::<_, i64>(4)? as u64,
                    masked_pan: r.get(5)?,
                    queued_at: r.get(6)?,
                    attempts: r.get(7)?,
                    entry_mode: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
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
