//! Proptest strategies shared by the round-trip tests of every protocol module.
//! Test-only; owns no protocol logic.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::column_type::{ColumnType, UdtType};
use super::consistency::Consistency;
use super::header::Version;
use super::values::{Value, Values};

pub(crate) fn version() -> impl Strategy<Value = Version> {
    prop::sample::select(Version::ALL.to_vec())
}

pub(crate) fn consistency() -> impl Strategy<Value = Consistency> {
    prop::sample::select(Consistency::ALL.to_vec())
}

pub(crate) fn serial_consistency() -> impl Strategy<Value = Consistency> {
    prop::sample::select(vec![Consistency::Serial, Consistency::LocalSerial])
}

/// Short identifiers and free text (including multi-byte UTF-8).
pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z_][a-z0-9_]{0,12}", 1 => ".{0,16}"]
}

pub(crate) fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

pub(crate) fn opt_bytes(max: usize) -> impl Strategy<Value = Option<Bytes>> {
    option::of(bytes(max))
}

pub(crate) fn ip() -> impl Strategy<Value = IpAddr> {
    any::<IpAddr>()
}

pub(crate) fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    (ip(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::new(ip, p))
}

pub(crate) fn string_list() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..4)
}

pub(crate) fn bytes_map() -> impl Strategy<Value = Vec<(String, Option<Bytes>)>> {
    vec((text(), opt_bytes(8)), 0..3)
}

pub(crate) fn value() -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 1 => Just(Value::NotSet), 4 => bytes(24).prop_map(Value::Bytes)]
}

pub(crate) fn values() -> impl Strategy<Value = Values> {
    prop_oneof![
        vec(value(), 0..5).prop_map(|v| Values::positional(v).unwrap()),
        vec((text(), value()), 0..4)
            .prop_map(|v| Values::named(v.iter().map(|(n, v)| (n.as_str(), v.clone()))).unwrap()),
    ]
}

/// Positional values only (EXECUTE and most BATCH use).
pub(crate) fn positional_values() -> impl Strategy<Value = Values> {
    vec(value(), 0..5).prop_map(|v| Values::positional(v).unwrap())
}

fn simple_type() -> impl Strategy<Value = ColumnType> {
    prop::sample::select(vec![
        ColumnType::Ascii,
        ColumnType::Bigint,
        ColumnType::Blob,
        ColumnType::Boolean,
        ColumnType::Counter,
        ColumnType::Decimal,
        ColumnType::Double,
        ColumnType::Float,
        ColumnType::Int,
        ColumnType::Timestamp,
        ColumnType::Uuid,
        ColumnType::Varchar,
        ColumnType::Varint,
        ColumnType::Timeuuid,
        ColumnType::Inet,
        ColumnType::Date,
        ColumnType::Time,
        ColumnType::Smallint,
        ColumnType::Tinyint,
        ColumnType::Duration,
        ColumnType::Custom("com.example.MyType".into()),
    ])
}

/// Column types nested a few levels, covering every constructor.
pub(crate) fn column_type() -> impl Strategy<Value = ColumnType> {
    simple_type().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| ColumnType::List(Box::new(t))),
            inner.clone().prop_map(|t| ColumnType::Set(Box::new(t))),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| ColumnType::Map(Box::new(k), Box::new(v))),
            vec(inner.clone(), 1..4).prop_map(ColumnType::Tuple),
            (text(), text(), vec((text(), inner.clone()), 0..4))
                .prop_map(|(keyspace, name, fields)| ColumnType::Udt(Box::new(UdtType { keyspace, name, fields }))),
            // Vector elements must have a marshal form: no UDTs and no custom names.
            (simple_type().prop_filter("marshal", |t| !matches!(t, ColumnType::Custom(_))), 1u32..5000)
                .prop_map(|(t, n)| ColumnType::Vector(Box::new(t), n)),
        ]
    })
}
