//! [`CqlVarint`]: an integer of any size, kept in its wire form (spec v5 §5.24: minimal
//! two's complement, big-endian), with decimal text conversion done by hand.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use super::error::ValueError;

/// An arbitrary-size signed integer (CQL `varint`).
///
/// Stored as canonical two's complement big-endian bytes: the fewest bytes that carry
/// the value and its sign (`0` is `[0x00]`, `128` is `[0x00, 0x80]`, `-129` is
/// `[0xff, 0x7f]`). Because the form is canonical, equality of bytes is equality of
/// numbers, and [`Ord`] is numeric.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CqlVarint(Vec<u8>);

impl CqlVarint {
    /// Zero.
    pub fn zero() -> Self {
        CqlVarint(vec![0])
    }

    /// Reads two's complement big-endian bytes (the wire form). Redundant leading sign
    /// bytes are accepted and dropped; an empty slice is not a number.
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self, ValueError> {
        if bytes.is_empty() {
            return Err(ValueError::invalid("varint", "no bytes (zero is 0x00)"));
        }
        let skip = redundant_prefix(bytes);
        Ok(CqlVarint(bytes[skip..].to_vec()))
    }

    /// The canonical wire bytes.
    pub fn as_be_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Consumes the value, returning its canonical wire bytes.
    pub fn into_be_bytes(self) -> Vec<u8> {
        self.0
    }

    /// True for numbers below zero.
    pub fn is_negative(&self) -> bool {
        self.0[0] & 0x80 != 0
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0]
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        if self.is_negative() {
            -1
        } else if self.is_zero() {
            0
        } else {
            1
        }
    }

    /// The absolute value in decimal digits, without sign or leading zeros.
    pub(crate) fn abs_decimal_digits(&self) -> String {
        let (_, mut mag) = to_magnitude(&self.0);
        if mag.is_empty() {
            return "0".to_owned();
        }
        // Peel off nine digits at a time (the largest power of ten in a u32).
        let mut chunks = Vec::new();
        while !mag.is_empty() {
            chunks.push(div_small(&mut mag, 1_000_000_000));
        }
        let mut out = String::with_capacity(chunks.len() * 9);
        let mut iter = chunks.iter().rev();
        if let Some(first) = iter.next() {
            out.push_str(&first.to_string());
        }
        for c in iter {
            out.push_str(&format!("{c:09}"));
        }
        out
    }

    /// Builds a number from ASCII decimal digits (no sign), any length.
    pub(crate) fn from_decimal_digits(negative: bool, digits: &[u8]) -> Self {
        let mut mag: Vec<u32> = Vec::new();
        for chunk in digits.chunks(9) {
            let mut value = 0u32;
            for &d in chunk {
                value = value * 10 + u32::from(d - b'0');
            }
            mul_add_small(&mut mag, 10u32.pow(chunk.len() as u32), value);
        }
        from_magnitude(negative, &mag)
    }
}

impl Default for CqlVarint {
    fn default() -> Self {
        Self::zero()
    }
}

/// Count of leading bytes that only repeat the sign of the byte after them.
fn redundant_prefix(b: &[u8]) -> usize {
    let mut i = 0;
    while i + 1 < b.len() && ((b[i] == 0 && b[i + 1] & 0x80 == 0) || (b[i] == 0xff && b[i + 1] & 0x80 != 0)) {
        i += 1;
    }
    i
}

/// Sign and magnitude (little-endian base 2^32 limbs, no high zero limbs) of two's
/// complement big-endian bytes.
fn to_magnitude(bytes: &[u8]) -> (bool, Vec<u32>) {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut be = bytes.to_vec();
    if negative {
        negate_in_place(&mut be);
    }
    let mut limbs = Vec::with_capacity(be.len() / 4 + 1);
    for chunk in be.rchunks(4) {
        let mut v = 0u32;
        for &b in chunk {
            v = (v << 8) | u32::from(b);
        }
        limbs.push(v);
    }
    trim(&mut limbs);
    (negative, limbs)
}

