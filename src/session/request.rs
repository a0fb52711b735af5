//! The session's one request path: [`Session::run`] sends every QUERY, EXECUTE and
//! BATCH, whether a user's statement or a stream's page. It picks a connection, sends,
//! re-prepares on UNPREPARED (on the same connection), retries as the call allows (on
//! another connection of the pool, after the policy's backoff, each attempt within the
//! deadline), and turns the reply into a [`QueryResult`].
//!
//! Owns the attempt loop, the wire request of each kind, re-preparing, and reading a
//! reply. Choosing among connections is the pool's ([`super::pool`]); sockets and
//! stream ids are [`crate::connection`]'s; what a page is, [`crate::stream`]'s.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::statement::{ResultMetadataCache, parameters};
use super::{Batch, BatchItem, PreparedStatement, QueryResult, Session, Statement, StatementOptions};
use crate::connection::{Connection, RequestError};
use crate::error::Error;
use crate::protocol::request::{self, BatchStatement, BatchStatementKind, Execute, Query};
use crate::protocol::response::{ErrorKind, ResultBody};
use crate::protocol::{Request, RequestMessage, Response, ResponseMessage, Values, Version};
use crate::stream::{PageRequest, Retries};
use crate::types::RowsPage;

/// What a call sends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Work<'a> {
    /// QUERY with this text.
    Query(&'a str),
    /// EXECUTE of this statement.
    Execute(&'a PreparedStatement),
    /// BATCH (its values are in its items).
    Batch(&'a Batch),
}

/// One request, before a connection is chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) work: Work<'a>,
    pub(crate) options: &'a StatementOptions,
    /// A page: its size, paging state and timeout are sent instead of the options'.
    pub(crate) page: Option<&'a PageRequest>,
}

/// How many attempts a call gets, and its bound values.
#[derive(Debug)]
pub(crate) enum Attempts<'a> {
    /// One attempt: the values are moved into it. What a plain query, execute or batch
    /// gets.
    Once(Values),
    /// As many as the policy allows within the deadline, each with the values (a
    /// reference-counted copy): what a page gets.
    Retried { values: &'a Values, retries: &'a Retries },
}

/// A call's result and how it was obtained.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) result: QueryResult,
    /// The node of the connection that answered.
    pub(crate) node: SocketAddr,
    /// Attempts before the one that answered.
    pub(crate) retries: u32,
    /// The answering attempt's time, measured for retried calls (pages) only: a plain
    /// call reads no clock.
    pub(crate) latency: Option<Duration>,
}

impl Session {
    /// The one request path (see the module docs).
    pub(crate) async fn run(&self, call: Call<'_>, mut attempts: Attempts<'_>) -> Result<Answer, Error> {
        let configured = call.page.map_or(call.options.timeout, |p| Some(p.timeout));
        let mut failed: Option<Connection> = None;
        let mut retries = 0u32;
        loop {
            let (values, retry) = match &mut attempts {
                // A single attempt: this loop runs once, so the values can move.
                Attempts::Once(values) => (std::mem::take(values), None),
                Attempts::Retried { values, retries } => ((*values).clone(), Some(*retries)),
            };
            let deadline = retry.and_then(|r| r.deadline);
            // The connection's request timeout covers the wait for a stream id and the
            // reply; connecting has the session's connect timeout.
            let timeout = within_deadline(configured, deadline)?;
            let (conn, error) = match self.inner.pool.pick(failed.as_ref()).await {
                Ok(conn) => {
                    let started = retry.map(|_| Instant::now());
                    match self.attempt(&conn, &call, values, timeout).await {
                        Ok(result) => {
                            let latency = started.map(|s| s.elapsed());
                            return Ok(Answer { result, node: conn.addr(), retries, latency });
                        }
                        Err(e) => (Some(conn), e),
                    }
                }
                Err(e) => (None, e),
            };
            let Some(Retries { policy, deadline }) = retry else { return Err(error) };
            if let Some((at, within)) = *deadline
                && Instant::now() >= at
            {
                return Err(Error::DeadlineExceeded(within));
            }
            retries += 1;
            if !policy.should_retry(&error, retries) {
                return Err(if retries > 1 { Error::retries_exhausted(retries, error) } else { error });
            }
            tracing::debug!(%error, retry = retries, "request failed; retrying");
            let wait = policy.backoff_before(retries);
            match deadline {
                Some((at, _)) => tokio::time::sleep_until((Instant::now() + wait).min(*at)).await,
                None => tokio::time::sleep(wait).await,
            }
            if conn.is_some() {
                failed = conn;
            }
        }
    }

