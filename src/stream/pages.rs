//! [`PageStream`]: the pages of a query, in order, each exactly once.
//!
//! The first page is fetched in the consumer's own poll, so a query whose first page is
//! its last never spawns a task. After it, with `prefetch > 0` a [`Producer`] task
//! fetches ahead into the page channel; with `prefetch == 0` each page is fetched in
//! the poll that asks for it. Either way this module applies the resume skip and the
//! limits, keeps the resume position and the counters, checks the deadline, and runs
//! the `on_page` callback.
//!
//! Owns the consumer's side of a stream, and the settling of its page requests: page
//! size and timeouts, once, when it starts (statement > stream > session). Between
//! pages fetched here the paging position is this stream's ([`State::Idle`]); once the
//! read-ahead runs, it is the task's. Pages come from a page source
//! ([`super::source`]); row decoding is [`super::rows`]' job.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::config::{OnPage, StreamConfig, config_setters};
use super::page::{Page, PageInfo, Progress};
use super::producer::{Budget, BufferedBytes, Gauges, Item, Producer, ProducerCount};
use super::resume::{ResumePoint, fingerprint};
use super::source::{AnySource, FetchFuture, Fetched, PageRequest, Retries, StatementSettings};
use crate::error::Error;

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
    /// Not polled yet: the configuration may still change. The error, if any, is the
    /// first item (the values did not serialize).
    Unstarted(Option<Error>),
    /// A page fetched in this task (the first, or any with `prefetch == 0`).
    Fetching {
        fetch: FetchFuture,
        state_before: Option<Bytes>,
        first: bool,
    },
    /// Between pages with `prefetch == 0`: the paging state of the next page.
    Idle {
        next: Bytes,
    },
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
    /// The session's stream configuration, as it was when the stream was made.
    defaults: StreamConfig,
    /// The stream's own settings (its setters).
    own: StreamConfig,
    /// `own` over `defaults`: what the stream starts with, statement aside.
    config: StreamConfig,
    /// A setter called after the first poll: the next poll reports it.
    late: Option<&'static str>,
    /// The unread rest of a page a [`RowStream`](super::RowStream) was reading when it
    /// became this page stream: yielded first.
    handed_back: Option<Page>,
    /// Where the pages come from.
    source: Arc<dyn AnySource>,
    /// The session's stream gauges.
    gauges: Arc<Gauges>,
    /// The statement's own settings and the session's defaults (its paging state is
    /// in `initial`).
    statement: StatementSettings,
    fingerprint: u64,
    /// Where the stream stands when not told to resume: the statement's paging state.
    initial: ResumePoint,
    /// Settled when the stream starts.
    plan: Option<Plan>,
    budget: Budget,
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
            State::Idle { .. } => "idle",
            State::Producing { .. } => "producing",
            State::Done => "done",
        };
        f.debug_struct("PageStream")
            .field("state", &state)
            .field("config", &self.config)
            .field("late_setter", &self.late)
            .field("position", &self.position)
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

impl PageStream {
    /// A stream of the pages `source` fetches; `statement` says what the statement
    /// itself sets, `defaults` are the session's stream settings, `gauges` the
    /// session's. `pending` is the first item, when there is one (the values failed).
    pub(crate) fn new(
        source: Arc<dyn AnySource>,
        mut statement: StatementSettings,
        defaults: StreamConfig,
        gauges: Arc<Gauges>,
        pending: Option<Error>,
    ) -> PageStream {
        let fingerprint = fingerprint(source.text());
        // A statement that carries a paging state starts there.
        let initial = ResumePoint {
            paging_state: statement.paging_state.take(),
            rows_consumed: 0,
            page: 0,
            finished: false,
            statement: fingerprint,
        };
        let mut stream = PageStream {
            state: State::Unstarted(pending),
            config: defaults.clone(),
            defaults,
            own: StreamConfig::default(),
            late: None,
            handed_back: None,
            source,
            gauges,
            statement,
            fingerprint,
            position: initial.clone(),
            initial,
            plan: None,
            budget: Budget { skip: 0, pages_left: None, rows_left: None },
            next_number: 0,
            progress: Progress::default(),
            deadline: None,
            on_page: None,
        };
        stream.position = stream.unstarted_position();
        stream
    }

