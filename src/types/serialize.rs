//! Rust values to bound values: [`SerializeValue`] writes one `[value]` (spec v5 §3,
//! §5, §6) for a column type, [`SerializeRow`] writes a statement's whole list of
//! values through a [`RowWriter`] into a [`Values`].
//!
//! Owns the mapping from Rust types to CQL types, with a direct path for each scalar
//! (an `i32` is four bytes written in place, no [`CqlValue`] is built), the type checks
//! against prepared metadata, the "natural" CQL type used when there is no metadata
//! (an unprepared QUERY), and the positional and by-name row forms. Dynamic values go
//! through [`CqlValue::encode`]; nothing here re-implements it.
//!
//! # The `[value]` contract
//!
//! [`SerializeValue::serialize`] appends exactly one `[value]` to the buffer: a 4-byte
//! big-endian length then that many bytes, or the length alone, `-1` for null and `-2`
//! for "not set". The same form is used for the elements of collections, tuples and
//! vectors, so a container calls its elements' `serialize` and checks their headers (a
//! null inside a list is an error, an unset inside anything is). [`RowWriter`] checks
//! every value it is handed against this contract, so a faulty hand-written
//! implementation gives [`SerializeError::Malformed`], never a corrupt frame. On error
//! an implementation may leave partial output: every caller here truncates the buffer
//! back to where the value started.

use std::any::type_name;
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::error::SerializeError;
use crate::protocol::column_type::{ColumnType, UdtType};
use crate::protocol::response::ColumnSpec;
use crate::protocol::values::{Values, ValuesWriter};
use crate::protocol::wire::{put_string, put_unsigned_vint, put_vint};
use crate::types::value::{
    CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint, MAX_VALUE_DEPTH, ValueError,
};

/// `[value]` length of a null.
const NULL: i32 = -1;
/// `[value]` length of "not set" (v4+).
const UNSET: i32 = -2;
/// Most values one request can bind: the count is a `[short]`.
const MAX_VALUES: usize = u16::MAX as usize;

/// A Rust value that can be written as one bound value (or collection element).
///
/// Implementations exist for the integers, floats, `bool`, strings, byte strings, [`Uuid`],
/// IP addresses, [`SystemTime`], the scalar types of [`crate::value`], `Vec`, slices,
/// arrays, maps, sets, tuples of up to 16 elements, `Option` (null), [`Unset`],
/// [`MaybeUnset`], [`CqlValue`], and references, `Box`, `Rc` and `Arc` of those.
///
/// | Rust | CQL types it is written as |
/// |---|---|
/// | `i8`, `i16`, `i32` | `tinyint`, `smallint`, `int` respectively; `varint` |
/// | `i64` | `bigint`, `counter`, `varint` |
/// | `f32`, `f64`, `bool` | `float`, `double`, `boolean` |
/// | `str`, `String` | `text`, `ascii` (checked to be ASCII) |
/// | `[u8]`, `[u8; N]`, `Vec<u8>`, `Bytes` | `blob`, custom types |
/// | `Uuid` | `uuid`, `timeuuid` (checked to be version 1) |
/// | `IpAddr`, `Ipv4Addr`, `Ipv6Addr` | `inet` |
/// | `SystemTime`, `CqlTimestamp` | `timestamp` |
/// | `CqlDate`, `CqlTime`, `CqlDuration`, `CqlVarint`, `CqlDecimal` | `date`, `time`, `duration`, `varint`, `decimal` |
/// | `Vec<T>`, `[T]`, `[T; N]` | `list<T>`, `set<T>`, `vector<T, n>` (length checked) |
/// | `HashSet<T>`, `BTreeSet<T>` | `set<T>` |
/// | `HashMap<K, V>`, `BTreeMap<K, V>` | `map<K, V>` |
/// | `(A, B, ...)` | `tuple<A, B, ...>` of the same arity |
/// | `CqlValue` | whatever [`CqlValue::encode`] accepts (UDTs among them) |
///
/// Element types are checked as elements are written, so an empty collection fits a
/// collection column of any element type (the bytes are the same).
pub trait SerializeValue {
    /// Appends one `[value]` (length included) of this value as CQL type `typ`.
    ///
    /// Fails with [`SerializeError::TypeMismatch`] when the Rust type has no encoding
    /// for `typ`, or another variant when this value does not fit it.
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError>;

    /// The CQL type this value is written as when no metadata is known (an unprepared
    /// QUERY): `int` for `i32`, `text` for strings, `blob` for bytes, `list<int>` for
    /// `Vec<i32>`, ... `None` when the type does not say (the default, for types
    /// implemented outside this crate).
    ///
    /// A value whose bytes do not depend on a type (null, unset) reports `blob`, and so
    /// does the element type of an empty collection.
    fn natural_type(&self) -> Option<ColumnType> {
        None
    }

    /// Appends one `[value]` written as [`SerializeValue::natural_type`].
    fn serialize_untyped(&self, out: &mut BytesMut) -> Result<(), SerializeError> {
        match self.natural_type() {
            Some(t) => self.serialize(&t, out),
            None => Err(SerializeError::NoNaturalType { rust_type: type_name::<Self>() }),
        }
    }
}

/// A bound value that is "not set" (spec v4+ §4.1.4): the column keeps its value, and
/// no tombstone is written, unlike a null.
///
/// Only a whole bound value may be unset, never an element of a collection or tuple.
/// Protocol v3 has no unset values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Unset;

/// A value that may be left [`Unset`], for a row type whose columns are set in some rows
/// and not in others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MaybeUnset<T> {
    /// Not set.
    #[default]
    Unset,
    /// Set to this value (an `Option` inside can still make it null).
    Set(T),
}

// ---------------------------------------------------------------------------------------
// Writing helpers
// ---------------------------------------------------------------------------------------

fn too_large(what: &'static str, len: usize, max: usize) -> SerializeError {
    SerializeError::TooLarge { what, len, max }
}

/// A `[value]` of these bytes.
fn put_value(out: &mut BytesMut, body: &[u8]) -> Result<(), SerializeError> {
    let len = i32::try_from(body.len()).map_err(|_| too_large("value length", body.len(), i32::MAX as usize))?;
    out.reserve(4 + body.len());
    out.put_i32(len);
    out.put_slice(body);
    Ok(())
}

/// A fixed-size `[value]`.
fn put_fixed<const N: usize>(out: &mut BytesMut, body: [u8; N]) -> Result<(), SerializeError> {
    out.reserve(4 + N);
    out.put_i32(N as i32);
    out.put_slice(&body);
    Ok(())
}

