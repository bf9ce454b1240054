//! The contactless kernel: UnionPay QuickPass (qPBOC, acquirer-protocol.md
//! §10) over the contactless [`CardReader`]. One tap is one call of
//! [`read_tap`]: PPSE, the AID and its PDOL, the limits of that AID, GET
//! PROCESSING OPTIONS with the TTQ (the card decides there: TC, ARQC or
//! AAC), the records of the AFL — and then the card is gone. fDDA is
//! checked after the card has left; a TC without a valid fDDA is a decline.
//!
//! Like the contact kernel it never talks to the host and never sees a
//! PIN: the engine's card session ([`super::card_session`]) asks it the
//! same questions it asks the contact kernel.

use super::emv::apdu::command;
use super::emv::card::{CardApp, flatten, read_records};
use super::emv::oda::{Authenticator, OdaState};
use super::emv::tvr::{self, Decision, Tvr};
use super::emv::{AcResponse, KernelError, Params, TapLimits, TxnType, bcd, fill_dol};
use smartpos_hal::CardReader;
use smartpos_proto::tlv;

/// `2PAY.SYS.DDF01`.
const PPSE: &[u8] = b"2PAY.SYS.DDF01";

/// TTQ byte 1 when the host is reachable: qPBOC, online PIN, signature (§10).
const TTQ_ONLINE_CAPABLE: u8 = 0x26;
/// TTQ byte 1 when it is not: qPBOC, offline only, signature.
const TTQ_OFFLINE_ONLY: u8 = 0x2A;
const TTQ_ONLINE_CRYPTOGRAM: u8 = 0x80;
const TTQ_CVM_REQUIRED: u8 = 0x40;
/// TTQ byte 4: fDDA version 01.
const TTQ_FDDA_01: u8 = 0x80;
/// CTQ byte 1: the card asks for online PIN.
const CTQ_ONLINE_PIN: u8 = 0x80;

/// What the terminal knows before the tap.
#[derive(Debug, Clone, Copy)]
pub struct TapContext<'a> {
    pub amount: u64,
    pub txn_type: TxnType,
    /// YYMMDD.
    pub today: &'a str,
    /// The host answered at the last attempt (TTQ byte 1).
    pub host_reachable: bool,
    /// The app allows an offline approval and the queue has room: without
    /// it the terminal asks the card for an online cryptogram.
    pub offline_allowed: bool,
}

