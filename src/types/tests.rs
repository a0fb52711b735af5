//! Round trips across the module: every Rust type, for every CQL type it maps to, is
//! written with [`SerializeValue`], read back with [`CqlValue::decode`] (the reference
//! layout, which must give the expected dynamic value and re-encode to the same bytes)
//! and with [`DeserializeValue`] (which must give the Rust value back).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::protocol::ColumnType;
use crate::protocol::column_type::UdtType;
use crate::types::value::strategies::{duration, timeuuid, typed_value, varint};
use crate::types::value::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint};

use ColumnType as T;
use CqlValue as V;

/// The `[value]` `v` writes as `typ`: its body, `None` for null.
pub(super) fn write<S: SerializeValue + ?Sized>(v: &S, typ: &ColumnType) -> Option<Vec<u8>> {
    let mut buf = BytesMut::new();
    v.serialize(typ, &mut buf).unwrap_or_else(|e| panic!("{v:?} as {typ}: {e}", v = std::any::type_name::<S>()));
    let len = i32::from_be_bytes(buf[..4].try_into().unwrap());
    if len < 0 {
        assert_eq!(buf.len(), 4);
        return None;
    }
    assert_eq!(buf.len(), 4 + len as usize, "length header");
    Some(buf[4..].to_vec())
}

/// `v` as `typ` decodes to `expected` (which encodes to the same bytes), and reads back
/// as `v`.
fn roundtrip<R>(v: &R, typ: &ColumnType, expected: &CqlValue)
where
    R: SerializeValue + DeserializeOwnedValue + PartialEq + Debug,
{
    let body = write(v, typ).unwrap_or_else(|| panic!("{v:?} as {typ} wrote null"));
    assert_eq!(&CqlValue::decode(typ, &body).unwrap_or_else(|e| panic!("{v:?} as {typ}: {e}")), expected, "{typ}");
    let mut again = BytesMut::new();
    expected.encode(typ, &mut again).unwrap();
    assert_eq!(&again[..], &body[..], "{v:?} as {typ}: bytes differ from CqlValue::encode");
    R::type_check(typ).unwrap_or_else(|e| panic!("{typ}: {e}"));
    assert_eq!(&R::deserialize(typ, Some(&body)).unwrap(), v, "{typ}");
    // And through Option: Some(v) is the same bytes, None is null.
    assert_eq!(write(&Some(v), typ).as_deref(), Some(&body[..]));
    assert_eq!(<Option<R>>::deserialize(typ, Some(&body)).unwrap().as_ref(), Some(v));
    assert_eq!(<Option<R>>::deserialize(typ, None).unwrap(), None);
}

fn list(t: ColumnType) -> ColumnType {
    T::List(Box::new(t))
}

fn set(t: ColumnType) -> ColumnType {
    T::Set(Box::new(t))
}

fn map(k: ColumnType, v: ColumnType) -> ColumnType {
    T::Map(Box::new(k), Box::new(v))
}

fn vector(t: ColumnType, n: u32) -> ColumnType {
    T::Vector(Box::new(t), n)
}

