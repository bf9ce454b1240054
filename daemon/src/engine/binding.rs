//! Binding (activation, §3): the terminal's RSA key pair is made once and
//! kept sealed; the host returns the TMK under it, which is checked against
//! its check value before anything is stored. `Unbind` forgets the
//! identity and every key but the key pair. Both refuse while queued
//! offline sales or a pending reversal would be sent under another identity.

use super::{Engine, EngineError, EngineResult};
use crate::store::{Identity, Store, StoreError};
use smartpos_proto::crypto::activation::TerminalKeyPair;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::activation62::{ActivationReply, ActivationRequest};
use smartpos_proto::response_code;

/// What `Bind` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindResult {
    pub terminal_id: String,
    pub merchant_id: String,
    pub merchant_name: String,
    pub deposit_amount: u64,
    pub deposit_status: String,
}

impl Engine {
    fn refuse_with_pending_work(&mut self, what: &str) -> EngineResult<()> {
        let q = self.queue_stats()?;
        let reversals = self.store.pending_reversals()?.len();
        let advices = q.depth + q.unanswered_refunds;
        if advices > 0 || reversals > 0 {
            let count = |n: usize, one: &str, many: &str| match n {
                0 => None,
                1 => Some(format!("1 {one}")),
                n => Some(format!("{n} {many}")),
            };
            let work: Vec<String> = [count(advices as usize, "queued offline payment", "queued offline payments"), count(reversals, "pending reversal", "pending reversals")]
                .into_iter()
                .flatten()
                .collect();
            return Err(EngineError::new(
                super::ErrorKind::Busy,
                format!("{what} now would send {} under another terminal's identity.", work.join(" and ")),
                "Let them reach the host first: restore the network and run posctl queue flush, then try again.",
            ));
        }
        Ok(())
    }

    /// The terminal's RSA key pair, made and sealed on first use.
    fn key_pair(&mut self) -> EngineResult<TerminalKeyPair> {
        if let Some(der) = self.store.key("rsa")? {
            return TerminalKeyPair::from_pkcs8_der(&der).map_err(|e| StoreError::Corrupt(format!("terminal key pair: {e}")).into());
        }
        let pair =
            TerminalKeyPair::generate().map_err(|e| EngineError::new(super::ErrorKind::Device, format!("Could not make the terminal key pair: {e}."), "Restart the terminal."))?;
        let der = pair.to_pkcs8_der().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = self.civil().rfc3339();
        let keys = self.store.keystore();
        let tx = self.store.transaction()?;
        Store::put_key(&tx, keys.as_ref(), "rsa", &der, "", &now)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(pair)
    }

    /// Activation with the code the acquirer gave the merchant.
    pub fn bind(&mut self, activation_code: &str) -> EngineResult<BindResult> {
        let r = self.bind_inner(activation_code);
        self.record(r)
    }

