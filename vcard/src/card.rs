//! The virtual EMV contact card of acquirer-protocol.md §7: APDU in, APDU
//! out. One model serves the simulated reader, the engine's tests and the
//! program that plugs the card into a real pcscd through vpcd.
//!
//! Behaviour follows §7: PSE and AID selection, GPO format 1 with AFL
//! `08 01 01 00`, one record on SFI 1, GENERATE AC (ARQC / TC within the
//! offline limit / AAC when blocked) with the ISO 9797-1 alg. 3 cryptogram,
//! and a second GENERATE AC that checks the ARPC. The ATC advances once per
//! transaction, at the first GENERATE AC.

use crate::apdu::{Command, sw};
use crate::oda::{self, OdaMaterial};
use crate::testdata::CardProfile;
use smartpos_proto::crypto::{CryptoError, Key, emv};
use smartpos_proto::tlv;

/// `1PAY.SYS.DDF01`.
pub const PSE_NAME: &[u8] = b"1PAY.SYS.DDF01";
/// CDOL1 of §7 (29 bytes of data).
pub const CDOL1: &str = "9F02069F03069F1A0295055F2A029A039C019F3704";
/// CDOL2 of §7 (21 bytes of data).
pub const CDOL2: &str = "8A02910A95059F3704";
/// A T=1 ATR with no historical bytes (as vpcd's example cards use).
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];
/// The most response data a short APDU carries.
const MAX_RESPONSE: usize = 256;
/// Issuer application data returned with every cryptogram.
pub(crate) const IAD: [u8; 7] = [0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00];

/// How the card returns response data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Data and `90 00` in one response.
    Direct,
    /// T=0 style: `61 xx` for commands that send data (GET RESPONSE fetches
    /// it), `6C xx` when a case 2 command's `Le` is wrong.
    T0,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    Idle,
    Selected,
    Initiated,
    FirstAc { cid: u8, arqc: [u8; 8], amount: u64 },
    Done,
}

/// Cryptogram information data.
pub mod cid {
    pub const AAC: u8 = 0x00;
    pub const TC: u8 = 0x40;
    pub const ARQC: u8 = 0x80;
}

/// One virtual card.
#[derive(Debug)]
pub struct VirtualCard {
    profile: CardProfile,
    icc_mk: Key,
    aip: [u8; 2],
    atc: u16,
    pub(crate) phase: Phase,
    pending: Option<Vec<u8>>,
    /// Answer the PSE (`false`: `6A 82`, the terminal must use its AID list).
    pub with_pse: bool,
    pub transport: Transport,
    /// Test knob: refuse the second GENERATE AC whatever the host said.
    pub refuse_second_ac: bool,
    /// Test knob: the cardholder pulls the card as soon as it has given an
    /// ARQC (the simulated reader empties its slot; fault matrix).
    pub pull_after_arqc: bool,
    /// The ODA cards' keys and certificates (§9); `None` for the cards of §7.
    oda: Option<OdaMaterial>,
    /// Record 2 once signed (its certificates do not change; signing is slow in a debug build).
    record2: std::sync::OnceLock<Vec<u8>>,
    /// Answering on the contactless interface (§10, [`crate::qpboc`]).
    tap: bool,
    /// A tapped card that has left the field (after the AFL's last record).
    left: bool,
    /// Test knob: a tapped card leaves the field after this many commands
    /// (a hand taken away mid-read).
    pub leave_after: Option<u32>,
    commands: u32,
}

impl VirtualCard {
    /// Whether the card is to leave the reader now (`pull_after_arqc` and an
    /// ARQC given).
    pub fn pulled_now(&self) -> bool {
        // A tapped card leaves once the last record's last chunk (GET RESPONSE) is out.
        self.left && self.pending.is_none() || self.pull_after_arqc && matches!(self.phase, Phase::FirstAc { cid: cid::ARQC, .. })
    }

    /// The card's contactless interface: the same card (keys, ATC rules)
    /// answering §10 instead of §7. `None` for a card that is not
    /// dual-interface (`contactless = true` and DDA material for fDDA).
    pub fn contactless(profile: &CardProfile, imk_hex: &str) -> Result<Option<Self>, CryptoError> {
        let mut card = Self::new(profile, imk_hex)?;
        card.tap = true;
        Ok(card.is_contactless_capable().then_some(card))
    }

