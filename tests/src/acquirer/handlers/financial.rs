//! Balance inquiry and sale (0200) on the host side: batch, card, online
//! PIN and ARQC checks, then the issuer's decision with an ARPC (§3, §5, §7).

use super::{Reply, response, stamp};
use crate::acquirer::issuer::{self, Decline};
use crate::acquirer::state::{HostState, HostTxn, TxnState, mask_pan};
use smartpos_proto::codec::Message;
use smartpos_proto::crypto::Key;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::{balance54, reserved60::Field60};
use smartpos_vcard::card::cid;
use smartpos_vcard::testdata::CardProfile;

/// What a financial request is about, once the host knows.
pub(super) struct Context {
    pub tid: String,
    pub batch: u32,
    pub stan: u32,
    pub amount: u64,
    pub entry_mode: String,
}

pub(super) fn context(req: &Message) -> Context {
    let num = |f: u8| req.get_str(f).and_then(|s| s.parse().ok()).unwrap_or(0);
    Context {
        tid: req.get_str(41).unwrap_or_default().to_string(),
        batch: Field60::parse(req.get_str(60).unwrap_or_default()).map(|f| f.batch).unwrap_or(0),
        stan: num(11) as u32,
        amount: num(4),
        entry_mode: req.get_str(22).unwrap_or_default().to_string(),
    }
}

/// A card that passed the issuer's checks, or how far it got.
pub(super) struct Authorization {
    pub card: Option<CardProfile>,
    pub mk: Option<Key>,
    pub arqc: Option<[u8; 8]>,
    pub outcome: Result<(), Decline>,
}

impl Authorization {
    /// Nothing known about the card yet; `outcome` as given.
    pub(super) fn outcome(outcome: Result<(), Decline>) -> Self {
        Self { card: None, mk: None, arqc: None, outcome }
    }

    /// Only the card is known (voids, refunds and advices check no PIN or ARQC here).
    pub(super) fn for_card(card: Option<CardProfile>) -> Self {
        Self { card, ..Self::outcome(Ok(())) }
    }
}

/// Card (field 35), cryptogram, then PIN.
pub(super) fn authorize(state: &mut HostState, req: &Message, tid: &str, with_pin: bool) -> Authorization {
    let mut auth = Authorization::outcome(Ok(()));
    let Some(keys) = state.terminals.get(tid).and_then(|t| t.keys.clone()) else {
        auth.outcome = Err("22");
        return auth;
    };
    let card = match issuer::card_from_track(state, &keys.tdk, req) {
        Ok(c) => c,
        Err(code) => {
            auth.card = req.get_str(2).and_then(|p| state.accounts.get(p)).map(|a| a.profile.clone());
            auth.outcome = Err(code);
            return auth;
        }
    };
    auth.card = Some(card.clone());
    let mk = match issuer::icc_master_key(state, &card) {
        Ok(mk) => mk,
        Err(code) => {
            auth.outcome = Err(code);
            return auth;
        }
    };
    auth.outcome = issuer::contactless_checks(req).and_then(|()| issuer::verify_cryptogram(&mk, req.get(55), cid::ARQC)).map(|ac| auth.arqc = Some(ac));
    auth.mk = Some(mk);
    if auth.outcome.is_ok()
        && with_pin
        && let Some(account) = state.accounts.get_mut(&card.pan)
    {
        auth.outcome = issuer::verify_pin(account, &keys.pik, req.get(52));
    }
    auth
}

/// Adds tag 91 for the answer when an ARQC was verified.
pub(super) fn add_arpc(m: &mut Message, auth: &Authorization, code: &str) {
    if let (Some(mk), Some(arqc)) = (&auth.mk, &auth.arqc) {
        m.set(55, issuer::issuer_authentication(mk, arqc, code));
    }
}

pub(super) fn field44(state: &HostState) -> String {
    format!("{:<11}{:<11}", state.data.issuer.institution, state.data.acquirer.acquiring_institution)
}

