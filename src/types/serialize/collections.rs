//! [`SerializeValue`] for pointers (`&T`, `Box`, `Rc`, `Arc`: what they point to), for
//! sequences (`[T]`, `Vec<T>`, `[T; N]`: lists, sets and vectors), sets, maps, and tuples
//! of up to 16 elements (spec v5 §5.21).

use std::any::type_name;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::rc::Rc;
use std::sync::Arc;

use bytes::BytesMut;

use super::SerializeValue;
use super::untyped::{element_type, map_type};
use super::write::{LIST_SET_VECTOR, SET_ONLY, put_field, put_map, put_sequence, put_with_len};
use crate::protocol::column_type::ColumnType;
use crate::types::error::SerializeError;

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

/// Tuples as `tuple<...>` values; their [`SerializeRow`](super::SerializeRow) side (a
/// statement's values by position) is in `row_writer`.
macro_rules! tuple_values {
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
    )+};
}

for_tuple_arities!(tuple_values);
