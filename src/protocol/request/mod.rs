//! STUB, being written.
#![allow(missing_docs, unreachable_pub, dead_code)]
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Options,
}
#[derive(Debug, Clone, PartialEq)]
pub struct QueryParameters;
