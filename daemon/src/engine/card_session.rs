//! The card-session seam: one card, whichever way it came — a chip read by
//! the contact kernel ([`super::emv`]), a tap read by the contactless one
//! ([`super::qpboc`]) or a payment code from the scanner ([`super::code`])
//! — asked the same questions by the one payment path (`payment`,
//! `adjust`): its data, its first cryptogram, the field 55 to send, what to
//! tell it after the host answered or could not be reached.
//!
//! Waiting is here too: the terminal watches every interface the call
//! allows and takes whichever comes first (an insert, a tap, a scan); a tap
//! above the contactless limit turns into "insert the card" within the same
//! call.

use super::code::{self, CodeTxn};
use super::emv::tvr::Decision;
use super::emv::{self, AcResponse, CardFacts, EmvTxn, KernelError, TxnType};
use super::payment::{TxnResult, declined, kernel_error};
use super::qpboc::{self, TapContext, TapRead, TapTxn};
use super::{Devices, Engine, EngineError, EngineResult, ErrorKind, Stage};
use crate::store::journal::CardSecrets;
use smartpos_hal::keypad::PinProgress;
use smartpos_hal::scanner::ScannerError;
use smartpos_hal::{CardReader, ReaderError};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How the card reached the terminal (result key `interface`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Contact,
    Contactless,
    /// A payment code from the scanner (§11).
    Code,
}

impl Interface {
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Contact => "contact",
            Interface::Contactless => "contactless",
            Interface::Code => "code",
        }
    }
}

/// Which interfaces a payment call accepts (`Sale`'s `interfaces`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interfaces {
    pub contact: bool,
    pub contactless: bool,
    pub code: bool,
}

impl Default for Interfaces {
    fn default() -> Self {
        Self { contact: true, contactless: true, code: true }
    }
}

impl Interfaces {
    pub const CONTACT: Interfaces = Interfaces { contact: true, contactless: false, code: false };
    /// Every card interface, no code (refunds, which pay back to a card).
    pub const CARDS: Interfaces = Interfaces { contact: true, contactless: true, code: false };

    /// Their D-Bus names (`Sale`'s `interfaces`, waiting-card's details).
    pub fn names(self) -> Vec<String> {
        [(self.contact, "contact"), (self.contactless, "contactless"), (self.code, "code")].into_iter().filter(|(on, _)| *on).map(|(_, n)| n.to_string()).collect()
    }

    fn any_card(self) -> bool {
        self.contact || self.contactless
    }
}

/// The kernel's transaction behind the seam.
#[derive(Debug)]
pub(crate) enum CardTxn {
    Chip(EmvTxn),
    Tap(TapTxn),
    Code(CodeTxn),
}

/// A card read and, when its CVM asks, the encrypted PIN block (for a
/// payment code, `facts` is empty: the code stays in its [`CodeTxn`]).
pub(crate) struct CardSession {
    pub txn: CardTxn,
    pub facts: CardFacts,
    pub pin_block: Option<Zeroizing<[u8; 8]>>,
}

impl Devices {
    /// The reader a card of `interface` is in.
    pub(crate) fn reader_for(&mut self, interface: Interface) -> &mut dyn CardReader {
        match (interface, self.contactless.as_mut()) {
            (Interface::Contactless, Some(r)) => r.as_mut(),
            _ => self.reader.as_mut(),
        }
    }
}

impl CardSession {
    pub fn interface(&self) -> Interface {
        match self.txn {
            CardTxn::Chip(_) => Interface::Contact,
            CardTxn::Tap(_) => Interface::Contactless,
            CardTxn::Code(_) => Interface::Code,
        }
    }

    pub fn aid(&self) -> &[u8] {
        match &self.txn {
            CardTxn::Chip(t) => &t.app.aid,
            CardTxn::Tap(t) => &t.app.aid,
            CardTxn::Code(_) => &[],
        }
    }

