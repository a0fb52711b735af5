//! How a stream pages: page size, read-ahead, memory budget, limits, timeouts, resume
//! token, progress callback and retry policy.
//!
//! Owns the settings and their defaults; the streams read them once, when they start.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::page::PageInfo;
use super::resume::ResumePoint;
use crate::retry::RetryPolicy;

/// A callback run for every page the stream hands to its consumer. It runs in the
/// consumer's task, one call at a time, so it may be `FnMut` and need not be `Sync`;
/// the lock is uncontended (configurations cloned from one share the callback).
pub(crate) type OnPage = Arc<Mutex<dyn FnMut(&PageInfo) + Send>>;

/// Settings of one stream. Every setter is also available on
/// [`RowStream`](super::RowStream) and [`PageStream`](super::PageStream) directly.
///
/// A stream has two of these: the session's
/// ([`SessionBuilder::stream_config`](crate::session::SessionBuilder::stream_config), the
/// defaults of all its streams) and its own (its setters, or
/// [`config`](super::RowStream::config) for a whole one). They are kept apart and each
/// setting is resolved once, when the stream starts (its first poll): **the
/// statement's own option, if it has one, then the stream's own setting, then the
/// session's `stream_config`, then the default below.** A setter called after the first
/// poll is an error (the stream's next item is
/// [`Error::Config`](crate::Error::Config) naming it, then the end).
///
/// | setting | statement's own (wins) | default | meaning |
/// |---|---|---|---|
/// | `page_size` | [`with_page_size`](crate::session::Statement::with_page_size) | the session's [`page_size`](crate::session::SessionBuilder::page_size) (5000) | rows per page request |
/// | `prefetch` | | 2 ([`DEFAULT_PREFETCH`]) | pages fetched ahead of the consumer; 0 fetches on demand |
/// | `max_buffered_bytes` | | none | stop fetching ahead while buffered pages hold more |
/// | `max_pages`, `max_rows` | | none | end the stream after this many |
/// | `first_page_timeout` | [`with_timeout`](crate::session::Statement::with_timeout) | the session's request timeout | for the first page (a scan may start slowly) |
/// | `page_timeout` | [`with_timeout`](crate::session::Statement::with_timeout) | the session's request timeout | for each later page |
/// | `deadline` | | none | for the whole stream, from its first poll |
/// | `resume_from` | | the statement's [`with_paging_state`](crate::session::Statement::with_paging_state), else the query's start | continue where a [`ResumePoint`] was taken (it wins over the statement's paging state) |
/// | `on_page` | | none | called with every page's [`PageInfo`] |
/// | `retry` | | [`RetryPolicy::new`] | which failed page fetches are retried |
///
/// So a statement's `with_timeout` is the timeout of each of its pages, the first
/// included, whatever the stream or the session say; without it, `first_page_timeout`
/// and `page_timeout` are each the stream's, else the session's `stream_config`'s, else
/// the session's request timeout.
///
/// ```
/// use std::time::Duration;
/// use cqlstream::stream::{RetryPolicy, StreamConfig};
///
/// let config = StreamConfig::new()
///     .page_size(1000)
///     .prefetch(4)
///     .max_buffered_bytes(64 << 20)
///     .page_timeout(Duration::from_secs(5))
///     .retry(RetryPolicy::new().max_retries(5))
///     .on_page(|info| println!("page {} from {}: {} rows", info.number, info.node, info.rows));
/// assert_eq!(config.get_prefetch(), 4);
/// ```
#[derive(Clone, Default)]
pub struct StreamConfig {
    pub(crate) page_size: Option<i32>,
    pub(crate) prefetch: Option<usize>,
    pub(crate) max_buffered_bytes: Option<usize>,
    pub(crate) max_pages: Option<u64>,
    pub(crate) max_rows: Option<u64>,
    pub(crate) first_page_timeout: Option<Duration>,
    pub(crate) page_timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) resume_from: Option<ResumePoint>,
    pub(crate) on_page: Option<OnPage>,
    pub(crate) retry: Option<RetryPolicy>,
}

/// Pages fetched ahead when nothing else is said: two, so that one page can arrive
/// whole while the consumer reads another and the next is being produced (measured in
/// `docs/performance.md`: a full scan runs about 1.6x faster than with one).
pub const DEFAULT_PREFETCH: usize = 2;

