//! The one error type of the value layer: why a value could not be encoded, decoded,
//! parsed or built from a literal. Owns nothing but the error type.

/// A value does not fit its type, or its bytes or text are malformed.
///
/// Messages name what was expected and what was found, so they can be shown to a user
/// as they are (`expected int, found text`, `300 is out of range for tinyint`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value (or literal) is of another kind than the type asks for.
    #[error("expected {expected}, found {found}")]
    TypeMismatch {
        /// The CQL type asked for, e.g. `list<int>`.
        expected: String,
        /// What was given, e.g. `text` or `string literal 'abc'`.
        found: String,
    },
    /// A number or time does not fit the range of the type.
    #[error("{value} is out of range for {typ}")]
    OutOfRange {
        /// The type (or Rust type, for conversions) whose range was exceeded.
        typ: String,
        /// The value as written.
        value: String,
    },
    /// Bytes or text that do not form a valid value of the type.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// What was being read or parsed.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The bytes end before the value does.
    #[error("truncated {what}: needs {needed} bytes, {available} left")]
    Truncated {
        /// The part being read.
        what: &'static str,
        /// Bytes it needs (at least).
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// Bytes are left over after a complete value.
    #[error("{extra} unexpected bytes after the {what}")]
    TrailingBytes {
        /// The value that was complete.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// A null where the type has no room for one (collection elements, vector elements).
    #[error("null is not allowed as a {context} element")]
    NullNotAllowed {
        /// The enclosing kind: `list`, `set`, `map`, `vector`.
        context: &'static str,
    },
    /// A vector, tuple or UDT value has the wrong number of elements.
    #[error("{typ} takes {expected} element(s), found {found}")]
    WrongCount {
        /// The type, e.g. `vector<float, 3>`.
        typ: String,
        /// Elements the type takes (exactly for vectors, at most for tuples).
        expected: usize,
        /// Elements given.
        found: usize,
    },
    /// Values nested deeper than [`MAX_VALUE_DEPTH`](super::MAX_VALUE_DEPTH).
    #[error("value nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

impl ValueError {
    pub(crate) fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        ValueError::Invalid { what, detail: detail.into() }
    }

    pub(crate) fn out_of_range(typ: impl Into<String>, value: impl ToString) -> Self {
        ValueError::OutOfRange { typ: typ.into(), value: value.to_string() }
    }

    pub(crate) fn mismatch(expected: impl ToString, found: impl Into<String>) -> Self {
        ValueError::TypeMismatch { expected: expected.to_string(), found: found.into() }
    }
}