    pub fn app_label(&self) -> &str {
        match &self.txn {
            CardTxn::Chip(t) => &t.app.label,
            CardTxn::Tap(t) => &t.app.label,
            CardTxn::Code(_) => "",
        }
    }

    /// What results, journal and receipt show: the masked PAN (first 6,
    /// last 4) or the masked code (first 4, last 4).
    pub fn masked(&self) -> String {
        match &self.txn {
            CardTxn::Code(c) => c.code.masked(),
            _ => super::payment::mask_pan(&self.facts.pan),
        }
    }

    /// Result key `oda`: the method, or `failed`; empty for a code.
    pub fn oda(&self) -> &'static str {
        let oda = match &self.txn {
            CardTxn::Chip(t) => &t.oda,
            CardTxn::Tap(t) => &t.oda,
            CardTxn::Code(_) => return "",
        };
        if oda.failure.is_some() { "failed" } else { oda.method.as_str() }
    }

    pub fn tvr_hex(&self) -> String {
        match &self.txn {
            CardTxn::Chip(t) => hex::encode_upper(t.tvr.0),
            CardTxn::Tap(t) => hex::encode_upper(t.tvr.0),
            CardTxn::Code(_) => String::new(),
        }
    }

    /// Field 22: chip `05x`, tap `07x` (`x` = 1 with a PIN, 2 without), code `032`.
    pub fn entry_mode(&self) -> &'static str {
        crate::store::journal::entry_mode(self.interface().as_str(), self.pin_block.is_some())
    }

    /// What the request about this card needs (`icc` = its field 55): for
    /// a code, the code itself, which the journal keeps sealed only until its
    /// batch settles (`Store::wipe_codes`).
    pub fn secrets(&self, icc: Vec<u8>) -> CardSecrets {
        match &self.txn {
            CardTxn::Code(c) => CardSecrets::code(c.code.digits()),
            _ => self.facts.secrets(icc, self.interface()),
        }
    }

    /// Offline approval is impossible for this session whatever the
    /// limits: a payment code (§11). The error says what to do instead.
    pub fn never_offline(&self) -> Option<EngineError> {
        matches!(self.txn, CardTxn::Code(_)).then(code::never_offline)
    }

    /// The first cryptogram: terminal action analysis and the first
    /// GENERATE AC for a chip (a TC asked for only when `offline_ok`); the
    /// card's own answer for a tap (it decided at the GPO, on the TTQ).
    pub fn first_cryptogram(&mut self, dev: &mut Devices, offline_ok: bool) -> Result<Decision, KernelError> {
        match &mut self.txn {
            CardTxn::Chip(t) => {
                let mut want = t.first_decision();
                if want == Decision::Tc && !offline_ok {
                    want = Decision::Arqc;
                }
                Ok(t.first_ac(dev.reader_for(Interface::Contact), want)?.decision())
            }
            CardTxn::Tap(t) => Ok(t.decision()),
            // Only the host can approve a code.
            CardTxn::Code(_) => Ok(Decision::Arqc),
        }
    }

    /// The response code of a card's own decline.
    pub fn decline_code(&self) -> &'static str {
        match &self.txn {
            CardTxn::Chip(t) if t.expired() => "54",
            _ => "Z1",
        }
    }

    /// The host could not be reached after an ARQC: a chip is asked for a
    /// TC (`Y3`) when `offline_ok` and its action codes allow, else told
    /// `Z3`; a tap has left the field and stays declined.
    pub fn unable_online(&mut self, dev: &mut Devices, offline_ok: bool) -> Result<Decision, KernelError> {
        match &mut self.txn {
            CardTxn::Chip(t) => {
                let tc = offline_ok && t.unable_online_decision() == Decision::Tc;
                let second = t.second_ac(dev.reader_for(Interface::Contact), if tc { Decision::Tc } else { Decision::Aac }, if tc { b"Y3" } else { b"Z3" }, None)?;
                let decision = second.decision();
                if decision == Decision::Tc {
                    t.first = Some(second);
                }
                Ok(decision)
            }
            CardTxn::Tap(_) | CardTxn::Code(_) => Ok(Decision::Aac),
        }
    }

    /// The answer when the host could not be reached and the card gave no
    /// TC: a chip's `Z3` decline; for a tap, which can be tried again with
    /// the terminal now knowing the host is away, an error saying so.
    pub fn declined_unreachable(&self, base: TxnResult) -> EngineResult<TxnResult> {
        match &self.txn {
            CardTxn::Chip(_) => Ok(declined(base, "Z3")),
            CardTxn::Code(_) => Err(code::never_offline()),
            CardTxn::Tap(t) => Err(EngineError::new(
                ErrorKind::Network,
                "The host cannot be reached and the card asked to go online; nothing was charged.",
                if t.offline_possible() {
                    "Tap again (the terminal now asks the card for an offline approval within its limit), insert the card, or restore the network."
                } else {
                    "Insert the card (this amount cannot be approved on a tap offline), or restore the network."
                },
            )),
        }
    }

    /// The payment will not complete (`arc` for the chip's second GENERATE
    /// AC, with the issuer's data when the host sent some).
    pub fn abandon(&mut self, dev: &mut Devices, arc: &[u8; 2], issuer_auth: Option<&[u8]>) {
        if let CardTxn::Chip(t) = &mut self.txn {
            let _ = t.second_ac(dev.reader_for(Interface::Contact), Decision::Aac, arc, issuer_auth);
        }
    }

    /// The host approved: a chip runs the issuer scripts and must give a TC
    /// at the second GENERATE AC; a tap is complete with the host's word.
    pub fn host_approved(&mut self, dev: &mut Devices, arc: &[u8; 2], field55: &[u8]) -> Result<Decision, KernelError> {
        match &mut self.txn {
            CardTxn::Chip(t) => {
                let reader = dev.reader_for(Interface::Contact);
                let _ = t.run_scripts(reader, field55, 0x71);
                let second = t.second_ac(reader, Decision::Tc, arc, smartpos_proto::tlv::find(field55, 0x91).as_deref());
                let _ = t.run_scripts(reader, field55, 0x72);
                Ok(second?.decision())
            }
            CardTxn::Tap(_) | CardTxn::Code(_) => Ok(Decision::Tc),
        }
    }

    /// Field 55 of the online request (none for a code).
    pub fn request_icc(&self, stan: u32) -> Vec<u8> {
        match &self.txn {
            CardTxn::Chip(t) => t.request_icc(stan),
            CardTxn::Tap(t) => t.request_icc(stan),
            CardTxn::Code(_) => Vec::new(),
        }
    }

    /// The offline approval's cryptogram (TC).
    pub fn offline_tc(&self) -> Option<AcResponse> {
        match &self.txn {
            CardTxn::Chip(t) => t.first.clone(),
            CardTxn::Tap(t) => (t.decision() == Decision::Tc).then(|| t.ac.clone()),
            CardTxn::Code(_) => None,
        }
    }

    /// How the cardholder was verified, for the journal and the receipt:
    /// `pin` (online PIN entered), `signature` (the chip's CVM list chose
    /// it: the receipt gets a signature line), or `none`.
    pub fn cvm(&self) -> &'static str {
        match &self.txn {
            _ if self.pin_block.is_some() => "pin",
            CardTxn::Chip(t) if t.cvm.cvm == emv::cvm::Cvm::Signature => "signature",
            _ => "none",
        }
    }

    /// Whether the card asks for the online PIN.
    fn wants_online_pin(&self) -> bool {
        match &self.txn {
            CardTxn::Chip(t) => t.cvm.cvm == emv::cvm::Cvm::OnlinePin,
            CardTxn::Tap(t) => t.wants_online_pin(),
            CardTxn::Code(_) => false,
        }
    }

    fn pin_entered(&mut self) {
        match &mut self.txn {
            CardTxn::Chip(t) => t.pin_entered(),
            CardTxn::Tap(t) => t.pin_entered(),
            CardTxn::Code(_) => {}
        }
    }
}

