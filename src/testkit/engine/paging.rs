//! The test server's paging state: where a paged SELECT stopped, as opaque bytes the
//! client hands back (spec §7 / v5 §8 leave the format to the server).
//!
//! Layout (ours): version byte, flags, page number, remaining LIMIT, rows already
//! served from the last partition, then the last row's partition key and clustering
//! cells. Owns the format only.

use bytes::{BufMut, Bytes, BytesMut};

use super::ExecError;
use crate::protocol::wire::Reader;

const FORMAT: u8 = 2;

/// Flag: no row was served yet (an empty first page), resume from the very start.
const BEFORE_FIRST: u8 = 1;

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PagingState {
    /// 0-based number of the page this state asks for.
    pub(crate) page: u32,
    /// Rows LIMIT still allows, if there is a LIMIT.
    pub(crate) remaining: Option<u32>,
    /// Rows already served from the partition of `last` (for PER PARTITION LIMIT).
    pub(crate) in_partition: u32,
    /// Token and serialised partition key of the last row served.
    pub(crate) token: i64,
    pub(crate) partition: Bytes,
    /// Encoded clustering cells of the last row served (empty for a partition-level
    /// position, e.g. after DISTINCT).
    pub(crate) clustering: Vec<Bytes>,
    /// No row has been served yet: the next page starts at the very first row and the
    /// position fields are unused. Needed for an injected empty page 0, since the
    /// minimum token with an empty key is a real partition's position in the testkit
    /// (it accepts empty partition keys).
    pub(crate) before_first: bool,
}

impl PagingState {
    /// The state of a page `page` that starts at the first row.
    pub(crate) fn start(page: u32, remaining: Option<u32>) -> PagingState {
        PagingState {
            page,
            remaining,
            in_partition: 0,
            token: i64::MIN,
            partition: Bytes::new(),
            clustering: Vec::new(),
            before_first: true,
        }
    }

    pub(crate) fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(FORMAT);
        b.put_u8(if self.before_first { BEFORE_FIRST } else { 0 });
        b.put_u32(self.page);
        b.put_i64(self.remaining.map_or(-1, i64::from));
        b.put_u32(self.in_partition);
        b.put_i64(self.token);
        b.put_u32(self.partition.len() as u32);
        b.put_slice(&self.partition);
        b.put_u16(self.clustering.len() as u16);
        for c in &self.clustering {
            b.put_u32(c.len() as u32);
            b.put_slice(c);
        }
        b.freeze()
    }

    pub(crate) fn decode(bytes: &Bytes) -> Result<PagingState, ExecError> {
        let bad = || ExecError::protocol("Invalid value for the paging state");
        let mut r = Reader::new(bytes);
        if r.read_u8("format").map_err(|_| bad())? != FORMAT {
            return Err(bad());
        }
        let flags = r.read_u8("flags").map_err(|_| bad())?;
        if flags & !BEFORE_FIRST != 0 {
            return Err(bad());
        }
        let page = r.read_i32("page").map_err(|_| bad())? as u32;
        let remaining = r.read_i64("remaining").map_err(|_| bad())?;
        let in_partition = r.read_i32("in partition").map_err(|_| bad())? as u32;
        let token = r.read_i64("token").map_err(|_| bad())?;
        let n = r.read_i32("key").map_err(|_| bad())? as u32 as usize;
        let partition = r.take_bytes(n, "key").map_err(|_| bad())?;
        let count = r.read_u16("clustering").map_err(|_| bad())?;
        let mut clustering = Vec::new();
        for _ in 0..count {
            let n = r.read_i32("cell").map_err(|_| bad())? as u32 as usize;
            clustering.push(r.take_bytes(n, "cell").map_err(|_| bad())?);
        }
        Ok(PagingState {
            page,
            remaining: u32::try_from(remaining).ok(),
            in_partition,
            token,
            partition,
            clustering,
            before_first: flags & BEFORE_FIRST != 0,
        })
    }

    /// The page number a paging state asks for, 0 when there is none or it is invalid.
    pub(crate) fn page_of(bytes: Option<&Bytes>) -> usize {
        bytes.and_then(|b| PagingState::decode(b).ok()).map_or(0, |s| s.page as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_garbage() {
        let s = PagingState {
            page: 7,
            remaining: Some(10),
            in_partition: 3,
            token: -5,
            partition: Bytes::from_static(b"pk"),
            clustering: vec![Bytes::from_static(&[0, 0, 0, 1])],
            before_first: false,
        };
        assert_eq!(PagingState::decode(&s.encode()).unwrap(), s);
        assert!(PagingState::decode(&Bytes::from_static(b"junk")).is_err());
        assert_eq!(PagingState::page_of(Some(&s.encode())), 7);
        let start = PagingState::start(1, None);
        assert_eq!(PagingState::decode(&start.encode()).unwrap(), start);
        let mut unknown_flag = start.encode().to_vec();
        unknown_flag[1] = 0x80;
        assert!(PagingState::decode(&Bytes::from(unknown_flag)).is_err());
    }
}
