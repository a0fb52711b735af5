//! The order Cassandra sorts values by (clustering columns, set elements, map keys),
//! and the sorting of sets and maps into it.
//!
//! Each rule follows the `compareCustom` (or byte order) of the type's marshal class in
//! `org.apache.cassandra.db.marshal`: empty values first; integers signed;
//! `varint`/`decimal` numerically; `float`/`double` as Java's `Float.compare`/
//! `Double.compare` (-0 before +0, NaN last); text, blobs and addresses as unsigned
//! bytes; `date` unsigned; `timestamp` signed; `timeuuid` by its embedded time, then its
//! last 8 bytes as *signed* bytes (`AbstractTimeUUIDType`); `uuid` by version, then for
//! version 1 by time, otherwise by the first 8 bytes unsigned, then the last 8 bytes
//! unsigned (`UUIDType`); lists, sets, vectors and maps element by element, shorter
//! first on a tie; tuples and UDTs field by field with null first, trailing nulls
//! ignored (`TupleType`).
//!
//! Only the test server sorts or compares values (the driver writes them in the order
//! given), so this is compiled with the feature `testkit` only.

use std::cmp::Ordering;
use std::net::IpAddr;

use bytes::BytesMut;
use uuid::Uuid;

use super::cql_value::CqlValue;
use crate::protocol::wire::put_vint;

impl CqlValue {
    /// Compares two values in the order Cassandra sorts them (see the module docs).
    ///
    /// Values of different kinds (which a column never mixes) are ordered by kind, so
    /// the order stays total. `Ascii` and `Text` compare as the same kind, as do
    /// `Bigint` and `Counter`.
    pub fn cql_cmp(&self, other: &CqlValue) -> Ordering {
        use CqlValue as V;
        match (self, other) {
            (V::Empty, V::Empty) => Ordering::Equal,
            (V::Empty, _) => Ordering::Less,
            (_, V::Empty) => Ordering::Greater,
            (V::Ascii(a) | V::Text(a), V::Ascii(b) | V::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (V::Bigint(a) | V::Counter(a), V::Bigint(b) | V::Counter(b)) => a.cmp(b),
            (V::Blob(a), V::Blob(b)) | (V::Custom(a), V::Custom(b)) => a.cmp(b),
            (V::Boolean(a), V::Boolean(b)) => a.cmp(b),
            (V::Decimal(a), V::Decimal(b)) => a.cmp_numeric(b),
            (V::Double(a), V::Double(b)) => java_cmp(a.is_nan(), b.is_nan(), || a.total_cmp(b)),
            (V::Float(a), V::Float(b)) => java_cmp(a.is_nan(), b.is_nan(), || a.total_cmp(b)),
            (V::Int(a), V::Int(b)) => a.cmp(b),
            (V::Timestamp(a), V::Timestamp(b)) => a.cmp(b),
            (V::Uuid(a), V::Uuid(b)) => uuid_cmp(a, b),
            (V::Timeuuid(a), V::Timeuuid(b)) => timeuuid_cmp(a, b),
            (V::Varint(a), V::Varint(b)) => a.cmp(b),
            (V::Inet(a), V::Inet(b)) => inet_bytes(a).cmp(&inet_bytes(b)),
            (V::Date(a), V::Date(b)) => a.cmp(b),
            (V::Time(a), V::Time(b)) => a.cmp(b),
            (V::Smallint(a), V::Smallint(b)) => a.cmp(b),
            (V::Tinyint(a), V::Tinyint(b)) => a.cmp(b),
            // DurationType compares serialised bytes (durations are not allowed in keys).
            (V::Duration(a), V::Duration(b)) => duration_bytes(a).cmp(&duration_bytes(b)),
            (V::List(a), V::List(b)) | (V::Set(a), V::Set(b)) | (V::Vector(a), V::Vector(b)) => {
                lexicographic(a, b, CqlValue::cql_cmp)
            }
            (V::Map(a), V::Map(b)) => {
                lexicographic(a, b, |(ka, va), (kb, vb)| ka.cql_cmp(kb).then_with(|| va.cql_cmp(vb)))
            }
            (V::Tuple(a), V::Tuple(b)) => fields_cmp(a.iter().map(Option::as_ref), b.iter().map(Option::as_ref)),
            (V::Udt { fields: a, .. }, V::Udt { fields: b, .. }) => {
                fields_cmp(a.iter().map(|(_, v)| v.as_ref()), b.iter().map(|(_, v)| v.as_ref()))
            }
            _ => kind_rank(self).cmp(&kind_rank(other)),
        }
    }

    /// Sorts and de-duplicates every set and map inside the value (at any depth) into
    /// the order Cassandra stores them in: set elements and map keys by
    /// [`CqlValue::cql_cmp`], equal elements kept once, equal keys keeping the last
    /// value given (as a CQL map literal with a repeated key does).
    pub fn normalize(&mut self) {
        match self {
            CqlValue::Set(items) => {
                items.iter_mut().for_each(CqlValue::normalize);
                sort_set(items);
            }
            CqlValue::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    k.normalize();
                    v.normalize();
                }
                sort_map(entries);
            }
            CqlValue::List(items) | CqlValue::Vector(items) => items.iter_mut().for_each(CqlValue::normalize),
            CqlValue::Tuple(items) => items.iter_mut().flatten().for_each(CqlValue::normalize),
            CqlValue::Udt { fields, .. } => {
                fields.iter_mut().filter_map(|(_, v)| v.as_mut()).for_each(CqlValue::normalize)
            }
            _ => {}
        }
    }
}

