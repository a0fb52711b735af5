//! The statement engine of the test server: executes QUERY, PREPARE, EXECUTE and BATCH
//! against the cluster's in-memory dataset.
//!
//! Work in progress (issue 3): the interface is fixed, the CQL execution lands with
//! the parser and value modules.

use crate::protocol::response::{ErrorBody, ErrorKind, Event};
use crate::protocol::{Request, Response, Version};

use super::node::ClusterShared;

/// Per-connection statement state (the keyspace chosen with `USE`).
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub(crate) keyspace: Option<String>,
}

/// The reply to a statement, and the event it causes (schema changes).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) response: Response,
    pub(crate) event: Option<Event>,
}

/// One per cluster: the dataset and the prepared statements.
#[derive(Debug, Default)]
pub(crate) struct Engine {}

impl Engine {
    pub(crate) fn new() -> Engine {
        Engine::default()
    }

    /// The statement texts a request runs (for counters and fault matching), and for
    /// a paged SELECT the 0-based page it asks for.
    pub(crate) fn describe(&self, request: &Request) -> (Vec<String>, Option<usize>) {
        match request {
            Request::Query(q) => (vec![q.query.clone()], None),
            _ => (Vec::new(), None),
        }
    }

    pub(crate) fn execute(
        &self,
        _cluster: &ClusterShared,
        _node: usize,
        _session: &mut Session,
        _version: Version,
        _request: Request,
    ) -> Outcome {
        let error =
            ErrorBody { kind: ErrorKind::ServerError, message: "statement execution is not implemented yet".into() };
        Outcome { response: Response::Error(error), event: None }
    }
}
