//! QUERY (v4 §4.1.4, v5 §4.1.4): a `[long string]` statement and its parameters.

use bytes::BytesMut;

use super::query_parameters::QueryParameters;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

/// QUERY: runs a CQL statement given as text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// The CQL text.
    pub query: String,
    /// Consistency, values, paging and the rest.
    pub params: QueryParameters,
}

impl Query {
    /// A QUERY of `query` with `params`.
    pub fn new(query: impl Into<String>, params: QueryParameters) -> Query {
        Query { query: query.into(), params }
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_long_string(buf, &self.query, "QUERY text")?;
        self.params.encode(version, buf)
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Query, DecodeError> {
        let query = r.read_long_string("QUERY text")?;
        Ok(Query { query, params: QueryParameters::decode(version, r)? })
    }
}
