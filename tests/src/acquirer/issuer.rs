//! The issuer side of the simulator: card data from field 35, the online
//! PIN, the application cryptograms and the ARPC (acquirer-protocol.md §4,
//! §5 "what the host answers", §7). Each check answers the response code
//! that §5 assigns to its failure.

use super::state::{Account, HostState};
use smartpos_proto::codec::Message;
use smartpos_proto::crypto::{Key, emv, pin_block, track2};
use smartpos_proto::tlv;
use smartpos_vcard::testdata::CardProfile;

/// A response code (`"14"`, `"55"`, …) that ends the exchange.
pub type Decline = &'static str;

/// Tags that make up CDOL1 data, in CDOL1 order (§7).
const CDOL1_TAGS: [(u32, usize); 8] = [(0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4)];

/// Tags that make up CDOL2 data, in CDOL2 order (§7).
const CDOL2_TAGS: [(u32, usize); 4] = [(0x8A, 2), (0x91, 10), (0x95, 5), (0x9F37, 4)];

/// The card a request is for, identified from field 35 (and 2).
pub fn card_from_track(state: &HostState, tdk: &Key, req: &Message) -> Result<CardProfile, Decline> {
    let f35 = req.get(35).ok_or("30")?;
    let clear = track2::decrypt(tdk, f35).map_err(|_| "14")?;
    let (pan, _) = track2::pan_and_expiry(&clear).ok_or("14")?;
    if req.get(2) != Some(pan) {
        return Err("14");
    }
    card_checks(state, std::str::from_utf8(pan).map_err(|_| "14")?)
}

/// Known, not blocked, not expired.
pub fn card_checks(state: &HostState, pan: &str) -> Result<CardProfile, Decline> {
    let account = state.accounts.get(pan).ok_or("14")?;
    let card = &account.profile;
    if card.blocked {
        return Err("41");
    }
    if card.expiry.as_str() < state.now().yymm().as_str() {
        return Err("54");
    }
    Ok(card.clone())
}

/// Online PIN: `99` for a block that does not decode, `55` for a wrong PIN,
/// `75` for the third wrong PIN in a row and every try after it.
pub fn verify_pin(account: &mut Account, pik: &Key, block: Option<&[u8]>) -> Result<(), Decline> {
    let Some(block) = block else { return Ok(()) };
    if account.wrong_pins >= 3 {
        return Err("75");
    }
    let pin = pin_block::decrypt_format0(pik, block, account.profile.pan.as_bytes()).map_err(|_| "99")?;
    if pin.as_slice() == account.profile.pin.as_bytes() {
        account.wrong_pins = 0;
        return Ok(());
    }
    account.wrong_pins += 1;
    Err(if account.wrong_pins >= 3 { "75" } else { "55" })
}

/// The card's ICC master key.
pub fn icc_master_key(state: &HostState, card: &CardProfile) -> Result<Key, Decline> {
    emv::derive_icc_master_key(&state.imk, &card.pan, &card.psn).map_err(|_| "96")
}

/// Verifies the cryptogram of field 55 (ARQC, or TC for an advice) and
/// returns it. `05` when it does not verify or has the wrong type.
pub fn verify_cryptogram(mk: &Key, field55: Option<&[u8]>, want_cid: u8) -> Result<[u8; 8], Decline> {
    let f55 = field55.ok_or("05")?;
    let items = tlv::parse(f55).map_err(|_| "30")?;
    let get = |tag: u32| items.iter().find(|t| t.tag == tag).map(|t| t.value.as_slice());
    let mut data = Vec::with_capacity(33);
    // A TC of "unable to go online" (8A = Y3) came from the second GENERATE AC:
    // its data is CDOL2's — 8A, 91 (ten zero bytes: no issuer data), 95, 9F37 (§7).
    let second_ac = get(0x8A) == Some(b"Y3".as_slice());
    let dol: &[(u32, usize)] = if second_ac { &CDOL2_TAGS } else { &CDOL1_TAGS };
    for &(tag, len) in dol {
        let v = if tag == 0x91 { &[0u8; 10][..] } else { get(tag).ok_or("05")? };
        if v.len() != len {
            return Err("05");
        }
        data.extend_from_slice(v);
    }
    data.extend_from_slice(get(0x82).ok_or("05")?);
    data.extend_from_slice(get(0x9F36).ok_or("05")?);
    let ac: [u8; 8] = get(0x9F26).and_then(|v| v.try_into().ok()).ok_or("05")?;
    if get(0x9F27).and_then(|v| v.first()).map(|c| c & 0xC0) != Some(want_cid) {
        return Err("05");
    }
    let expected = emv::application_cryptogram(mk, &data).map_err(|_| "05")?;
    if expected != ac {
        return Err("05");
    }
    Ok(ac)
}

/// A tap's message (field 22 `07x`, §10): field 55 carries the TTQ
/// (`9F66`) and CTQ (`9F6C`), and 60.4 says the terminal reads
/// contactless (`6`). `30` (format error) otherwise. The cryptogram itself
/// is checked as a chip's: the card computes it over the same data.
pub fn contactless_checks(req: &Message) -> Result<(), Decline> {
    if !req.get_str(22).is_some_and(|m| m.starts_with("07")) {
        return Ok(());
    }
    let items = tlv::parse(req.get(55).ok_or("30")?).map_err(|_| "30")?;
    let has = |tag: u32, len: usize| items.iter().any(|t| t.tag == tag && t.value.len() == len);
    let reads_contactless = req.get_str(60).and_then(|f| f.as_bytes().get(11).copied()) == Some(b'6');
    if has(0x9F66, 4) && has(0x9F6C, 2) && reads_contactless { Ok(()) } else { Err("30") }
}

/// Field 55 of a reply: tag 91 = ARPC ‖ ARC.
pub fn issuer_authentication(mk: &Key, arqc: &[u8; 8], code: &str) -> Vec<u8> {
    let arc: [u8; 2] = code.as_bytes().try_into().unwrap_or(*b"05");
    let mut value = emv::arpc_method1(mk, arqc, &arc).to_vec();
    value.extend_from_slice(&arc);
    let mut out = Vec::new();
    tlv::write(0x91, &value, &mut out);
    out
}

/// The AID a card's application uses (from the test data).
pub fn is_unionpay(aid: &str) -> bool {
    aid.to_ascii_uppercase().starts_with("A000000333")
}