    /// A card for `profile` with its ICC master key derived from `imk_hex`.
    pub fn new(profile: &CardProfile, imk_hex: &str) -> Result<Self, CryptoError> {
        let imk = Key::new(&hex::decode(imk_hex).map_err(|_| CryptoError::KeyLength(0))?)?;
        let icc_mk = emv::derive_icc_master_key(&imk, &profile.pan, &profile.psn)?;
        let aip_bytes = hex::decode(&profile.aip).map_err(|_| CryptoError::KeyLength(0))?;
        let aip = [aip_bytes.first().copied().unwrap_or(0), aip_bytes.get(1).copied().unwrap_or(0)];
        Ok(Self {
            profile: profile.clone(),
            icc_mk,
            aip,
            atc: 0,
            phase: Phase::Idle,
            pending: None,
            with_pse: true,
            transport: Transport::Direct,
            refuse_second_ac: false,
            pull_after_arqc: false,
            oda: OdaMaterial::for_card(profile),
            record2: std::sync::OnceLock::new(),
            tap: false,
            left: false,
            leave_after: None,
            commands: 0,
        })
    }

    pub fn profile(&self) -> &CardProfile {
        &self.profile
    }

    /// Application transaction counter.
    pub fn atc(&self) -> u16 {
        self.atc
    }

