//! `org.smartpos.Pos1.Payment`: sale, void, refund, balance, cancel, and
//! the `Progress` signal. Arguments are checked here, before the engine,
//! so a malformed call never reaches the card or the host.

use super::dict::{self, Dict};
use super::error::PosError;
use super::printing;
use super::shared::Shared;
use super::worker::{Done, Job};
use crate::engine::adjust::RefundOriginal;
use crate::engine::card_session::Interfaces;
use crate::engine::{EngineResult, SaleOptions};
use crate::receipt::text;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedValue;

#[derive(Debug)]
pub struct PaymentIface(pub Shared);

/// A payment's result; an approved one is printed when `printer.auto_print`.
fn txn(shared: &Shared, done: EngineResult<Done>) -> Result<Dict, PosError> {
    match done? {
        Done::Txn(r) => {
            if r.approved && r.balance.is_none() {
                printing::auto_print(shared, r.stan);
            }
            Ok(dict::txn(&r))
        }
        other => Err(PosError::unexpected(&other)),
    }
}

/// An option of type `T`, `InvalidArgument` when it has another type.
fn option<T: TryFrom<OwnedValue>>(options: &Dict, key: &str, type_name: &str) -> Result<Option<T>, PosError> {
    match options.get(key) {
        None => Ok(None),
        Some(v) => {
            let v = v.try_clone().map_err(|_| PosError::invalid(&format!("Option {key:?} cannot be read. Send it as {type_name}.")))?;
            T::try_from(v).map(Some).map_err(|_| PosError::invalid(&format!("Option {key:?} must be of type {type_name}. Send it as {type_name}.")))
        }
    }
}

fn only_known(options: &Dict, known: &[&str]) -> Result<(), PosError> {
    match options.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(PosError::invalid(&format!("Unknown option {k:?}. Use only {}.", known.join(", ")))),
        None => Ok(()),
    }
}

fn check_amount(shared: &Shared, amount: u64) -> Result<(), PosError> {
    let max = shared.cfg.terminal.max_amount;
    if amount == 0 || amount > max {
        return Err(crate::engine::money::amount_out_of_range(amount, max, &shared.cfg.terminal.currency).into());
    }
    Ok(())
}

/// `Sale`'s `interfaces`: any of `contact`, `contactless`, `code`.
fn parse_interfaces(list: &[String]) -> Result<Interfaces, PosError> {
    let mut out = Interfaces { contact: false, contactless: false, code: false };
    for name in list {
        match name.as_str() {
            "contact" => out.contact = true,
            "contactless" => out.contactless = true,
            "code" => out.code = true,
            other => return Err(PosError::invalid(&format!("{other:?} is not an interface this terminal takes. Send contact, contactless and/or code."))),
        }
    }
    if !out.contact && !out.contactless && !out.code {
        return Err(PosError::invalid("interfaces is empty. Send contact, contactless and/or code, or leave the option out for every reader."));
    }
    Ok(out)
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|c| c.is_ascii_digit())
}

/// MMDD of a real calendar day (29 February allowed).
fn valid_mmdd(s: &str) -> bool {
    if !digits(s, 4) {
        return false;
    }
    let (m, d): (u32, u32) = (s[..2].parse().unwrap_or(0), s[2..].parse().unwrap_or(0));
    let days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    (1..=12).contains(&m) && d >= 1 && d <= days.get(m as usize - 1).copied().unwrap_or(0)
}

#[zbus::interface(name = "org.smartpos.Pos1.Payment")]
impl PaymentIface {
    #[zbus(out_args("result"))]
    async fn sale(&self, amount: u64, options: Dict) -> Result<Dict, PosError> {
        check_amount(&self.0, amount)?;
        only_known(&options, &["allow_offline", "reference", "interfaces"])?;
        let interfaces = match option::<Vec<String>>(&options, "interfaces", "as (array of strings)")? {
            None => Interfaces::default(),
            Some(list) => parse_interfaces(&list)?,
        };
        let allow_offline = option::<bool>(&options, "allow_offline", "b (boolean)")?.unwrap_or(true);
        let reference = option::<String>(&options, "reference", "s (string)")?.unwrap_or_default();
        if reference.len() > 64 || reference.chars().any(char::is_control) {
            return Err(PosError::invalid("The reference is longer than 64 characters or has control characters. Send a shorter plain-text id."));
        }
        txn(&self.0, self.0.worker.call(Job::Sale(amount, SaleOptions { allow_offline, reference, interfaces })).await)
    }

