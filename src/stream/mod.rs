#![cfg_attr(feature = "testkit", doc = include_str!("../../docs/streaming.md"))]
#![cfg_attr(
    not(feature = "testkit"),
    doc = "Streaming large result sets with bounded memory: [`RowStream`] and [`PageStream`]. \
           The guide is `docs/streaming.md` (and these docs, built with feature `testkit`)."
)]
//!
//! # Layout
//!
//! - `config`: [`StreamConfig`], the settings and their defaults;
//! - `retry`: [`RetryPolicy`], which failed page fetches are retried;
//! - `fetch`: one page's request and its retries; [`StreamStatement`];
//! - `producer`: the read-ahead task and the bounded page channel; [`StreamStats`];
//! - `pages`: [`PageStream`], the consumer's side: order, limits, resume position;
//! - `rows`: [`RowStream`], rows decoded as `T`;
//! - `page`: [`Page`], [`PageInfo`], [`Progress`];
//! - `resume`: [`ResumePoint`], the token and its encodings.
//!
//! Owns paging a query from the client's side. Connections and the pool are
//! [`crate::session`]'s and [`crate::connection`]'s; row decoding is [`crate::types`]'.

mod config;
mod fetch;
mod page;
mod pages;
mod producer;
mod resume;
mod retry;
mod rows;

pub use config::{DEFAULT_PREFETCH, StreamConfig};
pub use fetch::StreamStatement;
pub use page::{Page, PageInfo, Progress};
pub use pages::PageStream;
pub(crate) use producer::Gauges;
pub use producer::StreamStats;
pub use resume::{InvalidResumePoint, ResumePoint};
pub use retry::RetryPolicy;
pub use rows::RowStream;

use crate::protocol::Values;
use crate::session::{Error, Session};
use crate::types::{Row, SerializeRow, serialize_values, serialize_values_untyped};

impl Session {
    /// Streams the rows of a statement (CQL text, a [`Statement`](crate::session::Statement)
    /// or a [`PreparedStatement`](crate::session::PreparedStatement)) page by page, with
    /// bounded memory: see [`RowStream`] and the [module docs](crate::stream).
    ///
    /// Nothing is sent until the stream is first polled; a values error is its first
    /// item.
    pub fn stream(&self, statement: impl Into<StreamStatement>, values: impl SerializeRow) -> RowStream<Row> {
        let statement = statement.into();
        let values = match &statement {
            StreamStatement::Query(_) if values.is_empty() => Ok(Values::empty()),
            StreamStatement::Query(_) => serialize_values_untyped(&values).map_err(Error::from),
            StreamStatement::Prepared(p) => serialize_values(&values, p.bind_columns()).map_err(Error::from),
        };
        RowStream::new(PageStream::new(self.clone(), statement, values, self.stream_config().clone()))
    }

    /// The gauges of this session's streams: read-ahead tasks running, pages buffered.
    pub fn stream_stats(&self) -> StreamStats {
        self.stream_gauges().snapshot()
    }
}
