//! The errors of the typed layer: [`SerializeError`] (Rust value → bound value) and
//! [`DeserializeError`] (cell → Rust value). Owns nothing but the error types and the
//! short Rust type names they print.
//!
//! Value-level errors name the Rust type and the CQL type; the row layer wraps them with
//! the column or bind marker they happened in (`Column` variants), so the message a user
//! sees reads `column `v`: cannot read CQL type blob as Rust i32`.

use crate::protocol::ColumnType;
use crate::types::value::ValueError;

/// A Rust value could not be written as a bound value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SerializeError {
    /// The Rust type has no encoding for the column's CQL type.
    #[error("cannot write Rust {} as CQL type {cql_type}", short_type_name(.rust_type))]
    TypeMismatch {
        /// Full Rust type name (`std::any::type_name`).
        rust_type: &'static str,
        /// The bind marker's type.
        cql_type: Box<ColumnType>,
    },
    /// The Rust type fits the CQL type, but this value does not: non-ASCII text for
    /// `ascii`, a UUID of another version for `timeuuid`, a time out of range, or a
    /// [`CqlValue`](crate::types::CqlValue) that does not fit.
    #[error("cannot write this Rust {} as CQL type {cql_type}: {reason}", short_type_name(.rust_type))]
    InvalidValue {
        /// Full Rust type name.
        rust_type: &'static str,
        /// The bind marker's (or element's) type.
        cql_type: Box<ColumnType>,
        /// What is wrong with the value.
        reason: Box<ValueError>,
    },
    /// A tuple or vector has another number of elements than its CQL type.
    #[error("Rust {} has {found} element(s), but CQL type {cql_type} takes {expected}", short_type_name(.rust_type))]
    WrongCount {
        /// Full Rust type name.
        rust_type: &'static str,
        /// The tuple or vector type.
        cql_type: Box<ColumnType>,
        /// Elements the CQL type takes.
        expected: usize,
        /// Elements the Rust value has.
        found: usize,
    },
    /// A null inside a list, set, map or vector, which cannot hold one.
    #[error("a {context} element cannot be null (Rust {})", short_type_name(.rust_type))]
    NullElement {
        /// Full Rust type name of the collection.
        rust_type: &'static str,
        /// `list`, `set`, `map` or `vector`.
        context: &'static str,
    },
    /// [`Unset`](super::Unset) inside a collection or tuple; it only means something for
    /// a whole bound value.
    #[error("unset is only allowed as a whole bound value, not inside a {context}")]
    UnsetElement {
        /// `list`, `set`, `map`, `vector` or `tuple`.
        context: &'static str,
    },
    /// A value or collection is larger than the protocol can carry.
    #[error("{what} of {len} is too large for the protocol (at most {max})")]
    TooLarge {
        /// What overflowed: `value length`, `collection size`, `bound values`.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A positional row has another number of values than the statement has markers.
    #[error("statement has {expected} bind markers but {given} values were given")]
    ValueCount {
        /// Bind markers of the statement.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// A row given by name has no value for a bind marker.
    #[error("no value given for bind marker `{name}`")]
    MissingValue {
        /// The marker's name.
        name: String,
    },
    /// A row given by name has a value for a name that is no bind marker.
    #[error("a value is given for `{name}`, but the statement has no bind marker of that name")]
    UnknownName {
        /// The name given.
        name: String,
    },
    /// Serializing without metadata, for a value that does not say which CQL type it is.
    #[error(
        "Rust {} has no natural CQL type to write without metadata; prepare the statement or bind a CqlValue",
        short_type_name(.rust_type)
    )]
    NoNaturalType {
        /// Full Rust type name.
        rust_type: &'static str,
    },
    /// Serializing without metadata, for a row type that only knows how to write against
    /// column specs.
    #[error("Rust {} can only be bound to a prepared statement", short_type_name(.rust_type))]
    NeedsMetadata {
        /// Full Rust type name of the row.
        rust_type: &'static str,
    },
    /// Positional and named values in one list.
    #[error("positional and named values cannot be mixed in one statement")]
    MixedNamedAndPositional,
    /// A hand-written [`SerializeValue`](super::SerializeValue) implementation did not
    /// append exactly one well-formed `[value]`.
    #[error("the SerializeValue implementation of Rust {} wrote a malformed [value]", short_type_name(.rust_type))]
    Malformed {
        /// Full Rust type name.
        rust_type: &'static str,
    },
    /// An error in one bound value, with the marker it was bound to.
    #[error("bind marker `{name}` (position {index}): {error}")]
    Column {
        /// Position of the value (0-based).
        index: usize,
        /// The marker's name (empty when the statement's markers are not known).
        name: String,
        /// What went wrong.
        error: Box<SerializeError>,
    },
}

