//! EXECUTE (v4 §4.1.6, v5 §4.1.6): a prepared id, from v5 the result metadata id, and
//! the query parameters.

use bytes::{Bytes, BytesMut};

use super::query_parameters::QueryParameters;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

/// EXECUTE: runs a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Execute {
    /// The prepared statement id.
    pub id: Bytes,
    /// The result metadata id from PREPARED (or a later Metadata_changed); required in
    /// v5, absent before.
    pub result_metadata_id: Option<Bytes>,
    /// Consistency, values, paging and the rest.
    pub params: QueryParameters,
}

impl Execute {
    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_short_bytes(buf, &self.id, "EXECUTE id")?;
        match (&self.result_metadata_id, version >= Version::V5) {
            (Some(id), true) => wire::put_short_bytes(buf, id, "EXECUTE result_metadata_id")?,
            (None, false) => {}
            (Some(_), false) => return Err(EncodeError::NotInVersion { what: "EXECUTE result_metadata_id", version }),
            (None, true) => {
                return Err(EncodeError::Invalid {
                    what: "EXECUTE result_metadata_id",
                    detail: "protocol v5 requires the result metadata id".into(),
                });
            }
        }
        self.params.encode(version, buf)
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Execute, DecodeError> {
        let id = r.read_short_bytes("EXECUTE id")?;
        let result_metadata_id =
            if version >= Version::V5 { Some(r.read_short_bytes("EXECUTE result_metadata_id")?) } else { None };
        Ok(Execute { id, result_metadata_id, params: QueryParameters::decode(version, r)? })
    }
}
