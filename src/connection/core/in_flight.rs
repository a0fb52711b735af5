//! The requests sent and not yet answered, indexed by stream id.
//!
//! Owns each request's reply sender, deadline and permit while its id is taken, and
//! tells a request answered by a timeout (its id orphaned) from one still waited for.
//! It takes no ids and frees none: the [core](super) pairs every insert and remove
//! with the id allocator.

use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

use super::ReplyTx;
use crate::connection::error::RequestError;

/// One request on the wire.
#[derive(Debug)]
pub(super) struct InFlight {
    /// `None` once the caller has its answer (a timeout): the id stays taken (orphaned)
    /// until the reply comes.
    pub(super) reply: Option<ReplyTx>,
    pub(super) deadline: Instant,
    pub(super) timeout: Duration,
    /// Held until the id is free again, so that callers wait for a permit rather than
    /// for an id.
    pub(super) _permit: OwnedSemaphorePermit,
}

/// Requests awaiting their reply, indexed by stream id: ids are handed out lowest
/// first and reused, so they stay dense and a slot per id beats hashing. The table
/// grows to the highest id used, not to the 32,768 possible.
#[derive(Debug, Default)]
pub(super) struct InFlightTable {
    slots: Vec<Option<InFlight>>,
    len: usize,
}

impl InFlightTable {
    pub(super) fn insert(&mut self, id: i16, f: InFlight) {
        let Ok(i) = usize::try_from(id) else { return };
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(f).is_none() {
            self.len += 1;
        }
    }

    pub(super) fn remove(&mut self, id: i16) -> Option<InFlight> {
        let f = usize::try_from(id).ok().and_then(|i| self.slots.get_mut(i))?.take();
        if f.is_some() {
            self.len -= 1;
        }
        f
    }

    /// Requests on the wire, orphaned ones included.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn drain(&mut self) -> impl Iterator<Item = InFlight> + '_ {
        self.len = 0;
        self.slots.iter_mut().filter_map(Option::take)
    }

    /// Answers every request past its deadline with a timeout (its id stays taken until
    /// the late reply: orphaned) and returns the earliest deadline still pending and how
    /// many ids were orphaned now.
    pub(super) fn expire(&mut self, now: Instant) -> (Option<Instant>, usize) {
        let mut next: Option<Instant> = None;
        let mut orphaned = 0;
        for f in self.slots.iter_mut().flatten() {
            if f.reply.is_none() {
                continue;
            }
            if f.deadline <= now {
                if let Some(r) = f.reply.take() {
                    let _ = r.send(Err(RequestError::Timeout(f.timeout)));
                    orphaned += 1;
                }
            } else {
                next = super::earliest(next, Some(f.deadline));
            }
        }
        (next, orphaned)
    }
}
