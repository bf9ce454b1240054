//! Sign-in and sign-out (§3, §6). Working keys are checked by their check
//! values before anything is stored; the host's batch is adopted and the
//! clock offset to the host recorded. The engine signs in again by itself
//! at start-up, at the start of a new day, after settlement, after codes
//! 22/77/99/A0, when a reply's header asks, and when stored keys fail
//! their check. Attempts that cannot reach the host are retried with
//! doubling waits; other failures are not (retrying would not help).

use super::wire::WireError;
use super::{Engine, EngineError, EngineResult, ErrorKind};
use crate::store::session::SessionRecord;
use crate::store::{Identity, Store, StoreError};
use smartpos_proto::clock::CivilTime;
use smartpos_proto::crypto::Key;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::reserved60::Field60;
use smartpos_proto::fields::sign_in62::{self, WorkingKeys};
use smartpos_proto::response_code;
use std::time::Duration;

/// What `SignIn` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInResult {
    pub batch: u32,
    pub signed_in_at: String,
    pub host_time: String,
}

const WORKING_KEYS: [&str; 3] = ["pik", "mak", "tdk"];

impl Engine {
    /// Loads the sealed working keys of a session that is still valid.
    pub(crate) fn load_session_keys(&mut self) -> EngineResult<()> {
        self.keys = None;
        if self.store.session()?.is_none() {
            return Ok(());
        }
        let mut loaded = Vec::new();
        for name in WORKING_KEYS {
            let Some(clear) = self.store.key(name)? else {
                return Ok(());
            };
            match Key::new(&clear) {
                Ok(k) => loaded.push(k),
                Err(_) => {
                    self.resign = true;
                    return Ok(());
                }
            }
        }
        let [pik, mak, tdk] = <[Key; 3]>::try_from(loaded).map_err(|_| StoreError::Corrupt("working keys".into()))?;
        self.keys = Some(WorkingKeys { pik, mak, tdk });
        Ok(())
    }

    /// Whether the session must be renewed before the next payment.
    fn session_stale(&self) -> EngineResult<bool> {
        if self.keys.is_none() || self.resign {
            return Ok(true);
        }
        Ok(match self.store.session()? {
            None => true,
            Some(s) => s.day != self.civil().yymmdd(),
        })
    }

    /// Signs in (one attempt, or several while the host cannot be reached).
    pub fn sign_in(&mut self) -> EngineResult<SignInResult> {
        let r = self.sign_in_with_retries();
        self.record(r)
    }

