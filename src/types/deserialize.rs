//! Cells to Rust values: [`DeserializeValue`] reads one cell of a column type,
//! [`DeserializeRow`] one row of a page.
//!
//! Owns the mapping from CQL types to Rust types: a check of the column types done once
//! per page (`type_check`), then a per-cell read that borrows from the page where the
//! target allows (`&str`, `&[u8]`, and collections of them) and builds no
//! [`CqlValue`] for the scalars. `decimal` and `duration` are read through
//! [`CqlValue::decode`], and [`CqlValue`] itself is, so their rules live in one place.
//!
//! Nulls: a null cell is `None` for `Option<T>`, an empty collection for `Vec`, the sets
//! and the maps (Cassandra stores an empty collection as null), and
//! [`DeserializeError::UnexpectedNull`] for every other target.

use std::any::type_name;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use bytes::Bytes;
use uuid::Uuid;

use super::error::DeserializeError;
use super::row::RowRef;
use crate::protocol::column_type::ColumnType;
use crate::protocol::response::ColumnSpec;
use crate::types::value::vector_element_len;
use crate::types::value::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint, ValueError};

/// A Rust type one cell can be read into, possibly borrowing from the page (`'frame`).
///
/// | CQL type | Rust types |
/// |---|---|
/// | `tinyint`, `smallint`, `int` | `i8`, `i16`, `i32` |
/// | `bigint`, `counter` | `i64` |
/// | `varint` | `CqlVarint`; `i8` to `i64` when the value fits |
/// | `float`, `double`, `boolean` | `f32`, `f64`, `bool` |
/// | `text`, `ascii` | `&str`, `String` |
/// | `blob`, custom types | `&[u8]`, `Vec<u8>`, `Bytes` (a copy; see [`Row::get_bytes`](super::Row::get_bytes) for a slice) |
/// | `uuid`, `timeuuid` | `Uuid` |
/// | `inet` | `IpAddr`, `Ipv4Addr`, `Ipv6Addr` (of that family) |
/// | `timestamp` | `CqlTimestamp`, `SystemTime` |
/// | `date`, `time`, `duration`, `decimal` | `CqlDate`, `CqlTime`, `CqlDuration`, `CqlDecimal` |
/// | `list<T>`, `set<T>`, `vector<T, n>` | `Vec<T>` |
/// | `set<T>` | `HashSet<T>`, `BTreeSet<T>` |
/// | `map<K, V>` | `HashMap<K, V>`, `BTreeMap<K, V>` |
/// | `tuple<A, B, ...>` | `(A, B, ...)` of the same arity |
/// | any | `CqlValue`; `Option<T>` for a `T` of the type, `None` for null |
pub trait DeserializeValue<'frame>: Sized {
    /// Whether cells of `typ` can be read as `Self`: called once per page, before any
    /// [`DeserializeValue::deserialize`] with that type.
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError>;

    /// Reads one cell (`None` for null) of a column of type `typ`.
    ///
    /// Expects `typ` to have passed [`DeserializeValue::type_check`]; given another type
    /// it returns an error (or, for types of the same size, a meaningless value), never
    /// panics.
    fn deserialize(typ: &ColumnType, cell: Option<&'frame [u8]>) -> Result<Self, DeserializeError>;
}

/// A [`DeserializeValue`] that borrows nothing from the page.
pub trait DeserializeOwnedValue: for<'frame> DeserializeValue<'frame> {}

impl<T: for<'frame> DeserializeValue<'frame>> DeserializeOwnedValue for T {}

/// A Rust type one row can be read into, possibly borrowing from the page (`'frame`).
///
/// Implemented for tuples of up to 16 [`DeserializeValue`]s (by position; the column
/// count must match) and for [`Row`](super::Row). A derived implementation
/// (`#[derive(FromRow)]`) matches fields to columns by name: in `type_check` it finds
/// each field's column (or fails with [`DeserializeError::no_such_column`]) and checks
/// it with [`type_check_column`]; in `deserialize` it walks [`RowRef::iter`] once and
/// reads each cell with [`deserialize_column`].
pub trait DeserializeRow<'frame>: Sized {
    /// Whether rows with these columns can be read as `Self`: called once per page.
    fn type_check(columns: &[ColumnSpec]) -> Result<(), DeserializeError>;

    /// Reads one row, whose columns passed [`DeserializeRow::type_check`].
    fn deserialize(row: RowRef<'frame, '_>) -> Result<Self, DeserializeError>;
}

/// A [`DeserializeRow`] that borrows nothing from the page.
pub trait DeserializeOwnedRow: for<'frame> DeserializeRow<'frame> {}

impl<T: for<'frame> DeserializeRow<'frame>> DeserializeOwnedRow for T {}

/// [`DeserializeValue::type_check`] of `T` for `column`, the error naming the column.
pub fn type_check_column<'frame, T: DeserializeValue<'frame>>(
    index: usize,
    column: &ColumnSpec,
) -> Result<(), DeserializeError> {
    T::type_check(&column.typ).map_err(|e| e.in_column(index, &column.name))
}

