//! [`CqlDecimal`]: an arbitrary-precision decimal, `unscaled × 10^-scale` (spec v5 §5.6).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::error::ValueError;
use super::varint::CqlVarint;

/// Beyond this many padding zeros, [`Display`](fmt::Display) switches from the plain
/// form to `<unscaled>E<exponent>`, so a hostile scale cannot make it print gigabytes.
const MAX_PLAIN_ZEROS: u64 = 10_000;

/// A CQL `decimal`: `unscaled × 10^(-scale)`.
///
/// Equality is structural: `1.0` (10, scale 1) and `1.00` (100, scale 2) are different
/// values that compare equal with [`CqlDecimal::cmp_numeric`], as in Cassandra.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CqlDecimal {
    /// The digits, as an integer.
    pub unscaled: CqlVarint,
    /// How many of the digits are after the decimal point (negative: zeros to append).
    pub scale: i32,
}

impl CqlDecimal {
    /// `unscaled × 10^(-scale)`.
    pub fn new(unscaled: impl Into<CqlVarint>, scale: i32) -> Self {
        CqlDecimal { unscaled: unscaled.into(), scale }
    }

    /// Numeric comparison (`1.0 == 1.00`), the order Cassandra's `DecimalType` sorts by.
    pub fn cmp_numeric(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.unscaled.signum(), other.unscaled.signum());
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let (da, db) = (self.unscaled.abs_decimal_digits(), other.unscaled.abs_decimal_digits());
        // |x| = 0.d1d2d3... × 10^(digits - scale); compare exponents, then digits.
        let ea = da.len() as i64 - i64::from(self.scale);
        let eb = db.len() as i64 - i64::from(other.scale);
        let magnitude = ea.cmp(&eb).then_with(|| {
            let (a, b) = (da.as_bytes(), db.as_bytes());
            (0..a.len().max(b.len()))
                .map(|i| a.get(i).copied().unwrap_or(b'0').cmp(&b.get(i).copied().unwrap_or(b'0')))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        if sa < 0 { magnitude.reverse() } else { magnitude }
    }

    /// The nearest `f64` (through the decimal text, so it is correctly rounded).
    pub fn to_f64(&self) -> f64 {
        // The text is always a valid float literal; the fallback is unreachable.
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

impl From<CqlVarint> for CqlDecimal {
    fn from(v: CqlVarint) -> Self {
        CqlDecimal { unscaled: v, scale: 0 }
    }
}

impl From<i64> for CqlDecimal {
    fn from(v: i64) -> Self {
        CqlDecimal::new(v, 0)
    }
}

impl fmt::Display for CqlDecimal {
    /// The plain form (`123.45`, `-0.001`, `1200` for 12 with scale -2), with no
    /// exponent. When that would take more than 10 000 padding zeros the value is
    /// written as `<unscaled>E<-scale>` instead; [`FromStr`] reads both.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.unscaled.abs_decimal_digits();
        let sign = if self.unscaled.is_negative() { "-" } else { "" };
        let scale = i64::from(self.scale);
        let len = digits.len() as i64;
        let zeros = if scale < 0 { -scale } else { (scale - len).max(0) };
        if zeros as u64 > MAX_PLAIN_ZEROS {
            return write!(f, "{sign}{digits}E{}", -scale);
        }
        if self.unscaled.is_zero() && scale <= 0 {
            return f.write_str("0");
        }
        f.write_str(sign)?;
        if scale <= 0 {
            f.write_str(&digits)?;
            write_zeros(f, -scale)
        } else if scale < len {
            let (int, frac) = digits.split_at((len - scale) as usize);
            write!(f, "{int}.{frac}")
        } else {
            f.write_str("0.")?;
            write_zeros(f, scale - len)?;
            f.write_str(&digits)
        }
    }
}

fn write_zeros(f: &mut fmt::Formatter<'_>, mut n: i64) -> fmt::Result {
    const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    while n > 0 {
        let k = n.min(ZEROS.len() as i64);
        f.write_str(&ZEROS[..k as usize])?;
        n -= k;
    }
    Ok(())
}

impl FromStr for CqlDecimal {
    type Err = ValueError;

    /// `[+-]digits[.digits][(e|E)[+-]digits]`, as Java's `BigDecimal` reads it
    /// (`-12.5e3`, `.5`, `5.`, `1E-7`). The scale is the count of fraction digits minus
    /// the exponent and must fit an `i32`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValueError::invalid("decimal", format!("'{s}' is not a decimal number"));
        let b = s.as_bytes();
        let (negative, mut i) = match b.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = &b[int_start..i];
        let mut frac_digits: &[u8] = &[];
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = &b[start..i];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(bad());
        }
        let mut exponent: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            let exp_text = &s[i + 1..];
            let digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            exponent = exp_text.parse().map_err(|_| ValueError::out_of_range("decimal exponent", exp_text))?;
            i = b.len();
        }
        if i != b.len() {
            return Err(bad());
        }
        let scale = (frac_digits.len() as i64)
            .checked_sub(exponent)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| ValueError::out_of_range("decimal scale", s))?;
        let all: Vec<u8> = int_digits.iter().chain(frac_digits).copied().collect();
        Ok(CqlDecimal { unscaled: CqlVarint::from_decimal_digits(negative, &all), scale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(unscaled: i64, scale: i32) -> CqlDecimal {
        CqlDecimal::new(unscaled, scale)
    }

    #[test]
    fn display_plain_form() {
        for (v, s) in [
            (d(12345, 2), "123.45"),
            (d(-12345, 2), "-123.45"),
            (d(1, 3), "0.001"),
            (d(-1, 3), "-0.001"),
            (d(12, -2), "1200"),
            (d(0, 0), "0"),
            (d(0, -3), "0"),
            (d(0, 2), "0.00"),
            (d(5, 1), "0.5"),
            (d(123, 0), "123"),
        ] {
            assert_eq!(v.to_string(), s);
        }
        // A hostile scale falls back to the exponent form, which parses back.
        let huge = d(12, i32::MAX);
        assert_eq!(huge.to_string(), "12E-2147483647");
        assert_eq!(huge.to_string().parse::<CqlDecimal>().unwrap(), huge);
        let huge = d(-7, i32::MIN);
        assert_eq!(huge.to_string(), "-7E2147483648");
        assert_eq!(huge.to_string().parse::<CqlDecimal>().unwrap(), huge);
    }

    #[test]
    fn parse_forms() {
        for (s, v) in [
            ("-12.5e3", d(-125, -2)),
            ("123.45", d(12345, 2)),
            ("1E-7", d(1, 7)),
            ("1e+2", d(1, -2)),
            (".5", d(5, 1)),
            ("5.", d(5, 0)),
            ("+0.010", d(10, 3)),
            ("42", d(42, 0)),
        ] {
            assert_eq!(s.parse::<CqlDecimal>().unwrap(), v, "{s}");
        }
        for bad in ["", ".", "-", "1e", "1e+", "e5", "1.2.3", "NaN", "Infinity", "1_000", "0x10", " 1"] {
            assert!(bad.parse::<CqlDecimal>().is_err(), "{bad:?}");
        }
        let err = "1e9999999999".parse::<CqlDecimal>().unwrap_err();
        assert_eq!(err.to_string(), "1e9999999999 is out of range for decimal scale");
        let err = "1.5e-9223372036854775808".parse::<CqlDecimal>().unwrap_err();
        assert_eq!(err.to_string(), "1.5e-9223372036854775808 is out of range for decimal scale");
    }

    #[test]
    fn numeric_order() {
        use Ordering::*;
        assert_eq!(d(10, 1).cmp_numeric(&d(100, 2)), Equal);
        assert_eq!(d(1, 0).cmp_numeric(&d(99, 2)), Greater);
        assert_eq!(d(-1, 0).cmp_numeric(&d(-99, 2)), Less);
        assert_eq!(d(0, 5).cmp_numeric(&d(0, -5)), Equal);
        assert_eq!(d(-1, 100).cmp_numeric(&d(0, 0)), Less);
        assert_eq!(d(12, -1).cmp_numeric(&d(119, 0)), Greater);
        assert_eq!(d(1, i32::MAX).cmp_numeric(&d(1, i32::MIN)), Less);
    }

    proptest! {
        #[test]
        fn display_parses_back(unscaled in any::<i128>(), scale in -40i32..40) {
            let v = CqlDecimal::new(unscaled, scale);
            let text = v.to_string();
            let back: CqlDecimal = text.parse().unwrap();
            // Plain text loses nothing but a negative scale (1200 has scale 0).
            prop_assert_eq!(back.cmp_numeric(&v), Ordering::Equal);
            if scale >= 0 {
                prop_assert_eq!(back, v);
            }
        }

        #[test]
        fn order_matches_exact_arithmetic(
            a in -1_000_000i64..1_000_000,
            sa in 0i32..6,
            b in -1_000_000i64..1_000_000,
            sb in 0i32..6,
        ) {
            let (x, y) = (CqlDecimal::new(a, sa), CqlDecimal::new(b, sb));
            // Exact: a / 10^sa vs b / 10^sb  <=>  a * 10^sb vs b * 10^sa
            let lhs = i128::from(a) * 10i128.pow(sb as u32);
            let rhs = i128::from(b) * 10i128.pow(sa as u32);
            prop_assert_eq!(x.cmp_numeric(&y), lhs.cmp(&rhs));
        }
    }
}