    /// Applies a setter (`name`) to the stream's own settings; after the first poll it
    /// changes nothing and the next poll reports it.
    pub(crate) fn map_config(mut self, name: &'static str, f: impl FnOnce(StreamConfig) -> StreamConfig) -> Self {
        if !matches!(self.state, State::Unstarted(_)) {
            self.late.get_or_insert(name);
            return self;
        }
        self.own = f(std::mem::take(&mut self.own));
        self.config = self.own.clone().over(&self.defaults);
        self.position = self.unstarted_position();
        self
    }

    /// Where a stream that has not started stands: the point it was told to resume
    /// from (when it is one of this statement), else the start.
    fn unstarted_position(&self) -> ResumePoint {
        match &self.config.resume_from {
            Some(point) if point.statement == self.fingerprint => point.clone(),
            _ => self.initial.clone(),
        }
    }

    /// The error a setter called after the first poll makes of the next poll, which
    /// ends the stream.
    pub(crate) fn take_late_setter(&mut self) -> Option<Error> {
        let name = self.late.take()?;
        self.state = State::Done;
        Some(Error::Config(format!("`{name}` was set after the stream started; configure a stream before polling it")))
    }

    /// Makes the unread rest of the last page yielded (what a row stream had not read of
    /// it) the next page yielded, and the resume point the start of that rest.
    pub(crate) fn hand_back(&mut self, rest: Page) {
        self.position = rest.position_after(0, self.fingerprint);
        self.handed_back = Some(rest);
    }

    /// Sets the resume point (a row stream that ended mid-page knows it better).
    pub(crate) fn stand_at(&mut self, point: ResumePoint) {
        self.position = point;
    }

    /// Whether a late setter's error is still to be reported.
    pub(crate) fn late_setter_pending(&self) -> bool {
        self.late.is_some()
    }

    config_setters!();

    /// The stream's configuration: its own settings over the session's
    /// [`stream_config`](crate::session::SessionBuilder::stream_config). A statement's
    /// own page size and timeout win over both when the stream starts (see
    /// [`StreamConfig`]).
    pub fn get_config(&self) -> &StreamConfig {
        &self.config
    }

    /// What has been handed on so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    /// Where to resume to get the pages after the last one yielded (every page
    /// yielded counts as consumed). Exact in every state: before the first poll it is
    /// the point given to [`resume_from`](PageStream::resume_from) (or the start), while
    /// rows consumed before a resume are still being dropped it keeps the rest of them,
    /// and after an error it is where the stream stopped. See
    /// [`RowStream::resume_point`](super::RowStream::resume_point) for row granularity.
    pub fn resume_point(&self) -> ResumePoint {
        self.position.clone()
    }