/// [`DeserializeValue::deserialize`] of `T` for a cell of `column`, the error naming the
/// column.
pub fn deserialize_column<'frame, T: DeserializeValue<'frame>>(
    index: usize,
    column: &ColumnSpec,
    cell: Option<&'frame [u8]>,
) -> Result<T, DeserializeError> {
    T::deserialize(&column.typ, cell).map_err(|e| e.in_column(index, &column.name))
}

// ---------------------------------------------------------------------------------------
// Helpers. `rust` is the full name of the target type, for errors.
// ---------------------------------------------------------------------------------------

fn mismatch(rust: &'static str, typ: &ColumnType) -> DeserializeError {
    DeserializeError::TypeMismatch { rust_type: rust, cql_type: Box::new(typ.clone()) }
}

fn invalid(rust: &'static str, typ: &ColumnType, reason: ValueError) -> DeserializeError {
    DeserializeError::Invalid { rust_type: rust, cql_type: Box::new(typ.clone()), reason: Box::new(reason) }
}

fn non_null<'f>(rust: &'static str, cell: Option<&'f [u8]>) -> Result<&'f [u8], DeserializeError> {
    cell.ok_or(DeserializeError::UnexpectedNull { rust_type: rust })
}

/// Exactly `N` bytes, named after the CQL type in errors.
fn exact<const N: usize>(rust: &'static str, typ: &ColumnType, b: &[u8]) -> Result<[u8; N], DeserializeError> {
    match b.first_chunk::<N>() {
        Some(a) if b.len() == N => Ok(*a),
        Some(_) => Err(invalid(rust, typ, ValueError::TrailingBytes { what: "value", extra: b.len() - N })),
        None => Err(invalid(rust, typ, ValueError::Truncated { what: "value", needed: N, available: b.len() })),
    }
}

/// `Ok` when `ok`, else a mismatch.
fn accept(ok: bool, rust: &'static str, typ: &ColumnType) -> Result<(), DeserializeError> {
    if ok { Ok(()) } else { Err(mismatch(rust, typ)) }
}

/// A cursor over the bytes of one collection, tuple or vector value.
struct Cursor<'f> {
    b: &'f [u8],
}

