//! RESULT (v4/v5 §4.2.5): an `[int]` kind, then the body of that kind.
//!
//! Owns the kind dispatch and the small kinds (Void, Set_keyspace); Rows, Prepared and
//! Schema_change live in [`super::rows`], [`super::prepared`] and
//! [`super::schema_change`]. An unknown kind is a decode error, since its length and
//! meaning are unknown.

use bytes::{BufMut, BytesMut};

use super::invalid;
use super::prepared::Prepared;
use super::rows::Rows;
use super::schema_change::SchemaChange;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

/// A RESULT body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultBody {
    /// 0x0001: success, nothing to report.
    Void,
    /// 0x0002: a page of rows.
    Rows(Rows),
    /// 0x0003: the keyspace a `USE` switched to.
    SetKeyspace(String),
    /// 0x0004: a prepared statement (boxed: it is large and rare).
    Prepared(Box<Prepared>),
    /// 0x0005: the schema change a DDL statement made.
    SchemaChange(SchemaChange),
}

impl ResultBody {
    /// The RESULT kind code.
    pub fn kind(&self) -> i32 {
        match self {
            ResultBody::Void => 0x0001,
            ResultBody::Rows(_) => 0x0002,
            ResultBody::SetKeyspace(_) => 0x0003,
            ResultBody::Prepared(_) => 0x0004,
            ResultBody::SchemaChange(_) => 0x0005,
        }
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_i32(self.kind());
        match self {
            ResultBody::Void => Ok(()),
            ResultBody::Rows(rows) => rows.encode(version, buf),
            ResultBody::SetKeyspace(ks) => wire::put_string(buf, ks, "Set_keyspace keyspace"),
            ResultBody::Prepared(p) => p.encode(version, buf),
            ResultBody::SchemaChange(sc) => sc.encode(buf),
        }
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<ResultBody, DecodeError> {
        let at = r.position();
        Ok(match r.read_i32("RESULT kind")? {
            0x0001 => ResultBody::Void,
            0x0002 => ResultBody::Rows(Rows::decode(version, r)?),
            0x0003 => ResultBody::SetKeyspace(r.read_string("Set_keyspace keyspace")?),
            0x0004 => ResultBody::Prepared(Box::new(Prepared::decode(version, r)?)),
            0x0005 => ResultBody::SchemaChange(SchemaChange::decode(r)?),
            other => return Err(invalid("RESULT kind", at, format!("unknown kind {other:#06x}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::Opcode;
    use crate::protocol::response::testing::*;
    use crate::protocol::response::{Response, SchemaChangeTarget, SchemaChangeType};

    #[test]
    fn small_kinds() {
        for v in Version::ALL {
            check_vector(v, &[0, 0, 0, 1], &Response::Result(ResultBody::Void));
            check_vector(v, &[0, 0, 0, 3, 0, 2, b'k', b's'], &Response::Result(ResultBody::SetKeyspace("ks".into())));
        }
    }

    #[test]
    fn schema_change_result_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x00, 0x00, 0x05,
            0x00, 0x07, b'U', b'P', b'D', b'A', b'T', b'E', b'D',
            0x00, 0x05, b'T', b'A', b'B', b'L', b'E',
            0x00, 0x02, b'k', b's',
            0x00, 0x01, b't',
        ];
        let sc = SchemaChange {
            change: SchemaChangeType::Updated,
            target: SchemaChangeTarget::Table { keyspace: "ks".into(), name: "t".into() },
        };
        check_vector(Version::V4, &body, &Response::Result(ResultBody::SchemaChange(sc)));
    }

    #[test]
    fn unknown_kinds_are_errors() {
        for kind in [0, 6, -1, i32::MAX] {
            assert!(matches!(
                decode(Opcode::Result, Version::V4, &kind.to_be_bytes()),
                Err(DecodeError::Invalid { what: "RESULT kind", at: 0, .. })
            ));
        }
    }
}