    /// One attempt of `call` on `conn`.
    async fn attempt(
        &self,
        conn: &Connection,
        call: &Call<'_>,
        values: Values,
        timeout: Option<Duration>,
    ) -> Result<QueryResult, Error> {
        match call.work {
            Work::Query(text) => {
                let params = self.parameters(call, values);
                let reply =
                    self.send(conn, Request::Query(Query::new(text.to_owned(), params)), call.options.tracing, timeout);
                self.applied(into_result(reply.await?, None)).await
            }
            Work::Execute(prepared) => self.execute_on(conn, prepared, call, values, timeout).await,
            Work::Batch(batch) => self.batch_on(conn, batch, timeout).await,
        }
    }

    /// The wire parameters of `call`: its page's size and paging state when it is a
    /// page, else its options', with the session's defaults.
    fn parameters(&self, call: &Call<'_>, values: Values) -> crate::protocol::QueryParameters {
        let o = call.options;
        let (page_size, paging_state) = match call.page {
            Some(p) => (p.page_size, p.paging_state.clone()),
            None => (o.page_size.unwrap_or(self.inner.page_size), o.paging_state.clone()),
        };
        parameters(o, self.inner.consistency, page_size, paging_state, self.timestamp(), values)
    }

    /// Sends `request` on `conn` and waits for the reply.
    pub(super) async fn send(
        &self,
        conn: &Connection,
        request: Request,
        tracing: bool,
        timeout: Option<Duration>,
    ) -> Result<ResponseMessage, Error> {
        let mut msg = RequestMessage::new(0, request);
        msg.tracing = tracing;
        Ok(conn.request_message(msg, timeout).await?)
    }

    /// `result`, after a `USE` in it (a SetKeyspace result) was made the session's:
    /// every connection switched before it is returned (one propagation at a time, so
    /// two concurrent `USE`s cannot leave connections in different keyspaces).
    async fn applied(&self, result: Result<QueryResult, Error>) -> Result<QueryResult, Error> {
        if let Ok(QueryResult { keyspace: Some(ks), .. }) = &result {
            self.inner.pool.use_everywhere(ks).await?;
        }
        result
    }

    /// EXECUTE on `conn`, re-preparing once on UNPREPARED.
    async fn execute_on(
        &self,
        conn: &Connection,
        prepared: &PreparedStatement,
        call: &Call<'_>,
        values: Values,
        timeout: Option<Duration>,
    ) -> Result<QueryResult, Error> {
        let (reply, values) = self.send_execute(conn, prepared, call, values, timeout).await?;
        if let Response::Error(e) = &reply.response
            && matches!(e.kind, ErrorKind::Unprepared { .. })
        {
            let statement = Statement { text: prepared.text.to_string(), options: prepared.options.clone() };
            let fresh = self.prepare_on(conn, &statement).await?;
            let mut p = prepared.clone();
            p.id = fresh.id;
            *p.metadata.lock().unwrap_or_else(|e| e.into_inner()) =
                fresh.metadata.lock().unwrap_or_else(|e| e.into_inner()).clone_state();
            let (reply, _) = self.send_execute(conn, &p, call, values, timeout).await?;
            return self.applied(into_result(reply, Some(&p))).await;
        }
        self.applied(into_result(reply, Some(prepared))).await
    }

