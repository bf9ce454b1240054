//! Payment-code sales on the host side (§11): the wallet's single-use code
//! in field 2, `12` on reuse, `14` unknown, `51` short; above the wallet's
//! `confirm_above` the customer confirms on the phone, so the sale is
//! answered `Q1` and stays pending until `confirm_after_ms` has passed, then
//! a status inquiry (61 = the sale's batch + STAN) finds it approved and the
//! wallet is charged. The fault `never_confirm` keeps every such sale
//! pending; a reversal of a pending sale ends it, charging nothing.

use super::financial::{Context, context, field44};
use super::{Reply, code_only, response, stamp};
use crate::acquirer::state::{HostState, HostTxn, PendingConfirmation, TxnState};
use smartpos_proto::codec::Message;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::original61::Original;
use std::time::{Duration, Instant};

/// Field 22 of a payment-code sale (§11).
pub const CODE_ENTRY_MODE: &str = "032";

/// Whether `req` is a payment-code request (field 22).
pub fn is_code(req: &Message) -> bool {
    req.get_str(22) == Some(CODE_ENTRY_MODE)
}

/// The fields a code sale leaves out of §3's sale.
pub const NOT_IN_A_CODE_SALE: &[u8] = &[14, 23, 26, 35, 52, 53, 55];
/// A code payment's void or refund: matched by RRN, no field 2 (§11).
pub const NOT_IN_A_CODE_ADJUSTMENT: &[u8] = &[2, 14, 23, 35, 53, 55];
/// A code payment's batch upload detail.
pub const NOT_IN_A_CODE_UPLOAD: &[u8] = &[23, 55];

/// Whether the host's journal row is a code payment.
pub fn was_code(t: &HostTxn) -> bool {
    t.entry_mode == CODE_ENTRY_MODE
}

/// Whether `req` names the original's payer as §11 and §3 want: a code
/// payment by RRN alone (no field 2), a card by its PAN.
pub fn same_payer(req: &Message, original: &HostTxn) -> bool {
    if was_code(original) { is_code(req) && req.get(2).is_none() } else { req.get_str(2) == Some(original.pan.as_str()) }
}

/// Journals a void or refund of a code payment (the wallet has no card
/// profile): the original's payer, this request's numbers.
pub(super) fn record_adjustment(state: &mut HostState, ex: Exchange, ctx: &Context, original: usize, rrn: &str, auth_code: &str) -> usize {
    let o = &state.journal[original];
    let txn = HostTxn {
        tid: ctx.tid.clone(),
        batch: ctx.batch,
        stan: ctx.stan,
        exchange: ex,
        amount: ctx.amount,
        entry_mode: ctx.entry_mode.clone(),
        response_code: "00".into(),
        rrn: rrn.into(),
        auth_code: auth_code.into(),
        date: state.now().mmdd(),
        state: TxnState::Approved,
        voided_by: None,
        refunded: 0,
        original: Some((o.batch, o.stan)),
        ..o.clone()
    };
    state.journal.push(txn);
    state.journal.len() - 1
}

/// First 4 and last 4 digits.
fn mask_code(code: &str) -> String {
    if code.len() < 8 {
        return "*".repeat(code.len());
    }
    format!("{}{}{}", &code[..4], "*".repeat(code.len() - 8), &code[code.len() - 4..])
}

