//! Civil time for message fields (12 hhmmss, 13 MMDD, 15, `9A` YYMMDD) and
//! RFC 3339 strings, from Unix seconds, without a time-zone database: the
//! terminal works in the fixed offset its configuration names.

use std::time::{SystemTime, UNIX_EPOCH};

/// A broken-down time at a fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Offset from UTC in seconds.
    pub offset: i64,
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl CivilTime {
    /// Converts Unix seconds at `offset` seconds east of UTC (Howard
    /// Hinnant's days-to-civil algorithm).
    pub fn from_unix(secs: i64, offset: i64) -> Self {
        let local = secs + offset;
        let days = local.div_euclid(86_400);
        let tod = local.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self { year, month, day, hour: (tod / 3600) as u32, minute: (tod % 3600 / 60) as u32, second: (tod % 60) as u32, offset }
    }

    pub fn now(offset: i64) -> Self {
        Self::from_unix(unix_now(), offset)
    }

    /// Field 12.
    pub fn hhmmss(&self) -> String {
        format!("{:02}{:02}{:02}", self.hour, self.minute, self.second)
    }

    /// Fields 13 and 15.
    pub fn mmdd(&self) -> String {
        format!("{:02}{:02}", self.month, self.day)
    }

    /// Tag `9A` and RRN prefixes.
    pub fn yymmdd(&self) -> String {
        format!("{:02}{:02}{:02}", self.year.rem_euclid(100), self.month, self.day)
    }

    /// Card expiry comparisons (`5F24` / field 14 are YYMM).
    pub fn yymm(&self) -> String {
        format!("{:02}{:02}", self.year.rem_euclid(100), self.month)
    }

    pub fn rfc3339(&self) -> String {
        let sign = if self.offset < 0 { '-' } else { '+' };
        let off = self.offset.abs();
        format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}", self.year, self.month, self.day, self.hour, self.minute, self.second, off / 3600, off % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_instants() {
        let t = CivilTime::from_unix(1_795_305_600, 0); // 2026-11-22T00:00:00Z
        assert_eq!(t.rfc3339(), "2026-11-22T00:00:00+00:00");
        let t = CivilTime::from_unix(951_782_400 + 3_599, 8 * 3600); // 2000-02-29T00:59:59Z at +08:00
        assert_eq!((t.mmdd(), t.hhmmss(), t.yymmdd()), ("0229".into(), "085959".into(), "000229".into()));
        assert_eq!(CivilTime::from_unix(-1, 0).rfc3339(), "1969-12-31T23:59:59+00:00");
    }
}
