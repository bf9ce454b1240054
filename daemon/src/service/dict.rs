//! `a{sv}` dictionaries, the shape of every D-Bus result (keys can be
//! added later without breaking callers), and the engine's results in it.

use crate::engine::{BindResult, FlushResult, SettleResult, SignInResult, TxnResult};
use std::collections::HashMap;
use zbus::zvariant::{OwnedValue, Str};

pub type Dict = HashMap<String, OwnedValue>;

/// Builds a [`Dict`] key by key.
#[derive(Debug, Default)]
pub struct DictBuilder(Dict);

impl DictBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn s(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), OwnedValue::from(Str::from(value.into())));
        self
    }
    pub fn u(mut self, key: &str, value: u32) -> Self {
        self.0.insert(key.into(), OwnedValue::from(value));
        self
    }
    pub fn t(mut self, key: &str, value: u64) -> Self {
        self.0.insert(key.into(), OwnedValue::from(value));
        self
    }
    pub fn x(mut self, key: &str, value: i64) -> Self {
        self.0.insert(key.into(), OwnedValue::from(value));
        self
    }
    pub fn b(mut self, key: &str, value: bool) -> Self {
        self.0.insert(key.into(), OwnedValue::from(value));
        self
    }
    /// An `as` value.
    pub fn strings(mut self, key: &str, values: &[String]) -> Self {
        if let Ok(v) = OwnedValue::try_from(zbus::zvariant::Value::from(values.to_vec())) {
            self.0.insert(key.into(), v);
        }
        self
    }
    /// The journal's masked column as results carry it: `masked_pan`, or
    /// for a payment code (field 22 `032`) an empty `masked_pan` and the
    /// masked code under `masked_code`.
    pub fn masked(self, masked: &str, entry_mode: &str) -> Self {
        if entry_mode == crate::store::journal::CODE_ENTRY_MODE { self.s("masked_pan", "").s("masked_code", masked) } else { self.s("masked_pan", masked) }
    }
    pub fn build(self) -> Dict {
        self.0
    }
}

/// The result keys of `dbus-api.md` (plus `balance` for `Balance`).
pub fn txn(r: &TxnResult) -> Dict {
    let d = DictBuilder::new()
        .b("approved", r.approved)
        .b("offline", r.offline)
        .s("response_code", &r.response_code)
        .s("message", &r.message)
        .u("stan", r.stan)
        .u("batch", r.batch)
        .s("rrn", &r.rrn)
        .s("auth_code", &r.auth_code)
        .t("amount", r.amount)
        .s("masked_pan", &r.masked_pan)
        .s("aid", &r.aid)
        .s("app_label", &r.app_label)
        .s("entry_mode", &r.entry_mode)
        .s("time", &r.time)
        .s("host_date", &r.host_date)
        .s("reference", &r.reference)
        .s("oda", &r.oda)
        .s("tvr", &r.tvr)
        .s("interface", &r.interface);
    // Only a payment code's result has a masked code (dbus-api.md version 1 additions).
    let d = if r.masked_code.is_empty() { d } else { d.s("masked_code", &r.masked_code) };
    // The receipt's cryptogram: an offline approval's TC, else the ARQC that went online.
    let d = match (r.cryptogram.is_empty(), r.offline) {
        (true, _) => d,
        (false, true) => d.s("tc", &r.cryptogram),
        (false, false) => d.s("arqc", &r.cryptogram),
    };
    match r.balance {
        Some(b) => d.x("balance", b).build(),
        None => d.build(),
    }
}

/// A journal row as `Payment.List` gives it: the result keys a row keeps,
/// its `kind` and `state`, and `voided` (an approved void names it).
pub fn journal_row(e: &crate::store::journal::Entry, voided: bool) -> Dict {
    use crate::store::journal::EntryState;
    DictBuilder::new()
        .s("kind", e.kind.as_str())
        .s("state", e.state.as_str())
        .b("approved", matches!(e.state, EntryState::Approved))
        .b("offline", e.offline)
        .b("voided", voided)
        .s("response_code", &e.response_code)
        .u("stan", e.stan)
        .u("batch", e.batch)
        .s("rrn", &e.rrn)
        .s("auth_code", &e.auth_code)
        .t("amount", e.amount)
        .masked(&e.masked_pan, &e.entry_mode)
        .s("interface", &e.interface)
        .s("entry_mode", &e.entry_mode)
        .s("time", &e.created_at)
        .s("host_date", &e.host_date)
        .s("reference", &e.reference)
        .build()
}

pub fn bind(r: &BindResult) -> Dict {
    DictBuilder::new()
        .s("terminal_id", &r.terminal_id)
        .s("merchant_id", &r.merchant_id)
        .s("merchant_name", &r.merchant_name)
        .t("deposit_amount", r.deposit_amount)
        .s("deposit_status", deposit_status_word(&r.deposit_status))
        .build()
}

pub fn update_parameters(r: &crate::engine::parameters::UpdateResult) -> Dict {
    DictBuilder::new().u("ca_keys", r.ca_keys).u("rejected_keys", r.rejected_keys).u("aids", r.aids).s("updated_at", &r.updated_at).build()
}

pub fn parameters(p: &crate::engine::parameters::ParametersView) -> Dict {
    DictBuilder::new()
        .s("source", &p.source)
        .s("updated_at", &p.updated_at)
        .u("ca_keys", p.ca_keys)
        .u("aids", p.aids)
        .u("expired_keys", p.expired_keys)
        .s("rejected", &p.rejected)
        .s("last_download", &p.last_outcome)
        .strings("in_force", &p.in_force)
        .build()
}

pub fn sign_in(r: &SignInResult) -> Dict {
    DictBuilder::new().u("batch", r.batch).s("signed_in_at", &r.signed_in_at).s("host_time", &r.host_time).build()
}

pub fn settle(r: &SettleResult) -> Dict {
    DictBuilder::new()
        .u("batch", r.batch)
        .b("balanced", r.balanced)
        .u("debit_count", r.debit_count)
        .t("debit_amount", r.debit_amount)
        .u("credit_count", r.credit_count)
        .t("credit_amount", r.credit_amount)
        .u("uploaded", r.uploaded)
        .build()
}

pub fn flush(r: &FlushResult) -> Dict {
    DictBuilder::new().u("forwarded", r.forwarded).u("remaining", r.remaining).u("declined", r.declined).u("reversals", r.reversals).build()
}

/// A deposit status letter of the activation reply as a word.
pub fn deposit_status_word(letter: &str) -> &'static str {
    match letter {
        "U" => "unpaid",
        "P" => "paid",
        "R" => "refunded",
        "W" => "waived",
        "" => "",
        _ => "unknown",
    }
}
