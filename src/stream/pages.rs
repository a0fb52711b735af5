//! [`PageStream`]: the pages of a query, in order, each exactly once.
//!
//! The first page is fetched in the consumer's own poll, so a query whose first page is
//! its last never spawns a task. After it, with `prefetch > 0` a [`Producer`] task
//! fetches ahead into the page channel; with `prefetch == 0` each page is fetched in
//! the poll that asks for it. Either way this module applies the resume skip and the
//! limits, keeps the resume position and the counters, checks the deadline, and runs
//! the `on_page` callback.
//!
//! Owns the consumer's side of a stream. Row decoding is [`super::rows`]' job.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::{OnPage, StreamConfig, config_setters};
use super::fetch::{Fetched, Fetcher, StreamStatement};
use super::page::{Page, PageInfo, Progress};
use super::producer::{Alive, Budget, Item, Producer, Window};
use super::resume::{ResumePoint, fingerprint};
use crate::protocol::Values;
use crate::session::{Error, Session};

type FetchFuture = Pin<Box<dyn Future<Output = Result<Fetched, Error>> + Send>>;
type Yield = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Aborts the read-ahead task when the stream goes.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

enum State {
    /// Not polled yet: the configuration may still change.
    Unstarted(Box<(StreamStatement, Result<Values, Error>)>),
    /// A page fetched in this task (the first, or any with `prefetch == 0`).
    Fetching {
        fetch: FetchFuture,
        state_before: Option<Bytes>,
        first: bool,
    },
    /// Between pages with `prefetch == 0`.
    Idle,
    /// Pages come from the read-ahead task. `handoff` is a page taken from the channel
    /// and held for one yield to the scheduler (see `poll_next`).
    Producing {
        rx: mpsc::Receiver<Item>,
        _task: AbortOnDrop,
        handoff: Option<(Fetched, Bytes, Yield)>,
    },
    Done,
}

/// The pages of a query: a `futures_core::Stream` of `Result<`[`Page`]`, Error>`.
///
/// Made by [`RowStream::pages`](super::RowStream::pages). Nothing is sent before the
/// first poll. Dropping it is the cleanup: the read-ahead task stops, buffered pages are
/// freed, and a request in flight is abandoned (its stream id is reused once the late
/// reply has arrived).
pub struct PageStream {
    state: State,
    config: StreamConfig,
    session: Session,
    fingerprint: u64,
    fetcher: Option<std::sync::Arc<Fetcher>>,
    budget: Budget,
    /// The paging state of the next page to fetch in this task.
    next_state: Option<Bytes>,
    next_number: u64,
    position: ResumePoint,
    progress: Progress,
    deadline: Option<(Instant, std::time::Duration)>,
    on_page: Option<OnPage>,
}