impl<'f> Cursor<'f> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'f [u8], ValueError> {
        let Some((head, rest)) = self.b.split_at_checked(n) else {
            return Err(ValueError::Truncated { what, needed: n, available: self.b.len() });
        };
        self.b = rest;
        Ok(head)
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, ValueError> {
        let Some((head, rest)) = self.b.split_first_chunk::<4>() else {
            return Err(ValueError::Truncated { what, needed: 4, available: self.b.len() });
        };
        self.b = rest;
        Ok(i32::from_be_bytes(*head))
    }

    /// A `[bytes]`: `None` for a negative length (null).
    fn bytes(&mut self, what: &'static str) -> Result<Option<&'f [u8]>, ValueError> {
        match usize::try_from(self.i32(what)?) {
            Ok(n) => self.take(n, what).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// A non-null `[bytes]` element of a collection.
    fn element(&mut self, context: &'static str) -> Result<&'f [u8], ValueError> {
        self.bytes("collection element")?.ok_or(ValueError::NullNotAllowed { context })
    }

    /// The `[int]` count of a collection, checked against the bytes left: each entry
    /// takes at least `min_each` bytes, so a hostile count allocates nothing.
    fn count(&mut self, min_each: usize, what: &'static str) -> Result<usize, ValueError> {
        let n = self.i32(what)?;
        let Ok(n) = usize::try_from(n) else {
            return Err(ValueError::invalid(what, format!("{n} is negative")));
        };
        let needed = n.saturating_mul(min_each);
        if needed > self.b.len() {
            return Err(ValueError::Truncated { what, needed, available: self.b.len() });
        }
        Ok(n)
    }

    /// An `[unsigned vint]` (spec v5 §3): the count of leading one bits of the first byte
    /// is the number of bytes that follow.
    fn unsigned_vint(&mut self, what: &'static str) -> Result<u64, ValueError> {
        let first = *self.take(1, what)?.first().unwrap_or(&0);
        let extra = first.leading_ones() as usize;
        let rest = self.take(extra, what)?;
        let mut v = if extra >= 7 { 0 } else { u64::from(first & (0xff >> (extra + 1))) };
        for &b in rest {
            v = (v << 8) | u64::from(b);
        }
        Ok(v)
    }

    fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    fn finish(&self, what: &'static str) -> Result<(), ValueError> {
        match self.b.len() {
            0 => Ok(()),
            extra => Err(ValueError::TrailingBytes { what, extra }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------

/// Integers: their own CQL type(s), and `varint` when the value fits.
macro_rules! integer {
    ($t:ty, $($variant:pat),+) => {
        impl<'f> DeserializeValue<'f> for $t {
            fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
                accept(matches!(typ, $($variant)|+ | ColumnType::Varint), type_name::<Self>(), typ)
            }

            fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
                let rust = type_name::<Self>();
                let b = non_null(rust, cell)?;
                match typ {
                    $($variant)|+ => Ok(<$t>::from_be_bytes(exact(rust, typ, b)?)),
                    ColumnType::Varint => CqlVarint::from_be_bytes(b)
                        .and_then(|v| i64::try_from(&v))
                        .and_then(|n| <$t>::try_from(n).map_err(|_| ValueError::out_of_range(stringify!($t), n)))
                        .map_err(|e| invalid(rust, typ, e)),
                    _ => Err(mismatch(rust, typ)),
                }
            }
        }
    };
}

integer!(i8, ColumnType::Tinyint);
integer!(i16, ColumnType::Smallint);
integer!(i32, ColumnType::Int);
integer!(i64, ColumnType::Bigint | ColumnType::Counter);

/// Types with one CQL type and a fixed-size form.
macro_rules! fixed {
    ($t:ty, $variant:ident, |$a:ident| $make:expr) => {
        impl<'f> DeserializeValue<'f> for $t {
            fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
                accept(matches!(typ, ColumnType::$variant), type_name::<Self>(), typ)
            }

            fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
                let rust = type_name::<Self>();
                let b = non_null(rust, cell)?;
                match typ {
                    ColumnType::$variant => {
                        let $a = exact(rust, typ, b)?;
                        $make.map_err(|e: ValueError| invalid(rust, typ, e))
                    }
                    _ => Err(mismatch(rust, typ)),
                }
            }
        }
    };
}

fixed!(f32, Float, |a| Ok(f32::from_be_bytes(a)));
fixed!(f64, Double, |a| Ok(f64::from_be_bytes(a)));
// spec v5 §5.4: any non-zero byte is true.
fixed!(bool, Boolean, |a| Ok(a != [0u8]));
fixed!(CqlDate, Date, |a| Ok(CqlDate(u32::from_be_bytes(a))));
fixed!(CqlTime, Time, |a| CqlTime::new(i64::from_be_bytes(a)));
fixed!(CqlTimestamp, Timestamp, |a| Ok(CqlTimestamp(i64::from_be_bytes(a))));
fixed!(SystemTime, Timestamp, |a| {
    let t = CqlTimestamp(i64::from_be_bytes(a));
    t.to_system_time().ok_or_else(|| ValueError::OutOfRange { typ: "SystemTime".into(), value: t.to_string() })
});
fixed!(Ipv4Addr, Inet, |a| Ok(Ipv4Addr::from(std::convert::identity::<[u8; 4]>(a))));
fixed!(Ipv6Addr, Inet, |a| Ok(Ipv6Addr::from(std::convert::identity::<[u8; 16]>(a))));

impl<'f> DeserializeValue<'f> for IpAddr {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        accept(matches!(typ, ColumnType::Inet), type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let rust = type_name::<Self>();
        let b = non_null(rust, cell)?;
        match (typ, b.len()) {
            (ColumnType::Inet, 4) => Ok(IpAddr::V4(Ipv4Addr::from(exact::<4>(rust, typ, b)?))),
            (ColumnType::Inet, 16) => Ok(IpAddr::V6(Ipv6Addr::from(exact::<16>(rust, typ, b)?))),
            (ColumnType::Inet, n) => Err(invalid(
                rust,
                typ,
                ValueError::invalid("inet", format!("{n} bytes, expected 4 (IPv4) or 16 (IPv6)")),
            )),
            _ => Err(mismatch(rust, typ)),
        }
    }
}

impl<'f> DeserializeValue<'f> for Uuid {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        accept(matches!(typ, ColumnType::Uuid | ColumnType::Timeuuid), type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let rust = type_name::<Self>();
        let b = non_null(rust, cell)?;
        match typ {
            ColumnType::Uuid => Ok(Uuid::from_bytes(exact(rust, typ, b)?)),
            ColumnType::Timeuuid => {
                let u = Uuid::from_bytes(exact(rust, typ, b)?);
                match u.get_version_num() {
                    1 => Ok(u),
                    v => Err(invalid(
                        rust,
                        typ,
                        ValueError::invalid(
                            "timeuuid",
                            format!("{u} is a version {v} UUID; timeuuid takes version 1 only"),
                        ),
                    )),
                }
            }
            _ => Err(mismatch(rust, typ)),
        }
    }
}

impl<'f> DeserializeValue<'f> for CqlVarint {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        accept(matches!(typ, ColumnType::Varint), type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let rust = type_name::<Self>();
        let b = non_null(rust, cell)?;
        match typ {
            ColumnType::Varint => CqlVarint::from_be_bytes(b).map_err(|e| invalid(rust, typ, e)),
            _ => Err(mismatch(rust, typ)),
        }
    }
}

/// Types read through [`CqlValue::decode`], which owns their layout.
macro_rules! via_cql_value {
    ($t:ty, $variant:ident, $name:literal) => {
        impl<'f> DeserializeValue<'f> for $t {
            fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
                accept(matches!(typ, ColumnType::$variant), type_name::<Self>(), typ)
            }

            fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
                let rust = type_name::<Self>();
                let b = non_null(rust, cell)?;
                if !matches!(typ, ColumnType::$variant) {
                    return Err(mismatch(rust, typ));
                }
                match CqlValue::decode(typ, b) {
                    Ok(CqlValue::$variant(v)) => Ok(v),
                    Ok(_) => Err(invalid(rust, typ, ValueError::invalid($name, "empty value (no bytes)"))),
                    Err(e) => Err(invalid(rust, typ, e)),
                }
            }
        }
    };
}

via_cql_value!(CqlDuration, Duration, "duration");
via_cql_value!(CqlDecimal, Decimal, "decimal");

/// The text of a `text` or `ascii` cell, borrowed.
fn text<'f>(rust: &'static str, typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<&'f str, DeserializeError> {
    let b = non_null(rust, cell)?;
    match typ {
        ColumnType::Varchar => {}
        ColumnType::Ascii => {
            if let Some(at) = b.iter().position(|c| !c.is_ascii()) {
                let detail = format!("byte {:#04x} at offset {at} is not 7-bit ASCII", b[at]);
                return Err(invalid(rust, typ, ValueError::invalid("ascii", detail)));
            }
        }
        _ => return Err(mismatch(rust, typ)),
    }
    std::str::from_utf8(b).map_err(|e| {
        invalid(rust, typ, ValueError::invalid("text", format!("invalid UTF-8 at offset {}", e.valid_up_to())))
    })
}

