//! Stream id allocation for one connection (spec v4 §2.3, v5 §2.4.1.3): ids 0..32767,
//! each owned by one request until its reply arrives, even if the request was
//! cancelled or timed out (an "orphaned" id; reusing it early would route the late
//! reply to the wrong request).
//!
//! Owns only the free list and the id kept for heartbeats; the [core](super) decides
//! when an id is taken and freed.

/// The number of stream ids a client may use.
pub const MAX_STREAMS: usize = 32_768;

/// The stream id kept for heartbeats: never given to a request, so that heartbeats get
/// an id however many requests hold or orphan theirs.
pub(crate) const HEARTBEAT_STREAM: i16 = i16::MAX;

/// How many ids requests get when `max_streams` are configured: all of them but the
/// heartbeat's (at least one).
pub(crate) fn request_ids(max_streams: usize) -> usize {
    max_streams.clamp(1, MAX_STREAMS - 1)
}

/// Free stream ids. `take` is O(1); ids are reused most-recently-freed first, which keeps
/// the in-flight table's hot part small.
#[derive(Debug)]
pub(crate) struct StreamIds {
    free: Vec<i16>,
}

impl StreamIds {
    /// Ids `0..count` (`count` clamped to 1..=32768), all free.
    pub(crate) fn new(count: usize) -> StreamIds {
        let count = count.clamp(1, MAX_STREAMS);
        // Ids 0..count; `count` may be 32768, which does not fit an i16 itself.
        StreamIds { free: (0..count).rev().map(|i| i as i16).collect() }
    }

    /// A free id, or `None` when all are taken.
    pub(crate) fn take(&mut self) -> Option<i16> {
        self.free.pop()
    }

    /// Gives `id` back; only for an id that `take` handed out and nobody holds now.
    pub(crate) fn free(&mut self, id: i16) {
        self.free.push(id);
    }

    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_until_freed() {
        let mut ids = StreamIds::new(MAX_STREAMS);
        let mut seen = std::collections::HashSet::new();
        while let Some(id) = ids.take() {
            assert!((0..=i16::MAX).contains(&id));
            assert!(seen.insert(id));
        }
        assert_eq!(seen.len(), MAX_STREAMS);
        ids.free(7);
        assert_eq!(ids.take(), Some(7));
        assert_eq!(ids.available(), 0);
    }
}
