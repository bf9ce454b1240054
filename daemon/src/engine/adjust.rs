//! Void and refund (§3). A void is reversible: its reversal record is
//! committed before it leaves, like a sale's. A refund is an advice (0220):
//! it is queued before it leaves and sent again with its STAN until the
//! host answers. A void never needs the card again; a refund reads the card
//! it pays back to — except for a payment code's, which the host matches by
//! RRN and date alone and which carries no field 2 (§11).

use super::card_session::Interfaces;
use super::emv::TxnType;
use super::failpoint;
use super::forward::Delivery;
use super::payment::{TxnResult, declined, not_approved};
use super::wire::WireError;
use super::{Engine, EngineError, EngineResult, ErrorKind};
use crate::store::journal::{CODE_ENTRY_MODE, CardSecrets, EntryState, Kind, NewEntry, Outcome};
use crate::store::{Store, StoreError};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::original61::Original;
use smartpos_proto::response_code;

fn operator(message: String, remedy: &str) -> EngineError {
    EngineError::new(ErrorKind::Operator, message, remedy)
}

/// Where a refund's original is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundOriginal {
    pub rrn: String,
    /// MMDD.
    pub date: String,
    pub batch: Option<u32>,
    pub stan: Option<u32>,
}

impl Engine {
    /// Voids an approved sale of the current batch.
    pub fn void(&mut self, stan: u32) -> EngineResult<TxnResult> {
        self.payment(|e| e.void_inner(stan))
    }

    fn void_inner(&mut self, stan: u32) -> EngineResult<TxnResult> {
        if stan == 0 || stan > 999_999 {
            return Err(EngineError::invalid("A STAN is between 1 and 999999."));
        }
        self.ensure_signed_in()?;
        self.send_pending_reversals(false);
        let id = self.bound()?;
        let batch = self.store.batch()?;
        let find = |e: &Self| e.store.entry_by_stan(Kind::Sale, batch, stan);
        let mut sale = find(self)?.filter(|s| s.state == EntryState::Approved).ok_or_else(|| {
            operator(format!("There is no approved sale with STAN {stan:06} in batch {batch:06}."), "Check the STAN on the receipt; only sales of the current batch can be voided.")
        })?;
        if sale.offline && sale.rrn.is_empty() {
            // The host must know the sale before it can void it.
            self.forward_all(false)?;
            sale = find(self)?.filter(|s| !s.rrn.is_empty()).ok_or_else(|| EngineError::network("the offline sale has not reached the host yet"))?;
        }
        if !self.store.approved_against(Kind::Void, sale.id)?.is_empty() {
            return Err(operator(format!("The sale with STAN {stan:06} is already voided."), "Nothing to do: check the journal."));
        }
        let card = self.store.card_secrets(&sale)?.ok_or_else(|| EngineError::from(StoreError::Corrupt("the sale has no card data".into())))?;
        let mut base = TxnResult {
            amount: sale.amount,
            aid: sale.aid.clone(),
            app_label: sale.app_label.clone(),
            entry_mode: card.entry_mode(false).into(),
            interface: card.interface().into(),
            time: self.civil().rfc3339(),
            host_date: self.civil().mmdd(),
            reference: sale.reference.clone(),
            ..Default::default()
        }
        .with_masked(&sale.masked_pan, card.code);
        self.connect().map_err(WireError::into_error)?;
        failpoint::hit("void.reversal-record.before");
        let tx = self.store.transaction()?;
        let vstan = self.store.next_stan(&tx)?;
        let mut void_card = card.without_code();
        void_card.icc.clear();
        let mut req = self.card_request(Exchange::Void, vstan, &id, batch, sale.amount, &void_card, None)?;
        req.set(37, sale.rrn.as_str());
        req.set(38, format!("{:<6}", sale.auth_code));
        req.set(61, Original { batch: sale.batch, stan: sale.stan, date: None }.encode());
        let entry = NewEntry {
            kind: Kind::Void,
            batch,
            stan: vstan,
            amount: sale.amount,
            masked_pan: &sale.masked_pan,
            aid: &sale.aid,
            app_label: &sale.app_label,
            entry_mode: card.entry_mode(false),
            interface: card.interface(),
            offline: false,
            original_id: Some(sale.id),
            reference: &sale.reference,
            state: EntryState::InFlight,
            now: &base.time,
            response_code: "",
            host_date: "",
            oda: "",
            tvr: "",
            cryptogram: "",
            cvm: "",
        };
        let jid = self.commit_reversible(tx, Exchange::Void, &req, &entry, &void_card)?;
        failpoint::hit("void.reversal-record.after");
        base.stan = vstan;
        base.batch = batch;
        let answer = match self.transmit(Exchange::Void, &req, Some("void")) {
            Ok(a) => a,
            Err(e) => {
                self.reverse_now(jid, if e == WireError::BadMac { "A0" } else { "98" })?;
                return Err(e.into_error());
            }
        };
        let (code, host_date) = base.take_answer(&answer);
        if !answer.macd || code == "98" {
            if code == "98" {
                self.reverse_now(jid, "98")?;
            }
            return Err(EngineError::host_code(&code, response_code::lookup(&code).meaning));
        }
        let state = if code == "00" { EntryState::Approved } else { EntryState::Declined };
        let outcome = Outcome { response_code: &code, rrn: &base.rrn, auth_code: &base.auth_code, host_date: &host_date };
        self.settle_entry("void", jid, state, &outcome)?;
        if code == "00" {
            base.approved = true;
            return Ok(base);
        }
        not_approved(base, &code)
    }