fn check_text(rust: &'static str, typ: &ColumnType) -> Result<(), DeserializeError> {
    accept(matches!(typ, ColumnType::Varchar | ColumnType::Ascii), rust, typ)
}

impl<'f> DeserializeValue<'f> for &'f str {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_text(type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        text(type_name::<Self>(), typ, cell)
    }
}

impl<'f> DeserializeValue<'f> for String {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_text(type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        text(type_name::<Self>(), typ, cell).map(str::to_owned)
    }
}

/// The bytes of a `blob` or custom cell, borrowed.
fn blob<'f>(rust: &'static str, typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<&'f [u8], DeserializeError> {
    let b = non_null(rust, cell)?;
    match typ {
        ColumnType::Blob | ColumnType::Custom(_) => Ok(b),
        _ => Err(mismatch(rust, typ)),
    }
}

macro_rules! blob_target {
    ($t:ty, |$b:ident| $make:expr) => {
        impl<'f> DeserializeValue<'f> for $t {
            fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
                accept(matches!(typ, ColumnType::Blob | ColumnType::Custom(_)), type_name::<Self>(), typ)
            }

            fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
                let $b = blob(type_name::<Self>(), typ, cell)?;
                Ok($make)
            }
        }
    };
}

blob_target!(&'f [u8], |b| b);
blob_target!(Vec<u8>, |b| b.to_vec());
// A copy: the trait sees the cell as a slice. `Row::get_bytes` slices the page instead.
blob_target!(Bytes, |b| Bytes::copy_from_slice(b));

impl<'f, T: DeserializeValue<'f>> DeserializeValue<'f> for Option<T> {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        T::type_check(typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        match cell {
            None => Ok(None),
            Some(_) => T::deserialize(typ, cell).map(Some),
        }
    }
}

impl<'f> DeserializeValue<'f> for CqlValue {
    /// Every type.
    fn type_check(_typ: &ColumnType) -> Result<(), DeserializeError> {
        Ok(())
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let rust = type_name::<Self>();
        CqlValue::decode(typ, non_null(rust, cell)?).map_err(|e| invalid(rust, typ, e))
    }
}

// ---------------------------------------------------------------------------------------
// Collections
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Sequence {
    list: bool,
    set: bool,
    vector: bool,
}

const LIST_SET_VECTOR: Sequence = Sequence { list: true, set: true, vector: true };
const SET_ONLY: Sequence = Sequence { list: false, set: true, vector: false };

/// The element type of a list, set or vector `typ` that `kinds` allows.
fn sequence_element(typ: &ColumnType, kinds: Sequence) -> Option<&ColumnType> {
    match typ {
        ColumnType::List(e) if kinds.list => Some(e),
        ColumnType::Set(e) if kinds.set => Some(e),
        ColumnType::Vector(e, _) if kinds.vector => Some(e),
        _ => None,
    }
}

