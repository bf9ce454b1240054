//! The sets of §8's downloads: the CA public keys and the IC parameters
//! per AID, each replaced whole in one transaction (the caller commits it
//! only once the download's end message is answered), and what the last
//! download of each did.

use super::{Store, StoreError, exec, one};
use crate::engine::emv::oda::CaKey;
use rusqlite::{OptionalExtension, Transaction, params};
use smartpos_proto::crypto::oda::PublicKey;
use smartpos_proto::fields::download62::AidParams;

/// What the last download of a kind did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadRecord {
    /// RFC 3339 of the last complete download; empty: never.
    pub updated_at: String,
    /// Keys refused at it, `RID/index reason`, comma separated.
    pub rejected: String,
    pub last_try: String,
    pub outcome: String,
}

/// The two kinds of download.
pub const CA_KEYS: &str = "ca_keys";
pub const PARAMS: &str = "params";
/// The outcome of a download under way (or killed under way).
pub const IN_PROGRESS: &str = "in progress";

impl Store {
    pub fn ca_keys(&self) -> Result<Vec<CaKey>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT rid, idx, modulus, exponent, expiry FROM ca_key ORDER BY rid, idx")?;
        let rows = stmt.query_map([], |r| {
            let rid: Vec<u8> = r.get(0)?;
            Ok((rid, r.get::<_, u8>(1)?, r.get::<_, Vec<u8>>(2)?, r.get::<_, Vec<u8>>(3)?, r.get::<_, String>(4)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rid, index, modulus, exponent, expiry) = row?;
            let rid = rid.try_into().map_err(|_| StoreError::Corrupt("a CA key RID is not 5 bytes".into()))?;
            out.push(CaKey { rid, index, key: PublicKey { modulus, exponent }, expiry });
        }
        Ok(out)
    }

    /// Replaces the CA key set (inside the caller's transaction).
    pub fn replace_ca_keys(tx: &Transaction<'_>, keys: &[CaKey]) -> Result<(), StoreError> {
        exec(tx, "DELETE FROM ca_key", [])?;
        for k in keys {
            exec(
                tx,
                "INSERT INTO ca_key (rid, idx, modulus, exponent, expiry) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![&k.rid[..], k.index, k.key.modulus, k.key.exponent, k.expiry],
            )?;
        }
        Ok(())
    }

    pub fn aid_params(&self) -> Result<Vec<AidParams>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT params FROM aid_params ORDER BY aid")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?).map_err(|e| StoreError::Corrupt(format!("IC parameters: {e}")))?);
        }
        Ok(out)
    }

    /// Replaces the IC parameter sets (inside the caller's transaction).
    pub fn replace_aid_params(tx: &Transaction<'_>, sets: &[AidParams]) -> Result<(), StoreError> {
        exec(tx, "DELETE FROM aid_params", [])?;
        for p in sets {
            let json = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            exec(tx, "INSERT INTO aid_params (aid, params) VALUES (?1, ?2)", params![p.aid, json])?;
        }
        Ok(())
    }

    pub fn download_record(&self, kind: &str) -> Result<DownloadRecord, StoreError> {
        let row = one(&self.conn, "SELECT updated_at, rejected, last_try, outcome FROM download WHERE kind = ?1", [kind], |r| {
            Ok(DownloadRecord {
                updated_at: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                rejected: r.get(1)?,
                last_try: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                outcome: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            })
        })
        .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// A complete download: its time and the keys it refused.
    pub fn put_download_done(tx: &Transaction<'_>, kind: &str, at: &str, rejected: &str) -> Result<(), StoreError> {
        exec(
            tx,
            "INSERT INTO download (kind, updated_at, rejected, last_try, outcome) VALUES (?1, ?2, ?3, ?2, 'ok')
             ON CONFLICT (kind) DO UPDATE SET updated_at = ?2, rejected = ?3, last_try = ?2, outcome = 'ok'",
            params![kind, at, rejected],
        )?;
        Ok(())
    }

    /// A download begins: committed first, so a crash in the middle leaves
    /// "in progress" and the next sign-in knows to try again.
    pub fn put_download_started(&self, kind: &str, at: &str) -> Result<(), StoreError> {
        self.put_download_failed(kind, at, IN_PROGRESS)
    }

    /// Whether a download of `kind` is due at a sign-in: never completed,
    /// or the last one did not finish (crash, lost reply, host refusal).
    pub fn download_due(&self, kind: &str) -> Result<bool, StoreError> {
        let r = self.download_record(kind)?;
        Ok(r.updated_at.is_empty() || r.outcome != "ok")
    }

    /// A download that stopped: the old set stays in force.
    pub fn put_download_failed(&self, kind: &str, at: &str, why: &str) -> Result<(), StoreError> {
        exec(
            &self.conn,
            "INSERT INTO download (kind, last_try, outcome) VALUES (?1, ?2, ?3) ON CONFLICT (kind) DO UPDATE SET last_try = ?2, outcome = ?3",
            params![kind, at, why],
        )?;
        Ok(())
    }
}
