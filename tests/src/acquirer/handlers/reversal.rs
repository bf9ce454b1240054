//! Reversal (0400) on the host side (§6): checked in the order the spec
//! gives — 2, 3 or 4 differ from the original's → `25`; the original is not
//! a sale or void → `12`; unknown, declined or already reversed → `00` with
//! no effect — and otherwise undone exactly once.

use super::financial::context;
use super::{Reply, response};
use crate::acquirer::state::{HostState, TxnState};
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;

pub fn reversal(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::Reversal;
    let ctx = context(req);
    let code = undo(state, req, &ctx);
    Reply::new(ex, response(ex, req, code))
}

fn undo(state: &mut HostState, req: &Message, ctx: &super::financial::Context) -> &'static str {
    let any = [Exchange::Sale, Exchange::Void, Exchange::BalanceInquiry, Exchange::Refund, Exchange::OfflineAdvice];
    let Some(i) = state.find_txn(&ctx.tid, ctx.batch, ctx.stan, &any) else { return "00" };
    let o = state.journal[i].clone();
    let proc_code = match o.exchange {
        Exchange::Void | Exchange::Refund => "200000",
        Exchange::BalanceInquiry => "310000",
        _ => "000000",
    };
    if req.get_str(2) != Some(o.pan.as_str()) || req.get_str(3) != Some(proc_code) || req.get_str(4).and_then(|a| a.parse::<u64>().ok()) != Some(o.amount) {
        return "25";
    }
    if !matches!(o.exchange, Exchange::Sale | Exchange::Void) {
        return "12";
    }
    if o.state == TxnState::Pending {
        // A payment-code sale the customer never confirmed: it ends here, uncharged.
        state.journal[i].state = TxnState::Reversed;
        state.confirmations.remove(&(o.tid.clone(), o.batch, o.stan));
        return "00";
    }
    if o.state != TxnState::Approved {
        return "00";
    }
    state.journal[i].state = TxnState::Reversed;
    match o.exchange {
        Exchange::Sale => state.post(&o, o.amount as i64),
        _ => {
            // A reversed void lets the sale stand again.
            state.post(&o, -(o.amount as i64));
            if let Some((b, s)) = o.original
                && let Some(j) = state.find_txn(&o.tid, b, s, &[Exchange::Sale])
            {
                state.journal[j].voided_by = None;
            }
        }
    }
    "00"
}
