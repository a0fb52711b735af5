//! Where a stream's pages come from. A stream asks for a page with a [`PageRequest`]
//! (rows per page, the paging state it starts at, the timeout of each attempt) and gets
//! the page as the server sent it ([`Fetched`]) or an error back. Who answers is a
//! [`PageSource`]: the session implements it with its one request path, which also
//! retries as [`Retries`] allows. The stream never names the session.
//!
//! Owns the page-source trait, the page request and what a stream knows of its
//! statement ([`StatementSettings`]). It does not know about read-ahead, limits or
//! resume tokens (the rest of `stream`), nor about connections.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::producer::Producer;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::types::RowsPage;

/// One page to fetch: the whole of what changes from one page request to the next.
/// Settled once when the stream starts (page size and timeouts, with the precedence
/// statement > stream > session); only the paging state moves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// Rows per page.
    pub(crate) page_size: i32,
    /// Where the page starts; `None`: the query's first page.
    pub(crate) paging_state: Option<Bytes>,
    /// The timeout of each attempt (cut to what the stream's deadline leaves).
    pub(crate) timeout: Duration,
}

/// How a page request that fails is tried again: the stream's policy, and its deadline
/// (when it was set, and the duration it was set to).
#[derive(Debug, Clone)]
pub(crate) struct Retries {
    pub(crate) policy: RetryPolicy,
    pub(crate) deadline: Option<(Instant, Duration)>,
}

/// One page as the server sent it, before the stream drops rows or counts it.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The rows; `None` when the statement returns no rows at all.
    pub(crate) rows: Option<RowsPage>,
    pub(crate) paging_state: Option<Bytes>,
    pub(crate) node: SocketAddr,
    pub(crate) latency: Duration,
    pub(crate) warnings: Vec<String>,
    pub(crate) retries: u32,
    /// The kind of result when it is not Rows (`Void`, `SetKeyspace`, `SchemaChange`).
    pub(crate) kind: &'static str,
}

impl Fetched {
    pub(crate) fn bytes(&self) -> usize {
        self.rows.as_ref().map_or(0, |r| r.content().len())
    }
}

/// What the maker of a stream tells it about the statement: its own settings (which win
/// over the stream's), where it starts, and the session's defaults (the last word).
#[derive(Debug, Clone)]
pub(crate) struct StatementSettings {
    /// The statement's own page size.
    pub(crate) page_size: Option<i32>,
    /// The statement's own timeout: the timeout of each of its pages.
    pub(crate) timeout: Option<Duration>,
    /// The statement's own paging state: where the stream starts when not resumed.
    pub(crate) paging_state: Option<Bytes>,
    /// Whether every reply must be Rows (a SELECT, or a prepared statement with result
    /// columns).
    pub(crate) returns_rows: bool,
    /// The session's page size.
    pub(crate) default_page_size: i32,
    /// The session's request timeout.
    pub(crate) default_timeout: Duration,
}

/// Fetches the pages of one statement (with its values): implemented by the session.
pub(crate) trait PageSource: Send + Sync + 'static {
    /// The statement's CQL text (the resume points' fingerprint, messages).
    fn text(&self) -> &str;

    /// The page `request` names, retried as `retries` allows.
    fn fetch(&self, request: &PageRequest, retries: &Retries) -> impl Future<Output = Result<Fetched, Error>> + Send;
}

pub(crate) type FetchFuture = Pin<Box<dyn Future<Output = Result<Fetched, Error>> + Send>>;

/// A [`PageSource`] whose type the stream does not know. The read-ahead task is spawned
/// through it, so that task runs the source's own future for every page, unboxed; only
/// pages fetched in the consumer's poll are boxed (as they always were).
pub(crate) trait AnySource: Send + Sync {
    /// [`PageSource::text`].
    fn text(&self) -> &str;

    /// [`PageSource::fetch`], as a future that owns what it needs.
    fn fetch_owned(self: Arc<Self>, request: PageRequest, retries: Retries) -> FetchFuture;

    /// Spawns the read-ahead task `producer` on this source.
    fn spawn_producer(self: Arc<Self>, producer: Producer) -> JoinHandle<()>;
}

impl<S: PageSource> AnySource for S {
    fn text(&self) -> &str {
        PageSource::text(self)
    }

    fn fetch_owned(self: Arc<Self>, request: PageRequest, retries: Retries) -> FetchFuture {
        Box::pin(async move { self.fetch(&request, &retries).await })
    }

    fn spawn_producer(self: Arc<Self>, producer: Producer) -> JoinHandle<()> {
        tokio::spawn(producer.run(self))
    }
}

impl std::fmt::Debug for dyn AnySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageSource").field("text", &self.text()).finish()
    }
}
