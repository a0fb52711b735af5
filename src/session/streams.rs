//! The session's side of a stream: [`Session::stream`] makes a
//! [`RowStream`](crate::stream::RowStream) whose pages come from a
//! [`StatementPages`], the page source that sends each page request through the
//! session's one request path ([`Session::run`]), with the stream's retry policy.
//!
//! Owns what a stream runs ([`StreamStatement`]), what the stream is told of it (its
//! own page size, timeout and paging state, the session's defaults), and turning a
//! result into a fetched page. Paging itself (read-ahead, limits, resume points) is
//! [`crate::stream`]'s.

use std::sync::Arc;

use super::request::{Answer, Attempts, Call, Work};
use super::{PreparedStatement, QueryResult, Session, Statement, StatementOptions};
use crate::error::Error;
use crate::protocol::Values;
use crate::stream::{Fetched, PageRequest, PageSource, PageStream, Retries, RowStream, StatementSettings, StreamStats};
use crate::types::{Row, SerializeRow, serialize_values, serialize_values_untyped};

impl Session {
    /// Streams the rows of a statement (CQL text, a [`Statement`] or a
    /// [`PreparedStatement`]) page by page, with bounded memory: see
    /// [`RowStream`] and the [streaming guide](crate::stream).
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
        let (values, pending) = match values {
            Ok(v) => (v, None),
            Err(e) => (Values::empty(), Some(e)),
        };
        let options = statement.options();
        let settings = StatementSettings {
            page_size: options.page_size,
            timeout: options.timeout,
            paging_state: options.paging_state.clone(),
            returns_rows: statement.returns_rows(),
            default_page_size: self.page_size(),
            default_timeout: self.request_timeout(),
        };
        let source = Arc::new(StatementPages { session: self.clone(), statement, values });
        let defaults = self.inner.stream_config.clone();
        RowStream::new(PageStream::new(source, settings, defaults, self.inner.streams.clone(), pending))
    }

    /// The gauges of this session's streams: read-ahead tasks running, pages buffered.
    pub fn stream_stats(&self) -> StreamStats {
        self.inner.streams.snapshot()
    }
}

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

    /// The statement's options.
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

/// The pages of one statement with its values: a stream's page source.
#[derive(Debug)]
pub(crate) struct StatementPages {
    session: Session,
    statement: StreamStatement,
    values: Values,
}

impl PageSource for StatementPages {
    fn text(&self) -> &str {
        self.statement.text()
    }

    async fn fetch(&self, request: &PageRequest, retries: &Retries) -> Result<Fetched, Error> {
        let work = match &self.statement {
            StreamStatement::Query(s) => Work::Query(&s.text),
            StreamStatement::Prepared(p) => Work::Execute(p),
        };
        let call = Call { work, options: self.statement.options(), page: Some(request) };
        let answer = self.session.run(call, Attempts::Retried { values: &self.values, retries }).await?;
        Ok(fetched(answer))
    }
}

fn fetched(answer: Answer) -> Fetched {
    let Answer { result, node, retries, latency } = answer;
    let kind = match (&result.schema_change, &result.keyspace) {
        (Some(_), _) => "SchemaChange",
        (None, Some(_)) => "SetKeyspace",
        (None, None) => "Void",
    };
    let QueryResult { rows, paging_state, warnings, .. } = result;
    Fetched { rows, paging_state, node, latency: latency.unwrap_or_default(), warnings, retries, kind }
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