/// One tap's result.
#[derive(Debug)]
pub enum TapRead {
    /// Read in full; the card has left the field.
    Read(Box<TapTxn>),
    /// Above the AID's contactless transaction limit (or taps not taken for
    /// it), or a CVM is required while the host is unreachable: the chip is
    /// to be inserted. Nothing was asked of the card past selection, so its
    /// counters did not move.
    UseContact { limit: u64, reason: &'static str },
}

/// A tap read in full.
#[derive(Debug)]
pub struct TapTxn {
    pub app: CardApp,
    pub amount: u64,
    pub txn_type: TxnType,
    pub date: [u8; 3],
    pub un: [u8; 4],
    pub ttq: [u8; 4],
    /// The TVR as sent in the PDOL (the cryptogram covers it).
    tvr_sent: Tvr,
    /// The TVR after fDDA: what the journal and receipt show.
    pub tvr: Tvr,
    /// The card's cryptogram from the GPO answer (a failed fDDA turns a TC into an AAC).
    pub ac: AcResponse,
    pub ctq: [u8; 2],
    pub oda: OdaState,
    pub limits: TapLimits,
    params: Params,
}

/// Reads one tap.
pub fn read_tap(reader: &mut dyn CardReader, params: &Params, oda: &Authenticator, ctx: &TapContext<'_>) -> Result<TapRead, KernelError> {
    let (aid, label) = select_ppse(reader, &params.aids)?;
    let fci = command(reader, [0x00, 0xA4, 0x04, 0x00], Some(&aid), Some(0x00))?;
    if !fci.ok() {
        return Err(KernelError::Status("SELECT", fci.sw));
    }
    let mut app = CardApp { aid, label, ..Default::default() };
    flatten(&fci.data, &mut app.data)?;
    let params = params.for_aid(&app.aid);
    let limits = params.contactless;
    if limits.txn == 0 || ctx.amount > limits.txn {
        return Ok(TapRead::UseContact { limit: limits.txn, reason: "above the contactless transaction limit" });
    }
    // The terminal's one CVM is online PIN (its CVM list, §5): at or above
    // the CVM limit a tap must go online even within the floor, and with the
    // host unreachable it cannot be verified at all: the chip can.
    let cvm_required = ctx.amount >= limits.cvm;
    if cvm_required && !ctx.host_reachable {
        return Ok(TapRead::UseContact { limit: limits.cvm, reason: "a CVM is required and online PIN needs the host" });
    }
    let date: [u8; 3] = hex::decode(ctx.today).ok().and_then(|d| d.try_into().ok()).unwrap_or([0; 3]);
    let un: [u8; 4] = rand::random();
    let online_needed = ctx.amount > limits.floor || !ctx.offline_allowed || cvm_required;
    let ttq = [
        if ctx.host_reachable { TTQ_ONLINE_CAPABLE } else { TTQ_OFFLINE_ONLY },
        if online_needed { TTQ_ONLINE_CRYPTOGRAM } else { 0 } | if cvm_required { TTQ_CVM_REQUIRED } else { 0 },
        0x00,
        TTQ_FDDA_01,
    ];
    let tvr_sent = Tvr::default();
    let value = |tag| -> Option<Vec<u8>> {
        Some(match tag {
            0x9F66 => ttq.to_vec(),
            0x9F02 => bcd(ctx.amount, 6),
            0x9F03 => vec![0; 6],
            0x9F1A => params.country.clone(),
            0x95 => tvr_sent.0.to_vec(),
            0x5F2A => params.currency.clone(),
            0x9A => date.to_vec(),
            0x9C => vec![ctx.txn_type as u8],
            0x9F37 => un.to_vec(),
            0x9F33 => params.capabilities.clone(),
            0x9F35 => params.terminal_type.clone(),
            _ => return None,
        })
    };
    let pdol = app.get(0x9F38).ok_or_else(|| KernelError::Card("the contactless application has no PDOL (9F38)".into()))?.to_vec();
    let pdol_data = fill_dol(&pdol, 0x9F38, value)?;
    let mut gpo = vec![0x83];
    tlv::write_len(pdol_data.len(), &mut gpo);
    gpo.extend_from_slice(&pdol_data);
    let r = command(reader, [0x80, 0xA8, 0x00, 0x00], Some(&gpo), Some(0x00))?;
    if !r.ok() {
        return Err(KernelError::Status("GET PROCESSING OPTIONS", r.sw));
    }
    if r.data.first() != Some(&0x77) {
        return Err(KernelError::Card("the tap's GPO answer is not format 2 (77)".into()));
    }
    flatten(&r.data, &mut app.data)?;
    let aip: [u8; 2] = app.get(0x82).and_then(|v| v.try_into().ok()).ok_or_else(|| KernelError::Card("GPO answer without a 2-byte AIP".into()))?;
    app.aip = aip;
    let afl = app.get(0x94).ok_or_else(|| KernelError::Card("GPO answer without an AFL (94)".into()))?.to_vec();
    let ac = AcResponse {
        cid: *app.get(0x9F27).and_then(<[u8]>::first).ok_or_else(|| KernelError::Card("GPO answer without 9F27".into()))?,
        atc: app.get(0x9F36).and_then(|v| v.try_into().ok()).ok_or_else(|| KernelError::Card("GPO answer without a 2-byte ATC".into()))?,
        ac: app.get(0x9F26).and_then(|v| v.try_into().ok()).ok_or_else(|| KernelError::Card("GPO answer without an 8-byte cryptogram".into()))?,
        iad: app.get(0x9F10).unwrap_or_default().to_vec(),
    };
    let ctq: [u8; 2] = app.get(0x9F6C).and_then(|v| v.try_into().ok()).unwrap_or([0; 2]);
    read_records(reader, &mut app, &afl)?;
    let mut t = TapTxn { app, amount: ctx.amount, txn_type: ctx.txn_type, date, un, ttq, tvr_sent, tvr: tvr_sent, ac, ctq, oda: OdaState::default(), limits, params };
    t.authenticate(oda, ctx.today);
    Ok(TapRead::Read(Box::new(t)))
}

/// The highest-priority application of the PPSE that the terminal accepts.
fn select_ppse(reader: &mut dyn CardReader, terminal_aids: &[Vec<u8>]) -> Result<(Vec<u8>, String), KernelError> {
    let r = command(reader, [0x00, 0xA4, 0x04, 0x00], Some(PPSE), Some(0x00))?;
    if !r.ok() {
        return Err(KernelError::NoApplication);
    }
    let directory = tlv::find(&r.data, 0xBF0C).ok_or(KernelError::NoApplication)?;
    let mut candidates = Vec::new();
    for entry in tlv::parse(&directory).map_err(|e| KernelError::Card(format!("PPSE directory: {e}")))?.into_iter().filter(|t| t.tag == 0x61) {
        let Some(aid) = tlv::find(&entry.value, 0x4F) else { continue };
        if terminal_aids.iter().any(|t| aid.starts_with(t)) {
            let label = tlv::find(&entry.value, 0x50).map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
            let priority = tlv::find(&entry.value, 0x87).and_then(|p| p.first().copied()).unwrap_or(0) & 0x0F;
            candidates.push((if priority == 0 { 16 } else { priority }, aid, label));
        }
    }
    candidates.sort_by_key(|c| c.0);
    candidates.into_iter().next().map(|(_, aid, label)| (aid, label)).ok_or(KernelError::NoApplication)
}

impl TapTxn {
    /// fDDA for a TC (§10); an online tap is authenticated by the host.
    fn authenticate(&mut self, oda: &Authenticator, today: &str) {
        if self.ac.decision() != Decision::Tc {
            self.tvr.set(tvr::ODA_NOT_PERFORMED);
            return;
        }
        let auth_data = self.app.get(0x9F69).unwrap_or_default();
        let terminal_data = [&self.un[..], &bcd(self.amount, 6), &self.params.currency, auth_data].concat();
        self.oda = oda.fdda(&self.app, today, &terminal_data, &mut self.tvr);
        if self.oda.failure.is_some() {
            // A TC without a valid fDDA is a decline, never an approval (§10).
            self.ac.cid = 0x00;
        }
    }

