//! The EMV contact kernel (EMV 4.x Book 3, as a UnionPay terminal runs it)
//! over the [`CardReader`] trait: application selection and reading
//! ([`card`]), processing restrictions, cardholder verification ([`cvm`]),
//! terminal risk management, terminal action analysis ([`tvr`]), the first
//! and second GENERATE AC, issuer scripts, and the field 55 of the request.
//! Offline data authentication: SDA, DDA and CDA ([`oda`]).
//!
//! The kernel never talks to the host and never sees a PIN: the engine
//! drives it step by step ([`EmvTxn`]) and decides what to do with each
//! answer.

pub mod apdu;
pub mod card;
pub mod cvm;
pub mod oda;
pub mod tvr;

use crate::config::Emv as EmvConfig;
use apdu::command;
use card::CardApp;
use cvm::CvmChoice;
use oda::OfflineDataAuth;
use smartpos_hal::{CardReader, ReaderError};
use smartpos_proto::tlv::{self, Tag};
use tvr::{ActionCodes, Decision, Tvr};

/// Why the card conversation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error(transparent)]
    Reader(#[from] ReaderError),
    #[error("the card has no application this terminal accepts")]
    NoApplication,
    #[error("the card answered {0} with status {1:04X}")]
    Status(&'static str, u16),
    #[error("card data: {0}")]
    Card(String),
}

/// The terminal's parameters, decoded once from the configuration.
#[derive(Debug, Clone)]
pub struct Params {
    pub aids: Vec<Vec<u8>>,
    pub floor_limit: u64,
    pub tac: ActionCodes,
    pub absent_iac_online: [u8; 5],
    pub absent_iac_default: [u8; 5],
    pub capabilities: Vec<u8>,
    pub terminal_type: Vec<u8>,
    pub country: Vec<u8>,
    pub app_version: Vec<u8>,
    /// Tag 5F2A from the terminal currency (`156` → `01 56`).
    pub currency: Vec<u8>,
    /// Tag 9F1E: the last 8 characters of the hardware serial.
    pub ifd_serial: Vec<u8>,
    /// The DDOL used when the card has none (`9F37 04`, §8 `DF14`).
    pub default_ddol: Vec<u8>,
    /// The IC parameters downloaded per AID (§8), applied once the card's
    /// application is selected ([`Params::for_aid`]).
    pub downloaded: Vec<smartpos_proto::fields::download62::AidParams>,
    /// The `[emv]` keys pinned by the configuration.
    pub pinned: Vec<String>,
    /// Contactless limits (§10), minor units.
    pub contactless: TapLimits,
}

/// The contactless floor, transaction and CVM limits of an AID (§8 `DF19`
/// `DF20` `DF21`, §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapLimits {
    pub floor: u64,
    /// 0: taps are not taken for the AID.
    pub txn: u64,
    pub cvm: u64,
}

fn five(s: &str) -> [u8; 5] {
    let mut out = [0u8; 5];
    if let Ok(v) = hex::decode(s) {
        for (o, b) in out.iter_mut().zip(v) {
            *o = b;
        }
    }
    out
}

impl Params {
    /// From a validated configuration (hex already checked there).
    pub fn new(cfg: &EmvConfig, currency: &str, serial: &str) -> Self {
        let tail: String = serial.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
        Self {
            aids: cfg.aids.iter().filter_map(|a| hex::decode(a).ok()).collect(),
            floor_limit: cfg.floor_limit,
            tac: ActionCodes { denial: five(&cfg.tac_denial), online: five(&cfg.tac_online), default: five(&cfg.tac_default) },
            absent_iac_online: five(&cfg.absent_iac_online),
            absent_iac_default: five(&cfg.absent_iac_default),
            capabilities: hex::decode(&cfg.terminal_capabilities).unwrap_or_default(),
            terminal_type: hex::decode(&cfg.terminal_type).unwrap_or_default(),
            country: hex::decode(&cfg.country_code).unwrap_or_default(),
            app_version: hex::decode(&cfg.app_version).unwrap_or_default(),
            currency: hex::decode(format!("{currency:0>4}")).unwrap_or_default(),
            ifd_serial: format!("{tail:>8}").into_bytes(),
            default_ddol: vec![0x9F, 0x37, 0x04],
            downloaded: Vec::new(),
            pinned: cfg.pin.clone(),
            contactless: TapLimits { floor: cfg.contactless_floor_limit, txn: cfg.contactless_txn_limit, cvm: cfg.contactless_cvm_limit },
        }
    }

