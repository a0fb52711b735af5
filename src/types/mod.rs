//! CQL values, and Rust types to CQL values and back (spec v5 §5 and §6, v4 §6 and
//! §7): what a statement's bound values are made from, and what the rows of a result
//! are read into.
//!
//! - Values: [`CqlValue`], one value of any CQL type, and the value types Rust lacks
//!   ([`CqlDate`], [`CqlTime`], [`CqlTimestamp`], [`CqlDuration`], [`CqlVarint`],
//!   [`CqlDecimal`]), with their wire form ([`CqlValue::encode`], [`CqlValue::decode`])
//!   and their CQL literal form (`Display`). The test server's parts of it (CQL
//!   literals, Cassandra's sort order) are compiled with the feature `testkit` only.
//! - Writing: [`SerializeValue`] writes one Rust value as one bound value of a column
//!   type, [`SerializeRow`] a statement's values (a tuple by position, a map by marker
//!   name), checked against the prepared statement's bind markers; errors name the
//!   marker and both types. Without metadata (an unprepared QUERY) each value is written
//!   as its natural CQL type (`i32` as `int`, `&str` as `text`, ...).
//! - Reading: [`DeserializeValue`] reads one cell, [`DeserializeRow`] one row (a tuple
//!   by position, or a [`Row`]), borrowing from the page where the target allows
//!   (`&str`, `&[u8]`). The column types are checked once per page, then each row is
//!   decoded only when the iterator reaches it.
//!
//! It knows nothing of connections, sessions or IO: it reads and writes the contents of
//! `[value]`s and rows that the protocol layer carries. Inside it, `value/` uses only
//! the protocol layer: the Rust-type mapping builds on it, never the other way round.
//!
//! ```
//! use cqlstream::protocol::{ColumnType, ValueRef};
//! use cqlstream::protocol::response::{ColumnSpec, RowsMetadata, RowsWriter};
//! use cqlstream::types::{self, Row, RowsPage};
//!
//! // Bind (id, name) to a prepared statement's markers `id int, name text`.
//! let markers = [
//!     ColumnSpec::new("ks", "users", "id", ColumnType::Int),
//!     ColumnSpec::new("ks", "users", "name", ColumnType::Varchar),
//! ];
//! let values = types::serialize_values(&(7, "seven"), &markers)?;
//! assert_eq!(values.len(), 2);
//! // A mismatch names the marker and both types.
//! let err = types::serialize_values(&("seven", 7), &markers).unwrap_err();
//! assert_eq!(err.to_string(), "bind marker `id` (position 0): cannot write Rust &str as CQL type int");
//!
//! // A page of rows with the same columns, as a server would send it: the first row's
//! // cells are the values above, the second has a null name.
//! let mut w = RowsWriter::new(2);
//! w.push_row(values.iter().map(|(_, v)| match v {
//!     ValueRef::Bytes(b) => Some(b),
//!     _ => None,
//! }))?;
//! w.push_row([Some(&[0, 0, 0, 8][..]), None])?;
//! let rows = w.finish(RowsMetadata::new(markers.to_vec()))?;
//!
//! // Borrowed: the `&str`s point into the page; the types are checked once.
//! let typed: Vec<(i32, Option<&str>)> = types::rows_typed(&rows)?.collect::<Result<_, _>>()?;
//! assert_eq!(typed, [(7, Some("seven")), (8, None)]);
//!
//! // Owned rows, decoded on demand, by position or by name.
//! let page = RowsPage::new(rows)?;
//! let first: Row = page.into_rows().next().unwrap();
//! assert_eq!(first.get::<i32>(0), 7);
//! assert_eq!(first.get::<&str>("name"), "seven");
//! assert_eq!(
//!     first.try_get::<i64>("id").unwrap_err().to_string(),
//!     "column `id`: cannot read CQL type int as Rust i64"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layout
//!
//! - `value/`: [`CqlValue`], the scalar types and [`ValueError`]: the wire form of every
//!   CQL type, and (feature `testkit`) `Literal`, `from_literal` and Cassandra's order;
//! - `serialize/`: [`SerializeValue`] and its implementations, [`Unset`],
//!   [`MaybeUnset`], [`SerializeRow`], [`RowWriter`], and the natural types of untyped
//!   values;
//! - `deserialize`: [`DeserializeValue`], [`DeserializeRow`] and their implementations;
//! - `row`: [`Row`], [`RowRef`], [`RowsPage`], [`ColumnIndex`] and the page iterators;
//! - `error`: [`SerializeError`], [`DeserializeError`].

/// Calls `$m!` with every tuple arity the traits are implemented for (1 to 16), each as
/// `N => (Type index, ...)`: one list for serialization and deserialization alike.
macro_rules! for_tuple_arities {
    ($m:ident) => {
        $m! {
            1 => (A 0);
            2 => (A 0, B 1);
            3 => (A 0, B 1, C 2);
            4 => (A 0, B 1, C 2, D 3);
            5 => (A 0, B 1, C 2, D 3, E 4);
            6 => (A 0, B 1, C 2, D 3, E 4, F 5);
            7 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
            8 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
            9 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
            10 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
            11 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
            12 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
            13 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
            14 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
            15 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
            16 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
        }
    };
}

mod deserialize;
mod error;
mod row;
mod serialize;
#[cfg(test)]
mod tests;
mod value;

pub use deserialize::{
    DeserializeOwnedRow, DeserializeOwnedValue, DeserializeRow, DeserializeValue, deserialize_column, type_check_column,
};
pub use error::{DeserializeError, SerializeError};
pub use row::{
    Cells, ColumnIndex, IntoRows, IntoTypedRows, Row, RowRef, RowRefs, RowsPage, TypedRows, into_rows, rows_typed,
};
pub use serialize::{
    MaybeUnset, RowWriter, SerializeRow, SerializeValue, Unset, serialize_values, serialize_values_untyped,
};
pub use value::{
    CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint, MAX_VALUE_DEPTH, ValueError,
};
#[cfg(feature = "testkit")]
pub use value::{Literal, sort_map, sort_set};
