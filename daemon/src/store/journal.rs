//! The transaction journal: one row per payment message the terminal
//! originated (sale, void, refund, balance inquiry), with the state that
//! the reversal and settlement rules read. Card data is masked in clear
//! (first 6 / last 4) and otherwise sealed: what void, refund and batch
//! upload need (PAN, track 2, expiry, PSN, the field 55 sent) is one
//! [`CardSecrets`] sealed by the key store under `card:<batch>:<stan>`.

use super::keystore::KeyStore;
use super::{Store, StoreError, exec, one};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// What a journal row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sale,
    Void,
    Refund,
    Balance,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sale => "sale",
            Kind::Void => "void",
            Kind::Refund => "refund",
            Kind::Balance => "balance",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "void" => Kind::Void,
            "refund" => Kind::Refund,
            "balance" => Kind::Balance,
            _ => Kind::Sale,
        }
    }
}

/// Where a journal row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// The request may have left; the outcome is not known yet (a reversal
    /// record or a queued advice covers it).
    InFlight,
    Approved,
    Declined,
    /// Undone by a reversal the host acknowledged.
    Reversed,
    /// An offline sale the host declined when it was forwarded: kept and reported.
    AdviceDeclined,
}

impl EntryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::InFlight => "in-flight",
            EntryState::Approved => "approved",
            EntryState::Declined => "declined",
            EntryState::Reversed => "reversed",
            EntryState::AdviceDeclined => "advice-declined",
        }
    }

    fn parse(s: &str) -> EntryState {
        match s {
            "approved" => EntryState::Approved,
            "declined" => EntryState::Declined,
            "reversed" => EntryState::Reversed,
            "advice-declined" => EntryState::AdviceDeclined,
            _ => EntryState::InFlight,
        }
    }
}

/// The card data a later message needs, sealed at rest and wiped from memory.
#[derive(Clone, Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct CardSecrets {
    pub pan: String,
    /// Track 2 equivalent (tag 57) as hex with `D` as separator.
    pub track2: String,
    /// YYMM.
    pub expiry: String,
    /// PAN sequence number, 2 digits.
    pub psn: String,
    /// Field 55 as sent (the ARQC or TC data, for batch upload).
    pub icc: Vec<u8>,
    /// Read from a tap (§10): field 22 is `07x`, not `05x`.
    #[serde(default)]
    pub contactless: bool,
    /// A payment code (§11): `pan` holds the code, and only for the sale,
    /// its status inquiries and the batch upload (wiped at settlement).
    #[serde(default)]
    pub code: bool,
}

/// Field 22 of a payment-code message (§11).
pub const CODE_ENTRY_MODE: &str = "032";

impl CardSecrets {
    /// A payment code's: the code and nothing else.
    pub fn code(digits: &str) -> Self {
        let mut c = Self::default();
        c.pan = digits.to_string();
        c.code = true;
        c
    }

    /// The same without the code: what a void or refund of a code payment
    /// keeps (they carry no field 2, §11).
    pub fn without_code(&self) -> Self {
        let mut c = self.clone();
        if c.code {
            c.pan.clear();
        }
        c
    }

    /// Result key `interface`.
    pub fn interface(&self) -> &'static str {
        match (self.code, self.contactless) {
            (true, _) => "code",
            (false, true) => "contactless",
            (false, false) => "contact",
        }
    }

    /// Field 22 of a message about this card: chip `05x`, tap `07x`
    /// (`x` = 1 with a PIN block in the message, 2 without), code `032`.
    pub fn entry_mode(&self, with_pin: bool) -> &'static str {
        entry_mode(self.interface(), with_pin)
    }
}

/// Field 22 for a card that came by `interface` (`contact`, `contactless`,
/// `code`): chip `05x`, tap `07x` (`x` = 1 with a PIN block in the message,
/// 2 without), code `032`.
pub fn entry_mode(interface: &str, with_pin: bool) -> &'static str {
    match (interface, with_pin) {
        ("code", _) => CODE_ENTRY_MODE,
        ("contactless", true) => "071",
        ("contactless", false) => "072",
        (_, true) => "051",
        (_, false) => "052",
    }
}

impl std::fmt::Debug for CardSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardSecrets(..)")
    }
}