    /// With the downloaded sets: their AIDs join the terminal's list.
    pub fn with_downloaded(mut self, sets: &[smartpos_proto::fields::download62::AidParams]) -> Self {
        for s in sets {
            if !self.aids.contains(&s.aid) {
                self.aids.push(s.aid.clone());
            }
        }
        self.downloaded = sets.to_vec();
        self
    }

    /// The parameters for the selected application: its downloaded set's
    /// values (the longest AID that prefixes it) over the configuration's,
    /// except the pinned keys.
    pub fn for_aid(&self, aid: &[u8]) -> Params {
        let mut p = self.clone();
        let Some(set) = self.downloaded.iter().filter(|s| aid.starts_with(&s.aid)).max_by_key(|s| s.aid.len()) else { return p };
        let free = |key: &str| !self.pinned.iter().any(|k| k == key);
        if free("floor_limit") {
            p.floor_limit = u64::from(set.floor_limit);
        }
        if free("tac_denial") {
            p.tac.denial = set.tac_denial;
        }
        if free("tac_online") {
            p.tac.online = set.tac_online;
        }
        if free("tac_default") {
            p.tac.default = set.tac_default;
        }
        if free("app_version") && !set.app_version.is_empty() {
            p.app_version = set.app_version.clone();
        }
        if free("contactless_floor_limit") {
            p.contactless.floor = set.contactless_floor_limit;
        }
        if free("contactless_txn_limit") {
            p.contactless.txn = set.contactless_txn_limit;
        }
        if free("contactless_cvm_limit") {
            p.contactless.cvm = set.contactless_cvm_limit;
        }
        if !set.default_ddol.is_empty() {
            p.default_ddol = set.default_ddol.clone();
        }
        p
    }
}

/// Transaction type (tag 9C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnType {
    Goods = 0x00,
    Refund = 0x20,
    Balance = 0x31,
}

/// A GENERATE AC answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcResponse {
    pub cid: u8,
    pub atc: [u8; 2],
    pub ac: [u8; 8],
    pub iad: Vec<u8>,
}

impl AcResponse {
    pub fn decision(&self) -> Decision {
        match self.cid & 0xC0 {
            0x40 => Decision::Tc,
            0x80 => Decision::Arqc,
            _ => Decision::Aac,
        }
    }
}

/// The card data a message needs, taken from the records.
#[derive(Clone, Default)]
pub struct CardFacts {
    pub pan: String,
    pub track2: String,
    pub expiry_yymm: String,
    pub psn: String,
}

impl CardFacts {
    /// What the journal seals for later messages, with the field 55 sent (`icc`).
    pub fn secrets(&self, icc: Vec<u8>, interface: crate::engine::card_session::Interface) -> crate::store::journal::CardSecrets {
        crate::store::journal::CardSecrets {
            pan: self.pan.clone(),
            track2: self.track2.clone(),
            expiry: self.expiry_yymm.clone(),
            psn: self.psn.clone(),
            icc,
            contactless: interface == crate::engine::card_session::Interface::Contactless,
            code: false,
        }
    }
}

impl std::fmt::Debug for CardFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardFacts(..)")
    }
}

/// One card transaction, step by step.
#[derive(Debug)]
pub struct EmvTxn {
    pub app: CardApp,
    pub amount: u64,
    pub txn_type: TxnType,
    /// YYMMDD, BCD.
    pub date: [u8; 3],
    pub un: [u8; 4],
    pub tvr: Tvr,
    pub tsi: [u8; 2],
    pub cvm: CvmChoice,
    /// TVR as sent with the first GENERATE AC (CDOL2 repeats it, §7).
    tvr_first: Tvr,
    pub first: Option<AcResponse>,
    /// What offline data authentication found (CDA finishes at the first GENERATE AC).
    pub oda: oda::OdaState,
    params: Params,
}

/// A number as `bytes` BCD bytes (amounts, the sequence counter).
pub(crate) fn bcd(n: u64, bytes: usize) -> Vec<u8> {
    hex::decode(format!("{n:0width$}", width = bytes * 2)).unwrap_or_else(|_| vec![0x99; bytes])
}

