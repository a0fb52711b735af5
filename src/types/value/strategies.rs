//! Proptest strategies for column types and values of those types. Test-only; owns no
//! value logic.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use uuid::Uuid;

use super::encode::vector_element_len;
use super::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint};
use crate::protocol::column_type::{ColumnType, UdtType};

fn leaf_type() -> impl Strategy<Value = ColumnType> {
    use ColumnType as T;
    prop::sample::select(vec![
        T::Ascii,
        T::Bigint,
        T::Blob,
        T::Boolean,
        T::Counter,
        T::Decimal,
        T::Double,
        T::Float,
        T::Int,
        T::Timestamp,
        T::Uuid,
        T::Varchar,
        T::Varint,
        T::Timeuuid,
        T::Inet,
        T::Date,
        T::Time,
        T::Smallint,
        T::Tinyint,
        T::Duration,
        T::Custom("com.example.Custom".into()),
    ])
}

/// Types up to three levels deep, covering every `ColumnType` variant.
pub(crate) fn column_type() -> impl Strategy<Value = ColumnType> {
    leaf_type().prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| ColumnType::List(Box::new(t))),
            inner.clone().prop_map(|t| ColumnType::Set(Box::new(t))),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v))),
            vec(inner.clone(), 1..4).prop_map(ColumnType::Tuple),
            vec(inner.clone(), 1..4).prop_map(|ts| {
                ColumnType::Udt(Box::new(UdtType {
                    keyspace: "ks".into(),
                    name: "u".into(),
                    fields: ts.into_iter().enumerate().map(|(i, t)| (format!("f{i}"), t)).collect(),
                }))
            }),
            (inner, 1u32..4).prop_map(|(t, n)| ColumnType::Vector(Box::new(t), n)),
        ]
    })
}

/// A type with a value of that type that survives an encode/decode round trip.
pub(crate) fn typed_value() -> impl Strategy<Value = (ColumnType, CqlValue)> {
    column_type().prop_flat_map(|t| {
        let v = value_for(&t, true);
        (Just(t), v)
    })
}

fn not_nan_f64() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN != NaN", |x| !x.is_nan())
}

fn not_nan_f32() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("NaN != NaN", |x| !x.is_nan())
}

pub(crate) fn varint() -> impl Strategy<Value = CqlVarint> {
    prop_oneof![
        any::<i64>().prop_map(CqlVarint::from),
        vec(any::<u8>(), 1..24).prop_map(|b| CqlVarint::from_be_bytes(&b).unwrap()),
    ]
}

pub(crate) fn timeuuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(|mut b| {
        b[6] = (b[6] & 0x0f) | 0x10;
        b[8] = (b[8] & 0x3f) | 0x80;
        Uuid::from_bytes(b)
    })
}

pub(crate) fn duration() -> impl Strategy<Value = CqlDuration> {
    (any::<bool>(), 0..=i32::MAX, 0..=i32::MAX, 0..=i64::MAX).prop_map(|(neg, m, d, n)| {
        if neg { CqlDuration::new(-m, -d, -n).unwrap() } else { CqlDuration::new(m, d, n).unwrap() }
    })
}

/// A value of type `t`; `Empty` now and then where the type allows it and decoding
/// gives it back (not for string types, whose zero bytes are an empty string).
pub(crate) fn value_for(t: &ColumnType, allow_empty: bool) -> BoxedStrategy<CqlValue> {
    use ColumnType as T;
    use CqlValue as V;
    let base: BoxedStrategy<CqlValue> = match t {
        T::Custom(_) => vec(any::<u8>(), 0..8).prop_map(|b| V::Custom(Bytes::from(b))).boxed(),
        T::Ascii => "[\\x00-\\x7f]{0,8}".prop_map(V::Ascii).boxed(),
        T::Varchar => ".{0,8}".prop_map(V::Text).boxed(),
        T::Blob => vec(any::<u8>(), 0..8).prop_map(|b| V::Blob(Bytes::from(b))).boxed(),
        T::Bigint => any::<i64>().prop_map(V::Bigint).boxed(),
        T::Counter => any::<i64>().prop_map(V::Counter).boxed(),
        T::Boolean => any::<bool>().prop_map(V::Boolean).boxed(),
        T::Decimal => (varint(), any::<i32>()).prop_map(|(u, s)| V::Decimal(CqlDecimal::new(u, s))).boxed(),
        T::Double => not_nan_f64().prop_map(V::Double).boxed(),
        T::Float => not_nan_f32().prop_map(V::Float).boxed(),
        T::Int => any::<i32>().prop_map(V::Int).boxed(),
        T::Timestamp => any::<i64>().prop_map(|v| V::Timestamp(CqlTimestamp(v))).boxed(),
        T::Uuid => any::<[u8; 16]>().prop_map(|b| V::Uuid(Uuid::from_bytes(b))).boxed(),
        T::Varint => varint().prop_map(V::Varint).boxed(),
        T::Timeuuid => timeuuid().prop_map(V::Timeuuid).boxed(),
        T::Inet => any::<std::net::IpAddr>().prop_map(V::Inet).boxed(),
        T::Date => any::<u32>().prop_map(|d| V::Date(CqlDate(d))).boxed(),
        T::Time => (0..CqlTime::MAX.nanoseconds()).prop_map(|n| V::Time(CqlTime::new(n).unwrap())).boxed(),
        T::Smallint => any::<i16>().prop_map(V::Smallint).boxed(),
        T::Tinyint => any::<i8>().prop_map(V::Tinyint).boxed(),
        T::Duration => duration().prop_map(V::Duration).boxed(),
        T::List(e) => vec(value_for(e, true), 0..4).prop_map(V::List).boxed(),
        T::Set(e) => vec(value_for(e, true), 0..4).prop_map(V::Set).boxed(),
        T::Map(k, v) => vec((value_for(k, true), value_for(v, true)), 0..4).prop_map(V::Map).boxed(),
        T::Tuple(types) => {
            let items: Vec<_> = types.iter().map(|t| proptest::option::of(value_for(t, true))).collect();
            // A prefix of one or more elements (none at all would be zero bytes: Empty).
            (items, 1..=types.len()).prop_map(|(mut v, k)| V::Tuple(v.drain(..k).collect())).boxed()
        }
        T::Udt(u) => {
            let items: Vec<_> = u.fields.iter().map(|(_, t)| proptest::option::of(value_for(t, true))).collect();
            let names: Vec<String> = u.fields.iter().map(|(n, _)| n.clone()).collect();
            let (keyspace, name) = (u.keyspace.clone(), u.name.clone());
            (items, 1..=u.fields.len())
                .prop_map(move |(v, k)| V::Udt {
                    keyspace: keyspace.clone(),
                    name: name.clone(),
                    fields: names.iter().cloned().zip(v).take(k).collect(),
                })
                .boxed()
        }
        T::Vector(e, n) => {
            let empty_ok = vector_element_len(e).is_none();
            vec(value_for(e, empty_ok), *n as usize).prop_map(V::Vector).boxed()
        }
    };
    let string_like = matches!(t, T::Ascii | T::Varchar | T::Blob | T::Custom(_));
    if allow_empty && !string_like { prop_oneof![1 => Just(V::Empty), 12 => base].boxed() } else { base }
}