    /// Refunds `amount` to the card against an earlier sale.
    pub fn refund(&mut self, amount: u64, original: &RefundOriginal) -> EngineResult<TxnResult> {
        self.payment(|e| e.refund_inner(amount, original))
    }

    fn refund_inner(&mut self, amount: u64, original: &RefundOriginal) -> EngineResult<TxnResult> {
        self.check_amount(amount)?;
        if original.rrn.is_empty() || original.rrn.len() > 12 || !original.rrn.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(EngineError::invalid("The original RRN is 1 to 12 letters or digits, as printed on the receipt."));
        }
        let date_ok = original.date.len() == 4 && original.date.parse::<u32>().is_ok_and(|d| (1..=12).contains(&(d / 100)) && (1..=31).contains(&(d % 100)));
        if !date_ok {
            return Err(EngineError::invalid("The original date is MMDD, as printed on the receipt."));
        }
        self.ensure_signed_in()?;
        self.send_pending_reversals(false);
        let id = self.bound()?;
        let known = self.store.sale_by_rrn(&original.rrn, &original.date)?;
        let (obatch, ostan) = match (original.batch, original.stan, &known) {
            (Some(b), Some(s), _) => (b, s),
            (_, _, Some(k)) => (k.batch, k.stan),
            _ => (0, 0),
        };
        // A code payment's refund goes back to the wallet the host knows by RRN: no card.
        let code_original = known.as_ref().filter(|k| k.entry_mode == CODE_ENTRY_MODE);
        let (card, masked, mut base) = match code_original {
            Some(k) => {
                let base = TxnResult {
                    amount,
                    entry_mode: CODE_ENTRY_MODE.into(),
                    interface: "code".into(),
                    time: self.civil().rfc3339(),
                    host_date: self.civil().mmdd(),
                    ..Default::default()
                };
                (CardSecrets::code(""), k.masked_pan.clone(), base.with_masked(&k.masked_pan, true))
            }
            None => {
                let s = self.card_session(amount, TxnType::Refund, false, Interfaces::CARDS, false)?;
                let masked = s.masked();
                let base = self.result_base(amount, &masked, Some(&s), "");
                (s.secrets(Vec::new()), masked, base)
            }
        };
        self.check_cancel()?;
        self.connect().map_err(WireError::into_error)?;
        let batch = self.store.batch()?;
        let keys = self.store.keystore();
        let tx = self.store.transaction()?;
        let stan = self.store.next_stan(&tx)?;
        let mut req = self.card_request(Exchange::Refund, stan, &id, batch, amount, &card, None)?;
        req.set(37, format!("{:<12}", original.rrn));
        req.set(61, Original { batch: obatch, stan: ostan, date: Some(original.date.clone()) }.encode());
        let entry = NewEntry {
            kind: Kind::Refund,
            batch,
            stan,
            amount,
            masked_pan: &masked,
            aid: &base.aid,
            app_label: &base.app_label,
            entry_mode: card.entry_mode(false),
            interface: card.interface(),
            offline: false,
            original_id: known.as_ref().map(|k| k.id),
            reference: "",
            state: EntryState::InFlight,
            now: &base.time,
            response_code: "",
            host_date: "",
            oda: &base.oda,
            tvr: &base.tvr,
            cryptogram: "",
            cvm: "",
        };
        let jid = Store::insert_entry(&tx, keys.as_ref(), &entry, Some(&card))?;
        Store::enqueue(&tx, keys.as_ref(), jid, &self.freeze(&req)?, self.queue_clock())?;
        tx.commit().map_err(StoreError::from)?;
        self.queue_changed();
        base.stan = stan;
        base.batch = batch;
        match self.deliver_advice(jid, &req)? {
            Delivery::Answered { code, rrn, .. } => {
                base.rrn = rrn;
                base.response_code = code.clone();
                base.message = response_code::lookup(&code).meaning.to_string();
                if matches!(code.as_str(), "00" | "94") {
                    base.approved = true;
                    Ok(base)
                } else {
                    Ok(declined(base, &code))
                }
            }
            Delivery::NotYet { error } if error.kind == ErrorKind::Network => Err(EngineError::new(
                ErrorKind::Network,
                format!("The refund was sent but not answered ({}).", error.message),
                "It is kept and sent again until the host answers; check Queue.List before refunding again.",
            )),
            Delivery::NotYet { error } => Err(error),
        }
    }
}