/// A new row.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub kind: Kind,
    pub batch: u32,
    pub stan: u32,
    pub amount: u64,
    pub masked_pan: &'a str,
    pub aid: &'a str,
    pub app_label: &'a str,
    pub entry_mode: &'a str,
    /// `contact` or `contactless` (§10).
    pub interface: &'a str,
    pub offline: bool,
    pub original_id: Option<i64>,
    pub reference: &'a str,
    pub state: EntryState,
    pub now: &'a str,
    /// Known at insert for offline approvals (`Y1`/`Y3`); empty otherwise.
    pub response_code: &'a str,
    /// MMDD of the approval, when known at insert.
    pub host_date: &'a str,
    /// Offline data authentication: `none`, `sda`, `dda`, `cda`, `failed`; empty without a card.
    pub oda: &'a str,
    /// TVR (hex) as sent with the first GENERATE AC; empty without a card.
    pub tvr: &'a str,
    /// The receipt's cryptogram (hex): TC offline, ARQC online; empty without one.
    pub cryptogram: &'a str,
    /// How the cardholder was verified: `pin`, `signature`, `none`; empty without a card.
    pub cvm: &'a str,
}

/// A row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub kind: Kind,
    pub batch: u32,
    pub stan: u32,
    pub amount: u64,
    pub masked_pan: String,
    pub aid: String,
    pub app_label: String,
    pub entry_mode: String,
    pub response_code: String,
    pub rrn: String,
    pub auth_code: String,
    pub state: EntryState,
    pub reference: String,
    pub created_at: String,
    pub offline: bool,
    pub original_id: Option<i64>,
    pub host_date: String,
    /// `contact`, `contactless` or `code`.
    pub interface: String,
    pub oda: String,
    pub tvr: String,
    pub cryptogram: String,
    pub cvm: String,
}

/// The host's answer as the journal keeps it.
#[derive(Debug, Clone, Default)]
pub struct Outcome<'a> {
    pub response_code: &'a str,
    pub rrn: &'a str,
    pub auth_code: &'a str,
    pub host_date: &'a str,
}

const COLUMNS: &str = "id, kind, batch, stan, amount, masked_pan, aid, app_label, entry_mode, response_code, rrn, auth_code, state, reference, created_at, offline, original_id, host_date, interface, oda, tvr, cryptogram, cvm";

fn entry(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let text = |i: usize| r.get::<_, Option<String>>(i).map(Option::unwrap_or_default);
    Ok(Entry {
        id: r.get(0)?,
        kind: Kind::parse(&r.get::<_, String>(1)?),
        batch: r.get(2)?,
        stan: r.get(3)?,
        amount: r.get::<_, i64>(4)? as u64,
        masked_pan: r.get(5)?,
        aid: text(6)?,
        app_label: text(7)?,
        entry_mode: text(8)?,
        response_code: text(9)?,
        rrn: text(10)?,
        auth_code: text(11)?,
        state: EntryState::parse(&r.get::<_, String>(12)?),
        reference: text(13)?,
        created_at: r.get(14)?,
        offline: r.get::<_, i64>(15)? != 0,
        original_id: r.get(16)?,
        host_date: text(17)?,
        interface: text(18)?,
        oda: text(19)?,
        tvr: text(20)?,
        cryptogram: text(21)?,
        cvm: text(22)?,
    })
}

fn card_name(batch: u32, stan: u32) -> String {
    format!("card:{batch}:{stan}")
}

