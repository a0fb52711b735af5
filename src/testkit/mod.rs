//! An in-process CQL server for tests, examples and benchmarks (feature `testkit`).
//!
//! No Cassandra runs on the machines this crate is built on, so it brings its own: a
//! server built on the same protocol core as the driver, speaking v3/v4/v5 with LZ4,
//! with an in-memory dataset, Cassandra's paging, fault injection and request counters.
//! Use it in your own tests the way Java users use Simulacron.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use cqlstream::testkit::{Fault, TestNode};
//!
//! let node = TestNode::builder().start().await?;
//! // Every statement containing "SELECT" answers 200 ms late.
//! node.faults().add(Fault::delay(Duration::from_millis(200)).matching("SELECT"));
//! println!("connect to {}", node.addr());
//! # Ok(()) }
//! ```
//!
//! The testkit owns the server side only: nodes and clusters, serving client
//! connections, executing CQL against an in-memory dataset, faults, counters and the
//! demo dataset. It is built on the driver's protocol, types and values (`protocol`,
//! `types`, `value`, and `token` for Murmur3) and never uses the driver itself
//! (`connection`, `session`, `stream`): what drives a session against it lives with its
//! users (the integration suite's `TestTarget` in `tests/integration/support/`, the
//! examples' loader in `examples/support/demo.rs`).
//!
//! # Layout
//! - `node`: [`TestCluster`] / [`TestNode`]: binding, start, stop, restart, topology.
//! - `serve`: serving one client connection: handshake, version negotiation, framing
//!   switch, authentication, the request loop, fault injection.
//! - `engine`: statement execution against the shared dataset (schema, storage, SELECT
//!   and paging, DML, PREPARE, DDL, the system tables).
//! - `events`: connections registered for events.
//! - `faults`, `stats`: fault injection rules and request counters.
//! - `cql`: the CQL parser (crate-internal).
//! - [`demo`]: the `bench.rows` dataset shared by the demo, examples and benchmarks
//!   (schema, values, row check; the loaders are its users').

pub(crate) mod cql;
pub mod demo;
mod engine;
mod events;
mod faults;
mod node;
mod serve;
mod stats;

pub use faults::{Fault, FaultAction, Faults, Matcher};
pub use node::{TestCluster, TestClusterBuilder, TestNode, TestNodeBuilder, VNODES};
pub use stats::Stats;
