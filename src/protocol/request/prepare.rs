//! PREPARE (v4 §4.1.5, v5 §4.1.5): the statement text and, from v5, `[int]` flags with
//! an optional keyspace.

use bytes::{BufMut, BytesMut};

use super::query_parameters::v5_only;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

const WITH_KEYSPACE: u32 = 0x01;

/// PREPARE: asks the server to prepare a statement for EXECUTE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prepare {
    /// The CQL text.
    pub query: String,
    /// Keyspace to prepare in (v5).
    pub keyspace: Option<String>,
}

impl Prepare {
    /// A PREPARE of `query`.
    pub fn new(query: impl Into<String>) -> Prepare {
        Prepare { query: query.into(), keyspace: None }
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        v5_only(&self.keyspace, "PREPARE keyspace", version)?;
        wire::put_long_string(buf, &self.query, "PREPARE text")?;
        if version >= Version::V5 {
            buf.put_u32(if self.keyspace.is_some() { WITH_KEYSPACE } else { 0 });
            if let Some(k) = &self.keyspace {
                wire::put_string(buf, k, "PREPARE keyspace")?;
            }
        }
        Ok(())
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Prepare, DecodeError> {
        let query = r.read_long_string("PREPARE text")?;
        let mut keyspace = None;
        if version >= Version::V5 {
            let flags = r.read_i32("PREPARE flags")? as u32;
            if flags & WITH_KEYSPACE != 0 {
                keyspace = Some(r.read_string("PREPARE keyspace")?);
            }
        }
        Ok(Prepare { query, keyspace })
    }
}
