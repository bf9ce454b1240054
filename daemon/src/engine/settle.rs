//! Settlement (§3, §6): pending reversals and the whole advice queue go
//! first; the totals come from the journal (field 48: UnionPay cards, then
//! the others; a voided sale stays in debit and its void counts in credit;
//! reversed entries count nowhere); when the host disagrees, every approved
//! sale of the batch is uploaded; the upload end closes the batch on both
//! sides, the terminal advances its batch, signs out and signs in again.
//! A crash after the host closed the batch heals at the next sign-in,
//! which adopts the host's batch.

use super::failpoint;
use super::wire::WireError;
use super::{Engine, EngineError, EngineResult, ErrorKind, Stage};
use crate::store::journal::{CODE_ENTRY_MODE, Entry, EntryState, Kind};
use crate::store::{Store, StoreError};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::reserved60::Field60;
use smartpos_proto::fields::settlement48::{Settlement48, Totals};
use smartpos_proto::response_code;

/// What `Settle` returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettleResult {
    /// The batch that was settled.
    pub batch: u32,
    pub balanced: bool,
    pub debit_count: u32,
    pub debit_amount: u64,
    pub credit_count: u32,
    pub credit_amount: u64,
    /// Sales sent in the batch upload.
    pub uploaded: u32,
}

/// A UnionPay card by its AID; a payment code when its code starts `62`
/// (§11; the journal keeps the masked code, whose first 4 digits are clear).
fn is_unionpay(e: &Entry) -> bool {
    if e.entry_mode == CODE_ENTRY_MODE {
        return e.masked_pan.starts_with("62");
    }
    e.aid.to_ascii_uppercase().starts_with("A000000333")
}

/// Whether a journal row counts as money the host holds.
fn counts(e: &Entry) -> bool {
    e.state == EntryState::Approved
}

/// Field 48 from the journal of one batch.
pub fn batch_totals(entries: &[Entry]) -> Settlement48 {
    let mut s = Settlement48::default();
    for e in entries.iter().filter(|e| counts(e)) {
        let half: &mut Totals = if is_unionpay(e) { &mut s.unionpay } else { &mut s.other };
        match e.kind {
            Kind::Sale => {
                half.debit_amount += e.amount;
                half.debit_count += 1;
            }
            Kind::Void | Kind::Refund => {
                half.credit_amount += e.amount;
                half.credit_count += 1;
            }
            Kind::Balance => {}
        }
    }
    s
}

impl Engine {
    pub fn settle(&mut self) -> EngineResult<SettleResult> {
        self.cancel.reset();
        let r = self.settle_inner();
        self.stage(Stage::Completed);
        self.record(r)
    }

    fn settle_inner(&mut self) -> EngineResult<SettleResult> {
        self.ensure_signed_in()?;
        let flushed = self.forward_all(true)?;
        if flushed.reversals > 0 || flushed.remaining > 0 {
            return Err(EngineError::new(
                ErrorKind::Network,
                format!("Settlement needs the host to take {} pending reversal(s) and {} queued advice(s) first.", flushed.reversals, flushed.remaining),
                "Restore the network and settle again; nothing was settled.",
            ));
        }
        let id = self.bound()?;
        let batch = self.store.batch()?;
        let entries = self.store.batch_entries(batch)?;
        let totals = batch_totals(&entries);
        let stan = self.advance_stan()?;
        let mut m = self.base_request(Exchange::Settlement, stan, &id, batch);
        m.set(48, totals.encode());
        m.set(63, self.cfg.terminal.operator.as_str());
        let answer = self.exchange(Exchange::Settlement, &m, Some("settlement")).map_err(WireError::into_error)?;
        if answer.code() != "00" {
            return Err(EngineError::host_code(answer.code(), response_code::lookup(answer.code()).meaning));
        }
        let theirs = Settlement48::parse(answer.msg.get_str(48).unwrap_or_default())
            .map_err(|e| EngineError::new(ErrorKind::Host, format!("The settlement reply's totals are unreadable: {e}."), "Settle again; if it persists, call the acquirer."))?;
        let balanced = theirs.balanced();
        let mut uploaded = 0;
        if !balanced {
            failpoint::hit("settlement.upload.before");
            for sale in entries.iter().filter(|e| e.kind == Kind::Sale && counts(e)) {
                self.upload_detail(&id, batch, sale)?;
                uploaded += 1;
            }
            failpoint::hit("settlement.upload.after");
        }
        let (u, o) = (totals.unionpay, totals.other);
        let count = u.debit_count + u.credit_count + o.debit_count + o.credit_count;
        let end_stan = self.advance_stan()?;
        let mut end = self.base_request(Exchange::BatchUploadEnd, end_stan, &id, batch);
        end.set(48, format!("{:04}", count % 10_000));
        end.set(60, Field60::new("00", batch, if balanced { "207" } else { "202" }, None).encode());
        let a = self.exchange(Exchange::BatchUploadEnd, &end, None).map_err(WireError::into_error)?;
        failpoint::hit("settlement.end.after");
        if a.code() != "00" {
            return Err(EngineError::host_code(a.code(), response_code::lookup(a.code()).meaning));
        }
        failpoint::hit("settlement.close.before");
        let tx = self.store.transaction()?;
        Store::set_batch(&tx, batch % 999_999 + 1)?;
        // The batch upload was the last use of its payment codes (§11).
        Store::wipe_codes(&tx, batch)?;
        tx.commit().map_err(StoreError::from)?;
        failpoint::hit("settlement.close.after");
        tracing::info!(batch, balanced, uploaded, "batch settled");
        // The session ends with the batch; a fresh sign-in opens the next (§3, §6).
        if let Err(e) = self.sign_out_inner() {
            tracing::warn!("sign-out after settlement: {e}");
        }
        if let Err(e) = self.sign_in_with_retries() {
            tracing::warn!("sign-in after settlement: {e}");
        }
        Ok(SettleResult {
            batch,
            balanced,
            debit_count: u.debit_count + o.debit_count,
            debit_amount: u.debit_amount + o.debit_amount,
            credit_count: u.credit_count + o.credit_count,
            credit_amount: u.credit_amount + o.credit_amount,
            uploaded,
        })
    }

    fn upload_detail(&mut self, id: &crate::store::Identity, batch: u32, sale: &Entry) -> EngineResult<()> {
        let card = self.store.card_secrets(sale)?.ok_or_else(|| EngineError::from(StoreError::Corrupt(format!("sale {} has no card data", sale.stan))))?;
        let mut m = self.base_request(Exchange::BatchUploadDetail, sale.stan, id, batch);
        m.set(2, card.pan.as_str());
        m.set(4, format!("{:012}", sale.amount));
        m.set(22, if sale.entry_mode.is_empty() { "052" } else { sale.entry_mode.as_str() });
        // A code payment's detail carries no 23 or 55 (§11).
        if !card.code {
            m.set(23, format!("0{}", card.psn));
            m.set(55, card.icc.clone());
        }
        let a = self.exchange(Exchange::BatchUploadDetail, &m, None).map_err(WireError::into_error)?;
        if a.code() != "00" {
            tracing::warn!(stan = %format!("{:06}", sale.stan), response_code = a.code(), "batch upload detail not accepted");
        }
        Ok(())
    }
}
