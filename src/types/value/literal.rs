//! CQL literals as written in statement text (`42`, `'text'`, `0xcafe`, `[1, 2]`,
//! `{'k': 1}`, `(1, 'a')`, `{field: 1}`), before they are given a type.
//!
//! The parser produces them; [`super::CqlValue::from_literal`] turns one into a value
//! of a known column type. Owns only the shape of a literal, not its meaning. Compiled
//! with the feature `testkit` only, for the test server's CQL parser.

use uuid::Uuid;

/// A literal term of CQL text.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer as written, with an optional leading `-` (any size: varint literals).
    Integer(String),
    /// A floating point number as written (`1.5`, `-2e10`, `NaN`, `Infinity`, `-Infinity`).
    Float(String),
    /// A string: `'...'` with `''` unescaped, or `$$...$$`.
    String(String),
    /// A blob: `0x...`, decoded.
    Blob(Vec<u8>),
    /// A UUID constant.
    Uuid(Uuid),
    /// A duration constant as written (`1h30m`, `P1DT2H`, `-3d`).
    Duration(String),
    /// `[a, b]`
    List(Vec<Literal>),
    /// `{a, b}`; also `{}`, which is an empty set or an empty map depending on the type.
    Set(Vec<Literal>),
    /// `{k: v, ...}` with literal keys.
    Map(Vec<(Literal, Literal)>),
    /// `(a, b)`
    Tuple(Vec<Literal>),
    /// `{field: v, ...}` with identifier keys.
    Udt(Vec<(String, Literal)>),
}
