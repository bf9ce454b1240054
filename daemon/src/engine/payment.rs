//! Sale and balance inquiry with a chip card (§3, §6, §7): card, PIN,
//! terminal action analysis, then online with a reversal record committed
//! before the request leaves, or — when the host cannot be reached and the
//! limits allow — offline with the card's TC, committed to the advice
//! queue before the result is returned.

use super::card_session::{CardSession, Interface, Interfaces};
use super::code::confirm::Confirmation;
use super::emv::tvr::Decision;
use super::emv::{self, TxnType};
use super::failpoint;
use super::money::{Money, amount_out_of_range};
use super::wire::{Answer, WireError};
use super::{Engine, EngineError, EngineResult, ErrorKind, Stage};
use crate::store::journal::{CardSecrets, EntryState, Kind, NewEntry, Outcome};
use crate::store::{Identity, Store, StoreError};
use smartpos_proto::codec::Message;
use smartpos_proto::crypto::track2;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::balance54;
use smartpos_proto::response_code::{self, Category};
use smartpos_proto::tlv;

/// Options of `Sale`.
#[derive(Debug, Clone)]
pub struct SaleOptions {
    pub allow_offline: bool,
    /// The app's own id, stored and returned.
    pub reference: String,
    /// Where the card may come from (default: every reader the terminal has).
    pub interfaces: Interfaces,
}

impl Default for SaleOptions {
    fn default() -> Self {
        Self { allow_offline: true, reference: String::new(), interfaces: Interfaces::default() }
    }
}

/// The outcome of a payment: approved or declined (a decline is not an error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxnResult {
    pub approved: bool,
    pub offline: bool,
    pub response_code: String,
    pub message: String,
    pub stan: u32,
    pub batch: u32,
    pub rrn: String,
    pub auth_code: String,
    pub amount: u64,
    /// First 6 and last 4 digits; empty for a payment code.
    pub masked_pan: String,
    /// A payment code's first 4 and last 4 digits (§11); empty for a card.
    pub masked_code: String,
    pub aid: String,
    pub app_label: String,
    pub entry_mode: String,
    pub time: String,
    /// MMDD the host recorded (its field 13); the local date when no host
    /// answered. A refund names its original by this date (dbus-api.md).
    pub host_date: String,
    pub reference: String,
    /// Offline data authentication: `none`, `sda`, `dda`, `cda`, or
    /// `failed` (dbus-api.md version 1 additions); empty without a card.
    pub oda: String,
    /// The TVR (hex) the card was judged with.
    pub tvr: String,
    /// `contact` or `contactless`; empty without a card.
    pub interface: String,
    /// The cryptogram for the receipt (hex): an offline approval's TC, else
    /// the ARQC that went online; empty without one.
    pub cryptogram: String,
    /// Balance inquiry only.
    pub balance: Option<i64>,
}

/// First 6 and last 4 digits.
pub fn mask_pan(pan: &str) -> String {
    let n = pan.len();
    if n < 10 {
        return "*".repeat(n);
    }
    format!("{}{}{}", pan.get(..6).unwrap_or(""), "*".repeat(n - 10), pan.get(n - 4..).unwrap_or(""))
}

impl Engine {
    pub(crate) fn check_amount(&self, amount: u64) -> EngineResult<()> {
        if amount == 0 || amount > self.cfg.terminal.max_amount {
            return Err(amount_out_of_range(amount, self.cfg.terminal.max_amount, &self.cfg.terminal.currency));
        }
        Ok(())
    }

    pub(crate) fn check_cancel(&self) -> EngineResult<()> {
        if self.cancel.is_cancelled() {
            return Err(EngineError::cancelled());
        }
        Ok(())
    }

    /// Signs in when needed; with keys from an earlier session, an
    /// unreachable host does not stop an offline sale.
    fn ready_for_payment(&mut self) -> EngineResult<()> {
        match self.signed_in_or_offline() {
            Err(e) if e.kind == ErrorKind::Network => Err(EngineError::not_signed_in("the host cannot be reached to sign in")),
            other => other,
        }
    }

