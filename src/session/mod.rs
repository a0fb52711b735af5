//! Sessions: the API users call. A [`Session`] holds a pool of connections to a node,
//! sends each request on the least busy one, replaces a dead one in the background
//! ([`ReconnectPolicy`]), applies a `USE` to every connection, prepares statements once
//! (concurrent prepares of one text share one request), re-prepares transparently on
//! UNPREPARED (EXECUTE and BATCH), makes streams ([`Session::stream`]), and turns
//! replies into [`QueryResult`]s and errors into [`Error`]s with the server's code and
//! message kept.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cqlstream::Error> {
//! use cqlstream::session::Session;
//!
//! let session = Session::builder().contact_point("127.0.0.1:9042").build().await?;
//! session.query("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", ()).await?;
//! session.query("CREATE TABLE IF NOT EXISTS ks.t (k int PRIMARY KEY, v text)", ()).await?;
//! let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await?;
//! session.execute(&insert, (1, "one")).await?;
//! let result = session.query("SELECT k, v FROM ks.t", ()).await?;
//! for row in result.rows_typed::<(i32, &str)>()? {
//!     let (k, v) = row?;
//!     println!("{k} = {v}");
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - here: the builder, the session's settings and the prepared cache;
//! - `request`: the one request path every query, execute, batch and page goes
//!   through (pick a connection, send, re-prepare, retry, read the reply);
//! - `pool`: the connections and the session's keyspace;
//! - `streams`: [`Session::stream`] and the session's side of a stream (its page
//!   source, [`StreamStatement`]);
//! - `statement`: statements and their options; `result`: [`QueryResult`].
//!
//! **The rule: `session` may use `connection`, `stream`, protocol and types, and the
//! crate's [`Error`] and [`RetryPolicy`](crate::RetryPolicy); it is the only module
//! that uses `connection` (besides `error`, which wraps its errors), and it never uses
//! `testkit`.** `stream` does not use
//! `session`: it reaches the session only through the page-source trait the session
//! implements.

mod pool;
mod request;
mod result;
mod statement;
mod streams;

pub use pool::ReconnectPolicy;
pub use result::QueryResult;
pub use statement::{Batch, BatchItem, PreparedStatement, Statement, StatementOptions};
pub use streams::StreamStatement;

pub use crate::error::{ContactPointError, ContactPointFailure};

use crate::error::Error;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::OnceCell;

use self::pool::Pool;
use self::request::{Attempts, Call, Work};
use self::statement::ResultMetadataCache;
use crate::connection::{Connection, ConnectionConfig};
use crate::protocol::request::Prepare;
use crate::protocol::response::ResultBody;
use crate::protocol::{Compression, Consistency, Request, Response, Values, Version};
use crate::types::{SerializeRow, serialize_values, serialize_values_untyped};

/// Builds a [`Session`].
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    contact_points: Vec<String>,
    connection: ConnectionConfig,
    pool_size: usize,
    reconnect: ReconnectPolicy,
    consistency: Consistency,
    page_size: i32,
    stream: crate::stream::StreamConfig,
}

impl Default for SessionBuilder {
    fn default() -> Self {
        SessionBuilder {
            contact_points: Vec::new(),
            connection: ConnectionConfig::new(),
            pool_size: 1,
            reconnect: ReconnectPolicy::default(),
            consistency: Consistency::LocalOne,
            page_size: 5000,
            stream: crate::stream::StreamConfig::default(),
        }
    }
}

impl SessionBuilder {
    /// A node to connect to, `host:port` (a name or an IP address). They are tried in
    /// the order given, each name resolved without blocking; the first reachable one
    /// is used.
    pub fn contact_point(mut self, addr: impl Into<String>) -> Self {
        self.contact_points.push(addr.into());
        self
    }

    /// `USE` this keyspace on every connection. A `USE` statement run later switches
    /// the whole session (every connection, present and future); a connection that
    /// cannot follow it is replaced, and the statement fails with its error.
    pub fn keyspace(mut self, ks: impl Into<String>) -> Self {
        self.connection = self.connection.keyspace(ks);
        self
    }