/// A `[value]` whose body `write` appends; the length is patched in afterwards. On error
/// `out` is restored.
fn put_with_len(
    out: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), SerializeError>,
) -> Result<(), SerializeError> {
    let at = out.len();
    out.put_i32(0);
    let result = write(out).and_then(|()| {
        let len = out.len() - at - 4;
        let n = i32::try_from(len).map_err(|_| too_large("value length", len, i32::MAX as usize))?;
        out[at..at + 4].copy_from_slice(&n.to_be_bytes());
        Ok(())
    });
    if result.is_err() {
        out.truncate(at);
    }
    result
}

/// The `[int]` element count of a collection.
fn put_count(out: &mut BytesMut, n: usize) -> Result<(), SerializeError> {
    let n = i32::try_from(n).map_err(|_| too_large("collection size", n, i32::MAX as usize))?;
    out.put_i32(n);
    Ok(())
}

/// The header of the `[value]` written at `at`, and whether it spans exactly to the end
/// of `out`: the check that a `serialize` call appended one well-formed value.
fn written_value(out: &[u8], at: usize) -> Option<i32> {
    let head = out.get(at..)?.first_chunk::<4>()?;
    let len = i32::from_be_bytes(*head);
    let body = out.len() - at - 4;
    match len {
        NULL | UNSET if body == 0 => Some(len),
        n if n >= 0 && n as usize == body => Some(len),
        _ => None,
    }
}

/// Writes a collection element: a `[value]` that must be neither null nor unset.
fn put_element<T: SerializeValue + ?Sized>(
    outer: &'static str,
    context: &'static str,
    item: &T,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializeError> {
    let at = out.len();
    item.serialize(typ, out)?;
    match written_value(out, at) {
        Some(NULL) => Err(SerializeError::NullElement { rust_type: outer, context }),
        Some(UNSET) => Err(SerializeError::UnsetElement { context }),
        Some(_) => Ok(()),
        None => Err(SerializeError::Malformed { rust_type: type_name::<T>() }),
    }
}

/// Writes a tuple field: a `[value]` that may be null but not unset.
fn put_field<T: SerializeValue + ?Sized>(item: &T, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
    let at = out.len();
    item.serialize(typ, out)?;
    match written_value(out, at) {
        Some(UNSET) => Err(SerializeError::UnsetElement { context: "tuple" }),
        Some(_) => Ok(()),
        None => Err(SerializeError::Malformed { rust_type: type_name::<T>() }),
    }
}

/// Cassandra's fixed-length rule for vector elements lives in the value layer; one
/// definition serves both.
use crate::types::value::vector_element_len;

/// Writes `items` as a list, set or vector of `typ`; `kinds` says which of the three
/// the Rust type may be written as.
fn put_sequence<'a, T, I>(
    outer: &'static str,
    items: I,
    typ: &ColumnType,
    out: &mut BytesMut,
    kinds: Sequence,
) -> Result<(), SerializeError>
where
    T: SerializeValue + 'a + ?Sized,
    I: ExactSizeIterator<Item = &'a T>,
{
    match typ {
        ColumnType::List(elem) if kinds.list => put_collection(outer, "list", items, elem, out),
        ColumnType::Set(elem) if kinds.set => put_collection(outer, "set", items, elem, out),
        ColumnType::Vector(elem, n) if kinds.vector => put_vector(outer, items, typ, elem, *n, out),
        _ => Err(SerializeError::TypeMismatch { rust_type: outer, cql_type: Box::new(typ.clone()) }),
    }
}

#[derive(Clone, Copy)]
struct Sequence {
    list: bool,
    set: bool,
    vector: bool,
}

const LIST_SET_VECTOR: Sequence = Sequence { list: true, set: true, vector: true };
const SET_ONLY: Sequence = Sequence { list: false, set: true, vector: false };

fn put_collection<'a, T, I>(
    outer: &'static str,
    context: &'static str,
    items: I,
    elem: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializeError>
where
    T: SerializeValue + 'a + ?Sized,
    I: ExactSizeIterator<Item = &'a T>,
{
    // spec v5 §5.12, §5.14: [int] n, then n [bytes].
    put_with_len(out, |out| {
        put_count(out, items.len())?;
        for item in items {
            put_element(outer, context, item, elem, out)?;
        }
        Ok(())
    })
}

fn put_vector<'a, T, I>(
    outer: &'static str,
    items: I,
    typ: &ColumnType,
    elem: &ColumnType,
    dimension: u32,
    out: &mut BytesMut,
) -> Result<(), SerializeError>
where
    T: SerializeValue + 'a + ?Sized,
    I: ExactSizeIterator<Item = &'a T>,
{
    if items.len() != dimension as usize {
        return Err(SerializeError::WrongCount {
            rust_type: outer,
            cql_type: Box::new(typ.clone()),
            expected: dimension as usize,
            found: items.len(),
        });
    }
    let fixed = vector_element_len(elem);
    // Each element is written whole into a scratch buffer (reused), then its body is
    // copied out without the 4-byte length: vectors carry no [bytes] lengths.
    let mut scratch = BytesMut::new();
    put_with_len(out, |out| {
        for item in items {
            scratch.clear();
            put_element(outer, "vector", item, elem, &mut scratch)?;
            let body = &scratch[4..];
            match fixed {
                // spec v5 §5.25: fixed-length elements back to back.
                Some(len) if body.len() != len => {
                    return Err(SerializeError::InvalidValue {
                        rust_type: outer,
                        cql_type: Box::new(typ.clone()),
                        reason: Box::new(ValueError::invalid(
                            "vector element",
                            format!("{typ} needs {len}-byte elements, found {} bytes", body.len()),
                        )),
                    });
                }
                Some(_) => {}
                // Variable-length elements each follow their [unsigned vint] length.
                None => put_unsigned_vint(out, body.len() as u64),
            }
            out.put_slice(body);
        }
        Ok(())
    })
}

fn put_map<'a, K, V, I>(
    outer: &'static str,
    entries: I,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializeError>
where
    K: SerializeValue + 'a + ?Sized,
    V: SerializeValue + 'a + ?Sized,
    I: ExactSizeIterator<Item = (&'a K, &'a V)>,
{
    let ColumnType::Map(kt, vt) = typ else {
        return Err(SerializeError::TypeMismatch { rust_type: outer, cql_type: Box::new(typ.clone()) });
    };
    // spec v5 §5.13: [int] n, then n key/value pairs of [bytes].
    put_with_len(out, |out| {
        put_count(out, entries.len())?;
        for (k, v) in entries {
            put_element(outer, "map", k, kt, out)?;
            put_element(outer, "map", v, vt, out)?;
        }
        Ok(())
    })
}

