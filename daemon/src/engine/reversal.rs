//! Sending pending reversals (§6). A reversal goes before any other
//! financial message, up to `retries.reversal_tries` sends; after the last
//! it is flagged and kept, and only `Flush` and `Settle` send it again.
//! A send is counted before it is written, so a crash cannot hide one.
//! Only an authenticated answer clears the record.

use super::failpoint;
use super::wire::WireError;
use super::{Engine, EngineResult, Stage};
use crate::store::journal::{CardSecrets, EntryState, NewEntry};
use crate::store::reversal::PendingReversal;
use crate::store::{Store, StoreError};
use rusqlite::Transaction;
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;

/// What one send of a reversal achieved.
enum Sent {
    Cleared,
    Kept,
    /// The host cannot be reached: stop trying the others too.
    Unreachable,
}

impl Engine {
    /// Commits a reversible request's journal row (in flight) together with
    /// its reversal record, in the transaction that allocated its STAN: the
    /// one commit that must precede the request leaving (§6). Returns the
    /// journal id.
    pub(crate) fn commit_reversible(&self, tx: Transaction<'_>, ex: Exchange, req: &Message, entry: &NewEntry<'_>, card: &CardSecrets) -> EngineResult<i64> {
        let keys = self.store.keystore();
        let jid = Store::insert_entry(&tx, keys.as_ref(), entry, Some(card))?;
        if !failpoint::sabotaged("reversal-record") {
            Store::put_reversal(&tx, keys.as_ref(), jid, &self.freeze(&self.reversal_of(ex, req))?, self.now())?;
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(jid)
    }

    /// Sets the reason of the sale's reversal and sends it at once.
    pub(crate) fn reverse_now(&mut self, journal_id: i64, reason: &str) -> EngineResult<()> {
        let tx = self.store.transaction()?;
        Store::set_reversal_reason(&tx, journal_id, reason)?;
        tx.commit().map_err(StoreError::from)?;
        tracing::warn!(journal_id, reason, "reversing");
        self.send_pending_reversals(false);
        Ok(())
    }

    /// Sends every pending reversal (flagged ones too when `include_flagged`);
    /// returns how many remain. Failures are kept, never raised: the caller
    /// goes on, and the record waits for the next chance.
    pub(crate) fn send_pending_reversals(&mut self, include_flagged: bool) -> usize {
        let pending = match self.store.pending_reversals() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("cannot read pending reversals: {e}");
                return 1;
            }
        };
        let mut remaining = 0;
        let mut iter = pending.into_iter();
        while let Some(rev) = iter.next() {
            if rev.flagged && !include_flagged {
                remaining += 1;
                continue;
            }
            self.stage(Stage::Reversing);
            match self.send_reversal(&rev) {
                Ok(Sent::Cleared) => {}
                Ok(Sent::Kept) => remaining += 1,
                Ok(Sent::Unreachable) | Err(_) => {
                    remaining += 1 + iter.count();
                    break;
                }
            }
        }
        remaining
    }

    fn send_reversal(&mut self, rev: &PendingReversal) -> EngineResult<Sent> {
        let mut msg = self.thaw(&rev.request)?;
        msg.set(39, rev.reason.as_str());
        if self.keys.is_none() {
            // A reversal is MACed: it needs a session.
            if self.ensure_signed_in().is_err() {
                return Ok(Sent::Unreachable);
            }
        }
        if self.connect().is_err() {
            return Ok(Sent::Unreachable);
        }
        let last = rev.tries + 1 >= self.cfg.retries.reversal_tries;
        let tx = self.store.transaction()?;
        Store::count_reversal_try(&tx, rev.journal_id, last)?;
        tx.commit().map_err(StoreError::from)?;
        let answer = self.transmit(Exchange::Reversal, &msg, Some("reversal"));
        let a = match answer {
            Ok(a) if a.macd => a,
            Ok(a) => {
                tracing::warn!(journal_id = rev.journal_id, response_code = a.code(), "reversal answered without MAC; kept");
                self.resign_if_asked();
                return Ok(Sent::Kept);
            }
            Err(WireError::Unreachable(_) | WireError::Untrusted(_)) => return Ok(Sent::Unreachable),
            Err(e) => {
                tracing::warn!(journal_id = rev.journal_id, tries = rev.tries + 1, flagged = last, "reversal not answered: {e:?}");
                return Ok(Sent::Kept);
            }
        };
        match a.code() {
            "00" => {
                failpoint::hit("reversal.clear.before");
                let now = self.civil().rfc3339();
                let tx = self.store.transaction()?;
                Store::set_entry_state(&tx, rev.journal_id, EntryState::Reversed, &now)?;
                Store::clear_reversal(&tx, rev.journal_id)?;
                tx.commit().map_err(StoreError::from)?;
                failpoint::hit("reversal.clear.after");
                tracing::info!(journal_id = rev.journal_id, reason = %rev.reason, "reversed");
                Ok(Sent::Cleared)
            }
            other => {
                // 25/12: the host says this reversal does not match; a person must look.
                tracing::error!(journal_id = rev.journal_id, response_code = other, "the host refused the reversal; kept and flagged");
                if matches!(other, "25" | "12") {
                    let tx = self.store.transaction()?;
                    Store::count_reversal_try(&tx, rev.journal_id, true)?;
                    tx.commit().map_err(StoreError::from)?;
                }
                Ok(Sent::Kept)
            }
        }
    }
}