    /// Log in with PasswordAuthenticator. Credentials the node refuses (or a node that
    /// requires a login when none is given) fail `build` with [`Error::Authentication`].
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.connection = self.connection.credentials(user, password);
        self
    }

    /// Use LZ4 when the server offers it.
    pub fn compression(mut self, c: Compression) -> Self {
        self.connection = self.connection.compression(c);
        self
    }

    /// Pin the protocol version (default: negotiate v5, v4, v3).
    pub fn protocol(mut self, v: Version) -> Self {
        self.connection = self.connection.protocol(v);
        self
    }

    /// Default per-request timeout (12 s).
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.connection = self.connection.request_timeout(t);
        self
    }

    /// TCP connect timeout (5 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connection = self.connection.connect_timeout(t);
        self
    }

    /// One deadline for the whole handshake of every connection (5 s): TCP connect,
    /// OPTIONS, STARTUP, login, `USE` and REGISTER. A contact point that does not finish
    /// in time fails with
    /// [`ConnectionError::HandshakeTimeout`](crate::connection::ConnectionError::HandshakeTimeout),
    /// naming the step it was waiting for, and `build()` moves on to the next one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cqlstream::session::Session;
    ///
    /// let builder = Session::builder().contact_point("127.0.0.1:9042").handshake_timeout(Duration::from_secs(2));
    /// # let _ = builder;
    /// ```
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.connection = self.connection.handshake_timeout(t);
        self
    }

    /// Connections per node (default 1); requests go to the least busy one. A
    /// connection that dies is replaced in the background (see
    /// [`SessionBuilder::reconnect_policy`]) while the others serve.
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(1);
        self
    }

    /// How soon a dead pool connection is replaced again after a failed attempt
    /// (default: from 100 ms, doubling up to 10 s, with jitter).
    pub fn reconnect_policy(mut self, p: ReconnectPolicy) -> Self {
        self.reconnect = p;
        self
    }

    /// Default consistency (LOCAL_ONE).
    pub fn consistency(mut self, c: Consistency) -> Self {
        self.consistency = c;
        self
    }

    /// Default page size (5000).
    pub fn page_size(mut self, n: i32) -> Self {
        self.page_size = n;
        self
    }

    /// The configuration every [`Session::stream`] starts from (prefetch, timeouts,
    /// retry policy, ...); a stream's own setters override it.
    pub fn stream_config(mut self, c: crate::stream::StreamConfig) -> Self {
        self.stream = c;
        self
    }

    /// Everything about the connections themselves.
    pub fn connection_config(mut self, c: ConnectionConfig) -> Self {
        self.connection = c;
        self
    }

    /// Connects the pool. Contact points are tried in order: a name that does not
    /// resolve (within the connect timeout) or a node that cannot be reached moves on
    /// to the next; when none works the error lists each one's failure
    /// ([`Error::NoNodeAvailable`]). Refused or missing credentials end the search at
    /// once with [`Error::Authentication`]: they would be refused by every node.
    pub async fn build(self) -> Result<Session, Error> {
        if self.contact_points.is_empty() {
            return Err(Error::Config("no contact point given".into()));
        }
        let mut failures = Vec::new();
        for cp in &self.contact_points {
            let addrs = match resolve(cp, self.connection.connect_timeout).await {
                Ok(a) => a,
                Err(reason) => {
                    failures.push(ContactPointFailure::resolve(cp, reason));
                    continue;
                }
            };
            for addr in addrs {
                match Connection::open(addr, &self.connection).await {
                    Ok(first) => {
                        let pool =
                            Pool::start(addr, self.connection.clone(), self.pool_size, first, self.reconnect).await;
                        let inner = Inner {
                            pool,
                            prepared: Mutex::new(HashMap::new()),
                            consistency: self.consistency,
                            page_size: self.page_size,
                            clock: AtomicI64::new(0),
                            streams: Arc::default(),
                            stream_config: self.stream.clone(),
                        };
                        return Ok(Session { inner: Arc::new(inner) });
                    }
                    Err(e) => match Error::connecting(addr, e) {
                        Error::Connection(e) => failures.push(ContactPointFailure::connect(cp, addr, e)),
                        auth => return Err(auth),
                    },
                }
            }
        }
        Err(Error::NoNodeAvailable(failures))
    }
}

/// The addresses `contact_point` (`host:port`) names, looked up without blocking and
/// within `within`; the reason as text when there are none.
async fn resolve(contact_point: &str, within: Duration) -> Result<Vec<SocketAddr>, String> {
    match tokio::time::timeout(within, tokio::net::lookup_host(contact_point)).await {
        Err(_) => Err(format!("no answer from the resolver within {within:?}")),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() { Err("the name has no address".into()) } else { Ok(addrs) }
        }
    }
}

type PrepareCell = Arc<OnceCell<PreparedStatement>>;

#[derive(Debug)]
struct Inner {
    pool: Arc<Pool>,
    prepared: Mutex<HashMap<(Option<String>, String), PrepareCell>>,
    consistency: Consistency,
    page_size: i32,
    clock: AtomicI64,
    streams: Arc<crate::stream::Gauges>,
    stream_config: crate::stream::StreamConfig,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: stop the keeper even mid-connect, so that the pool
        // and its connections go now (see `Pool::stop_keeper`).
        self.pool.stop_keeper();
    }
}

