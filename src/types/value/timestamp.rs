//! [`CqlTimestamp`]: milliseconds since the Unix epoch (spec v5 §5.18), with the text
//! forms CQL accepts for timestamps.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::date::{Parser, check_ymd, civil_from_days, days_from_civil, format_ymd};
use super::error::ValueError;
use super::time::parse_time_fields;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// A CQL `timestamp`: signed milliseconds since 1970-01-01T00:00:00Z.
///
/// Every `i64` is valid; the derived (signed) order is chronological and is the order
/// Cassandra sorts timestamps by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CqlTimestamp(pub i64);

impl CqlTimestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The same instant as a [`SystemTime`], if the platform can represent it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let d = Duration::from_millis(self.0.unsigned_abs());
        if self.0 >= 0 { UNIX_EPOCH.checked_add(d) } else { UNIX_EPOCH.checked_sub(d) }
    }

    /// Builds a timestamp from a UTC date, time and offset east of UTC in minutes.
    fn from_parts(date: (i64, u32, u32), time_nanos: i64, offset_minutes: i64) -> Result<Self, ValueError> {
        let (y, m, d) = date;
        check_ymd(y, m, d)?;
        let ms = i128::from(days_from_civil(y, m, d)) * i128::from(MILLIS_PER_DAY) + i128::from(time_nanos / 1_000_000)
            - i128::from(offset_minutes) * 60_000;
        i64::try_from(ms).map(CqlTimestamp).map_err(|_| ValueError::out_of_range("timestamp", format_ymd(y, m, d)))
    }
}

impl From<i64> for CqlTimestamp {
    fn from(ms: i64) -> Self {
        CqlTimestamp(ms)
    }
}

impl From<CqlTimestamp> for i64 {
    fn from(t: CqlTimestamp) -> Self {
        t.0
    }
}

impl TryFrom<SystemTime> for CqlTimestamp {
    type Error = ValueError;

    /// Truncates to whole milliseconds (towards the past).
    fn try_from(t: SystemTime) -> Result<Self, Self::Error> {
        let out_of_range = || ValueError::out_of_range("timestamp", format!("{t:?}"));
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).map(CqlTimestamp).map_err(|_| out_of_range()),
            Err(e) => {
                let d = e.duration();
                // Round away from the epoch so the result is never after `t`.
                let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
                i64::try_from(ms).ok().and_then(|v| v.checked_neg()).map(CqlTimestamp).ok_or_else(out_of_range)
            }
        }
    }
}

impl fmt::Display for CqlTimestamp {
    /// ISO 8601 in UTC with milliseconds: `2011-02-03T04:05:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let ms = self.0.rem_euclid(MILLIS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = ms / 1000;
        write!(f, "{}T{:02}:{:02}:{:02}.{:03}Z", format_ymd(y, m, d), secs / 3600, secs / 60 % 60, secs % 60, ms % 1000)
    }
}

impl FromStr for CqlTimestamp {
    type Err = ValueError;

    /// The forms CQL accepts:
    ///
    /// - a plain integer: milliseconds since the epoch (`1299038700000`, `-1`);
    /// - `yyyy-mm-dd`;
    /// - `yyyy-mm-dd hh:mm[:ss[.fff]]`, with `T` instead of the space allowed;
    ///
    /// each date form optionally followed by a zone: `Z`, `+hh`, `+hhmm` or `+hh:mm`
    /// (or `-`), with an optional space before it. Without a zone the time is UTC (not
    /// the server's zone, which Cassandra would use). A fraction may have 1 to 9 digits,
    /// but those past the milliseconds must be zero.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            ValueError::invalid(
                "timestamp",
                format!("'{s}' is not a timestamp (expected milliseconds or yyyy-mm-dd[( |T)hh:mm[:ss[.fff]]][zone])"),
            )
        };
        let digits = s.strip_prefix('-').unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            return s.parse::<i64>().map(CqlTimestamp).map_err(|_| ValueError::out_of_range("timestamp", s));
        }
        let mut p = Parser::new(s);
        let date = p.ymd().ok_or_else(bad)?;
        let mut nanos = 0;
        let at = p.pos;
        if p.eat(b' ') || p.eat(b'T') {
            match parse_time_fields(&mut p, false) {
                Some(t) => {
                    nanos = t?.nanoseconds();
                    // Milliseconds at most: a timestamp has no room for finer digits.
                    if nanos % 1_000_000 != 0 {
                        return Err(ValueError::invalid(
                            "timestamp",
                            format!("'{s}' has more than millisecond precision"),
                        ));
                    }
                }
                // "2011-02-03 +0000": the space was the zone's.
                None => p.pos = at,
            }
        }
        let offset = parse_zone(&mut p).ok_or_else(bad)?;
        if !p.done() {
            return Err(bad());
        }
        CqlTimestamp::from_parts(date, nanos, offset)
    }
}

