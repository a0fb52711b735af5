//! One page of a stream: its rows (undecoded, a slice of the reply) and what is known
//! about it: number, size, the paging state after it, the node that served it, latency,
//! warnings and retries.
//!
//! Owns the page type and its accessors; fetching is [`super::fetch`]'s, ordering and
//! limits the streams'.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::response::ColumnSpec;
use crate::types::{
    DeserializeError, DeserializeOwnedRow, DeserializeRow, IntoRows, IntoTypedRows, RowRefs, RowsPage, TypedRows,
};

/// What is known about one page; what [`StreamConfig::on_page`](super::StreamConfig::on_page)
/// callbacks receive.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PageInfo {
    /// The page's number in the query, 0-based (a resumed stream continues the count).
    pub number: u64,
    /// Rows the stream hands on from this page (after dropping rows consumed before a
    /// resume, and rows past `max_rows`).
    pub rows: usize,
    /// Bytes of row data the server sent in this page.
    pub bytes: usize,
    /// Where the next page starts; `None` on the last page.
    pub paging_state: Option<Bytes>,
    /// The node that served the page.
    pub node: SocketAddr,
    /// From sending the successful request to its reply.
    pub latency: Duration,
    /// Warnings the server attached to the reply.
    pub warnings: Vec<String>,
    /// How many failed attempts came before the one that served the page.
    pub retries: u32,
}

impl PageInfo {
    /// Whether this is the query's last page (no paging state follows). A last page
    /// may be empty: a page that filled `page_size` exactly cannot know it was the last.
    pub fn is_last(&self) -> bool {
        self.paging_state.is_none()
    }
}

/// One page of a stream, as [`PageStream`](super::PageStream) yields it.
///
/// The rows stay encoded in the reply's buffer until read; reading them borrowed costs
/// no copy:
///
/// ```no_run
/// # async fn demo(session: cqlstream::session::Session) -> Result<(), cqlstream::Error> {
/// use futures_util::StreamExt;
///
/// let mut pages = session.stream("SELECT id, name FROM shop.items", ()).page_size(1000).pages();
/// while let Some(page) = pages.next().await {
///     let page = page?;
///     for row in page.rows::<(i32, &str)>()? {
///         let (id, name) = row?;
///         println!("page {}: {id} {name}", page.number());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Page {
    pub(crate) rows: RowsPage,
    pub(crate) info: PageInfo,
    /// The paging state this page was asked for with (`None`: the query's start).
    pub(crate) state_before: Option<Bytes>,
    /// Rows dropped from the page's start (consumed before a resume).
    pub(crate) skipped: usize,
    /// Whether rows were dropped from its end (past `max_rows`).
    pub(crate) truncated: bool,
}

impl Page {
    /// The rows as `T`, which may borrow from the page (`(i32, &str)`); the column types
    /// are checked once, here.
    pub fn rows<'f, T: DeserializeRow<'f>>(&'f self) -> Result<TypedRows<'f, T>, DeserializeError> {
        self.rows.rows::<T>()
    }

    /// The rows borrowed and undecoded.
    pub fn iter(&self) -> RowRefs<'_> {
        self.rows.iter()
    }

    /// The rows as owned `T`s, consuming the page.
    pub fn into_typed<T: DeserializeOwnedRow>(self) -> Result<IntoTypedRows<T>, DeserializeError> {
        self.rows.into_typed::<T>()
    }

    /// The rows as [`Row`](crate::types::Row)s, each a slice of the page.
    pub fn into_rows(self) -> IntoRows {
        self.rows.into_rows()
    }

    /// The rows with their shared column specs.
    pub fn rows_page(&self) -> &RowsPage {
        &self.rows
    }

    /// The rows with their shared column specs, owned.
    pub fn into_rows_page(self) -> RowsPage {
        self.rows
    }

    /// The column specs.
    pub fn columns(&self) -> &Arc<[ColumnSpec]> {
        self.rows.columns()
    }

    /// The page's number, 0-based.
    pub fn number(&self) -> u64 {
        self.info.number
    }

    /// Rows in the page.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the page has no rows (servers send such pages, and more may follow).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Bytes of row data the server sent in this page.
    pub fn bytes(&self) -> usize {
        self.info.bytes
    }

    /// Where the next page starts; `None` on the last page.
    pub fn paging_state(&self) -> Option<&Bytes> {
        self.info.paging_state.as_ref()
    }

    /// Whether this is the query's last page (see [`PageInfo::is_last`]).
    pub fn is_last(&self) -> bool {
        self.info.is_last()
    }

    /// The node that served the page.
    pub fn node(&self) -> SocketAddr {
        self.info.node
    }

    /// From sending the successful request to its reply.
    pub fn latency(&self) -> Duration {
        self.info.latency
    }

    /// Warnings the server attached.
    pub fn warnings(&self) -> &[String] {
        &self.info.warnings
    }

    /// Failed attempts before the one that served the page.
    pub fn retries(&self) -> u32 {
        self.info.retries
    }

    /// Everything above in one struct.
    pub fn info(&self) -> &PageInfo {
        &self.info
    }
}

/// Counters of one stream: what it has handed to its consumer so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Progress {
    /// Pages handed on.
    pub pages: u64,
    /// Rows handed on (for a [`RowStream`](super::RowStream): rows yielded).
    pub rows: u64,
    /// Bytes of row data in the pages handed on.
    pub bytes: u64,
    /// Failed page fetches that were retried.
    pub retries: u64,
}