impl std::fmt::Debug for PageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Unstarted(_) => "unstarted",
            State::Fetching { .. } => "fetching",
            State::Idle => "idle",
            State::Producing { .. } => "producing",
            State::Done => "done",
        };
        f.debug_struct("PageStream")
            .field("state", &state)
            .field("config", &self.config)
            .field("position", &self.position)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl PageStream {
    pub(crate) fn new(
        session: Session,
        statement: StreamStatement,
        values: Result<Values, Error>,
        config: StreamConfig,
    ) -> PageStream {
        let fingerprint = fingerprint(statement.text());
        PageStream {
            state: State::Unstarted(Box::new((statement, values))),
            config,
            session,
            fingerprint,
            fetcher: None,
            budget: Budget { skip: 0, pages_left: None, rows_left: None },
            next_state: None,
            next_number: 0,
            position: ResumePoint {
                paging_state: None,
                rows_consumed: 0,
                page: 0,
                finished: false,
                statement: fingerprint,
            },
            progress: Progress::default(),
            deadline: None,
            on_page: None,
        }
    }

    pub(crate) fn map_config(mut self, f: impl FnOnce(StreamConfig) -> StreamConfig) -> Self {
        self.config = f(std::mem::take(&mut self.config));
        self
    }

    config_setters!();

    /// The configuration in force.
    pub fn get_config(&self) -> &StreamConfig {
        &self.config
    }

    /// What has been handed on so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Where to resume to get the pages after the last one yielded (every page
    /// yielded counts as consumed). See [`RowStream::resume_point`](super::RowStream::resume_point)
    /// for row granularity.
    pub fn resume_point(&self) -> ResumePoint {
        self.position.clone()
    }

    /// Whether the stream has ended (all pages, a limit, or an error).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Ends the stream now, stopping its read-ahead.
    pub(crate) fn finish(&mut self) {
        self.state = State::Done;
    }

    /// The first poll: settles the configuration and fetches the first page here.
    fn start(&mut self, statement: StreamStatement, values: Result<Values, Error>) -> Result<(), Error> {
        let values = values?;
        let config = &self.config;
        self.budget = Budget { skip: 0, pages_left: config.max_pages, rows_left: config.max_rows };
        // A statement that carries a paging state starts there (a resume point wins).
        self.next_state = statement.options().paging_state.clone();
        self.position.paging_state = self.next_state.clone();
        if let Some(point) = &config.resume_from {
            if point.statement != self.fingerprint {
                return Err(Error::Resume(format!(
                    "the resume point was taken from another statement than `{}`",
                    statement.text()
                )));
            }
            self.position = point.clone();
            self.budget.skip = point.rows_consumed;
            self.next_state = point.paging_state.clone();
            self.next_number = point.page;
            if point.finished {
                self.state = State::Done;
                return Ok(());
            }
        }
        if self.budget.exhausted() {
            self.state = State::Done;
            return Ok(());
        }
        self.deadline = config.deadline.map(|d| (Instant::now() + d, d));
        self.on_page = config.on_page.clone();
        let page_size = config.page_size.or(statement.options().page_size).unwrap_or(self.session.page_size()).max(1);
        let fetcher = std::sync::Arc::new(Fetcher {
            session: self.session.clone(),
            statement,
            values,
            page_size,
            first_page_timeout: config.first_page_timeout,
            page_timeout: config.page_timeout,
            deadline: self.deadline,
            retry: config.retry.clone(),
        });
        self.fetcher = Some(fetcher.clone());
        let state = self.next_state.clone();
        self.state = State::Fetching {
            fetch: Box::pin(async move { fetcher.fetch(state, true).await }),
            state_before: self.next_state.clone(),
            first: true,
        };
        Ok(())
    }

    fn deadline_passed(&self) -> Option<Error> {
        let (at, within) = self.deadline?;
        (Instant::now() >= at).then_some(Error::DeadlineExceeded(within))
    }

    /// After a page: fetch the next one ahead (task), on demand (idle), or end.
    fn after_page(&mut self, first: bool) {
        let more = self.next_state.is_some() && !self.budget.exhausted();
        if !more {
            self.state = State::Done;
            return;
        }
        let prefetch = self.config.get_prefetch();
        match (&self.state, first, prefetch, &self.fetcher, &self.next_state) {
            (State::Producing { .. }, ..) => {}
            (_, true, 1.., Some(fetcher), Some(next)) => {
                let (tx, rx) = mpsc::channel(prefetch);
                let producer = Producer {
                    fetcher: fetcher.clone(),
                    window: Window::new(self.config.max_buffered_bytes, self.session.stream_gauges().clone()),
                    tx,
                    next: next.clone(),
                    budget: self.budget.clone(),
                    alive: Alive::new(self.session.stream_gauges().clone()),
                };
                let task = tokio::spawn(producer.run());
                self.state = State::Producing { rx, _task: AbortOnDrop(task), handoff: None };
            }
            _ => self.state = State::Idle,
        }
    }

    /// Turns a fetched page into what the consumer gets, or `None` when the page is
    /// wholly dropped (rows consumed before a resume) or has no rows at all.
    fn deliver(&mut self, f: Fetched, state_before: Option<Bytes>) -> Option<Page> {
        let number = self.next_number;
        self.next_number += 1;
        self.progress.retries += u64::from(f.retries);
        self.next_state = f.paging_state.clone();
        let bytes = f.bytes();
        let Some(rows) = f.rows else {
            // A statement that returns no rows (e.g. an INSERT): nothing to hand on.
            self.position.finished = true;
            return None;
        };
        let n = rows.len();
        let taken = self.budget.take(n);
        if !taken.handed_on {
            self.position = ResumePoint {
                paging_state: f.paging_state.clone(),
                rows_consumed: 0,
                page: number + 1,
                finished: f.paging_state.is_none(),
                statement: self.fingerprint,
            };
            return None;
        }
        let truncated = taken.skipped + taken.kept < n;
        let rows = if taken.skipped > 0 || truncated {
            rows.slice_rows(taken.skipped..taken.skipped + taken.kept)
        } else {
            rows
        };
        let info = PageInfo {
            number,
            rows: rows.len(),
            bytes,
            paging_state: f.paging_state,
            node: f.node,
            latency: f.latency,
            warnings: f.warnings,
            retries: f.retries,
        };
        let page = Page { rows, info, state_before, skipped: taken.skipped, truncated };
        self.position = page.position_after(page.len(), self.fingerprint);
        self.progress.pages += 1;
        self.progress.rows += page.len() as u64;
        self.progress.bytes += bytes as u64;
        if let Some(f) = &self.on_page {
            // A callback that panicked once poisons nothing we rely on.
            (f.lock().unwrap_or_else(|e| e.into_inner()))(&page.info);
        }
        Some(page)
    }
}