impl SerializeError {
    /// `T` cannot be written as `typ`.
    pub fn mismatch<T: ?Sized>(typ: &ColumnType) -> Self {
        SerializeError::TypeMismatch { rust_type: std::any::type_name::<T>(), cql_type: Box::new(typ.clone()) }
    }

    /// This value of `T` does not fit `typ`.
    pub fn invalid<T: ?Sized>(typ: &ColumnType, reason: ValueError) -> Self {
        SerializeError::InvalidValue {
            rust_type: std::any::type_name::<T>(),
            cql_type: Box::new(typ.clone()),
            reason: Box::new(reason),
        }
    }

    /// No value for the bind marker `name` (for row types that bind by name).
    pub fn missing_value(name: &str) -> Self {
        SerializeError::MissingValue { name: name.to_owned() }
    }

    /// `self` happened in the value at `index`, bound to the marker `name`.
    pub fn in_column(self, index: usize, name: &str) -> Self {
        SerializeError::Column { index, name: name.to_owned(), error: Box::new(self) }
    }

    /// The innermost error, below the column wrapper.
    pub fn root(&self) -> &SerializeError {
        match self {
            SerializeError::Column { error, .. } => error.root(),
            other => other,
        }
    }
}

/// A cell could not be read as the Rust type asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeserializeError {
    /// The Rust type cannot hold values of the column's CQL type.
    #[error("cannot read CQL type {cql_type} as Rust {}", short_type_name(.rust_type))]
    TypeMismatch {
        /// Full Rust type name (`std::any::type_name`).
        rust_type: &'static str,
        /// The column's type.
        cql_type: Box<ColumnType>,
    },
    /// A null, read into a Rust type that has no room for one.
    #[error(
        "unexpected null: Rust {} cannot hold a null; read the column as Option<{}>",
        short_type_name(.rust_type),
        short_type_name(.rust_type)
    )]
    UnexpectedNull {
        /// Full Rust type name.
        rust_type: &'static str,
    },
    /// The bytes are not a valid value of the CQL type, or the value does not fit the
    /// Rust type (a `varint` too large for `i64`, a `timestamp` `SystemTime` cannot
    /// represent).
    #[error("invalid CQL {cql_type} value for Rust {}: {reason}", short_type_name(.rust_type))]
    Invalid {
        /// Full Rust type name.
        rust_type: &'static str,
        /// The column's (or element's) type.
        cql_type: Box<ColumnType>,
        /// What is wrong.
        reason: Box<ValueError>,
    },
    /// The row has another number of columns than the Rust row type takes.
    #[error("the rows have {found} column(s), but Rust {} takes {expected}", short_type_name(.rust_type))]
    ColumnCount {
        /// Full Rust type name of the row type.
        rust_type: &'static str,
        /// Columns the Rust type takes.
        expected: usize,
        /// Columns the rows have.
        found: usize,
    },
    /// No column of this name in the result.
    #[error("the result has no column named `{name}`")]
    NoSuchColumn {
        /// The name asked for.
        name: String,
    },
    /// A column index past the end of the row.
    #[error("column index {index} is out of range for a row of {count} column(s)")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// Columns in the row.
        count: usize,
    },
    /// The page carries no column specs (it was fetched with skip-metadata) and none
    /// were supplied.
    #[error("the page has no column metadata; supply the prepared statement's result columns")]
    NoMetadata,
    /// Column specs supplied for a page do not match it.
    #[error("{given} column spec(s) were supplied for a page of {found} column(s)")]
    MetadataMismatch {
        /// Column specs supplied.
        given: usize,
        /// Columns in the page.
        found: usize,
    },
    /// An error in one column, with the column it happened in.
    #[error("column `{name}`: {error}")]
    Column {
        /// The column's index.
        index: usize,
        /// The column's name.
        name: String,
        /// What went wrong.
        error: Box<DeserializeError>,
    },
}

