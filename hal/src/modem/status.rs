//! What the terminal knows about its modem, in ModemManager's words
//! (state, registration and access technology names of
//! ModemManager-Flags-and-Enumerations).

use smartpos_proto::fields::terminal_info59::Location;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModemStatus {
    pub backend: &'static str,
    pub present: bool,
    /// `MMModemState` as a word: `registered`, `connected`, `searching`…
    pub state: String,
    /// `MMModem3gppRegistrationState`: `home`, `roaming`, `searching`, `denied`, `idle`…
    pub registration: String,
    pub operator: String,
    pub operator_code: String,
    pub technology: String,
    /// 0–100.
    pub signal: u32,
    pub sim_present: bool,
    pub bearer_connected: bool,
    pub location: Option<CellLocation>,
}

impl ModemStatus {
    /// The status of a terminal configured without a modem.
    pub fn none() -> Self {
        Self::absent("none")
    }

    pub fn absent(backend: &'static str) -> Self {
        Self {
            backend,
            present: false,
            state: "absent".into(),
            registration: "unknown".into(),
            operator: String::new(),
            operator_code: String::new(),
            technology: "unknown".into(),
            signal: 0,
            sim_present: false,
            bearer_connected: false,
            location: None,
        }
    }

    pub fn registered(&self) -> bool {
        matches!(self.registration.as_str(), "home" | "roaming" | "home-sms-only" | "roaming-sms-only" | "home-csfb-not-preferred" | "roaming-csfb-not-preferred")
    }
}

/// A 3GPP serving cell (ModemManager's `3GPP_LAC_CI` location source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellLocation {
    pub mcc: u16,
    pub mnc: u16,
    pub lac: u32,
    pub ci: u32,
}

impl CellLocation {
    /// Parses ModemManager's `"MCC,MNC,LAC,CI[,TAC]"` (LAC, CI and TAC in hex).
    pub fn parse_modemmanager(s: &str) -> Option<Self> {
        let mut parts = s.split(',');
        let mcc = parts.next()?.trim().parse().ok()?;
        let mnc = parts.next()?.trim().parse().ok()?;
        let lac = u32::from_str_radix(parts.next()?.trim(), 16).ok()?;
        let ci = u32::from_str_radix(parts.next()?.trim(), 16).ok()?;
        Some(Self { mcc, mnc, lac, ci })
    }

    pub fn to_field59(self) -> Location {
        Location::Cell { mcc: self.mcc, mnc: self.mnc, lac: self.lac, cid: self.ci }
    }

    /// The form the `Hardware.Modem` property shows.
    pub fn display(self) -> String {
        format!("{:03},{:02},{:X},{:X}", self.mcc, self.mnc, self.lac, self.ci)
    }
}

/// `MMModemState` → word.
pub fn state_name(state: i32) -> &'static str {
    match state {
        -1 => "failed",
        1 => "initializing",
        2 => "locked",
        3 => "disabled",
        4 => "disabling",
        5 => "enabling",
        6 => "enabled",
        7 => "searching",
        8 => "registered",
        9 => "disconnecting",
        10 => "connecting",
        11 => "connected",
        _ => "unknown",
    }
}

/// `MMModem3gppRegistrationState` → word.
pub fn registration_name(state: u32) -> &'static str {
    match state {
        0 => "idle",
        1 => "home",
        2 => "searching",
        3 => "denied",
        5 => "roaming",
        6 => "home-sms-only",
        7 => "roaming-sms-only",
        8 => "emergency-only",
        9 => "home-csfb-not-preferred",
        10 => "roaming-csfb-not-preferred",
        11 => "attached-rlos",
        _ => "unknown",
    }
}

/// `MMModemAccessTechnology` flags → the best technology's word.
pub fn technology_name(flags: u32) -> &'static str {
    const BEST_FIRST: [(u32, &str); 10] = [
        (1 << 15, "5gnr"),
        (1 << 14, "lte"),
        (1 << 16, "lte-cat-m"),
        (1 << 17, "lte-nb-iot"),
        (1 << 9, "hspa+"),
        (1 << 8, "hspa"),
        (1 << 5, "umts"),
        (1 << 4, "edge"),
        (1 << 3, "gprs"),
        (1 << 1, "gsm"),
    ];
    BEST_FIRST.iter().find(|(bit, _)| flags & bit != 0).map_or("unknown", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modemmanager_cell_strings() {
        let cell = CellLocation::parse_modemmanager("460,00,2A3B,00C1D2E3,0").expect("cell");
        assert_eq!(cell, CellLocation { mcc: 460, mnc: 0, lac: 0x2A3B, ci: 0xC1D2E3 });
        assert_eq!(cell.display(), "460,00,2A3B,C1D2E3");
        assert_eq!(CellLocation::parse_modemmanager("460,00,XYZ,1"), None);
        assert_eq!(CellLocation::parse_modemmanager(""), None);
    }

    #[test]
    fn names_follow_modemmanager() {
        assert_eq!(state_name(8), "registered");
        assert_eq!(registration_name(5), "roaming");
        assert_eq!(technology_name((1 << 14) | (1 << 5)), "lte");
        assert_eq!(technology_name(0), "unknown");
    }
}