proptest! {
    #[test]
    fn integers(a: i8, b: i16, c: i32, d: i64) {
        roundtrip(&a, &T::Tinyint, &V::Tinyint(a));
        roundtrip(&b, &T::Smallint, &V::Smallint(b));
        roundtrip(&c, &T::Int, &V::Int(c));
        roundtrip(&d, &T::Bigint, &V::Bigint(d));
        roundtrip(&d, &T::Counter, &V::Counter(d));
        roundtrip(&a, &T::Varint, &V::Varint(CqlVarint::from(a)));
        roundtrip(&b, &T::Varint, &V::Varint(CqlVarint::from(b)));
        roundtrip(&c, &T::Varint, &V::Varint(CqlVarint::from(c)));
        roundtrip(&d, &T::Varint, &V::Varint(CqlVarint::from(d)));
    }

    #[test]
    fn floats(x: f32, y: f64) {
        // Compared by bits: NaN payloads and -0.0 survive.
        let bx = write(&x, &T::Float).unwrap();
        prop_assert_eq!(f32::deserialize(&T::Float, Some(&bx)).unwrap().to_bits(), x.to_bits());
        let by = write(&y, &T::Double).unwrap();
        prop_assert_eq!(f64::deserialize(&T::Double, Some(&by)).unwrap().to_bits(), y.to_bits());
        prop_assert_eq!(CqlValue::decode(&T::Double, &by).unwrap().to_string(), V::Double(y).to_string());
    }

    #[test]
    fn text(s in ".{0,40}", a in "[\\x00-\\x7f]{0,40}") {
        roundtrip(&s, &T::Varchar, &V::Text(s.clone()));
        roundtrip(&a, &T::Ascii, &V::Ascii(a.clone()));
        // Written as &str, read as &str (borrowed).
        let body = write(&s.as_str(), &T::Varchar).unwrap();
        prop_assert_eq!(<&str>::deserialize(&T::Varchar, Some(&body)).unwrap(), s.as_str());
    }

    #[test]
    fn blobs(b in proptest::collection::vec(any::<u8>(), 0..64)) {
        let custom = T::Custom("com.example.Thing".into());
        roundtrip(&b, &T::Blob, &V::Blob(Bytes::from(b.clone())));
        roundtrip(&b, &custom, &V::Custom(Bytes::from(b.clone())));
        roundtrip(&Bytes::from(b.clone()), &T::Blob, &V::Blob(Bytes::from(b.clone())));
        let body = write(b.as_slice(), &T::Blob).unwrap();
        prop_assert_eq!(<&[u8]>::deserialize(&T::Blob, Some(&body)).unwrap(), b.as_slice());
    }

    #[test]
    fn uuids_and_addresses(raw: [u8; 16], t in timeuuid(), ip: IpAddr, v4: Ipv4Addr, v6: Ipv6Addr) {
        let u = Uuid::from_bytes(raw);
        roundtrip(&u, &T::Uuid, &V::Uuid(u));
        roundtrip(&t, &T::Timeuuid, &V::Timeuuid(t));
        roundtrip(&t, &T::Uuid, &V::Uuid(t));
        roundtrip(&ip, &T::Inet, &V::Inet(ip));
        roundtrip(&v4, &T::Inet, &V::Inet(IpAddr::V4(v4)));
        roundtrip(&v6, &T::Inet, &V::Inet(IpAddr::V6(v6)));
    }

    #[test]
    fn time_types(d: u32, n in 0..=CqlTime::MAX.nanoseconds(), ms: i64, dur in duration()) {
        roundtrip(&CqlDate(d), &T::Date, &V::Date(CqlDate(d)));
        let t = CqlTime::new(n).unwrap();
        roundtrip(&t, &T::Time, &V::Time(t));
        roundtrip(&CqlTimestamp(ms), &T::Timestamp, &V::Timestamp(CqlTimestamp(ms)));
        roundtrip(&dur, &T::Duration, &V::Duration(dur));
    }

    #[test]
    fn system_time(ms in -(1i64 << 40)..(1i64 << 40)) {
        let t = CqlTimestamp(ms).to_system_time().unwrap();
        roundtrip(&t, &T::Timestamp, &V::Timestamp(CqlTimestamp(ms)));
    }

    #[test]
    fn numbers_of_any_size(v in varint(), scale: i32) {
        roundtrip(&v, &T::Varint, &V::Varint(v.clone()));
        let d = CqlDecimal { unscaled: v, scale };
        roundtrip(&d, &T::Decimal, &V::Decimal(d.clone()));
    }

    #[test]
    fn collections(items: Vec<i32>, words in proptest::collection::vec(".{0,6}", 0..6)) {
        let ints = || items.iter().map(|i| V::Int(*i)).collect::<Vec<_>>();
        roundtrip(&items, &list(T::Int), &V::List(ints()));
        roundtrip(&items, &set(T::Int), &V::Set(ints()));
        // Vectors have at least one dimension (CQL refuses `vector<int, 0>`).
        if !items.is_empty() {
            roundtrip(&items, &vector(T::Int, items.len() as u32), &V::Vector(ints()));
        }
        let texts = || words.iter().map(|w| V::Text(w.clone())).collect::<Vec<_>>();
        roundtrip(&words, &list(T::Varchar), &V::List(texts()));
        // text is variable-length inside a vector: each element after a vint length.
        if !words.is_empty() {
            roundtrip(&words, &vector(T::Varchar, words.len() as u32), &V::Vector(texts()));
        }

        let bset: BTreeSet<String> = words.iter().cloned().collect();
        roundtrip(&bset, &set(T::Varchar), &V::Set(bset.iter().map(|w| V::Text(w.clone())).collect()));
        let bmap: BTreeMap<i32, String> = items.iter().copied().zip(words.iter().cloned()).collect();
        let entries = bmap.iter().map(|(k, v)| (V::Int(*k), V::Text(v.clone()))).collect();
        roundtrip(&bmap, &map(T::Int, T::Varchar), &V::Map(entries));

        // Hash collections write in their own order: compare as sets.
        let hset: HashSet<i32> = items.iter().copied().collect();
        let body = write(&hset, &set(T::Int)).unwrap();
        prop_assert_eq!(<HashSet<i32>>::deserialize(&set(T::Int), Some(&body)).unwrap(), hset.clone());
        let V::Set(decoded) = CqlValue::decode(&set(T::Int), &body).unwrap() else { panic!() };
        prop_assert_eq!(decoded.len(), hset.len());
        let hmap: HashMap<String, i32> = words.iter().cloned().zip(items.iter().copied()).collect();
        let mt = map(T::Varchar, T::Int);
        let body = write(&hmap, &mt).unwrap();
        prop_assert_eq!(<HashMap<String, i32>>::deserialize(&mt, Some(&body)).unwrap(), hmap);
    }

    #[test]
    fn tuples(a: i32, s in ".{0,8}", b: Option<bool>) {
        let tt = T::Tuple(vec![T::Int, T::Varchar, T::Boolean]);
        let v = (a, s.clone(), b);
        roundtrip(&v, &tt, &V::Tuple(vec![Some(V::Int(a)), Some(V::Text(s)), b.map(V::Boolean)]));
    }

    /// Every CQL type, through the dynamic value.
    #[test]
    fn cql_values((t, v) in typed_value()) {
        let body = write(&v, &t).unwrap();
        prop_assert_eq!(&CqlValue::decode(&t, &body).unwrap(), &v);
        CqlValue::type_check(&t).unwrap();
        prop_assert_eq!(CqlValue::deserialize(&t, Some(&body)).unwrap(), v.clone());
        // Without metadata the natural type may differ (an empty list's elements), but
        // the bytes are the same wherever the value pins the type down.
        let mut untyped = BytesMut::new();
        if v.serialize_untyped(&mut untyped).is_ok() {
            let natural = v.natural_type().unwrap();
            prop_assert_eq!(CqlValue::decode(&natural, &untyped[4..]).is_ok(), true, "{} as {}", v, natural);
        }
    }
}

