//! The ledger: what the simulated host charged, as tests and people read
//! it (`pos-acquirer-sim ctl ledger` dumps it as JSON). Card numbers appear
//! only masked.

use super::state::{HostState, HostTxn, Posting, SettlementRecord, TxnState};
use serde::{Deserialize, Serialize};
use smartpos_proto::exchange::Exchange;
use std::collections::BTreeMap;

/// A bound terminal as the ledger shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TerminalView {
    pub tid: String,
    pub mid: String,
    pub serial: String,
    pub batch: u32,
    pub signed_in: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    /// Balance per card label, minor units.
    pub balances: BTreeMap<String, i64>,
    /// Every financial request the host answered, in order.
    pub transactions: Vec<HostTxn>,
    /// Every balance movement (negative: charged).
    pub postings: Vec<Posting>,
    pub settlements: Vec<SettlementRecord>,
    pub terminals: Vec<TerminalView>,
}

impl Ledger {
    pub fn of(state: &HostState) -> Self {
        let mut terminals: Vec<TerminalView> = state
            .terminals
            .values()
            .map(|t| TerminalView { tid: t.tid.clone(), mid: t.mid.clone(), serial: t.serial.clone(), batch: t.batch, signed_in: t.keys.is_some() })
            .collect();
        terminals.sort_by(|a, b| a.tid.cmp(&b.tid));
        Self {
            balances: state.accounts.values().map(|a| (a.profile.label.clone(), a.balance)).collect(),
            transactions: state.journal.clone(),
            postings: state.postings.clone(),
            settlements: state.settlements.clone(),
            terminals,
        }
    }

    /// Net amount charged to a card (positive: the card paid).
    pub fn charged(&self, card: &str) -> i64 {
        -self.postings.iter().filter(|p| p.card == card).map(|p| p.delta).sum::<i64>()
    }

    /// Entries of one transaction key.
    pub fn entries(&self, tid: &str, batch: u32, stan: u32) -> Vec<&HostTxn> {
        self.transactions.iter().filter(|t| t.tid == tid && t.batch == batch && t.stan == stan).collect()
    }

    /// Approved and still standing entries of an exchange.
    pub fn standing(&self, exchange: Exchange) -> Vec<&HostTxn> {
        self.transactions.iter().filter(|t| t.exchange == exchange && t.state == TxnState::Approved).collect()
    }
}
