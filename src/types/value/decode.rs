//! Reading a [`CqlValue`] of a known column type from its serialised form (spec v5 §5,
//! §6), strictly: exact lengths, valid text, checked counts, bounded nesting, and never
//! a panic whatever the bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use uuid::Uuid;

use super::cql_value::{CqlValue, MAX_VALUE_DEPTH};
use super::encode::{check_timeuuid, vector_element_len};
use super::error::ValueError;
use super::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlVarint};
use crate::protocol::DecodeError;
use crate::protocol::column_type::{ColumnType, UdtType};
use crate::protocol::wire::Reader;

impl CqlValue {
    /// Reads a value of type `typ` from `bytes`, the contents of a non-null `[bytes]`
    /// (without its length).
    ///
    /// - Zero bytes are [`CqlValue::Empty`] for every type but `ascii`, `text`, `blob`
    ///   and custom types, where they are the empty string or blob (spec v5 §5). A
    ///   tuple or UDT value with no fields at all is therefore read back as `Empty`.
    /// - Fixed-size types must have exactly their size; `text` must be UTF-8, `ascii`
    ///   7-bit, `timeuuid` version 1, `time` within a day, `duration` of one sign.
    /// - Counts are checked against the bytes left before anything is allocated; nulls
    ///   inside lists, sets, maps and vectors are errors; nesting is limited to
    ///   [`MAX_VALUE_DEPTH`]. Bytes left over after a value are an error.
    /// - `varint` bytes with redundant sign bytes are accepted (and normalised).
    pub fn decode(typ: &ColumnType, bytes: &[u8]) -> Result<CqlValue, ValueError> {
        decode_value(typ, bytes, 0)
    }
}

/// A cursor over the bytes of one value.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cursor { b, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ValueError> {
        if n > self.remaining() {
            return Err(ValueError::Truncated { what, needed: n, available: self.remaining() });
        }
        let out = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, ValueError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `[bytes]`: `None` for a negative length (null).
    fn bytes(&mut self, what: &'static str) -> Result<Option<&'a [u8]>, ValueError> {
        let n = self.i32(what)?;
        if n < 0 {
            return Ok(None);
        }
        self.take(n as usize, what).map(Some)
    }

    /// An `[unsigned vint]`, read with the protocol's reader from a copy of at most
    /// the nine bytes a vint can take.
    fn unsigned_vint(&mut self, what: &'static str) -> Result<u64, ValueError> {
        let rest = &self.b[self.pos..];
        let src = Bytes::copy_from_slice(&rest[..rest.len().min(9)]);
        let mut r = Reader::new(&src);
        let v = r.read_unsigned_vint(what).map_err(from_decode_error)?;
        self.pos += r.position();
        Ok(v)
    }

    fn finish(&self, what: &'static str) -> Result<(), ValueError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(ValueError::TrailingBytes { what, extra }),
        }
    }
}

fn from_decode_error(e: DecodeError) -> ValueError {
    match e {
        DecodeError::Truncated { what, needed, available, .. } => ValueError::Truncated { what, needed, available },
        DecodeError::Invalid { what, detail, .. } => ValueError::Invalid { what, detail },
        other => ValueError::invalid("value", other.to_string()),
    }
}

/// Exactly `N` bytes.
fn exact<const N: usize>(b: &[u8], what: &'static str) -> Result<[u8; N], ValueError> {
    match b.len() {
        n if n < N => Err(ValueError::Truncated { what, needed: N, available: n }),
        n if n > N => Err(ValueError::TrailingBytes { what, extra: n - N }),
        _ => {
            let mut out = [0u8; N];
            out.copy_from_slice(b);
            Ok(out)
        }
    }
}

