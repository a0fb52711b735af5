//! Values written without metadata (an unprepared QUERY): the "natural" CQL type a
//! value is written as when no bind marker says ([`SerializeValue::natural_type`]), for
//! dynamic values, collections and maps, and [`serialize_values_untyped`], which writes
//! a whole row that way. The scalar implementations state their own natural type beside
//! their `serialize`.

use super::SerializeValue;
use super::row_writer::{RowWriter, SerializeRow};
use crate::protocol::column_type::{ColumnType, UdtType};
use crate::protocol::values::Values;
use crate::types::error::SerializeError;
use crate::types::value::{CqlValue, MAX_VALUE_DEPTH};

/// The values of `row` for an unprepared statement: each as its natural type.
pub fn serialize_values_untyped<R: SerializeRow + ?Sized>(row: &R) -> Result<Values, SerializeError> {
    let mut w = RowWriter::new();
    row.serialize_row_untyped(&mut w)?;
    Ok(w.finish())
}

/// The CQL type a [`CqlValue`] is written as without metadata. Past the nesting limit
/// it gives up with `blob`, so a hostile value cannot exhaust the stack here; encoding
/// then fails on the same limit.
pub(super) fn natural_type_of(v: &CqlValue, depth: usize) -> ColumnType {
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

/// The natural type of a list or set: its first element's, or `blob` when empty.
pub(super) fn element_type<'a, T: SerializeValue + 'a>(mut items: impl Iterator<Item = &'a T>) -> Option<ColumnType> {
    match items.next() {
        Some(first) => first.natural_type(),
        None => Some(ColumnType::Blob),
    }
}

/// The natural type of a map: its first entry's, or `map<blob, blob>` when empty.
pub(super) fn map_type<'a, K, V>(mut entries: impl Iterator<Item = (&'a K, &'a V)>) -> Option<ColumnType>
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