/// An optional zone: nothing, `Z`, `[+-]hh`, `[+-]hhmm`, `[+-]hh:mm`, after an optional
/// space. Returns the offset east of UTC in minutes.
fn parse_zone(p: &mut Parser<'_>) -> Option<i64> {
    if p.done() {
        return Some(0);
    }
    p.eat(b' ');
    if p.eat(b'Z') || p.eat(b'z') {
        return Some(0);
    }
    let sign = if p.eat(b'+') {
        1
    } else if p.eat(b'-') {
        -1
    } else {
        return None;
    };
    let (h, _) = p.digits(2, 2)?;
    let colon = p.eat(b':');
    let m = match p.digits(2, 2) {
        Some((m, _)) => m,
        None if !colon => 0,
        None => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h as i64 * 60 + m as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> i64 {
        s.parse::<CqlTimestamp>().unwrap_or_else(|e| panic!("{s}: {e}")).0
    }

    #[test]
    fn cql_forms() {
        // 2011-02-03T04:05:00Z
        let base = 1_296_705_900_000;
        for s in [
            "2011-02-03 04:05",
            "2011-02-03 04:05:00",
            "2011-02-03 04:05:00.000",
            "2011-02-03T04:05",
            "2011-02-03T04:05:00Z",
            "2011-02-03 04:05+0000",
            "2011-02-03 04:05:00+00:00",
            "2011-02-03T04:05:00.000+0000",
            "2011-02-03 04:05:00 +0000",
            "2011-02-03T05:05:00+01",
            "2011-02-03T06:35:00+02:30",
            "2011-02-02T23:05:00-0500",
        ] {
            assert_eq!(ts(s), base, "{s}");
        }
        assert_eq!(ts("2011-02-03"), 1_296_691_200_000);
        assert_eq!(ts("2011-02-03Z"), 1_296_691_200_000);
        assert_eq!(ts("2011-02-03+0100"), 1_296_691_200_000 - 3_600_000);
        assert_eq!(ts("2011-02-03 04:05:06.7"), base + 6_700);
        assert_eq!(ts("2011-02-03 04:05:06.78"), base + 6_780);
        assert_eq!(ts("1299038700000"), 1_299_038_700_000);
        assert_eq!(ts("-1"), -1);
        assert_eq!(ts("1969-12-31T23:59:59.999Z"), -1);
        for (bad, msg) in [
            (
                "2011-02-03 04:05:06.7891",
                "invalid timestamp: '2011-02-03 04:05:06.7891' has more than millisecond precision",
            ),
            ("2011-02-30", "invalid date: 2011-02 has no day 30"),
            ("2011-02-03 25:00", "invalid time: 25:00:00.000000000 is not a time of day"),
            ("99999999999999999999", "99999999999999999999 is out of range for timestamp"),
        ] {
            assert_eq!(bad.parse::<CqlTimestamp>().unwrap_err().to_string(), msg, "{bad}");
        }
        const FORMS: &str = "(expected milliseconds or yyyy-mm-dd[( |T)hh:mm[:ss[.fff]]][zone])";
        for bad in ["2011-02-03 04:05 +9900", "now", "", "2011-02-03 04", "2011-02-03T", "2011-02-03 04:05 UTC"] {
            let msg = bad.parse::<CqlTimestamp>().unwrap_err().to_string();
            assert_eq!(msg, format!("invalid timestamp: '{bad}' is not a timestamp {FORMS}"));
        }
    }

    #[test]
    fn display() {
        assert_eq!(CqlTimestamp(1_296_705_906_789).to_string(), "2011-02-03T04:05:06.789Z");
        assert_eq!(CqlTimestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(CqlTimestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(CqlTimestamp(i64::MIN).to_string().parse::<CqlTimestamp>().unwrap(), CqlTimestamp(i64::MIN));
        assert_eq!(CqlTimestamp(i64::MAX).to_string().parse::<CqlTimestamp>().unwrap(), CqlTimestamp(i64::MAX));
    }

    #[test]
    fn system_time() {
        let t = CqlTimestamp(1_296_705_906_789);
        let st = t.to_system_time().unwrap();
        assert_eq!(CqlTimestamp::try_from(st).unwrap(), t);
        let before = UNIX_EPOCH - Duration::from_micros(1500);
        assert_eq!(CqlTimestamp::try_from(before).unwrap(), CqlTimestamp(-2));
        assert_eq!(CqlTimestamp(-2).to_system_time().unwrap(), UNIX_EPOCH - Duration::from_millis(2));
    }

    proptest! {
        #[test]
        fn display_parses_back(ms in any::<i64>()) {
            let t = CqlTimestamp(ms);
            prop_assert_eq!(t.to_string().parse::<CqlTimestamp>().unwrap(), t);
        }
    }
}