impl StreamConfig {
    /// The defaults.
    pub fn new() -> StreamConfig {
        StreamConfig::default()
    }

    /// Rows per page request. Values below 1 are taken as 1: a stream always pages. A
    /// statement's own [`with_page_size`](crate::session::Statement::with_page_size)
    /// wins over it; without either, the session's page size (5000).
    pub fn page_size(mut self, rows: i32) -> Self {
        self.page_size = Some(rows.max(1));
        self
    }

    /// Pages fetched ahead of the consumer (default [`DEFAULT_PREFETCH`], 2). While the consumer reads page
    /// `n`, pages up to `n + prefetch` may be requested, and no further. 0 fetches each
    /// page only when the consumer asks for it, with no background task.
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = Some(pages);
        self
    }

    /// Stop fetching ahead while the pages waiting for the consumer hold more than this
    /// many bytes of rows (at most one page over it is buffered).
    pub fn max_buffered_bytes(mut self, bytes: usize) -> Self {
        self.max_buffered_bytes = Some(bytes);
        self
    }

    /// End the stream after this many pages.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// End the stream after this many rows.
    pub fn max_rows(mut self, rows: u64) -> Self {
        self.max_rows = Some(rows);
        self
    }

    /// Timeout of the first page's request (default: the session's request timeout). A
    /// statement's own [`with_timeout`](crate::session::Statement::with_timeout) wins
    /// over it.
    pub fn first_page_timeout(mut self, t: Duration) -> Self {
        self.first_page_timeout = Some(t);
        self
    }

    /// Timeout of every later page's request (default: the session's request timeout).
    /// A page that times out is retried as the retry policy says. A statement's own
    /// [`with_timeout`](crate::session::Statement::with_timeout) wins over it.
    pub fn page_timeout(mut self, t: Duration) -> Self {
        self.page_timeout = Some(t);
        self
    }

    /// A limit on the whole stream, counted from its first poll. Without one (the
    /// default) a stream may run for hours; with one it fails with
    /// [`Error::DeadlineExceeded`](crate::Error::DeadlineExceeded) once the
    /// deadline has passed, checked whenever it needs a page.
    pub fn deadline(mut self, within: Duration) -> Self {
        self.deadline = Some(within);
        self
    }

    /// Continue a stream of the same statement from where `point` was taken: the first
    /// row yielded is the first one not consumed then.
    pub fn resume_from(mut self, point: ResumePoint) -> Self {
        self.resume_from = Some(point);
        self
    }

    /// Call `f` with every page's [`PageInfo`] as the page reaches the consumer (in the
    /// consumer's task, before its rows are yielded). `f` may keep state (`FnMut`); a
    /// configuration given to [`SessionBuilder::stream_config`](crate::session::SessionBuilder::stream_config)
    /// shares one `f` among all the session's streams.
    pub fn on_page(mut self, f: impl FnMut(&PageInfo) + Send + 'static) -> Self {
        self.on_page = Some(Arc::new(Mutex::new(f)));
        self
    }

    /// The retry policy of page fetches.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The read-ahead in pages.
    pub fn get_prefetch(&self) -> usize {
        self.prefetch.unwrap_or(DEFAULT_PREFETCH)
    }

    /// The retry policy (the default one when none was set).
    pub fn get_retry(&self) -> RetryPolicy {
        self.retry.clone().unwrap_or_default()
    }

    /// These settings, with each one left unset taken from `defaults`.
    pub(crate) fn over(self, defaults: &StreamConfig) -> StreamConfig {
        StreamConfig {
            page_size: self.page_size.or(defaults.page_size),
            prefetch: self.prefetch.or(defaults.prefetch),
            max_buffered_bytes: self.max_buffered_bytes.or(defaults.max_buffered_bytes),
            max_pages: self.max_pages.or(defaults.max_pages),
            max_rows: self.max_rows.or(defaults.max_rows),
            first_page_timeout: self.first_page_timeout.or(defaults.first_page_timeout),
            page_timeout: self.page_timeout.or(defaults.page_timeout),
            deadline: self.deadline.or(defaults.deadline),
            resume_from: self.resume_from.or_else(|| defaults.resume_from.clone()),
            on_page: self.on_page.or_else(|| defaults.on_page.clone()),
            retry: self.retry.or_else(|| defaults.retry.clone()),
        }
    }
}