/// Sorts set elements by [`CqlValue::cql_cmp`] and drops duplicates (this level only;
/// see [`CqlValue::normalize`] for nested sets).
pub fn sort_set(items: &mut Vec<CqlValue>) {
    items.sort_by(CqlValue::cql_cmp);
    items.dedup_by(|a, b| a.cql_cmp(b) == Ordering::Equal);
}

/// Sorts map entries by key with [`CqlValue::cql_cmp`]; of entries with equal keys the
/// last one given is kept (this level only; see [`CqlValue::normalize`]).
pub fn sort_map(entries: &mut Vec<(CqlValue, CqlValue)>) {
    // A stable sort keeps equal keys in the order given; keep the last of each run.
    entries.sort_by(|a, b| a.0.cql_cmp(&b.0));
    let mut out: Vec<(CqlValue, CqlValue)> = Vec::with_capacity(entries.len());
    for entry in entries.drain(..) {
        match out.last_mut() {
            Some(last) if last.0.cql_cmp(&entry.0) == Ordering::Equal => *last = entry,
            _ => out.push(entry),
        }
    }
    *entries = out;
}

/// Java's `Float.compare`/`Double.compare`: NaN equals NaN and follows everything else;
/// otherwise `-0.0 < 0.0` as `total_cmp` has it.
fn java_cmp(a_nan: bool, b_nan: bool, otherwise: impl FnOnce() -> Ordering) -> Ordering {
    match (a_nan, b_nan) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => otherwise(),
    }
}

fn lexicographic<T>(a: &[T], b: &[T], cmp: impl Fn(&T, &T) -> Ordering) -> Ordering {
    a.iter().zip(b).map(|(x, y)| cmp(x, y)).find(|o| o.is_ne()).unwrap_or_else(|| a.len().cmp(&b.len()))
}

/// `TupleType.compareCustom`: null before any value; after the common fields, a side
/// with any non-null (non-empty) field left is greater.
fn fields_cmp<'a>(
    a: impl Iterator<Item = Option<&'a CqlValue>>,
    b: impl Iterator<Item = Option<&'a CqlValue>>,
) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) => {
                let o = match (x, y) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => x.cql_cmp(y),
                };
                if o.is_ne() {
                    return o;
                }
            }
            (Some(x), None) => {
                let rest_non_null =
                    std::iter::once(x).chain(a.by_ref()).any(|v| v.is_some_and(|v| *v != CqlValue::Empty));
                return if rest_non_null { Ordering::Greater } else { Ordering::Equal };
            }
            (None, Some(y)) => {
                let rest_non_null =
                    std::iter::once(y).chain(b.by_ref()).any(|v| v.is_some_and(|v| *v != CqlValue::Empty));
                return if rest_non_null { Ordering::Less } else { Ordering::Equal };
            }
            (None, None) => return Ordering::Equal,
        }
    }
}

