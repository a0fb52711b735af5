//! [`CqlDuration`]: months, days and nanoseconds of one sign (spec v5 §5.8), with the
//! three literal forms CQL reads.

use std::fmt;
use std::str::FromStr;

use super::error::ValueError;

const NANOS_PER_MICRO: i64 = 1_000;
const NANOS_PER_MILLI: i64 = 1_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;

/// A CQL `duration`: months, days and nanoseconds, kept apart because their lengths in
/// time vary (a month is 28 to 31 days, a day 23 to 25 hours around DST changes).
///
/// The three parts are all `>= 0` or all `<= 0`; [`CqlDuration::new`] enforces it.
/// There is no order: Cassandra does not allow durations in keys or sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CqlDuration {
    months: i32,
    days: i32,
    nanoseconds: i64,
}

impl CqlDuration {
    /// A duration, if the three parts have the same sign (zeros go with either).
    pub fn new(months: i32, days: i32, nanoseconds: i64) -> Result<Self, ValueError> {
        let all_ge = months >= 0 && days >= 0 && nanoseconds >= 0;
        let all_le = months <= 0 && days <= 0 && nanoseconds <= 0;
        if !(all_ge || all_le) {
            return Err(ValueError::invalid(
                "duration",
                format!("months {months}, days {days} and nanoseconds {nanoseconds} must all have the same sign"),
            ));
        }
        Ok(CqlDuration { months, days, nanoseconds })
    }

    /// Months (years count 12).
    pub fn months(self) -> i32 {
        self.months
    }

    /// Days (weeks count 7).
    pub fn days(self) -> i32 {
        self.days
    }

    /// Nanoseconds (hours and smaller units).
    pub fn nanoseconds(self) -> i64 {
        self.nanoseconds
    }

    fn is_negative(self) -> bool {
        self.months < 0 || self.days < 0 || self.nanoseconds < 0
    }
}

impl fmt::Display for CqlDuration {
    /// Cassandra's form: `[-]` then the non-zero units of `y mo d h m s ms us ns` in
    /// that order (`1y2mo3d4h5m6s7ms8us9ns`); zero is `0s`. Weeks are shown as days.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.months == 0 && self.days == 0 && self.nanoseconds == 0 {
            return f.write_str("0s");
        }
        if self.is_negative() {
            f.write_str("-")?;
        }
        let months = self.months.unsigned_abs();
        let mut nanos = self.nanoseconds.unsigned_abs();
        let part = |f: &mut fmt::Formatter<'_>, n: u64, unit: &str| if n > 0 { write!(f, "{n}{unit}") } else { Ok(()) };
        part(f, u64::from(months / 12), "y")?;
        part(f, u64::from(months % 12), "mo")?;
        part(f, u64::from(self.days.unsigned_abs()), "d")?;
        for (size, unit) in [
            (NANOS_PER_HOUR, "h"),
            (NANOS_PER_MINUTE, "m"),
            (NANOS_PER_SECOND, "s"),
            (NANOS_PER_MILLI, "ms"),
            (NANOS_PER_MICRO, "us"),
            (1, "ns"),
        ] {
            part(f, nanos / size as u64, unit)?;
            nanos %= size as u64;
        }
        Ok(())
    }
}

/// Sums parts of a duration with overflow checks, in units of increasing fineness.
struct Builder<'a> {
    text: &'a str,
    months: i64,
    days: i64,
    nanos: i64,
}

