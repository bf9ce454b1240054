//! Cardholder verification (EMV Book 3 §10.5): walk the card's CVM list
//! (tag 8E) and pick the first rule whose condition holds and whose method
//! this terminal supports. Supported: online PIN, signature, no CVM.

/// What the kernel does for the cardholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cvm {
    OnlinePin,
    Signature,
    NoCvm,
    /// No rule could be satisfied (TVR "cardholder verification not successful").
    Failed,
}

/// The chosen method with its CVM results (tag 9F34).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CvmChoice {
    pub cvm: Cvm,
    pub results: [u8; 3],
    /// A method code the terminal did not recognise was met on the way.
    pub unrecognised: bool,
}

/// Chooses from `list` (tag 8E: amount X(4) amount Y(4) rules(2 each)).
pub fn choose(list: Option<&[u8]>, amount: u64) -> CvmChoice {
    let failed = CvmChoice { cvm: Cvm::Failed, results: [0x3F, 0x00, 0x01], unrecognised: false };
    let Some(list) = list.filter(|l| l.len() >= 10 && l.len() % 2 == 0) else {
        // No list: EMV says no CVM is performed; online PIN terminals still succeed.
        return CvmChoice { cvm: Cvm::NoCvm, results: [0x3F, 0x00, 0x02], unrecognised: false };
    };
    let word = |i: usize| list.get(i..i + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, u32::from_be_bytes) as u64;
    let (x, y) = (word(0), word(4));
    let mut unrecognised = false;
    for rule in list.get(8..).unwrap_or_default().chunks(2) {
        let [method, condition] = *rule else { break };
        let applies = match condition {
            0x00 | 0x03 => true,
            0x06 => amount < x,
            0x07 => amount > x,
            0x08 => amount < y,
            0x09 => amount > y,
            _ => false,
        };
        if !applies {
            continue;
        }
        let code = method & 0x3F;
        let cvm = match code {
            0x02 => Cvm::OnlinePin,
            0x1E => Cvm::Signature,
            0x1F => Cvm::NoCvm,
            0x00 => {
                return CvmChoice { cvm: Cvm::Failed, results: [method, condition, 0x01], unrecognised };
            }
            _ => {
                unrecognised = true;
                if method & 0x40 != 0 {
                    continue;
                }
                return CvmChoice { cvm: Cvm::Failed, results: [method, condition, 0x01], unrecognised };
            }
        };
        // Online PIN's result is "unknown" until the issuer checks it; signature too.
        let result = if cvm == Cvm::NoCvm { 0x02 } else { 0x00 };
        return CvmChoice { cvm, results: [method, condition, result], unrecognised };
    }
    CvmChoice { unrecognised, ..failed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &[u8]) -> Vec<u8> {
        let mut l = vec![0, 0, 0, 0, 0, 0, 0, 0];
        l.extend_from_slice(rules);
        l
    }

    #[test]
    fn online_pin_always() {
        let c = choose(Some(&list(&[0x42, 0x03, 0x1F, 0x00])), 100);
        assert_eq!((c.cvm, c.results), (Cvm::OnlinePin, [0x42, 0x03, 0x00]));
    }

    #[test]
    fn unsupported_method_falls_through_only_when_allowed() {
        // Offline plaintext PIN (01) with "apply succeeding" → next rule.
        let c = choose(Some(&list(&[0x41, 0x00, 0x1E, 0x00])), 100);
        assert_eq!(c.cvm, Cvm::Signature);
        assert!(c.unrecognised);
        let c = choose(Some(&list(&[0x01, 0x00, 0x1E, 0x00])), 100);
        assert_eq!(c.cvm, Cvm::Failed);
    }

    #[test]
    fn amount_conditions() {
        let mut l = vec![0, 0, 0x03, 0xE8, 0, 0, 0, 0]; // X = 1000
        l.extend_from_slice(&[0x02, 0x07, 0x1F, 0x00]);
        assert_eq!(choose(Some(&l), 5000).cvm, Cvm::OnlinePin);
        assert_eq!(choose(Some(&l), 500).cvm, Cvm::NoCvm);
        assert_eq!(choose(Some(&[1, 2, 3]), 500).cvm, Cvm::NoCvm, "a malformed list counts as none");
    }
}
