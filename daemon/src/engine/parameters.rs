//! §8: the CA public key and IC parameter downloads, and the parameters in
//! force. A download is the list, one request per entry, then the end
//! message; every exchange is MACed, a reply whose MAC fails (or any other
//! failure) stops it, and the new set replaces the old one in one
//! transaction only after the end message is answered `00`. So a crash or a
//! lost reply in the middle leaves the old set in force, and the next
//! sign-in tries again. A key whose checksum (`DF03`) fails is refused and
//! reported, the others kept.
//!
//! Triggers: the first sign-in without a set, a reply header asking (`4` CA
//! keys, `5` parameters: run at the next sign-in or idle tick), and
//! `Terminal.UpdateParameters`. In force: the downloaded values over
//! `posd.toml`'s `[emv]` defaults, except the keys `emv.pin` names.

use super::emv::oda::{Authenticator, CaKey};
use super::failpoint;
use super::wire::WireError;
use super::{Engine, EngineError, EngineResult};
use crate::store::parameters::{CA_KEYS, DownloadRecord, PARAMS};
use crate::store::{Identity, Store, StoreError};
use rusqlite::Transaction;
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::download62::{self as d62, AidParams, CaKeyRecord};

/// What `UpdateParameters` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateResult {
    /// Usable CA keys held (not expired).
    pub ca_keys: u32,
    pub rejected_keys: u32,
    pub aids: u32,
    pub updated_at: String,
}

/// What `Terminal.Parameters` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParametersView {
    /// `host`, `config` or `host+pinned`.
    pub source: String,
    pub updated_at: String,
    pub ca_keys: u32,
    pub aids: u32,
    pub expired_keys: u32,
    pub rejected: String,
    pub last_outcome: String,
    /// Per AID, the action codes, floor limit and application version in
    /// force, each with where it came from (`host`, `pinned`, `config`).
    pub in_force: Vec<String>,
}

/// Which downloads a reply header asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requested {
    pub ca_keys: bool,
    pub params: bool,
}

fn download_error(what: &str, mut err: EngineError) -> EngineError {
    err.message = format!("The {what} download stopped: {} The terminal keeps the set it had.", err.message);
    err
}

fn malformed(e: impl std::fmt::Display) -> EngineError {
    WireError::NoReply(e.to_string()).into_error()
}

impl Engine {
    /// Both downloads now (`Terminal.UpdateParameters`).
    pub fn update_parameters(&mut self) -> EngineResult<UpdateResult> {
        let r = self.update_parameters_inner();
        self.record(r)
    }

    fn update_parameters_inner(&mut self) -> EngineResult<UpdateResult> {
        if self.keys.is_none() {
            return Err(EngineError::not_signed_in("the downloads are made in a session"));
        }
        // Both are asked for: a crash during the first leaves both due at the next sign-in.
        self.store.put_download_started(PARAMS, &self.civil().rfc3339())?;
        let rejected = self.download_ca_keys()?;
        self.download_params()?;
        let view = self.parameters_view()?;
        Ok(UpdateResult { ca_keys: view.ca_keys, rejected_keys: rejected, aids: view.aids, updated_at: view.updated_at })
    }

    /// The downloads the host asked for and, after a sign-in (`signed_in`),
    /// those the terminal has never completed. Failures are logged and kept
    /// for `Diagnose`; they never fail the sign-in (the old set stays). A
    /// host that refuses them (`40`: no downloads) is asked again only at
    /// the next sign-in.
    pub fn run_due_downloads(&mut self, signed_in: bool) {
        if self.keys.is_none() {
            return;
        }
        let due = |store: &Store, kind| signed_in && store.download_due(kind).unwrap_or(true);
        if self.requested.ca_keys || due(&self.store, CA_KEYS) {
            self.requested.ca_keys = false;
            if let Err(e) = self.download_ca_keys() {
                tracing::warn!(error = %e, "CA key download");
            }
        }
        if self.requested.params || due(&self.store, PARAMS) {
            self.requested.params = false;
            if let Err(e) = self.download_params() {
                tracing::warn!(error = %e, "IC parameter download");
            }
        }
    }

