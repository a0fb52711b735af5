//! Fetching one page: QUERY or EXECUTE with the page size and paging state, on the
//! least busy connection, retried on another one with backoff as the retry policy
//! allows, every attempt within the page timeout and the stream's deadline.
//!
//! Owns one page's request and its retries. It does not know about read-ahead, limits
//! or resume tokens (the streams' business), nor about sockets (the session's and the
//! connection's).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::retry::RetryPolicy;
use crate::connection::Connection;
use crate::protocol::Values;
use crate::session::{Error, PreparedStatement, QueryResult, Session, Statement, StatementOptions};
use crate::types::RowsPage;

/// What a stream runs: CQL text or a prepared statement, each with its options.
#[derive(Debug, Clone)]
pub enum StreamStatement {
    /// An unprepared statement.
    Query(Statement),
    /// A prepared statement.
    Prepared(PreparedStatement),
}

impl StreamStatement {
    /// The CQL text.
    pub fn text(&self) -> &str {
        match self {
            StreamStatement::Query(s) => s.text(),
            StreamStatement::Prepared(p) => p.text(),
        }
    }

    pub(crate) fn options(&self) -> &StatementOptions {
        match self {
            StreamStatement::Query(s) => s.options(),
            StreamStatement::Prepared(p) => p.options(),
        }
    }
}

impl From<Statement> for StreamStatement {
    fn from(s: Statement) -> Self {
        StreamStatement::Query(s)
    }
}

impl From<&Statement> for StreamStatement {
    fn from(s: &Statement) -> Self {
        StreamStatement::Query(s.clone())
    }
}

impl From<&str> for StreamStatement {
    fn from(s: &str) -> Self {
        StreamStatement::Query(Statement::new(s))
    }
}

impl From<String> for StreamStatement {
    fn from(s: String) -> Self {
        StreamStatement::Query(Statement::new(s))
    }
}

impl From<PreparedStatement> for StreamStatement {
    fn from(p: PreparedStatement) -> Self {
        StreamStatement::Prepared(p)
    }
}

impl From<&PreparedStatement> for StreamStatement {
    fn from(p: &PreparedStatement) -> Self {
        StreamStatement::Prepared(p.clone())
    }
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
}

impl Fetched {
    pub(crate) fn bytes(&self) -> usize {
        self.rows.as_ref().map_or(0, |r| r.content().len())
    }
}

/// Everything needed to fetch any page of one stream.
#[derive(Debug)]
pub(crate) struct Fetcher {
    pub(crate) session: Session,
    pub(crate) statement: StreamStatement,
    pub(crate) values: Values,
    pub(crate) page_size: i32,
    pub(crate) first_page_timeout: Option<Duration>,
    pub(crate) page_timeout: Option<Duration>,
    pub(crate) deadline: Option<(Instant, Duration)>,
    pub(crate) retry: RetryPolicy,
}

impl Fetcher {
    /// Fetches the page that `state` starts (`None`: the query's first page).
    /// `first` says whether it is the first page this stream asks for (its timeout).
    pub(crate) async fn fetch(&self, state: Option<Bytes>, first: bool) -> Result<Fetched, Error> {
        let mut options = self.statement.options().clone();
        options.page_size = Some(self.page_size);
        options.paging_state = state;
        let configured = if first { self.first_page_timeout } else { self.page_timeout };
        let mut failed: Option<Connection> = None;
        let mut retries = 0u32;
        loop {
            // The connection's request timeout covers the wait for a stream id and the
            // reply; connecting has the session's connect timeout.
            options.timeout = self.timeout(configured)?;
            let (conn, error) = match self.session.connection_avoiding(failed.as_ref()).await {
                Ok(conn) => {
                    let started = Instant::now();
                    let result = match &self.statement {
                        StreamStatement::Query(s) => {
                            self.session.query_on(&conn, s.text(), self.values.clone(), &options).await
                        }
                        StreamStatement::Prepared(p) => {
                            self.session.execute_on(&conn, p, self.values.clone(), &options).await
                        }
                    };
                    match result {
                        Ok(r) => return Ok(fetched(r, conn.addr(), started.elapsed(), retries)),
                        Err(e) => (Some(conn), e),
                    }
                }
                Err(e) => (None, e),
            };
            if let Some((at, within)) = self.deadline
                && Instant::now() >= at
            {
                return Err(Error::DeadlineExceeded(within));
            }
            retries += 1;
            if !self.retry.should_retry(&error, retries) {
                return Err(if retries > 1 { Error::retries_exhausted(retries, error) } else { error });
            }
            tracing::debug!(%error, retry = retries, "page fetch failed; retrying");
            let wait = self.retry.backoff_before(retries);
            match self.deadline {
                Some((at, _)) => tokio::time::sleep_until((Instant::now() + wait).min(at)).await,
                None => tokio::time::sleep(wait).await,
            }
            if conn.is_some() {
                failed = conn;
            }
        }
    }

    /// The timeout of the next attempt: the configured one, cut to what the deadline
    /// leaves; an error when the deadline has passed.
    fn timeout(&self, configured: Option<Duration>) -> Result<Option<Duration>, Error> {
        let Some((at, within)) = self.deadline else { return Ok(configured) };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::DeadlineExceeded(within));
        }
        let session_default = self.session.request_timeout();
        Ok(Some(configured.unwrap_or(session_default).min(left)))
    }
}

fn fetched(r: QueryResult, node: SocketAddr, latency: Duration, retries: u32) -> Fetched {
    let QueryResult { rows, paging_state, warnings, .. } = r;
    Fetched { rows, paging_state, node, latency, warnings, retries }
}
