//! Writing a [`CqlValue`] in the serialised form of a column type (spec v5 §5, §6),
//! checking on the way that the value fits the type.

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use uuid::Uuid;

use super::cql_value::{CqlValue, MAX_VALUE_DEPTH};
use super::error::ValueError;
use crate::protocol::column_type::{ColumnType, UdtType};
use crate::protocol::wire::{put_unsigned_vint, put_vint};

/// The length every value of `typ` has inside a `vector`, or `None` when elements of
/// this type are written with an `[unsigned vint]` length before each (spec v5 §5.25).
///
/// The rule is Cassandra's, not the spec's: `VectorType` (Cassandra 5.0,
/// `src/java/org/apache/cassandra/db/marshal/VectorType.java`) uses its
/// `FixedLengthSerializer` exactly when the element type's
/// `AbstractType.valueLengthIfFixed()` is not `VARIABLE_LENGTH`, and only these marshal
/// classes override it: `BooleanType` (1), `Int32Type` and `FloatType` (4),
/// `LongType`, `DoubleType` and `TimestampType` (8), `UUIDType` and
/// `AbstractTimeUUIDType` (16), and `VectorType` itself (element length × dimension,
/// when its element is fixed). Everything else is variable, including types whose
/// values happen to have one size: `counter`, `smallint`, `tinyint`, `date`, `time`
/// (scylladb/gocql PR #849 documents the same list for the same reason).
pub(crate) fn vector_element_len(typ: &ColumnType) -> Option<usize> {
    // A loop rather than recursion: a hostile type may nest vectors thousands deep.
    let mut len: usize = 1;
    let mut t = typ;
    loop {
        let leaf = match t {
            ColumnType::Boolean => 1,
            ColumnType::Int | ColumnType::Float => 4,
            ColumnType::Bigint | ColumnType::Double | ColumnType::Timestamp => 8,
            ColumnType::Uuid | ColumnType::Timeuuid => 16,
            ColumnType::Vector(inner, n) => {
                len = len.saturating_mul(*n as usize);
                t = inner;
                continue;
            }
            _ => return None,
        };
        return Some(len.saturating_mul(leaf));
    }
}

impl CqlValue {
    /// Appends the serialised value for a column of type `typ`, without the outer
    /// `[bytes]` length.
    ///
    /// Fails if the value does not fit the type (`expected int, found text`), if a
    /// length or count does not fit the wire, if nesting passes [`MAX_VALUE_DEPTH`], or
    /// if the value is invalid for the type (non-ASCII text for `ascii`, a UUID of
    /// another version for `timeuuid`, a vector of the wrong dimension). On failure
    /// `buf` is left as it was.
    ///
    /// Leniencies, each harmless on the wire: `Text` may be written to `ascii` (if it
    /// is ASCII) and `Ascii` to `text`; `Bigint` and `Counter` to either of `bigint`
    /// and `counter`; `Timeuuid` to `uuid` and `Uuid` to `timeuuid` (if version 1);
    /// `Blob` to a custom type; [`CqlValue::Empty`] to any type. Set and map elements
    /// are written in the order given (the server sorts them).
    pub fn encode(&self, typ: &ColumnType, buf: &mut BytesMut) -> Result<(), ValueError> {
        let start = buf.len();
        let result = encode_value(self, typ, buf, 0);
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }
}