impl fmt::Debug for StreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamConfig")
            .field("page_size", &self.page_size)
            .field("prefetch", &self.get_prefetch())
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_pages", &self.max_pages)
            .field("max_rows", &self.max_rows)
            .field("first_page_timeout", &self.first_page_timeout)
            .field("page_timeout", &self.page_timeout)
            .field("deadline", &self.deadline)
            .field("resume_from", &self.resume_from)
            .field("on_page", &self.on_page.as_ref().map(|_| "FnMut(&PageInfo)"))
            .field("retry", &self.get_retry())
            .finish()
    }
}

/// The setters of [`StreamConfig`] on a stream type with a `map_config(name, f)`
/// method, which applies `f` to the stream's own settings before its first poll and
/// records `name` as a late setter after it.
macro_rules! config_setters {
    () => {
        /// Replaces the stream's own settings with `config`; what `config` leaves unset
        /// comes from the session's
        /// [`stream_config`](crate::session::SessionBuilder::stream_config), and a
        /// statement's own page size and timeout still win (see [`StreamConfig`]).
        ///
        /// Like every setter here, call it before the first poll: after it, the stream's
        /// next item is an [`Error::Config`](crate::Error::Config) naming the
        /// setter, and the stream ends.
        pub fn config(self, config: $crate::stream::StreamConfig) -> Self {
            self.map_config("config", |_| config)
        }
        /// Rows per page request: [`StreamConfig::page_size`](crate::stream::StreamConfig::page_size).
        pub fn page_size(self, rows: i32) -> Self {
            self.map_config("page_size", |c| c.page_size(rows))
        }
        /// Pages fetched ahead: [`StreamConfig::prefetch`](crate::stream::StreamConfig::prefetch).
        pub fn prefetch(self, pages: usize) -> Self {
            self.map_config("prefetch", |c| c.prefetch(pages))
        }
        /// Memory budget of the read-ahead: [`StreamConfig::max_buffered_bytes`](crate::stream::StreamConfig::max_buffered_bytes).
        pub fn max_buffered_bytes(self, bytes: usize) -> Self {
            self.map_config("max_buffered_bytes", |c| c.max_buffered_bytes(bytes))
        }
        /// End after this many pages: [`StreamConfig::max_pages`](crate::stream::StreamConfig::max_pages).
        pub fn max_pages(self, pages: u64) -> Self {
            self.map_config("max_pages", |c| c.max_pages(pages))
        }
        /// End after this many rows: [`StreamConfig::max_rows`](crate::stream::StreamConfig::max_rows).
        pub fn max_rows(self, rows: u64) -> Self {
            self.map_config("max_rows", |c| c.max_rows(rows))
        }
        /// Timeout of the first page: [`StreamConfig::first_page_timeout`](crate::stream::StreamConfig::first_page_timeout).
        pub fn first_page_timeout(self, t: std::time::Duration) -> Self {
            self.map_config("first_page_timeout", |c| c.first_page_timeout(t))
        }
        /// Timeout of each later page: [`StreamConfig::page_timeout`](crate::stream::StreamConfig::page_timeout).
        pub fn page_timeout(self, t: std::time::Duration) -> Self {
            self.map_config("page_timeout", |c| c.page_timeout(t))
        }
        /// Whole-stream deadline: [`StreamConfig::deadline`](crate::stream::StreamConfig::deadline).
        pub fn deadline(self, within: std::time::Duration) -> Self {
            self.map_config("deadline", |c| c.deadline(within))
        }
        /// Continue from a token: [`StreamConfig::resume_from`](crate::stream::StreamConfig::resume_from).
        /// From this call on, the stream's resume point is `point`, until the stream
        /// moves past it.
        pub fn resume_from(self, point: $crate::stream::ResumePoint) -> Self {
            self.map_config("resume_from", |c| c.resume_from(point))
        }
        /// Per-page callback: [`StreamConfig::on_page`](crate::stream::StreamConfig::on_page).
        pub fn on_page(self, f: impl FnMut(&$crate::stream::PageInfo) + Send + 'static) -> Self {
            self.map_config("on_page", |c| c.on_page(f))
        }
        /// Retry policy: [`StreamConfig::retry`](crate::stream::StreamConfig::retry).
        pub fn retry(self, policy: $crate::stream::RetryPolicy) -> Self {
            self.map_config("retry", |c| c.retry(policy))
        }
    };
}
pub(crate) use config_setters;
