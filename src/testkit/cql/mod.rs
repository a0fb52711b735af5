//! The CQL parser of the test server: statement text to a syntax tree.
//!
//! Covers the statements the server executes: `USE`, `CREATE`/`DROP KEYSPACE`,
//! `CREATE`/`DROP TYPE`, `CREATE`/`DROP TABLE`, `TRUNCATE`, `SELECT`, `INSERT`,
//! `UPDATE`, `DELETE` and `BATCH`, including every statement the DataStax Python driver
//! and the `scylla` crate send while connecting (see the tests). Hand-written: a
//! one-pass [`lexer`] and a recursive-descent [`parser`], both linear in the input and
//! with a nesting limit, so no statement can make them panic or exhaust the stack.
//!
//! ```text
//! parse("SELECT v FROM ks.t WHERE k = ?")
//!   -> Parsed { statement: CqlStatement::Select(..), bind_markers: [None] }
//! ```
//!
//! # Layout
//! - `lexer`: text to tokens (keywords are words the parser recognises by context).
//! - `parser`: tokens to a statement, and the syntax errors.
//! - `ast`: the statement types.
//!
//! Only syntax is checked here. Whether a table exists, a value fits its column or a
//! statement is allowed (a TTL on a batch, two primary keys) is the engine's business.

// The engine is the only consumer and does not act on every part of the tree (table
// options, for one), so some items are never read outside the tests.
#![allow(dead_code, reason = "a syntax tree keeps what the text says, whether or not the engine uses it")]

mod ast;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub(crate) use ast::*;

/// A parsed statement and its bind markers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    /// The statement.
    pub(crate) statement: CqlStatement,
    /// One entry per bind marker in text order (the marker's `index`): the name of a
    /// `:name` marker, `None` for `?`. Its length is the number of values to bind.
    pub(crate) bind_markers: Vec<Option<String>>,
}

/// A syntax error, answered as `Syntax_error` (0x2000).
///
/// Displays as Cassandra's messages do: `line 1:9 mismatched input 'FORM' expecting
/// K_FROM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}:{column} {message}")]
pub(crate) struct ParseError {
    /// What is wrong, without the position.
    pub(crate) message: String,
    /// 1-based line of the offending token.
    pub(crate) line: usize,
    /// 0-based column (in characters) of the offending token.
    pub(crate) column: usize,
}

impl ParseError {
    /// An error at byte offset `offset` of `src` (a character boundary).
    pub(crate) fn at(src: &str, offset: usize, message: String) -> ParseError {
        let before = src.get(..offset).unwrap_or(src);
        let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count();
        ParseError { message, line, column }
    }
}

/// Parses one statement, optionally followed by `;`.
pub(crate) fn parse(cql: &str) -> Result<Parsed, ParseError> {
    let mut p = parser::Parser::new(cql, lexer::tokenize(cql));
    let statement = p.statement()?;
    Ok(Parsed { statement, bind_markers: p.markers })
}
