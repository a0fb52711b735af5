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
//!
//! # Layout
//!
//! - `write`: the `[value]` writing helpers and the contract checks every container
//!   and [`RowWriter`] applies to what an implementation wrote;
//! - `scalars`: [`SerializeValue`] for the scalar Rust types, `Option`, [`Unset`],
//!   [`MaybeUnset`] and [`CqlValue`];
//! - `collections`: [`SerializeValue`] for pointers, sequences, sets, maps and tuples;
//! - `row_writer`: [`SerializeRow`], [`RowWriter`], [`serialize_values`] and the row
//!   forms (tuples and sequences by position, maps by name, what derives call);
//! - `untyped`: the natural CQL types of values written without metadata (an
//!   unprepared QUERY), and [`serialize_values_untyped`].
//!
//! [`Values`]: crate::protocol::Values
//! [`CqlValue`]: crate::types::CqlValue
//! [`CqlValue::encode`]: crate::types::CqlValue::encode

use std::any::type_name;

use bytes::BytesMut;

use super::error::SerializeError;
use crate::protocol::column_type::ColumnType;

mod collections;
mod row_writer;
mod scalars;
#[cfg(test)]
mod tests;
mod untyped;
mod write;

pub use row_writer::{RowWriter, SerializeRow, serialize_values};
pub use untyped::serialize_values_untyped;

/// A Rust value that can be written as one bound value (or collection element).
///
/// Implementations exist for the integers, floats, `bool`, strings, byte strings, [`Uuid`],
/// IP addresses, [`SystemTime`], the value types of [`crate::types`], `Vec`, slices,
/// arrays, maps, sets, tuples of up to 16 elements, `Option` (null), [`Unset`],
/// [`MaybeUnset`], [`CqlValue`], and references, `Box`, `Rc` and `Arc` of those.
///
/// [`Uuid`]: uuid::Uuid
/// [`SystemTime`]: std::time::SystemTime
/// [`CqlValue`]: crate::types::CqlValue
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
///
/// [`Uuid`]: uuid::Uuid
/// [`SystemTime`]: std::time::SystemTime
/// [`CqlValue`]: crate::types::CqlValue
/// [`CqlValue::encode`]: crate::types::CqlValue::encode
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
