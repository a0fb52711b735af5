//! A statement's whole list of values: [`SerializeRow`] (implemented for `()`, tuples,
//! sequences by position and maps by bind marker name; derived by
//! `#[derive(SerializeRow)]`), and the [`RowWriter`] every implementation pushes its
//! values through, which checks each against the `[value]` contract and builds the
//! [`Values`] a QUERY, EXECUTE or BATCH carries.

use std::any::type_name;
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;

use super::SerializeValue;
use super::write::{too_large, written_value};
use crate::protocol::response::ColumnSpec;
use crate::protocol::values::{Values, ValuesWriter};
use crate::protocol::wire::put_string;
use crate::types::error::SerializeError;

/// Most values one request can bind: the count is a `[short]`.
pub(super) const MAX_VALUES: usize = u16::MAX as usize;

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

/// Tuples as a statement's values by position; their
/// [`SerializeValue`] side (`tuple<...>` values) is in `collections`.
macro_rules! tuple_rows {
    ($($n:literal => ($($T:ident $i:tt),+);)+) => {$(
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

for_tuple_arities!(tuple_rows);

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
