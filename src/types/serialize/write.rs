//! The `[value]` writing helpers every [`SerializeValue`] implementation here shares:
//! lengths patched in afterwards, element counts, and the check that a `serialize` call
//! appended exactly one well-formed `[value]` (the contract of the module docs). Also
//! the list, set, vector and map layouts (spec v5 §5.12 to §5.14, §5.25), written element
//! by element through the elements' own implementations.

use std::any::type_name;

use bytes::{BufMut, BytesMut};

use super::SerializeValue;
use crate::protocol::column_type::ColumnType;
use crate::protocol::wire::put_unsigned_vint;
use crate::types::error::SerializeError;
// Cassandra's fixed-length rule for vector elements lives in the value layer; one
// definition serves both.
use crate::types::value::{ValueError, vector_element_len};

/// `[value]` length of a null.
pub(super) const NULL: i32 = -1;
/// `[value]` length of "not set" (v4+).
pub(super) const UNSET: i32 = -2;

pub(super) fn too_large(what: &'static str, len: usize, max: usize) -> SerializeError {
    SerializeError::TooLarge { what, len, max }
}

/// A `[value]` of these bytes.
pub(super) fn put_value(out: &mut BytesMut, body: &[u8]) -> Result<(), SerializeError> {
    let len = i32::try_from(body.len()).map_err(|_| too_large("value length", body.len(), i32::MAX as usize))?;
    out.reserve(4 + body.len());
    out.put_i32(len);
    out.put_slice(body);
    Ok(())
}

/// A fixed-size `[value]`.
pub(super) fn put_fixed<const N: usize>(out: &mut BytesMut, body: [u8; N]) -> Result<(), SerializeError> {
    out.reserve(4 + N);
    out.put_i32(N as i32);
    out.put_slice(&body);
    Ok(())
}

/// A `[value]` whose body `write` appends; the length is patched in afterwards. On error
/// `out` is restored.
pub(super) fn put_with_len(
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
pub(super) fn written_value(out: &[u8], at: usize) -> Option<i32> {
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
pub(super) fn put_field<T: SerializeValue + ?Sized>(
    item: &T,
    typ: &ColumnType,
    out: &mut BytesMut,
) -> Result<(), SerializeError> {
    let at = out.len();
    item.serialize(typ, out)?;
    match written_value(out, at) {
        Some(UNSET) => Err(SerializeError::UnsetElement { context: "tuple" }),
        Some(_) => Ok(()),
        None => Err(SerializeError::Malformed { rust_type: type_name::<T>() }),
    }
}

/// Writes `items` as a list, set or vector of `typ`; `kinds` says which of the three
/// the Rust type may be written as.
pub(super) fn put_sequence<'a, T, I>(
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
pub(super) struct Sequence {
    list: bool,
    set: bool,
    vector: bool,
}

pub(super) const LIST_SET_VECTOR: Sequence = Sequence { list: true, set: true, vector: true };
pub(super) const SET_ONLY: Sequence = Sequence { list: false, set: true, vector: false };

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

pub(super) fn put_map<'a, K, V, I>(
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

pub(super) fn check_ascii<T: ?Sized>(typ: &ColumnType, b: &[u8]) -> Result<(), SerializeError> {
    match b.iter().position(|c| !c.is_ascii()) {
        None => Ok(()),
        Some(at) => Err(SerializeError::invalid::<T>(
            typ,
            ValueError::invalid("ascii", format!("byte {:#04x} at offset {at} is not 7-bit ASCII", b[at])),
        )),
    }
}