fn check_sequence<'f, T: DeserializeValue<'f>>(
    rust: &'static str,
    typ: &ColumnType,
    kinds: Sequence,
) -> Result<(), DeserializeError> {
    // An element mismatch is reported for the whole type: `list<text>` vs `Vec<i32>`.
    match sequence_element(typ, kinds) {
        Some(elem) => T::type_check(elem).map_err(|_| mismatch(rust, typ)),
        None => Err(mismatch(rust, typ)),
    }
}

/// Reads the elements of a list, set or vector cell, handing each to `push` after
/// `reserve` was told how many there are.
fn read_sequence<'f, T: DeserializeValue<'f>>(
    rust: &'static str,
    typ: &ColumnType,
    cell: Option<&'f [u8]>,
    kinds: Sequence,
    reserve: impl FnOnce(usize),
    mut push: impl FnMut(T),
) -> Result<(), DeserializeError> {
    let bad = |e| invalid(rust, typ, e);
    let (elem, context) = match typ {
        ColumnType::List(e) if kinds.list => (e, "list"),
        ColumnType::Set(e) if kinds.set => (e, "set"),
        ColumnType::Vector(elem, n) if kinds.vector => return read_vector(rust, typ, elem, *n, cell, reserve, push),
        _ => return Err(mismatch(rust, typ)),
    };
    // A null (or empty) cell is an empty collection.
    let Some(b) = cell.filter(|b| !b.is_empty()) else {
        return Ok(());
    };
    // spec v5 §5.12, §5.14: [int] n, then n [bytes].
    let mut c = Cursor { b };
    let n = c.count(4, "collection element count").map_err(bad)?;
    reserve(n);
    for _ in 0..n {
        push(T::deserialize(elem, Some(c.element(context).map_err(bad)?))?);
    }
    c.finish(context).map_err(bad)
}

fn read_vector<'f, T: DeserializeValue<'f>>(
    rust: &'static str,
    typ: &ColumnType,
    elem: &ColumnType,
    dimension: u32,
    cell: Option<&'f [u8]>,
    reserve: impl FnOnce(usize),
    mut push: impl FnMut(T),
) -> Result<(), DeserializeError> {
    let bad = |e| invalid(rust, typ, e);
    let b = non_null(rust, cell)?;
    let n = dimension as usize;
    match vector_element_len(elem) {
        // Only a hand-built type has zero-size elements; refuse rather than loop n times
        // over nothing.
        Some(0) => Err(bad(ValueError::invalid("vector", "elements of zero size"))),
        // spec v5 §5.25: fixed-length elements back to back.
        Some(len) => {
            let total = n.saturating_mul(len);
            if b.len() < total {
                return Err(bad(ValueError::Truncated { what: "vector", needed: total, available: b.len() }));
            }
            if b.len() > total {
                return Err(bad(ValueError::TrailingBytes { what: "vector", extra: b.len() - total }));
            }
            reserve(n);
            for chunk in b.chunks_exact(len) {
                push(T::deserialize(elem, Some(chunk))?);
            }
            Ok(())
        }
        // Variable-length elements: [unsigned vint] length, then the element.
        None => {
            // Each element takes at least its one-byte length.
            if n > b.len() {
                return Err(bad(ValueError::Truncated { what: "vector elements", needed: n, available: b.len() }));
            }
            reserve(n);
            let mut c = Cursor { b };
            for _ in 0..n {
                let len = c.unsigned_vint("vector element length").map_err(bad)?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                push(T::deserialize(elem, Some(c.take(len, "vector element").map_err(bad)?))?);
            }
            c.finish("vector").map_err(bad)
        }
    }
}

impl<'f, T: DeserializeValue<'f>> DeserializeValue<'f> for Vec<T> {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_sequence::<T>(type_name::<Self>(), typ, LIST_SET_VECTOR)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let mut out = Vec::new();
        read_sequence(type_name::<Self>(), typ, cell, LIST_SET_VECTOR, |_| (), |v| out.push(v))?;
        Ok(out)
    }
}

impl<'f, T: DeserializeValue<'f> + Eq + Hash, S: BuildHasher + Default> DeserializeValue<'f> for HashSet<T, S> {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_sequence::<T>(type_name::<Self>(), typ, SET_ONLY)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let mut out = HashSet::default();
        read_sequence(
            type_name::<Self>(),
            typ,
            cell,
            SET_ONLY,
            |_| (),
            |v| {
                out.insert(v);
            },
        )?;
        Ok(out)
    }
}

impl<'f, T: DeserializeValue<'f> + Ord> DeserializeValue<'f> for BTreeSet<T> {
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_sequence::<T>(type_name::<Self>(), typ, SET_ONLY)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let mut out = BTreeSet::new();
        read_sequence(
            type_name::<Self>(),
            typ,
            cell,
            SET_ONLY,
            |_| (),
            |v| {
                out.insert(v);
            },
        )?;
        Ok(out)
    }
}