fn check_ascii<T: ?Sized>(typ: &ColumnType, b: &[u8]) -> Result<(), SerializeError> {
    match b.iter().position(|c| !c.is_ascii()) {
        None => Ok(()),
        Some(at) => Err(SerializeError::invalid::<T>(
            typ,
            ValueError::invalid("ascii", format!("byte {:#04x} at offset {at} is not 7-bit ASCII", b[at])),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

/// Integers: their own CQL type, and `varint`.
macro_rules! integer {
    ($t:ty, $natural:expr, $($variant:pat),+) => {
        impl SerializeValue for $t {
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
                match typ {
                    $($variant)|+ => put_fixed(out, self.to_be_bytes()),
                    ColumnType::Varint => put_value(out, CqlVarint::from(*self).as_be_bytes()),
                    _ => Err(SerializeError::mismatch::<Self>(typ)),
                }
            }

            fn natural_type(&self) -> Option<ColumnType> {
                Some($natural)
            }
        }
    };
}

integer!(i8, ColumnType::Tinyint, ColumnType::Tinyint);
integer!(i16, ColumnType::Smallint, ColumnType::Smallint);
integer!(i32, ColumnType::Int, ColumnType::Int);
integer!(i64, ColumnType::Bigint, ColumnType::Bigint | ColumnType::Counter);

/// Types with one CQL type and a fixed-size big-endian form.
macro_rules! fixed {
    ($t:ty, $variant:ident, |$v:ident| $bytes:expr) => {
        impl SerializeValue for $t {
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
                match typ {
                    ColumnType::$variant => {
                        let $v = self;
                        put_fixed(out, $bytes)
                    }
                    _ => Err(SerializeError::mismatch::<Self>(typ)),
                }
            }

            fn natural_type(&self) -> Option<ColumnType> {
                Some(ColumnType::$variant)
            }
        }
    };
}

fixed!(f32, Float, |v| v.to_be_bytes());
fixed!(f64, Double, |v| v.to_be_bytes());
fixed!(bool, Boolean, |v| [u8::from(*v)]);
fixed!(CqlDate, Date, |v| v.0.to_be_bytes());
fixed!(CqlTime, Time, |v| v.nanoseconds().to_be_bytes());
fixed!(CqlTimestamp, Timestamp, |v| v.0.to_be_bytes());
fixed!(Ipv4Addr, Inet, |v| v.octets());
fixed!(Ipv6Addr, Inet, |v| v.octets());

impl SerializeValue for IpAddr {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match (typ, self) {
            (ColumnType::Inet, IpAddr::V4(a)) => put_fixed(out, a.octets()),
            (ColumnType::Inet, IpAddr::V6(a)) => put_fixed(out, a.octets()),
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Inet)
    }
}

impl SerializeValue for SystemTime {
    /// Truncated to whole milliseconds (towards the past), as [`CqlTimestamp`] does.
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            ColumnType::Timestamp => {
                let t = CqlTimestamp::try_from(*self).map_err(|e| SerializeError::invalid::<Self>(typ, e))?;
                put_fixed(out, t.0.to_be_bytes())
            }
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Timestamp)
    }
}

impl SerializeValue for Uuid {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            ColumnType::Uuid => put_fixed(out, *self.as_bytes()),
            ColumnType::Timeuuid => match self.get_version_num() {
                1 => put_fixed(out, *self.as_bytes()),
                v => Err(SerializeError::invalid::<Self>(
                    typ,
                    ValueError::invalid(
                        "timeuuid",
                        format!("{self} is a version {v} UUID; timeuuid takes version 1 only"),
                    ),
                )),
            },
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Uuid)
    }
}

impl SerializeValue for CqlDuration {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            // spec v5 §5.8: three [vint]s.
            ColumnType::Duration => put_with_len(out, |out| {
                put_vint(out, i64::from(self.months()));
                put_vint(out, i64::from(self.days()));
                put_vint(out, self.nanoseconds());
                Ok(())
            }),
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Duration)
    }
}

impl SerializeValue for CqlVarint {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            ColumnType::Varint => put_value(out, self.as_be_bytes()),
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Varint)
    }
}

impl SerializeValue for CqlDecimal {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            // spec v5 §5.6: [int] scale, then the unscaled varint.
            ColumnType::Decimal => put_with_len(out, |out| {
                out.put_i32(self.scale);
                out.put_slice(self.unscaled.as_be_bytes());
                Ok(())
            }),
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Decimal)
    }
}

/// Errors name the type as `&str`, the form it is written in.
impl SerializeValue for str {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            ColumnType::Varchar => put_value(out, self.as_bytes()),
            ColumnType::Ascii => {
                check_ascii::<&str>(typ, self.as_bytes())?;
                put_value(out, self.as_bytes())
            }
            _ => Err(SerializeError::mismatch::<&str>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Varchar)
    }
}

impl SerializeValue for String {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match typ {
            ColumnType::Varchar | ColumnType::Ascii => self.as_str().serialize(typ, out),
            _ => Err(SerializeError::mismatch::<Self>(typ)),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Varchar)
    }
}

/// Byte strings: `blob` and custom types (whose bytes are opaque).
macro_rules! blob {
    ($t:ty) => {
        blob!($t, $t);
    };
    ($t:ty, $name:ty) => {
        impl SerializeValue for $t {
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
                match typ {
                    ColumnType::Blob | ColumnType::Custom(_) => put_value(out, self.as_ref()),
                    _ => Err(SerializeError::mismatch::<$name>(typ)),
                }
            }

            fn natural_type(&self) -> Option<ColumnType> {
                Some(ColumnType::Blob)
            }
        }
    };
}

// Errors name the unsized types as the references they are written as.
blob!([u8], &[u8]);
blob!(Vec<u8>);
blob!(Bytes);

/// A fixed-size byte array (a hash, a key) is a `blob` too.
impl<const N: usize> SerializeValue for [u8; N] {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        self.as_slice().serialize(typ, out).map_err(|e| match e {
            SerializeError::TypeMismatch { cql_type, .. } => {
                SerializeError::TypeMismatch { rust_type: type_name::<Self>(), cql_type }
            }
            other => other,
        })
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Blob)
    }
}

impl SerializeValue for Unset {
    fn serialize(&self, _typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        out.put_i32(UNSET);
        Ok(())
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Blob)
    }
}

impl<T: SerializeValue> SerializeValue for MaybeUnset<T> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match self {
            MaybeUnset::Unset => Unset.serialize(typ, out),
            MaybeUnset::Set(v) => v.serialize(typ, out),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        match self {
            MaybeUnset::Unset => Some(ColumnType::Blob),
            MaybeUnset::Set(v) => v.natural_type(),
        }
    }
}

impl<T: SerializeValue> SerializeValue for Option<T> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        match self {
            None => {
                out.put_i32(NULL);
                Ok(())
            }
            Some(v) => v.serialize(typ, out),
        }
    }

    fn natural_type(&self) -> Option<ColumnType> {
        match self {
            None => Some(ColumnType::Blob),
            Some(v) => v.natural_type(),
        }
    }
}