fn decode_value(typ: &ColumnType, b: &[u8], depth: usize) -> Result<CqlValue, ValueError> {
    use ColumnType as T;
    use CqlValue as V;
    if depth >= MAX_VALUE_DEPTH {
        return Err(ValueError::TooDeep { max: MAX_VALUE_DEPTH });
    }
    if b.is_empty() && !matches!(typ, T::Ascii | T::Varchar | T::Blob | T::Custom(_)) {
        return Ok(V::Empty);
    }
    Ok(match typ {
        T::Custom(_) => V::Custom(Bytes::copy_from_slice(b)),
        T::Blob => V::Blob(Bytes::copy_from_slice(b)),
        T::Ascii => match b.iter().position(|c| !c.is_ascii()) {
            // ASCII is UTF-8, so the lossy conversion never replaces anything.
            None => V::Ascii(String::from_utf8_lossy(b).into_owned()),
            Some(at) => {
                return Err(ValueError::invalid(
                    "ascii",
                    format!("byte {:#04x} at offset {at} is not 7-bit ASCII", b[at]),
                ));
            }
        },
        T::Varchar => match std::str::from_utf8(b) {
            Ok(s) => V::Text(s.to_owned()),
            Err(e) => return Err(ValueError::invalid("text", format!("invalid UTF-8 at offset {}", e.valid_up_to()))),
        },
        T::Bigint => V::Bigint(i64::from_be_bytes(exact(b, "bigint")?)),
        T::Counter => V::Counter(i64::from_be_bytes(exact(b, "counter")?)),
        // spec v5 §5.4: any non-zero byte is true.
        T::Boolean => V::Boolean(exact::<1>(b, "boolean")?[0] != 0),
        T::Decimal => {
            if b.len() < 5 {
                return Err(ValueError::Truncated { what: "decimal", needed: 5, available: b.len() });
            }
            let scale = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            V::Decimal(CqlDecimal { unscaled: CqlVarint::from_be_bytes(&b[4..])?, scale })
        }
        T::Double => V::Double(f64::from_be_bytes(exact(b, "double")?)),
        T::Float => V::Float(f32::from_be_bytes(exact(b, "float")?)),
        T::Int => V::Int(i32::from_be_bytes(exact(b, "int")?)),
        T::Timestamp => V::Timestamp(CqlTimestamp(i64::from_be_bytes(exact(b, "timestamp")?))),
        T::Uuid => V::Uuid(Uuid::from_bytes(exact(b, "uuid")?)),
        T::Timeuuid => {
            let u = Uuid::from_bytes(exact(b, "timeuuid")?);
            check_timeuuid(&u)?;
            V::Timeuuid(u)
        }
        T::Varint => V::Varint(CqlVarint::from_be_bytes(b)?),
        T::Inet => match b.len() {
            4 => V::Inet(IpAddr::V4(Ipv4Addr::from(exact::<4>(b, "inet")?))),
            16 => V::Inet(IpAddr::V6(Ipv6Addr::from(exact::<16>(b, "inet")?))),
            n => return Err(ValueError::invalid("inet", format!("{n} bytes, expected 4 (IPv4) or 16 (IPv6)"))),
        },
        T::Date => V::Date(CqlDate(u32::from_be_bytes(exact(b, "date")?))),
        T::Time => V::Time(CqlTime::new(i64::from_be_bytes(exact(b, "time")?))?),
        T::Smallint => V::Smallint(i16::from_be_bytes(exact(b, "smallint")?)),
        T::Tinyint => V::Tinyint(i8::from_be_bytes(exact(b, "tinyint")?)),
        T::Duration => V::Duration(decode_duration(b)?),
        T::List(elem) => V::List(decode_elements(elem, b, depth, "list")?),
        T::Set(elem) => V::Set(decode_elements(elem, b, depth, "set")?),
        T::Map(kt, vt) => V::Map(decode_map(kt, vt, b, depth)?),
        T::Tuple(types) => {
            let mut c = Cursor::new(b);
            let items = decode_fields(&mut c, types.iter(), depth, "tuple element")?;
            c.finish("tuple")?;
            V::Tuple(items)
        }
        T::Udt(udt) => decode_udt(udt, b, depth)?,
        T::Vector(elem, n) => V::Vector(decode_vector(elem, *n, b, depth)?),
    })
}