    /// A card request of `ex` (fields 2, 14, 22, 23, 26/52, 35, 53, 4, 55 as
    /// §3 lists them; for a payment code 2 — the sale's only —, 4 and 22, §11).
    #[allow(clippy::too_many_arguments, reason = "one argument per part of the request (routing, card, amount, PIN); a struct would only rename the list")]
    pub(crate) fn card_request(&self, ex: Exchange, stan: u32, id: &Identity, batch: u32, amount: u64, card: &CardSecrets, pin: Option<&[u8; 8]>) -> EngineResult<Message> {
        let spec = ex.spec();
        let keys = self.keys.as_ref().ok_or_else(|| EngineError::not_signed_in("no working keys"))?;
        let mut m = self.base_request(ex, stan, id, batch);
        if card.code {
            if !card.pan.is_empty() {
                m.set(2, card.pan.as_str());
            }
            m.set(22, card.entry_mode(false));
            if spec.request.contains(&4) {
                m.set(4, format!("{amount:012}"));
            }
            return Ok(m);
        }
        m.set(2, card.pan.as_str());
        if spec.request.contains(&14) {
            m.set(14, card.expiry.as_str());
        }
        m.set(22, card.entry_mode(pin.is_some()));
        m.set(23, format!("0{}", card.psn));
        if spec.request.contains(&35) {
            let f35 = track2::encrypt(&keys.tdk, card.track2.as_bytes())
                .map_err(|e| EngineError::new(ErrorKind::Device, format!("The card's track data is unusable: {e}."), "Try another card."))?;
            m.set(35, f35);
        }
        if spec.request.contains(&53) {
            m.set(53, "2610000000000000");
        }
        if spec.request.contains(&4) {
            m.set(4, format!("{amount:012}"));
        }
        if let (Some(block), true) = (pin, spec.request.contains(&52)) {
            m.set(26, "06");
            m.set(52, block);
        }
        if spec.request.contains(&55) && !card.icc.is_empty() {
            m.set(55, card.icc.clone());
        }
        Ok(m)
    }

    /// The reversal of `req` (§3: its fields minus 26 35 52 53 59, 55 cut to 95 9F10 9F1E 9F36, plus 39).
    pub(crate) fn reversal_of(&self, ex: Exchange, req: &Message) -> Message {
        let mut r = Message::new(Exchange::Reversal.spec().mti);
        for f in smartpos_proto::exchange::reversal_request_fields(ex) {
            if let Some(v) = req.get(f) {
                r.set(f, v);
            }
        }
        if let Some(icc) = req.get(55) {
            r.set(55, emv::reversal_icc(icc));
        }
        r.set(39, "06");
        r.remove(64);
        r
    }

    /// Whether an offline sale of `amount` fits the limits (§6, inclusive).
    pub(crate) fn offline_room(&mut self, amount: u64) -> EngineResult<Result<(), String>> {
        if !self.cfg.offline.enabled {
            return Ok(Err("offline sales are disabled".into()));
        }
        let q = self.queue_stats()?;
        let o = &self.cfg.offline;
        let money = |minor| Money { minor, currency: &self.cfg.terminal.currency };
        Ok(if amount > o.max_amount {
            Err(format!("{} is above the offline limit of {} for one sale", money(amount), money(o.max_amount)))
        } else if q.amount + amount > o.max_total {
            Err(format!("the queue holds {} already and its limit is {}", money(q.amount), money(o.max_total)))
        } else if q.depth + 1 > o.max_count {
            Err(format!("the queue already holds {} sales", q.depth))
        } else if q.depth > 0 && q.oldest_age > o.max_age_secs {
            Err(format!("the oldest queued sale is {} s old, past the limit of {} s", q.oldest_age, o.max_age_secs))
        } else {
            Ok(())
        })
    }

    /// A result before the host's answer; `masked` is the card's masked PAN
    /// or, for a code session, the masked code.
    pub(crate) fn result_base(&self, amount: u64, masked: &str, s: Option<&CardSession>, reference: &str) -> TxnResult {
        let is_code = s.is_some_and(|s| s.interface() == Interface::Code);
        TxnResult {
            amount,
            aid: s.map(|s| hex::encode_upper(s.aid())).unwrap_or_default(),
            app_label: s.map(|s| s.app_label().to_string()).unwrap_or_default(),
            entry_mode: s.map_or("052", CardSession::entry_mode).into(),
            time: self.civil().rfc3339(),
            host_date: self.civil().mmdd(),
            reference: reference.to_string(),
            oda: s.map(|s| s.oda().to_string()).unwrap_or_default(),
            tvr: s.map(CardSession::tvr_hex).unwrap_or_default(),
            interface: s.map(|s| s.interface().as_str().to_string()).unwrap_or_default(),
            ..Default::default()
        }
        .with_masked(masked, is_code)
    }

    /// Runs one payment call: a fresh cancel flag, `completed` at the end
    /// whatever happened, a sign-in when the host asked for one, `LastError`.
    pub(crate) fn payment<T>(&mut self, run: impl FnOnce(&mut Self) -> EngineResult<T>) -> EngineResult<T> {
        self.cancel.reset();
        let r = run(self);
        self.stage(Stage::Completed);
        self.resign_if_asked();
        self.record(r)
    }