    /// Sends EXECUTE and returns the reply with the values given back (they are moved
    /// into the request and out again, not copied, for the rare re-prepare).
    async fn send_execute(
        &self,
        conn: &Connection,
        p: &PreparedStatement,
        call: &Call<'_>,
        values: Values,
        timeout: Option<Duration>,
    ) -> Result<(ResponseMessage, Values), Error> {
        let (result_metadata_id, has_columns) = {
            let m = p.metadata.lock().unwrap_or_else(|e| e.into_inner());
            (m.result_metadata_id.clone(), m.result_columns.is_some())
        };
        let mut params = self.parameters(call, values);
        // With v5's metadata id the server tells us when our copy is stale, so the
        // columns need not travel with every page.
        params.skip_metadata = conn.version() >= Version::V5 && has_columns;
        let exec = Execute {
            id: p.id.clone(),
            result_metadata_id: if conn.version() >= Version::V5 {
                result_metadata_id.or_else(|| Some(Bytes::new()))
            } else {
                None
            },
            params,
        };
        let mut msg = RequestMessage::new(0, Request::Execute(exec));
        msg.tracing = call.options.tracing;
        let envelope = msg.to_envelope(conn.version()).map_err(RequestError::from)?;
        let values = match msg.request {
            Request::Execute(exec) => exec.params.values,
            _ => Values::empty(),
        };
        let reply = conn.send_envelope(envelope, timeout).await?;
        Ok((ResponseMessage::from_envelope(&reply).map_err(RequestError::from)?, values))
    }

    /// BATCH on `conn`. An UNPREPARED reply (the node forgot a prepared statement of the
    /// batch) is answered by preparing that statement again on the same connection and
    /// sending the batch again; each prepared statement is re-prepared at most once.
    async fn batch_on(
        &self,
        conn: &Connection,
        batch: &Batch,
        timeout: Option<Duration>,
    ) -> Result<QueryResult, Error> {
        // Ids re-prepared on this connection: the one sent, then the fresh one.
        let mut renamed: Vec<(Bytes, Bytes)> = Vec::new();
        loop {
            let request = Request::Batch(self.batch_request(batch, &renamed));
            let reply = self.send(conn, request, batch.options.tracing, timeout).await?;
            if let Response::Error(e) = &reply.response
                && let ErrorKind::Unprepared { id } = &e.kind
                && let Some(p) = batch.items.iter().find_map(|item| match item {
                    BatchItem::Prepared(p, _) if sent_id(&p.id, &renamed) == id => Some(p),
                    _ => None,
                })
                && !renamed.iter().any(|(old, _)| *old == p.id)
            {
                let statement = Statement { text: p.text.to_string(), options: p.options.clone() };
                let fresh = self.prepare_on(conn, &statement).await?;
                renamed.push((p.id.clone(), fresh.id));
                continue;
            }
            return into_result(reply, None);
        }
    }

    /// The BATCH request for `batch`, with the prepared ids in `renamed` replaced.
    fn batch_request(&self, batch: &Batch, renamed: &[(Bytes, Bytes)]) -> request::Batch {
        let statements = batch
            .items
            .iter()
            .map(|item| match item {
                BatchItem::Query(q, v) => {
                    BatchStatement { kind: BatchStatementKind::Query(q.clone()), values: v.clone() }
                }
                BatchItem::Prepared(p, v) => BatchStatement {
                    kind: BatchStatementKind::Prepared(sent_id(&p.id, renamed).clone()),
                    values: v.clone(),
                },
            })
            .collect();
        let o = &batch.options;
        request::Batch {
            batch_type: batch.kind,
            statements,
            consistency: o.consistency.unwrap_or(self.inner.consistency),
            serial_consistency: o.serial_consistency,
            timestamp: Some(o.timestamp.unwrap_or_else(|| self.timestamp())),
            keyspace: o.keyspace.clone(),
            now_in_seconds: o.now_in_seconds,
        }
    }
}