fn check_map<'f, K: DeserializeValue<'f>, V: DeserializeValue<'f>>(
    rust: &'static str,
    typ: &ColumnType,
) -> Result<(), DeserializeError> {
    match typ {
        ColumnType::Map(k, v) => K::type_check(k).and_then(|()| V::type_check(v)).map_err(|_| mismatch(rust, typ)),
        _ => Err(mismatch(rust, typ)),
    }
}

fn read_map<'f, K: DeserializeValue<'f>, V: DeserializeValue<'f>>(
    rust: &'static str,
    typ: &ColumnType,
    cell: Option<&'f [u8]>,
    mut push: impl FnMut(K, V),
) -> Result<(), DeserializeError> {
    let bad = |e| invalid(rust, typ, e);
    let ColumnType::Map(kt, vt) = typ else {
        return Err(mismatch(rust, typ));
    };
    let Some(b) = cell.filter(|b| !b.is_empty()) else {
        return Ok(());
    };
    // spec v5 §5.13: [int] n, then n key/value pairs of [bytes].
    let mut c = Cursor { b };
    let n = c.count(8, "map entry count").map_err(bad)?;
    for _ in 0..n {
        let k = K::deserialize(kt, Some(c.element("map").map_err(bad)?))?;
        let v = V::deserialize(vt, Some(c.element("map").map_err(bad)?))?;
        push(k, v);
    }
    c.finish("map").map_err(bad)
}

impl<'f, K, V, S> DeserializeValue<'f> for HashMap<K, V, S>
where
    K: DeserializeValue<'f> + Eq + Hash,
    V: DeserializeValue<'f>,
    S: BuildHasher + Default,
{
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_map::<K, V>(type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let mut out = HashMap::default();
        read_map(type_name::<Self>(), typ, cell, |k, v| {
            out.insert(k, v);
        })?;
        Ok(out)
    }
}

impl<'f, K, V> DeserializeValue<'f> for BTreeMap<K, V>
where
    K: DeserializeValue<'f> + Ord,
    V: DeserializeValue<'f>,
{
    fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
        check_map::<K, V>(type_name::<Self>(), typ)
    }

    fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
        let mut out = BTreeMap::new();
        read_map(type_name::<Self>(), typ, cell, |k, v| {
            out.insert(k, v);
        })?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------
// Tuples (values and rows)
// ---------------------------------------------------------------------------------------

macro_rules! tuples {
    ($($n:literal => ($($T:ident $i:tt),+);)+) => {$(
        impl<'f, $($T: DeserializeValue<'f>),+> DeserializeValue<'f> for ($($T,)+) {
            /// A `tuple<...>` of the same arity.
            fn type_check(typ: &ColumnType) -> Result<(), DeserializeError> {
                let rust = type_name::<Self>();
                match typ {
                    ColumnType::Tuple(types) if types.len() == $n => {
                        $($T::type_check(&types[$i]).map_err(|_| mismatch(rust, typ))?;)+
                        Ok(())
                    }
                    _ => Err(mismatch(rust, typ)),
                }
            }

            /// Fields left out at the end of the value are null (spec v5 §6).
            fn deserialize(typ: &ColumnType, cell: Option<&'f [u8]>) -> Result<Self, DeserializeError> {
                let rust = type_name::<Self>();
                let bad = |e| invalid(rust, typ, e);
                let types = match typ {
                    ColumnType::Tuple(types) if types.len() == $n => types,
                    _ => return Err(mismatch(rust, typ)),
                };
                let mut c = Cursor { b: non_null(rust, cell)? };
                let value = ($({
                    let field = if c.is_empty() { None } else { c.bytes("tuple element").map_err(bad)? };
                    $T::deserialize(&types[$i], field)?
                },)+);
                c.finish("tuple").map_err(bad)?;
                Ok(value)
            }
        }

        impl<'f, $($T: DeserializeValue<'f>),+> DeserializeRow<'f> for ($($T,)+) {
            /// Columns by position; there must be exactly as many as elements.
            fn type_check(columns: &[ColumnSpec]) -> Result<(), DeserializeError> {
                if columns.len() != $n {
                    return Err(DeserializeError::ColumnCount {
                        rust_type: type_name::<Self>(),
                        expected: $n,
                        found: columns.len(),
                    });
                }
                $(type_check_column::<$T>($i, &columns[$i])?;)+
                Ok(())
            }

            fn deserialize(row: RowRef<'f, '_>) -> Result<Self, DeserializeError> {
                let columns = row.columns();
                if columns.len() != $n {
                    return Err(DeserializeError::ColumnCount {
                        rust_type: type_name::<Self>(),
                        expected: $n,
                        found: columns.len(),
                    });
                }
                let mut cells = row.cells();
                Ok(($({
                    let cell = cells.next().ok_or_else(|| DeserializeError::IndexOutOfRange { index: $i, count: $i })?;
                    deserialize_column::<$T>($i, &columns[$i], cell)?
                },)+))
            }
        }
    )+};
}