    /// A sale. Declines are results; errors are for when no answer could be had.
    pub fn sale(&mut self, amount: u64, opts: &SaleOptions) -> EngineResult<TxnResult> {
        self.payment(|e| e.sale_inner(amount, opts))
    }

    fn sale_inner(&mut self, amount: u64, opts: &SaleOptions) -> EngineResult<TxnResult> {
        self.check_amount(amount)?;
        self.ready_for_payment()?;
        self.send_pending_reversals(false);
        let id = self.bound()?;
        let room = self.offline_room(amount)?;
        let offline_ok = opts.allow_offline && room.is_ok();
        let mut s = self.card_session(amount, TxnType::Goods, true, opts.interfaces, offline_ok)?;
        let masked = s.masked();
        let mut base = self.result_base(amount, &masked, Some(&s), &opts.reference);
        let first = s.first_cryptogram(&mut self.dev, offline_ok).map_err(kernel_error)?;
        match first {
            Decision::Aac => return Ok(declined(base, s.decline_code())),
            Decision::Tc => return self.commit_offline(&id, &mut s, base, *b"Y1", &opts.reference),
            Decision::Arqc => {}
        }
        self.check_cancel()?;
        if let Err(e) = self.connect() {
            tracing::info!("host unreachable ({e:?}): deciding offline");
            if let Some(e) = s.never_offline() {
                return Err(e);
            }
            let why = match (opts.allow_offline, room) {
                (false, _) => Some(EngineError::network("the app did not allow an offline sale")),
                (true, Err(limit)) => Some(EngineError::new(
                    ErrorKind::OfflineLimit,
                    format!("The host cannot be reached and the sale is outside the offline limits: {limit}."),
                    "Restore the network or forward the queue, or take a smaller amount.",
                )),
                (true, Ok(())) => None,
            };
            let second = s.unable_online(&mut self.dev, why.is_none()).map_err(kernel_error)?;
            if let Some(e) = why {
                return Err(e);
            }
            if second == Decision::Tc {
                return self.commit_offline(&id, &mut s, base, *b"Y3", &opts.reference);
            }
            return s.declined_unreachable(base);
        }
        // Online: the reversal record is on disk before the request leaves (§6).
        let batch = self.store.batch()?;
        let now = base.time.clone();
        failpoint::hit("sale.reversal-record.before");
        let tx = self.store.transaction()?;
        let stan = self.store.next_stan(&tx)?;
        let secrets = s.secrets(s.request_icc(stan));
        let req = self.card_request(Exchange::Sale, stan, &id, batch, amount, &secrets, s.pin_block.as_deref())?;
        base.cryptogram = tlv::find(&secrets.icc, 0x9F26).map(hex::encode_upper).unwrap_or_default();
        let entry = NewEntry {
            kind: Kind::Sale,
            batch,
            stan,
            amount,
            masked_pan: &masked,
            aid: &base.aid,
            app_label: &base.app_label,
            entry_mode: &base.entry_mode,
            interface: &base.interface,
            offline: false,
            original_id: None,
            reference: &opts.reference,
            state: EntryState::InFlight,
            now: &now,
            response_code: "",
            host_date: "",
            oda: &base.oda,
            tvr: &base.tvr,
            cryptogram: &base.cryptogram,
            cvm: s.cvm(),
        };
        let jid = self.commit_reversible(tx, Exchange::Sale, &req, &entry, &secrets)?;
        failpoint::hit("sale.reversal-record.after");
        base.stan = stan;
        base.batch = batch;
        let answer = self.transmit(Exchange::Sale, &req, Some("sale"));
        self.finish_online(jid, &mut s, &req, answer, base)
    }