impl Page {
    /// The resume position once `consumed` of this page's rows have been consumed.
    pub(crate) fn position_after(&self, consumed: usize, statement: u64) -> ResumePoint {
        let done_with_page = consumed >= self.len() && !self.truncated;
        match &self.info.paging_state {
            // Every row of a page with a successor read: point at the successor.
            Some(next) if done_with_page => ResumePoint {
                paging_state: Some(next.clone()),
                rows_consumed: 0,
                page: self.info.number + 1,
                finished: false,
                statement,
            },
            // Inside this page, or at the end of the last one.
            _ => ResumePoint {
                paging_state: self.state_before.clone(),
                rows_consumed: (self.skipped + consumed) as u64,
                page: self.info.number,
                finished: done_with_page,
                statement,
            },
        }
    }
}

impl Stream for PageStream {
    type Item = Result<Page, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Unstarted(_) => {
                    let State::Unstarted(unstarted) = std::mem::replace(&mut this.state, State::Done) else {
                        continue;
                    };
                    let (statement, values) = *unstarted;
                    if let Err(e) = this.start(statement, values) {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                State::Idle => {
                    if let Some(e) = this.deadline_passed() {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    let (Some(fetcher), Some(next)) = (this.fetcher.clone(), this.next_state.clone()) else {
                        this.state = State::Done;
                        continue;
                    };
                    let state = Some(next.clone());
                    this.state = State::Fetching {
                        fetch: Box::pin(async move { fetcher.fetch(Some(next), false).await }),
                        state_before: state,
                        first: false,
                    };
                }
                State::Fetching { fetch, state_before, first } => {
                    let result = ready!(fetch.as_mut().poll(cx));
                    let state_before = state_before.take();
                    let first = *first;
                    match result {
                        Ok(f) => {
                            this.state = State::Idle;
                            let page = this.deliver(f, state_before);
                            this.after_page(first);
                            if let Some(page) = page {
                                return Poll::Ready(Some(Ok(page)));
                            }
                        }
                        Err(e) => {
                            this.state = State::Done;
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                }
                State::Producing { .. } => {
                    if let Some(e) = this.deadline_passed() {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    let State::Producing { rx, handoff, .. } = &mut this.state else { continue };
                    let (f, state_before) = match handoff {
                        Some((_, _, yielded)) => {
                            ready!(yielded.as_mut().poll(cx));
                            match handoff.take() {
                                Some((f, state_before, _)) => (f, state_before),
                                None => continue,
                            }
                        }
                        None => match ready!(rx.poll_recv(cx)) {
                            Some(Ok(buffered)) => {
                                let (f, state_before) = buffered.take();
                                // Taking the page freed a slot. Let the read-ahead task (and
                                // the connection's) send the next request before the
                                // consumer spends its time on this page: on one thread they
                                // would otherwise run only when the consumer next waits,
                                // and the server would sit idle meanwhile.
                                if f.paging_state.is_some() {
                                    *handoff = Some((f, state_before, Box::pin(tokio::task::yield_now())));
                                    continue;
                                }
                                (f, state_before)
                            }
                            Some(Err(e)) => {
                                this.state = State::Done;
                                return Poll::Ready(Some(Err(e)));
                            }
                            None => {
                                this.state = State::Done;
                                continue;
                            }
                        },
                    };
                    let page = this.deliver(f, Some(state_before));
                    this.after_page(false);
                    if let Some(page) = page {
                        return Poll::Ready(Some(Ok(page)));
                    }
                }
            }
        }
    }
}

impl FusedStream for PageStream {
    fn is_terminated(&self) -> bool {
        self.is_finished()
    }
}
