//! STUB: the in-process CQL server (feature `testkit`), being written.
#![allow(dead_code)]
pub(crate) mod cql;
