//! CQL values and their serialised form (spec v5 §5 and §6, v4 §6 and §7), the part
//! of [`crate::types`] that knows CQL without knowing Rust's types.
//!
//! This module owns [`CqlValue`], one value of any CQL type, and the small lossless
//! types Rust's standard library lacks ([`CqlDate`], [`CqlTime`], [`CqlTimestamp`],
//! [`CqlDuration`], [`CqlVarint`], [`CqlDecimal`]). It knows how a value is written for
//! a column type and read back ([`CqlValue::encode`], [`CqlValue::decode`]) and how
//! values print as CQL literals. With the feature `testkit` (for the test server only)
//! it also knows how a CQL `Literal` becomes a value (`CqlValue::from_literal`) and the
//! order Cassandra sorts values in (`CqlValue::cql_cmp`, `CqlValue::normalize`). It
//! knows nothing of messages, rows, Rust's own types or IO: the caller hands it the
//! contents of one `[bytes]`. Everything public is re-exported by [`crate::types`].
//!
//! ```
//! use bytes::BytesMut;
//! use cqlstream::protocol::ColumnType;
//! use cqlstream::types::CqlValue;
//!
//! let typ = ColumnType::Set(Box::new(ColumnType::Int));
//! let value = CqlValue::Set(vec![CqlValue::Int(-1), CqlValue::Int(3)]);
//! assert_eq!(value.to_string(), "{-1, 3}");
//!
//! let mut buf = BytesMut::new();
//! value.encode(&typ, &mut buf).unwrap();
//! assert_eq!(CqlValue::decode(&typ, &buf).unwrap(), value);
//! ```
//!
//! # Layout
//!
//! - `cql_value`: the [`CqlValue`] enum and conversions into it;
//! - `encode`, `decode`: the wire form, including which element types Cassandra treats
//!   as fixed-length inside vectors;
//! - `display`: values as CQL literals;
//! - `varint`, `decimal`, `date`, `time`, `timestamp`, `duration`: the scalar types;
//! - `error`: [`ValueError`];
//! - feature `testkit`: `literal` (the untyped `Literal` the test server's CQL parser
//!   produces), `from_literal` (what CQL text is accepted for each type), `ordering`
//!   (Cassandra's sort order, and sorting of sets and maps).

mod cql_value;
mod date;
mod decimal;
mod decode;
mod display;
mod duration;
mod encode;
mod error;
#[cfg(feature = "testkit")]
mod from_literal;
#[cfg(feature = "testkit")]
mod literal;
#[cfg(feature = "testkit")]
mod ordering;
#[cfg(test)]
pub(crate) mod strategies;
mod time;
mod timestamp;
mod varint;

pub use cql_value::{CqlValue, MAX_VALUE_DEPTH};
pub use date::CqlDate;
pub use decimal::CqlDecimal;
pub use duration::CqlDuration;
pub(crate) use encode::vector_element_len;
pub use error::ValueError;
#[cfg(feature = "testkit")]
pub use literal::Literal;
#[cfg(feature = "testkit")]
pub use ordering::{sort_map, sort_set};
pub use time::CqlTime;
pub use timestamp::CqlTimestamp;
pub use varint::CqlVarint;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every text parser rejects garbage with an error, never a panic.
        #[test]
        fn parsers_never_panic(s in prop_oneof![".{0,24}", "[-+0-9PTYMWDHSsmunµ:.eEZ ]{0,24}"]) {
            let _ = s.parse::<CqlVarint>();
            let _ = s.parse::<CqlDecimal>();
            let _ = s.parse::<CqlDate>();
            let _ = s.parse::<CqlTime>();
            let _ = s.parse::<CqlTimestamp>();
            let _ = s.parse::<CqlDuration>();
        }
    }
}