    /// After the sale request (`req`): the host's answer — after a `Q1`,
    /// the final one the customer's confirmation brings —, the second
    /// GENERATE AC, and the journal; or the reversal.
    fn finish_online(&mut self, jid: i64, s: &mut CardSession, req: &Message, answer: Result<Answer, WireError>, mut base: TxnResult) -> EngineResult<TxnResult> {
        let mut answer = match answer {
            Ok(a) => a,
            Err(e) => {
                let reason = if e == WireError::BadMac { "A0" } else { "98" };
                // The card learns that the host could not be reached.
                s.abandon(&mut self.dev, b"Z3", None);
                self.reverse_now(jid, reason)?;
                return Err(e.into_error());
            }
        };
        let (mut code, mut host_date) = base.take_answer(&answer);
        if code == "Q1" && answer.macd {
            answer = match self.await_customer(req, base.batch, base.stan)? {
                Confirmation::Final(a) => *a,
                Confirmation::GaveUp(why) => {
                    self.reverse_now(jid, "98")?;
                    return Err(EngineError::new(
                        ErrorKind::Operator,
                        format!("The host gave no final answer ({why}); the sale was reversed and nothing was charged."),
                        "Ask the customer to pay again: by card, or confirm faster with a new code.",
                    ));
                }
            };
            (code, host_date) = base.take_answer(&answer);
        }
        let meaning = response_code::lookup(&code).meaning;
        let f55 = answer.msg.get(55).map(<[u8]>::to_vec).unwrap_or_default();
        let arc: [u8; 2] = code.as_bytes().try_into().unwrap_or(*b"05");
        if !answer.macd {
            // Unauthenticated non-approval (e.g. 22): the reversal stays, nothing changes (§3, §6).
            s.abandon(&mut self.dev, &arc, None);
            self.resign_if_asked();
            self.send_pending_reversals(false);
            return Err(EngineError::host_code(&code, meaning));
        }
        let outcome = Outcome { response_code: &code, rrn: &base.rrn, auth_code: &base.auth_code, host_date: &host_date };
        if code == "98" {
            s.abandon(&mut self.dev, &arc, None);
            self.reverse_now(jid, "98")?;
            return Err(EngineError::host_code(&code, meaning));
        }
        if code != "00" {
            s.abandon(&mut self.dev, &arc, tlv::find(&f55, 0x91).as_deref());
            self.settle_entry("sale", jid, EntryState::Declined, &outcome)?;
            return not_approved(base, &code);
        }
        match s.host_approved(&mut self.dev, &arc, &f55) {
            Ok(Decision::Tc) => {
                self.settle_entry("sale", jid, EntryState::Approved, &outcome)?;
                base.approved = true;
                Ok(base)
            }
            Ok(_) => {
                self.reverse_now(jid, "96")?;
                Ok(declined(TxnResult { message: "the card declined after the host approved; the sale was reversed".into(), ..base }, "Z1"))
            }
            Err(e) => {
                self.reverse_now(jid, "96")?;
                Err(kernel_error(e))
            }
        }
    }

    /// Commits the host's authenticated answer and clears the reversal, together.
    /// `fp` names the failpoints around it (`sale`, `void`).
    pub(crate) fn settle_entry(&mut self, fp: &str, jid: i64, state: EntryState, o: &Outcome<'_>) -> EngineResult<()> {
        failpoint::at(fp, "journal.before");
        let now = self.civil().rfc3339();
        let tx = self.store.transaction()?;
        Store::finish_entry(&tx, jid, state, o, &now)?;
        Store::clear_reversal(&tx, jid)?;
        tx.commit().map_err(StoreError::from)?;
        failpoint::at(fp, "journal.after");
        Ok(())
    }

    /// An offline approval: journal row and advice committed together before the result returns.
    fn commit_offline(&mut self, id: &Identity, s: &mut CardSession, mut base: TxnResult, arc: [u8; 2], reference: &str) -> EngineResult<TxnResult> {
        let tc = s.offline_tc().ok_or_else(|| kernel_error(emv::KernelError::Card("no cryptogram".into())))?;
        let keys = self.store.keystore();
        let now = self.civil();
        base.entry_mode = s.entry_mode().into();
        base.cryptogram = hex::encode_upper(tc.ac);
        failpoint::hit("offline.queue.before");
        let tx = self.store.transaction()?;
        let batch = Store::batch_in(&tx)?;
        let stan = self.store.next_stan(&tx)?;
        let icc = emv::advice_icc(&s.request_icc(stan), &tc, &arc);
        let secrets = s.facts.secrets(icc, s.interface());
        let mut advice = self.card_request(Exchange::OfflineAdvice, stan, id, batch, base.amount, &secrets, None)?;
        advice.set(12, now.hhmmss());
        advice.set(13, now.mmdd());
        let code = String::from_utf8_lossy(&arc).into_owned();
        let today = now.mmdd();
        let entry = NewEntry {
            kind: Kind::Sale,
            batch,
            stan,
            amount: base.amount,
            masked_pan: &base.masked_pan,
            aid: &base.aid,
            app_label: &base.app_label,
            entry_mode: &base.entry_mode,
            interface: &base.interface,
            offline: true,
            original_id: None,
            reference,
            state: EntryState::Approved,
            now: &base.time,
            response_code: &code,
            host_date: &today,
            oda: &base.oda,
            tvr: &base.tvr,
            cryptogram: &base.cryptogram,
            cvm: s.cvm(),
        };
        let jid = Store::insert_entry(&tx, keys.as_ref(), &entry, Some(&secrets))?;
        let queued_at = self.queue_clock();
        Store::enqueue(&tx, keys.as_ref(), jid, &self.freeze(&advice)?, queued_at)?;
        tx.commit().map_err(StoreError::from)?;
        self.queue_grew(base.amount, queued_at);
        failpoint::hit("offline.queue.after");
        tracing::info!(stan = %format!("{stan:06}"), amount = base.amount, response_code = %code, "offline sale approved and queued");
        base.approved = true;
        base.offline = true;
        base.stan = stan;
        base.batch = batch;
        base.response_code = code.clone();
        base.message = response_code::lookup(&code).meaning.to_string();
        Ok(base)
    }

