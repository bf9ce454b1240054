//! Void (0200), refund and offline sale advice (0220) on the host side.
//! Advices are answered once and their answers held until the batch
//! closes, so a repeat (same TID, batch, STAN) gets the same answer, or
//! `94` once the answer is no longer held (§6).

use super::codes;
use super::financial::{Authorization, Context, context, record};
use super::{Reply, response, stamp};
use crate::acquirer::issuer;
use crate::acquirer::state::{HostState, TxnState};
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::original61::Original;
use smartpos_vcard::card::cid;

/// Voids a sale of the current batch: `25` unknown original (61, 37 or 38
/// wrong), `12` voided already or refunded, `13` amount differs.
pub fn void(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::Void;
    let ctx = context(req);
    let code = check_void(state, req, &ctx);
    let mut m = response(ex, req, code.err().unwrap_or("00"));
    stamp(state, &mut m);
    let rrn = state.next_rrn();
    m.set(37, rrn.as_str());
    let Ok(original) = code else {
        return Reply::new(ex, m);
    };
    let auth_code = state.journal[original].auth_code.clone();
    m.set(38, auth_code.as_str());
    if codes::was_code(&state.journal[original]) {
        let i = codes::record_adjustment(state, ex, &ctx, original, &rrn, &auth_code);
        state.journal[original].voided_by = Some(ctx.stan);
        let txn = state.journal[i].clone();
        state.post(&txn, ctx.amount as i64);
        return Reply::new(ex, m);
    }
    let card = state.accounts.get(&state.journal[original].pan).map(|a| a.profile.clone());
    let auth = Authorization::for_card(card);
    if let Some(i) = record(state, ex, &ctx, &auth, "00", &rrn, &auth_code) {
        state.journal[i].original = Some((state.journal[original].batch, state.journal[original].stan));
        state.journal[original].voided_by = Some(ctx.stan);
        let txn = state.journal[i].clone();
        state.post(&txn, ctx.amount as i64);
    }
    Reply::new(ex, m)
}

fn check_void(state: &HostState, req: &Message, ctx: &Context) -> Result<usize, &'static str> {
    let batch = state.terminals.get(&ctx.tid).map(|t| t.batch).ok_or("97")?;
    if ctx.batch != batch {
        return Err("77");
    }
    let orig = Original::parse(req.get_str(61).unwrap_or_default()).map_err(|_| "30")?;
    let i = state.find_txn(&ctx.tid, orig.batch, orig.stan, &[Exchange::Sale]).ok_or("25")?;
    let o = &state.journal[i];
    if o.state != TxnState::Approved || req.get_str(37) != Some(o.rrn.as_str()) || req.get_str(38).map(str::trim_end) != Some(o.auth_code.as_str()) || !codes::same_payer(req, o) {
        return Err("25");
    }
    if o.voided_by.is_some() || o.refunded > 0 {
        return Err("12");
    }
    if o.amount != ctx.amount {
        return Err("13");
    }
    Ok(i)
}

/// The held answer of a repeated advice, if any: the original answer, or
/// `94` once its batch closed.
fn repeat(state: &HostState, ex: Exchange, req: &Message, ctx: &Context) -> Option<Message> {
    if let Some(m) = state.held.get(&(ctx.tid.clone(), ctx.batch, ctx.stan)) {
        return Some(m.clone());
    }
    // Known but no longer held: its batch closed. An advice the host never
    // saw is processed whatever its batch, so no payment is lost.
    let known = state.find_txn(&ctx.tid, ctx.batch, ctx.stan, &[ex]).is_some();
    known.then(|| response(ex, req, "94"))
}

fn hold(state: &mut HostState, ctx: &Context, m: &Message) {
    state.held.insert((ctx.tid.clone(), ctx.batch, ctx.stan), m.clone());
}