    pub fn atr(&self) -> &'static [u8] {
        &ATR
    }

    /// Power cycle / warm reset: selection and transaction state are lost,
    /// the ATC is not.
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
        self.pending = None;
        self.left = false;
        self.commands = 0;
    }

    /// Processes one command APDU.
    pub fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        let cmd = match Command::parse(apdu) {
            Ok(c) => c,
            Err(s) => return s.to_vec(),
        };
        if cmd.ins == 0xC0 && cmd.cla == 0x00 {
            return self.get_response(&cmd);
        }
        self.pending = None;
        self.commands += 1;
        if self.tap && self.leave_after.is_some_and(|n| self.commands >= n) {
            self.left = true;
        }
        let result = match (cmd.cla, cmd.ins) {
            (0x00, 0xA4) if self.tap => self.tap_select(&cmd),
            (0x00, 0xA4) => self.select(&cmd),
            (0x00, 0xB2) => self.read_record(&cmd),
            (0x80, 0xA8) if self.tap => self.tap_gpo(&cmd),
            (0x80, 0xA8) => self.gpo(&cmd),
            // A tap has no GENERATE AC: the cryptogram came with the GPO.
            (0x80, 0xAE) if self.tap => Err(sw::CONDITIONS_NOT_SATISFIED),
            (0x80, 0xAE) => self.generate_ac(&cmd),
            (0x00, 0x88) => self.internal_authenticate(&cmd),
            (0x00 | 0x80, _) => Err(sw::INS_NOT_SUPPORTED),
            _ => Err(sw::CLA_NOT_SUPPORTED),
        };
        match result {
            Err(s) => s.to_vec(),
            Ok(data) => self.deliver(&cmd, data),
        }
    }

    fn deliver(&mut self, cmd: &Command<'_>, data: Vec<u8>) -> Vec<u8> {
        if data.len() > MAX_RESPONSE {
            // Longer than a short APDU takes (an ODA card's certificate
            // record): the rest by GET RESPONSE, as EMV Book 1 chains it.
            return self.chunk(data);
        }
        match self.transport {
            Transport::Direct => [data, sw::OK.to_vec()].concat(),
            Transport::T0 if !cmd.data.is_empty() => {
                let len = data.len().min(255) as u8;
                self.pending = Some(data);
                vec![0x61, len]
            }
            Transport::T0 => match cmd.le {
                Some(le) if le != data.len() && le != 256 => vec![0x6C, data.len().min(255) as u8],
                _ => [data, sw::OK.to_vec()].concat(),
            },
        }
    }

    /// The first 256 bytes and `61 xx` (xx the length still to fetch, 00 for 256 or more).
    fn chunk(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        let rest = data.split_off(MAX_RESPONSE);
        data.extend_from_slice(&[0x61, rest.len().min(MAX_RESPONSE) as u8]);
        self.pending = Some(rest);
        data
    }

    fn get_response(&mut self, cmd: &Command<'_>) -> Vec<u8> {
        match self.pending.take() {
            None => sw::CONDITIONS_NOT_SATISFIED.to_vec(),
            Some(data) if data.len() > MAX_RESPONSE => self.chunk(data),
            Some(data) => match cmd.le {
                Some(le) if le != 256 && le != data.len() => {
                    let len = data.len().min(255) as u8;
                    self.pending = Some(data);
                    vec![0x6C, len]
                }
                _ => [data, sw::OK.to_vec()].concat(),
            },
        }
    }

    /// The application's FCI content (`84`, `A5` with label, priority and
    /// the PDOL when the interface has one), without its `6F`.
    pub(crate) fn application_fci(&self, pdol: Option<&[u8]>) -> Vec<u8> {
        let mut prop = Vec::new();
        tlv::write(0x50, self.profile.app_label.as_bytes(), &mut prop);
        tlv::write(0x87, &[0x01], &mut prop);
        if let Some(pdol) = pdol {
            tlv::write(0x9F38, pdol, &mut prop);
        }
        let mut fci = Vec::new();
        tlv::write(0x84, &self.aid(), &mut fci);
        tlv::write(0xA5, &prop, &mut fci);
        fci
    }

    pub(crate) fn aip(&self) -> [u8; 2] {
        self.aip
    }

    pub(crate) fn bump_atc(&mut self) {
        self.atc = self.atc.wrapping_add(1);
    }

    pub(crate) fn oda_method(&self) -> Option<&str> {
        self.oda.as_ref().map(|m| m.method.as_str())
    }

    pub(crate) fn oda_material(&self) -> Option<&OdaMaterial> {
        self.oda.as_ref()
    }

    pub(crate) fn aid(&self) -> Vec<u8> {
        hex::decode(&self.profile.aid).unwrap_or_default()
    }

    fn select(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        if cmd.p1 != 0x04 {
            return Err(sw::INCORRECT_P1P2);
        }
        self.phase = Phase::Idle;
        let mut fci = Vec::new();
        if cmd.data == PSE_NAME {
            if !self.with_pse {
                return Err(sw::FILE_NOT_FOUND);
            }
            tlv::write(0x84, PSE_NAME, &mut fci);
            tlv::write(0xA5, &[0x88, 0x01, 0x02], &mut fci);
        } else if !cmd.data.is_empty() && self.aid().starts_with(cmd.data) {
            fci = self.application_fci(None);
            self.phase = Phase::Selected;
        } else {
            return Err(sw::FILE_NOT_FOUND);
        }
        let mut out = Vec::new();
        tlv::write(0x6F, &fci, &mut out);
        Ok(out)
    }

    fn read_record(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        if cmd.p2 & 0x07 != 0x04 {
            return Err(sw::INCORRECT_P1P2);
        }
        let sfi = cmd.p2 >> 3;
        let mut body = Vec::new();
        match (sfi, cmd.p1) {
            (2, 1) if self.with_pse => {
                let mut entry = Vec::new();
                tlv::write(0x4F, &self.aid(), &mut entry);
                tlv::write(0x50, self.profile.app_label.as_bytes(), &mut entry);
                tlv::write(0x87, &[0x01], &mut entry);
                tlv::write(0x61, &entry, &mut body);
            }
            (1, 1) if self.read_allowed() => body = self.record1(self.profile.tamper),
            (1, 2) if self.read_allowed() && self.oda.is_some() => {
                body = self.record2.get_or_init(|| self.record2()).clone();
                // The AFL's last record: a tapped card leaves the field (§10).
                self.left |= self.tap;
            }
            (1, 1 | 2) if self.read_allowed() => return Err(sw::RECORD_NOT_FOUND),
            (1, 1 | 2) => return Err(sw::CONDITIONS_NOT_SATISFIED),
            _ => return Err(sw::RECORD_NOT_FOUND),
        }
        let mut out = Vec::new();
        tlv::write(0x70, &body, &mut out);
        Ok(out)
    }

    fn gpo(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        if self.phase != Phase::Selected {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        }
        // No PDOL: the command data is an empty `83` template.
        if cmd.data != [0x83, 0x00] {
            return Err(sw::WRONG_LENGTH);
        }
        self.phase = Phase::Initiated;
        let mut v = self.aip.to_vec();
        // §9: an ODA card has a second record (certificates), and record 1 is signed.
        v.extend_from_slice(if self.oda.is_some() { &[0x08, 0x01, 0x02, 0x01] } else { &[0x08, 0x01, 0x01, 0x00] });
        let mut out = Vec::new();
        tlv::write(0x80, &v, &mut out);
        Ok(out)
    }

    fn generate_ac(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        let requested = cmd.p1 & 0xC0;
        if requested == 0xC0 {
            return Err(sw::INCORRECT_P1P2);
        }
        match self.phase.clone() {
            Phase::Initiated => self.first_ac(requested, cmd.data, cmd.p1 & 0x10 != 0),
            Phase::FirstAc { cid: cid::ARQC, arqc, amount } => self.second_ac(cmd.data, arqc, amount),
            _ => Err(sw::CONDITIONS_NOT_SATISFIED),
        }
    }

    fn first_ac(&mut self, requested: u8, data: &[u8], cda: bool) -> Result<Vec<u8>, [u8; 2]> {
        if data.len() != 29 {
            return Err(sw::WRONG_LENGTH);
        }
        let amount = bcd_amount(data.get(..6).unwrap_or_default());
        let decision = if self.profile.blocked || requested == cid::AAC {
            cid::AAC
        } else if requested == cid::TC && amount <= self.profile.offline_limit {
            cid::TC
        } else {
            cid::ARQC
        };
        self.atc = self.atc.wrapping_add(1);
        let ac = self.cryptogram(data)?;
        self.phase = Phase::FirstAc { cid: decision, arqc: ac, amount };
        if decision != cid::ARQC {
            self.phase = Phase::Done;
        }
        if cda && decision != cid::AAC && self.oda.as_ref().is_some_and(|m| m.method == "cda") {
            return Ok(self.cda_response(decision, ac, data));
        }
        Ok(self.ac_response(decision, ac))
    }

    fn second_ac(&mut self, data: &[u8], arqc: [u8; 8], amount: u64) -> Result<Vec<u8>, [u8; 2]> {
        if data.len() != 21 {
            return Err(sw::WRONG_LENGTH);
        }
        let arc: [u8; 2] = data.get(..2).and_then(|s| s.try_into().ok()).ok_or(sw::WRONG_LENGTH)?;
        let iad = data.get(2..12).unwrap_or_default();
        let decision = if self.refuse_second_ac || self.profile.blocked {
            cid::AAC
        } else if &arc == b"00" {
            // Issuer authentication: with issuer data present, the ARPC must verify.
            let provided = iad.iter().any(|&b| b != 0);
            let verified = iad.get(..8) == Some(&emv::arpc_method1(&self.icc_mk, &arqc, &arc)[..]) && iad.get(8..10) == Some(&arc[..]);
            if !provided || verified { cid::TC } else { cid::AAC }
        } else if &arc == b"Y3" && amount <= self.profile.offline_limit {
            cid::TC
        } else {
            cid::AAC
        };
        let ac = self.cryptogram(data)?;
        self.phase = Phase::Done;
        Ok(self.ac_response(decision, ac))
    }

    /// AC over `cdol_data ‖ AIP ‖ ATC` (§7).
    pub(crate) fn cryptogram(&self, cdol_data: &[u8]) -> Result<[u8; 8], [u8; 2]> {
        let mut input = cdol_data.to_vec();
        input.extend_from_slice(&self.aip);
        input.extend_from_slice(&self.atc.to_be_bytes());
        emv::application_cryptogram(&self.icc_mk, &input).map_err(|_| sw::CONDITIONS_NOT_SATISFIED)
    }

    fn ac_response(&self, cid: u8, ac: [u8; 8]) -> Vec<u8> {
        let mut v = vec![cid];
        v.extend_from_slice(&self.atc.to_be_bytes());
        v.extend_from_slice(&ac);
        v.extend_from_slice(&IAD);
        let mut out = Vec::new();
        tlv::write(0x80, &v, &mut out);
        out
    }
}