pub fn sale(state: &mut HostState, req: &Message, never_confirm: bool) -> Reply {
    let ex = Exchange::Sale;
    let ctx = context(req);
    let code_digits = req.get_str(2).unwrap_or_default().to_string();
    let outcome = decide(state, &ctx, &code_digits);
    let code = match outcome {
        Err(c) => c,
        Ok(true) => "Q1",
        Ok(false) => "00",
    };
    let mut m = response(ex, req, code);
    stamp(state, &mut m);
    let rrn = state.next_rrn();
    m.set(15, state.now().mmdd()).set(32, state.data.acquirer.acquiring_institution.as_str()).set(37, rrn.as_str()).set(44, field44(state));
    let Some(wallet) = state.codes.get(&code_digits).cloned() else {
        // Unknown codes are not journaled: the host has no account for them.
        return Reply::new(ex, m);
    };
    let mut auth_code = String::new();
    if code == "00" {
        auth_code = state.next_auth_code();
        m.set(38, auth_code.as_str());
    }
    let txn = HostTxn {
        tid: ctx.tid.clone(),
        batch: ctx.batch,
        stan: ctx.stan,
        exchange: ex,
        card: wallet.profile.label.clone(),
        masked_pan: mask_code(&code_digits),
        pan: code_digits.clone(),
        aid: String::new(),
        amount: ctx.amount,
        entry_mode: ctx.entry_mode.clone(),
        response_code: code.into(),
        rrn,
        auth_code,
        date: state.now().mmdd(),
        state: match code {
            "00" => TxnState::Approved,
            "Q1" => TxnState::Pending,
            _ => TxnState::Declined,
        },
        voided_by: None,
        refunded: 0,
        original: None,
    };
    state.journal.push(txn.clone());
    match code {
        "00" => state.post(&txn, -(ctx.amount as i64)),
        "Q1" => {
            let after = Duration::from_millis(wallet.profile.confirm_after_ms.unwrap_or(0));
            let due = if never_confirm { None } else { Some(Instant::now() + after) };
            state.confirmations.insert((ctx.tid.clone(), ctx.batch, ctx.stan), PendingConfirmation { due });
        }
        _ => {}
    }
    if matches!(code, "00" | "Q1")
        && let Some(w) = state.codes.get_mut(&code_digits)
    {
        w.used = true;
    }
    Reply::new(ex, m)
}

/// `Ok(true)`: the customer must confirm; `Ok(false)`: approved now.
fn decide(state: &HostState, ctx: &Context, code: &str) -> Result<bool, &'static str> {
    let batch = state.terminals.get(&ctx.tid).map(|t| t.batch).ok_or("97")?;
    if ctx.batch != batch {
        return Err("77");
    }
    if state.find_txn(&ctx.tid, ctx.batch, ctx.stan, &[Exchange::Sale, Exchange::Void, Exchange::BalanceInquiry]).is_some() {
        return Err("94");
    }
    let wallet = state.codes.get(code).ok_or("14")?;
    if wallet.used {
        return Err("12");
    }
    if ctx.amount == 0 {
        return Err("13");
    }
    if wallet.balance < ctx.amount as i64 {
        return Err("51");
    }
    Ok(wallet.profile.confirm_above.is_some_and(|limit| ctx.amount > limit))
}

/// The status inquiry: the sale's outcome so far.
pub fn status(state: &mut HostState, req: &Message, never_confirm: bool) -> Reply {
    let ex = Exchange::StatusInquiry;
    let ctx = context(req);
    let Ok(original) = Original::parse(req.get_str(61).unwrap_or_default()) else { return code_only(ex, req, "30") };
    let Some(i) = state.find_txn(&ctx.tid, original.batch, original.stan, &[Exchange::Sale]) else { return code_only(ex, req, "25") };
    let key = (ctx.tid.clone(), original.batch, original.stan);
    if state.journal[i].pan != req.get_str(2).unwrap_or_default() || state.journal[i].amount != ctx.amount {
        return code_only(ex, req, "25");
    }
    let confirmed = state.confirmations.get(&key).is_some_and(|p| !never_confirm && p.due.is_some_and(|d| Instant::now() >= d));
    if state.journal[i].state == TxnState::Pending && confirmed {
        state.confirmations.remove(&key);
        let auth_code = state.next_auth_code();
        let t = &mut state.journal[i];
        (t.state, t.response_code, t.auth_code) = (TxnState::Approved, "00".into(), auth_code);
        let txn = t.clone();
        state.post(&txn, -(txn.amount as i64));
    }
    let t = state.journal[i].clone();
    let code = match t.state {
        TxnState::Pending => "Q1",
        TxnState::Reversed => "25",
        _ => t.response_code.as_str(),
    };
    let mut m = response(ex, req, code);
    stamp(state, &mut m);
    m.set(15, t.date.as_str()).set(37, t.rrn.as_str());
    if code == "00" {
        m.set(38, t.auth_code.as_str());
    }
    Reply::new(ex, m)
}