/// A connection pool to a node and the statement API. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Session>();
}

impl Session {
    /// A builder with the defaults.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// The node the session talks to.
    pub fn node(&self) -> SocketAddr {
        self.inner.pool.addr()
    }

    /// The default per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.inner.pool.config().get_request_timeout()
    }

    /// The default page size.
    pub fn page_size(&self) -> i32 {
        self.inner.page_size
    }

    /// Requests sent on the pool's connections and not yet answered, orphaned ones
    /// (whose caller timed out or dropped the request) included.
    pub fn in_flight(&self) -> usize {
        self.inner.pool.in_flight()
    }

    /// The pool's connections that are open now (at most the pool size; fewer while a
    /// dead one is being replaced).
    pub fn live_connections(&self) -> usize {
        self.inner.pool.live()
    }

    /// The session's keyspace: the builder's, or the last one a `USE` switched to.
    pub fn keyspace(&self) -> Option<String> {
        self.inner.pool.keyspace()
    }

    /// The least busy live connection (connecting one if none is live).
    async fn connection(&self) -> Result<Connection, Error> {
        self.inner.pool.pick(None).await
    }

    /// Microseconds, strictly increasing within this session (client-side timestamps).
    fn timestamp(&self) -> i64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0);
        let mut last = self.inner.clock.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.inner.clock.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Runs an unprepared statement with values (serialized by their natural CQL types;
    /// pass `()` for none). Returns one page.
    pub async fn query(
        &self,
        statement: impl Into<Statement>,
        values: impl SerializeRow,
    ) -> Result<QueryResult, Error> {
        let statement = statement.into();
        let values = if values.is_empty() { Values::empty() } else { serialize_values_untyped(&values)? };
        let call = Call { work: Work::Query(&statement.text), options: &statement.options, page: None };
        Ok(self.run(call, Attempts::Once(values)).await?.result)
    }

    /// Prepares a statement, once per text and keyspace (the statement's, else the
    /// session's): later and concurrent calls share the first one's request.
    pub async fn prepare(&self, statement: impl Into<Statement>) -> Result<PreparedStatement, Error> {
        let statement = statement.into();
        let keyspace = statement.options.keyspace.clone().or_else(|| self.inner.pool.keyspace());
        let key = (keyspace, statement.text.clone());
        let cell = self.inner.prepared.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default().clone();
        let prepared =
            cell.get_or_try_init(|| async { self.prepare_on(&self.connection().await?, &statement).await }).await?;
        let mut p = prepared.clone();
        p.options = statement.options;
        Ok(p)
    }

    async fn prepare_on(&self, conn: &Connection, statement: &Statement) -> Result<PreparedStatement, Error> {
        let req = Prepare { query: statement.text.clone(), keyspace: statement.options.keyspace.clone() };
        let o = &statement.options;
        let reply = self.send(conn, Request::Prepare(req), o.tracing, o.timeout).await?;
        match reply.response {
            Response::Result(ResultBody::Prepared(p)) => Ok(PreparedStatement {
                id: p.id,
                text: statement.text.as_str().into(),
                keyspace: statement.options.keyspace.as_deref().map(Into::into),
                bind_columns: p.metadata.columns.into(),
                pk_indexes: p.metadata.pk_indexes.into(),
                metadata: Arc::new(Mutex::new(ResultMetadataCache {
                    result_metadata_id: p.result_metadata_id,
                    result_columns: p.result_metadata.columns.map(Into::into),
                })),
                options: statement.options.clone(),
            }),
            Response::Error(e) => Err(e.into()),
            other => Err(Error::Unexpected(format!("{:?} in reply to PREPARE", other.opcode()))),
        }
    }

    /// Executes a prepared statement; values are checked against its bind markers.
    /// An UNPREPARED reply (the node forgot the statement) is answered by preparing
    /// again on that connection and retrying once.
    pub async fn execute(&self, prepared: &PreparedStatement, values: impl SerializeRow) -> Result<QueryResult, Error> {
        let values = serialize_values(&values, &prepared.bind_columns)?;
        let call = Call { work: Work::Execute(prepared), options: &prepared.options, page: None };
        Ok(self.run(call, Attempts::Once(values)).await?.result)
    }

    /// Runs a batch. An UNPREPARED reply (the node forgot a prepared statement of the
    /// batch) is answered by preparing that statement again on the same connection and
    /// sending the batch again; each prepared statement is re-prepared at most once.
    pub async fn batch(&self, batch: &Batch) -> Result<QueryResult, Error> {
        let call = Call { work: Work::Batch(batch), options: &batch.options, page: None };
        Ok(self.run(call, Attempts::Once(Values::empty())).await?.result)
    }
}