impl DeserializeError {
    /// `T` cannot hold values of `typ`.
    pub fn mismatch<T: ?Sized>(typ: &ColumnType) -> Self {
        DeserializeError::TypeMismatch { rust_type: std::any::type_name::<T>(), cql_type: Box::new(typ.clone()) }
    }

    /// A null read into `T`.
    pub fn unexpected_null<T: ?Sized>() -> Self {
        DeserializeError::UnexpectedNull { rust_type: std::any::type_name::<T>() }
    }

    /// Bytes of `typ` that `T` cannot accept.
    pub fn invalid<T: ?Sized>(typ: &ColumnType, reason: ValueError) -> Self {
        DeserializeError::Invalid {
            rust_type: std::any::type_name::<T>(),
            cql_type: Box::new(typ.clone()),
            reason: Box::new(reason),
        }
    }

    /// No column named `name` (for row types that match columns by name).
    pub fn no_such_column(name: &str) -> Self {
        DeserializeError::NoSuchColumn { name: name.to_owned() }
    }

    /// `self` happened in column `index`, named `name`.
    pub fn in_column(self, index: usize, name: &str) -> Self {
        DeserializeError::Column { index, name: name.to_owned(), error: Box::new(self) }
    }

    /// The innermost error, below the column wrapper.
    pub fn root(&self) -> &DeserializeError {
        match self {
            DeserializeError::Column { error, .. } => error.root(),
            other => other,
        }
    }
}

/// A Rust type name without module paths: `core::option::Option<alloc::string::String>`
/// prints as `Option<String>`, which is what a user wrote.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    // Where the current path segment starts in `out`; a `::` drops what precedes it.
    let mut segment = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            if out.len() > segment {
                out.truncate(segment);
            } else {
                // `<A as B>::C`: the path continues after a closing bracket; keep it.
                out.push_str("::");
                segment = out.len();
            }
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                segment = out.len();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn short_names() {
        use std::any::type_name;
        assert_eq!(short_type_name(type_name::<i32>()), "i32");
        assert_eq!(short_type_name(type_name::<&str>()), "&str");
        assert_eq!(short_type_name(type_name::<Option<Vec<String>>>()), "Option<Vec<String>>");
        assert_eq!(short_type_name(type_name::<HashMap<String, (i32, &[u8])>>()), "HashMap<String, (i32, &[u8])>");
        assert_eq!(short_type_name(type_name::<dyn super::super::SerializeValue>()), "dyn SerializeValue");
        assert_eq!(short_type_name("<a::B as c::D>::E"), "<B as D>::E");
    }

    #[test]
    fn errors_stay_small() {
        // Returned on every value's hot path: keep the Err side a few words.
        assert!(std::mem::size_of::<SerializeError>() <= 48, "{}", std::mem::size_of::<SerializeError>());
        assert!(std::mem::size_of::<DeserializeError>() <= 48, "{}", std::mem::size_of::<DeserializeError>());
    }

    #[test]
    fn messages() {
        let e = DeserializeError::mismatch::<i32>(&ColumnType::Blob).in_column(1, "v");
        assert_eq!(e.to_string(), "column `v`: cannot read CQL type blob as Rust i32");
        assert!(matches!(e.root(), DeserializeError::TypeMismatch { .. }));
        let e = DeserializeError::unexpected_null::<String>().in_column(0, "name");
        assert_eq!(
            e.to_string(),
            "column `name`: unexpected null: Rust String cannot hold a null; read the column as Option<String>"
        );
        let e = SerializeError::mismatch::<&str>(&ColumnType::Int).in_column(0, "id");
        assert_eq!(e.to_string(), "bind marker `id` (position 0): cannot write Rust &str as CQL type int");
        assert!(matches!(e.root(), SerializeError::TypeMismatch { .. }));
    }
}