for_tuple_arities!(tuples);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wire::put_unsigned_vint;
    use bytes::{BufMut, BytesMut};
    use proptest::prelude::*;

    fn list(t: ColumnType) -> ColumnType {
        ColumnType::List(Box::new(t))
    }

    fn err<'f, T: DeserializeValue<'f> + std::fmt::Debug>(typ: &ColumnType, cell: Option<&'f [u8]>) -> String {
        <T as DeserializeValue>::deserialize(typ, cell).unwrap_err().to_string()
    }

    fn check_err<'f, T: DeserializeValue<'f>>(typ: &ColumnType) -> String {
        <T as DeserializeValue>::type_check(typ).unwrap_err().to_string()
    }

    #[test]
    fn type_checks_name_both_types() {
        assert_eq!(check_err::<i32>(&ColumnType::Blob), "cannot read CQL type blob as Rust i32");
        assert_eq!(check_err::<i64>(&ColumnType::Int), "cannot read CQL type int as Rust i64");
        assert_eq!(check_err::<String>(&ColumnType::Uuid), "cannot read CQL type uuid as Rust String");
        assert_eq!(check_err::<Vec<&str>>(&list(ColumnType::Int)), "cannot read CQL type list<int> as Rust Vec<&str>");
        assert_eq!(
            check_err::<HashSet<i32>>(&list(ColumnType::Int)),
            "cannot read CQL type list<int> as Rust HashSet<i32>"
        );
        assert_eq!(
            check_err::<(i32, String)>(&ColumnType::Tuple(vec![ColumnType::Int])),
            "cannot read CQL type tuple<int> as Rust (i32, String)"
        );
        assert_eq!(
            check_err::<BTreeMap<String, i32>>(&ColumnType::Map(
                Box::new(ColumnType::Varchar),
                Box::new(ColumnType::Bigint)
            )),
            "cannot read CQL type map<text, bigint> as Rust BTreeMap<String, i32>"
        );
        assert_eq!(check_err::<Option<bool>>(&ColumnType::Int), "cannot read CQL type int as Rust bool");
        // Accepted pairs.
        i64::type_check(&ColumnType::Counter).unwrap();
        i8::type_check(&ColumnType::Varint).unwrap();
        <&str>::type_check(&ColumnType::Ascii).unwrap();
        Vec::<u8>::type_check(&ColumnType::Custom("x.Y".into())).unwrap();
        Vec::<f32>::type_check(&ColumnType::Vector(Box::new(ColumnType::Float), 3)).unwrap();
        CqlValue::type_check(&ColumnType::Duration).unwrap();
    }

    #[test]
    fn nulls() {
        assert_eq!(
            err::<i32>(&ColumnType::Int, None),
            "unexpected null: Rust i32 cannot hold a null; read the column as Option<i32>"
        );
        assert_eq!(err::<CqlValue>(&ColumnType::Int, None).split(':').next(), Some("unexpected null"));
        assert_eq!(<Option<String>>::deserialize(&ColumnType::Varchar, None).unwrap(), None);
        // Null inside a collection is malformed.
        let mut b = BytesMut::new();
        b.put_i32(1);
        b.put_i32(-1);
        assert_eq!(
            err::<Vec<Option<i32>>>(&list(ColumnType::Int), Some(&b)),
            "invalid CQL list<int> value for Rust Vec<Option<i32>>: null is not allowed as a list element"
        );
    }

    #[test]
    fn malformed_cells() {
        assert_eq!(
            err::<i32>(&ColumnType::Int, Some(&[0, 0, 1])),
            "invalid CQL int value for Rust i32: truncated value: needs 4 bytes, 3 left"
        );
        assert_eq!(
            err::<i16>(&ColumnType::Smallint, Some(&[0, 0, 1])),
            "invalid CQL smallint value for Rust i16: 1 unexpected bytes after the value"
        );
        assert_eq!(
            err::<i8>(&ColumnType::Varint, Some(&[1, 0x2c])),
            "invalid CQL varint value for Rust i8: 300 is out of range for i8"
        );
        assert_eq!(i8::deserialize(&ColumnType::Varint, Some(&[0xff, 0x80])).unwrap(), -128);
        assert_eq!(
            err::<String>(&ColumnType::Varchar, Some(&[b'a', 0xff])),
            "invalid CQL text value for Rust String: invalid text: invalid UTF-8 at offset 1"
        );
        assert_eq!(
            err::<&str>(&ColumnType::Ascii, Some("é".as_bytes())),
            "invalid CQL ascii value for Rust &str: invalid ascii: byte 0xc3 at offset 0 is not 7-bit ASCII"
        );
        assert_eq!(
            err::<Ipv4Addr>(&ColumnType::Inet, Some(&[0; 16])),
            "invalid CQL inet value for Rust Ipv4Addr: 12 unexpected bytes after the value"
        );
        assert!(err::<Uuid>(&ColumnType::Timeuuid, Some(&[0x40; 16])).contains("is a version 4 UUID"));
        assert_eq!(
            err::<CqlDuration>(&ColumnType::Duration, Some(&[])),
            "invalid CQL duration value for Rust CqlDuration: invalid duration: empty value (no bytes)"
        );
        assert!(err::<CqlTime>(&ColumnType::Time, Some(&i64::MAX.to_be_bytes())).starts_with("invalid CQL time"));
        // A count the bytes cannot hold allocates nothing.
        assert_eq!(
            err::<Vec<i32>>(&list(ColumnType::Int), Some(&[0x7f, 0xff, 0xff, 0xff])),
            "invalid CQL list<int> value for Rust Vec<i32>: \
             truncated collection element count: needs 8589934588 bytes, 0 left"
        );
        assert_eq!(
            err::<Vec<i32>>(&list(ColumnType::Int), Some(&[0, 0, 0, 0, 9])),
            "invalid CQL list<int> value for Rust Vec<i32>: 1 unexpected bytes after the list"
        );
        let vt = ColumnType::Vector(Box::new(ColumnType::Float), 2);
        assert_eq!(
            err::<Vec<f32>>(&vt, Some(&[0; 7])),
            "invalid CQL vector<float, 2> value for Rust Vec<f32>: truncated vector: needs 8 bytes, 7 left"
        );
        let zero = ColumnType::Vector(Box::new(ColumnType::Vector(Box::new(ColumnType::Int), 0)), u32::MAX);
        assert!(err::<Vec<Vec<i32>>>(&zero, Some(&[])).contains("elements of zero size"));
    }

    #[test]
    fn tuples_may_end_early() {
        let tt = ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Int]);
        let one = [0, 0, 0, 4, 0, 0, 0, 1];
        assert_eq!(<(i32, Option<i32>) as DeserializeValue>::deserialize(&tt, Some(&one)).unwrap(), (1, None));
        assert!(
            <(i32, i32) as DeserializeValue>::deserialize(&tt, Some(&one))
                .unwrap_err()
                .to_string()
                .starts_with("unexpected null")
        );
        let mut three = one.to_vec();
        three.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0]);
        assert_eq!(
            <(i32, Option<i32>) as DeserializeValue>::deserialize(&tt, Some(&three)).unwrap_err().to_string(),
            "invalid CQL tuple<int, int> value for Rust (i32, Option<i32>): 1 unexpected bytes after the tuple"
        );
    }

    #[test]
    fn borrowed_targets_point_into_the_cell() {
        let cell = b"\x00\x00\x00\x02\x00\x00\x00\x02hi\x00\x00\x00\x01!";
        let t = list(ColumnType::Varchar);
        let v = <Vec<&str>>::deserialize(&t, Some(cell)).unwrap();
        assert_eq!(v, ["hi", "!"]);
        assert_eq!(v[0].as_ptr(), cell[8..].as_ptr());
        let b = <&[u8]>::deserialize(&ColumnType::Blob, Some(cell)).unwrap();
        assert_eq!(b.as_ptr(), cell.as_ptr());
    }

    proptest! {
        #[test]
        fn unsigned_vints_read_what_the_wire_writes(v: u64, tail in proptest::collection::vec(any::<u8>(), 0..3)) {
            let mut b = BytesMut::new();
            put_unsigned_vint(&mut b, v);
            let n = b.len();
            b.extend_from_slice(&tail);
            let mut c = Cursor { b: &b };
            prop_assert_eq!(c.unsigned_vint("v").unwrap(), v);
            prop_assert_eq!(c.b.len(), tail.len());
            for cut in 0..n {
                let mut short = Cursor { b: &b[..cut] };
                prop_assert!(short.unsigned_vint("v").is_err());
            }
        }

        /// Whatever the bytes, reading returns; it never panics.
        #[test]
        fn garbage_is_an_error_not_a_panic(
            (t, v) in crate::types::value::strategies::typed_value(),
            garbage in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            let mut b = BytesMut::new();
            v.encode(&t, &mut b).unwrap();
            for cut in 0..b.len() {
                let _ = CqlValue::deserialize(&t, Some(&b[..cut]));
            }
            let _ = CqlValue::deserialize(&t, Some(&garbage));
            let tv = ColumnType::Vector(Box::new(ColumnType::Varchar), 3);
            let _ = <Vec<&str>>::deserialize(&tv, Some(&garbage));
            let _ = <Vec<Vec<i32>>>::deserialize(&list(list(ColumnType::Int)), Some(&garbage));
            let mt = ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Blob));
            let _ = <HashMap<&str, &[u8]>>::deserialize(&mt, Some(&garbage));
            let tt = ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Varchar, ColumnType::Uuid]);
            let _ = <(Option<i32>, Option<&str>, Option<Uuid>) as DeserializeValue>::deserialize(&tt, Some(&garbage));
            let _ = <Vec<f64>>::deserialize(&ColumnType::Vector(Box::new(ColumnType::Double), 2), Some(&garbage));
        }
    }
}