/// Offline data authentication (§9): the records an ODA card adds, INTERNAL
/// AUTHENTICATE and CDA's signed GENERATE AC answer.
impl VirtualCard {
    fn read_allowed(&self) -> bool {
        matches!(self.phase, Phase::Initiated | Phase::FirstAc { .. } | Phase::Done)
    }

    /// SFI 1 record 1 (without its `70`): the §7 data, plus `9F4A` on an ODA
    /// card. `tampered`: one byte of the cardholder name changed, as after
    /// signing.
    fn record1(&self, tampered: bool) -> Vec<u8> {
        let h = |s: &str| hex::decode(s).unwrap_or_default();
        let mut body = Vec::new();
        let mut name = self.profile.name.clone().into_bytes();
        if tampered && let Some(last) = name.last_mut() {
            *last ^= 0x01;
        }
        tlv::write(0x57, &h(&self.profile.track2_hex()), &mut body);
        tlv::write(0x5A, &h(&self.profile.pan_hex()), &mut body);
        tlv::write(0x5F24, &h(&format!("{}31", self.profile.expiry)), &mut body);
        tlv::write(0x5F34, &h(&self.profile.psn), &mut body);
        tlv::write(0x5F20, &name, &mut body);
        tlv::write(0x8C, &h(CDOL1), &mut body);
        tlv::write(0x8D, &h(CDOL2), &mut body);
        // CVM list: X and Y amounts 0; rule `02 00`: enciphered PIN online, always.
        tlv::write(0x8E, &h("00000000000000000200"), &mut body);
        tlv::write(0x9F07, &[0xFF, 0x00], &mut body);
        tlv::write(0x9F08, &[0x00, 0x30], &mut body);
        if self.oda.is_some() {
            // The AIP is part of the static data (§9).
            tlv::write(0x9F4A, &[0x82], &mut body);
        }
        body
    }