#[test]
fn extreme_values() {
    roundtrip(&i64::MIN, &T::Bigint, &V::Bigint(i64::MIN));
    roundtrip(&i64::MAX, &T::Varint, &V::Varint(CqlVarint::from(i64::MAX)));
    roundtrip(&i8::MIN, &T::Varint, &V::Varint(CqlVarint::from(i8::MIN)));
    roundtrip(&String::new(), &T::Varchar, &V::Text(String::new()));
    roundtrip(&String::new(), &T::Ascii, &V::Ascii(String::new()));
    roundtrip(&Vec::<u8>::new(), &T::Blob, &V::Blob(Bytes::new()));
    roundtrip(&CqlTime::MAX, &T::Time, &V::Time(CqlTime::MAX));
    roundtrip(&CqlDate(u32::MAX), &T::Date, &V::Date(CqlDate(u32::MAX)));
    roundtrip(&CqlTimestamp(i64::MIN), &T::Timestamp, &V::Timestamp(CqlTimestamp(i64::MIN)));
    let d = CqlDuration::new(i32::MIN, i32::MIN, i64::MIN).unwrap();
    roundtrip(&d, &T::Duration, &V::Duration(d));
    roundtrip(&Uuid::nil(), &T::Uuid, &V::Uuid(Uuid::nil()));
    for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE, f64::MAX] {
        let b = write(&x, &T::Double).unwrap();
        assert_eq!(f64::deserialize(&T::Double, Some(&b)).unwrap().to_bits(), x.to_bits());
    }
    let b = write(&f32::NAN, &T::Float).unwrap();
    assert!(f32::deserialize(&T::Float, Some(&b)).unwrap().is_nan());

    // Empty collections, and a null read as an empty collection.
    roundtrip(&Vec::<i32>::new(), &list(T::Int), &V::List(vec![]));
    roundtrip(&BTreeMap::<String, i32>::new(), &map(T::Varchar, T::Int), &V::Map(vec![]));
    assert_eq!(<Vec<i32>>::deserialize(&list(T::Int), None).unwrap(), Vec::<i32>::new());
    assert!(<HashMap<i32, i32>>::deserialize(&map(T::Int, T::Int), None).unwrap().is_empty());
    // But a null vector is a null.
    assert!(<Vec<f32>>::deserialize(&vector(T::Float, 2), None).is_err());

    // A big embedding: fixed-size elements back to back, nothing else.
    let dim = 16_384;
    let emb: Vec<f32> = (0..dim).map(|i| i as f32 / 7.0).collect();
    let vt = vector(T::Float, dim);
    let body = write(&emb, &vt).unwrap();
    assert_eq!(body.len(), dim as usize * 4);
    assert_eq!(<Vec<f32>>::deserialize(&vt, Some(&body)).unwrap(), emb);
    assert_eq!(CqlValue::decode(&vt, &body).unwrap(), V::Vector(emb.iter().map(|x| V::Float(*x)).collect()));
    let arr = [1.5f64, -2.0, 3.25];
    roundtrip(&arr.to_vec(), &vector(T::Double, 3), &V::Vector(arr.iter().map(|x| V::Double(*x)).collect()));
    assert_eq!(write(&arr, &vector(T::Double, 3)), write(&arr.to_vec(), &vector(T::Double, 3)));
    // A text longer than one vint byte can count, inside a vector.
    let long = vec!["x".repeat(300), String::new()];
    roundtrip(&long, &vector(T::Varchar, 2), &V::Vector(long.iter().map(|s| V::Text(s.clone())).collect()));
}

