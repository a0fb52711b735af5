//! Column type options (v4 §4.2.5.2, v5 §4.2.5.2): the `[option]` tree describing a
//! column or bind marker, read and written recursively with a nesting limit.
//!
//! Owns the option ids, the per-version fallbacks Cassandra uses (types newer than a
//! version travel as `Custom` marshal class names) and the parsing of the custom
//! `org.apache.cassandra.db.marshal.VectorType(<element>, <n>)`. It does not encode or
//! decode cell values.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::header::Version;
use super::wire::{self, Reader};

/// Deepest nesting of collection, tuple, UDT and vector types accepted. Real schemas
/// rarely pass 5; the limit exists so hostile input cannot exhaust the stack.
pub const MAX_TYPE_DEPTH: usize = 64;

const MARSHAL: &str = "org.apache.cassandra.db.marshal.";

/// A CQL type as carried in metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// A custom type: the fully qualified marshal class name.
    Custom(String),
    /// ascii
    Ascii,
    /// bigint
    Bigint,
    /// blob
    Blob,
    /// boolean
    Boolean,
    /// counter
    Counter,
    /// decimal
    Decimal,
    /// double
    Double,
    /// float
    Float,
    /// int
    Int,
    /// timestamp
    Timestamp,
    /// uuid
    Uuid,
    /// text / varchar
    Varchar,
    /// varint
    Varint,
    /// timeuuid
    Timeuuid,
    /// inet
    Inet,
    /// date (v4+; a custom type in v3)
    Date,
    /// time (v4+; a custom type in v3)
    Time,
    /// smallint (v4+; a custom type in v3)
    Smallint,
    /// tinyint (v4+; a custom type in v3)
    Tinyint,
    /// duration (id 0x15 in v5; a custom type before)
    Duration,
    /// `list<T>`
    List(Box<ColumnType>),
    /// `map<K, V>`
    Map(Box<ColumnType>, Box<ColumnType>),
    /// `set<T>`
    Set(Box<ColumnType>),
    /// A user-defined type.
    Udt(Box<UdtType>),
    /// `tuple<...>`
    Tuple(Vec<ColumnType>),
    /// `vector<T, n>`, carried on the wire as a custom `VectorType`.
    Vector(Box<ColumnType>, u32),
}

/// A user-defined type's definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdtType {
    /// Keyspace of the type.
    pub keyspace: String,
    /// Type name.
    pub name: String,
    /// Fields in order.
    pub fields: Vec<(String, ColumnType)>,
}

/// Marshal class names (without package) of the simple types, for the custom forms.
const SIMPLE_MARSHAL: &[(&str, ColumnType)] = &[
    ("AsciiType", ColumnType::Ascii),
    ("LongType", ColumnType::Bigint),
    ("BytesType", ColumnType::Blob),
    ("BooleanType", ColumnType::Boolean),
    ("CounterColumnType", ColumnType::Counter),
    ("DecimalType", ColumnType::Decimal),
    ("DoubleType", ColumnType::Double),
    ("FloatType", ColumnType::Float),
    ("Int32Type", ColumnType::Int),
    ("TimestampType", ColumnType::Timestamp),
    ("UUIDType", ColumnType::Uuid),
    ("UTF8Type", ColumnType::Varchar),
    ("IntegerType", ColumnType::Varint),
    ("TimeUUIDType", ColumnType::Timeuuid),
    ("InetAddressType", ColumnType::Inet),
    ("SimpleDateType", ColumnType::Date),
    ("TimeType", ColumnType::Time),
    ("ShortType", ColumnType::Smallint),
    ("ByteType", ColumnType::Tinyint),
    ("DurationType", ColumnType::Duration),
];

impl ColumnType {
    /// Reads one `[option]` type, recursively.
    ///
    /// Every id decodes in every version: servers are lenient about which ids they send,
    /// and a reader gains nothing by refusing one it understands. `version` only matters
    /// when encoding.
    pub fn decode(r: &mut Reader<'_>, version: Version) -> Result<ColumnType, DecodeError> {
        let _ = version;
        Self::decode_at(r, 0)
    }