    /// Whether the stream has ended (all pages, a limit, or an error).
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done) && self.late.is_none() && self.handed_back.is_none()
    }

    /// Ends the stream now, stopping its read-ahead.
    pub(crate) fn finish(&mut self) {
        self.state = State::Done;
    }

    /// The first poll: settles the configuration and fetches the first page here.
    fn start(&mut self, pending: Option<Error>) -> Result<(), Error> {
        if let Some(e) = pending {
            return Err(e);
        }
        let config = &self.config;
        self.budget = Budget { skip: 0, pages_left: config.max_pages, rows_left: config.max_rows };
        // A statement that carries a paging state starts there (a resume point wins);
        // `position` is already where the stream starts (`unstarted_position`).
        let mut first_state = self.initial.paging_state.clone();
        if let Some(point) = &config.resume_from {
            if point.statement != self.fingerprint {
                return Err(Error::Resume(format!(
                    "the resume point was taken from another statement than `{}`",
                    self.source.text()
                )));
            }
            self.budget.skip = point.rows_consumed;
            first_state = point.paging_state.clone();
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
        // Each setting once: the statement's own, else the stream's, else the session's
        // stream config's (both in `config`), else the session's.
        let s = &self.statement;
        let page_size = s.page_size.or(config.page_size).unwrap_or(s.default_page_size).max(1);
        let first_page_timeout = s.timeout.or(config.first_page_timeout).unwrap_or(s.default_timeout);
        let page_timeout = s.timeout.or(config.page_timeout).unwrap_or(s.default_timeout);
        let plan = Plan {
            page_size,
            first_page_timeout,
            page_timeout,
            retries: Retries { policy: config.get_retry(), deadline: self.deadline },
        };
        let request = plan.request(first_state.clone(), true);
        self.state = State::Fetching {
            fetch: self.source.clone().fetch_owned(request, plan.retries.clone()),
            state_before: first_state,
            first: true,
        };
        self.plan = Some(plan);
        Ok(())
    }

    fn deadline_passed(&self) -> Option<Error> {
        let (at, within) = self.deadline?;
        (Instant::now() >= at).then_some(Error::DeadlineExceeded(within))
    }

    /// After a page whose successor starts at `next`: fetch that one ahead (task), on
    /// demand (idle), or end.
    fn after_page(&mut self, first: bool, next: Option<Bytes>) {
        let Some(next) = next.filter(|_| !self.budget.exhausted()) else {
            self.state = State::Done;
            return;
        };
        let prefetch = self.config.get_prefetch();
        match (&self.state, &self.plan) {
            (State::Producing { .. }, _) => {}
            (_, Some(plan)) if first && prefetch > 0 => {
                let (tx, rx) = mpsc::channel(prefetch);
                let producer = Producer {
                    buffered: BufferedBytes::new(self.config.max_buffered_bytes, self.gauges.clone()),
                    tx,
                    next: plan.request(Some(next), false),
                    retries: plan.retries.clone(),
                    budget: self.budget.clone(),
                    count: ProducerCount::new(self.gauges.clone()),
                };
                let task = self.source.clone().spawn_producer(producer);
                self.state = State::Producing { rx, _task: AbortOnDrop(task), handoff: None };
            }
            _ => self.state = State::Idle { next },
        }
    }

    /// Turns a fetched page into what the consumer gets, or `None` when the page is
    /// wholly dropped (rows consumed before a resume) or has no rows at all. `first`:
    /// the first page this stream asked for. A reply that is not Rows is an error where
    /// rows are expected: to a SELECT, and to any request for a page after the first.
    /// Also returns the paging state of the page after it, if there is one.
    fn deliver(&mut self, f: Fetched, state_before: Option<Bytes>, first: bool) -> Result<Delivered, Error> {
        let number = self.next_number;
        let bytes = f.bytes();
        let Some(rows) = f.rows else {
            if self.statement.returns_rows {
                return Err(Error::Unexpected(format!("{} in reply to a page request of a SELECT", f.kind)));
            }
            if !first || state_before.is_some() {
                return Err(Error::Unexpected(format!(
                    "{} in reply to the request for page {number}: only the first page of a statement that returns \
                     no rows may be other than Rows",
                    f.kind
                )));
            }
            // A statement that returns no rows (e.g. an INSERT): nothing to hand on.
            self.position.finished = true;
            return Ok((None, None));
        };
        // Page numbers come from resume tokens, which are user input: they stop at the top.
        self.next_number = number.saturating_add(1);
        self.progress.retries = self.progress.retries.saturating_add(u64::from(f.retries));
        let n = rows.len();
        let taken = self.budget.take(n);
        if !taken.handed_on {
            // Wholly dropped: the point moves past the page and keeps the rest of the
            // rows still to drop (they may span many pages of this stream's size).
            let finished = f.paging_state.is_none();
            self.position = ResumePoint {
                paging_state: f.paging_state.clone(),
                rows_consumed: if finished { 0 } else { self.budget.skip },
                page: number.saturating_add(1),
                finished,
                statement: self.fingerprint,
            };
            return Ok((None, f.paging_state));
        }
        let truncated = taken.skipped + taken.kept < n;
        let rows = if taken.skipped > 0 || truncated {
            rows.slice_rows(taken.skipped..taken.skipped + taken.kept)
        } else {
            rows
        };
        let next = f.paging_state.clone();
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
        self.progress.pages = self.progress.pages.saturating_add(1);
        self.progress.rows = self.progress.rows.saturating_add(page.len() as u64);
        self.progress.bytes = self.progress.bytes.saturating_add(bytes as u64);
        if let Some(f) = &self.on_page {
            // A callback that panicked once poisons nothing we rely on.
            (f.lock().unwrap_or_else(|e| e.into_inner()))(&page.info);
        }
        Ok((Some(page), next))
    }
}

