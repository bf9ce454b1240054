//! Settlement (0500) and batch upload (0320) on the host side (§3).
//! Totals come from the host's own journal: approved sales (online and
//! offline, voided ones included) are debits, approved voids and refunds
//! credits; reversed entries count nowhere. Each half of field 48 (UnionPay
//! cards, others) is `1` balanced or `2` not.

use super::financial::context;
use super::{Reply, code_only, response, stamp};
use crate::acquirer::issuer::is_unionpay;
use crate::acquirer::state::{HostState, SettlementRecord, TxnState};
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::settlement48::{Settlement48, Totals};

/// The host's totals of a terminal's batch.
pub fn batch_totals(state: &HostState, tid: &str, batch: u32) -> Settlement48 {
    let mut s = Settlement48::default();
    for t in state.journal.iter().filter(|t| t.tid == tid && t.batch == batch && t.state == TxnState::Approved) {
        let half: &mut Totals = if is_unionpay(&t.aid) { &mut s.unionpay } else { &mut s.other };
        match t.exchange {
            Exchange::Sale | Exchange::OfflineAdvice => {
                half.debit_amount += t.amount;
                half.debit_count += 1;
            }
            Exchange::Void | Exchange::Refund => {
                half.credit_amount += t.amount;
                half.credit_count += 1;
            }
            _ => {}
        }
    }
    s
}

/// `disagree`: answer "not balanced" for both halves whatever the totals (a fault).
pub fn settlement(state: &mut HostState, req: &Message, disagree: bool) -> Reply {
    let ex = Exchange::Settlement;
    let ctx = context(req);
    let Some(batch) = state.terminals.get(&ctx.tid).map(|t| t.batch) else { return code_only(ex, req, "97") };
    if ctx.batch != batch {
        return code_only(ex, req, "77");
    }
    let Ok(theirs) = Settlement48::parse(req.get_str(48).unwrap_or_default()) else { return code_only(ex, req, "30") };
    let ours = batch_totals(state, &ctx.tid, batch);
    let flags = if disagree { (2, 2) } else { (if ours.unionpay == theirs.unionpay { 1 } else { 2 }, if ours.other == theirs.other { 1 } else { 2 }) };
    let mut m = response(ex, req, "00");
    let now = state.now();
    let rrn = state.next_rrn();
    stamp(state, &mut m);
    m.set(15, now.mmdd()).set(37, rrn);
    m.set(48, Settlement48 { flags, ..theirs }.encode());
    state.settlements.push(SettlementRecord { tid: ctx.tid, batch, balanced: (flags.0 == 1, flags.1 == 1), uploaded: vec![], closed: false });
    Reply::new(ex, m)
}

pub fn upload_detail(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::BatchUploadDetail;
    let ctx = context(req);
    let known = state.find_txn(&ctx.tid, ctx.batch, ctx.stan, &[Exchange::Sale, Exchange::OfflineAdvice]).is_some();
    if let Some(s) = state.settlements.iter_mut().rev().find(|s| s.tid == ctx.tid && s.batch == ctx.batch && !s.closed) {
        s.uploaded.push(ctx.stan);
    }
    Reply::new(ex, response(ex, req, if known { "00" } else { "25" }))
}

/// Closes the batch on the host: the batch number advances and the held
/// answers of its advices are released.
pub fn upload_end(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::BatchUploadEnd;
    let ctx = context(req);
    let Some(t) = state.terminals.get_mut(&ctx.tid) else { return code_only(ex, req, "97") };
    if ctx.batch != t.batch {
        return code_only(ex, req, "77");
    }
    t.batch = t.batch % 999_999 + 1;
    state.held.retain(|(tid, batch, _), _| !(tid == &ctx.tid && *batch == ctx.batch));
    if let Some(s) = state.settlements.iter_mut().rev().find(|s| s.tid == ctx.tid && s.batch == ctx.batch) {
        s.closed = true;
    }
    Reply::new(ex, response(ex, req, "00"))
}
