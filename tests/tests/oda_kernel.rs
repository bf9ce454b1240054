//! Offline data authentication in the kernel (acquirer-protocol.md §9): the
//! virtual ODA cards through the simulated reader, the terminal holding the
//! test CA keys of `test-cards.toml` (`80`, and `81` which has expired).
//! Each card gets the method its AIP asks for and the verdict §9 gives it;
//! the TVR carries the bit of a failed method, and a failed CDA is never a
//! TC. Negative controls: a wrong CA key fails every card, no CA keys is
//! "not performed".

use posd::config::Emv;
use posd::engine::emv::oda::{Authenticator, Method, NoOda, OfflineDataAuth};
use posd::engine::emv::tvr::Decision;
use posd::engine::emv::{EmvTxn, Params, TxnType};
use smartpos_hal::sim::{CardSlot, SimReader};
use smartpos_tests::acquirer::terminal_ca_keys;
use smartpos_vcard::card::VirtualCard;
use smartpos_vcard::testdata::TestData;

/// Reads `label` and runs ODA; for CDA also the first GENERATE AC (asking
/// for a TC within the card's offline limit).
fn run(label: &str, oda: &dyn OfflineDataAuth) -> (Method, bool, [u8; 5], Option<Decision>) {
    let data = TestData::embedded();
    let slot = CardSlot::new();
    slot.insert(VirtualCard::new(data.card(label).expect("card"), &data.issuer.imk_ac).expect("card"));
    let mut reader = SimReader::new(slot);
    let params = Params::new(&Emv::default(), "156", "SP2026000123");
    let mut txn = EmvTxn::begin(&mut reader, &params, oda, 1000, TxnType::Goods, "261203").unwrap_or_else(|e| panic!("{label}: {e}"));
    let first = if txn.oda.method == Method::Cda { Some(txn.first_ac(&mut reader, Decision::Tc).expect("first AC").decision()) } else { None };
    (txn.oda.method, txn.oda.ok(), txn.tvr.0, first)
}

#[test]
fn each_oda_card_gets_the_verdict_of_section_9() {
    let data = TestData::embedded();
    let auth = Authenticator { ca_keys: terminal_ca_keys(&data) };
    let (m, ok, tvr, _) = run("sda", &auth);
    assert_eq!((m, ok, tvr[0] & 0xEC), (Method::Sda, true, 0), "sda: TVR {tvr:02X?}");
    let (m, ok, tvr, _) = run("dda", &auth);
    assert_eq!((m, ok, tvr[0] & 0xEC), (Method::Dda, true, 0), "dda: TVR {tvr:02X?}");
    let (m, ok, tvr, first) = run("cda", &auth);
    assert_eq!((m, ok, tvr[0] & 0xEC, first), (Method::Cda, true, 0, Some(Decision::Tc)), "cda: TVR {tvr:02X?}");
    let (m, ok, tvr, _) = run("tampered-sda", &auth);
    assert_eq!((m, ok, tvr[0] & 0x40), (Method::Sda, false, 0x40), "tampered-sda: TVR {tvr:02X?}");
    let (m, ok, tvr, _) = run("dda-expired-ca", &auth);
    assert_eq!((m, ok, tvr[0] & 0x08), (Method::Dda, false, 0x08), "dda-expired-ca: TVR {tvr:02X?}");
    // The cards of §7 support no method.
    let (m, _, tvr, _) = run("default", &auth);
    assert_eq!((m, tvr[0] & 0x80), (Method::None, 0x80));
}

#[test]
fn negative_controls_a_wrong_ca_key_fails_every_card_and_no_keys_is_not_performed() {
    let data = TestData::embedded();
    let mut keys = terminal_ca_keys(&data);
    for k in &mut keys {
        if let Some(b) = k.key.modulus.get_mut(100) {
            *b ^= 0x01;
        }
    }
    let wrong = Authenticator { ca_keys: keys };
    for (label, bit) in [("sda", 0x40), ("dda", 0x08), ("cda", 0x04)] {
        let (_, ok, tvr, first) = run(label, &wrong);
        assert!(!ok && tvr[0] & bit == bit, "{label} under a wrong CA key: TVR {tvr:02X?}");
        assert_ne!(first, Some(Decision::Tc), "a CDA card whose ODA failed must not be a TC");
    }
    for label in ["sda", "dda", "cda"] {
        let (m, _, tvr, _) = run(label, &NoOda);
        assert_eq!((m, tvr[0] & 0x80), (Method::None, 0x80), "{label} with no CA keys");
    }
}