impl Builder<'_> {
    fn add(&mut self, n: u64, unit: Unit) -> Result<(), ValueError> {
        let (per, slot, limit) = match unit {
            Unit::Years => (12, &mut self.months, i64::from(i32::MAX)),
            Unit::Months => (1, &mut self.months, i64::from(i32::MAX)),
            Unit::Weeks => (7, &mut self.days, i64::from(i32::MAX)),
            Unit::Days => (1, &mut self.days, i64::from(i32::MAX)),
            Unit::Hours => (NANOS_PER_HOUR, &mut self.nanos, i64::MAX),
            Unit::Minutes => (NANOS_PER_MINUTE, &mut self.nanos, i64::MAX),
            Unit::Seconds => (NANOS_PER_SECOND, &mut self.nanos, i64::MAX),
            Unit::Millis => (NANOS_PER_MILLI, &mut self.nanos, i64::MAX),
            Unit::Micros => (NANOS_PER_MICRO, &mut self.nanos, i64::MAX),
            Unit::Nanos => (1, &mut self.nanos, i64::MAX),
        };
        let sum = i64::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(per))
            .and_then(|v| v.checked_add(*slot))
            .filter(|v| *v <= limit)
            .ok_or_else(|| ValueError::out_of_range(format!("duration {}", unit.part()), self.text))?;
        *slot = sum;
        Ok(())
    }

    fn build(self, negative: bool) -> CqlDuration {
        // Each part was checked against its positive limit, so negation cannot overflow.
        let sign = if negative { -1 } else { 1 };
        CqlDuration {
            months: (sign * self.months) as i32,
            days: (sign * self.days) as i32,
            nanoseconds: sign * self.nanos,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Years,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn from_symbol(s: &str) -> Option<Unit> {
        Some(match s.to_ascii_lowercase().as_str() {
            "y" => Unit::Years,
            "mo" => Unit::Months,
            "w" => Unit::Weeks,
            "d" => Unit::Days,
            "h" => Unit::Hours,
            "m" => Unit::Minutes,
            "s" => Unit::Seconds,
            "ms" => Unit::Millis,
            "us" | "µs" => Unit::Micros,
            "ns" => Unit::Nanos,
            _ => return None,
        })
    }

    /// The field of the duration the unit adds to.
    fn part(self) -> &'static str {
        match self {
            Unit::Years | Unit::Months => "months",
            Unit::Weeks | Unit::Days => "days",
            _ => "nanoseconds",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Years => "years",
            Unit::Months => "months",
            Unit::Weeks => "weeks",
            Unit::Days => "days",
            Unit::Hours => "hours",
            Unit::Minutes => "minutes",
            Unit::Seconds => "seconds",
            Unit::Millis => "milliseconds",
            Unit::Micros => "microseconds",
            Unit::Nanos => "nanoseconds",
        }
    }
}

impl FromStr for CqlDuration {
    type Err = ValueError;

    /// The three forms of CQL duration literals, each with an optional leading `-`:
    ///
    /// - units, largest first, each at most once: `1y2mo3w4d5h6m7s8ms9us10ns`
    ///   (case-insensitive; `µs` for `us`);
    /// - ISO 8601: `P1Y2M3DT4H5M6S` (any part may be left out, but not all), or `P2W`;
    /// - the ISO 8601 alternative format: `P0001-02-03T04:05:06`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let mut b = Builder { text: s, months: 0, days: 0, nanos: 0 };
        let bad = |why: &str| ValueError::invalid("duration", format!("'{s}': {why}"));
        if let Some(iso) = body.strip_prefix('P') {
            if let Some(weeks) = iso.strip_suffix('W') {
                let n = number(weeks).ok_or_else(|| bad("expected P<n>W"))?;
                b.add(n, Unit::Weeks)?;
            } else if iso.contains('-') {
                parse_alternative(iso, &mut b).ok_or_else(|| bad("expected PYYYY-MM-DDThh:mm:ss"))??;
            } else {
                parse_iso(iso, &mut b).ok_or_else(|| bad("expected P[nY][nM][nD][T[nH][nM][nS]]"))??;
            }
        } else {
            parse_units(body, &mut b)?;
        }
        Ok(b.build(negative))
    }
}

