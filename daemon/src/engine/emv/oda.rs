//! Offline data authentication (EMV Book 2 and Book 3 §10.3,
//! acquirer-protocol.md §9): the strongest method both the card (AIP) and
//! the terminal support — CDA, then DDA, then SDA — under the scheme's CA
//! keys. SDA and DDA finish here, before terminal action analysis; CDA
//! recovers the keys here and checks the signature over the first GENERATE
//! AC's answer ([`OdaState::check_cda`]) before the kernel uses it.
//!
//! Failures set the TVR bit of the method (SDA `0x40`, DDA `0x08`, CDA
//! `0x04`, byte 1), `0x20` when a required object is missing, `0x80` when
//! no method is performed; the action codes then decide, and a failed card
//! is never approved offline. A tap's fDDA (§10) is DDA's check over the
//! GPO answer ([`Authenticator::fdda`]). The cryptography is
//! [`smartpos_proto::crypto::oda`].

use super::KernelError;
use super::apdu::command;
use super::card::CardApp;
use super::tvr::{self, Tvr};
use smartpos_hal::CardReader;
use smartpos_proto::crypto::oda::{self as book2, CdaDynamicData, OdaError, PublicKey};
use smartpos_proto::tlv;

/// One CA public key the terminal holds (from the §8 download).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaKey {
    pub rid: [u8; 5],
    pub index: u8,
    pub key: PublicKey,
    /// YYYYMMDD: the last day it may be used.
    pub expiry: String,
}

/// The method performed (result key `oda`, journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    #[default]
    None,
    Sda,
    Dda,
    Cda,
    /// fDDA of a contactless card (§10).
    Fdda,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::Sda => "sda",
            Method::Dda => "dda",
            Method::Cda => "cda",
            Method::Fdda => "fdda",
        }
    }
}

/// What ODA found, and for CDA what the first GENERATE AC still needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OdaState {
    pub method: Method,
    /// Why it failed, for the log (never card data).
    pub failure: Option<String>,
    /// CDA: the recovered ICC key, for the GENERATE AC answer.
    icc_key: Option<PublicKey>,
}

impl OdaState {
    fn not_performed(tvr: &mut Tvr) -> Self {
        tvr.set(tvr::ODA_NOT_PERFORMED);
        Self { method: Method::None, failure: None, icc_key: None }
    }

    /// Whether the first GENERATE AC must ask for a CDA signature.
    pub fn wants_cda(&self) -> bool {
        self.method == Method::Cda && self.failure.is_none()
    }

    pub fn ok(&self) -> bool {
        self.method != Method::None && self.failure.is_none()
    }

    /// CDA over the first GENERATE AC's answer (`response`, its whole data):
    /// the signature under the ICC key, the CID it signs and the transaction
    /// data hash over the CDOL1 data and the answer's other objects.
    /// Returns the cryptogram the signature holds.
    pub fn check_cda(&mut self, response: &[u8], cdol1_data: &[u8], un: &[u8; 4], tvr: &mut Tvr) -> Option<[u8; 8]> {
        let result = (|| {
            let key = self.icc_key.as_ref().ok_or(OdaError::Malformed("CDA without an ICC key"))?;
            let items = tlv::parse(response).ok().and_then(|t| t.into_iter().find(|t| t.tag == 0x77)).ok_or(OdaError::Malformed("CDA answer (no 77 template)"))?;
            let objects = tlv::parse(&items.value).map_err(|_| OdaError::Malformed("CDA answer"))?;
            let sdad = objects.iter().find(|t| t.tag == 0x9F4B).ok_or(OdaError::Malformed("CDA answer without 9F4B"))?;
            let dynamic = CdaDynamicData::parse(&book2::verify_sdad(&sdad.value, key, un)?)?;
            let cid = objects.iter().find(|t| t.tag == 0x9F27).and_then(|t| t.value.first().copied());
            if cid != Some(dynamic.cid) {
                return Err(OdaError::Malformed("CDA: the signed CID differs from the answer's"));
            }
            let mut others = Vec::new();
            for o in objects.iter().filter(|t| t.tag != 0x9F4B) {
                tlv::write(o.tag, &o.value, &mut others);
            }
            if book2::transaction_hash(&[cdol1_data, &others]) != dynamic.transaction_hash {
                return Err(OdaError::Hash("CDA transaction data"));
            }
            Ok(dynamic.cryptogram)
        })();
        match result {
            Ok(ac) => Some(ac),
            Err(e) => {
                tvr.set(tvr::CDA_FAILED);
                self.failure = Some(e.to_string());
                None
            }
        }
    }
}