    fn bind_inner(&mut self, code: &str) -> EngineResult<BindResult> {
        check_activation_code(code)?;
        if self.serial.is_empty() {
            return Err(EngineError::new(
                super::ErrorKind::Device,
                "The terminal has no hardware serial.",
                "Set terminal.serial in posd.toml or check /sys/firmware/devicetree/base/serial-number.",
            ));
        }
        self.refuse_with_pending_work("Binding again")?;
        let pair = self.key_pair()?;
        let public_key_der = pair.public_key_der().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let current = self.store.identity()?.unwrap_or_default();
        let stan = self.advance_stan()?;
        let mut m = self.base_request(Exchange::Activation, stan, &current, self.store.batch()?);
        m.set(62, ActivationRequest { serial: self.serial.clone(), activation_code: code.to_string(), public_key_der }.encode());
        let answer = self.exchange(Exchange::Activation, &m, None).map_err(|e| e.into_error())?;
        match answer.code() {
            "00" => {}
            "03" => {
                return Err(EngineError::new(
                    super::ErrorKind::NotBound,
                    "The host refused the activation code (03, invalid merchant).",
                    "Check the activation code with your acquirer and bind again.",
                )
                .with_code("03"));
            }
            "97" => {
                return Err(EngineError::new(
                    super::ErrorKind::NotBound,
                    "The host does not know this terminal's serial (97).",
                    "Ask your acquirer to register this terminal's serial number, then bind again.",
                )
                .with_code("97"));
            }
            other => {
                return Err(EngineError::host_code(other, response_code::lookup(other).meaning));
            }
        }
        let bad =
            |why: String| EngineError::new(super::ErrorKind::Host, format!("The activation reply is unusable: {why}."), "Try binding again; if it persists, call the acquirer.");
        let reply = ActivationReply::parse(answer.msg.get(62).unwrap_or_default()).map_err(|e| bad(e.to_string()))?;
        let tmk = pair.unwrap_tmk(&reply.encrypted_tmk, &reply.tmk_check).map_err(|e| bad(format!("the master key fails its check ({e})")))?;
        let tid = answer.msg.get_str(41).unwrap_or_default().to_string();
        let mid = answer.msg.get_str(42).unwrap_or_default().to_string();
        if tid.trim().is_empty() || tid.bytes().all(|b| b == b'0') || mid.bytes().all(|b| b == b'0') {
            return Err(bad("no terminal or merchant id".into()));
        }
        let now = self.civil().rfc3339();
        let id = Identity {
            serial: self.serial.clone(),
            tid: Some(tid.clone()),
            mid: Some(mid.clone()),
            merchant_name: Some(reply.merchant_name.clone()),
            deposit_amount: Some(reply.deposit_amount),
            deposit_status: Some(reply.deposit_status.to_string()),
            bound_at: Some(now.clone()),
        };
        let keys = self.store.keystore();
        let tx = self.store.transaction()?;
        Store::put_identity(&tx, &id)?;
        Store::delete_keys(&tx, &["pik", "mak", "tdk"])?;
        Store::put_key(&tx, keys.as_ref(), "tmk", tmk.expose(), &hex::encode_upper(tmk.check_value()), &now)?;
        Store::clear_session(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        self.keys = None;
        tracing::info!(tid = %tid, mid = %mid, "bound");
        Ok(BindResult {
            terminal_id: tid,
            merchant_id: mid,
            merchant_name: reply.merchant_name,
            deposit_amount: reply.deposit_amount,
            deposit_status: reply.deposit_status.to_string(),
        })
    }

    /// Forgets the binding and every key (the RSA key pair stays: it is the device's).
    pub fn unbind(&mut self) -> EngineResult<()> {
        let r = self.refuse_with_pending_work("Unbinding").and_then(|()| self.mark_unbound());
        self.record(r)
    }

    /// Advances the STAN in a transaction of its own (messages with no journal row).
    pub(crate) fn advance_stan(&mut self) -> EngineResult<u32> {
        let tx = self.store.transaction()?;
        let stan = self.store.next_stan(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(stan)
    }
}

/// Letters and digits (A-Z, a-z, 0-9), 4 to 16 of them: the activation
/// code as the acquirer prints it. Counted in characters, and the first
/// one that cannot be in a code is named.
fn check_activation_code(code: &str) -> EngineResult<()> {
    if let Some(c) = code.chars().find(|c| !c.is_ascii_alphanumeric()) {
        let shown = if c.is_whitespace() || c.is_control() { format!("{:?}", c) } else { format!("'{c}'") };
        return Err(EngineError::new(
            super::ErrorKind::InvalidArgument,
            format!("The activation code holds {shown}, which is not a letter A-Z or a digit 0-9."),
            "Type the code exactly as your acquirer gave it, in Latin letters and digits.",
        ));
    }
    let n = code.chars().count();
    if !(4..=16).contains(&n) {
        return Err(EngineError::new(
            super::ErrorKind::InvalidArgument,
            format!("The activation code has {n} characters; a code has 4 to 16."),
            "Type the whole code exactly as your acquirer gave it.",
        ));
    }
    Ok(())
}