fn is_numeric(tag: Tag) -> bool {
    matches!(tag, 0x9F02 | 0x9F03 | 0x5F2A | 0x9F1A | 0x9A | 0x9C | 0x9F41)
}

/// DOL data (`dol` is the card's list, named `dol_tag` in errors): each
/// entry's value fitted to its length (numbers keep their right end,
/// others their left end; missing values are zeros).
pub(crate) fn fill_dol(dol: &[u8], dol_tag: Tag, value: impl Fn(Tag) -> Option<Vec<u8>>) -> Result<Vec<u8>, KernelError> {
    let mut out = Vec::new();
    for (tag, len) in tlv::parse_dol(dol).map_err(|e| KernelError::Card(format!("{dol_tag:X}: {e}")))? {
        let v = value(tag).unwrap_or_default();
        let fitted: Vec<u8> = if v.len() >= len {
            if is_numeric(tag) { v.get(v.len() - len..).unwrap_or_default().to_vec() } else { v.get(..len).unwrap_or_default().to_vec() }
        } else if is_numeric(tag) {
            std::iter::repeat_n(0, len - v.len()).chain(v).collect()
        } else {
            v.into_iter().chain(std::iter::repeat(0)).take(len).collect()
        };
        out.extend(fitted);
    }
    Ok(out)
}

impl EmvTxn {
    /// Selects and reads the card, then runs processing restrictions, ODA
    /// and terminal risk management. `today` is YYMMDD.
    pub fn begin(reader: &mut dyn CardReader, params: &Params, oda: &dyn OfflineDataAuth, amount: u64, txn_type: TxnType, today: &str) -> Result<Self, KernelError> {
        let app = card::read_application(reader, &params.aids)?;
        let params = &params.for_aid(&app.aid);
        let date: [u8; 3] = hex::decode(today).ok().and_then(|d| d.try_into().ok()).unwrap_or([0; 3]);
        let mut t = Self {
            app,
            amount,
            txn_type,
            date,
            un: rand::random(),
            tvr: Tvr::default(),
            tsi: [0; 2],
            cvm: cvm::choose(None, 0),
            tvr_first: Tvr::default(),
            first: None,
            oda: oda::OdaState::default(),
            params: params.clone(),
        };
        for tag in [0x5A, 0x57, 0x5F24, 0x8C, 0x8D] {
            if t.app.get(tag).is_none() {
                t.tvr.set(tvr::ICC_DATA_MISSING);
            }
        }
        let ctx = oda::OdaContext { today, un: t.un, default_ddol: &params.default_ddol };
        t.oda = oda.authenticate(reader, &t.app, &ctx, &mut t.tvr)?;
        t.restrictions();
        t.cvm = cvm::choose(t.app.get(0x8E), amount);
        if t.cvm.unrecognised {
            t.tvr.set(tvr::UNRECOGNISED_CVM);
        }
        if t.cvm.cvm == cvm::Cvm::Failed {
            t.tvr.set(tvr::CVM_NOT_SUCCESSFUL);
        }
        t.tsi[0] |= tvr::TSI_CVM_PERFORMED | tvr::TSI_TERMINAL_RISK;
        if amount >= params.floor_limit {
            t.tvr.set(tvr::EXCEEDS_FLOOR_LIMIT);
        }
        Ok(t)
    }

    /// Processing restrictions: application versions, effective and expiry dates.
    fn restrictions(&mut self) {
        if let Some(v) = self.app.get(0x9F08)
            && v != self.params.app_version.as_slice()
        {
            self.tvr.set(tvr::DIFFERENT_VERSIONS);
        }
        // YYMMDD compares as bytes within one century (EMV: YY < 50 is 20YY).
        let century = |d: &[u8]| {
            if d.first().is_some_and(|&y| y < 0x50) { 1 } else { 0 }
        };
        let key = |d: &[u8]| (century(d), d.to_vec());
        if let Some(exp) = self.app.get(0x5F24)
            && key(exp) < key(&self.date)
        {
            self.tvr.set(tvr::EXPIRED);
        }
        if let Some(eff) = self.app.get(0x5F25)
            && key(eff) > key(&self.date)
        {
            self.tvr.set(tvr::NOT_YET_EFFECTIVE);
        }
    }