/// How long one reader is watched before the next one is (a tap or an
/// insert is seen within about this).
const WATCH_SLICE: Duration = Duration::from_millis(60);

impl Engine {
    /// Waits for a card on `interfaces`, reads it and takes the PIN when it
    /// asks (and `want_pin`).
    pub(crate) fn card_session(&mut self, amount: u64, txn_type: TxnType, want_pin: bool, interfaces: Interfaces, offline_ok: bool) -> EngineResult<CardSession> {
        let asked = interfaces;
        let interfaces = Interfaces { contactless: interfaces.contactless && self.dev.contactless.is_some(), code: interfaces.code && self.dev.scanner.is_some(), ..interfaces };
        if !interfaces.any_card() && !interfaces.code {
            let missing = if asked.code { "code scanner" } else { "contactless reader" };
            return Err(EngineError::invalid(format!("This terminal has no {missing}: allow the contact interface too (interfaces = contact).")));
        }
        if interfaces.code
            && let Some(scanner) = self.dev.scanner.as_mut()
            && let Err(e) = scanner.discard()
        {
            if !interfaces.any_card() {
                return Err(code::scanner_error(e));
            }
            tracing::warn!(CATEGORY = "device", "{e}; waiting for a card only");
        }
        self.stage(if interfaces.any_card() { Stage::WaitingCard(interfaces) } else { Stage::WaitingCode });
        let today = self.civil().yymmdd();
        let mut s = match self.wait_any_card(interfaces)? {
            Arrival::Code(line) => {
                self.stage(Stage::CodeScanned);
                let txn = CodeTxn::from_line(&line)?;
                let facts = CardFacts { pan: String::new(), track2: String::new(), expiry_yymm: String::new(), psn: String::new() };
                CardSession { txn: CardTxn::Code(txn), facts, pin_block: None }
            }
            Arrival::Card(Interface::Contact | Interface::Code) => self.read_chip(amount, txn_type, &today)?,
            Arrival::Card(Interface::Contactless) => {
                self.stage(Stage::CardTapped);
                self.stage(Stage::ReadingCard);
                let ctx = TapContext { amount, txn_type, today: &today, host_reachable: self.online != Some(false), offline_allowed: offline_ok };
                let reader = self.dev.reader_for(Interface::Contactless);
                match qpboc::read_tap(reader, &self.params, &self.oda, &ctx).map_err(tap_error)? {
                    TapRead::Read(t) => {
                        self.stage(Stage::RemoveCard);
                        let facts = emv::facts_of(&t.app).map_err(kernel_error)?;
                        CardSession { txn: CardTxn::Tap(*t), facts, pin_block: None }
                    }
                    TapRead::UseContact { limit, reason } => {
                        tracing::info!(amount, limit, reason, "asking for the chip");
                        self.stage(Stage::UseContact);
                        self.wait_any_card(Interfaces::CONTACT)?;
                        self.read_chip(amount, txn_type, &today)?
                    }
                }
            }
        };
        if want_pin && s.wants_online_pin() {
            let keys = self.keys.as_ref().ok_or_else(|| EngineError::not_signed_in("no PIN key"))?;
            let pik = keys.pik.clone();
            let timeout = Duration::from_millis(self.cfg.timeouts.pin_ms);
            let cancel = self.cancel.clone();
            let block = {
                let progress = &mut self.progress;
                let mut sink = |p: PinProgress| {
                    progress(match p {
                        PinProgress::Ready => Stage::WaitingPin,
                        PinProgress::Digits(n) => Stage::PinDigit(n),
                        PinProgress::Entered => Stage::PinEntered,
                    })
                };
                self.dev.pinpad.pin_block(&s.facts.pan, &pik, timeout, &cancel, &mut sink)?
            };
            s.pin_block = Some(Zeroizing::new(block));
            s.pin_entered();
        }
        Ok(s)
    }