/// What [`PageStream::deliver`] makes of a fetched page: the page for the consumer (if
/// any), and the paging state of the next one (if any).
type Delivered = (Option<Page>, Option<Bytes>);

/// A stream's page requests, settled when it starts.
#[derive(Debug)]
struct Plan {
    page_size: i32,
    first_page_timeout: Duration,
    page_timeout: Duration,
    retries: Retries,
}

impl Plan {
    /// The request for the page at `paging_state`; `first`: the first this stream asks for.
    fn request(&self, paging_state: Option<Bytes>, first: bool) -> PageRequest {
        let timeout = if first { self.first_page_timeout } else { self.page_timeout };
        PageRequest { page_size: self.page_size, paging_state, timeout }
    }
}

impl Page {
    /// The rows of this page after the first `consumed`, as a page of their own.
    pub(crate) fn rest_after(&self, consumed: usize) -> Page {
        let consumed = consumed.min(self.len());
        let rows = self.rows.slice_rows(consumed..self.len());
        let info = PageInfo { rows: rows.len(), ..self.info.clone() };
        Page {
            rows,
            info,
            state_before: self.state_before.clone(),
            skipped: self.skipped + consumed,
            truncated: self.truncated,
        }
    }

    /// The resume position once `consumed` of this page's rows have been consumed.
    pub(crate) fn position_after(&self, consumed: usize, statement: u64) -> ResumePoint {
        let done_with_page = consumed >= self.len() && !self.truncated;
        match &self.info.paging_state {
            // Every row of a page with a successor read: point at the successor.
            Some(next) if done_with_page => ResumePoint {
                paging_state: Some(next.clone()),
                rows_consumed: 0,
                page: self.info.number.saturating_add(1),
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
        if let Some(e) = this.take_late_setter() {
            this.handed_back = None;
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(rest) = this.handed_back.take() {
            this.position = rest.position_after(rest.len(), this.fingerprint);
            return Poll::Ready(Some(Ok(rest)));
        }
        loop {
            match &mut this.state {
                State::Done => return Poll::Ready(None),
                State::Unstarted(_) => {
                    let State::Unstarted(pending) = std::mem::replace(&mut this.state, State::Done) else {
                        continue;
                    };
                    if let Err(e) = this.start(pending) {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                State::Idle { .. } => {
                    if let Some(e) = this.deadline_passed() {
                        this.state = State::Done;
                        return Poll::Ready(Some(Err(e)));
                    }
                    let State::Idle { next } = std::mem::replace(&mut this.state, State::Done) else { continue };
                    let Some(plan) = &this.plan else { continue };
                    let request = plan.request(Some(next.clone()), false);
                    this.state = State::Fetching {
                        fetch: this.source.clone().fetch_owned(request, plan.retries.clone()),
                        state_before: Some(next),
                        first: false,
                    };
                }
                State::Fetching { fetch, state_before, first } => {
                    let result = ready!(fetch.as_mut().poll(cx));
                    let state_before = state_before.take();
                    let first = *first;
                    match result {
                        Ok(f) => {
                            this.state = State::Done;
                            match this.deliver(f, state_before, first) {
                                Ok((page, next)) => {
                                    this.after_page(first, next);
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
                    match this.deliver(f, Some(state_before), false) {
                        Ok((page, next)) => {
                            this.after_page(false, next);
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
            }
        }
    }
}

impl FusedStream for PageStream {
    fn is_terminated(&self) -> bool {
        self.is_finished()
    }
}