/// All-digit text as a number.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_units(body: &str, b: &mut Builder<'_>) -> Result<(), ValueError> {
    let text = b.text;
    let bad = |why: String| ValueError::invalid("duration", format!("'{text}': {why}"));
    if body.is_empty() {
        return Err(bad("expected a number and a unit such as 1h30m".into()));
    }
    let mut rest = body;
    let mut last: Option<Unit> = None;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if n_end == 0 {
            return Err(bad(format!("expected a number at '{rest}'")));
        }
        let u_end = rest[n_end..].find(|c: char| c.is_ascii_digit()).map_or(rest.len(), |i| n_end + i);
        let (digits, symbol) = (&rest[..n_end], &rest[n_end..u_end]);
        let unit = Unit::from_symbol(symbol).ok_or_else(|| {
            if symbol.is_empty() {
                bad(format!("{digits} has no unit (y, mo, w, d, h, m, s, ms, us, ns)"))
            } else {
                bad(format!("unknown unit '{symbol}'"))
            }
        })?;
        if let Some(prev) = last {
            if unit == prev {
                return Err(bad(format!("{} are given twice", unit.name())));
            }
            if unit < prev {
                return Err(bad(format!("{} must come before {}", unit.name(), prev.name())));
            }
        }
        let n =
            digits.parse::<u64>().map_err(|_| ValueError::out_of_range(format!("duration {}", unit.part()), text))?;
        b.add(n, unit)?;
        last = Some(unit);
        rest = &rest[u_end..];
    }
    Ok(())
}

/// `[nY][nM][nD][T[nH][nM][nS]]` (after the `P`). `None` if malformed.
fn parse_iso(iso: &str, b: &mut Builder<'_>) -> Option<Result<(), ValueError>> {
    let (date, time) = match iso.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (iso, None),
    };
    let mut parts = Vec::new();
    let mut split = |text: &str, units: &[(char, Unit)]| -> Option<()> {
        let mut rest = text;
        let mut next = 0;
        while !rest.is_empty() {
            let end = rest.find(|c: char| !c.is_ascii_digit())?;
            let designator = rest[end..].chars().next()?;
            let pos = units[next..].iter().position(|(c, _)| *c == designator)? + next;
            parts.push((number(&rest[..end])?, units[pos].1));
            next = pos + 1;
            rest = &rest[end + designator.len_utf8()..];
        }
        Some(())
    };
    split(date, &[('Y', Unit::Years), ('M', Unit::Months), ('D', Unit::Days)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        split(t, &[('H', Unit::Hours), ('M', Unit::Minutes), ('S', Unit::Seconds)])?;
    }
    if parts.is_empty() {
        return None;
    }
    Some(parts.into_iter().try_for_each(|(n, u)| b.add(n, u)))
}

