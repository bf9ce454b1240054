//! Terminal verification results (tag 95), transaction status information
//! (tag 9B) and terminal action analysis (EMV Book 3 §10.7): which bits the
//! kernel sets, and how they meet the terminal's and issuer's action codes.

/// A TVR bit: byte index (0-based) and mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bit(pub usize, pub u8);

pub const ODA_NOT_PERFORMED: Bit = Bit(0, 0x80);
pub const SDA_FAILED: Bit = Bit(0, 0x40);
pub const ICC_DATA_MISSING: Bit = Bit(0, 0x20);
pub const DDA_FAILED: Bit = Bit(0, 0x08);
pub const CDA_FAILED: Bit = Bit(0, 0x04);
pub const DIFFERENT_VERSIONS: Bit = Bit(1, 0x80);
pub const EXPIRED: Bit = Bit(1, 0x40);
pub const NOT_YET_EFFECTIVE: Bit = Bit(1, 0x20);
pub const CVM_NOT_SUCCESSFUL: Bit = Bit(2, 0x80);
pub const UNRECOGNISED_CVM: Bit = Bit(2, 0x40);
pub const ONLINE_PIN_ENTERED: Bit = Bit(2, 0x04);
pub const EXCEEDS_FLOOR_LIMIT: Bit = Bit(3, 0x80);
pub const ISSUER_AUTH_FAILED: Bit = Bit(4, 0x40);
pub const SCRIPT_FAILED_BEFORE: Bit = Bit(4, 0x20);
pub const SCRIPT_FAILED_AFTER: Bit = Bit(4, 0x10);

/// TSI bits (byte 0).
pub const TSI_CVM_PERFORMED: u8 = 0x40;
pub const TSI_CARD_RISK: u8 = 0x20;
pub const TSI_ISSUER_AUTH: u8 = 0x10;
pub const TSI_TERMINAL_RISK: u8 = 0x08;
pub const TSI_SCRIPT: u8 = 0x04;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tvr(pub [u8; 5]);

impl Tvr {
    pub fn set(&mut self, bit: Bit) {
        if let Some(b) = self.0.get_mut(bit.0) {
            *b |= bit.1;
        }
    }

    pub fn has(&self, bit: Bit) -> bool {
        self.0.get(bit.0).is_some_and(|b| b & bit.1 != 0)
    }

    /// Whether any set bit is also set in `tac` or `iac`.
    pub fn hits(&self, tac: &[u8; 5], iac: &[u8; 5]) -> bool {
        self.0.iter().zip(tac).zip(iac).any(|((t, a), i)| t & (a | i) != 0)
    }
}

/// What the terminal asks of the card (P1 of GENERATE AC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Aac,
    Tc,
    Arqc,
}

impl Decision {
    pub fn p1(self) -> u8 {
        match self {
            Decision::Aac => 0x00,
            Decision::Tc => 0x40,
            Decision::Arqc => 0x80,
        }
    }
}

/// The three issuer action codes, absent ones replaced as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionCodes {
    pub denial: [u8; 5],
    pub online: [u8; 5],
    pub default: [u8; 5],
}

/// Terminal action analysis before the first GENERATE AC for a terminal
/// that can go online.
pub fn first_decision(tvr: &Tvr, tac: &ActionCodes, iac: &ActionCodes) -> Decision {
    if tvr.hits(&tac.denial, &iac.denial) {
        Decision::Aac
    } else if tvr.hits(&tac.online, &iac.online) {
        Decision::Arqc
    } else {
        Decision::Tc
    }
}

/// Terminal action analysis when the host cannot be reached (default codes).
pub fn unable_online_decision(tvr: &Tvr, tac: &ActionCodes, iac: &ActionCodes) -> Decision {
    if tvr.hits(&tac.default, &iac.default) { Decision::Aac } else { Decision::Tc }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z: [u8; 5] = [0; 5];

    #[test]
    fn action_analysis_follows_the_codes() {
        let tac = ActionCodes { denial: [0, 0x40, 0, 0, 0], online: [0x80, 0, 0, 0x80, 0], default: [0x80, 0, 0, 0, 0] };
        let none = ActionCodes { denial: Z, online: Z, default: Z };
        let mut tvr = Tvr::default();
        assert_eq!(first_decision(&tvr, &tac, &none), Decision::Tc);
        tvr.set(EXCEEDS_FLOOR_LIMIT);
        assert_eq!(first_decision(&tvr, &tac, &none), Decision::Arqc);
        assert_eq!(unable_online_decision(&tvr, &tac, &none), Decision::Tc);
        tvr.set(ODA_NOT_PERFORMED);
        assert_eq!(unable_online_decision(&tvr, &tac, &none), Decision::Aac);
        tvr.set(EXPIRED);
        assert_eq!(first_decision(&tvr, &tac, &none), Decision::Aac);
        // An issuer code alone is enough.
        let iac = ActionCodes { denial: Z, online: Z, default: [0, 0, 0, 0x80, 0] };
        let mut t2 = Tvr::default();
        t2.set(EXCEEDS_FLOOR_LIMIT);
        assert_eq!(unable_online_decision(&t2, &none, &iac), Decision::Aac);
    }
}
