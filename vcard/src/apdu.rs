//! Short ISO 7816-4 command APDUs and the status words the card answers.

/// A parsed command APDU (short form only, as EMV uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<'a> {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: &'a [u8],
    /// Expected response length; `Some(256)` for `Le = 00`.
    pub le: Option<usize>,
}

/// Status words used by the card.
pub mod sw {
    pub const OK: [u8; 2] = [0x90, 0x00];
    pub const WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
    pub const CONDITIONS_NOT_SATISFIED: [u8; 2] = [0x69, 0x85];
    pub const FILE_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
    pub const RECORD_NOT_FOUND: [u8; 2] = [0x6A, 0x83];
    pub const INCORRECT_P1P2: [u8; 2] = [0x6A, 0x86];
    pub const INS_NOT_SUPPORTED: [u8; 2] = [0x6D, 0x00];
    pub const CLA_NOT_SUPPORTED: [u8; 2] = [0x6E, 0x00];
}

impl<'a> Command<'a> {
    /// Parses the four ISO 7816 cases; anything else is `67 00`.
    pub fn parse(apdu: &'a [u8]) -> Result<Self, [u8; 2]> {
        let (header, body) = apdu.split_at_checked(4).ok_or(sw::WRONG_LENGTH)?;
        let [cla, ins, p1, p2] = <[u8; 4]>::try_from(header).map_err(|_| sw::WRONG_LENGTH)?;
        let le_of = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let (data, le) = match body {
            [] => (&[][..], None),
            [le] => (&[][..], Some(le_of(*le))),
            [lc, rest @ ..] if usize::from(*lc) == rest.len() && *lc != 0 => (rest, None),
            [lc, rest @ ..] if *lc != 0 && usize::from(*lc) + 1 == rest.len() => {
                let (d, le) = rest.split_at(usize::from(*lc));
                (d, le.first().map(|&b| le_of(b)))
            }
            _ => return Err(sw::WRONG_LENGTH),
        };
        Ok(Self { cla, ins, p1, p2, data, le })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn four_cases_and_bad_lengths() {
        assert_eq!(Command::parse(&[0, 0xB2, 1, 0x0C]).unwrap().le, None);
        assert_eq!(Command::parse(&[0, 0xB2, 1, 0x0C, 0]).unwrap().le, Some(256));
        let c = Command::parse(&[0x80, 0xA8, 0, 0, 2, 0x83, 0, 0]).unwrap();
        assert_eq!((c.data, c.le), (&[0x83, 0][..], Some(256)));
        assert_eq!(Command::parse(&[0x80, 0xA8, 0, 0, 2, 0x83]).unwrap_err(), sw::WRONG_LENGTH);
        assert_eq!(Command::parse(&[0x80, 0xA8]).unwrap_err(), sw::WRONG_LENGTH);
    }
}