/// A refund against a sale found by batch + STAN of field 61, or by RRN and
/// date within the merchant when those are zeros.
pub fn refund(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::Refund;
    let ctx = context(req);
    if let Some(m) = repeat(state, ex, req, &ctx) {
        return Reply::new(ex, m);
    }
    let found = find_refund_original(state, req, &ctx);
    let mut m = response(ex, req, found.err().unwrap_or("00"));
    stamp(state, &mut m);
    let rrn = state.next_rrn();
    m.set(37, rrn.as_str());
    if let Ok(original) = found
        && codes::was_code(&state.journal[original])
    {
        let i = codes::record_adjustment(state, ex, &ctx, original, &rrn, "");
        state.journal[original].refunded += ctx.amount;
        let txn = state.journal[i].clone();
        state.post(&txn, ctx.amount as i64);
    } else if let Ok(original) = found {
        let card = state.accounts.get(&state.journal[original].pan).map(|a| a.profile.clone());
        let auth = Authorization::for_card(card);
        if let Some(i) = record(state, ex, &ctx, &auth, "00", &rrn, "") {
            state.journal[i].original = Some((state.journal[original].batch, state.journal[original].stan));
            state.journal[original].refunded += ctx.amount;
            let txn = state.journal[i].clone();
            state.post(&txn, ctx.amount as i64);
        }
    }
    hold(state, &ctx, &m);
    Reply::new(ex, m)
}

fn find_refund_original(state: &HostState, req: &Message, ctx: &Context) -> Result<usize, &'static str> {
    let orig = Original::parse(req.get_str(61).unwrap_or_default()).map_err(|_| "30")?;
    let rrn = req.get_str(37).unwrap_or_default();
    let mid = state.terminals.get(&ctx.tid).map(|t| t.mid.clone()).ok_or("97")?;
    let i = if orig.batch == 0 && orig.stan == 0 {
        let same_merchant = |tid: &str| state.terminals.get(tid).is_some_and(|t| t.mid == mid);
        state.journal.iter().rposition(|t| t.exchange == Exchange::Sale && t.rrn == rrn && Some(t.date.as_str()) == orig.date.as_deref() && same_merchant(&t.tid)).ok_or("25")?
    } else {
        let i = state.find_txn(&ctx.tid, orig.batch, orig.stan, &[Exchange::Sale]).ok_or("25")?;
        // The original's RRN and the date the host recorded must both match.
        if state.journal[i].rrn != rrn || orig.date.as_deref() != Some(state.journal[i].date.as_str()) {
            return Err("25");
        }
        i
    };
    let o = &state.journal[i];
    if o.state != TxnState::Approved || !codes::same_payer(req, o) {
        return Err("25");
    }
    if o.voided_by.is_some() {
        return Err("12");
    }
    if ctx.amount == 0 || ctx.amount > o.amount - o.refunded {
        return Err("13");
    }
    Ok(i)
}

/// An offline sale the card approved with a TC: charged once, even past
/// the balance (the offline approval binds the issuer), `05` when the TC
/// does not verify.
pub fn offline_advice(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::OfflineAdvice;
    let ctx = context(req);
    if let Some(m) = repeat(state, ex, req, &ctx) {
        return Reply::new(ex, m);
    }
    let pan = req.get_str(2).unwrap_or_default().to_string();
    let card = state.accounts.get(&pan).map(|a| a.profile.clone());
    let outcome = match &card {
        None => Err("14"),
        Some(c) => issuer::contactless_checks(req).and_then(|()| issuer::icc_master_key(state, c)).and_then(|mk| issuer::verify_cryptogram(&mk, req.get(55), cid::TC)).map(|_| ()),
    };
    let code = outcome.err().unwrap_or("00");
    let mut m = response(ex, req, code);
    let rrn = state.next_rrn();
    m.set(37, rrn.as_str());
    let auth = Authorization::for_card(card);
    if let Some(i) = record(state, ex, &ctx, &auth, code, &rrn, "")
        && code == "00"
    {
        let txn = state.journal[i].clone();
        state.post(&txn, -(ctx.amount as i64));
    }
    hold(state, &ctx, &m);
    Reply::new(ex, m)
}