    fn decode_at(r: &mut Reader<'_>, depth: usize) -> Result<ColumnType, DecodeError> {
        if depth >= MAX_TYPE_DEPTH {
            return Err(DecodeError::TooDeep { at: r.position(), max: MAX_TYPE_DEPTH });
        }
        let at = r.position();
        let id = r.read_u16("type option id")?;
        let next = |r: &mut Reader<'_>| Self::decode_at(r, depth + 1);
        Ok(match id {
            0x0000 => {
                let name = r.read_string("custom type class name")?;
                Self::from_custom(&name, depth).unwrap_or(ColumnType::Custom(name))
            }
            0x0001 => ColumnType::Ascii,
            0x0002 => ColumnType::Bigint,
            0x0003 => ColumnType::Blob,
            0x0004 => ColumnType::Boolean,
            0x0005 => ColumnType::Counter,
            0x0006 => ColumnType::Decimal,
            0x0007 => ColumnType::Double,
            0x0008 => ColumnType::Float,
            0x0009 => ColumnType::Int,
            0x000B => ColumnType::Timestamp,
            0x000C => ColumnType::Uuid,
            0x000D => ColumnType::Varchar,
            0x000E => ColumnType::Varint,
            0x000F => ColumnType::Timeuuid,
            0x0010 => ColumnType::Inet,
            0x0011 => ColumnType::Date,
            0x0012 => ColumnType::Time,
            0x0013 => ColumnType::Smallint,
            0x0014 => ColumnType::Tinyint,
            0x0015 => ColumnType::Duration,
            0x0020 => ColumnType::List(Box::new(next(r)?)),
            0x0021 => {
                let k = next(r)?;
                ColumnType::Map(Box::new(k), Box::new(next(r)?))
            }
            0x0022 => ColumnType::Set(Box::new(next(r)?)),
            0x0030 => {
                let keyspace = r.read_string("UDT keyspace")?;
                let name = r.read_string("UDT name")?;
                let n = r.read_count_u16("UDT field count", 4)?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    let f = r.read_string("UDT field name")?;
                    fields.push((f, next(r)?));
                }
                ColumnType::Udt(Box::new(UdtType { keyspace, name, fields }))
            }
            0x0031 => {
                let n = r.read_count_u16("tuple arity", 2)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(next(r)?);
                }
                ColumnType::Tuple(items)
            }
            other => {
                return Err(DecodeError::Invalid {
                    what: "type option id",
                    at,
                    detail: format!("unknown id {other:#06x}"),
                });
            }
        })
    }

    /// Writes this type as an `[option]`. Types that `version` has no id for are written
    /// in their custom marshal form, as Cassandra does.
    pub fn encode(&self, buf: &mut BytesMut, version: Version) -> Result<(), EncodeError> {
        self.encode_at(buf, version, 0)
    }

    fn encode_at(&self, buf: &mut BytesMut, version: Version, depth: usize) -> Result<(), EncodeError> {
        if depth >= MAX_TYPE_DEPTH {
            return Err(EncodeError::TooDeep { max: MAX_TYPE_DEPTH });
        }
        let custom = |buf: &mut BytesMut, name: &str| -> Result<(), EncodeError> {
            buf.put_u16(0);
            wire::put_string(buf, name, "custom type class name")
        };
        let id: u16 = match self {
            ColumnType::Custom(name) => return custom(buf, name),
            ColumnType::Vector(..) => {
                let mut s = String::new();
                self.write_marshal(&mut s, depth)?;
                return custom(buf, &s);
            }
            ColumnType::Date | ColumnType::Time | ColumnType::Smallint | ColumnType::Tinyint
                if version < Version::V4 =>
            {
                return custom(buf, &self.marshal_name().unwrap_or_default());
            }
            ColumnType::Duration if version < Version::V5 => {
                return custom(buf, &self.marshal_name().unwrap_or_default());
            }
            ColumnType::Ascii => 0x0001,
            ColumnType::Bigint => 0x0002,
            ColumnType::Blob => 0x0003,
            ColumnType::Boolean => 0x0004,
            ColumnType::Counter => 0x0005,
            ColumnType::Decimal => 0x0006,
            ColumnType::Double => 0x0007,
            ColumnType::Float => 0x0008,
            ColumnType::Int => 0x0009,
            ColumnType::Timestamp => 0x000B,
            ColumnType::Uuid => 0x000C,
            ColumnType::Varchar => 0x000D,
            ColumnType::Varint => 0x000E,
            ColumnType::Timeuuid => 0x000F,
            ColumnType::Inet => 0x0010,
            ColumnType::Date => 0x0011,
            ColumnType::Time => 0x0012,
            ColumnType::Smallint => 0x0013,
            ColumnType::Tinyint => 0x0014,
            ColumnType::Duration => 0x0015,
            ColumnType::List(_) => 0x0020,
            ColumnType::Map(..) => 0x0021,
            ColumnType::Set(_) => 0x0022,
            ColumnType::Udt(_) => 0x0030,
            ColumnType::Tuple(_) => 0x0031,
        };
        buf.put_u16(id);
        match self {
            ColumnType::List(t) | ColumnType::Set(t) => t.encode_at(buf, version, depth + 1)?,
            ColumnType::Map(k, v) => {
                k.encode_at(buf, version, depth + 1)?;
                v.encode_at(buf, version, depth + 1)?;
            }
            ColumnType::Udt(u) => {
                wire::put_string(buf, &u.keyspace, "UDT keyspace")?;
                wire::put_string(buf, &u.name, "UDT name")?;
                wire::put_short_len(buf, u.fields.len(), "UDT field count")?;
                for (name, t) in &u.fields {
                    wire::put_string(buf, name, "UDT field name")?;
                    t.encode_at(buf, version, depth + 1)?;
                }
            }
            ColumnType::Tuple(items) => {
                wire::put_short_len(buf, items.len(), "tuple arity")?;
                for t in items {
                    t.encode_at(buf, version, depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn marshal_name(&self) -> Option<String> {
        SIMPLE_MARSHAL.iter().find(|(_, t)| t == self).map(|(n, _)| format!("{MARSHAL}{n}"))
    }

    /// Writes the marshal (class name) form used inside custom type strings.
    fn write_marshal(&self, out: &mut String, depth: usize) -> Result<(), EncodeError> {
        use std::fmt::Write;
        if depth >= MAX_TYPE_DEPTH {
            return Err(EncodeError::TooDeep { max: MAX_TYPE_DEPTH });
        }
        let inner = |out: &mut String, name: &str, items: &[&ColumnType]| -> Result<(), EncodeError> {
            let _ = write!(out, "{MARSHAL}{name}(");
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                t.write_marshal(out, depth + 1)?;
            }
            out.push(')');
            Ok(())
        };
        match self {
            ColumnType::Custom(name) => out.push_str(name),
            ColumnType::List(t) => inner(out, "ListType", &[t])?,
            ColumnType::Set(t) => inner(out, "SetType", &[t])?,
            ColumnType::Map(k, v) => inner(out, "MapType", &[k, v])?,
            ColumnType::Tuple(items) => inner(out, "TupleType", &items.iter().collect::<Vec<_>>())?,
            ColumnType::Vector(t, n) => {
                let _ = write!(out, "{MARSHAL}VectorType(");
                t.write_marshal(out, depth + 1)?;
                let _ = write!(out, " , {n})");
            }
            ColumnType::Udt(_) => {
                return Err(EncodeError::Invalid {
                    what: "vector element type",
                    detail: "UDT elements are not supported in vectors".into(),
                });
            }
            simple => match simple.marshal_name() {
                Some(n) => out.push_str(&n),
                None => {
                    return Err(EncodeError::Invalid {
                        what: "column type",
                        detail: format!("{simple:?} has no marshal name"),
                    });
                }
            },
        }
        Ok(())
    }

    /// Recognises the custom class names that stand for typed columns: the version
    /// fallbacks of date/time/smallint/tinyint/duration, and `VectorType(...)`.
    /// Anything else stays `Custom`.
    fn from_custom(name: &str, depth: usize) -> Option<ColumnType> {
        let short = name.strip_prefix(MARSHAL).unwrap_or(name).trim();
        if short.starts_with("VectorType(") {
            return parse_marshal(name, depth).ok().filter(|t| matches!(t, ColumnType::Vector(..)));
        }
        match short {
            "SimpleDateType" | "TimeType" | "ShortType" | "ByteType" | "DurationType" => {
                SIMPLE_MARSHAL.iter().find(|(n, _)| *n == short).map(|(_, t)| t.clone())
            }
            _ => None,
        }
    }
}

/// Parses a marshal type expression such as `VectorType(FloatType, 3)`.
fn parse_marshal(s: &str, depth: usize) -> Result<ColumnType, ()> {
    let mut p = MarshalParser { s: s.as_bytes(), pos: 0 };
    let t = p.parse(depth)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(());
    }
    Ok(t)
}

struct MarshalParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl MarshalParser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn ident(&mut self) -> &str {
        self.skip_ws();
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'_' || *c == b'$')
        {
            self.pos += 1;
        }
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn params(&mut self, depth: usize) -> Result<Vec<ColumnType>, ()> {
        if !self.eat(b'(') {
            return Err(());
        }
        let mut v = Vec::new();
        loop {
            v.push(self.parse(depth + 1)?);
            if self.eat(b')') {
                return Ok(v);
            }
            if !self.eat(b',') {
                return Err(());
            }
        }
    }

    fn parse(&mut self, depth: usize) -> Result<ColumnType, ()> {
        if depth >= MAX_TYPE_DEPTH {
            return Err(());
        }
        let name = self.ident().to_owned();
        let short = name.strip_prefix(MARSHAL).unwrap_or(&name);
        let one = |mut v: Vec<ColumnType>| if v.len() == 1 { v.pop().ok_or(()) } else { Err(()) };
        Ok(match short {
            "ListType" => ColumnType::List(Box::new(one(self.params(depth)?)?)),
            "SetType" => ColumnType::Set(Box::new(one(self.params(depth)?)?)),
            "FrozenType" => one(self.params(depth)?)?,
            "MapType" => {
                let mut v = self.params(depth)?;
                if v.len() != 2 {
                    return Err(());
                }
                let val = v.pop().ok_or(())?;
                ColumnType::Map(Box::new(v.pop().ok_or(())?), Box::new(val))
            }
            "TupleType" => ColumnType::Tuple(self.params(depth)?),
            "VectorType" => {
                if !self.eat(b'(') {
                    return Err(());
                }
                let elem = self.parse(depth + 1)?;
                if !self.eat(b',') {
                    return Err(());
                }
                let n: u32 = self.ident().parse().map_err(|_| ())?;
                if n == 0 || !self.eat(b')') {
                    return Err(());
                }
                ColumnType::Vector(Box::new(elem), n)
            }
            other => SIMPLE_MARSHAL.iter().find(|(n, _)| *n == other).map(|(_, t)| t.clone()).ok_or(())?,
        })
    }
}

impl fmt::Display for ColumnType {
    /// The CQL spelling, e.g. `map<text, frozen<list<int>>>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Custom(n) => write!(f, "'{n}'"),
            ColumnType::Ascii => f.write_str("ascii"),
            ColumnType::Bigint => f.write_str("bigint"),
            ColumnType::Blob => f.write_str("blob"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Counter => f.write_str("counter"),
            ColumnType::Decimal => f.write_str("decimal"),
            ColumnType::Double => f.write_str("double"),
            ColumnType::Float => f.write_str("float"),
            ColumnType::Int => f.write_str("int"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::Uuid => f.write_str("uuid"),
            ColumnType::Varchar => f.write_str("text"),
            ColumnType::Varint => f.write_str("varint"),
            ColumnType::Timeuuid => f.write_str("timeuuid"),
            ColumnType::Inet => f.write_str("inet"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Time => f.write_str("time"),
            ColumnType::Smallint => f.write_str("smallint"),
            ColumnType::Tinyint => f.write_str("tinyint"),
            ColumnType::Duration => f.write_str("duration"),
            ColumnType::List(t) => write!(f, "list<{t}>"),
            ColumnType::Set(t) => write!(f, "set<{t}>"),
            ColumnType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            ColumnType::Udt(u) => write!(f, "{}.{}", u.keyspace, u.name),
            ColumnType::Tuple(items) => {
                f.write_str("tuple<")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            ColumnType::Vector(t, n) => write!(f, "vector<{t}, {n}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn roundtrip(t: &ColumnType, v: Version) -> ColumnType {
        let mut b = BytesMut::new();
        t.encode(&mut b, v).unwrap();
        let src = b.freeze();
        let mut r = Reader::new(&src);
        let back = ColumnType::decode(&mut r, v).unwrap();
        assert!(r.is_empty());
        back
    }

    #[test]
    fn map_of_list_bytes() {
        let t = ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::List(Box::new(ColumnType::Int))));
        let mut b = BytesMut::new();
        t.encode(&mut b, Version::V4).unwrap();
        assert_eq!(&b[..], &[0, 0x21, 0, 0x0d, 0, 0x20, 0, 0x09]);
        assert_eq!(roundtrip(&t, Version::V4), t);
        assert_eq!(t.to_string(), "map<text, list<int>>");
    }

    #[test]
    fn vector_travels_as_custom() {
        let t = ColumnType::Vector(Box::new(ColumnType::Float), 3);
        let mut b = BytesMut::new();
        t.encode(&mut b, Version::V5).unwrap();
        let src = b.freeze();
        let mut r = Reader::new(&src);
        assert_eq!(r.read_u16("id").unwrap(), 0);
        assert_eq!(
            r.read_str("name").unwrap(),
            "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType , 3)"
        );
        assert_eq!(roundtrip(&t, Version::V5), t);
        // Nested, and spelled without spaces or package.
        let t = ColumnType::Vector(Box::new(ColumnType::List(Box::new(ColumnType::Varchar))), 2);
        assert_eq!(roundtrip(&t, Version::V4), t);
        assert_eq!(
            ColumnType::from_custom("VectorType(FrozenType(ListType(Int32Type)),7)", 0),
            Some(ColumnType::Vector(Box::new(ColumnType::List(Box::new(ColumnType::Int))), 7))
        );
        assert_eq!(ColumnType::from_custom("org.apache.cassandra.db.marshal.VectorType(Foo, 3)", 0), None);
    }

    #[test]
    fn version_fallbacks() {
        for t in [ColumnType::Date, ColumnType::Time, ColumnType::Smallint, ColumnType::Tinyint, ColumnType::Duration] {
            for v in Version::ALL {
                assert_eq!(roundtrip(&t, v), t, "{t:?} {v}");
            }
        }
        let mut b = BytesMut::new();
        ColumnType::Duration.encode(&mut b, Version::V4).unwrap();
        assert_eq!(&b[..2], &[0, 0]);
        b.clear();
        ColumnType::Duration.encode(&mut b, Version::V5).unwrap();
        assert_eq!(&b[..], &[0, 0x15]);
    }

    #[test]
    fn nesting_10000_deep_is_an_error_not_a_crash() {
        let mut b = BytesMut::new();
        for _ in 0..10_000 {
            b.put_u16(0x0020);
        }
        b.put_u16(0x0009);
        let src: Bytes = b.freeze();
        let err = ColumnType::decode(&mut Reader::new(&src), Version::V4).unwrap_err();
        assert!(matches!(err, DecodeError::TooDeep { max: MAX_TYPE_DEPTH, .. }), "{err}");
        // The same through the custom-string path.
        let deep = format!("VectorType({}Int32Type{}, 2)", "ListType(".repeat(5000), ")".repeat(5000));
        assert_eq!(ColumnType::from_custom(&deep, 0), None);
    }

    proptest::proptest! {
        #[test]
        fn every_type_roundtrips_in_every_version(t in crate::protocol::strategies::column_type(), v in crate::protocol::strategies::version()) {
            proptest::prop_assert_eq!(roundtrip(&t, v), t);
        }
    }

    #[test]
    fn unknown_id_is_named() {
        let src = Bytes::from_static(&[0, 0x0a]);
        let err = ColumnType::decode(&mut Reader::new(&src), Version::V4).unwrap_err();
        assert!(err.to_string().contains("unknown id 0x000a"), "{err}");
    }
}
