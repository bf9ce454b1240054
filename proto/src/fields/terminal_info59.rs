//! Field 59: `A2` + 3-digit length + sub-elements `TT LLL value` (§2):
//! 01 device type, 02 hardware serial, 05 application version, 06 location.

use super::FieldError;

/// The terminal's location as field 59.06 carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// 3GPP cell: MCC, MNC, LAC and cell id (written in upper-case hex).
    Cell {
        mcc: u16,
        mnc: u16,
        lac: u32,
        cid: u32,
    },
    Gps {
        lat: String,
        lon: String,
    },
    None,
}

impl Location {
    pub fn encode(&self) -> String {
        match self {
            Location::Cell { mcc, mnc, lac, cid } => format!("cell:{mcc:03},{mnc:02},{lac:X},{cid:X}"),
            Location::Gps { lat, lon } => format!("gps:{lat},{lon}"),
            Location::None => "none".into(),
        }
    }
}

/// The sub-elements of field 59.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalInfo {
    pub device_type: String,
    pub serial: String,
    pub app_version: String,
    pub location: String,
}

impl TerminalInfo {
    pub fn new(serial: &str, app_version: &str, location: &Location) -> Self {
        Self { device_type: "04".into(), serial: serial.into(), app_version: app_version.into(), location: location.encode() }
    }

    pub fn encode(&self) -> String {
        let mut body = String::new();
        for (tag, value) in [("01", &self.device_type), ("02", &self.serial), ("05", &self.app_version), ("06", &self.location)] {
            body.push_str(&format!("{tag}{:03}{value}", value.len()));
        }
        format!("A2{:03}{body}", body.len())
    }

    pub fn parse(value: &str) -> Result<Self, FieldError> {
        let err = |r: &str| FieldError::new(59, r);
        let rest = value.strip_prefix("A2").ok_or_else(|| err("does not start with A2"))?;
        let total: usize = rest.get(..3).and_then(|s| s.parse().ok()).ok_or_else(|| err("bad total length"))?;
        let mut body = rest.get(3..).ok_or_else(|| err("truncated"))?;
        if body.len() != total {
            return Err(err("total length does not match"));
        }
        let mut info = TerminalInfo { device_type: String::new(), serial: String::new(), app_version: String::new(), location: String::new() };
        while !body.is_empty() {
            let tag = body.get(..2).ok_or_else(|| err("truncated tag"))?;
            let len: usize = body.get(2..5).and_then(|s| s.parse().ok()).ok_or_else(|| err("bad element length"))?;
            let v = body.get(5..5 + len).ok_or_else(|| err("element overruns"))?;
            match tag {
                "01" => info.device_type = v.into(),
                "02" => info.serial = v.into(),
                "05" => info.app_version = v.into(),
                "06" => info.location = v.into(),
                _ => {}
            }
            body = body.get(5 + len..).unwrap_or_default();
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip() {
        let loc = Location::Cell { mcc: 460, mnc: 0, lac: 0x1A2B, cid: 0xC3D4E };
        let t = TerminalInfo::new("SP2026000123", "0.1.0", &loc);
        let s = t.encode();
        assert!(s.starts_with("A2"));
        assert!(s.contains("06022cell:460,00,1A2B,C3D4E"));
        assert_eq!(TerminalInfo::parse(&s).unwrap(), t);
        assert!(TerminalInfo::parse("A2005010").is_err());
    }
}
