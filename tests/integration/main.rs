//! The integration suite: one test binary with a module per area (STYLE.md §13), so the
//! crate and its dependencies are linked once for all of them.
//!
//! - `protocol`: byte-exact vectors from the spec, hostile inputs, the fuzz seeds;
//! - `derive`: `#[derive(FromRow, SerializeRow)]` against rows built as a server sends
//!   them (their compile errors are checked by the package in `tests/compile_fail/`);
//! - `connection`, `session`, `stream`: the driver's layers against a server;
//! - `testkit`: the test server over TCP, driven by a scripted client;
//! - `interop_scylla`: the `scylla` crate against the test server;
//! - `support`: what the server-facing areas share ([`support::TestTarget`]).
//!
//! The server-facing modules run against an in-process testkit node by default, or the
//! real cluster `CQLSTREAM_TEST_CONTACT_POINTS` names (`support::TestTarget`).
//! `cargo test --all-features --test integration session::` runs one area.

#[cfg(feature = "testkit")]
mod connection;
#[cfg(feature = "derive")]
mod derive;
#[cfg(feature = "testkit")]
mod interop_scylla;
mod layering;
mod protocol;
#[cfg(feature = "testkit")]
mod session;
#[cfg(feature = "testkit")]
mod stream;
#[cfg(feature = "testkit")]
mod support;
#[cfg(feature = "testkit")]
mod testkit;