    /// Balance inquiry: online only, not reversible (it moves no money).
    pub fn balance(&mut self) -> EngineResult<TxnResult> {
        self.payment(Self::balance_inner)
    }

    fn balance_inner(&mut self) -> EngineResult<TxnResult> {
        self.ready_for_payment()?;
        self.send_pending_reversals(false);
        let id = self.bound()?;
        let mut s = self.card_session(0, TxnType::Balance, true, Interfaces::CONTACT, false)?;
        let masked = mask_pan(&s.facts.pan);
        let mut base = self.result_base(0, &masked, Some(&s), "");
        if s.first_cryptogram(&mut self.dev, false).map_err(kernel_error)? == Decision::Aac {
            return Ok(declined(base, s.decline_code()));
        }
        self.check_cancel()?;
        let batch = self.store.batch()?;
        let stan = self.advance_stan()?;
        let secrets = s.facts.secrets(s.request_icc(stan), s.interface());
        let req = self.card_request(Exchange::BalanceInquiry, stan, &id, batch, 0, &secrets, s.pin_block.as_deref())?;
        base.stan = stan;
        base.batch = batch;
        let answer = self.exchange(Exchange::BalanceInquiry, &req, None);
        s.abandon(&mut self.dev, b"Z3", None);
        let answer = answer.map_err(WireError::into_error)?;
        let (code, _) = base.take_answer(&answer);
        if code == "00" && answer.macd {
            base.approved = true;
            base.balance = answer.msg.get_str(54).and_then(|v| balance54::parse(v).ok());
            return Ok(base);
        }
        not_approved(base, &code)
    }
}

impl TxnResult {
    /// The journal's masked column as the result shows it: `masked_code`
    /// for a payment code, `masked_pan` for a card.
    pub(crate) fn with_masked(mut self, masked: &str, code: bool) -> Self {
        if code {
            self.masked_code = masked.to_string();
        } else {
            self.masked_pan = masked.to_string();
        }
        self
    }

    /// Takes code, message, RRN and auth code from a host answer; returns
    /// the code and the host's date (MMDD).
    pub(crate) fn take_answer(&mut self, answer: &Answer) -> (String, String) {
        let code = answer.code().to_string();
        self.response_code = code.clone();
        self.message = response_code::lookup(&code).meaning.to_string();
        self.rrn = answer.msg.get_str(37).unwrap_or("").trim().to_string();
        self.auth_code = answer.msg.get_str(38).unwrap_or("").trim().to_string();
        if let Some(date) = answer.msg.get_str(13).filter(|d| d.len() == 4) {
            self.host_date = date.to_string();
        }
        (code, answer.msg.get_str(13).unwrap_or("").to_string())
    }
}

/// A host answer other than an approval: a result when §5 calls it
/// declined or operator (dbus-api.md, Payment), else a `Host`/`NotBound` error.
pub(crate) fn not_approved(base: TxnResult, code: &str) -> EngineResult<TxnResult> {
    match response_code::lookup(code).category {
        Some(Category::Declined | Category::Operator) => Ok(declined(base, code)),
        _ => Err(EngineError::host_code(code, response_code::lookup(code).meaning)),
    }
}

pub(crate) fn declined(mut base: TxnResult, code: &str) -> TxnResult {
    base.approved = false;
    base.response_code = code.to_string();
    if base.message.is_empty() {
        base.message = response_code::lookup(code).meaning.to_string();
    }
    base
}

pub(crate) fn kernel_error(e: emv::KernelError) -> EngineError {
    match e {
        emv::KernelError::Reader(r) => r.into(),
        emv::KernelError::NoApplication => EngineError::new(ErrorKind::Operator, "The card has no application this terminal accepts.", "Use another card."),
        other => EngineError::new(ErrorKind::Device, format!("The card could not be read: {other}."), "Insert the card again, chip first; if it persists, use another card."),
    }
}