#[test]
fn nested_types() {
    let t = list(map(T::Varchar, T::Tuple(vec![T::Int, list(T::Blob)])));
    type Entry = (i32, Vec<Vec<u8>>);
    let v: Vec<BTreeMap<String, Entry>> =
        vec![BTreeMap::from([("a".to_owned(), (1, vec![vec![1, 2], vec![]]))]), BTreeMap::new()];
    let expected = V::List(vec![
        V::Map(vec![(
            V::Text("a".into()),
            V::Tuple(vec![
                Some(V::Int(1)),
                Some(V::List(vec![V::Blob(Bytes::from_static(&[1, 2])), V::Blob(Bytes::new())])),
            ]),
        )]),
        V::Map(vec![]),
    ]);
    roundtrip(&v, &t, &expected);
    // Vectors of vectors (fixed inside fixed) and of lists (variable).
    let vv = vec![vec![1i32, 2], vec![3, 4]];
    roundtrip(
        &vv,
        &vector(vector(T::Int, 2), 2),
        &V::Vector(vec![V::Vector(vec![V::Int(1), V::Int(2)]), V::Vector(vec![V::Int(3), V::Int(4)])]),
    );
    roundtrip(
        &vv,
        &vector(list(T::Int), 2),
        &V::Vector(vec![V::List(vec![V::Int(1), V::Int(2)]), V::List(vec![V::Int(3), V::Int(4)])]),
    );
}

#[test]
fn udts_go_through_cql_value() {
    let udt = T::Udt(Box::new(UdtType {
        keyspace: "ks".into(),
        name: "addr".into(),
        fields: vec![("street".into(), T::Varchar), ("zip".into(), T::Int)],
    }));
    let v = V::Udt {
        keyspace: "ks".into(),
        name: "addr".into(),
        fields: vec![("street".into(), Some(V::Text("Main".into()))), ("zip".into(), None)],
    };
    let body = write(&v, &udt).unwrap();
    assert_eq!(CqlValue::deserialize(&udt, Some(&body)).unwrap(), v);
    // Untyped, the value's own fields give the type.
    let mut buf = BytesMut::new();
    v.serialize_untyped(&mut buf).unwrap();
    assert_eq!(&buf[4..], &body[..]);
}

#[test]
fn system_time_truncates_to_milliseconds() {
    let t = UNIX_EPOCH + Duration::from_nanos(1_500_999);
    let b = write(&t, &T::Timestamp).unwrap();
    assert_eq!(b, 1i64.to_be_bytes());
    assert_eq!(SystemTime::deserialize(&T::Timestamp, Some(&b)).unwrap(), UNIX_EPOCH + Duration::from_millis(1));
}