/// `YYYY-MM-DDThh:mm:ss` (after the `P`). `None` if malformed.
fn parse_alternative(iso: &str, b: &mut Builder<'_>) -> Option<Result<(), ValueError>> {
    let bytes = iso.as_bytes();
    // Positions of the separators in 0001-02-03T04:05:06.
    if bytes.len() != 19 || [4, 7, 10, 13, 16].iter().zip(b"--T::").any(|(&i, &c)| bytes[i] != c) {
        return None;
    }
    let field = |from: usize, to: usize| number(&iso[from..to]);
    let parts = [
        (field(0, 4)?, Unit::Years),
        (field(5, 7)?, Unit::Months),
        (field(8, 10)?, Unit::Days),
        (field(11, 13)?, Unit::Hours),
        (field(14, 16)?, Unit::Minutes),
        (field(17, 19)?, Unit::Seconds),
    ];
    Some(parts.into_iter().try_for_each(|(n, u)| b.add(n, u)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dur(m: i32, d: i32, n: i64) -> CqlDuration {
        CqlDuration::new(m, d, n).unwrap()
    }

    #[test]
    fn unit_form() {
        let all = (12 + 2, 3 * 7 + 4, 5 * NANOS_PER_HOUR + 6 * NANOS_PER_MINUTE + 7 * NANOS_PER_SECOND + 8_009_010);
        assert_eq!("1y2mo3w4d5h6m7s8ms9us10ns".parse::<CqlDuration>().unwrap(), dur(all.0, all.1, all.2));
        assert_eq!("-1y2mo3w4d5h6m7s8ms9us10ns".parse::<CqlDuration>().unwrap(), dur(-all.0, -all.1, -all.2));
        assert_eq!("1H30M".parse::<CqlDuration>().unwrap(), dur(0, 0, 90 * NANOS_PER_MINUTE));
        assert_eq!("3µs".parse::<CqlDuration>().unwrap(), dur(0, 0, 3_000));
        assert_eq!("0s".parse::<CqlDuration>().unwrap(), dur(0, 0, 0));
        for (bad, msg) in [
            ("1h2d", "invalid duration: '1h2d': days must come before hours"),
            ("1h1h", "invalid duration: '1h1h': hours are given twice"),
            ("12", "invalid duration: '12': 12 has no unit (y, mo, w, d, h, m, s, ms, us, ns)"),
            ("1x", "invalid duration: '1x': unknown unit 'x'"),
            ("h", "invalid duration: 'h': expected a number at 'h'"),
            ("", "invalid duration: '': expected a number and a unit such as 1h30m"),
            ("-", "invalid duration: '-': expected a number and a unit such as 1h30m"),
            ("2147483648mo", "2147483648mo is out of range for duration months"),
            ("178956971y", "178956971y is out of range for duration months"),
            ("9223372036854775808ns", "9223372036854775808ns is out of range for duration nanoseconds"),
            ("2562048h", "2562048h is out of range for duration nanoseconds"),
        ] {
            assert_eq!(bad.parse::<CqlDuration>().unwrap_err().to_string(), msg, "{bad}");
        }
        assert_eq!("2147483647mo".parse::<CqlDuration>().unwrap().months(), i32::MAX);
        assert_eq!("-9223372036854775807ns".parse::<CqlDuration>().unwrap().nanoseconds(), -i64::MAX);
    }

    #[test]
    fn iso_forms() {
        let full = dur(14, 3, 4 * NANOS_PER_HOUR + 5 * NANOS_PER_MINUTE + 6 * NANOS_PER_SECOND);
        assert_eq!("P1Y2M3DT4H5M6S".parse::<CqlDuration>().unwrap(), full);
        assert_eq!("P0001-02-03T04:05:06".parse::<CqlDuration>().unwrap(), full);
        assert_eq!("-P1Y2M3DT4H5M6S".parse::<CqlDuration>().unwrap(), dur(-14, -3, -full.nanoseconds()));
        assert_eq!("P2W".parse::<CqlDuration>().unwrap(), dur(0, 14, 0));
        assert_eq!("PT1M".parse::<CqlDuration>().unwrap(), dur(0, 0, NANOS_PER_MINUTE));
        assert_eq!("P1M".parse::<CqlDuration>().unwrap(), dur(1, 0, 0));
        assert_eq!("P1D".parse::<CqlDuration>().unwrap(), dur(0, 1, 0));
        for bad in
            ["P", "PT", "P1", "P1DT", "P1H", "P1D2Y", "P1YT1D", "PXW", "P0001-02-03", "P0001-02-03T04:05", "P1Y1Y"]
        {
            assert!(bad.parse::<CqlDuration>().is_err(), "{bad}");
        }
        assert_eq!(
            "P1H".parse::<CqlDuration>().unwrap_err().to_string(),
            "invalid duration: 'P1H': expected P[nY][nM][nD][T[nH][nM][nS]]"
        );
    }

    #[test]
    fn display_and_sign() {
        assert_eq!(dur(14, 3, 4 * NANOS_PER_HOUR + 8_009_010).to_string(), "1y2mo3d4h8ms9us10ns");
        assert_eq!(dur(-1, 0, -1).to_string(), "-1mo1ns");
        assert_eq!(dur(0, 0, 0).to_string(), "0s");
        assert_eq!(
            dur(i32::MIN, i32::MIN, i64::MIN).to_string().parse::<CqlDuration>().unwrap_err().to_string(),
            "-178956970y8mo2147483648d2562047h47m16s854ms775us808ns is out of range for duration months"
        );
        let err = CqlDuration::new(1, -1, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid duration: months 1, days -1 and nanoseconds 0 must all have the same sign"
        );
    }

    fn valid() -> impl Strategy<Value = CqlDuration> {
        (any::<bool>(), 0..=i32::MAX, 0..=i32::MAX, 0..=i64::MAX)
            .prop_map(|(neg, m, d, n)| if neg { dur(-m, -d, -n) } else { dur(m, d, n) })
    }

    proptest! {
        #[test]
        fn display_parses_back(d in valid()) {
            prop_assert_eq!(d.to_string().parse::<CqlDuration>().unwrap(), d);
        }
    }
}