    fn read_chip(&mut self, amount: u64, txn_type: TxnType, today: &str) -> EngineResult<CardSession> {
        self.stage(Stage::CardInserted);
        self.stage(Stage::ReadingCard);
        let txn = EmvTxn::begin(self.dev.reader.as_mut(), &self.params, &self.oda, amount, txn_type, today).map_err(kernel_error)?;
        let facts = txn.facts().map_err(kernel_error)?;
        Ok(CardSession { txn: CardTxn::Chip(txn), facts, pin_block: None })
    }

    /// The first interface something shows up on — a card in a reader, a
    /// line from the scanner — watching each in turn. A device that is gone
    /// (unplugged, pcscd away) while another is watched is left out for
    /// this call, so a broken contactless reader or scanner never stops a
    /// chip sale.
    fn wait_any_card(&mut self, interfaces: Interfaces) -> EngineResult<Arrival> {
        let deadline = Instant::now() + Duration::from_millis(self.cfg.timeouts.card_ms);
        let cancel = self.cancel.clone();
        let mut watched: Vec<Interface> = [(interfaces.contact, Interface::Contact), (interfaces.contactless, Interface::Contactless), (interfaces.code, Interface::Code)]
            .into_iter()
            .filter(|w| w.0)
            .map(|w| w.1)
            .collect();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = if watched.len() > 1 { left.min(WATCH_SLICE) } else { left };
            for interface in watched.clone() {
                if interface == Interface::Code {
                    let Some(scanner) = self.dev.scanner.as_mut() else { continue };
                    match scanner.wait_line(slice, &cancel) {
                        Ok(line) => return Ok(Arrival::Code(line)),
                        Err(ScannerError::Timeout) if !left.is_zero() => {}
                        Err(ScannerError::Timeout) => return Err(no_card(interfaces)),
                        Err(e @ (ScannerError::NotPresent(..) | ScannerError::Unplugged(_))) if watched.len() > 1 => {
                            tracing::warn!(CATEGORY = "device", "{e}; watching the card readers only");
                            watched.retain(|w| *w != interface);
                        }
                        Err(e) => return Err(code::scanner_error(e)),
                    }
                    continue;
                }
                match self.dev.reader_for(interface).wait_card(slice, &cancel) {
                    Ok(_atr) => return Ok(Arrival::Card(interface)),
                    Err(ReaderError::Timeout) if !left.is_zero() => {}
                    Err(ReaderError::Timeout) => return Err(no_card(interfaces)),
                    Err(e @ ReaderError::NoReader(_)) if watched.len() > 1 => {
                        tracing::warn!(CATEGORY = "device", interface = interface.as_str(), "{e}; watching the other reader only");
                        watched.retain(|w| *w != interface);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

/// What showed up first.
enum Arrival {
    Card(Interface),
    Code(smartpos_hal::scanner::ScannedLine),
}

fn no_card(interfaces: Interfaces) -> EngineError {
    match (interfaces.any_card(), interfaces.code, interfaces.contactless) {
        (false, _, _) => code::scanner_error(ScannerError::Timeout),
        (true, true, _) => {
            EngineError::new(ErrorKind::Operator, "No card or payment code came in time.", "Insert or tap the card, or scan the customer's payment code, when asked.")
        }
        (true, false, true) => EngineError::new(ErrorKind::Operator, "No card was inserted or tapped in time.", "Insert or tap the card when asked."),
        (true, false, false) => ReaderError::Timeout.into(),
    }
}

/// A tap that failed: a card that left the field early is told as such.
fn tap_error(e: KernelError) -> EngineError {
    match e {
        KernelError::Reader(ReaderError::CardRemoved) => EngineError::new(
            ErrorKind::Device,
            "The card left the reader's field before it was read; nothing was charged.",
            "Hold the card flat on the reader until the terminal says to remove it, then tap again.",
        ),
        other => kernel_error(other),
    }
}