fn encode_value(v: &CqlValue, typ: &ColumnType, buf: &mut BytesMut, depth: usize) -> Result<(), ValueError> {
    use ColumnType as T;
    use CqlValue as V;
    if depth >= MAX_VALUE_DEPTH {
        return Err(ValueError::TooDeep { max: MAX_VALUE_DEPTH });
    }
    match (typ, v) {
        (_, V::Empty) => {}
        (T::Custom(_), V::Custom(b) | V::Blob(b)) | (T::Blob, V::Blob(b)) => buf.put_slice(b),
        (T::Ascii, V::Ascii(s) | V::Text(s)) => {
            check_ascii(s.as_bytes())?;
            buf.put_slice(s.as_bytes());
        }
        (T::Varchar, V::Text(s) | V::Ascii(s)) => buf.put_slice(s.as_bytes()),
        (T::Bigint | T::Counter, V::Bigint(n) | V::Counter(n)) => buf.put_i64(*n),
        (T::Boolean, V::Boolean(b)) => buf.put_u8(u8::from(*b)),
        (T::Decimal, V::Decimal(d)) => {
            buf.put_i32(d.scale);
            buf.put_slice(d.unscaled.as_be_bytes());
        }
        (T::Double, V::Double(x)) => buf.put_f64(*x),
        (T::Float, V::Float(x)) => buf.put_f32(*x),
        (T::Int, V::Int(n)) => buf.put_i32(*n),
        (T::Timestamp, V::Timestamp(t)) => buf.put_i64(t.0),
        (T::Uuid, V::Uuid(u) | V::Timeuuid(u)) => buf.put_slice(u.as_bytes()),
        (T::Timeuuid, V::Timeuuid(u) | V::Uuid(u)) => {
            check_timeuuid(u)?;
            buf.put_slice(u.as_bytes());
        }
        (T::Varint, V::Varint(n)) => buf.put_slice(n.as_be_bytes()),
        (T::Inet, V::Inet(IpAddr::V4(a))) => buf.put_slice(&a.octets()),
        (T::Inet, V::Inet(IpAddr::V6(a))) => buf.put_slice(&a.octets()),
        (T::Date, V::Date(d)) => buf.put_u32(d.0),
        (T::Time, V::Time(t)) => buf.put_i64(t.nanoseconds()),
        (T::Smallint, V::Smallint(n)) => buf.put_i16(*n),
        (T::Tinyint, V::Tinyint(n)) => buf.put_i8(*n),
        (T::Duration, V::Duration(d)) => {
            // spec v5 §5.8: three [vint]s.
            put_vint(buf, i64::from(d.months()));
            put_vint(buf, i64::from(d.days()));
            put_vint(buf, d.nanoseconds());
        }
        (T::List(elem), V::List(items)) | (T::Set(elem), V::Set(items)) => {
            // spec v5 §5.12, §5.14: [int] n, then n [bytes].
            put_count(buf, items.len(), "collection element count")?;
            for item in items {
                put_element(buf, item, elem, depth)?;
            }
        }
        (T::Map(kt, vt), V::Map(entries)) => {
            put_count(buf, entries.len(), "map entry count")?;
            for (k, val) in entries {
                put_element(buf, k, kt, depth)?;
                put_element(buf, val, vt, depth)?;
            }
        }
        (T::Tuple(types), V::Tuple(items)) => {
            // spec v5 §5.21: one [bytes] per element, null allowed.
            if items.len() > types.len() {
                return Err(ValueError::WrongCount { typ: typ.to_string(), expected: types.len(), found: items.len() });
            }
            for (item, t) in items.iter().zip(types) {
                put_nullable(buf, item.as_ref(), t, depth)?;
            }
        }
        (T::Udt(udt), V::Udt { keyspace, name, fields }) => encode_udt(udt, keyspace, name, fields, buf, depth)?,
        (T::Vector(elem, n), V::Vector(items)) => encode_vector(typ, elem, *n, items, buf, depth)?,
        _ => return Err(ValueError::mismatch(typ, v.type_name())),
    }
    Ok(())
}

fn check_ascii(b: &[u8]) -> Result<(), ValueError> {
    match b.iter().position(|c| !c.is_ascii()) {
        None => Ok(()),
        Some(at) => Err(ValueError::invalid("ascii", format!("byte {:#04x} at offset {at} is not 7-bit ASCII", b[at]))),
    }
}

pub(crate) fn check_timeuuid(u: &Uuid) -> Result<(), ValueError> {
    match u.get_version_num() {
        1 => Ok(()),
        v => Err(ValueError::invalid("timeuuid", format!("{u} is a version {v} UUID; timeuuid takes version 1 only"))),
    }
}

fn put_count(buf: &mut BytesMut, n: usize, what: &'static str) -> Result<(), ValueError> {
    let n = i32::try_from(n).map_err(|_| ValueError::out_of_range(what, n))?;
    buf.put_i32(n);
    Ok(())
}

