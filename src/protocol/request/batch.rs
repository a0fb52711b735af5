//! BATCH (v4 §4.1.7, v5 §4.1.7): several statements, text or prepared, each with its
//! values, under one consistency.

use bytes::{BufMut, Bytes, BytesMut};

use super::query_parameters::{flag, put_flags, read_flags, v5_only};
use crate::protocol::consistency::Consistency;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::values::Values;
use crate::protocol::wire::{self, Reader};

/// The kind of batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum BatchType {
    /// Logged: atomic through the batch log.
    #[default]
    Logged = 0,
    /// Unlogged.
    Unlogged = 1,
    /// Counter updates only.
    Counter = 2,
}

/// What a batch statement runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatementKind {
    /// CQL text (kind 0).
    Query(String),
    /// A prepared statement id (kind 1).
    Prepared(Bytes),
}

/// One statement of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatement {
    /// Text or prepared id.
    pub kind: BatchStatementKind,
    /// Its bound values.
    pub values: Values,
}

/// BATCH: runs several DML statements together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// Logged, unlogged or counter.
    pub batch_type: BatchType,
    /// The statements, in order.
    pub statements: Vec<BatchStatement>,
    /// Consistency level.
    pub consistency: Consistency,
    /// Serial consistency for conditional statements.
    pub serial_consistency: Option<Consistency>,
    /// Default timestamp in microseconds.
    pub timestamp: Option<i64>,
    /// Keyspace (v5).
    pub keyspace: Option<String>,
    /// "Now" in seconds (v5).
    pub now_in_seconds: Option<i32>,
}

impl Batch {
    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        v5_only(&self.keyspace, "BATCH keyspace", version)?;
        v5_only(&self.now_in_seconds, "BATCH now_in_seconds", version)?;
        // spec §4.1.7 flag 0x40: values precede the flags, so a server cannot know names are
        // present; the spec marks it unusable (CASSANDRA-10246) and Cassandra rejects it.
        if self.statements.iter().any(|s| s.values.is_named()) {
            return Err(EncodeError::Invalid {
                what: "BATCH values",
                detail: "named values are not supported in a batch (spec §4.1.7 flag 0x40)".into(),
            });
        }
        buf.put_u8(self.batch_type as u8);
        wire::put_short_len(buf, self.statements.len(), "BATCH statement count")?;
        for s in &self.statements {
            match &s.kind {
                BatchStatementKind::Query(q) => {
                    buf.put_u8(0);
                    wire::put_long_string(buf, q, "BATCH statement text")?;
                }
                BatchStatementKind::Prepared(id) => {
                    buf.put_u8(1);
                    wire::put_short_bytes(buf, id, "BATCH prepared id")?;
                }
            }
            s.values.write(buf);
        }
        self.consistency.write(buf);
        let mut flags = 0;
        for (bit, on) in [
            (flag::SERIAL_CONSISTENCY, self.serial_consistency.is_some()),
            (flag::TIMESTAMP, self.timestamp.is_some()),
            (flag::KEYSPACE, self.keyspace.is_some()),
            (flag::NOW_IN_SECONDS, self.now_in_seconds.is_some()),
        ] {
            if on {
                flags |= bit;
            }
        }
        put_flags(buf, version, flags);
        if let Some(c) = self.serial_consistency {
            c.write(buf);
        }
        if let Some(t) = self.timestamp {
            buf.put_i64(t);
        }
        if let Some(k) = &self.keyspace {
            wire::put_string(buf, k, "BATCH keyspace")?;
        }
        if let Some(n) = self.now_in_seconds {
            buf.put_i32(n);
        }
        Ok(())
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Batch, DecodeError> {
        let at = r.position();
        let batch_type = match r.read_u8("BATCH type")? {
            0 => BatchType::Logged,
            1 => BatchType::Unlogged,
            2 => BatchType::Counter,
            t => {
                return Err(DecodeError::Invalid { what: "BATCH type", at, detail: format!("unknown batch type {t}") });
            }
        };
        // Each statement takes at least kind (1) + empty id (2) + value count (2) bytes.
        let n = r.read_count_u16("BATCH statement count", 5)?;
        let mut statements = Vec::with_capacity(n);
        for _ in 0..n {
            let at = r.position();
            let kind = match r.read_u8("BATCH statement kind")? {
                0 => BatchStatementKind::Query(r.read_long_string("BATCH statement text")?),
                1 => BatchStatementKind::Prepared(r.read_short_bytes("BATCH prepared id")?),
                k => {
                    let detail = format!("kind {k} is not 0 (text) or 1 (prepared)");
                    return Err(DecodeError::Invalid { what: "BATCH statement kind", at, detail });
                }
            };
            statements.push(BatchStatement { kind, values: Values::read(r, false)? });
        }
        let consistency = Consistency::read(r, "BATCH consistency")?;
        let at = r.position();
        let flags = read_flags(r, version, "BATCH flags")?;
        let has = |bit: u32| flags & bit != 0;
        if has(flag::NAMES) {
            let detail = "names for values are not supported in a batch (spec §4.1.7 flag 0x40)".into();
            return Err(DecodeError::Invalid { what: "BATCH flags", at, detail });
        }
        let serial_consistency =
            if has(flag::SERIAL_CONSISTENCY) { Some(Consistency::read(r, "BATCH serial_consistency")?) } else { None };
        let timestamp = if has(flag::TIMESTAMP) { Some(r.read_i64("BATCH timestamp")?) } else { None };
        let v5 = version >= Version::V5;
        let keyspace = if v5 && has(flag::KEYSPACE) { Some(r.read_string("BATCH keyspace")?) } else { None };
        let now_in_seconds =
            if v5 && has(flag::NOW_IN_SECONDS) { Some(r.read_i32("BATCH now_in_seconds")?) } else { None };
        Ok(Batch { batch_type, statements, consistency, serial_consistency, timestamp, keyspace, now_in_seconds })
    }
}
