//! Derive macros for [cqlstream](https://docs.rs/cqlstream): `#[derive(FromRow)]` reads a
//! row of a result into a struct, `#[derive(SerializeRow)]` binds a struct's fields to a
//! statement's markers. Use them through `cqlstream` (its `derive` feature, on by
//! default), which re-exports both: `use cqlstream::{FromRow, SerializeRow};`.
//!
//! # Layout
//!
//! - `attrs`: the `#[cql(...)]` attributes and the field list both derives work from;
//! - `from_row`: the `DeserializeRow` implementation;
//! - `serialize_row`: the `SerializeRow` implementation.
//!
//! Generated code names the crate `::cqlstream`; a crate that re-exports cqlstream under
//! another path says so with `#[cql(crate = path)]`.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

mod attrs;
mod from_row;
mod serialize_row;

/// Derives `cqlstream::types::DeserializeRow`: one row of a result read into a struct.
///
/// Fields are matched to columns **by name**, in any order; each field's type must
/// implement `DeserializeValue` for its column's type, checked once per page. A struct
/// with a lifetime (`struct User<'a> { name: &'a str }`) borrows its `&str` and `&[u8]`
/// fields from the page. A tuple struct reads its fields **by position** instead.
///
/// ```ignore
/// use cqlstream::FromRow;
///
/// #[derive(FromRow)]
/// struct User<'a> {
///     id: i32,
///     name: &'a str,           // borrowed from the page
///     email: Option<String>,   // None for a null
///     #[cql(rename = "type")]
///     kind: String,            // reads the column `type`
///     #[cql(skip)]
///     cached: Vec<u8>,         // not read: Default::default()
/// }
///
/// let users = cqlstream::types::rows_typed::<User>(&rows)?;
/// ```
///
/// # Attributes
///
/// On the struct:
/// - `#[cql(allow_extra_columns)]`: ignore columns no field reads (by default a column
///   no field reads is an error, so a `SELECT *` that grows a column is noticed; for a
///   tuple struct, the columns after the last field);
/// - `#[cql(crate = path)]`: where to find `cqlstream` (default `::cqlstream`).
///
/// On a field:
/// - `#[cql(rename = "column")]`: read the column of that name (named fields only);
/// - `#[cql(skip)]`: do not read the field; it is `Default::default()`.
///
/// # Errors
///
/// `type_check` fails with `DeserializeError::NoSuchColumn` naming the column a field
/// reads (the field's name unless renamed) when the result has none of that name, with
/// a column-type error naming the column when a field's type cannot read it, and, without
/// `allow_extra_columns`, with `DeserializeError::ColumnCount` wrapped in the name of the
/// first column no field reads. A column that appears twice in the result is checked and
/// read twice; the last one wins.
///
/// # Cost
///
/// The trait keeps no state between pages, so each row is read in one pass over its
/// cells that matches every column name against the field names (a `match` on string
/// literals): a few comparisons per column for a row type of a handful of fields.
#[proc_macro_derive(FromRow, attributes(cql))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    from_row::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Derives `cqlstream::types::SerializeRow`: a struct's fields bound to a statement's
/// markers.
///
/// Against a prepared statement each bind marker takes the field **of its name**
/// (`:name` markers, or the column of a `?` marker), whatever the order of the fields;
/// a field no marker names is not sent, and a marker with no field is
/// `SerializeError::MissingValue`. Without metadata (an unprepared QUERY) the fields are
/// sent as **named values** in field order, each as its natural CQL type. A tuple
/// struct binds **by position** (and positionally without metadata).
///
/// ```ignore
/// use cqlstream::SerializeRow;
///
/// #[derive(SerializeRow)]
/// struct NewUser<'a> {
///     id: i32,
///     name: &'a str,
///     #[cql(rename = "type")]
///     kind: &'a str,           // binds the marker `type`
///     #[cql(skip)]
///     note: String,            // never bound
/// }
///
/// // `markers`: the prepared statement's bind marker specs.
/// let values = cqlstream::types::serialize_values(&user, &markers)?;
/// ```
///
/// # Attributes
///
/// The same `#[cql(...)]` attributes as `FromRow`, so one struct can derive both:
/// `crate = path` on the struct (`allow_extra_columns` is accepted and means nothing
/// here), `rename = "marker"` and `skip` on a field.
#[proc_macro_derive(SerializeRow, attributes(cql))]
pub fn derive_serialize_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    serialize_row::derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}