fn decode_duration(b: &[u8]) -> Result<CqlDuration, ValueError> {
    // spec v5 §5.8: three [vint]s; months and days must fit 32 bits.
    let src = Bytes::copy_from_slice(b);
    let mut r = Reader::new(&src);
    let months = r.read_vint("duration months").map_err(from_decode_error)?;
    let days = r.read_vint("duration days").map_err(from_decode_error)?;
    let nanos = r.read_vint("duration nanoseconds").map_err(from_decode_error)?;
    if !r.is_empty() {
        return Err(ValueError::TrailingBytes { what: "duration", extra: r.remaining() });
    }
    let months = i32::try_from(months).map_err(|_| ValueError::out_of_range("duration months", months))?;
    let days = i32::try_from(days).map_err(|_| ValueError::out_of_range("duration days", days))?;
    CqlDuration::new(months, days, nanos)
}

/// The `[int]` count of a collection, checked against the bytes left: each element
/// takes at least `min_each` bytes.
fn read_count(c: &mut Cursor<'_>, min_each: usize, what: &'static str) -> Result<usize, ValueError> {
    let n = c.i32(what)?;
    if n < 0 {
        return Err(ValueError::invalid(what, format!("{n} is negative")));
    }
    let n = n as usize;
    let needed = n.saturating_mul(min_each);
    if needed > c.remaining() {
        return Err(ValueError::Truncated { what, needed, available: c.remaining() });
    }
    Ok(n)
}

/// A non-null `[bytes]` element of a collection.
fn element<'a>(c: &mut Cursor<'a>, context: &'static str) -> Result<&'a [u8], ValueError> {
    c.bytes("collection element")?.ok_or(ValueError::NullNotAllowed { context })
}

fn decode_elements(
    elem: &ColumnType,
    b: &[u8],
    depth: usize,
    context: &'static str,
) -> Result<Vec<CqlValue>, ValueError> {
    // spec v5 §5.12, §5.14
    let mut c = Cursor::new(b);
    let n = read_count(&mut c, 4, "collection element count")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(decode_value(elem, element(&mut c, context)?, depth + 1)?);
    }
    c.finish(context)?;
    Ok(out)
}

fn decode_map(
    kt: &ColumnType,
    vt: &ColumnType,
    b: &[u8],
    depth: usize,
) -> Result<Vec<(CqlValue, CqlValue)>, ValueError> {
    // spec v5 §5.13
    let mut c = Cursor::new(b);
    let n = read_count(&mut c, 8, "map entry count")?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let k = decode_value(kt, element(&mut c, "map")?, depth + 1)?;
        let v = decode_value(vt, element(&mut c, "map")?, depth + 1)?;
        out.push((k, v));
    }
    c.finish("map")?;
    Ok(out)
}

/// Nullable `[bytes]` fields while bytes remain, at most one per type (tuples and
/// UDTs may end early, spec v5 §6).
fn decode_fields<'t>(
    c: &mut Cursor<'_>,
    types: impl Iterator<Item = &'t ColumnType>,
    depth: usize,
    what: &'static str,
) -> Result<Vec<Option<CqlValue>>, ValueError> {
    let mut out = Vec::new();
    for t in types {
        if c.remaining() == 0 {
            break;
        }
        out.push(match c.bytes(what)? {
            None => None,
            Some(field) => Some(decode_value(t, field, depth + 1)?),
        });
    }
    Ok(out)
}

fn decode_udt(udt: &UdtType, b: &[u8], depth: usize) -> Result<CqlValue, ValueError> {
    let mut c = Cursor::new(b);
    let values = decode_fields(&mut c, udt.fields.iter().map(|(_, t)| t), depth, "UDT field")?;
    c.finish("UDT value")?;
    let fields = udt.fields.iter().zip(values).map(|((name, _), v)| (name.clone(), v)).collect();
    Ok(CqlValue::Udt { keyspace: udt.keyspace.clone(), name: udt.name.clone(), fields })
}

