//! The contactless interface of a dual-interface virtual card
//! (acquirer-protocol.md §10, UnionPay QuickPass / qPBOC): PPSE, an AID
//! whose FCI carries the PDOL, GET PROCESSING OPTIONS that decides on the
//! terminal's TTQ and answers format 2 with the cryptogram, and the records
//! of the AFL — after the last one the card has left the field.
//!
//! Choices where §10 is silent (docs/protocol.md, "Contactless"):
//! - the cryptogram is §7's, over the PDOL data without the TTQ (which is
//!   exactly CDOL1's data) ‖ AIP ‖ ATC, so the host checks a tap as a chip
//!   sale;
//! - `9F69` (card authentication related data) is `01` ‖ the card's
//!   4-byte unpredictable number ‖ CTQ, and the signed dynamic data's ICC
//!   dynamic number is that unpredictable number;
//! - CTQ byte 1 asks for online PIN (`0x80`) when the TTQ asks for a CVM,
//!   the terminal supports online PIN and the card goes online; for
//!   signature (`0x40`) when a CVM is asked otherwise.

use crate::apdu::{Command, sw};
use crate::card::{Phase, VirtualCard, bcd_amount, cid};
use crate::oda;
use smartpos_proto::tlv;

/// `2PAY.SYS.DDF01`.
pub const PPSE_NAME: &[u8] = b"2PAY.SYS.DDF01";
/// The PDOL of §10 (33 bytes of data: the TTQ, then CDOL1's data).
pub const PDOL: &str = "9F66049F02069F03069F1A0295055F2A029A039C019F3704";
/// Length of the PDOL data.
pub const PDOL_DATA_LEN: usize = 33;

/// TTQ byte 1 and 2 bits the card reads (§10).
pub mod ttq {
    pub const OFFLINE_ONLY: u8 = 0x08;
    pub const ONLINE_PIN: u8 = 0x04;
    pub const ONLINE_REQUIRED: u8 = 0x80;
    pub const CVM_REQUIRED: u8 = 0x40;
}

/// CTQ byte 1 bits the card answers.
pub mod ctq {
    pub const ONLINE_PIN: u8 = 0x80;
    pub const SIGNATURE: u8 = 0x40;
}

impl VirtualCard {
    /// Whether this card answers on the contactless interface (`contactless = true`).
    pub fn is_contactless_capable(&self) -> bool {
        self.profile().contactless && self.oda_method().is_some_and(|m| m != "sda")
    }

    /// SELECT on the contactless interface: the PPSE, or the AID with its PDOL.
    pub(crate) fn tap_select(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        if cmd.p1 != 0x04 {
            return Err(sw::INCORRECT_P1P2);
        }
        self.phase = Phase::Idle;
        let aid = self.aid();
        let mut fci = Vec::new();
        if cmd.data == PPSE_NAME {
            let mut entry = Vec::new();
            tlv::write(0x4F, &aid, &mut entry);
            tlv::write(0x50, self.profile().app_label.as_bytes(), &mut entry);
            tlv::write(0x87, &[0x01], &mut entry);
            let mut dir = Vec::new();
            tlv::write(0x61, &entry, &mut dir);
            let mut prop = Vec::new();
            tlv::write(0xBF0C, &dir, &mut prop);
            tlv::write(0x84, PPSE_NAME, &mut fci);
            tlv::write(0xA5, &prop, &mut fci);
        } else if !cmd.data.is_empty() && aid.starts_with(cmd.data) {
            fci = self.application_fci(Some(&hex::decode(PDOL).unwrap_or_default()));
            self.phase = Phase::Selected;
        } else {
            return Err(sw::FILE_NOT_FOUND);
        }
        let mut out = Vec::new();
        tlv::write(0x6F, &fci, &mut out);
        Ok(out)
    }

    /// GET PROCESSING OPTIONS with the PDOL data: the card's decision and
    /// cryptogram, format 2; with a TC the fDDA signature (`9F4B`, `9F69`).
    pub(crate) fn tap_gpo(&mut self, cmd: &Command<'_>) -> Result<Vec<u8>, [u8; 2]> {
        if self.phase != Phase::Selected {
            return Err(sw::CONDITIONS_NOT_SATISFIED);
        }
        let data = match cmd.data {
            [0x83, len, rest @ ..] if usize::from(*len) == PDOL_DATA_LEN && rest.len() == PDOL_DATA_LEN => rest,
            _ => return Err(sw::WRONG_LENGTH),
        };
        let [ttq1, ttq2, _, _, cdol1_data @ ..] = data else { return Err(sw::WRONG_LENGTH) };
        let amount = bcd_amount(cdol1_data.get(..6).unwrap_or_default());
        let online_required = ttq2 & ttq::ONLINE_REQUIRED != 0;
        let cvm_required = ttq2 & ttq::CVM_REQUIRED != 0;
        let offline_only = ttq1 & ttq::OFFLINE_ONLY != 0;
        let decision = if self.profile().blocked {
            cid::AAC
        } else if !online_required && amount <= self.profile().offline_limit {
            cid::TC
        } else if offline_only {
            cid::AAC
        } else {
            cid::ARQC
        };
        let ctq = [
            match (cvm_required, decision == cid::ARQC && ttq1 & ttq::ONLINE_PIN != 0) {
                (false, _) => 0,
                (true, true) => ctq::ONLINE_PIN,
                (true, false) => ctq::SIGNATURE,
            },
            0x00,
        ];
        self.bump_atc();
        let ac = self.cryptogram(cdol1_data)?;
        self.phase = Phase::Done;
        let mut body = Vec::new();
        tlv::write(0x82, &self.aip(), &mut body);
        tlv::write(0x94, &[0x08, 0x01, 0x02, 0x01], &mut body);
        tlv::write(0x9F36, &self.atc().to_be_bytes(), &mut body);
        tlv::write(0x9F26, &ac, &mut body);
        tlv::write(0x9F27, &[decision], &mut body);
        tlv::write(0x9F10, &crate::card::IAD, &mut body);
        tlv::write(0x57, &hex::decode(self.profile().track2_hex()).unwrap_or_default(), &mut body);
        tlv::write(0x5F34, &hex::decode(&self.profile().psn).unwrap_or_default(), &mut body);
        tlv::write(0x9F6C, &ctq, &mut body);
        if decision == cid::TC
            && let Some(m) = self.oda_material()
        {
            let un = cdol1_data.get(25..29).unwrap_or_default();
            let card_un: [u8; 4] = oda::dynamic_number(self.atc(), un)[..4].try_into().unwrap_or_default();
            let auth_data = [&[0x01][..], &card_un, &ctq].concat();
            // fDDA (§10): DDA's signed dynamic data, hashed with 9F37 ‖ 9F02 ‖ 5F2A ‖ 9F69.
            let terminal_data = [un, cdol1_data.get(..6).unwrap_or_default(), cdol1_data.get(19..21).unwrap_or_default(), &auth_data].concat();
            let dynamic = [&[4u8][..], &card_un].concat();
            tlv::write(0x9F4B, &m.sdad(&dynamic, &terminal_data), &mut body);
            tlv::write(0x9F69, &auth_data, &mut body);
        }
        let mut out = Vec::new();
        tlv::write(0x77, &body, &mut out);
        Ok(out)
    }
}
