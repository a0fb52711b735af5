//! # cqlstream
//!
//! An async Rust driver for Apache Cassandra and ScyllaDB that speaks the CQL native
//! protocol (v4 and v5, with v3 understood) itself, built for reading huge result sets
//! with bounded memory.
//!
//! ```no_run
//! use cqlstream::session::Session;
//! use futures_util::StreamExt;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let session = Session::builder().contact_point("127.0.0.1:9042").build().await?;
//!
//! // One statement, one page.
//! let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await?;
//! session.execute(&insert, (1, "one")).await?;
//!
//! // A table of any size, with flat memory: pages fetched ahead into a bounded channel.
//! let mut rows = session.stream("SELECT k, v FROM ks.t", ()).page_size(1000).typed::<(i32, String)>();
//! while let Some(row) = rows.next().await {
//!     let (k, v) = row?;
//!     println!("{k} = {v}");
//! }
//! # Ok(()) }
//! ```
//!
//! The protocol layer stands on its own too:
//!
//! ```
//! use bytes::BytesMut;
//! use cqlstream::protocol::{
//!     Consistency, QueryParameters, Request, RequestMessage, Version, request::Query,
//! };
//!
//! // Encode a QUERY as a v4 envelope on stream 7 ...
//! let query = Query::new("SELECT * FROM ks.t", QueryParameters::new(Consistency::LocalOne));
//! let msg = RequestMessage::new(7, Request::Query(query));
//! let envelope = msg.to_envelope(Version::V4).unwrap();
//! // ... and decode it again, as the server side does.
//! let back = RequestMessage::from_envelope(&envelope).unwrap();
//! assert_eq!(back, msg);
//! # let mut buf = BytesMut::new(); msg.encode(Version::V4, &mut buf).unwrap();
//! ```
//!
//! # Layout
//!
//! - [`protocol`]: bytes to typed messages and back, with no IO. Notations of spec §3
//!   (`wire`), the envelope header (`header`), column types (`column_type`), requests
//!   (`request/`, one file per opcode), responses (`response/`, one file per opcode),
//!   v4 LZ4 bodies (`compression`), v5 segments (`segment`, `crc`), and the
//!   `tokio_util` codec (`codec`) that switches framing mid-connection.
//! - [`connection`]: one connection. Its core (`core/`) is a state machine with no IO:
//!   stream ids, requests in flight and waiting, deadlines, orphans, heartbeats, write
//!   backpressure, defunct detection, fed bytes, commands and the time; `task` is the
//!   thin async loop around it that owns the socket. The handshake is a state machine
//!   too (`handshake/machine.rs`) driven by `handshake/mod.rs`.
//! - [`session`]: [`session::Session`]: the pool, statements, the prepared cache,
//!   results, the one request path every query, execute, batch and page goes through,
//!   and making streams ([`session::Session::stream`]). It may use connection and stream.
//! - [`stream`]: [`stream::RowStream`] and [`stream::PageStream`]: paging with a
//!   bounded read-ahead, limits, resume tokens; pages come from a page source (the
//!   session) it does not name. Its docs are the streaming guide. It must not use
//!   session or connection.
//! - [`Error`] (`error`): the one error type of session and stream (it wraps
//!   connection's errors); [`RetryPolicy`] (`retry`): which failed requests are tried
//!   again. Both use neither session nor stream, so both may use them.
//! - [`types`]: CQL values and Rust types to them and back: `value/` ([`types::CqlValue`],
//!   the value types Rust lacks, their wire form), `serialize/` (bound values and rows),
//!   `deserialize` and `row` (cells and rows of a page). [`token`]: Murmur3 tokens.
//! - `testkit` (feature `testkit`): the in-process CQL server tests, examples and
//!   benchmarks run against; the feature also compiles the value code only it needs
//!   (CQL literals, Cassandra's sort order). Feature `fuzzing`: `protocol::roundtrip`,
//!   the invariant checks of the fuzz targets under `fuzz/`.
//! - `protocol-spec/README.md` in the repository maps every spec section to the module
//!   and the tests that cover it.
//!
//! Which room may use which (a room stands on the ones below it, never on one above;
//! `tests/integration/layering.rs` fails on a `use` outside this table):
//!
//! | room | may use |
//! |---|---|
//! | `protocol` | nothing else |
//! | `types` | `protocol` |
//! | `token` | `protocol`, `types` |
//! | `connection` | `protocol` |
//! | `error` | `protocol`, `connection`, `types` |
//! | `retry` | `protocol`, `connection`, `error` |
//! | `stream` | `protocol`, `types`, `error`, `retry` |
//! | `session` | `protocol`, `types`, `connection`, `stream`, `error`, `retry` |
//! | `testkit` | `protocol`, `types`, `token` |
#![forbid(unsafe_code)]

pub mod connection;
mod error;
pub mod protocol;
mod retry;
pub mod session;
pub mod stream;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod token;
pub mod types;

pub use error::Error;
pub use retry::RetryPolicy;

/// Derives for row types (feature `derive`, on by default): `#[derive(FromRow)]` reads a
/// row into a struct, matching fields to columns by name (implements
/// [`types::DeserializeRow`]); `#[derive(SerializeRow)]` binds a struct's fields to bind
/// markers by name (implements [`types::SerializeRow`]). `#[cql(rename = "col")]` and
/// `#[cql(skip)]` on fields, `#[cql(allow_extra_columns)]` on the struct.
///
/// ```
/// use cqlstream::protocol::ColumnType;
/// use cqlstream::protocol::response::{ColumnSpec, RowsMetadata, RowsWriter};
/// use cqlstream::{FromRow, SerializeRow, types};
///
/// #[derive(Debug, PartialEq, FromRow, SerializeRow)]
/// struct User<'a> {
///     id: i32,
///     name: &'a str,
/// }
///
/// let columns = vec![
///     ColumnSpec::new("ks", "users", "name", ColumnType::Varchar),
///     ColumnSpec::new("ks", "users", "id", ColumnType::Int),
/// ];
/// // Bound by marker name, whatever the order.
/// let values = types::serialize_values(&User { id: 7, name: "seven" }, &columns)?;
/// assert_eq!(values.len(), 2);
///
/// let mut w = RowsWriter::new(2);
/// w.push_row([Some(&b"seven"[..]), Some(&[0, 0, 0, 7][..])])?;
/// let rows = w.finish(RowsMetadata::new(columns))?;
/// let users: Vec<User<'_>> = types::rows_typed(&rows)?.collect::<Result<_, _>>()?;
/// assert_eq!(users, [User { id: 7, name: "seven" }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "derive")]
pub use cqlstream_macros::{FromRow, SerializeRow};

/// The README's Rust examples, compiled and run as doctests so they cannot rot (with
/// feature `testkit`, which some of them use; the README's test command has it).
#[cfg(all(doctest, feature = "testkit"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
