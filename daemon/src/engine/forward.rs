//! The advice forwarder (§6): queued offline sales — and refunds whose
//! reply was lost — go to the host in queue order, each with its own STAN,
//! until the host answers. The answer and the queue mark commit together;
//! a crash between send and mark sends the advice again, and the host
//! answers a repeat with its held answer or `94`, which counts as delivered.
//! A declined advice is kept in the journal as *advice declined*, not retried.

use super::failpoint;
use super::wire::WireError;
use super::{Engine, EngineError, EngineResult};
use crate::store::journal::{EntryState, Kind, Outcome};
use crate::store::{Store, StoreError};
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::response_code::{self, Category};

/// What `Flush` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushResult {
    /// Advices the host answered (approved, declined or `94`).
    pub forwarded: u32,
    /// Advices still waiting.
    pub remaining: u32,
    /// Of the forwarded, how many the host declined.
    pub declined: u32,
    /// Reversals still pending.
    pub reversals: u32,
}

/// How the host took one advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Answered with `code` (MAC verified): the advice is done.
    Answered { code: String, rrn: String, host_date: String },
    /// Not delivered; try again later (the forwarder stops here: the next would fail too).
    NotYet { error: EngineError },
}

impl Engine {
    /// Sends pending reversals (flagged ones too) and every queued advice.
    pub fn flush(&mut self) -> EngineResult<FlushResult> {
        let r = self.forward_all(true);
        self.resign_if_asked();
        self.record(r)
    }

    /// The housekeeping forward (posd's own, every `retries.forward_every`):
    /// as [`Engine::flush`], but no one asked for it, so it leaves
    /// `LastError` as the last operation someone ran left it (docs/dbus-api.md):
    /// a forward that reached nobody must not hide the network error the
    /// merchant's sale or sign-in just met.
    pub fn forward_in_background(&mut self) {
        if let Err(e) = self.forward_all(true) {
            tracing::info!(kind = e.kind.name(), "background forward: {}", e.message);
        }
        self.resign_if_asked();
    }

    pub(crate) fn forward_all(&mut self, include_flagged: bool) -> EngineResult<FlushResult> {
        self.signed_in_or_offline()?;
        let reversals = self.send_pending_reversals(include_flagged) as u32;
        let mut out = FlushResult { reversals, ..Default::default() };
        while let Some(q) = self.store.next_queued()? {
            let msg = self.thaw(&q.request)?;
            match self.deliver_advice(q.journal_id, &msg)? {
                Delivery::Answered { code, .. } => {
                    out.forwarded += 1;
                    if !matches!(code.as_str(), "00" | "94") {
                        out.declined += 1;
                    }
                }
                Delivery::NotYet { error } => {
                    tracing::info!("forwarding stopped: {}", error.message);
                    break;
                }
            }
        }
        let stats = self.queue_stats()?;
        out.remaining = stats.depth + stats.unanswered_refunds;
        Ok(out)
    }

    /// One send of a queued advice and, when answered, its commit.
    pub(crate) fn deliver_advice(&mut self, journal_id: i64, msg: &Message) -> EngineResult<Delivery> {
        let ex = Exchange::identify(msg).unwrap_or(Exchange::OfflineAdvice);
        if self.keys.is_none() {
            return Ok(Delivery::NotYet { error: EngineError::not_signed_in("advices are MACed") });
        }
        {
            let tx = self.store.transaction()?;
            Store::count_advice_attempt(&tx, journal_id)?;
            tx.commit().map_err(StoreError::from)?;
        }
        let a = match self.exchange(ex, msg, Some("advice")) {
            Ok(a) if a.macd => a,
            Ok(a) => {
                return Ok(Delivery::NotYet { error: EngineError::host_code(a.code(), response_code::lookup(a.code()).meaning) });
            }
            Err(e @ WireError::Local(_)) => return Err(e.into_error()),
            Err(e) => {
                return Ok(Delivery::NotYet { error: e.into_error() });
            }
        };
        let code = a.code().to_string();
        if matches!(response_code::lookup(&code).category, Some(Category::Host | Category::Binding)) && code != "94" {
            return Ok(Delivery::NotYet { error: EngineError::host_code(&code, response_code::lookup(&code).meaning) });
        }
        let rrn = a.msg.get_str(37).unwrap_or("").trim().to_string();
        let host_date = a.msg.get_str(13).unwrap_or("").to_string();
        let entry = self.store.entry(journal_id)?;
        let kind = entry.as_ref().map_or(Kind::Sale, |e| e.kind);
        let delivered = matches!(code.as_str(), "00" | "94");
        let state = match (kind, delivered) {
            (_, true) => EntryState::Approved,
            (Kind::Sale, false) => EntryState::AdviceDeclined,
            (_, false) => EntryState::Declined,
        };
        if code == "94" {
            tracing::warn!(journal_id, "the host had this advice already (94): counted as delivered");
        }
        failpoint::hit("advice.forward-mark.before");
        let now = self.civil().rfc3339();
        let keep_code = entry.as_ref().filter(|e| e.offline).map(|e| e.response_code.clone());
        self.queue_changed();
        let tx = self.store.transaction()?;
        Store::mark_forwarded(&tx, journal_id, &code, self.now())?;
        // An offline sale keeps its Y1/Y3 as its code; the host's answer is the queue's outcome.
        let rc = keep_code.filter(|_| delivered).unwrap_or_else(|| code.clone());
        let auth = entry.as_ref().map(|e| e.auth_code.clone()).unwrap_or_default();
        Store::finish_entry(&tx, journal_id, state, &Outcome { response_code: &rc, rrn: &rrn, auth_code: &auth, host_date: &host_date }, &now)?;
        tx.commit().map_err(StoreError::from)?;
        failpoint::hit("advice.forward-mark.after");
        tracing::info!(journal_id, response_code = %code, "advice answered");
        Ok(Delivery::Answered { code, rrn, host_date })
    }
}