    /// Records that the cardholder entered an online PIN.
    pub fn pin_entered(&mut self) {
        self.tvr.set(tvr::ONLINE_PIN_ENTERED);
    }

    /// The card's issuer action codes, absent ones as configured.
    fn iac(&self) -> ActionCodes {
        let get = |tag, absent: [u8; 5]| self.app.get(tag).and_then(|v| <[u8; 5]>::try_from(v).ok()).unwrap_or(absent);
        ActionCodes { denial: get(0x9F0E, [0; 5]), online: get(0x9F0F, self.params.absent_iac_online), default: get(0x9F0D, self.params.absent_iac_default) }
    }

    /// Terminal action analysis before the first GENERATE AC. Whatever the
    /// action codes say, a card whose ODA failed is not approved offline:
    /// it goes online (§9).
    pub fn first_decision(&self) -> Decision {
        Self::never_offline_after_failed_oda(&self.oda, tvr::first_decision(&self.tvr, &self.params.tac, &self.iac()), Decision::Arqc)
    }

    /// Terminal action analysis when the host cannot be reached; a card
    /// whose ODA failed is declined.
    pub fn unable_online_decision(&self) -> Decision {
        Self::never_offline_after_failed_oda(&self.oda, tvr::unable_online_decision(&self.tvr, &self.params.tac, &self.iac()), Decision::Aac)
    }

    fn never_offline_after_failed_oda(oda: &oda::OdaState, want: Decision, instead: Decision) -> Decision {
        if want == Decision::Tc && oda.failure.is_some() { instead } else { want }
    }

    /// Whether the card declined offline because it has expired (`54` rather than `Z1`).
    pub fn expired(&self) -> bool {
        self.tvr.has(tvr::EXPIRED)
    }

    /// The value the terminal supplies for a DOL entry.
    fn terminal_value(&self, tag: Tag, arc: &[u8], issuer_auth: &[u8]) -> Option<Vec<u8>> {
        Some(match tag {
            0x9F02 => bcd(self.amount, 6),
            0x9F03 => vec![0; 6],
            0x9F1A => self.params.country.clone(),
            0x5F2A => self.params.currency.clone(),
            0x95 => self.tvr_first.0.to_vec(),
            0x9A => self.date.to_vec(),
            0x9C => vec![self.txn_type as u8],
            0x9F37 => self.un.to_vec(),
            0x9F33 => self.params.capabilities.clone(),
            0x9F35 => self.params.terminal_type.clone(),
            0x9F34 => self.cvm.results.to_vec(),
            0x8A => arc.to_vec(),
            0x91 => issuer_auth.to_vec(),
            _ => return None,
        })
    }

    fn dol_data(&self, dol_tag: Tag, arc: &[u8], issuer_auth: &[u8]) -> Result<Vec<u8>, KernelError> {
        let dol = self.app.get(dol_tag).ok_or_else(|| KernelError::Card(format!("the card has no {dol_tag:X}")))?;
        fill_dol(dol, dol_tag, |tag| self.terminal_value(tag, arc, issuer_auth))
    }

    fn generate_ac(reader: &mut dyn CardReader, p1: u8, data: &[u8]) -> Result<(AcResponse, Vec<u8>), KernelError> {
        let r = command(reader, [0x80, 0xAE, p1, 0x00], Some(data), Some(0x00))?;
        if !r.ok() {
            return Err(KernelError::Status("GENERATE AC", r.sw));
        }
        let parsed = Self::parse_ac(&r.data)?;
        Ok((parsed, r.data))
    }

