//! What the simulated acquirer and issuer remember: bound terminals and
//! their keys, card accounts, the host journal and the held answers of
//! advices. Everything is in memory; the ledger ([`super::ledger`]) is the
//! view tests read.

use smartpos_proto::clock::CivilTime;
use smartpos_proto::codec::{Codec, Message};
use smartpos_proto::crypto::{Key, MacAlgorithm};
use smartpos_proto::exchange::Exchange;
use smartpos_proto::fields::sign_in62::WorkingKeys;
use smartpos_vcard::testdata::{CardProfile, TestData};
use std::collections::HashMap;

/// A terminal the host knows (bound at activation).
#[derive(Debug)]
pub struct Terminal {
    pub tid: String,
    pub mid: String,
    pub serial: String,
    pub tmk: Key,
    /// Working keys of the current session; `None` before sign-in and after sign-out.
    pub keys: Option<WorkingKeys>,
    pub batch: u32,
}

/// A card's issuer-side account.
#[derive(Debug, Clone)]
pub struct Account {
    pub profile: CardProfile,
    pub balance: i64,
    pub wrong_pins: u32,
}

/// A wallet's single-use code and its balance (§11).
#[derive(Debug, Clone)]
pub struct CodeAccount {
    pub profile: smartpos_vcard::testdata::PaymentCode,
    pub balance: i64,
    /// Used by a sale the host approved or holds pending: a second use is `12`.
    pub used: bool,
}

/// A `Q1` sale waiting for the customer (`due`: when the phone confirms; `None`: never).
#[derive(Debug, Clone)]
pub struct PendingConfirmation {
    pub due: Option<std::time::Instant>,
}

/// Lifecycle of a host journal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnState {
    Approved,
    Declined,
    Reversed,
    /// A payment-code sale answered `Q1`: the customer has not confirmed yet (§11).
    Pending,
}

/// One financial request the host answered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HostTxn {
    pub tid: String,
    pub batch: u32,
    pub stan: u32,
    pub exchange: Exchange,
    pub card: String,
    pub masked_pan: String,
    #[serde(skip)]
    pub pan: String,
    pub aid: String,
    pub amount: u64,
    /// Field 22 as sent: `05x` chip, `07x` tap.
    #[serde(default)]
    pub entry_mode: String,
    pub response_code: String,
    pub rrn: String,
    pub auth_code: String,
    /// MMDD of the host's answer.
    pub date: String,
    pub state: TxnState,
    /// STAN of the void against this sale.
    pub voided_by: Option<u32>,
    pub refunded: u64,
    /// (batch, STAN) of the original, for voids and refunds.
    pub original: Option<(u32, u32)>,
}

/// A balance movement on a card (negative: charged).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Posting {
    pub tid: String,
    pub batch: u32,
    pub stan: u32,
    pub exchange: Exchange,
    pub card: String,
    pub delta: i64,
}

/// A settlement the host answered.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SettlementRecord {
    pub tid: String,
    pub batch: u32,
    pub balanced: (bool, bool),
    pub uploaded: Vec<u32>,
    pub closed: bool,
}

/// The simulated host.
#[derive(Debug)]
pub struct HostState {
    pub data: TestData,
    pub imk: Key,
    pub codec: Codec,
    pub mac: MacAlgorithm,
    /// Offset of the host's clock from UTC, seconds.
    pub utc_offset: i64,
    /// Seconds the host's clock runs ahead of this machine's (tests that
    /// put terminal and host at a chosen instant).
    pub clock_shift: i64,
    pub terminals: HashMap<String, Terminal>,
    pub accounts: HashMap<String, Account>,
    /// Payment codes by their digits.
    pub codes: HashMap<String, CodeAccount>,
    /// `Q1` sales by (TID, batch, STAN).
    pub confirmations: HashMap<(String, u32, u32), PendingConfirmation>,
    pub journal: Vec<HostTxn>,
    pub postings: Vec<Posting>,
    pub settlements: Vec<SettlementRecord>,
    /// Answers of advices, by (TID, batch, STAN), until the batch closes.
    pub held: HashMap<(String, u32, u32), Message>,
    /// Every clear key the host issued (TMKs, working keys): the secret scan looks for them.
    pub issued_keys: Vec<Key>,
    serial_counter: u64,
}

impl HostState {
    pub fn new(data: TestData) -> Result<Self, String> {
        let imk = Key::new(&hex::decode(&data.issuer.imk_ac).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let accounts = data.cards.iter().map(|c| (c.pan.clone(), Account { profile: c.clone(), balance: c.balance, wrong_pins: 0 })).collect();
        let codes = data.payment_codes.iter().map(|c| (c.code.clone(), CodeAccount { profile: c.clone(), balance: c.balance, used: false })).collect();
        Ok(Self {
            data,
            imk,
            codec: Codec::default(),
            mac: MacAlgorithm::CupEcb,
            utc_offset: 8 * 3600,
            clock_shift: 0,
            terminals: HashMap::new(),
            accounts,
            codes,
            confirmations: HashMap::new(),
            journal: Vec::new(),
            postings: Vec::new(),
            settlements: Vec::new(),
            held: HashMap::new(),
            issued_keys: Vec::new(),
            serial_counter: 0,
        })
    }

    pub fn now(&self) -> CivilTime {
        CivilTime::from_unix(smartpos_proto::clock::unix_now() + self.clock_shift, self.utc_offset)
    }

    /// A fresh retrieval reference number (YYMMDD + 6 digits).
    pub fn next_rrn(&mut self) -> String {
        self.serial_counter += 1;
        format!("{}{:06}", self.now().yymmdd(), self.serial_counter % 1_000_000)
    }

    /// A fresh authorization code.
    pub fn next_auth_code(&mut self) -> String {
        self.serial_counter += 1;
        format!("{:06}", (self.serial_counter * 7919) % 1_000_000)
    }

    pub fn find_txn(&self, tid: &str, batch: u32, stan: u32, exchanges: &[Exchange]) -> Option<usize> {
        self.journal.iter().rposition(|t| t.tid == tid && t.batch == batch && t.stan == stan && exchanges.contains(&t.exchange))
    }

    /// Moves money on a card and records the posting.
    pub fn post(&mut self, txn: &HostTxn, delta: i64) {
        if let Some(a) = self.accounts.get_mut(&txn.pan) {
            a.balance += delta;
        }
        if let Some(w) = self.codes.get_mut(&txn.pan) {
            w.balance += delta;
        }
        self.postings.push(Posting { tid: txn.tid.clone(), batch: txn.batch, stan: txn.stan, exchange: txn.exchange, card: txn.card.clone(), delta });
    }
}

/// First 6 and last 4 digits.
pub fn mask_pan(pan: &str) -> String {
    if pan.len() < 10 {
        return "*".repeat(pan.len());
    }
    format!("{}{}{}", &pan[..6], "*".repeat(pan.len() - 10), &pan[pan.len() - 4..])
}
