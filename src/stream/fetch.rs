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

    /// Whether every reply to it must be a Rows result: a prepared statement with result
    /// columns, or text whose first keyword is `SELECT`.
    pub(crate) fn returns_rows(&self) -> bool {
        let prepared_rows = match self {
            StreamStatement::Prepared(p) => p.result_columns().is_some_and(|c| !c.is_empty()),
            StreamStatement::Query(_) => false,
        };
        prepared_rows || first_keyword_is_select(self.text())
    }
}

/// Whether the first keyword of CQL `text`, after whitespace and comments (`--` and `//`
/// to the end of the line, `/* ... */`), is `SELECT` in any case.
pub(crate) fn first_keyword_is_select(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--").or_else(|| rest.strip_prefix("//")) {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, next)| next);
        } else {
            break;
        }
    }
    let word = rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    rest[..word].eq_ignore_ascii_case("select")
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
    /// The kind of result when it is not Rows (`Void`, `SetKeyspace`, `SchemaChange`).
    pub(crate) kind: &'static str,
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
    /// Settled when the stream starts: the statement's, else the stream's, else the
    /// session's stream config's, else the session's page size.
    pub(crate) page_size: i32,
    /// Settled the same way, from the statement's timeout down to the session's
    /// request timeout.
    pub(crate) first_page_timeout: Duration,
    pub(crate) page_timeout: Duration,
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
    fn timeout(&self, configured: Duration) -> Result<Option<Duration>, Error> {
        let Some((at, within)) = self.deadline else { return Ok(Some(configured)) };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::DeadlineExceeded(within));
        }
        Ok(Some(configured.min(left)))
    }
}

fn fetched(r: QueryResult, node: SocketAddr, latency: Duration, retries: u32) -> Fetched {
    let kind = match (&r.schema_change, &r.keyspace) {
        (Some(_), _) => "SchemaChange",
        (None, Some(_)) => "SetKeyspace",
        (None, None) => "Void",
    };
    let QueryResult { rows, paging_state, warnings, .. } = r;
    Fetched { rows, paging_state, node, latency, warnings, retries, kind }
}

#[cfg(test)]
mod tests {
    use super::first_keyword_is_select;

    #[test]
    fn the_first_keyword_after_whitespace_and_comments() {
        for yes in [
            "SELECT * FROM t",
            "select*from t",
            "  \n\tSeLeCt x FROM t",
            "/* a */ -- b\n // c\n SELECT x FROM t",
            "/* nested -- */select x",
        ] {
            assert!(first_keyword_is_select(yes), "{yes:?}");
        }
        for no in [
            "INSERT INTO t (a) VALUES ('SELECT')",
            "SELECTED",
            "selects",
            "-- SELECT",
            "/* SELECT */ UPDATE t SET a = 1",
            "/* unterminated SELECT",
            "",
            "BEGIN BATCH SELECT",
        ] {
            assert!(!first_keyword_is_select(no), "{no:?}");
        }
    }
}