impl SerializeValue for CqlValue {
    /// Through [`CqlValue::encode`], with its leniencies (`Text` to `ascii`, `Empty` to
    /// any type, ...).
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_with_len(out, |out| self.encode(typ, out).map_err(|e| SerializeError::invalid::<Self>(typ, e)))
    }

    /// Read off the value: `List([Int(1)])` is `list<int>`, a UDT value is the UDT of
    /// its fields' types. Elements of an empty collection, null fields and `Empty` are
    /// `blob`.
    fn natural_type(&self) -> Option<ColumnType> {
        Some(natural_type_of(self, 0))
    }
}

/// The CQL type a [`CqlValue`] is written as without metadata. Past the nesting limit
/// it gives up with `blob`, so a hostile value cannot exhaust the stack here; encoding
/// then fails on the same limit.
fn natural_type_of(v: &CqlValue, depth: usize) -> ColumnType {
    use ColumnType as T;
    use CqlValue as V;
    if depth >= MAX_VALUE_DEPTH {
        return T::Blob;
    }
    let of = |v: Option<&CqlValue>| v.map_or(T::Blob, |v| natural_type_of(v, depth + 1));
    match v {
        V::Ascii(_) => T::Ascii,
        V::Bigint(_) => T::Bigint,
        V::Blob(_) | V::Empty => T::Blob,
        V::Boolean(_) => T::Boolean,
        V::Counter(_) => T::Counter,
        V::Decimal(_) => T::Decimal,
        V::Double(_) => T::Double,
        V::Float(_) => T::Float,
        V::Int(_) => T::Int,
        V::Timestamp(_) => T::Timestamp,
        V::Uuid(_) => T::Uuid,
        V::Text(_) => T::Varchar,
        V::Varint(_) => T::Varint,
        V::Timeuuid(_) => T::Timeuuid,
        V::Inet(_) => T::Inet,
        V::Date(_) => T::Date,
        V::Time(_) => T::Time,
        V::Smallint(_) => T::Smallint,
        V::Tinyint(_) => T::Tinyint,
        V::Duration(_) => T::Duration,
        V::List(items) => T::List(Box::new(of(items.first()))),
        V::Set(items) => T::Set(Box::new(of(items.first()))),
        V::Map(entries) => {
            let first = entries.first();
            T::Map(Box::new(of(first.map(|(k, _)| k))), Box::new(of(first.map(|(_, v)| v))))
        }
        V::Tuple(items) => T::Tuple(items.iter().map(|i| of(i.as_ref())).collect()),
        V::Udt { keyspace, name, fields } => T::Udt(Box::new(UdtType {
            keyspace: keyspace.clone(),
            name: name.clone(),
            fields: fields.iter().map(|(n, v)| (n.clone(), of(v.as_ref()))).collect(),
        })),
        V::Vector(items) => T::Vector(Box::new(of(items.first())), u32::try_from(items.len()).unwrap_or(u32::MAX)),
        V::Custom(_) => T::Custom(String::new()),
    }
}

// ---------------------------------------------------------------------------------------
// Pointers
// ---------------------------------------------------------------------------------------

macro_rules! forward {
    ($($ptr:ty),*) => {$(
        impl<T: SerializeValue + ?Sized> SerializeValue for $ptr {
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
                (**self).serialize(typ, out)
            }

            fn natural_type(&self) -> Option<ColumnType> {
                (**self).natural_type()
            }

            fn serialize_untyped(&self, out: &mut BytesMut) -> Result<(), SerializeError> {
                (**self).serialize_untyped(out)
            }
        }
    )*};
}

forward!(&T, Box<T>, Rc<T>, Arc<T>);

// ---------------------------------------------------------------------------------------
// Collections
// ---------------------------------------------------------------------------------------

/// The natural type of a list or set: its first element's, or `blob` when empty.
fn element_type<'a, T: SerializeValue + 'a>(mut items: impl Iterator<Item = &'a T>) -> Option<ColumnType> {
    match items.next() {
        Some(first) => first.natural_type(),
        None => Some(ColumnType::Blob),
    }
}

impl<T: SerializeValue> SerializeValue for [T] {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_sequence(type_name::<&[T]>(), self.iter(), typ, out, LIST_SET_VECTOR)
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::List(Box::new(element_type(self.iter())?)))
    }
}

impl<T: SerializeValue> SerializeValue for Vec<T> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_sequence(type_name::<Self>(), self.iter(), typ, out, LIST_SET_VECTOR)
    }

    fn natural_type(&self) -> Option<ColumnType> {
        self.as_slice().natural_type()
    }
}

impl<T: SerializeValue, const N: usize> SerializeValue for [T; N] {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_sequence(type_name::<Self>(), self.iter(), typ, out, LIST_SET_VECTOR)
    }

    /// `list<T>`: a fixed length does not make a `vector` (bind those prepared).
    fn natural_type(&self) -> Option<ColumnType> {
        self.as_slice().natural_type()
    }
}

impl<T: SerializeValue, S: BuildHasher> SerializeValue for HashSet<T, S> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_sequence(type_name::<Self>(), self.iter(), typ, out, SET_ONLY)
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Set(Box::new(element_type(self.iter())?)))
    }
}

impl<T: SerializeValue> SerializeValue for BTreeSet<T> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_sequence(type_name::<Self>(), self.iter(), typ, out, SET_ONLY)
    }

    fn natural_type(&self) -> Option<ColumnType> {
        Some(ColumnType::Set(Box::new(element_type(self.iter())?)))
    }
}

/// The natural type of a map: its first entry's, or `map<blob, blob>` when empty.
fn map_type<'a, K, V>(mut entries: impl Iterator<Item = (&'a K, &'a V)>) -> Option<ColumnType>
where
    K: SerializeValue + 'a,
    V: SerializeValue + 'a,
{
    let (k, v) = match entries.next() {
        Some((k, v)) => (k.natural_type()?, v.natural_type()?),
        None => (ColumnType::Blob, ColumnType::Blob),
    };
    Some(ColumnType::Map(Box::new(k), Box::new(v)))
}

impl<K: SerializeValue, V: SerializeValue, S: BuildHasher> SerializeValue for HashMap<K, V, S> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_map(type_name::<Self>(), self.iter(), typ, out)
    }

    fn natural_type(&self) -> Option<ColumnType> {
        map_type(self.iter())
    }
}

impl<K: SerializeValue, V: SerializeValue> SerializeValue for BTreeMap<K, V> {
    fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
        put_map(type_name::<Self>(), self.iter(), typ, out)
    }

    fn natural_type(&self) -> Option<ColumnType> {
        map_type(self.iter())
    }
}