/// Canonical two's complement bytes of a sign and magnitude.
fn from_magnitude(negative: bool, mag: &[u32]) -> CqlVarint {
    // One spare byte so the sign bit always has room.
    let mut be = Vec::with_capacity(mag.len() * 4 + 1);
    be.push(0);
    for limb in mag.iter().rev() {
        be.extend_from_slice(&limb.to_be_bytes());
    }
    if negative {
        negate_in_place(&mut be);
    }
    let skip = redundant_prefix(&be);
    be.drain(..skip);
    CqlVarint(be)
}

/// Two's complement negation of big-endian bytes, in place (wrapping).
fn negate_in_place(be: &mut [u8]) {
    let mut carry = true;
    for b in be.iter_mut().rev() {
        let (v, c) = (!*b).overflowing_add(u8::from(carry));
        *b = v;
        carry = c;
    }
}

fn trim(limbs: &mut Vec<u32>) {
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
}

/// Divides in place, returning the remainder.
fn div_small(mag: &mut Vec<u32>, d: u32) -> u32 {
    let mut rem = 0u64;
    for limb in mag.iter_mut().rev() {
        let cur = (rem << 32) | u64::from(*limb);
        *limb = (cur / u64::from(d)) as u32;
        rem = cur % u64::from(d);
    }
    trim(mag);
    rem as u32
}

/// `mag = mag * m + a`.
fn mul_add_small(mag: &mut Vec<u32>, m: u32, a: u32) {
    let mut carry = u64::from(a);
    for limb in mag.iter_mut() {
        let cur = u64::from(*limb) * u64::from(m) + carry;
        *limb = cur as u32;
        carry = cur >> 32;
    }
    if carry != 0 {
        mag.push(carry as u32);
    }
}

impl Ord for CqlVarint {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            // Canonical forms: with equal signs a longer form is further from zero, and
            // forms of equal length compare as unsigned bytes.
            (neg, _) => {
                let by_len = self.0.len().cmp(&other.0.len());
                let by_len = if neg { by_len.reverse() } else { by_len };
                by_len.then_with(|| self.0.cmp(&other.0))
            }
        }
    }
}

impl PartialOrd for CqlVarint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for CqlVarint {
    /// Decimal, with a leading `-` for negative numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_negative() {
            f.write_str("-")?;
        }
        f.write_str(&self.abs_decimal_digits())
    }
}

impl fmt::Debug for CqlVarint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CqlVarint({self})")
    }
}

impl FromStr for CqlVarint {
    type Err = ValueError;

    /// Decimal digits of any length with an optional leading `+` or `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (negative, digits) = match s.as_bytes() {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            rest => (false, rest),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ValueError::invalid("varint", format!("'{s}' is not a decimal integer")));
        }
        Ok(CqlVarint::from_decimal_digits(negative, digits))
    }
}

impl From<i128> for CqlVarint {
    fn from(v: i128) -> Self {
        let be = v.to_be_bytes();
        CqlVarint(be[redundant_prefix(&be)..].to_vec())
    }
}

impl From<u128> for CqlVarint {
    fn from(v: u128) -> Self {
        let mut be = vec![0u8];
        be.extend_from_slice(&v.to_be_bytes());
        let skip = redundant_prefix(&be);
        be.drain(..skip);
        CqlVarint(be)
    }
}

