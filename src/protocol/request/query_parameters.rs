//! `<query_parameters>` of QUERY and EXECUTE (v4 §4.1.4, v5 §4.1.4): consistency,
//! flags, bound values, paging, serial consistency, timestamp, and in v5 keyspace and
//! now_in_seconds.

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::consistency::Consistency;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::values::Values;
use crate::protocol::wire::{self, Reader};

/// Query flag bits (§4.1.4). A `[byte]` before v5, an `[int]` from v5 on.
pub(crate) mod flag {
    pub(crate) const VALUES: u32 = 0x0001;
    pub(crate) const SKIP_METADATA: u32 = 0x0002;
    pub(crate) const PAGE_SIZE: u32 = 0x0004;
    pub(crate) const PAGING_STATE: u32 = 0x0008;
    pub(crate) const SERIAL_CONSISTENCY: u32 = 0x0010;
    pub(crate) const TIMESTAMP: u32 = 0x0020;
    pub(crate) const NAMES: u32 = 0x0040;
    pub(crate) const KEYSPACE: u32 = 0x0080;
    pub(crate) const NOW_IN_SECONDS: u32 = 0x0100;
}

/// Writes the flags field: a `[byte]` before v5, an `[int]` from v5.
pub(crate) fn put_flags(buf: &mut BytesMut, version: Version, flags: u32) {
    if version >= Version::V5 {
        buf.put_u32(flags);
    } else {
        buf.put_u8(flags as u8);
    }
}

/// Reads the flags field for `version`.
pub(crate) fn read_flags(r: &mut Reader<'_>, version: Version, what: &'static str) -> Result<u32, DecodeError> {
    if version >= Version::V5 { Ok(r.read_i32(what)? as u32) } else { Ok(u32::from(r.read_u8(what)?)) }
}

/// Rejects a v5-only field in an older version.
pub(crate) fn v5_only<T>(field: &Option<T>, what: &'static str, version: Version) -> Result<(), EncodeError> {
    if field.is_some() && version < Version::V5 {
        return Err(EncodeError::NotInVersion { what, version });
    }
    Ok(())
}

/// Options shared by QUERY and EXECUTE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryParameters {
    /// Consistency level.
    pub consistency: Consistency,
    /// Bound values (positional or named); empty means the Values flag is not sent.
    pub values: Values,
    /// Ask the server to leave column metadata out of Rows results.
    pub skip_metadata: bool,
    /// Rows per page; `None` = no paging requested.
    pub page_size: Option<i32>,
    /// Where to continue a paged query.
    pub paging_state: Option<Bytes>,
    /// Consistency of the serial phase of conditional updates.
    pub serial_consistency: Option<Consistency>,
    /// Default timestamp in microseconds.
    pub timestamp: Option<i64>,
    /// Keyspace for this query (v5).
    pub keyspace: Option<String>,
    /// "Now" in seconds for TTL and tombstone evaluation (v5, testing).
    pub now_in_seconds: Option<i32>,
}

impl QueryParameters {
    /// Parameters with the given consistency and nothing else.
    pub fn new(consistency: Consistency) -> QueryParameters {
        QueryParameters { consistency, ..Default::default() }
    }

    /// About how many bytes these parameters encode to (see `Request::size_hint`).
    pub(crate) fn size_hint(&self) -> usize {
        24 + self.values.raw().len()
            + self.paging_state.as_ref().map_or(0, |p| p.len())
            + self.keyspace.as_ref().map_or(0, String::len)
    }

    /// With bound values.
    pub fn with_values(mut self, values: Values) -> Self {
        self.values = values;
        self
    }

    /// With a page size.
    pub fn with_page_size(mut self, page_size: i32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// With a paging state to resume from.
    pub fn with_paging_state(mut self, paging_state: Bytes) -> Self {
        self.paging_state = Some(paging_state);
        self
    }

    fn flags(&self) -> u32 {
        let mut f = 0;
        let mut set = |bit: u32, on: bool| {
            if on {
                f |= bit
            }
        };
        set(flag::VALUES, !self.values.is_empty() || self.values.is_named());
        set(flag::NAMES, self.values.is_named());
        set(flag::SKIP_METADATA, self.skip_metadata);
        set(flag::PAGE_SIZE, self.page_size.is_some());
        set(flag::PAGING_STATE, self.paging_state.is_some());
        set(flag::SERIAL_CONSISTENCY, self.serial_consistency.is_some());
        set(flag::TIMESTAMP, self.timestamp.is_some());
        set(flag::KEYSPACE, self.keyspace.is_some());
        set(flag::NOW_IN_SECONDS, self.now_in_seconds.is_some());
        f
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        v5_only(&self.keyspace, "query keyspace", version)?;
        v5_only(&self.now_in_seconds, "query now_in_seconds", version)?;
        let flags = self.flags();
        self.consistency.write(buf);
        put_flags(buf, version, flags);
        if flags & flag::VALUES != 0 {
            self.values.write(buf);
        }
        if let Some(n) = self.page_size {
            buf.put_i32(n);
        }
        if let Some(p) = &self.paging_state {
            wire::put_bytes(buf, Some(p), "paging_state")?;
        }
        if let Some(c) = self.serial_consistency {
            c.write(buf);
        }
        if let Some(t) = self.timestamp {
            buf.put_i64(t);
        }
        if let Some(k) = &self.keyspace {
            wire::put_string(buf, k, "query keyspace")?;
        }
        if let Some(n) = self.now_in_seconds {
            buf.put_i32(n);
        }
        Ok(())
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<QueryParameters, DecodeError> {
        let consistency = Consistency::read(r, "consistency")?;
        let flags = read_flags(r, version, "query flags")?;
        let has = |bit: u32| flags & bit != 0;
        let values = if has(flag::VALUES) { Values::read(r, has(flag::NAMES))? } else { Values::empty() };
        let page_size = if has(flag::PAGE_SIZE) { Some(r.read_i32("result_page_size")?) } else { None };
        let paging_state = if has(flag::PAGING_STATE) { r.read_bytes("paging_state")? } else { None };
        let serial_consistency =
            if has(flag::SERIAL_CONSISTENCY) { Some(Consistency::read(r, "serial_consistency")?) } else { None };
        let timestamp = if has(flag::TIMESTAMP) { Some(r.read_i64("timestamp")?) } else { None };
        let v5 = version >= Version::V5;
        let keyspace = if v5 && has(flag::KEYSPACE) { Some(r.read_string("query keyspace")?) } else { None };
        let now_in_seconds = if v5 && has(flag::NOW_IN_SECONDS) { Some(r.read_i32("now_in_seconds")?) } else { None };
        Ok(QueryParameters {
            consistency,
            values,
            skip_metadata: has(flag::SKIP_METADATA),
            page_size,
            paging_state,
            serial_consistency,
            timestamp,
            keyspace,
            now_in_seconds,
        })
    }
}