// ---------------------------------------------------------------------------------------
// Tuples (values and rows)
// ---------------------------------------------------------------------------------------

macro_rules! tuples {
    ($($n:literal => ($($T:ident $i:tt),+);)+) => {$(
        impl<$($T: SerializeValue),+> SerializeValue for ($($T,)+) {
            /// A `tuple<...>` of the same arity (spec v5 §5.21); fields may be null.
            fn serialize(&self, typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
                let ColumnType::Tuple(types) = typ else {
                    return Err(SerializeError::mismatch::<Self>(typ));
                };
                if types.len() != $n {
                    return Err(SerializeError::WrongCount {
                        rust_type: type_name::<Self>(),
                        cql_type: Box::new(typ.clone()),
                        expected: types.len(),
                        found: $n,
                    });
                }
                put_with_len(out, |out| {
                    $(put_field(&self.$i, &types[$i], out)?;)+
                    Ok(())
                })
            }

            fn natural_type(&self) -> Option<ColumnType> {
                Some(ColumnType::Tuple(vec![$(self.$i.natural_type()?),+]))
            }
        }

        impl<$($T: SerializeValue),+> SerializeRow for ($($T,)+) {
            fn serialize_row(&self, columns: &[ColumnSpec], out: &mut RowWriter) -> Result<(), SerializeError> {
                if columns.len() != $n {
                    return Err(SerializeError::ValueCount { expected: columns.len(), given: $n });
                }
                $(out.push(&columns[$i], &self.$i)?;)+
                Ok(())
            }

            fn serialize_row_untyped(&self, out: &mut RowWriter) -> Result<(), SerializeError> {
                $(out.push_untyped(&self.$i)?;)+
                Ok(())
            }

            fn is_empty(&self) -> bool {
                false
            }
        }
    )+};
}

for_tuple_arities!(tuples);

// ---------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------

/// The values of one statement, as a QUERY, EXECUTE or BATCH carries them.
///
/// Implemented for `()`, tuples (positional), slices, arrays and `Vec`s of values
/// (positional; `&[&dyn SerializeValue]` and `Vec<CqlValue>` among them), and
/// `HashMap`/`BTreeMap` from names to values (matched to bind markers by name).
///
/// A derived implementation (`#[derive(SerializeRow)]`) walks `columns` and pushes the
/// field of each marker's name with [`RowWriter::push`], failing with
/// [`SerializeError::missing_value`] for a marker it has no field for.
pub trait SerializeRow {
    /// Writes the values for a prepared statement whose bind markers are `columns`,
    /// one [`RowWriter::push`] per marker, in marker order.
    fn serialize_row(&self, columns: &[ColumnSpec], out: &mut RowWriter) -> Result<(), SerializeError>;

    /// Writes the values without metadata (an unprepared QUERY): positional values with
    /// [`RowWriter::push_untyped`], or named ones with [`RowWriter::push_named_untyped`],
    /// each as its [natural type](SerializeValue::natural_type).
    ///
    /// The default fails with [`SerializeError::NeedsMetadata`].
    fn serialize_row_untyped(&self, out: &mut RowWriter) -> Result<(), SerializeError> {
        let _ = out;
        Err(SerializeError::NeedsMetadata { rust_type: type_name::<Self>() })
    }

    /// Whether there are no values at all (a request can then leave out the Values flag).
    fn is_empty(&self) -> bool;
}

/// Collects the bound values of one statement, checking each against the
/// `[value]` contract.
///
/// All values are positional or all are named; the first push decides. [`RowWriter::finish`]
/// gives the [`Values`] a request carries.
#[derive(Debug, Default)]
pub struct RowWriter {
    values: Option<ValuesWriter>,
    count: usize,
    named: bool,
}

/// Room the first value reserves in a row's buffer: enough for a few small values, or
/// a key and a 100-byte blob, without regrowing.
const FIRST_RESERVE: usize = 128;

impl RowWriter {
    /// An empty list.
    pub fn new() -> RowWriter {
        RowWriter::default()
    }

    /// Values pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the values are named (only after a named push).
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// Appends the value for the bind marker `column`, checked against its type. Errors
    /// name the marker and its position; on error nothing is appended.
    pub fn push<V: SerializeValue + ?Sized>(&mut self, column: &ColumnSpec, value: &V) -> Result<(), SerializeError> {
        let index = self.count;
        self.append::<V>(None, |out| value.serialize(&column.typ, out)).map_err(|e| e.in_column(index, &column.name))
    }

    /// Appends a positional value as its natural type (no metadata).
    pub fn push_untyped<V: SerializeValue + ?Sized>(&mut self, value: &V) -> Result<(), SerializeError> {
        let index = self.count;
        self.append::<V>(None, |out| value.serialize_untyped(out)).map_err(|e| e.in_column(index, ""))
    }

    /// Appends a named value as its natural type (no metadata; the server matches the
    /// name to a bind marker).
    pub fn push_named_untyped<V: SerializeValue + ?Sized>(
        &mut self,
        name: &str,
        value: &V,
    ) -> Result<(), SerializeError> {
        let index = self.count;
        self.append::<V>(Some(name), |out| value.serialize_untyped(out)).map_err(|e| e.in_column(index, name))
    }

    /// Appends `name` (for a named list) and the `[value]` that `write` puts straight
    /// into the list's buffer, then checks it wrote exactly one well-formed value. On
    /// any error the buffer is cut back, so nothing of the failed value stays.
    fn append<V: ?Sized>(
        &mut self,
        name: Option<&str>,
        write: impl FnOnce(&mut BytesMut) -> Result<(), SerializeError>,
    ) -> Result<(), SerializeError> {
        if self.count >= MAX_VALUES {
            return Err(too_large("bound values", self.count + 1, MAX_VALUES));
        }
        let named = name.is_some();
        if self.values.is_some() && self.named != named {
            return Err(SerializeError::MixedNamedAndPositional);
        }
        self.named = named;
        let w = self.values.get_or_insert_with(|| ValuesWriter::with_capacity(named, FIRST_RESERVE));
        let out = w.buf_mut();
        let start = out.len();
        let written = (|| {
            if let Some(n) = name {
                put_string(out, n, "value name")
                    .map_err(|_| too_large("value name length", n.len(), u16::MAX as usize))?;
            }
            let at = out.len();
            write(out)?;
            match written_value(out, at) {
                Some(_) => Ok(()),
                None => Err(SerializeError::Malformed { rust_type: type_name::<V>() }),
            }
        })();
        if let Err(e) = written {
            out.truncate(start);
            return Err(e);
        }
        // Cannot fail: the count was checked against the same limit above.
        w.counted().map_err(|_| too_large("bound values", self.count + 1, MAX_VALUES))?;
        self.count += 1;
        Ok(())
    }

