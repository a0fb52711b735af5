//! The read-ahead: a task that fetches the pages after the first into a bounded page
//! channel, so the socket stays busy while the consumer works, and memory stays flat.
//!
//! The channel has `prefetch` slots and a slot is reserved *before* its page is
//! requested, so pages buffered plus pages being fetched never exceed `prefetch`: while
//! the consumer holds page `n`, no request for a page past `n + prefetch` is sent. The
//! task also waits while the buffered pages hold more than `max_buffered_bytes`. It
//! stops when the consumer is gone (the stream aborts it on drop, which drops its
//! in-flight request: the connection keeps that stream id until the late reply).
//!
//! Owns the task, the channel's items and the byte and page accounting ([`Gauges`],
//! [`BufferedBytes`], [`Budget`]). While it runs, the task owns the paging position
//! (the next [`PageRequest`]). Fetching one page is the page source's job
//! ([`super::source`]); what the consumer sees is [`super::pages`]'.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};

use super::source::{Fetched, PageRequest, PageSource, Retries};
use crate::error::Error;

/// Gauges of one session's streams, for tests and monitoring: read-ahead tasks alive,
/// pages waiting in page channels and their bytes.
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    producers: AtomicUsize,
    buffered_pages: AtomicUsize,
    buffered_bytes: AtomicUsize,
}

/// A snapshot of a session's stream gauges: see
/// [`Session::stream_stats`](crate::session::Session::stream_stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StreamStats {
    /// Read-ahead tasks running.
    pub producers: usize,
    /// Pages fetched ahead and not yet taken by their consumer.
    pub buffered_pages: usize,
    /// Bytes of row data in those pages.
    pub buffered_bytes: usize,
}