    pub(crate) fn sign_in_with_retries(&mut self) -> EngineResult<SignInResult> {
        let attempts = self.cfg.retries.sign_in_attempts.max(1);
        let mut wait = Duration::from_millis(self.cfg.retries.sign_in_backoff_ms);
        let mut attempt = 1;
        loop {
            match self.sign_in_once() {
                Err(e) if e.kind == ErrorKind::Network && attempt < attempts && !self.cancel.is_cancelled() => {
                    tracing::info!(attempt, wait_ms = wait.as_millis() as u64, "sign-in: host unreachable, trying again");
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                Err(mut e) if e.kind == ErrorKind::Network && attempt > 1 => {
                    e.message = format!("{} ({attempt} attempts)", e.message);
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    fn sign_in_once(&mut self) -> EngineResult<SignInResult> {
        let id = self.bound()?;
        let tmk_clear = self.store.key("tmk")?.ok_or_else(EngineError::not_bound)?;
        let tmk = Key::new(&tmk_clear).map_err(|e| StoreError::Corrupt(format!("TMK: {e}")))?;
        let stan = self.advance_stan()?;
        let mut m = self.base_request(Exchange::SignIn, stan, &id, self.store.batch()?);
        m.set(63, self.cfg.terminal.operator.as_str());
        let answer = self.exchange(Exchange::SignIn, &m, None).map_err(WireError::into_error)?;
        let code = answer.code().to_string();
        if code != "00" {
            return Err(match response_code::lookup(&code).category {
                Some(smartpos_proto::response_code::Category::Operator) => {
                    EngineError::new(ErrorKind::Operator, format!("The host refused operator {:?} ({code}).", self.cfg.terminal.operator), "Check terminal.operator in posd.toml.")
                        .with_code(&code)
                }
                _ => EngineError::host_code(&code, response_code::lookup(&code).meaning),
            });
        }
        let keys = sign_in62::unwrap(&tmk, answer.msg.get(62).unwrap_or_default(), self.mac).map_err(|e| {
            self.resign = true;
            EngineError::new(
                ErrorKind::Host,
                format!("The host's working keys fail their check values: {e}."),
                "Sign in again; if it persists, the acquirer must check the terminal master key (bind again).",
            )
        })?;
        let batch = Field60::parse(answer.msg.get_str(60).unwrap_or_default()).map(|f| f.batch).unwrap_or(1);
        let local = self.civil();
        let host_time = format!("{}{}", answer.msg.get_str(13).unwrap_or("0000"), answer.msg.get_str(12).unwrap_or("000000"));
        let offset = clock_offset(&local, &host_time);
        let signed_in_at = local.rfc3339();
        let keystore = self.store.keystore();
        let tx = self.store.transaction()?;
        for (name, k) in [("pik", &keys.pik), ("mak", &keys.mak), ("tdk", &keys.tdk)] {
            Store::put_key(&tx, keystore.as_ref(), name, k.expose(), &hex::encode_upper(k.check_value()), &signed_in_at)?;
        }
        Store::set_batch(&tx, batch)?;
        Store::put_session(&tx, &SessionRecord { signed_in_at: signed_in_at.clone(), day: local.yymmdd(), host_time: host_time.clone(), clock_offset_secs: offset })?;
        tx.commit().map_err(StoreError::from)?;
        self.keys = Some(keys);
        self.resign = false;
        tracing::info!(batch, clock_offset_secs = offset, "signed in");
        // Whichever way the sign-in came (asked for, before a payment, at
        // start-up, at the host's request): the §8 downloads that are due.
        self.run_due_downloads(true);
        Ok(SignInResult { batch, signed_in_at, host_time })
    }

    /// Signs out: the session ends whatever the host answers.
    pub fn sign_out(&mut self) -> EngineResult<()> {
        let r = self.sign_out_inner();
        self.record(r)
    }

    pub(crate) fn sign_out_inner(&mut self) -> EngineResult<()> {
        let id = self.bound()?;
        let stan = self.advance_stan()?;
        let m = self.base_request(Exchange::SignOut, stan, &id, self.store.batch()?);
        let sent = self.exchange(Exchange::SignOut, &m, None);
        let tx = self.store.transaction()?;
        Store::clear_session(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        self.keys = None;
        sent.map(|_| ()).map_err(WireError::into_error)
    }

    /// What the daemon runs at start-up: when bound, sign in if the session
    /// is missing or stale, then send pending reversals and forward the
    /// queue. Failures are recorded in `LastError`, not raised: the daemon
    /// starts anyway and tries again before the next payment.
    pub fn start_up(&mut self) {
        if self.bound().is_err() {
            return;
        }
        let r = self.ensure_signed_in().and_then(|_| self.forward_all(false).map(|_| ()));
        let _ = self.record(r);
    }

    /// Signs in when the session is missing or stale; payments call this
    /// first. Returns the bound identity.
    pub(crate) fn ensure_signed_in(&mut self) -> EngineResult<Identity> {
        let id = self.bound()?;
        if self.session_stale()? {
            tracing::info!("signing in before the transaction");
            self.sign_in_with_retries()?;
        }
        Ok(id)
    }

    /// [`Engine::ensure_signed_in`], except that with keys from an earlier
    /// session an unreachable host does not stop offline work.
    pub(crate) fn signed_in_or_offline(&mut self) -> EngineResult<()> {
        match self.ensure_signed_in() {
            Err(e) if e.kind == ErrorKind::Network && self.keys.is_some() => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// After a code that asks for it: sign in now, so the next payment works.
    pub(crate) fn resign_if_asked(&mut self) {
        if self.resign
            && self.bound().is_ok()
            && let Err(e) = self.sign_in_once()
        {
            tracing::warn!("sign-in after the host's request failed: {e}");
        }
    }
}

/// Seconds the host's clock (`MMDDhhmmss`, year taken from ours) is ahead of ours.
fn clock_offset(local: &CivilTime, host: &str) -> i64 {
    let num = |r: std::ops::Range<usize>| host.get(r).and_then(|s| s.parse::<i64>().ok());
    let (Some(mo), Some(d), Some(h), Some(mi), Some(s)) = (num(0..2), num(2..4), num(4..6), num(6..8), num(8..10)) else {
        return 0;
    };
    let ours = local.rfc3339();
    let lnum = |r: std::ops::Range<usize>| ours.get(r).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let (lmo, ld, lh, lmi, ls) = (lnum(5..7), lnum(8..10), lnum(11..13), lnum(14..16), lnum(17..19));
    if (mo, d) != (lmo, ld) {
        // Across midnight or a date disagreement: report whole days roughly.
        return (d - ld) * 86_400 + (h - lh) * 3600 + (mi - lmi) * 60 + (s - ls);
    }
    (h - lh) * 3600 + (mi - lmi) * 60 + (s - ls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        let t = CivilTime::from_unix(1_700_000_000, 8 * 3600); // 2023-11-15 06:13:20 +08:00
        assert_eq!(clock_offset(&t, "1115061320"), 0);
        assert_eq!(clock_offset(&t, "1115061330"), 10);
        assert_eq!(clock_offset(&t, "1115051320"), -3600);
        assert_eq!(clock_offset(&t, "garbage"), 0);
    }
}