    /// The finished list.
    pub fn finish(self) -> Values {
        self.values.map_or_else(Values::empty, ValuesWriter::finish)
    }
}

/// The values of `row` for a prepared statement whose bind markers are `columns`.
///
/// Checks that every marker got a value, whatever the row type.
pub fn serialize_values<R: SerializeRow + ?Sized>(row: &R, columns: &[ColumnSpec]) -> Result<Values, SerializeError> {
    let mut w = RowWriter::new();
    row.serialize_row(columns, &mut w)?;
    if w.len() != columns.len() {
        return Err(SerializeError::ValueCount { expected: columns.len(), given: w.len() });
    }
    Ok(w.finish())
}

/// The values of `row` for an unprepared statement: each as its natural type.
pub fn serialize_values_untyped<R: SerializeRow + ?Sized>(row: &R) -> Result<Values, SerializeError> {
    let mut w = RowWriter::new();
    row.serialize_row_untyped(&mut w)?;
    Ok(w.finish())
}

impl SerializeRow for () {
    fn serialize_row(&self, columns: &[ColumnSpec], _out: &mut RowWriter) -> Result<(), SerializeError> {
        match columns.len() {
            0 => Ok(()),
            n => Err(SerializeError::ValueCount { expected: n, given: 0 }),
        }
    }

    fn serialize_row_untyped(&self, _out: &mut RowWriter) -> Result<(), SerializeError> {
        Ok(())
    }

    fn is_empty(&self) -> bool {
        true
    }
}

