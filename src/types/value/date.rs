//! [`CqlDate`]: a day of the proleptic Gregorian calendar (spec v5 §5.5), and the
//! calendar arithmetic the timestamp type shares.

use std::fmt;
use std::str::FromStr;

use super::error::ValueError;

/// The wire value of 1970-01-01: days are counted from an epoch centred at 2^31.
const EPOCH: i64 = 1 << 31;

/// A CQL `date`: days since -5877641-06-23, with 1970-01-01 at 2^31.
///
/// Every `u32` is a valid date, and the derived order (unsigned) is both chronological
/// and the order Cassandra sorts dates by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CqlDate(pub u32);

impl CqlDate {
    /// 1970-01-01.
    pub const UNIX_EPOCH: CqlDate = CqlDate(1 << 31);

    /// The date `days` after (or before, if negative) 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Result<Self, ValueError> {
        days.checked_add(EPOCH)
            .and_then(|v| u32::try_from(v).ok())
            .map(CqlDate)
            .ok_or_else(|| ValueError::out_of_range("date", format!("{days} days from 1970-01-01")))
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        i64::from(self.0) - EPOCH
    }

    /// The date of a (proleptic Gregorian) year, month (1-12) and day (1-31).
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Result<Self, ValueError> {
        check_ymd(year, month, day)?;
        Self::from_days_since_epoch(days_from_civil(year, month, day))
            .map_err(|_| ValueError::out_of_range("date", format_ymd(year, month, day)))
    }

    /// Year, month (1-12) and day (1-31).
    pub fn to_ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.days_since_epoch())
    }
}

impl From<u32> for CqlDate {
    fn from(v: u32) -> Self {
        CqlDate(v)
    }
}

impl From<CqlDate> for u32 {
    fn from(d: CqlDate) -> Self {
        d.0
    }
}

impl fmt::Display for CqlDate {
    /// `YYYY-MM-DD`: at least four year digits, a `-` before negative years
    /// (`-5877641-06-23`; year 0 is 1 BC) and no `+` after 9999 (`5881580-07-11`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.to_ymd();
        f.write_str(&format_ymd(y, m, d))
    }
}

impl FromStr for CqlDate {
    type Err = ValueError;

    /// `YYYY-MM-DD`, with an optional `+` or `-` before the year (which may have any
    /// number of digits).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = Parser::new(s);
        let (y, m, d) = p.ymd().ok_or_else(|| bad_date(s))?;
        if !p.done() {
            return Err(bad_date(s));
        }
        CqlDate::from_ymd(y, m, d)
    }
}

fn bad_date(s: &str) -> ValueError {
    ValueError::invalid("date", format!("'{s}' is not a date (expected YYYY-MM-DD)"))
}

pub(crate) fn format_ymd(y: i64, m: u32, d: u32) -> String {
    if y < 0 { format!("-{:04}-{m:02}-{d:02}", y.unsigned_abs()) } else { format!("{y:04}-{m:02}-{d:02}") }
}

pub(crate) fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub(crate) fn check_ymd(y: i64, m: u32, d: u32) -> Result<(), ValueError> {
    // Far beyond any representable date, and small enough for the arithmetic below.
    if y.unsigned_abs() > 1 << 40 {
        return Err(ValueError::out_of_range("date", format!("year {y}")));
    }
    if !(1..=12).contains(&m) {
        return Err(ValueError::invalid("date", format!("month {m} is not 1-12")));
    }
    if d == 0 || d > days_in_month(y, m) {
        let month = format_ymd(y, m, 1);
        let month = &month[..month.len() - 3];
        return Err(ValueError::invalid("date", format!("{month} has no day {d}")));
    }
    Ok(())
}

/// Days from 1970-01-01 to a proleptic Gregorian date. The calendar repeats every 400
/// years (146 097 days); counting years from March puts the leap day last.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // 0..=399
    let month_from_march = i64::from((m + 9) % 12); // March = 0
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(d) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719 468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // 0..=146096
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let d = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let m = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
    let y = year_of_era + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A tiny cursor for the date and time text forms.