/// What ODA needs from the transaction.
#[derive(Debug, Clone, Copy)]
pub struct OdaContext<'a> {
    /// YYMMDD.
    pub today: &'a str,
    pub un: [u8; 4],
    /// The parameters' default DDOL (`9F3704`), when the card has none.
    pub default_ddol: &'a [u8],
}

pub trait OfflineDataAuth: Send + std::fmt::Debug {
    fn authenticate(&self, reader: &mut dyn CardReader, app: &CardApp, ctx: &OdaContext<'_>, tvr: &mut Tvr) -> Result<OdaState, KernelError>;
}

/// A terminal with no CA keys: no offline data authentication (§8).
#[derive(Debug, Default)]
pub struct NoOda;

impl OfflineDataAuth for NoOda {
    fn authenticate(&self, _reader: &mut dyn CardReader, _app: &CardApp, _ctx: &OdaContext<'_>, tvr: &mut Tvr) -> Result<OdaState, KernelError> {
        Ok(OdaState::not_performed(tvr))
    }
}

/// SDA / DDA / CDA under the CA keys the terminal holds.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    pub ca_keys: Vec<CaKey>,
}

impl Authenticator {
    /// The CA key of the card's RID and `8F` index, unless expired on `today` (YYMMDD).
    fn ca_key(&self, app: &CardApp, today: &str) -> Result<&PublicKey, String> {
        let index = *app.get(0x8F).and_then(<[u8]>::first).ok_or("the card has no CA key index (8F)")?;
        let rid = app.aid.get(..5).ok_or("the AID is shorter than a RID")?;
        let key = self.ca_keys.iter().find(|k| k.rid == rid && k.index == index).ok_or_else(|| format!("no CA key {:02X} of RID {}", index, hex::encode_upper(rid)))?;
        if key.expiry.as_str() < format!("20{today}").as_str() {
            return Err(format!("CA key {index:02X} expired on {}", key.expiry));
        }
        Ok(&key.key)
    }
}

/// AIP byte 1 bits.
const AIP_SDA: u8 = 0x40;
const AIP_DDA: u8 = 0x20;
const AIP_CDA: u8 = 0x01;

fn missing(app: &CardApp, tags: &[tlv::Tag]) -> bool {
    tags.iter().any(|&t| app.get(t).is_none())
}

impl OfflineDataAuth for Authenticator {
    fn authenticate(&self, reader: &mut dyn CardReader, app: &CardApp, ctx: &OdaContext<'_>, tvr: &mut Tvr) -> Result<OdaState, KernelError> {
        let aip = app.aip[0];
        let (method, failed_bit) = if aip & AIP_CDA != 0 {
            (Method::Cda, tvr::CDA_FAILED)
        } else if aip & AIP_DDA != 0 {
            (Method::Dda, tvr::DDA_FAILED)
        } else if aip & AIP_SDA != 0 {
            (Method::Sda, tvr::SDA_FAILED)
        } else {
            return Ok(OdaState::not_performed(tvr));
        };
        if self.ca_keys.is_empty() {
            return Ok(OdaState::not_performed(tvr));
        }
        let mut state = OdaState { method, failure: None, icc_key: None };
        let needs: &[tlv::Tag] = if method == Method::Sda { &[0x8F, 0x90, 0x9F32, 0x93] } else { &[0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47] };
        if missing(app, needs) {
            tvr.set(tvr::ICC_DATA_MISSING);
            tvr.set(failed_bit);
            state.failure = Some("a required ODA object is missing".into());
            return Ok(state);
        }
        match self.run(reader, app, ctx, method) {
            Ok(icc_key) => state.icc_key = icc_key,
            Err(Fail::Card(e)) => return Err(e),
            Err(Fail::Check(why)) => {
                tvr.set(failed_bit);
                state.failure = Some(why);
            }
        }
        Ok(state)
    }
}