macro_rules! varint_from_small {
    ($($t:ty),*) => {$(
        impl From<$t> for CqlVarint {
            fn from(v: $t) -> Self {
                CqlVarint::from(i128::from(v))
            }
        }
    )*};
}
varint_from_small!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! varint_try_into {
    ($($t:ty),*) => {$(
        impl TryFrom<&CqlVarint> for $t {
            type Error = ValueError;

            fn try_from(v: &CqlVarint) -> Result<Self, Self::Error> {
                const N: usize = std::mem::size_of::<$t>();
                if v.0.len() > N {
                    return Err(ValueError::out_of_range(stringify!($t), v));
                }
                let fill = if v.is_negative() { 0xff } else { 0 };
                let mut be = [fill; N];
                be[N - v.0.len()..].copy_from_slice(&v.0);
                Ok(<$t>::from_be_bytes(be))
            }
        }

        impl TryFrom<CqlVarint> for $t {
            type Error = ValueError;

            fn try_from(v: CqlVarint) -> Result<Self, Self::Error> {
                <$t>::try_from(&v)
            }
        }
    )*};
}
varint_try_into!(i64, i128);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_table_both_ways() {
        // spec v5 §5.24
        let table: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x00, 0x80]),
            (129, &[0x00, 0x81]),
            (-1, &[0xff]),
            (-128, &[0x80]),
            (-129, &[0xff, 0x7f]),
        ];
        for &(n, bytes) in table {
            let v = CqlVarint::from(n);
            assert_eq!(v.as_be_bytes(), bytes, "{n}");
            let back = CqlVarint::from_be_bytes(bytes).unwrap();
            assert_eq!(i64::try_from(&back).unwrap(), n);
            assert_eq!(back.to_string(), n.to_string());
            assert_eq!(n.to_string().parse::<CqlVarint>().unwrap(), v);
        }
    }

    #[test]
    fn non_minimal_input_is_normalised() {
        let v = CqlVarint::from_be_bytes(&[0x00, 0x00, 0x01]).unwrap();
        assert_eq!(v.as_be_bytes(), &[0x01]);
        let v = CqlVarint::from_be_bytes(&[0xff, 0xff, 0x80]).unwrap();
        assert_eq!(v.as_be_bytes(), &[0x80]);
        assert!(CqlVarint::from_be_bytes(&[]).is_err());
    }

    #[test]
    fn huge_decimal_round_trips() {
        let s = "-123456789012345678901234567890123456789012345678901234567890";
        let v: CqlVarint = s.parse().unwrap();
        assert_eq!(v.to_string(), s);
        assert!(v.is_negative());
        let err = i128::try_from(&v).unwrap_err();
        assert_eq!(err.to_string(), format!("{s} is out of range for i128"));
        // 2^64 needs 9 bytes: 0x01 followed by eight zeros.
        let v: CqlVarint = "18446744073709551616".parse().unwrap();
        assert_eq!(v.as_be_bytes(), &[1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(CqlVarint::from(u64::MAX).as_be_bytes(), &[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!("+7".parse::<CqlVarint>().unwrap(), CqlVarint::from(7));
        assert_eq!("-0".parse::<CqlVarint>().unwrap(), CqlVarint::zero());
        for bad in ["", "-", "1.5", "1e3", " 1", "0x10"] {
            assert!(bad.parse::<CqlVarint>().is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn i128_round_trips(n in any::<i128>()) {
            let v = CqlVarint::from(n);
            prop_assert_eq!(i128::try_from(&v).unwrap(), n);
            prop_assert_eq!(v.to_string(), n.to_string());
            prop_assert_eq!(n.to_string().parse::<CqlVarint>().unwrap(), v.clone());
            prop_assert_eq!(CqlVarint::from_be_bytes(v.as_be_bytes()).unwrap(), v);
        }

        #[test]
        fn order_is_numeric(a in any::<i128>(), b in any::<i128>()) {
            prop_assert_eq!(CqlVarint::from(a).cmp(&CqlVarint::from(b)), a.cmp(&b));
        }

        #[test]
        fn long_digit_strings_round_trip(neg in any::<bool>(), digits in "[1-9][0-9]{0,80}") {
            let s = if neg { format!("-{digits}") } else { digits };
            prop_assert_eq!(s.parse::<CqlVarint>().unwrap().to_string(), s);
        }
    }
}