pub(crate) struct Parser<'a> {
    s: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Parser { s: s.as_bytes(), pos: 0 }
    }

    pub(crate) fn done(&self) -> bool {
        self.pos == self.s.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Between `min` and `max` ASCII digits, as a number (None on overflow).
    pub(crate) fn digits(&mut self, min: usize, max: usize) -> Option<(u64, usize)> {
        let start = self.pos;
        let mut v: u64 = 0;
        while self.pos - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            v = v.checked_mul(10)?.checked_add(u64::from(self.s[self.pos] - b'0'))?;
            self.pos += 1;
        }
        let n = self.pos - start;
        if n < min {
            return None;
        }
        Some((v, n))
    }

    /// `[+-]Y+-M{1,2}-D{1,2}`.
    pub(crate) fn ymd(&mut self) -> Option<(i64, u32, u32)> {
        let negative = if self.eat(b'-') {
            true
        } else {
            self.eat(b'+');
            false
        };
        let (y, _) = self.digits(1, 12)?;
        let y = if negative { -(y as i64) } else { y as i64 };
        if !self.eat(b'-') {
            return None;
        }
        let (m, _) = self.digits(1, 2)?;
        if !self.eat(b'-') {
            return None;
        }
        let (d, _) = self.digits(1, 2)?;
        Some((y, m as u32, d as u32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_examples() {
        // spec v5 §5.5
        assert_eq!(CqlDate(0).to_string(), "-5877641-06-23");
        assert_eq!(CqlDate(1 << 31).to_string(), "1970-01-01");
        // The spec's "2^32" example is the last day, u32::MAX (Java's
        // LocalDate.ofEpochDay(Integer.MAX_VALUE) is +5881580-07-11 too).
        assert_eq!(CqlDate(u32::MAX).to_string(), "5881580-07-11");
        assert_eq!("-5877641-06-23".parse::<CqlDate>().unwrap(), CqlDate(0));
        assert_eq!("5881580-07-11".parse::<CqlDate>().unwrap(), CqlDate(u32::MAX));
        assert_eq!("+5881580-07-11".parse::<CqlDate>().unwrap(), CqlDate(u32::MAX));
    }

    #[test]
    fn ymd_and_display() {
        let d = CqlDate::from_ymd(2024, 2, 29).unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(d.to_ymd(), (2024, 2, 29));
        assert_eq!(d.days_since_epoch(), 19_782);
        assert_eq!(CqlDate::from_ymd(1969, 12, 31).unwrap().days_since_epoch(), -1);
        assert_eq!(CqlDate::from_ymd(0, 1, 1).unwrap().to_string(), "0000-01-01");
        assert_eq!(CqlDate::from_ymd(-1, 12, 31).unwrap().to_string(), "-0001-12-31");
        assert_eq!(CqlDate::from_ymd(1600, 2, 29).unwrap().to_ymd(), (1600, 2, 29));
        assert_eq!("2021-3-7".parse::<CqlDate>().unwrap().to_string(), "2021-03-07");
        for (bad, msg) in [
            ("2023-02-29", "invalid date: 2023-02 has no day 29"),
            ("1900-02-29", "invalid date: 1900-02 has no day 29"),
            ("2023-13-01", "invalid date: month 13 is not 1-12"),
            ("2023-00-10", "invalid date: month 0 is not 1-12"),
            ("5881580-07-12", "5881580-07-12 is out of range for date"),
            ("-5877641-06-22", "-5877641-06-22 is out of range for date"),
            ("2023-01-01x", "invalid date: '2023-01-01x' is not a date (expected YYYY-MM-DD)"),
            ("", "invalid date: '' is not a date (expected YYYY-MM-DD)"),
            ("2023/01/01", "invalid date: '2023/01/01' is not a date (expected YYYY-MM-DD)"),
        ] {
            assert_eq!(bad.parse::<CqlDate>().unwrap_err().to_string(), msg, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_date_round_trips(v in any::<u32>()) {
            let d = CqlDate(v);
            let (y, m, day) = d.to_ymd();
            prop_assert_eq!(CqlDate::from_ymd(y, m, day).unwrap(), d);
            prop_assert_eq!(d.to_string().parse::<CqlDate>().unwrap(), d);
        }

        #[test]
        fn consecutive_days_are_consecutive(days in -3_000_000i64..3_000_000) {
            let (y, m, d) = civil_from_days(days);
            let (y2, m2, d2) = civil_from_days(days + 1);
            if d < days_in_month(y, m) {
                prop_assert_eq!((y2, m2, d2), (y, m, d + 1));
            } else if m < 12 {
                prop_assert_eq!((y2, m2, d2), (y, m + 1, 1));
            } else {
                prop_assert_eq!((y2, m2, d2), (y + 1, 1, 1));
            }
        }
    }
}
