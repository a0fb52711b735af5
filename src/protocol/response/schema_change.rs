//! The schema change description shared by the SCHEMA_CHANGE event (v4/v5 §4.2.6) and
//! the Schema_change result (v4/v5 §4.2.5.5): `<change_type><target><options>`.
//!
//! Owns that layout only; the event type string in front of it belongs to
//! [`super::event`], the result kind to [`super::result`]. Reacting to schema changes
//! (refreshing metadata) is the driver's job.

use bytes::BytesMut;

use super::read_name;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::{self, Reader};

/// A schema change: what happened to which object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaChange {
    /// Created, updated or dropped.
    pub change: SchemaChangeType,
    /// The object that changed.
    pub target: SchemaChangeTarget,
}

/// What happened to the schema object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaChangeType {
    /// `CREATED`.
    Created,
    /// `UPDATED`.
    Updated,
    /// `DROPPED`.
    Dropped,
}

/// The schema object that changed, with its `<options>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaChangeTarget {
    /// `KEYSPACE`: the keyspace itself.
    Keyspace {
        /// Keyspace name.
        keyspace: String,
    },
    /// `TABLE` (index changes are reported on their table).
    Table {
        /// Keyspace of the table.
        keyspace: String,
        /// Table name.
        name: String,
    },
    /// `TYPE`: a user-defined type.
    Type {
        /// Keyspace of the type.
        keyspace: String,
        /// Type name.
        name: String,
    },
    /// `FUNCTION`: a user-defined function.
    Function {
        /// Keyspace of the function.
        keyspace: String,
        /// Function name.
        name: String,
        /// CQL types of its arguments, which tell overloads apart.
        arg_types: Vec<String>,
    },
    /// `AGGREGATE`: a user-defined aggregate.
    Aggregate {
        /// Keyspace of the aggregate.
        keyspace: String,
        /// Aggregate name.
        name: String,
        /// CQL types of its arguments.
        arg_types: Vec<String>,
    },
}

impl SchemaChangeType {
    /// The name on the wire, e.g. `CREATED`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaChangeType::Created => "CREATED",
            SchemaChangeType::Updated => "UPDATED",
            SchemaChangeType::Dropped => "DROPPED",
        }
    }

    fn from_name(s: &str) -> Option<SchemaChangeType> {
        [SchemaChangeType::Created, SchemaChangeType::Updated, SchemaChangeType::Dropped]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl SchemaChangeTarget {
    /// The target name on the wire, e.g. `TABLE`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SchemaChangeTarget::Keyspace { .. } => "KEYSPACE",
            SchemaChangeTarget::Table { .. } => "TABLE",
            SchemaChangeTarget::Type { .. } => "TYPE",
            SchemaChangeTarget::Function { .. } => "FUNCTION",
            SchemaChangeTarget::Aggregate { .. } => "AGGREGATE",
        }
    }

    /// The keyspace the object lives in (or is).
    pub fn keyspace(&self) -> &str {
        match self {
            SchemaChangeTarget::Keyspace { keyspace }
            | SchemaChangeTarget::Table { keyspace, .. }
            | SchemaChangeTarget::Type { keyspace, .. }
            | SchemaChangeTarget::Function { keyspace, .. }
            | SchemaChangeTarget::Aggregate { keyspace, .. } => keyspace,
        }
    }
}

#[derive(Clone, Copy)]
enum TargetKind {
    Keyspace,
    Table,
    Type,
    Function,
    Aggregate,
}

impl SchemaChange {
    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_string(buf, self.change.as_str(), "schema change type")?;
        wire::put_string(buf, self.target.as_str(), "schema change target")?;
        match &self.target {
            SchemaChangeTarget::Keyspace { keyspace } => wire::put_string(buf, keyspace, "schema change keyspace"),
            SchemaChangeTarget::Table { keyspace, name } | SchemaChangeTarget::Type { keyspace, name } => {
                wire::put_string(buf, keyspace, "schema change keyspace")?;
                wire::put_string(buf, name, "schema change name")
            }
            SchemaChangeTarget::Function { keyspace, name, arg_types }
            | SchemaChangeTarget::Aggregate { keyspace, name, arg_types } => {
                wire::put_string(buf, keyspace, "schema change keyspace")?;
                wire::put_string(buf, name, "schema change name")?;
                wire::put_string_list(buf, arg_types, "schema change argument types")
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<SchemaChange, DecodeError> {
        let change = read_name(r, "schema change type", SchemaChangeType::from_name)?;
        let kind = read_name(r, "schema change target", |s| {
            Some(match s {
                "KEYSPACE" => TargetKind::Keyspace,
                "TABLE" => TargetKind::Table,
                "TYPE" => TargetKind::Type,
                "FUNCTION" => TargetKind::Function,
                "AGGREGATE" => TargetKind::Aggregate,
                _ => return None,
            })
        })?;
        let keyspace = r.read_string("schema change keyspace")?;
        // spec v5 §4.2.6: the options after the keyspace depend on the target.
        let target = match kind {
            TargetKind::Keyspace => SchemaChangeTarget::Keyspace { keyspace },
            TargetKind::Table => SchemaChangeTarget::Table { keyspace, name: r.read_string("schema change name")? },
            TargetKind::Type => SchemaChangeTarget::Type { keyspace, name: r.read_string("schema change name")? },
            TargetKind::Function => SchemaChangeTarget::Function {
                keyspace,
                name: r.read_string("schema change name")?,
                arg_types: r.read_string_list("schema change argument types")?,
            },
            TargetKind::Aggregate => SchemaChangeTarget::Aggregate {
                keyspace,
                name: r.read_string("schema change name")?,
                arg_types: r.read_string_list("schema change argument types")?,
            },
        };
        Ok(SchemaChange { change, target })
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn decode(b: &[u8]) -> Result<SchemaChange, DecodeError> {
        let src = Bytes::copy_from_slice(b);
        SchemaChange::decode(&mut Reader::new(&src))
    }

    #[test]
    fn function_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x07, b'D', b'R', b'O', b'P', b'P', b'E', b'D',
            0x00, 0x08, b'F', b'U', b'N', b'C', b'T', b'I', b'O', b'N',
            0x00, 0x02, b'k', b's',
            0x00, 0x01, b'f',
            0x00, 0x02, 0x00, 0x03, b'i', b'n', b't', 0x00, 0x04, b't', b'e', b'x', b't',
        ];
        let sc = SchemaChange {
            change: SchemaChangeType::Dropped,
            target: SchemaChangeTarget::Function {
                keyspace: "ks".into(),
                name: "f".into(),
                arg_types: vec!["int".into(), "text".into()],
            },
        };
        assert_eq!(decode(&body), Ok(sc.clone()));
        let mut buf = BytesMut::new();
        sc.encode(&mut buf).unwrap();
        assert_eq!(&buf[..], &body);
        for cut in 0..body.len() {
            assert!(decode(&body[..cut]).is_err());
        }
        assert_eq!(sc.target.keyspace(), "ks");
    }

    #[test]
    fn unknown_names_are_named_in_the_error() {
        let bad_change = [0x00, 0x03, b'N', b'E', b'W', 0x00, 0x05, b'T', b'A', b'B', b'L', b'E'];
        assert!(matches!(decode(&bad_change), Err(DecodeError::Invalid { what: "schema change type", at: 0, .. })));
        let bad_target = [0x00, 0x07, b'C', b'R', b'E', b'A', b'T', b'E', b'D', 0x00, 0x03, b'R', b'O', b'W'];
        assert!(matches!(decode(&bad_target), Err(DecodeError::Invalid { what: "schema change target", at: 9, .. })));
    }
}