    /// Format 1 (`80`) or format 2 (`77`); under CDA the cryptogram is in
    /// the signed data, so a format 2 answer may lack `9F26`.
    fn parse_ac(data: &[u8]) -> Result<AcResponse, KernelError> {
        if let Some(v) = tlv::find(data, 0x80) {
            let cid = *v.first().ok_or_else(|| KernelError::Card("empty GENERATE AC answer".into()))?;
            let atc = v.get(1..3).and_then(|s| s.try_into().ok()).ok_or_else(|| KernelError::Card("GENERATE AC answer without ATC".into()))?;
            let ac = v.get(3..11).and_then(|s| s.try_into().ok()).ok_or_else(|| KernelError::Card("GENERATE AC answer without cryptogram".into()))?;
            return Ok(AcResponse { cid, atc, ac, iad: v.get(11..).unwrap_or_default().to_vec() });
        }
        let field = |tag| tlv::find(data, tag).ok_or_else(|| KernelError::Card(format!("GENERATE AC answer without {tag:X}")));
        let ac = match tlv::find(data, 0x9F26) {
            Some(ac) => ac.try_into().map_err(|_| KernelError::Card("cryptogram is not 8 bytes".into()))?,
            None if tlv::find(data, 0x9F4B).is_some() => [0; 8],
            None => return Err(KernelError::Card("GENERATE AC answer without 9F26".into())),
        };
        Ok(AcResponse {
            cid: *field(0x9F27)?.first().unwrap_or(&0),
            atc: field(0x9F36)?.try_into().map_err(|_| KernelError::Card("ATC is not 2 bytes".into()))?,
            ac,
            iad: tlv::find(data, 0x9F10).unwrap_or_default(),
        })
    }

    /// The first GENERATE AC, asking for `want`.
    pub fn first_ac(&mut self, reader: &mut dyn CardReader, want: Decision) -> Result<&AcResponse, KernelError> {
        self.tvr_first = self.tvr;
        let want = Self::never_offline_after_failed_oda(&self.oda, want, Decision::Arqc);
        let data = self.dol_data(0x8C, &[], &[])?;
        // CDA: the card signs its answer (P1 bit 0x10) unless the terminal asks for an AAC.
        let cda = self.oda.wants_cda() && want != Decision::Aac;
        let (mut r, raw) = Self::generate_ac(reader, want.p1() | if cda { 0x10 } else { 0 }, &data)?;
        self.tsi[0] |= tvr::TSI_CARD_RISK;
        if cda && r.decision() != Decision::Aac {
            match self.oda.check_cda(&raw, &data, &self.un, &mut self.tvr) {
                Some(ac) => r.ac = ac,
                // A failed CDA is never approved offline (Book 3 §10.8): a TC counts as an AAC.
                None if r.decision() == Decision::Tc => r.cid = 0x00,
                None => {}
            }
        }
        Ok(self.first.insert(r))
    }

    /// The second GENERATE AC with the host's ARC (`Y3`/`Z3` when it could
    /// not be reached) and issuer authentication data (tag 91, or ten zero
    /// bytes when there is none).
    pub fn second_ac(&mut self, reader: &mut dyn CardReader, want: Decision, arc: &[u8; 2], issuer_auth: Option<&[u8]>) -> Result<AcResponse, KernelError> {
        if issuer_auth.is_some() {
            self.tsi[0] |= tvr::TSI_ISSUER_AUTH;
        }
        // Approval online stands after a failed ODA; unable to go online,
        // the engine asks what unable_online_decision() said.
        let want = if arc == b"Y3" { Self::never_offline_after_failed_oda(&self.oda, want, Decision::Aac) } else { want };
        let data = self.dol_data(0x8D, arc, issuer_auth.unwrap_or(&[0; 10]))?;
        let (r, _) = Self::generate_ac(reader, want.p1(), &data)?;
        if issuer_auth.is_some() && &arc[..] == b"00" && r.decision() == Decision::Aac {
            self.tvr.set(tvr::ISSUER_AUTH_FAILED);
        }
        Ok(r)
    }

    /// Runs the issuer scripts of a reply's field 55 (`71` before the second
    /// GENERATE AC, `72` after); a failing command marks the TVR.
    pub fn run_scripts(&mut self, reader: &mut dyn CardReader, field55: &[u8], template: Tag) -> Result<(), KernelError> {
        let Ok(items) = tlv::parse(field55) else {
            return Ok(());
        };
        for script in items.iter().filter(|t| t.tag == template) {
            self.tsi[0] |= tvr::TSI_SCRIPT;
            for cmd in tlv::parse(&script.value).unwrap_or_default().into_iter().filter(|t| t.tag == 0x86) {
                // Success is SW1 90, or the warnings 62/63 (EMV Book 3 §10.10).
                let ok = reader.transmit(&cmd.value).map(|r| r.len() >= 2 && matches!(r.get(r.len() - 2), Some(0x90 | 0x62 | 0x63)))?;
                if !ok {
                    self.tvr.set(if template == 0x71 { tvr::SCRIPT_FAILED_BEFORE } else { tvr::SCRIPT_FAILED_AFTER });
                    break;
                }
            }
        }
        Ok(())
    }