fn inet_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn duration_bytes(d: &super::CqlDuration) -> BytesMut {
    let mut b = BytesMut::with_capacity(27);
    put_vint(&mut b, i64::from(d.months()));
    put_vint(&mut b, i64::from(d.days()));
    put_vint(&mut b, d.nanoseconds());
    b
}

/// The 60-bit timestamp of a version 1 UUID (with the version nibble above it), so that
/// integer order is time order: `time_hi`, `time_mid`, `time_low`.
fn time_order_msb(u: &Uuid) -> u64 {
    let msb = u64::from_be_bytes(u.as_bytes()[..8].try_into().unwrap_or_default());
    (msb << 48) | ((msb << 16) & 0xffff_0000_0000) | (msb >> 32)
}

/// `AbstractTimeUUIDType.compareCustom`.
fn timeuuid_cmp(a: &Uuid, b: &Uuid) -> Ordering {
    time_order_msb(a).cmp(&time_order_msb(b)).then_with(|| {
        // The low 8 bytes compare as signed bytes, one by one (CASSANDRA-8730).
        let (la, lb) = (&a.as_bytes()[8..], &b.as_bytes()[8..]);
        la.iter().map(|&x| x as i8).cmp(lb.iter().map(|&x| x as i8))
    })
}

/// `UUIDType.compareCustom`.
fn uuid_cmp(a: &Uuid, b: &Uuid) -> Ordering {
    let (va, vb) = (a.as_bytes()[6] >> 4, b.as_bytes()[6] >> 4);
    va.cmp(&vb)
        .then_with(|| {
            if va == 1 { time_order_msb(a).cmp(&time_order_msb(b)) } else { a.as_bytes()[..8].cmp(&b.as_bytes()[..8]) }
        })
        .then_with(|| a.as_bytes()[8..].cmp(&b.as_bytes()[8..]))
}

