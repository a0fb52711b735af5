//! [`CqlValue`]: one value of any CQL type, and the small conversions into it.
//!
//! Encoding, decoding, literals, ordering and display live in their own files
//! (`encode.rs`, `decode.rs`, `from_literal.rs`, `ordering.rs`, `display.rs`).

use std::net::IpAddr;

use bytes::Bytes;
use uuid::Uuid;

use super::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlVarint};

/// A value of any CQL type (null aside: a null is the absence of a value, `None` where
/// one may appear).
///
/// The variant says how the value is to be read; the column type it is written to is
/// given separately to [`CqlValue::encode`], which checks that the two fit.
#[derive(Debug, Clone, PartialEq)]
pub enum CqlValue {
    /// `ascii`: 7-bit text.
    Ascii(String),
    /// `bigint`: 64-bit signed integer.
    Bigint(i64),
    /// `blob`: any bytes.
    Blob(Bytes),
    /// `boolean`.
    Boolean(bool),
    /// `counter`: a 64-bit signed integer, a `bigint` on the wire.
    Counter(i64),
    /// `decimal`.
    Decimal(CqlDecimal),
    /// `double`: IEEE 754 binary64.
    Double(f64),
    /// `float`: IEEE 754 binary32.
    Float(f32),
    /// `int`: 32-bit signed integer.
    Int(i32),
    /// `timestamp`: milliseconds since the epoch.
    Timestamp(CqlTimestamp),
    /// `uuid`: any UUID.
    Uuid(Uuid),
    /// `text` / `varchar`: UTF-8 text.
    Text(String),
    /// `varint`: an integer of any size.
    Varint(CqlVarint),
    /// `timeuuid`: a version 1 UUID.
    Timeuuid(Uuid),
    /// `inet`: an IPv4 or IPv6 address.
    Inet(IpAddr),
    /// `date`: a day.
    Date(CqlDate),
    /// `time`: nanoseconds since midnight.
    Time(CqlTime),
    /// `smallint`: 16-bit signed integer.
    Smallint(i16),
    /// `tinyint`: 8-bit signed integer.
    Tinyint(i8),
    /// `duration`.
    Duration(CqlDuration),
    /// `list<T>`: elements in order (never null).
    List(Vec<CqlValue>),
    /// `set<T>`: elements (never null); Cassandra keeps them sorted and unique (the
    /// test server sorts them with `CqlValue::normalize`, feature `testkit`).
    Set(Vec<CqlValue>),
    /// `map<K, V>`: entries (never null); Cassandra keeps them sorted by key with unique
    /// keys (the test server sorts them with `CqlValue::normalize`, feature `testkit`).
    Map(Vec<(CqlValue, CqlValue)>),
    /// `tuple<...>`: elements, each possibly null. May be shorter than the type.
    Tuple(Vec<Option<CqlValue>>),
    /// A user-defined type value: named fields, each possibly null. May have fewer
    /// fields than the type.
    Udt {
        /// Keyspace of the type (may be left empty when building a value to encode).
        keyspace: String,
        /// Name of the type (may be left empty when building a value to encode).
        name: String,
        /// Fields by name.
        fields: Vec<(String, Option<CqlValue>)>,
    },
    /// `vector<T, n>`: exactly n elements (never null).
    Vector(Vec<CqlValue>),
    /// A value of a custom type: its bytes, uninterpreted.
    Custom(Bytes),
    /// The zero-length "empty" value that most non-string types may hold for legacy
    /// reasons (spec v5 §5), distinct from null.
    Empty,
}

/// Deepest nesting of values (collections, tuples, UDTs, vectors) that
/// [`CqlValue::encode`] and [`CqlValue::decode`] accept, the same limit column types
/// have ([`crate::protocol::column_type::MAX_TYPE_DEPTH`]), so every type the server
/// can describe can be read.
pub const MAX_VALUE_DEPTH: usize = crate::protocol::column_type::MAX_TYPE_DEPTH;

impl CqlValue {
    /// The CQL name of the value's kind, for messages (`int`, `text`, `list`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            CqlValue::Ascii(_) => "ascii",
            CqlValue::Bigint(_) => "bigint",
            CqlValue::Blob(_) => "blob",
            CqlValue::Boolean(_) => "boolean",
            CqlValue::Counter(_) => "counter",
            CqlValue::Decimal(_) => "decimal",
            CqlValue::Double(_) => "double",
            CqlValue::Float(_) => "float",
            CqlValue::Int(_) => "int",
            CqlValue::Timestamp(_) => "timestamp",
            CqlValue::Uuid(_) => "uuid",
            CqlValue::Text(_) => "text",
            CqlValue::Varint(_) => "varint",
            CqlValue::Timeuuid(_) => "timeuuid",
            CqlValue::Inet(_) => "inet",
            CqlValue::Date(_) => "date",
            CqlValue::Time(_) => "time",
            CqlValue::Smallint(_) => "smallint",
            CqlValue::Tinyint(_) => "tinyint",
            CqlValue::Duration(_) => "duration",
            CqlValue::List(_) => "list",
            CqlValue::Set(_) => "set",
            CqlValue::Map(_) => "map",
            CqlValue::Tuple(_) => "tuple",
            CqlValue::Udt { .. } => "user-defined type",
            CqlValue::Vector(_) => "vector",
            CqlValue::Custom(_) => "custom",
            CqlValue::Empty => "empty value",
        }
    }
}

macro_rules! from_impls {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for CqlValue {
            fn from(v: $t) -> Self {
                CqlValue::$variant(v.into())
            }
        }
    )*};
}

from_impls! {
    bool => Boolean,
    i8 => Tinyint,
    i16 => Smallint,
    i32 => Int,
    i64 => Bigint,
    f32 => Float,
    f64 => Double,
    String => Text,
    &str => Text,
    Bytes => Blob,
    Vec<u8> => Blob,
    IpAddr => Inet,
    CqlDate => Date,
    CqlTime => Time,
    CqlTimestamp => Timestamp,
    CqlDuration => Duration,
    CqlVarint => Varint,
    CqlDecimal => Decimal,
}

impl From<&[u8]> for CqlValue {
    fn from(v: &[u8]) -> Self {
        CqlValue::Blob(Bytes::copy_from_slice(v))
    }
}

impl From<Uuid> for CqlValue {
    /// A version 1 UUID becomes a `Timeuuid`, any other a `Uuid` (which may be written
    /// to either kind of column where it fits).
    fn from(u: Uuid) -> Self {
        if u.get_version_num() == 1 { CqlValue::Timeuuid(u) } else { CqlValue::Uuid(u) }
    }
}