macro_rules! positional_rows {
    ($($(#[$doc:meta])* [$($gen:tt)*] $t:ty;)*) => {$(
        $(#[$doc])*
        impl<$($gen)*> SerializeRow for $t {
            fn serialize_row(&self, columns: &[ColumnSpec], out: &mut RowWriter) -> Result<(), SerializeError> {
                if columns.len() != self.len() {
                    return Err(SerializeError::ValueCount { expected: columns.len(), given: self.len() });
                }
                for (column, value) in columns.iter().zip(self.iter()) {
                    out.push(column, value)?;
                }
                Ok(())
            }

            fn serialize_row_untyped(&self, out: &mut RowWriter) -> Result<(), SerializeError> {
                for value in self.iter() {
                    out.push_untyped(value)?;
                }
                Ok(())
            }

            fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }
    )*};
}

positional_rows! {
    /// Positional values, such as `&[&dyn SerializeValue]`.
    [T: SerializeValue] [T];
    /// Positional values, such as `Vec<CqlValue>`.
    [T: SerializeValue] Vec<T>;
    /// Positional values of one type.
    [T: SerializeValue, const N: usize] [T; N];
}

/// Values by bind marker name (`:name` markers, or the column names of `?` markers).
fn serialize_by_name<'a, K, V>(
    columns: &[ColumnSpec],
    out: &mut RowWriter,
    get: impl Fn(&str) -> Option<&'a V>,
    mut keys: impl Iterator<Item = &'a K>,
) -> Result<(), SerializeError>
where
    K: Borrow<str> + 'a + ?Sized,
    V: SerializeValue + 'a,
{
    for column in columns {
        let value = get(&column.name).ok_or_else(|| SerializeError::missing_value(&column.name))?;
        out.push(column, value)?;
    }
    // A name no marker has is most likely a typo; refuse it rather than drop the value.
    if let Some(extra) = keys.find(|k| !columns.iter().any(|c| c.name == (*k).borrow())) {
        return Err(SerializeError::UnknownName { name: extra.borrow().to_owned() });
    }
    Ok(())
}

impl<K, V, S> SerializeRow for HashMap<K, V, S>
where
    K: Borrow<str> + Hash + Eq,
    V: SerializeValue,
    S: BuildHasher,
{
    fn serialize_row(&self, columns: &[ColumnSpec], out: &mut RowWriter) -> Result<(), SerializeError> {
        serialize_by_name(columns, out, |n| self.get(n), self.keys())
    }

    /// Named values.
    fn serialize_row_untyped(&self, out: &mut RowWriter) -> Result<(), SerializeError> {
        for (k, v) in self {
            out.push_named_untyped(k.borrow(), v)?;
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> SerializeRow for BTreeMap<K, V>
where
    K: Borrow<str> + Ord,
    V: SerializeValue,
{
    fn serialize_row(&self, columns: &[ColumnSpec], out: &mut RowWriter) -> Result<(), SerializeError> {
        serialize_by_name(columns, out, |n| self.get(n), self.keys())
    }

    /// Named values.
    fn serialize_row_untyped(&self, out: &mut RowWriter) -> Result<(), SerializeError> {
        for (k, v) in self {
            out.push_named_untyped(k.borrow(), v)?;
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.is_empty()
    }
}

macro_rules! forward_row {
    ($($ptr:ty),*) => {$(
        impl<R: SerializeRow + ?Sized> SerializeRow for $ptr {
            fn serialize_row(&self, columns: &[ColumnSpec], out: &mut RowWriter) -> Result<(), SerializeError> {
                (**self).serialize_row(columns, out)
            }

            fn serialize_row_untyped(&self, out: &mut RowWriter) -> Result<(), SerializeError> {
                (**self).serialize_row_untyped(out)
            }

            fn is_empty(&self) -> bool {
                (**self).is_empty()
            }
        }
    )*};
}

forward_row!(&R, Box<R>, Rc<R>, Arc<R>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ValueRef;
    use crate::types::tests::write;

    fn col(name: &str, typ: ColumnType) -> ColumnSpec {
        ColumnSpec::new("ks", "t", name, typ)
    }

    fn err_of<S: SerializeValue + ?Sized>(v: &S, typ: &ColumnType) -> String {
        let mut buf = BytesMut::from(&b"keep"[..]);
        let e = v.serialize(typ, &mut buf).unwrap_err();
        assert_eq!(&buf[..], b"keep", "buffer restored");
        e.to_string()
    }

    fn cells(v: &Values) -> Vec<(Option<&str>, ValueRef<'_>)> {
        v.iter().collect()
    }

    #[test]
    fn scalar_layouts() {
        assert_eq!(write(&-2i32, &ColumnType::Int).unwrap(), [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(write(&true, &ColumnType::Boolean).unwrap(), [1]);
        assert_eq!(write(&-129i64, &ColumnType::Varint).unwrap(), [0xff, 0x7f]);
        assert_eq!(write("é", &ColumnType::Varchar).unwrap(), "é".as_bytes());
        assert_eq!(write(&None::<i32>, &ColumnType::Int), None);
        let mut buf = BytesMut::new();
        Unset.serialize(&ColumnType::Int, &mut buf).unwrap();
        MaybeUnset::<i32>::Unset.serialize(&ColumnType::Int, &mut buf).unwrap();
        MaybeUnset::Set(None::<i32>).serialize(&ColumnType::Int, &mut buf).unwrap();
        assert_eq!(&buf[..], [0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff]);
        // Pointers write what they point to.
        let boxed: Box<dyn SerializeValue> = Box::new(5i16);
        assert_eq!(write(&boxed, &ColumnType::Smallint).unwrap(), [0, 5]);
        assert_eq!(write(&Arc::new("a".to_owned()), &ColumnType::Ascii).unwrap(), b"a");
        assert_eq!(write(&Rc::new(1i8), &ColumnType::Tinyint).unwrap(), [1]);
        assert_eq!(write(&[7u8; 3], &ColumnType::Blob).unwrap(), [7, 7, 7]);
        assert_eq!(err_of(&[7u8; 3], &ColumnType::Int), "cannot write Rust [u8; 3] as CQL type int");
    }

    #[test]
    fn mismatches_name_both_types() {
        assert_eq!(err_of(&1i32, &ColumnType::Bigint), "cannot write Rust i32 as CQL type bigint");
        assert_eq!(err_of("x", &ColumnType::Int), "cannot write Rust &str as CQL type int");
        assert_eq!(err_of(&1i64, &ColumnType::Timestamp), "cannot write Rust i64 as CQL type timestamp");
        assert_eq!(
            err_of(&vec![1i32], &ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Int))),
            "cannot write Rust Vec<i32> as CQL type map<int, int>"
        );
        assert_eq!(
            err_of(&vec!["a"], &ColumnType::List(Box::new(ColumnType::Int))),
            "cannot write Rust &str as CQL type int"
        );
        assert_eq!(
            err_of(&BTreeSet::from([1i32]), &ColumnType::List(Box::new(ColumnType::Int))),
            "cannot write Rust BTreeSet<i32> as CQL type list<int>"
        );
        assert_eq!(
            err_of(&(1i32, 2i32), &ColumnType::Tuple(vec![ColumnType::Int])),
            "Rust (i32, i32) has 2 element(s), but CQL type tuple<int> takes 1"
        );
        assert_eq!(
            err_of(&vec![1.0f32; 2], &ColumnType::Vector(Box::new(ColumnType::Float), 3)),
            "Rust Vec<f32> has 2 element(s), but CQL type vector<float, 3> takes 3"
        );
        assert_eq!(
            err_of(&CqlValue::Text("x".into()), &ColumnType::Int),
            "cannot write this Rust CqlValue as CQL type int: expected int, found text"
        );
    }

    #[test]
    fn invalid_values() {
        assert_eq!(
            err_of("é", &ColumnType::Ascii),
            "cannot write this Rust &str as CQL type ascii: invalid ascii: byte 0xc3 at offset 0 is not 7-bit ASCII"
        );
        let v4 = Uuid::from_u128(0x11111111_1111_4111_8111_111111111111);
        assert_eq!(
            err_of(&v4, &ColumnType::Timeuuid),
            "cannot write this Rust Uuid as CQL type timeuuid: invalid timeuuid: \
             11111111-1111-4111-8111-111111111111 is a version 4 UUID; timeuuid takes version 1 only"
        );
        let list = ColumnType::List(Box::new(ColumnType::Int));
        assert_eq!(err_of(&vec![Some(1), None], &list), "a list element cannot be null (Rust Vec<Option<i32>>)");
        assert_eq!(
            err_of(&vec![MaybeUnset::<i32>::Unset], &list),
            "unset is only allowed as a whole bound value, not inside a list"
        );
        assert_eq!(
            err_of(&(Unset,), &ColumnType::Tuple(vec![ColumnType::Int])),
            "unset is only allowed as a whole bound value, not inside a tuple"
        );
        // Null is fine inside a tuple.
        assert_eq!(write(&(None::<i32>,), &ColumnType::Tuple(vec![ColumnType::Int])).unwrap(), [0xff; 4]);
        let map = ColumnType::Map(Box::new(ColumnType::Int), Box::new(ColumnType::Int));
        assert_eq!(
            err_of(&BTreeMap::from([(1, None::<i32>)]), &map),
            "a map element cannot be null (Rust BTreeMap<i32, Option<i32>>)"
        );
    }

    #[test]
    fn rows_by_position() {
        let cols = [col("id", ColumnType::Int), col("name", ColumnType::Varchar)];
        let v = serialize_values(&(1, "a"), &cols).unwrap();
        assert!(!v.is_named());
        assert_eq!(cells(&v), [(None, ValueRef::Bytes(&[0, 0, 0, 1])), (None, ValueRef::Bytes(b"a"))]);
        // Null and unset as whole values.
        let v = serialize_values(&(None::<i32>, Unset), &cols).unwrap();
        assert_eq!(cells(&v), [(None, ValueRef::Null), (None, ValueRef::NotSet)]);
        // Slices of dyn values and Vec<CqlValue>.
        let dynamic: &[&dyn SerializeValue] = &[&2i32, &"b"];
        let v = serialize_values(dynamic, &cols).unwrap();
        assert_eq!(cells(&v)[0], (None, ValueRef::Bytes(&[0, 0, 0, 2])));
        let v = serialize_values(&vec![CqlValue::Int(3), CqlValue::Text("c".into())], &cols).unwrap();
        assert_eq!(cells(&v)[1], (None, ValueRef::Bytes(b"c")));

        assert_eq!(
            serialize_values(&(1,), &cols).unwrap_err().to_string(),
            "statement has 2 bind markers but 1 values were given"
        );
        assert_eq!(
            serialize_values(&[1, 2, 3], &cols).unwrap_err().to_string(),
            "statement has 2 bind markers but 3 values were given"
        );
        assert_eq!(
            serialize_values(&(), &cols).unwrap_err().to_string(),
            "statement has 2 bind markers but 0 values were given"
        );
        assert!(serialize_values(&(), &[]).unwrap().is_empty());
        assert!(SerializeRow::is_empty(&()));
        assert!(!SerializeRow::is_empty(&(1,)));
        let e = serialize_values(&(1, 2), &cols).unwrap_err();
        assert_eq!(e.to_string(), "bind marker `name` (position 1): cannot write Rust i32 as CQL type text");
        assert!(matches!(e, SerializeError::Column { index: 1, .. }));
        assert!(matches!(e.root(), SerializeError::TypeMismatch { rust_type: "i32", .. }));
    }

    #[test]
    fn rows_by_name() {
        let cols = [col("id", ColumnType::Int), col("name", ColumnType::Varchar), col("id", ColumnType::Int)];
        let m: HashMap<&str, CqlValue> =
            HashMap::from([("name", CqlValue::Text("x".into())), ("id", CqlValue::Int(4))]);
        let v = serialize_values(&m, &cols).unwrap();
        // In marker order; a name used twice is bound twice.
        assert_eq!(
            cells(&v),
            [
                (None, ValueRef::Bytes(&[0, 0, 0, 4])),
                (None, ValueRef::Bytes(b"x")),
                (None, ValueRef::Bytes(&[0, 0, 0, 4]))
            ]
        );
        let b: BTreeMap<String, i32> = BTreeMap::from([("id".to_owned(), 1)]);
        assert_eq!(serialize_values(&b, &cols).unwrap_err().to_string(), "no value given for bind marker `name`");
        let b: BTreeMap<&str, &dyn SerializeValue> = BTreeMap::from([
            ("id", &1 as &dyn SerializeValue),
            ("name", &"n" as &dyn SerializeValue),
            ("nmae", &"typo" as &dyn SerializeValue),
        ]);
        assert_eq!(
            serialize_values(&b, &cols).unwrap_err().to_string(),
            "a value is given for `nmae`, but the statement has no bind marker of that name"
        );
    }

    #[test]
    fn untyped_picks_natural_types() {
        let u = Uuid::from_u128(7);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let row = (
            1i32,
            "a",
            vec![1u8, 2],
            2i64,
            u,
            ip,
            CqlTimestamp(5),
            vec![1i16],
            BTreeMap::from([("k", 1.5f64)]),
            (true, None::<i8>),
            CqlValue::Set(vec![CqlValue::Float(1.0)]),
            Unset,
        );
        let v = serialize_values_untyped(&row).unwrap();
        let expected = [
            (ColumnType::Int, CqlValue::Int(1)),
            (ColumnType::Varchar, CqlValue::Text("a".into())),
            (ColumnType::Blob, CqlValue::Blob(Bytes::from_static(&[1, 2]))),
            (ColumnType::Bigint, CqlValue::Bigint(2)),
            (ColumnType::Uuid, CqlValue::Uuid(u)),
            (ColumnType::Inet, CqlValue::Inet(ip)),
            (ColumnType::Timestamp, CqlValue::Timestamp(CqlTimestamp(5))),
            (ColumnType::List(Box::new(ColumnType::Smallint)), CqlValue::List(vec![CqlValue::Smallint(1)])),
            (
                ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Double)),
                CqlValue::Map(vec![(CqlValue::Text("k".into()), CqlValue::Double(1.5))]),
            ),
            (
                ColumnType::Tuple(vec![ColumnType::Boolean, ColumnType::Blob]),
                CqlValue::Tuple(vec![Some(CqlValue::Boolean(true)), None]),
            ),
            (ColumnType::Set(Box::new(ColumnType::Float)), CqlValue::Set(vec![CqlValue::Float(1.0)])),
        ];
        let got = cells(&v);
        assert_eq!(got.len(), expected.len() + 1);
        for ((name, cell), (t, value)) in got.iter().zip(&expected) {
            assert_eq!(*name, None);
            let ValueRef::Bytes(b) = cell else { panic!("{t}: {cell:?}") };
            assert_eq!(&CqlValue::decode(t, b).unwrap(), value, "{t}");
        }
        assert_eq!(got[expected.len()].1, ValueRef::NotSet);
        assert_eq!(row.1.natural_type(), Some(ColumnType::Varchar));
        assert_eq!(Vec::<i32>::new().natural_type(), Some(ColumnType::List(Box::new(ColumnType::Blob))));
        assert_eq!(
            CqlValue::Vector(vec![CqlValue::Int(1); 3]).natural_type(),
            Some(ColumnType::Vector(Box::new(ColumnType::Int), 3))
        );

        // Maps bind by name.
        let v = serialize_values_untyped(&BTreeMap::from([("b", 2i32), ("a", 1)])).unwrap();
        assert!(v.is_named());
        assert_eq!(
            cells(&v),
            [(Some("a"), ValueRef::Bytes(&[0, 0, 0, 1])), (Some("b"), ValueRef::Bytes(&[0, 0, 0, 2]))]
        );
    }

    /// A value type implemented outside the crate, badly.
    #[derive(Debug)]
    struct Liar;

    impl SerializeValue for Liar {
        fn serialize(&self, _typ: &ColumnType, out: &mut BytesMut) -> Result<(), SerializeError> {
            out.put_i32(10); // claims 10 bytes, writes 1
            out.put_u8(0);
            Ok(())
        }
    }

    #[test]
    fn writer_checks_what_it_is_given() {
        let cols = [col("x", ColumnType::Blob)];
        assert_eq!(
            serialize_values(&(Liar,), &cols).unwrap_err().to_string(),
            "bind marker `x` (position 0): the SerializeValue implementation of Rust Liar wrote a malformed [value]"
        );
        assert_eq!(
            err_of(&vec![Liar], &ColumnType::List(Box::new(ColumnType::Blob))),
            "the SerializeValue implementation of Rust Liar wrote a malformed [value]"
        );
        assert_eq!(
            serialize_values_untyped(&(Liar,)).unwrap_err().to_string(),
            "bind marker `` (position 0): Rust Liar has no natural CQL type to write without metadata; \
             prepare the statement or bind a CqlValue"
        );
        // Named and positional do not mix.
        let mut w = RowWriter::new();
        w.push_untyped(&1).unwrap();
        assert_eq!(w.push_named_untyped("a", &1), Err(SerializeError::MixedNamedAndPositional.in_column(1, "a")));
        assert_eq!(w.len(), 1);
        // At most 65535 values.
        let many = vec![0i8; MAX_VALUES + 1];
        let e = serialize_values_untyped(&many).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bind marker `` (position 65535): bound values of 65536 is too large for the protocol (at most 65535)"
        );
        assert_eq!(serialize_values_untyped(&many[..MAX_VALUES]).unwrap().len(), MAX_VALUES);
    }

    #[test]
    fn vector_element_sizes_match_the_value_layer() {
        // The fixed-size rule is the value layer's; spot-check ours against its output.
        let mut b = BytesMut::new();
        for t in [ColumnType::Smallint, ColumnType::Tinyint, ColumnType::Counter, ColumnType::Date] {
            let v = CqlValue::Vector(vec![CqlValue::from(1i8)]);
            let vt = ColumnType::Vector(Box::new(t.clone()), 1);
            b.clear();
            // Tinyint accepts i8; others just need to be variable: compare layouts where it applies.
            if v.encode(&vt, &mut b).is_ok() {
                assert_eq!(vector_element_len(&t), None);
                assert_eq!(b[0], 1, "vint length before a variable-length element");
            }
        }
        assert_eq!(vector_element_len(&ColumnType::Vector(Box::new(ColumnType::Double), 3)), Some(24));
        assert_eq!(vector_element_len(&ColumnType::Timeuuid), Some(16));
        assert_eq!(vector_element_len(&ColumnType::Varchar), None);
    }
}