    /// The static data to be authenticated as signed: record 1 untampered, then the AIP.
    fn static_data(&self) -> Vec<u8> {
        [self.record1(false), self.aip.to_vec()].concat()
    }

    /// SFI 1 record 2: the certificates and keys (not signed).
    fn record2(&self) -> Vec<u8> {
        let Some(m) = &self.oda else { return Vec::new() };
        let mut body = Vec::new();
        tlv::write(0x8F, &[m.ca_index], &mut body);
        tlv::write(0x90, &m.issuer_cert, &mut body);
        tlv::write(0x92, &m.issuer_remainder, &mut body);
        tlv::write(0x9F32, &[0x03], &mut body);
        if m.method == "sda" {
            tlv::write(0x93, &m.ssad(&self.static_data()), &mut body);
        } else {
            let (cert, remainder) = m.icc_certificate(&self.profile.pan, &self.static_data());
            tlv::write(0x9F46, &cert, &mut body);
            tlv::write(0x9F47, &[0x03], &mut body);
            tlv::write(0x9F48, &remainder, &mut body);
            tlv::write(0x9F49, &[0x9F, 0x37, 0x04], &mut body);
        }
        body
    }

    /// INTERNAL AUTHENTICATE: the DDOL data in, `80` + signed dynamic data out.
    fn internal_authenticate(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        let m = self.oda.as_ref().filter(|m| m.method != "sda").ok_or(sw::INS_NOT_SUPPORTED)?;
        if !self.read_allowed() {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        }
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return Err(sw::INCORRECT_P1P2);
        }
        if cmd.data.is_empty() {
            return Err(sw::WRONG_LENGTH);
        }
        let dynamic = [&[8u8][..], &oda::dynamic_number(self.atc, cmd.data)].concat();
        let mut out = Vec::new();
        tlv::write(0x80, &m.sdad(&dynamic, cmd.data), &mut out);
        Ok(out)
    }

    /// CDA: format 2, the cryptogram inside the signed dynamic data, the
    /// signature over the CDOL1 data and the other objects of the answer.
    fn cda_response(&self, cid: u8, ac: [u8; 8], cdol1_data: &[u8]) -> Vec<u8> {
        let Some(m) = &self.oda else { return self.ac_response(cid, ac) };
        let mut others = Vec::new();
        tlv::write(0x9F27, &[cid], &mut others);
        tlv::write(0x9F36, &self.atc.to_be_bytes(), &mut others);
        tlv::write(0x9F10, &IAD, &mut others);
        // No PDOL on these cards: the hash is over CDOL1 data and the other objects.
        let hash = smartpos_proto::crypto::oda::transaction_hash(&[cdol1_data, &others]);
        let un = cdol1_data.get(cdol1_data.len().saturating_sub(4)..).unwrap_or_default();
        let dynamic = [&[8u8][..], &oda::dynamic_number(self.atc, un), &[cid], &ac, &hash].concat();
        let mut body = Vec::new();
        tlv::write(0x9F27, &[cid], &mut body);
        tlv::write(0x9F36, &self.atc.to_be_bytes(), &mut body);
        tlv::write(0x9F4B, &m.sdad(&dynamic, un), &mut body);
        tlv::write(0x9F10, &IAD, &mut body);
        let mut out = Vec::new();
        tlv::write(0x77, &body, &mut out);
        out
    }
}

/// An amount from 6 BCD bytes (tag 9F02); non-BCD nibbles count as 9 so a
/// malformed amount never falls under the offline limit.
pub(crate) fn bcd_amount(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |acc, &x| {
        let d = |n: u8| u64::from(n.min(9));
        acc * 100 + d(x >> 4) * 10 + d(x & 0xF)
    })
}
