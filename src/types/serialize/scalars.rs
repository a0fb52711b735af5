//! [`SerializeValue`] for the scalar Rust types (integers, floats, `bool`, strings, byte
//! strings, [`Uuid`], addresses, [`SystemTime`], the value types of [`crate::types`]),
//! and for `Option` (null), [`Unset`], [`MaybeUnset`] and [`CqlValue`]: a direct path for
//! each (an `i32` is four bytes written in place, no [`CqlValue`] is built).

use std::any::type_name;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::untyped::natural_type_of;
use super::write::{NULL, UNSET, check_ascii, put_fixed, put_value, put_with_len};
use super::{MaybeUnset, SerializeValue, Unset};
use crate::protocol::column_type::ColumnType;
use crate::protocol::wire::put_vint;
use crate::types::error::SerializeError;
use crate::types::value::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint, ValueError};

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