    /// One §8 exchange; anything but `00` stops the download.
    fn download_request(&mut self, ex: Exchange, id: &Identity, f62: Option<Vec<u8>>) -> EngineResult<smartpos_proto::codec::Message> {
        let stan = self.advance_stan()?;
        let mut m = self.base_request(ex, stan, id, self.store.batch()?);
        if let Some(v) = f62 {
            m.set(62, v);
        }
        let answer = self.exchange(ex, &m, Some("download")).map_err(WireError::into_error)?;
        match answer.code() {
            "00" => Ok(answer.msg),
            code => Err(EngineError::host_code(code, smartpos_proto::response_code::lookup(code).meaning)),
        }
    }

    /// One download of `kind`: marked started (committed first, so a crash
    /// leaves it due), the set fetched, then `commit` replaces the old set
    /// in one transaction; any failure is recorded and the old set stays.
    fn download<T>(
        &mut self,
        kind: &str,
        what: &str,
        fetch: impl FnOnce(&mut Self, &Identity) -> EngineResult<T>,
        commit: impl FnOnce(&Transaction<'_>, &T, &str) -> Result<(), StoreError>,
    ) -> EngineResult<T> {
        let id = self.bound()?;
        let now = self.civil().rfc3339();
        self.store.put_download_started(kind, &now)?;
        let set = match fetch(self, &id) {
            Ok(set) => set,
            Err(e) => {
                let err = download_error(what, e);
                let _ = self.store.put_download_failed(kind, &now, &err.message);
                return Err(err);
            }
        };
        failpoint::hit("download.commit.before");
        let tx = self.store.transaction()?;
        commit(&tx, &set, &now)?;
        tx.commit().map_err(StoreError::from)?;
        failpoint::hit("download.commit.after");
        self.load_parameters()?;
        Ok(set)
    }

    /// The CA key download; returns how many keys were refused.
    fn download_ca_keys(&mut self) -> EngineResult<u32> {
        let fetch = |e: &mut Self, id: &Identity| -> EngineResult<(Vec<CaKey>, Vec<String>)> {
            let list = e.download_request(Exchange::CaKeyList, id, None)?;
            let entries = d62::parse_ca_key_list(list.get(62).unwrap_or_default()).map_err(malformed)?;
            let (mut keys, mut rejected) = (Vec::new(), Vec::new());
            for entry in entries {
                let label = format!("{}/{:02X}", hex::encode_upper(entry.rid), entry.index);
                let reply = e.download_request(Exchange::CaKeyDownload, id, Some(d62::encode_key_request(&entry.rid, entry.index)))?;
                let refused = match CaKeyRecord::parse(reply.get(62).unwrap_or_default()) {
                    Ok(k) if k.entry != entry => format!("{label} does not match the list"),
                    Ok(k) if !k.checksum_ok() => format!("{label} checksum"),
                    Ok(k) => {
                        keys.push(CaKey { rid: k.entry.rid, index: k.entry.index, key: k.key, expiry: k.entry.expiry });
                        continue;
                    }
                    Err(why) => format!("{label} {why}"),
                };
                tracing::warn!(key = %refused, "CA key refused at download");
                rejected.push(refused);
            }
            e.download_request(Exchange::CaKeyDownloadEnd, id, None)?;
            Ok((keys, rejected))
        };
        let (keys, rejected) = self.download(CA_KEYS, "CA key", fetch, |tx, (keys, rejected), now| {
            Store::replace_ca_keys(tx, keys)?;
            Store::put_download_done(tx, CA_KEYS, now, &rejected.join(", "))
        })?;
        tracing::info!(keys = keys.len(), rejected = rejected.len(), "CA keys downloaded");
        Ok(rejected.len() as u32)
    }

    fn download_params(&mut self) -> EngineResult<()> {
        let fetch = |e: &mut Self, id: &Identity| -> EngineResult<Vec<AidParams>> {
            let list = e.download_request(Exchange::ParamList, id, None)?;
            let aids = d62::parse_aid_list(list.get(62).unwrap_or_default()).map_err(malformed)?;
            let mut sets = Vec::new();
            for aid in aids {
                let reply = e.download_request(Exchange::ParamDownload, id, Some(d62::encode_aid_list(&[aid])))?;
                sets.push(AidParams::parse(reply.get(62).unwrap_or_default()).map_err(malformed)?);
            }
            e.download_request(Exchange::ParamDownloadEnd, id, None)?;
            Ok(sets)
        };
        let sets = self.download(PARAMS, "IC parameter", fetch, |tx, sets, now| {
            Store::replace_aid_params(tx, sets)?;
            Store::put_download_done(tx, PARAMS, now, "")
        })?;
        tracing::info!(aids = sets.len(), "IC parameters downloaded");
        Ok(())
    }

    /// Builds the authenticator and the EMV parameters in force from the
    /// stored sets and the configuration.
    pub(crate) fn load_parameters(&mut self) -> EngineResult<()> {
        self.oda = Authenticator { ca_keys: self.store.ca_keys()? };
        let sets = self.store.aid_params()?;
        self.params = super::emv::Params::new(&self.cfg.emv, &self.cfg.terminal.currency, &self.serial).with_downloaded(&sets);
        Ok(())
    }

    /// `Terminal.Parameters`: the sets in force as loaded (the engine is
    /// the store's only writer, and reloads them after each download), the
    /// download records from the store.
    pub fn parameters_view(&self) -> EngineResult<ParametersView> {
        let keys = &self.oda.ca_keys;
        let today = format!("20{}", self.civil().yymmdd());
        let expired = keys.iter().filter(|k| k.expiry < today).count() as u32;
        let aids = self.params.downloaded.len() as u32;
        let (k, p): (DownloadRecord, DownloadRecord) = (self.store.download_record(CA_KEYS)?, self.store.download_record(PARAMS)?);
        let source = match (aids > 0, self.cfg.emv.pin.is_empty()) {
            (false, _) => "config",
            (true, true) => "host",
            (true, false) => "host+pinned",
        };
        let last_outcome = [("CA keys", &k), ("IC parameters", &p)]
            .iter()
            .filter(|(_, r)| !r.last_try.is_empty())
            .map(|(what, r)| format!("{what}: {} at {}", r.outcome, r.last_try))
            .collect::<Vec<_>>()
            .join("; ");
        let in_force = self.in_force_lines();
        Ok(ParametersView {
            in_force,
            source: source.into(),
            updated_at: std::cmp::max(k.updated_at.clone(), p.updated_at.clone()),
            ca_keys: keys.len() as u32 - expired,
            aids,
            expired_keys: expired,
            rejected: k.rejected,
            last_outcome,
        })
    }

    fn in_force_lines(&self) -> Vec<String> {
        let base = &self.params;
        let line = |who: String, p: &super::emv::Params, from: &dyn Fn(&str) -> &'static str| {
            format!(
                "{who}: TAC denial {} ({}), online {} ({}), default {} ({}), floor limit {} ({}), app version {} ({})",
                hex::encode_upper(p.tac.denial),
                from("tac_denial"),
                hex::encode_upper(p.tac.online),
                from("tac_online"),
                hex::encode_upper(p.tac.default),
                from("tac_default"),
                super::money::Money { minor: p.floor_limit, currency: &self.cfg.terminal.currency },
                from("floor_limit"),
                hex::encode_upper(&p.app_version),
                from("app_version"),
            )
        };
        if base.downloaded.is_empty() {
            return vec![line("every AID".into(), base, &|_| "config")];
        }
        base.downloaded
            .iter()
            .map(|set| {
                let pinned = |key: &str| if base.pinned.iter().any(|k| k == key) { "pinned" } else { "host" };
                line(hex::encode_upper(&set.aid), &base.for_aid(&set.aid), &pinned)
            })
            .collect()
    }

    /// A reply header asked for a download (`4`/`5`).
    pub(crate) fn note_requested(&mut self, processing: u8) {
        match processing {
            4 => self.requested.ca_keys = true,
            5 => self.requested.params = true,
            _ => return,
        }
        tracing::info!(processing, "the host asks for a parameter download");
    }
}