/// A `[bytes]` element: a 4-byte length written after the element is.
fn put_element(buf: &mut BytesMut, v: &CqlValue, typ: &ColumnType, depth: usize) -> Result<(), ValueError> {
    let at = buf.len();
    buf.put_i32(0);
    encode_value(v, typ, buf, depth + 1)?;
    let len = buf.len() - at - 4;
    let len = i32::try_from(len).map_err(|_| ValueError::out_of_range("[bytes] element length", len))?;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_nullable(buf: &mut BytesMut, v: Option<&CqlValue>, typ: &ColumnType, depth: usize) -> Result<(), ValueError> {
    match v {
        None => {
            buf.put_i32(-1);
            Ok(())
        }
        Some(v) => put_element(buf, v, typ, depth),
    }
}

fn encode_udt(
    udt: &UdtType,
    keyspace: &str,
    name: &str,
    fields: &[(String, Option<CqlValue>)],
    buf: &mut BytesMut,
    depth: usize,
) -> Result<(), ValueError> {
    // An unnamed value fits any UDT; a named one must name this one.
    if (!name.is_empty() && name != udt.name) || (!keyspace.is_empty() && keyspace != udt.keyspace) {
        return Err(ValueError::mismatch(format_args!("{}.{}", udt.keyspace, udt.name), format!("{keyspace}.{name}")));
    }
    // spec v5 §6: fields in the order of the type; trailing ones may be left out.
    let mut slots: Vec<Option<Option<&CqlValue>>> = vec![None; udt.fields.len()];
    for (field, value) in fields {
        let Some(i) = udt.fields.iter().position(|(n, _)| n == field) else {
            return Err(ValueError::invalid(
                "UDT field",
                format!("{}.{} has no field '{field}'", udt.keyspace, udt.name),
            ));
        };
        if slots[i].is_some() {
            return Err(ValueError::invalid("UDT field", format!("field '{field}' is given twice")));
        }
        slots[i] = Some(value.as_ref());
    }
    let last = slots.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    for (slot, (_, t)) in slots[..last].iter().zip(&udt.fields) {
        put_nullable(buf, slot.flatten(), t, depth)?;
    }
    Ok(())
}

fn encode_vector(
    typ: &ColumnType,
    elem: &ColumnType,
    dimension: u32,
    items: &[CqlValue],
    buf: &mut BytesMut,
    depth: usize,
) -> Result<(), ValueError> {
    if items.len() != dimension as usize {
        return Err(ValueError::WrongCount { typ: typ.to_string(), expected: dimension as usize, found: items.len() });
    }
    match vector_element_len(elem) {
        // Fixed-length elements are concatenated (spec v5 §5.25).
        Some(len) => {
            for item in items {
                let at = buf.len();
                encode_value(item, elem, buf, depth + 1)?;
                let written = buf.len() - at;
                if written != len {
                    // Only an empty value can be short; no fixed type writes more.
                    return Err(ValueError::invalid(
                        "vector element",
                        format!("{typ} needs {len}-byte elements, found {written} bytes ({})", item.type_name()),
                    ));
                }
            }
        }
        // Variable-length elements each follow their [unsigned vint] length.
        None => {
            let mut scratch = BytesMut::new();
            for item in items {
                scratch.clear();
                encode_value(item, elem, &mut scratch, depth + 1)?;
                put_unsigned_vint(buf, scratch.len() as u64);
                buf.put_slice(&scratch);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::value::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlVarint};
    use bytes::Bytes;

    fn enc(v: &CqlValue, t: &ColumnType) -> Vec<u8> {
        let mut b = BytesMut::new();
        v.encode(t, &mut b).unwrap_or_else(|e| panic!("{v:?} as {t}: {e}"));
        b.to_vec()
    }

    fn enc_err(v: &CqlValue, t: &ColumnType) -> String {
        let mut b = BytesMut::from(&b"keep"[..]);
        let e = v.encode(t, &mut b).unwrap_err();
        assert_eq!(&b[..], b"keep", "buffer restored after error");
        e.to_string()
    }

    fn list(t: ColumnType) -> ColumnType {
        ColumnType::List(Box::new(t))
    }

    fn vector(t: ColumnType, n: u32) -> ColumnType {
        ColumnType::Vector(Box::new(t), n)
    }

    #[test]
    fn simple_layouts() {
        use ColumnType as T;
        use CqlValue as V;
        assert_eq!(enc(&V::Int(-2), &T::Int), [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(enc(&V::Counter(1), &T::Counter), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(enc(&V::Bigint(1), &T::Counter), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(enc(&V::Boolean(true), &T::Boolean), [1]);
        assert_eq!(enc(&V::Smallint(-1), &T::Smallint), [0xff, 0xff]);
        assert_eq!(enc(&V::Tinyint(5), &T::Tinyint), [5]);
        assert_eq!(enc(&V::Text("é".into()), &T::Varchar), "é".as_bytes());
        assert_eq!(enc(&V::Ascii("a".into()), &T::Varchar), b"a");
        assert_eq!(enc(&V::Date(CqlDate::UNIX_EPOCH), &T::Date), [0x80, 0, 0, 0]);
        assert_eq!(enc(&V::Time(CqlTime::new(1).unwrap()), &T::Time), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(enc(&V::Timestamp(CqlTimestamp(-1)), &T::Timestamp), [0xff; 8]);
        assert_eq!(enc(&V::Inet("1.2.3.4".parse().unwrap()), &T::Inet), [1, 2, 3, 4]);
        assert_eq!(enc(&V::Inet("::1".parse().unwrap()), &T::Inet).len(), 16);
        assert_eq!(enc(&V::Varint(CqlVarint::from(-129)), &T::Varint), [0xff, 0x7f]);
        // spec v5 §5.6: [int] scale, then the varint: 123.45 = 12345 × 10^-2.
        assert_eq!(enc(&V::Decimal(CqlDecimal::new(12345, 2)), &T::Decimal), [0, 0, 0, 2, 0x30, 0x39]);
        // spec v5 §5.8: zig-zag [vint]s: -1 month is 1, -2 days 3, -3 ns 5.
        let d = CqlDuration::new(-1, -2, -3).unwrap();
        assert_eq!(enc(&V::Duration(d), &T::Duration), [1, 3, 5]);
        assert_eq!(enc(&V::Empty, &T::Int), [] as [u8; 0]);
        assert_eq!(enc(&V::Custom(Bytes::from_static(b"xy")), &T::Custom("a.B".into())), b"xy");
    }

    #[test]
    fn collections_and_tuples() {
        use ColumnType as T;
        use CqlValue as V;
        let v = V::List(vec![V::Int(1), V::Int(2)]);
        assert_eq!(enc(&v, &list(T::Int)), [0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]);
        let m = V::Map(vec![(V::Text("a".into()), V::Int(1))]);
        let mt = T::Map(Box::new(T::Varchar), Box::new(T::Int));
        assert_eq!(enc(&m, &mt), [0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 4, 0, 0, 0, 1]);
        let tt = T::Tuple(vec![T::Int, T::Varchar, T::Boolean]);
        let t = V::Tuple(vec![Some(V::Int(7)), None]);
        assert_eq!(enc(&t, &tt), [0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff]);
        let too_many = V::Tuple(vec![None, None, None, None]);
        assert_eq!(enc_err(&too_many, &tt), "tuple<int, text, boolean> takes 3 element(s), found 4");
    }

    #[test]
    fn udt_fields_by_name() {
        use ColumnType as T;
        use CqlValue as V;
        let udt = T::Udt(Box::new(UdtType {
            keyspace: "ks".into(),
            name: "addr".into(),
            fields: vec![("street".into(), T::Varchar), ("zip".into(), T::Int), ("extra".into(), T::Blob)],
        }));
        let fields = |f: Vec<(&str, Option<CqlValue>)>| V::Udt {
            keyspace: String::new(),
            name: String::new(),
            fields: f.into_iter().map(|(n, v)| (n.to_owned(), v)).collect(),
        };
        // Out of order and short: written in type order, trailing field left out.
        let v = fields(vec![("zip", Some(V::Int(1))), ("street", None)]);
        assert_eq!(enc(&v, &udt), [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0, 0, 0, 1]);
        assert_eq!(enc_err(&fields(vec![("nope", None)]), &udt), "invalid UDT field: ks.addr has no field 'nope'");
        assert_eq!(
            enc_err(&fields(vec![("zip", None), ("zip", None)]), &udt),
            "invalid UDT field: field 'zip' is given twice"
        );
        let other = V::Udt { keyspace: "ks".into(), name: "person".into(), fields: vec![] };
        assert_eq!(enc_err(&other, &udt), "expected ks.addr, found ks.person");
    }

    #[test]
    fn vectors_fixed_and_variable() {
        use ColumnType as T;
        use CqlValue as V;
        let v = V::Vector(vec![V::Float(1.0), V::Float(2.0)]);
        assert_eq!(enc(&v, &vector(T::Float, 2)), [0x3f, 0x80, 0, 0, 0x40, 0, 0, 0]);
        // smallint is variable-length in Cassandra's vectors: a vint length before each.
        let v = V::Vector(vec![V::Smallint(1), V::Smallint(2)]);
        assert_eq!(enc(&v, &vector(T::Smallint, 2)), [2, 0, 1, 2, 0, 2]);
        let v = V::Vector(vec![V::Text("ab".into())]);
        assert_eq!(enc(&v, &vector(T::Varchar, 1)), [2, b'a', b'b']);
        // A vector of fixed vectors is fixed: no prefixes at all.
        let v = V::Vector(vec![V::Vector(vec![V::Int(1)]), V::Vector(vec![V::Int(2)])]);
        assert_eq!(enc(&v, &vector(vector(T::Int, 1), 2)), [0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(
            enc_err(&V::Vector(vec![V::Float(1.0)]), &vector(T::Float, 3)),
            "vector<float, 3> takes 3 element(s), found 1"
        );
        assert_eq!(
            enc_err(&V::Vector(vec![V::Empty]), &vector(T::Float, 1)),
            "invalid vector element: vector<float, 1> needs 4-byte elements, found 0 bytes (empty value)"
        );
        for (t, fixed) in [
            (T::Boolean, Some(1)),
            (T::Int, Some(4)),
            (T::Float, Some(4)),
            (T::Bigint, Some(8)),
            (T::Double, Some(8)),
            (T::Timestamp, Some(8)),
            (T::Uuid, Some(16)),
            (T::Timeuuid, Some(16)),
            (vector(T::Double, 3), Some(24)),
            (vector(T::Varchar, 3), None),
            (T::Counter, None),
            (T::Smallint, None),
            (T::Tinyint, None),
            (T::Date, None),
            (T::Time, None),
            (T::Duration, None),
            (T::Varint, None),
            (T::Decimal, None),
            (T::Inet, None),
            (T::Varchar, None),
            (list(T::Int), None),
            (T::Tuple(vec![T::Int]), None),
        ] {
            assert_eq!(vector_element_len(&t), fixed, "{t}");
        }
    }

    #[test]
    fn mismatches_name_both_types() {
        use ColumnType as T;
        use CqlValue as V;
        assert_eq!(enc_err(&V::Text("x".into()), &T::Int), "expected int, found text");
        assert_eq!(enc_err(&V::List(vec![V::Text("x".into())]), &list(T::Int)), "expected int, found text");
        assert_eq!(enc_err(&V::Set(vec![]), &list(T::Int)), "expected list<int>, found set");
        assert_eq!(enc_err(&V::Text("é".into()), &T::Ascii), "invalid ascii: byte 0xc3 at offset 0 is not 7-bit ASCII");
        let v4 = Uuid::from_bytes([
            0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x41, 0x11, 0x81, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        ]);
        assert_eq!(
            enc_err(&V::Uuid(v4), &T::Timeuuid),
            "invalid timeuuid: 11111111-1111-4111-8111-111111111111 is a version 4 UUID; timeuuid takes version 1 only"
        );
    }

    #[test]
    fn depth_is_limited() {
        let mut v = CqlValue::Int(1);
        let mut t = ColumnType::Int;
        for _ in 0..MAX_VALUE_DEPTH {
            v = CqlValue::List(vec![v]);
            t = list(t);
        }
        assert_eq!(enc_err(&v, &t), "value nests deeper than 64 levels");
    }
}