impl Store {
    /// Inserts a row in `tx`, sealing `card` with it; returns the row id.
    pub fn insert_entry(tx: &Transaction<'_>, keys: &dyn KeyStore, e: &NewEntry<'_>, card: Option<&CardSecrets>) -> Result<i64, StoreError> {
        let sealed = match card {
            Some(c) => Some(keys.seal(&card_name(e.batch, e.stan), &Zeroizing::new(serde_json::to_vec(c).map_err(|err| StoreError::Corrupt(err.to_string()))?))?),
            None => None,
        };
        exec(
            tx,
            "INSERT INTO journal (kind, batch, stan, amount, masked_pan, card_sealed, aid, app_label, entry_mode, state, reference, created_at, updated_at, offline, original_id, response_code, host_date, oda, tvr, interface, cryptogram, cvm)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            params![
                e.kind.as_str(),
                e.batch,
                e.stan,
                e.amount as i64,
                e.masked_pan,
                sealed,
                e.aid,
                e.app_label,
                e.entry_mode,
                e.state.as_str(),
                e.reference,
                e.now,
                e.offline,
                e.original_id, e.response_code, e.host_date, e.oda, e.tvr, e.interface, e.cryptogram, e.cvm
            ],
        )?;
        Ok(tx.last_insert_rowid())
    }

    /// Forgets the payment codes of a settled batch: its rows keep the
    /// masked code only (§11; the batch upload was the code's last use).
    pub fn wipe_codes(tx: &Transaction<'_>, batch: u32) -> Result<(), StoreError> {
        tx.execute("UPDATE journal SET card_sealed = NULL WHERE batch = ?1 AND entry_mode = ?2", rusqlite::params![batch, CODE_ENTRY_MODE])?;
        Ok(())
    }

    /// Records the host's answer and the row's new state in `tx`.
    pub fn finish_entry(tx: &Transaction<'_>, id: i64, state: EntryState, o: &Outcome<'_>, now: &str) -> Result<(), StoreError> {
        exec(
            tx,
            "UPDATE journal SET state = ?2, response_code = ?3, rrn = ?4, auth_code = ?5, host_date = ?6, updated_at = ?7 WHERE id = ?1",
            params![id, state.as_str(), o.response_code, o.rrn, o.auth_code, o.host_date, now],
        )?;
        Ok(())
    }

    /// Changes only the state (reversed, advice declined) in `tx`.
    pub fn set_entry_state(tx: &Transaction<'_>, id: i64, state: EntryState, now: &str) -> Result<(), StoreError> {
        exec(tx, "UPDATE journal SET state = ?2, updated_at = ?3 WHERE id = ?1", params![id, state.as_str(), now])?;
        Ok(())
    }

    pub fn entry(&self, id: i64) -> Result<Option<Entry>, StoreError> {
        Ok(one(&self.conn, &format!("SELECT {COLUMNS} FROM journal WHERE id = ?1"), [id], entry).optional()?)
    }

    /// The row of `kind` sent as `stan` in `batch`.
    pub fn entry_by_stan(&self, kind: Kind, batch: u32, stan: u32) -> Result<Option<Entry>, StoreError> {
        Ok(one(&self.conn, &format!("SELECT {COLUMNS} FROM journal WHERE kind = ?1 AND batch = ?2 AND stan = ?3"), params![kind.as_str(), batch, stan], entry).optional()?)
    }

    /// The newest row with this STAN (a receipt names its transaction so).
    pub fn entry_by_stan_newest(&self, stan: u32) -> Result<Option<Entry>, StoreError> {
        Ok(one(&self.conn, &format!("SELECT {COLUMNS} FROM journal WHERE stan = ?1 ORDER BY id DESC LIMIT 1"), [stan], entry).optional()?)
    }

    /// The approved sale with this RRN on the host's date `host_date` (MMDD,
    /// as its receipt and result show it; RRNs are unique per host day,
    /// and the host's day can differ from the terminal's), newest first.
    pub fn sale_by_rrn(&self, rrn: &str, host_date: &str) -> Result<Option<Entry>, StoreError> {
        Ok(one(
            &self.conn,
            &format!("SELECT {COLUMNS} FROM journal WHERE kind = 'sale' AND rrn = ?1 AND host_date = ?2 AND state = 'approved' ORDER BY id DESC LIMIT 1"),
            [rrn, host_date],
            entry,
        )
        .optional()?)
    }

    /// Rows of `batch` in order.
    pub fn batch_entries(&self, batch: u32) -> Result<Vec<Entry>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM journal WHERE batch = ?1 ORDER BY id"))?;
        let rows = st.query_map([batch], entry)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The newest `limit` rows of `batch`, newest first, each with whether an
    /// approved void names it (`Payment.List`: the day's list a cashier app
    /// voids and refunds from).
    pub fn batch_newest(&self, batch: u32, limit: u32) -> Result<Vec<(Entry, bool)>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, EXISTS (SELECT 1 FROM journal v WHERE v.kind = 'void' AND v.state = 'approved' AND v.original_id = journal.id) \
             FROM journal WHERE batch = ?1 ORDER BY id DESC LIMIT ?2"
        );
        // The column selected after COLUMNS: its index is their count.
        let voided = COLUMNS.split(',').count();
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params![batch, limit], |r| Ok((entry(r)?, r.get::<_, i64>(voided)? != 0)))?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The newest `limit` rows (for `posctl journal`).
    pub fn recent_entries(&self, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM journal ORDER BY id DESC LIMIT ?1"))?;
        let rows = st.query_map([limit], entry)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Approved transactions of `kind` that name `original_id` (a void or refund of a sale).
    pub fn approved_against(&self, kind: Kind, original_id: i64) -> Result<Vec<Entry>, StoreError> {
        let mut st = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM journal WHERE kind = ?1 AND original_id = ?2 AND state = 'approved' ORDER BY id"))?;
        let rows = st.query_map(params![kind.as_str(), original_id], entry)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Opens the sealed card data of a row.
    pub fn card_secrets(&self, e: &Entry) -> Result<Option<CardSecrets>, StoreError> {
        let sealed: Option<Vec<u8>> = one(&self.conn, "SELECT card_sealed FROM journal WHERE id = ?1", [e.id], |r| r.get(0)).optional()?.flatten();
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let clear = self.keys.open(&card_name(e.batch, e.stan), &sealed)?;
        serde_json::from_slice(&clear).map(Some).map_err(|err| StoreError::Corrupt(format!("sealed card data of journal row {}: {err}", e.id)))
    }
}