    /// A second tap with the host known to be away could be approved
    /// offline: within the floor and below the CVM limit.
    pub fn offline_possible(&self) -> bool {
        self.amount <= self.limits.floor && self.amount < self.limits.cvm
    }

    /// The card's decision after the terminal's checks.
    pub fn decision(&self) -> Decision {
        self.ac.decision()
    }

    /// The card asked for online PIN (CTQ), for an online cryptogram.
    pub fn wants_online_pin(&self) -> bool {
        self.ctq[0] & CTQ_ONLINE_PIN != 0 && self.decision() == Decision::Arqc
    }

    pub fn pin_entered(&mut self) {
        self.tvr.set(tvr::ONLINE_PIN_ENTERED);
    }

    /// Field 55 of the request (§10: a contact sale's plus `9F66` and `9F6C`).
    pub fn request_icc(&self, sequence: u32) -> Vec<u8> {
        let p = &self.params;
        let mut out = Vec::new();
        tlv::write(0x9F26, &self.ac.ac, &mut out);
        tlv::write(0x9F27, &[self.ac.cid], &mut out);
        tlv::write(0x9F10, &self.ac.iad, &mut out);
        tlv::write(0x9F37, &self.un, &mut out);
        tlv::write(0x9F36, &self.ac.atc, &mut out);
        tlv::write(0x95, &self.tvr_sent.0, &mut out);
        tlv::write(0x9A, &self.date, &mut out);
        tlv::write(0x9C, &[self.txn_type as u8], &mut out);
        tlv::write(0x9F02, &bcd(self.amount, 6), &mut out);
        tlv::write(0x5F2A, &p.currency, &mut out);
        tlv::write(0x82, &self.app.aip, &mut out);
        tlv::write(0x9F1A, &p.country, &mut out);
        tlv::write(0x9F03, &[0; 6], &mut out);
        tlv::write(0x9F33, &p.capabilities, &mut out);
        tlv::write(0x9F35, &p.terminal_type, &mut out);
        tlv::write(0x9F1E, &p.ifd_serial, &mut out);
        tlv::write(0x84, &self.app.aid, &mut out);
        tlv::write(0x9F09, &p.app_version, &mut out);
        tlv::write(0x9F41, &bcd(u64::from(sequence), 4), &mut out);
        tlv::write(0x9F66, &self.ttq, &mut out);
        tlv::write(0x9F6C, &self.ctq, &mut out);
        out
    }
}