impl Gauges {
    pub(crate) fn snapshot(&self) -> StreamStats {
        StreamStats {
            producers: self.producers.load(Ordering::Relaxed),
            buffered_pages: self.buffered_pages.load(Ordering::Relaxed),
            buffered_bytes: self.buffered_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Counts a running producer in [`Gauges::producers`] while it lives (the task's future
/// owns it, so an aborted task drops it too).
#[derive(Debug)]
pub(crate) struct ProducerCount(Arc<Gauges>);

impl ProducerCount {
    pub(crate) fn new(g: Arc<Gauges>) -> ProducerCount {
        g.producers.fetch_add(1, Ordering::Relaxed);
        ProducerCount(g)
    }
}

impl Drop for ProducerCount {
    fn drop(&mut self) {
        self.0.producers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One stream's bytes waiting in its page channel, its `max_buffered_bytes`, and the
/// signal that some were taken.
#[derive(Debug)]
pub(crate) struct BufferedBytes {
    bytes: AtomicUsize,
    freed: Notify,
    max_bytes: Option<usize>,
    gauges: Arc<Gauges>,
}

impl BufferedBytes {
    pub(crate) fn new(max_bytes: Option<usize>, gauges: Arc<Gauges>) -> Arc<BufferedBytes> {
        Arc::new(BufferedBytes { bytes: AtomicUsize::new(0), freed: Notify::new(), max_bytes, gauges })
    }

    fn over_budget(&self) -> bool {
        self.max_bytes.is_some_and(|max| self.bytes.load(Ordering::Acquire) > max)
    }
}

/// A page in the channel. Dropping it (taken by the consumer, or thrown away with the
/// channel) takes it off the books and lets the producer go on.
#[derive(Debug)]
pub(crate) struct Buffered {
    fetched: Fetched,
    state_before: Bytes,
    _counted: BufferedPageCount,
}

/// One buffered page counted in its stream's [`BufferedBytes`] and the session's
/// [`Gauges`]; uncounted on drop.
#[derive(Debug)]
struct BufferedPageCount {
    bytes: usize,
    buffered: Arc<BufferedBytes>,
}

impl Buffered {
    fn new(fetched: Fetched, state_before: Bytes, buffered: Arc<BufferedBytes>) -> Buffered {
        let bytes = fetched.bytes();
        buffered.bytes.fetch_add(bytes, Ordering::AcqRel);
        buffered.gauges.buffered_pages.fetch_add(1, Ordering::Relaxed);
        buffered.gauges.buffered_bytes.fetch_add(bytes, Ordering::Relaxed);
        Buffered { fetched, state_before, _counted: BufferedPageCount { bytes, buffered } }
    }

    /// The page and the paging state it was fetched with; it leaves the books.
    pub(crate) fn take(self) -> (Fetched, Bytes) {
        (self.fetched, self.state_before)
    }
}

impl Drop for BufferedPageCount {
    fn drop(&mut self) {
        self.buffered.bytes.fetch_sub(self.bytes, Ordering::AcqRel);
        self.buffered.gauges.buffered_pages.fetch_sub(1, Ordering::Relaxed);
        self.buffered.gauges.buffered_bytes.fetch_sub(self.bytes, Ordering::Relaxed);
        self.buffered.freed.notify_one();
    }
}

/// What the consumer may still be handed: rows to drop first (consumed before a
/// resume), and the `max_pages` / `max_rows` limits. The producer runs the same
/// accounting over the same pages, so it stops fetching exactly where the consumer
/// will stop reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Budget {
    pub(crate) skip: u64,
    pub(crate) pages_left: Option<u64>,
    pub(crate) rows_left: Option<u64>,
}

/// How a page of `n` rows is handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Taken {
    /// Rows dropped from the front.
    pub(crate) skipped: usize,
    /// Rows handed on after those.
    pub(crate) kept: usize,
    /// Whether the page is handed on at all (a page wholly dropped by `skip`, or an
    /// empty page while rows are still to drop, is not).
    pub(crate) handed_on: bool,
}

impl Budget {
    pub(crate) fn exhausted(&self) -> bool {
        self.pages_left == Some(0) || self.rows_left == Some(0)
    }

    pub(crate) fn take(&mut self, n: usize) -> Taken {
        let skipping = self.skip > 0;
        let skipped = usize::try_from(self.skip).unwrap_or(usize::MAX).min(n);
        self.skip -= skipped as u64;
        let available = n - skipped;
        let kept = match self.rows_left {
            Some(left) => usize::try_from(left).unwrap_or(usize::MAX).min(available),
            None => available,
        };
        if let Some(left) = self.rows_left.as_mut() {
            *left -= kept as u64;
        }
        // A page inside the rows to drop (an empty one included) is not handed on.
        let handed_on = !skipping || kept > 0;
        if handed_on && let Some(p) = self.pages_left.as_mut() {
            *p = p.saturating_sub(1);
        }
        Taken { skipped, kept, handed_on }
    }
}

pub(crate) type Item = Result<Buffered, Error>;

/// The read-ahead task of one stream, from the page after the first.
#[derive(Debug)]
pub(crate) struct Producer {
    pub(crate) buffered: Arc<BufferedBytes>,
    pub(crate) tx: mpsc::Sender<Item>,
    /// The next page to fetch: its paging state is always `Some` (the task ends at the
    /// last page), and the task is its only owner.
    pub(crate) next: PageRequest,
    pub(crate) retries: Retries,
    pub(crate) budget: Budget,
    /// Made before the task is spawned, so the gauge counts it from then on.
    pub(crate) count: ProducerCount,
}

impl Producer {
    /// The task: fetches from `source` until the last page, a limit, an error, or the
    /// consumer's end.
    pub(crate) async fn run<S: PageSource>(self, source: Arc<S>) {
        let Producer { buffered, tx, mut next, retries, mut budget, count: _count } = self;
        loop {
            if budget.exhausted() {
                return;
            }
            // A slot first: the request for a page is only sent when there is room for it.
            let Ok(slot) = tx.reserve().await else { return };
            while buffered.over_budget() {
                tokio::select! {
                    _ = buffered.freed.notified() => {}
                    _ = tx.closed() => return,
                }
            }
            let fetched = tokio::select! {
                f = source.fetch(&next, &retries) => f,
                _ = tx.closed() => return,
            };
            match fetched {
                Ok(f) => {
                    budget.take(f.rows.as_ref().map_or(0, |r| r.len()));
                    let more = f.paging_state.is_some();
                    // Always a state: the task starts with one and ends at the page without one.
                    let before = std::mem::replace(&mut next.paging_state, f.paging_state.clone()).unwrap_or_default();
                    slot.send(Ok(Buffered::new(f, before, buffered.clone())));
                    if !more {
                        return;
                    }
                }
                Err(e) => {
                    slot.send(Err(e));
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_skips_then_limits() {
        let mut b = Budget { skip: 150, pages_left: None, rows_left: Some(120) };
        assert_eq!(b.take(100), Taken { skipped: 100, kept: 0, handed_on: false });
        assert_eq!(b.take(0), Taken { skipped: 0, kept: 0, handed_on: false }, "empty, still skipping");
        assert_eq!(b.take(100), Taken { skipped: 50, kept: 50, handed_on: true });
        assert_eq!(b.take(0), Taken { skipped: 0, kept: 0, handed_on: true });
        assert!(!b.exhausted());
        assert_eq!(b.take(100), Taken { skipped: 0, kept: 70, handed_on: true });
        assert!(b.exhausted());
    }

    #[test]
    fn budget_counts_pages_handed_on() {
        let mut b = Budget { skip: 10, pages_left: Some(2), rows_left: None };
        assert!(!b.take(10).handed_on);
        assert_eq!(b.pages_left, Some(2));
        b.take(0);
        assert!(!b.exhausted());
        b.take(5);
        assert!(b.exhausted());
    }
}
