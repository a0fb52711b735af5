//! [`CqlTime`]: a time of day in nanoseconds (spec v5 §5.17).

use std::fmt;
use std::str::FromStr;

use super::date::Parser;
use super::error::ValueError;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// A CQL `time`: nanoseconds since midnight, `0..=86_399_999_999_999`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CqlTime(i64);

impl CqlTime {
    /// The last nanosecond of a day.
    pub const MAX: CqlTime = CqlTime(NANOS_PER_DAY - 1);

    /// A time from nanoseconds since midnight.
    pub fn new(nanoseconds: i64) -> Result<Self, ValueError> {
        if (0..NANOS_PER_DAY).contains(&nanoseconds) {
            Ok(CqlTime(nanoseconds))
        } else {
            Err(ValueError::out_of_range("time", format!("{nanoseconds} ns")))
        }
    }

    /// A time from hours (0-23), minutes, seconds (0-59) and nanoseconds (below 10^9).
    pub fn from_hms_nano(hour: u32, minute: u32, second: u32, nano: u32) -> Result<Self, ValueError> {
        if hour > 23 || minute > 59 || second > 59 || nano >= 1_000_000_000 {
            return Err(ValueError::invalid(
                "time",
                format!("{hour:02}:{minute:02}:{second:02}.{nano:09} is not a time of day"),
            ));
        }
        let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        Ok(CqlTime(secs * NANOS_PER_SECOND + i64::from(nano)))
    }

    /// Nanoseconds since midnight.
    pub fn nanoseconds(self) -> i64 {
        self.0
    }

    /// Hours, minutes, seconds and nanoseconds.
    pub fn to_hms_nano(self) -> (u32, u32, u32, u32) {
        let secs = self.0 / NANOS_PER_SECOND;
        ((secs / 3600) as u32, (secs / 60 % 60) as u32, (secs % 60) as u32, (self.0 % NANOS_PER_SECOND) as u32)
    }
}

impl TryFrom<i64> for CqlTime {
    type Error = ValueError;

    fn try_from(nanoseconds: i64) -> Result<Self, Self::Error> {
        CqlTime::new(nanoseconds)
    }
}

impl From<CqlTime> for i64 {
    fn from(t: CqlTime) -> Self {
        t.0
    }
}

impl fmt::Display for CqlTime {
    /// `HH:MM:SS.nnnnnnnnn`, always with nine fraction digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s, n) = self.to_hms_nano();
        write!(f, "{h:02}:{m:02}:{s:02}.{n:09}")
    }
}

impl FromStr for CqlTime {
    type Err = ValueError;

    /// `HH:MM:SS[.fraction]` with one to nine fraction digits (`08:12:54.123`). A bare
    /// number of nanoseconds is what CQL strings also allow, but that is left to the
    /// caller ([`CqlTime::new`]) so that `FromStr` reads one form only.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Parser::new(s);
        let t = parse_hms(&mut p).ok_or_else(|| bad_time(s))?;
        if !p.done() {
            return Err(bad_time(s));
        }
        t
    }
}

fn bad_time(s: &str) -> ValueError {
    ValueError::invalid("time", format!("'{s}' is not a time of day (expected HH:MM:SS[.fffffffff])"))
}

/// `H{1,2}:M{1,2}[:S{1,2}[.f{1,9}]]` with seconds required when `need_seconds`.
pub(crate) fn parse_time_fields(p: &mut Parser<'_>, need_seconds: bool) -> Option<Result<CqlTime, ValueError>> {
    let (h, _) = p.digits(1, 2)?;
    if !p.eat(b':') {
        return None;
    }
    let (m, _) = p.digits(1, 2)?;
    let mut sec = 0;
    let mut nano = 0;
    if p.eat(b':') {
        sec = p.digits(1, 2)?.0;
        if p.eat(b'.') {
            let (frac, n) = p.digits(1, 9)?;
            nano = frac * 10u64.pow(9 - n as u32);
        }
    } else if need_seconds {
        return None;
    }
    Some(CqlTime::from_hms_nano(h as u32, m as u32, sec as u32, nano as u32))
}

fn parse_hms(p: &mut Parser<'_>) -> Option<Result<CqlTime, ValueError>> {
    parse_time_fields(p, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_and_display() {
        let t: CqlTime = "08:12:54.123".parse().unwrap();
        assert_eq!(t.nanoseconds(), (8 * 3600 + 12 * 60 + 54) * NANOS_PER_SECOND + 123_000_000);
        assert_eq!(t.to_string(), "08:12:54.123000000");
        assert_eq!("23:59:59.999999999".parse::<CqlTime>().unwrap(), CqlTime::MAX);
        assert_eq!("0:0:0".parse::<CqlTime>().unwrap(), CqlTime::default());
        assert_eq!(CqlTime::MAX.to_string(), "23:59:59.999999999");
        for (bad, msg) in [
            ("24:00:00", "invalid time: 24:00:00.000000000 is not a time of day"),
            ("12:60:00", "invalid time: 12:60:00.000000000 is not a time of day"),
            ("12:00", "invalid time: '12:00' is not a time of day (expected HH:MM:SS[.fffffffff])"),
            (
                "12:00:00.1234567890",
                "invalid time: '12:00:00.1234567890' is not a time of day (expected HH:MM:SS[.fffffffff])",
            ),
            ("12:00:00.", "invalid time: '12:00:00.' is not a time of day (expected HH:MM:SS[.fffffffff])"),
        ] {
            assert_eq!(bad.parse::<CqlTime>().unwrap_err().to_string(), msg, "{bad}");
        }
        assert_eq!(CqlTime::new(-1).unwrap_err().to_string(), "-1 ns is out of range for time");
        assert_eq!(CqlTime::new(NANOS_PER_DAY).unwrap_err().to_string(), "86400000000000 ns is out of range for time");
    }

    proptest! {
        #[test]
        fn display_parses_back(n in 0..NANOS_PER_DAY) {
            let t = CqlTime::new(n).unwrap();
            prop_assert_eq!(t.to_string().parse::<CqlTime>().unwrap(), t);
        }
    }
}