/// The timeout of an attempt: the configured one, cut to what the deadline leaves; an
/// error when the deadline has passed.
fn within_deadline(
    configured: Option<Duration>,
    deadline: Option<(Instant, Duration)>,
) -> Result<Option<Duration>, Error> {
    let Some((at, within)) = deadline else { return Ok(configured) };
    let left = at.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::DeadlineExceeded(within));
    }
    Ok(Some(configured.map_or(left, |c| c.min(left))))
}

/// The id a batch sends for a statement prepared as `id`.
fn sent_id<'a>(id: &'a Bytes, renamed: &'a [(Bytes, Bytes)]) -> &'a Bytes {
    renamed.iter().find(|(old, _)| old == id).map_or(id, |(_, new)| new)
}

impl ResultMetadataCache {
    fn clone_state(&self) -> ResultMetadataCache {
        ResultMetadataCache {
            result_metadata_id: self.result_metadata_id.clone(),
            result_columns: self.result_columns.clone(),
        }
    }
}

/// A reply as a [`QueryResult`]; for an EXECUTE of `prepared`, its result metadata is
/// used (skipped columns) and kept current (a v5 Metadata_changed).
fn into_result(reply: ResponseMessage, prepared: Option<&PreparedStatement>) -> Result<QueryResult, Error> {
    let ResponseMessage { tracing_id, warnings, response, .. } = reply;
    let mut result = QueryResult {
        rows: None,
        paging_state: None,
        warnings: warnings.unwrap_or_default(),
        tracing_id,
        schema_change: None,
        keyspace: None,
    };
    match response {
        Response::Result(ResultBody::Rows(rows)) => {
            result.paging_state = rows.metadata().paging_state.clone();
            let page = match (rows.metadata().columns.is_some(), prepared) {
                (true, p) => {
                    // Fresh metadata; a v5 Metadata_changed also brings the new id.
                    if let (Some(p), Some(id)) = (p, rows.metadata().new_metadata_id.clone()) {
                        let mut m = p.metadata.lock().unwrap_or_else(|e| e.into_inner());
                        m.result_metadata_id = Some(id);
                        m.result_columns = rows.metadata().columns.clone().map(Into::into);
                    }
                    RowsPage::new(rows)?
                }
                (false, Some(p)) => {
                    let columns =
                        p.result_columns().ok_or_else(|| Error::Unexpected("rows without metadata".into()))?;
                    RowsPage::with_columns(rows, columns)?
                }
                (false, None) => return Err(Error::Unexpected("rows without metadata".into())),
            };
            result.rows = Some(page);
        }
        Response::Result(ResultBody::SchemaChange(sc)) => result.schema_change = Some(sc),
        Response::Result(ResultBody::SetKeyspace(ks)) => result.keyspace = Some(ks),
        Response::Result(_) => {}
        Response::Error(e) => return Err(e.into()),
        other => return Err(Error::Unexpected(format!("{:?} in reply to a statement", other.opcode()))),
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_gets_what_the_deadline_leaves() {
        let ten = Duration::from_secs(10);
        assert_eq!(within_deadline(Some(ten), None).ok(), Some(Some(ten)));
        assert_eq!(within_deadline(None, None).ok(), Some(None), "the connection's default");
        let soon = Instant::now() + Duration::from_secs(1);
        let cut = within_deadline(Some(ten), Some((soon, ten))).ok().flatten().unwrap_or(ten);
        assert!(cut <= Duration::from_secs(1), "{cut:?}");
        let short = Duration::from_millis(5);
        assert_eq!(within_deadline(Some(short), Some((soon, ten))).ok(), Some(Some(short)));
        let past = Instant::now() - Duration::from_millis(1);
        assert!(matches!(within_deadline(Some(ten), Some((past, ten))), Err(Error::DeadlineExceeded(d)) if d == ten));
    }
}