    #[zbus(out_args("result"))]
    async fn void(&self, stan: u32) -> Result<Dict, PosError> {
        if stan == 0 || stan > 999_999 {
            return Err(PosError::invalid(&format!("STAN {stan} is outside 1 to 999999. Use the STAN printed on the sale's receipt.")));
        }
        txn(&self.0, self.0.worker.call(Job::Void(stan)).await)
    }

    #[zbus(out_args("result"))]
    async fn refund(&self, amount: u64, original_rrn: String, original_date: String, options: Dict) -> Result<Dict, PosError> {
        check_amount(&self.0, amount)?;
        if !digits(&original_rrn, 12) {
            return Err(PosError::invalid("The original RRN must be 12 digits. Copy it from the original sale's receipt."));
        }
        if !valid_mmdd(&original_date) {
            return Err(PosError::invalid("The original date must be MMDD of a real day. Copy it from the original sale's receipt."));
        }
        only_known(&options, &["original_batch", "original_stan"])?;
        let batch = option::<u32>(&options, "original_batch", "u (uint32)")?;
        let stan = option::<u32>(&options, "original_stan", "u (uint32)")?;
        if batch.is_some_and(|b| b > 999_999) || stan.is_some_and(|s| s == 0 || s > 999_999) {
            return Err(PosError::invalid("original_batch must be 0 to 999999 and original_stan 1 to 999999. Copy them from the receipt or leave them out."));
        }
        txn(&self.0, self.0.worker.call(Job::Refund(amount, RefundOriginal { rrn: original_rrn, date: original_date, batch, stan })).await)
    }

    #[zbus(out_args("result"))]
    async fn balance(&self) -> Result<Dict, PosError> {
        txn(&self.0, self.0.worker.call(Job::Balance).await)
    }

    /// Prints one copy (marked as a reprint: the first print is the automatic one).
    async fn print_receipt(&self, stan: u32, copy: String) -> Result<(), PosError> {
        printing::print(&self.0, stan, &[printing::copy_arg(&copy)?], true).await
    }

    #[zbus(out_args("receipt"))]
    async fn receipt(&self, stan: u32, copy: String) -> Result<String, PosError> {
        let slips = printing::slips(&self.0, stan, &[printing::copy_arg(&copy)?], false)?;
        Ok(slips.iter().map(|r| text::render(r, text::WIDTH_58MM)).collect())
    }

    /// The current batch's transactions, newest first (beyond the contract:
    /// what a cashier app voids and refunds from; docs/dbus-api.md).
    #[zbus(out_args("items"))]
    async fn list(&self, limit: u32) -> Result<Vec<Dict>, PosError> {
        let batch = self.0.snap().batch;
        let rows = self
            .0
            .with_reads(|s| s.batch_newest(batch, limit.min(1000)))
            .map_err(|e| PosError::Device(format!("The journal cannot be read: {e}. Restart the terminal; if it persists, call service.")))?;
        Ok(rows.iter().map(|(e, voided)| dict::journal_row(e, *voided)).collect())
    }

    async fn cancel(&self) {
        self.0.worker.cancel();
    }

    #[zbus(signal)]
    pub async fn progress(emitter: &SignalEmitter<'_>, stage: &str, details: Dict) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::valid_mmdd;

    #[test]
    fn mmdd_is_a_calendar_day() {
        for ok in ["0101", "0229", "1231", "0430"] {
            assert!(valid_mmdd(ok), "{ok}");
        }
        for bad in ["0000", "1301", "0230", "0431", "12a1", "123", "01011"] {
            assert!(!valid_mmdd(bad), "{bad}");
        }
    }
}