impl Authenticator {
    /// fDDA (§10): the card's ICC key recovered through its certificates,
    /// then `9F4B` verified as DDA's signed dynamic data over
    /// `terminal_data` (`9F37 ‖ 9F02 ‖ 5F2A ‖ 9F69`). A failure sets the DDA
    /// failed bit (and `0x20` for a missing object).
    pub fn fdda(&self, app: &CardApp, today: &str, terminal_data: &[u8], tvr: &mut Tvr) -> OdaState {
        let mut state = OdaState { method: Method::Fdda, failure: None, icc_key: None };
        let result = (|| -> Result<(), Fail> {
            if missing(app, &[0x8F, 0x90, 0x9F32, 0x9F46, 0x9F47, 0x9F4B, 0x9F69]) {
                tvr.set(tvr::ICC_DATA_MISSING);
                return Err("a required fDDA object is missing".to_string().into());
            }
            let (issuer, pan) = self.issuer_key(app, today)?;
            let icc = icc_key(app, &issuer, &pan, today)?;
            book2::verify_sdad(app.get(0x9F4B).unwrap_or_default(), &icc, terminal_data)?;
            Ok(())
        })();
        if let Err(fail) = result {
            tvr.set(tvr::DDA_FAILED);
            state.failure = Some(match fail {
                Fail::Check(why) => why,
                Fail::Card(e) => e.to_string(),
            });
        }
        state
    }
}

/// A check that failed (ODA fails), or the card conversation itself.
enum Fail {
    Check(String),
    Card(KernelError),
}

impl From<String> for Fail {
    fn from(why: String) -> Self {
        Fail::Check(why)
    }
}

impl From<OdaError> for Fail {
    fn from(e: OdaError) -> Self {
        Fail::Check(e.to_string())
    }
}

impl Authenticator {
    /// The checks of `method`: the ICC key for CDA (checked later), nothing for SDA/DDA.
    /// The static data assembled, the CA key found, the issuer key
    /// recovered from its certificate: what every method starts with. Also
    /// returns the PAN the certificates are checked against.
    fn issuer_key(&self, app: &CardApp, today: &str) -> Result<(PublicKey, String), Fail> {
        if let Some(why) = &app.static_data_error {
            return Err(why.clone().into());
        }
        let get = |t| app.get(t).unwrap_or_default();
        let pan = hex::encode_upper(get(0x5A)).trim_end_matches('F').to_string();
        let ca = self.ca_key(app, today).map_err(Fail::Check)?;
        Ok((book2::recover_issuer_key(get(0x90), get(0x92), get(0x9F32), ca, &pan, today)?, pan))
    }

    fn run(&self, reader: &mut dyn CardReader, app: &CardApp, ctx: &OdaContext<'_>, method: Method) -> Result<Option<PublicKey>, Fail> {
        let get = |t| app.get(t).unwrap_or_default();
        let (issuer, pan) = self.issuer_key(app, ctx.today)?;
        if method == Method::Sda {
            book2::verify_ssad(get(0x93), &issuer, &app.static_data)?;
            return Ok(None);
        }
        let icc = icc_key(app, &issuer, &pan, ctx.today)?;
        if method == Method::Cda {
            return Ok(Some(icc));
        }
        // DDA: INTERNAL AUTHENTICATE over the DDOL data (the card's 9F49 or the default).
        let ddol = app.get(0x9F49).unwrap_or(ctx.default_ddol);
        let mut ddol_data = Vec::new();
        for (tag, len) in tlv::parse_dol(ddol).map_err(|e| Fail::Check(format!("DDOL: {e}")))? {
            let v: Vec<u8> = if tag == 0x9F37 { ctx.un.to_vec() } else { Vec::new() };
            ddol_data.extend(v.into_iter().chain(std::iter::repeat(0)).take(len));
        }
        let r = command(reader, [0x00, 0x88, 0x00, 0x00], Some(&ddol_data), Some(0x00)).map_err(Fail::Card)?;
        if !r.ok() {
            return Err(format!("INTERNAL AUTHENTICATE answered {:04X}", r.sw).into());
        }
        let sdad = tlv::find(&r.data, 0x80).or_else(|| tlv::find(&r.data, 0x9F4B)).ok_or_else(|| "INTERNAL AUTHENTICATE without signed data".to_string())?;
        book2::verify_sdad(&sdad, &icc, &ddol_data)?;
        Ok(None)
    }
}

/// The ICC key recovered from its certificate, which covers the static data (DDA, CDA, fDDA).
fn icc_key(app: &CardApp, issuer: &PublicKey, pan: &str, today: &str) -> Result<PublicKey, Fail> {
    let get = |t| app.get(t).unwrap_or_default();
    Ok(book2::recover_icc_key(get(0x9F46), get(0x9F48), get(0x9F47), issuer, pan, &app.static_data, today)?)
}
