//! The EMV kernel against a card that answers anything: every response APDU
//! (selection, GPO, records, GENERATE AC, T=0 61xx/6Cxx) comes from the
//! fuzzer. The kernel must end with a result or a `KernelError`, never a
//! panic, an endless loop (every exchange consumes input) or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posd::config::Config;
use posd::engine::emv::oda::NoOda;
use posd::engine::emv::tvr::Decision;
use posd::engine::emv::{EmvTxn, Params, TxnType};
use smartpos_hal::reader::ReaderInfo;
use smartpos_hal::{Cancel, CardReader, ReaderError};
use std::time::Duration;

/// Answers each command with the next `[len][bytes]` chunk of the input;
/// when the input runs out, the card is gone.
struct ScriptedCard<'a> {
    script: &'a [u8],
}

impl CardReader for ScriptedCard<'_> {
    fn wait_card(&mut self, _: Duration, _: &Cancel) -> Result<Vec<u8>, ReaderError> {
        Ok(vec![0x3B, 0x00])
    }
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let (&len, rest) = self.script.split_first().ok_or(ReaderError::CardRemoved)?;
        let len = (len as usize).min(rest.len());
        let (answer, rest) = rest.split_at(len);
        self.script = rest;
        Ok(answer.to_vec())
    }
    fn card_present(&mut self) -> Result<bool, ReaderError> {
        Ok(!self.script.is_empty())
    }
    fn info(&self) -> ReaderInfo {
        ReaderInfo { backend: "fuzz", name: "scripted".into() }
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = Config::default();
    let params = Params::new(&cfg.emv, "156", "FUZZ0001");
    let mut card = ScriptedCard { script: data };
    let Ok(mut txn) = EmvTxn::begin(&mut card, &params, &NoOda, 1234, TxnType::Goods, "261122") else { return };
    let _ = txn.facts();
    let _ = txn.request_icc(1);
    txn.pin_entered();
    let want = txn.first_decision();
    if txn.first_ac(&mut card, want).is_err() {
        return;
    }
    let _ = txn.second_ac(&mut card, Decision::Tc, b"00", None);
    let _ = txn.run_scripts(&mut card, data, 0x72);
});