/// Position of the variant in the enum, to order values of different kinds.
fn kind_rank(v: &CqlValue) -> u8 {
    use CqlValue as V;
    match v {
        V::Ascii(_) | V::Text(_) => 0,
        V::Bigint(_) | V::Counter(_) => 1,
        V::Blob(_) => 2,
        V::Boolean(_) => 3,
        V::Decimal(_) => 5,
        V::Double(_) => 6,
        V::Float(_) => 7,
        V::Int(_) => 8,
        V::Timestamp(_) => 9,
        V::Uuid(_) => 10,
        V::Varint(_) => 12,
        V::Timeuuid(_) => 13,
        V::Inet(_) => 14,
        V::Date(_) => 15,
        V::Time(_) => 16,
        V::Smallint(_) => 17,
        V::Tinyint(_) => 18,
        V::Duration(_) => 19,
        V::List(_) => 20,
        V::Set(_) => 21,
        V::Map(_) => 22,
        V::Tuple(_) => 23,
        V::Udt { .. } => 24,
        V::Vector(_) => 25,
        V::Custom(_) => 26,
        V::Empty => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::value::{CqlDate, CqlDecimal, CqlTimestamp, CqlVarint};
    use CqlValue as V;
    use proptest::prelude::*;

    fn sorted(mut v: Vec<CqlValue>) -> Vec<CqlValue> {
        v.sort_by(CqlValue::cql_cmp);
        v
    }

    /// A version 1 UUID with the given 60-bit timestamp and low bytes.
    fn v1(ts: u64, low: [u8; 8]) -> Uuid {
        let time_low = (ts & 0xffff_ffff) as u32;
        let time_mid = ((ts >> 32) & 0xffff) as u16;
        let time_hi = ((ts >> 48) & 0x0fff) as u16 | 0x1000;
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&time_low.to_be_bytes());
        b[4..6].copy_from_slice(&time_mid.to_be_bytes());
        b[6..8].copy_from_slice(&time_hi.to_be_bytes());
        b[8..].copy_from_slice(&low);
        Uuid::from_bytes(b)
    }

    #[test]
    fn integers_signed() {
        assert_eq!(sorted(vec![V::Int(5), V::Int(-3), V::Int(0)]), vec![V::Int(-3), V::Int(0), V::Int(5)]);
        assert_eq!(V::Bigint(-1).cql_cmp(&V::Bigint(1)), Ordering::Less);
        assert_eq!(V::Tinyint(-128).cql_cmp(&V::Tinyint(127)), Ordering::Less);
        assert_eq!(V::Varint(CqlVarint::from(-300)).cql_cmp(&V::Varint(CqlVarint::from(2))), Ordering::Less);
        assert_eq!(V::Timestamp(CqlTimestamp(-1)).cql_cmp(&V::Timestamp(CqlTimestamp(0))), Ordering::Less);
        // Dates are unsigned, which is chronological thanks to the 2^31 epoch.
        assert_eq!(V::Date(CqlDate(0)).cql_cmp(&V::Date(CqlDate(u32::MAX))), Ordering::Less);
        assert_eq!(V::Decimal(CqlDecimal::new(10, 1)).cql_cmp(&V::Decimal(CqlDecimal::new(100, 2))), Ordering::Equal);
    }

    #[test]
    fn floats_nan_last() {
        let got = sorted(vec![
            V::Double(f64::NAN),
            V::Double(1.0),
            V::Double(f64::NEG_INFINITY),
            V::Double(-0.0),
            V::Double(0.0),
        ]);
        let bits: Vec<u64> = got.iter().map(|v| if let V::Double(x) = v { x.to_bits() } else { 0 }).collect();
        let want = [f64::NEG_INFINITY, -0.0, 0.0, 1.0].map(f64::to_bits);
        assert_eq!(&bits[..4], &want);
        assert!(matches!(got[4], V::Double(x) if x.is_nan()));
        assert_eq!(V::Float(f32::NAN).cql_cmp(&V::Float(f32::INFINITY)), Ordering::Greater);
        assert_eq!(V::Float(f32::NAN).cql_cmp(&V::Float(-f32::NAN)), Ordering::Equal);
    }

    #[test]
    fn text_and_blobs_bytewise() {
        // 'Z' (0x5a) < 'a' (0x61) < 'é' (0xc3 0xa9): byte order, not collation.
        let got = sorted(vec![V::Text("é".into()), V::Text("a".into()), V::Text("Z".into()), V::Text("ab".into())]);
        assert_eq!(got, vec![V::Text("Z".into()), V::Text("a".into()), V::Text("ab".into()), V::Text("é".into())]);
        assert_eq!(V::Blob(vec![0x80].into()).cql_cmp(&V::Blob(vec![0x7f, 0xff].into())), Ordering::Greater);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "9.255.255.255".parse().unwrap();
        assert_eq!(V::Inet(a).cql_cmp(&V::Inet(b)), Ordering::Greater);
        assert_eq!(V::Boolean(false).cql_cmp(&V::Boolean(true)), Ordering::Less);
        assert_eq!(V::Empty.cql_cmp(&V::Int(i32::MIN)), Ordering::Less);
    }

    #[test]
    fn timeuuid_by_time_then_signed_bytes() {
        // Later time sorts later even when its bytes are smaller.
        let early = v1(0xffff_ffff, [0; 8]);
        let late = v1(1 << 48, [0; 8]);
        assert!(early.as_bytes() > late.as_bytes());
        assert_eq!(V::Timeuuid(early).cql_cmp(&V::Timeuuid(late)), Ordering::Less);
        let t1 = v1(1, [0; 8]);
        let t2 = v1(2 << 32, [0; 8]);
        assert!(t1.as_bytes() > t2.as_bytes());
        assert_eq!(V::Timeuuid(t1).cql_cmp(&V::Timeuuid(t2)), Ordering::Less);
        // Same time: the low bytes are signed for timeuuid, unsigned for uuid.
        let neg = v1(5, [0x80, 0, 0, 0, 0, 0, 0, 0]);
        let pos = v1(5, [0x7f, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(V::Timeuuid(neg).cql_cmp(&V::Timeuuid(pos)), Ordering::Less);
        assert_eq!(V::Uuid(neg).cql_cmp(&V::Uuid(pos)), Ordering::Greater);
    }

    #[test]
    fn uuid_version_first() {
        let v4: Uuid = "00000000-0000-4000-8000-000000000000".parse().unwrap();
        let v1_late = v1(u64::MAX >> 4, [0xff; 8]);
        assert_eq!(V::Uuid(v1_late).cql_cmp(&V::Uuid(v4)), Ordering::Less);
        let a: Uuid = "ffffffff-0000-4000-8000-000000000000".parse().unwrap();
        let b: Uuid = "00000000-ffff-4fff-8000-000000000000".parse().unwrap();
        assert_eq!(V::Uuid(a).cql_cmp(&V::Uuid(b)), Ordering::Greater);
        assert_eq!(V::Uuid(v1(1, [0; 8])).cql_cmp(&V::Uuid(v1(2 << 32, [0; 8]))), Ordering::Less);
    }

    #[test]
    fn collections_and_tuples() {
        let l = |v: &[i32]| V::List(v.iter().map(|&x| V::Int(x)).collect());
        assert_eq!(l(&[1, 2]).cql_cmp(&l(&[1, 2, 0])), Ordering::Less);
        assert_eq!(l(&[2]).cql_cmp(&l(&[1, 9, 9])), Ordering::Greater);
        assert_eq!(l(&[]).cql_cmp(&l(&[i32::MIN])), Ordering::Less);
        let t = |v: Vec<Option<i32>>| V::Tuple(v.into_iter().map(|x| x.map(V::Int)).collect());
        assert_eq!(t(vec![None]).cql_cmp(&t(vec![Some(i32::MIN)])), Ordering::Less);
        assert_eq!(t(vec![Some(1)]).cql_cmp(&t(vec![Some(1), None])), Ordering::Equal);
        assert_eq!(t(vec![Some(1)]).cql_cmp(&t(vec![Some(1), Some(0)])), Ordering::Less);
        let m = |v: &[(i32, i32)]| V::Map(v.iter().map(|&(k, x)| (V::Int(k), V::Int(x))).collect());
        assert_eq!(m(&[(1, 5)]).cql_cmp(&m(&[(1, 6)])), Ordering::Less);
        assert_eq!(m(&[(2, 0)]).cql_cmp(&m(&[(1, 9)])), Ordering::Greater);
    }

    #[test]
    fn normalize_sorts_and_dedupes_at_every_depth() {
        let mut v = V::List(vec![V::Set(vec![V::Int(3), V::Int(1), V::Int(3), V::Int(-7)])]);
        v.normalize();
        assert_eq!(v, V::List(vec![V::Set(vec![V::Int(-7), V::Int(1), V::Int(3)])]));
        let mut m = V::Map(vec![
            (V::Text("b".into()), V::Int(1)),
            (V::Text("a".into()), V::Set(vec![V::Int(2), V::Int(1)])),
            (V::Text("b".into()), V::Int(2)),
        ]);
        m.normalize();
        assert_eq!(
            m,
            V::Map(vec![(V::Text("a".into()), V::Set(vec![V::Int(1), V::Int(2)])), (V::Text("b".into()), V::Int(2)),])
        );
        // Numerically equal decimals are one set element.
        let mut s = vec![V::Decimal(CqlDecimal::new(10, 1)), V::Decimal(CqlDecimal::new(1, 0))];
        sort_set(&mut s);
        assert_eq!(s.len(), 1);
    }

    proptest! {
        #[test]
        fn order_is_total_and_consistent(
            (_, a) in crate::types::value::strategies::typed_value(),
            (_, b) in crate::types::value::strategies::typed_value(),
        ) {
            prop_assert_eq!(a.cql_cmp(&a), Ordering::Equal);
            prop_assert_eq!(a.cql_cmp(&b), b.cql_cmp(&a).reverse());
        }

        #[test]
        fn timeuuid_order_is_time_order(t1 in 0u64..(1 << 60), t2 in 0u64..(1 << 60), low in any::<[u8; 8]>()) {
            prop_assert_eq!(V::Timeuuid(v1(t1, low)).cql_cmp(&V::Timeuuid(v1(t2, low))), t1.cmp(&t2));
        }
    }
}