/// The batch a 0200 must carry (`77` otherwise) and no repeat of a STAN (`94`).
fn precheck(state: &HostState, ctx: &Context) -> Result<(), Decline> {
    let batch = state.terminals.get(&ctx.tid).map(|t| t.batch).ok_or("97")?;
    if ctx.batch != batch {
        return Err("77");
    }
    if state.find_txn(&ctx.tid, ctx.batch, ctx.stan, &[Exchange::Sale, Exchange::Void, Exchange::BalanceInquiry]).is_some() {
        return Err("94");
    }
    Ok(())
}

pub fn balance(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::BalanceInquiry;
    let ctx = context(req);
    let auth = match precheck(state, &ctx) {
        Ok(()) => authorize(state, req, &ctx.tid, true),
        Err(code) => Authorization::outcome(Err(code)),
    };
    let code = auth.outcome.err().unwrap_or("00");
    let mut m = response(ex, req, code);
    stamp(state, &mut m);
    let rrn = state.next_rrn();
    m.set(37, rrn.as_str()).set(44, field44(state));
    add_arpc(&mut m, &auth, code);
    if code == "00"
        && let Some(card) = &auth.card
    {
        let balance = state.accounts.get(&card.pan).map_or(0, |a| a.balance);
        m.set(54, balance54::encode("156", balance));
    }
    record(state, ex, &ctx, &auth, code, &rrn, "");
    Reply::new(ex, m)
}

pub fn sale(state: &mut HostState, req: &Message) -> Reply {
    let ex = Exchange::Sale;
    let ctx = context(req);
    let mut auth = match precheck(state, &ctx) {
        Ok(()) => authorize(state, req, &ctx.tid, true),
        Err(code) => Authorization::outcome(Err(code)),
    };
    if auth.outcome.is_ok() {
        let balance = auth.card.as_ref().and_then(|c| state.accounts.get(&c.pan)).map_or(0, |a| a.balance);
        if ctx.amount == 0 {
            auth.outcome = Err("13");
        } else if balance < ctx.amount as i64 {
            auth.outcome = Err("51");
        }
    }
    let code = auth.outcome.err().unwrap_or("00");
    let mut m = response(ex, req, code);
    stamp(state, &mut m);
    let rrn = state.next_rrn();
    let now = state.now();
    m.set(15, now.mmdd()).set(32, state.data.acquirer.acquiring_institution.as_str()).set(37, rrn.as_str()).set(44, field44(state));
    add_arpc(&mut m, &auth, code);
    let mut auth_code = String::new();
    if code == "00" {
        auth_code = state.next_auth_code();
        m.set(38, auth_code.as_str());
    }
    let idx = record(state, ex, &ctx, &auth, code, &rrn, &auth_code);
    if code == "00"
        && let Some(i) = idx
    {
        let txn = state.journal[i].clone();
        state.post(&txn, -(ctx.amount as i64));
    }
    Reply::new(ex, m)
}

/// Journals a request whose card is known; returns its index.
pub(super) fn record(state: &mut HostState, ex: Exchange, ctx: &Context, auth: &Authorization, code: &str, rrn: &str, auth_code: &str) -> Option<usize> {
    let card = auth.card.as_ref()?;
    state.journal.push(HostTxn {
        tid: ctx.tid.clone(),
        batch: ctx.batch,
        stan: ctx.stan,
        exchange: ex,
        card: card.label.clone(),
        masked_pan: mask_pan(&card.pan),
        pan: card.pan.clone(),
        aid: card.aid.clone(),
        amount: ctx.amount,
        entry_mode: ctx.entry_mode.clone(),
        response_code: code.into(),
        rrn: rrn.into(),
        auth_code: auth_code.into(),
        date: state.now().mmdd(),
        state: if code == "00" { TxnState::Approved } else { TxnState::Declined },
        voided_by: None,
        refunded: 0,
        original: None,
    });
    Some(state.journal.len() - 1)
}