fn decode_vector(elem: &ColumnType, dimension: u32, b: &[u8], depth: usize) -> Result<Vec<CqlValue>, ValueError> {
    let n = dimension as usize;
    match vector_element_len(elem) {
        // A zero-dimension vector can only come from a hand-built type; a value of it has
        // no bytes, and zero bytes were taken for the empty value before this point.
        Some(0) => Err(ValueError::TrailingBytes { what: "vector", extra: b.len() }),
        // spec v5 §5.25: fixed-length elements back to back.
        Some(len) => {
            let total = n.saturating_mul(len);
            if b.len() < total {
                return Err(ValueError::Truncated { what: "vector", needed: total, available: b.len() });
            }
            if b.len() > total {
                return Err(ValueError::TrailingBytes { what: "vector", extra: b.len() - total });
            }
            b.chunks_exact(len).map(|e| decode_value(elem, e, depth + 1)).collect()
        }
        // Variable-length elements: [unsigned vint] length, then the element.
        None => {
            // Each element takes at least its one-byte length.
            if n > b.len() {
                return Err(ValueError::Truncated { what: "vector elements", needed: n, available: b.len() });
            }
            let mut c = Cursor::new(b);
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let len = c.unsigned_vint("vector element length")?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                out.push(decode_value(elem, c.take(len, "vector element")?, depth + 1)?);
            }
            c.finish("vector")?;
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::value::strategies::typed_value;
    use bytes::{BufMut, BytesMut};
    use proptest::prelude::*;

    fn list(t: ColumnType) -> ColumnType {
        ColumnType::List(Box::new(t))
    }

    fn encode(v: &CqlValue, t: &ColumnType) -> Vec<u8> {
        let mut b = BytesMut::new();
        v.encode(t, &mut b).unwrap_or_else(|e| panic!("{v:?} as {t}: {e}"));
        b.to_vec()
    }

    fn err(t: &ColumnType, b: &[u8]) -> String {
        CqlValue::decode(t, b).unwrap_err().to_string()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_type_round_trips((t, v) in typed_value()) {
            let bytes = encode(&v, &t);
            let back = CqlValue::decode(&t, &bytes).unwrap_or_else(|e| panic!("{v:?} as {t}: {e}"));
            prop_assert_eq!(&back, &v, "type {}", t);
        }

        #[test]
        fn every_prefix_and_any_garbage_is_safe(
            (t, v) in typed_value(),
            garbage in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let bytes = encode(&v, &t);
            for cut in 0..bytes.len() {
                let _ = CqlValue::decode(&t, &bytes[..cut]);
            }
            let _ = CqlValue::decode(&t, &garbage);
            // A byte more is an error wherever the length is not the value's own.
            use ColumnType as T;
            let own_length = matches!(t, T::Ascii | T::Varchar | T::Blob | T::Custom(_) | T::Varint | T::Decimal);
            if !own_length && v != CqlValue::Empty {
                let mut extended = bytes.clone();
                extended.push(0);
                prop_assert!(CqlValue::decode(&t, &extended).is_err(), "{} with a trailing byte", t);
            }
        }
    }

    #[test]
    fn nan_round_trips_bitwise() {
        let nan = f64::from_bits(0x7ff8_0000_0000_0001);
        let b = encode(&CqlValue::Double(nan), &ColumnType::Double);
        match CqlValue::decode(&ColumnType::Double, &b).unwrap() {
            CqlValue::Double(x) => assert_eq!(x.to_bits(), nan.to_bits()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_values() {
        use ColumnType as T;
        for t in [T::Int, T::Bigint, T::Boolean, T::Decimal, T::Varint, T::Uuid, T::Inet, T::Timestamp, list(T::Int)] {
            assert_eq!(CqlValue::decode(&t, &[]).unwrap(), CqlValue::Empty, "{t}");
        }
        assert_eq!(CqlValue::decode(&T::Varchar, &[]).unwrap(), CqlValue::Text(String::new()));
        assert_eq!(CqlValue::decode(&T::Ascii, &[]).unwrap(), CqlValue::Ascii(String::new()));
        assert_eq!(CqlValue::decode(&T::Blob, &[]).unwrap(), CqlValue::Blob(Bytes::new()));
        assert_eq!(CqlValue::decode(&T::Custom("x.Y".into()), &[]).unwrap(), CqlValue::Custom(Bytes::new()));
    }

    #[test]
    fn strict_simple_types() {
        use ColumnType as T;
        assert_eq!(err(&T::Int, &[0, 0, 1]), "truncated int: needs 4 bytes, 3 left");
        assert_eq!(err(&T::Int, &[0, 0, 0, 0, 1]), "1 unexpected bytes after the int");
        assert_eq!(err(&T::Bigint, &[0; 7]), "truncated bigint: needs 8 bytes, 7 left");
        assert_eq!(err(&T::Varchar, &[b'a', 0xff]), "invalid text: invalid UTF-8 at offset 1");
        assert_eq!(err(&T::Ascii, &[b'a', 0x80]), "invalid ascii: byte 0x80 at offset 1 is not 7-bit ASCII");
        assert_eq!(err(&T::Inet, &[1, 2, 3]), "invalid inet: 3 bytes, expected 4 (IPv4) or 16 (IPv6)");
        assert_eq!(err(&T::Decimal, &[0, 0, 0, 1]), "truncated decimal: needs 5 bytes, 4 left");
        assert_eq!(err(&T::Time, &(-1i64).to_be_bytes()), "-1 ns is out of range for time");
        let v4 = [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x41, 0x11, 0x81, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11];
        assert!(err(&T::Timeuuid, &v4).ends_with("is a version 4 UUID; timeuuid takes version 1 only"));
        assert!(matches!(CqlValue::decode(&T::Uuid, &v4), Ok(CqlValue::Uuid(_))));
        assert_eq!(CqlValue::decode(&T::Boolean, &[7]).unwrap(), CqlValue::Boolean(true));
        assert_eq!(CqlValue::decode(&T::Varint, &[0, 0, 0x7f]).unwrap(), CqlValue::Varint(CqlVarint::from(127)));
        // Durations: mixed signs, months past 32 bits, trailing bytes, truncated vint.
        assert_eq!(
            err(&T::Duration, &[2, 1, 0]),
            "invalid duration: months 1, days -1 and nanoseconds 0 must all have the same sign"
        );
        let mut b = BytesMut::new();
        crate::protocol::wire::put_vint(&mut b, i64::from(i32::MAX) + 1);
        b.put_slice(&[0, 0]);
        assert_eq!(err(&T::Duration, &b), "2147483648 is out of range for duration months");
        assert_eq!(err(&T::Duration, &[0, 0, 0, 0]), "1 unexpected bytes after the duration");
        assert!(err(&T::Duration, &[0, 0, 0xff]).starts_with("truncated duration nanoseconds"));
    }

    #[test]
    fn hostile_counts_and_lengths() {
        use ColumnType as T;
        let mut b = vec![0x7f, 0xff, 0xff, 0xff];
        b.extend_from_slice(&[0; 12]);
        assert_eq!(err(&list(T::Int), &b), "truncated collection element count: needs 8589934588 bytes, 12 left");
        let map = T::Map(Box::new(T::Int), Box::new(T::Int));
        assert_eq!(err(&map, &b), "truncated map entry count: needs 17179869176 bytes, 12 left");
        assert_eq!(err(&list(T::Int), &[0xff, 0xff, 0xff, 0xfe]), "invalid collection element count: -2 is negative");
        // A null element, then a negative length other than -1: both are null.
        assert_eq!(err(&list(T::Int), &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]), "null is not allowed as a list element");
        assert_eq!(
            err(&T::Set(Box::new(T::Int)), &[0, 0, 0, 1, 0x80, 0, 0, 0]),
            "null is not allowed as a set element"
        );
        // An element length past the end.
        assert_eq!(
            err(&list(T::Int), &[0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]),
            "truncated collection element: needs 2147483647 bytes, 0 left"
        );
        // Tuples: nulls are fine, a huge field length is not.
        let tt = T::Tuple(vec![T::Int, T::Int]);
        assert_eq!(
            CqlValue::decode(&tt, &[0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0]).unwrap(),
            CqlValue::Tuple(vec![None, None])
        );
        assert_eq!(err(&tt, &[0x7f, 0xff, 0xff, 0xff]), "truncated tuple element: needs 2147483647 bytes, 0 left");
        assert_eq!(err(&T::Tuple(vec![T::Int]), &[0xff, 0xff, 0xff, 0xff, 0]), "1 unexpected bytes after the tuple");
        // Vectors: a dimension of u32::MAX cannot allocate before failing.
        let vt = T::Vector(Box::new(T::Float), u32::MAX);
        assert_eq!(err(&vt, &[0; 8]), "truncated vector: needs 17179869180 bytes, 8 left");
        let vt = T::Vector(Box::new(T::Varchar), u32::MAX);
        assert_eq!(err(&vt, &[0; 8]), "truncated vector elements: needs 4294967295 bytes, 8 left");
        let vt = T::Vector(Box::new(T::Varchar), 2);
        assert_eq!(err(&vt, &[1, b'a', 0xff]), "truncated vector element length: needs 8 bytes, 0 left");
        assert_eq!(err(&vt, &[1, b'a', 5, b'b']), "truncated vector element: needs 5 bytes, 1 left");
        assert_eq!(err(&vt, &[1, b'a', 1, b'b', 0]), "1 unexpected bytes after the vector");
        let vt = T::Vector(Box::new(T::Float), 2);
        assert_eq!(err(&vt, &[0; 9]), "1 unexpected bytes after the vector");
        let vt = T::Vector(Box::new(T::Vector(Box::new(T::Float), 0)), 2);
        assert_eq!(err(&vt, &[0]), "1 unexpected bytes after the vector");
    }

    #[test]
    fn ten_thousand_deep_lists_are_an_error() {
        // A 10 000-deep list<list<...<int>>> and matching bytes, built and dropped on a
        // roomy stack (dropping such a type recurses); decoding stops at 64 levels.
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(|| {
                let mut t = ColumnType::Int;
                let mut bytes = 7i32.to_be_bytes().to_vec();
                for _ in 0..10_000 {
                    t = list(t);
                    let mut outer = vec![0, 0, 0, 1];
                    outer.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                    outer.extend_from_slice(&bytes);
                    bytes = outer;
                }
                assert_eq!(err(&t, &bytes), "value nests deeper than 64 levels");
                // The same bytes against a shallow type are just malformed.
                assert!(CqlValue::decode(&list(list(ColumnType::Int)), &bytes).is_err());
                // And a deep vector type is classified without recursion.
                let mut vt = ColumnType::Float;
                for _ in 0..10_000 {
                    vt = ColumnType::Vector(Box::new(vt), 2);
                }
                assert!(CqlValue::decode(&vt, &[0; 16]).is_err());
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn truncation_at_every_offset_of_samples() {
        use crate::protocol::column_type::UdtType;
        use ColumnType as T;
        use CqlValue as V;
        let udt = T::Udt(Box::new(UdtType {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: vec![("a".into(), T::Int), ("b".into(), list(T::Varchar))],
        }));
        let samples = [
            (
                T::Map(Box::new(T::Varchar), Box::new(list(T::Int))),
                V::Map(vec![(V::Text("k".into()), V::List(vec![V::Int(1), V::Int(2)]))]),
            ),
            (
                T::Tuple(vec![T::Int, T::Varchar, T::Double]),
                V::Tuple(vec![Some(V::Int(1)), None, Some(V::Double(2.5))]),
            ),
            (
                udt,
                V::Udt {
                    keyspace: "ks".into(),
                    name: "u".into(),
                    fields: vec![("a".into(), Some(V::Int(1))), ("b".into(), Some(V::List(vec![V::Text("x".into())])))],
                },
            ),
            (T::Vector(Box::new(T::Varchar), 2), V::Vector(vec![V::Text("ab".into()), V::Text("c".into())])),
            (T::Vector(Box::new(T::Double), 2), V::Vector(vec![V::Double(1.0), V::Double(2.0)])),
            (T::Duration, V::Duration(CqlDuration::new(1, 2, 3_000_000_000).unwrap())),
            (T::Decimal, V::Decimal(CqlDecimal::new(-12345678901234i64, 3))),
        ];
        for (t, v) in samples {
            let bytes = encode(&v, &t);
            assert_eq!(CqlValue::decode(&t, &bytes).unwrap(), v);
            for cut in 1..bytes.len() {
                // Tuples and UDTs may legitimately end after a whole field.
                if let Ok(short) = CqlValue::decode(&t, &bytes[..cut]) {
                    assert!(
                        matches!(short, V::Tuple(_) | V::Udt { .. } | V::Decimal(_)),
                        "{t} cut at {cut}: {short:?}"
                    );
                }
            }
        }
    }
}