    /// The card data for the message fields.
    pub fn facts(&self) -> Result<CardFacts, KernelError> {
        facts_of(&self.app)
    }

    /// Field 55 of a sale or balance request (§3), with the first AC's data.
    pub fn request_icc(&self, sequence: u32) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(ac) = &self.first {
            tlv::write(0x9F26, &ac.ac, &mut out);
            tlv::write(0x9F27, &[ac.cid], &mut out);
            tlv::write(0x9F10, &ac.iad, &mut out);
        }
        tlv::write(0x9F37, &self.un, &mut out);
        if let Some(ac) = &self.first {
            tlv::write(0x9F36, &ac.atc, &mut out);
        }
        tlv::write(0x95, &self.tvr_first.0, &mut out);
        tlv::write(0x9A, &self.date, &mut out);
        tlv::write(0x9C, &[self.txn_type as u8], &mut out);
        tlv::write(0x9F02, &bcd(self.amount, 6), &mut out);
        tlv::write(0x5F2A, &self.params.currency, &mut out);
        tlv::write(0x82, &self.app.aip, &mut out);
        tlv::write(0x9F1A, &self.params.country, &mut out);
        tlv::write(0x9F03, &[0; 6], &mut out);
        tlv::write(0x9F33, &self.params.capabilities, &mut out);
        tlv::write(0x9F34, &self.cvm.results, &mut out);
        tlv::write(0x9F35, &self.params.terminal_type, &mut out);
        tlv::write(0x9F1E, &self.params.ifd_serial, &mut out);
        tlv::write(0x84, &self.app.aid, &mut out);
        tlv::write(0x9F09, &self.params.app_version, &mut out);
        tlv::write(0x9F41, &bcd(u64::from(sequence), 4), &mut out);
        out
    }
}

/// The card data for the message fields (a chip's records, a tap's GPO answer and records).
pub fn facts_of(app: &CardApp) -> Result<CardFacts, KernelError> {
    let t57 = app.get(0x57).ok_or_else(|| KernelError::Card("the card has no track 2 equivalent (57)".into()))?;
    let track2: String = hex::encode_upper(t57).trim_end_matches('F').to_string();
    let pan = match app.get(0x5A) {
        Some(p) => hex::encode_upper(p).trim_end_matches('F').to_string(),
        None => track2.split('D').next().unwrap_or_default().to_string(),
    };
    if !(12..=19).contains(&pan.len()) || !pan.bytes().all(|c| c.is_ascii_digit()) {
        return Err(KernelError::Card("the PAN is not 12 to 19 digits".into()));
    }
    let expiry_yymm = app.get(0x5F24).map(hex::encode_upper).and_then(|e| e.get(..4).map(str::to_string)).unwrap_or_default();
    let psn = app.get(0x5F34).map(hex::encode_upper).unwrap_or_else(|| "00".into());
    Ok(CardFacts { pan, track2, expiry_yymm, psn })
}

/// Field 55 of an offline advice: the request data with the card's final
/// cryptogram (TC) and `8A` (`Y1`/`Y3`).
pub fn advice_icc(request_icc: &[u8], tc: &AcResponse, arc: &[u8; 2]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in tlv::parse(request_icc).unwrap_or_default() {
        let value = match item.tag {
            0x9F26 => tc.ac.to_vec(),
            0x9F27 => vec![tc.cid],
            0x9F10 => tc.iad.clone(),
            0x9F36 => tc.atc.to_vec(),
            _ => item.value,
        };
        tlv::write(item.tag, &value, &mut out);
    }
    tlv::write(0x8A, arc, &mut out);
    out
}

/// Field 55 of a reversal: `95 9F10 9F1E 9F36` of the original (§3).
pub fn reversal_icc(request_icc: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for tag in [0x95, 0x9F10, 0x9F1E, 0x9F36] {
        if let Some(v) = tlv::find(request_icc, tag) {
            tlv::write(tag, &v, &mut out);
        }
    }
    out
}
