//! One connection to one node: the handshake, then a task that owns the socket and
//! multiplexes up to 32,768 concurrent requests over it by stream id.
//!
//! [`Connection`] is a cheap `Clone + Send + Sync` handle. A request is encoded in the
//! caller's task, handed to the connection task, which stamps a free stream id and
//! coalesces it with others into one write; the reply envelope is routed back by stream
//! id and decoded (and, if compressed, expanded) in the caller's task. When all ids are
//! taken, requests wait for one (they never fail for it). A request that times out or
//! is dropped leaves its id reserved ("orphaned") until the late reply arrives. When the
//! socket dies, every request in flight fails at once with the same clonable
//! [`ConnectionError`].
//!
//! A connection that is open but no longer does its job is declared defunct and closed
//! ([`ConnectionError::Defunct`], logged at warn, reported by [`Connection::closed`] so a
//! pool replaces it): when a heartbeat, sent after
//! [`heartbeat_interval`](ConnectionConfig::heartbeat_interval) without receiving a
//! byte, goes unanswered; when more ids are orphaned than
//! [`max_orphaned_streams`](ConnectionConfig::max_orphaned_streams); when the socket
//! takes no bytes for the [`write_timeout`](ConnectionConfig::write_timeout).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cqlstream::connection::{Connection, ConnectionConfig};
//! use cqlstream::protocol::request::Query;
//! use cqlstream::protocol::{Consistency, QueryParameters, Request, Response};
//!
//! let conn = Connection::open("127.0.0.1:9042".parse()?, &ConnectionConfig::new()).await?;
//! let query = Query::new("SELECT release_version FROM system.local", QueryParameters::new(Consistency::One));
//! let reply = conn.request(Request::Query(query)).await?;
//! assert!(matches!(reply.response, Response::Result(_)));
//! # Ok(()) }
//! ```
//!
//! # Core and shell
//!
//! Decisions and IO live apart, as in quinn (`quinn-proto` and `quinn`):
//!
//! | part | owns | never touches |
//! |---|---|---|
//! | `core` (`Core`) | stream ids, the in-flight table, the waiting queue, orphaned ids, every deadline, the heartbeat, the write-stall check, the write buffer and its high water, the codec after the handshake, defunct detection | sockets, clocks (it is fed `Instant`s), timers, channels to the handles |
//! | `task` | the socket halves, the command channel, the one timer, write coalescing, the event broadcast, the state shared with the handles | any decision: it feeds the core bytes read, commands, bytes written and the time, and writes what the core hands out |
//! | `handshake::machine` (`Handshake`) | the versions to try, the STARTUP it sends, the SASL exchange, when the codec switches framing and compression, the stage of a timeout error | the socket, the clock, the first-byte check |
//! | `handshake` | TCP connect, the socket during the handshake, the first-byte (not CQL) check, the deadline | decisions: it sends what the machine says |
//! | this module (`Connection`) | the handle: permits for stream ids, encoding and decoding in the caller's task, `USE` and REGISTER at open | the socket |
//!
//! The core and the handshake machine are tested without sockets and with a fake clock
//! (their `tests.rs`); the shells by the integration tests
//! (`tests/integration/connection/`), against scripted peers and the testkit.
//!
//! Owns sockets, stream ids, timeouts and heartbeats. Statement semantics, retries and
//! pools belong to the session layer; this module uses the protocol layer only.

mod config;
mod core;
mod error;
mod handshake;
mod task;

pub use self::core::MAX_STREAMS;
pub use config::{ConnectionConfig, DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_MAX_ORPHANED_STREAMS};
pub use error::{ConnectionError, DefunctReason, HandshakeStage, RequestError};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Semaphore, TryAcquireError, broadcast, mpsc, oneshot};
use tracing::Instrument;

use crate::protocol::codec::decompress_envelope;
use crate::protocol::request::{Query, Register};
use crate::protocol::response::{Event, ResultBody, Supported};
use crate::protocol::{
    Compression, Consistency, Envelope, QueryParameters, Request, RequestMessage, Response, ResponseMessage, Version,
};

use self::core::{Command, Core};
use self::task::{Shared, Task};

#[derive(Debug)]
struct Inner {
    tx: mpsc::UnboundedSender<Command>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    events: broadcast::Sender<Event>,
    addr: SocketAddr,
    version: Version,
    compression: Compression,
    supported: Supported,
    request_timeout: Duration,
    max_envelope_len: usize,
    max_compression_ratio: usize,
}

/// A handle to one open connection. Clone it freely; the connection closes when the
/// last handle is dropped and the requests in flight have their replies.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

impl Connection {
    /// Connects to `addr`, negotiates version, compression and login, then runs
    /// `USE` and REGISTER when the config asks for them, all within the config's
    /// [handshake timeout](ConnectionConfig::handshake_timeout).
    pub async fn open(addr: SocketAddr, config: &ConnectionConfig) -> Result<Connection, ConnectionError> {
        let stage = handshake::StageCell::new();
        handshake::within_deadline(addr, config, &stage, Self::open_unbounded(addr, config, &stage)).await
    }

    /// [`Connection::open`] without its deadline, reporting each step to `stage`.
    async fn open_unbounded(
        addr: SocketAddr,
        config: &ConnectionConfig,
        stage: &handshake::StageCell,
    ) -> Result<Connection, ConnectionError> {
        let ready = handshake::open(addr, config, stage).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared::default());
        let request_ids = self::core::request_ids(config.max_streams);
        let span = tracing::debug_span!("cql_connection", %addr, version = %ready.version);
        let limits = self::core::Limits {
            request_ids,
            heartbeat: config.heartbeat_interval,
            heartbeat_timeout: config.heartbeat_timeout,
            write_timeout: config.write_timeout.unwrap_or(config.request_timeout),
            max_orphans: config.max_orphaned_streams,
            max_compression_ratio: config.max_compression_ratio,
        };
        let core = Core::new(ready.codec, ready.version, limits, tokio::time::Instant::now().into_std());
        let task = Task {
            socket: ready.socket,
            core,
            read_buf: ready.read_buf,
            rx,
            events: events.clone(),
            shared: shared.clone(),
        };
        tokio::spawn(task.run().instrument(span));
        let conn = Connection {
            inner: Arc::new(Inner {
                tx,
                permits: Arc::new(Semaphore::new(request_ids)),
                shared,
                events,
                addr,
                version: ready.version,
                compression: ready.compression,
                supported: ready.supported,
                request_timeout: config.request_timeout,
                max_envelope_len: config.max_envelope_len,
                max_compression_ratio: config.max_compression_ratio,
            }),
        };
        if let Some(ks) = &config.keyspace {
            stage.set(HandshakeStage::UseKeyspace);
            conn.use_keyspace(ks).await?;
        }
        if !config.events.is_empty() {
            stage.set(HandshakeStage::Register);
            let reply = conn
                .request(Request::Register(Register { events: config.events.clone() }))
                .await
                .map_err(into_conn_error)?;
            if !matches!(reply.response, Response::Ready) {
                return Err(ConnectionError::Unexpected(format!("{:?} in reply to REGISTER", reply.response.opcode())));
            }
        }
        Ok(conn)
    }

    /// Switches the connection's keyspace (`USE`).
    pub async fn use_keyspace(&self, keyspace: &str) -> Result<(), ConnectionError> {
        let quoted = format!("USE \"{}\"", keyspace.replace('"', "\"\""));
        let reply = self
            .request(Request::Query(Query::new(quoted, QueryParameters::new(Consistency::One))))
            .await
            .map_err(into_conn_error)?;
        match reply.response {
            Response::Result(ResultBody::SetKeyspace(_)) => Ok(()),
            Response::Error(e) => Err(ConnectionError::Refused(e)),
            other => Err(ConnectionError::Unexpected(format!("{:?} in reply to USE", other.opcode()))),
        }
    }

    /// Sends a request and waits for its reply, within the default request timeout.
    /// Server errors come back as `Ok` with a [`Response::Error`] body.
    pub async fn request(&self, request: Request) -> Result<ResponseMessage, RequestError> {
        self.request_message(RequestMessage::new(0, request), None).await
    }

    /// Sends a request with header options (tracing, custom payload) and an optional
    /// timeout of its own. The stream id in `msg` is ignored.
    pub async fn request_message(
        &self,
        msg: RequestMessage,
        timeout: Option<Duration>,
    ) -> Result<ResponseMessage, RequestError> {
        let envelope = msg.to_envelope(self.inner.version)?;
        let reply = self.send_envelope(envelope, timeout).await?;
        Ok(ResponseMessage::from_envelope(&reply)?)
    }

    /// Sends an encoded envelope (its stream id is replaced) and returns the reply
    /// envelope undecoded, its body expanded if it came compressed (here, in the
    /// caller's task: the connection task hands bodies over as they came, so a large
    /// compressed reply delays no other reply on the connection).
    pub async fn send_envelope(&self, envelope: Envelope, timeout: Option<Duration>) -> Result<Envelope, RequestError> {
        let timeout = timeout.unwrap_or(self.inner.request_timeout);
        let deadline = tokio::time::Instant::now() + timeout;
        // Waiting for a free stream id counts against the timeout; the usual case, a
        // permit at hand, needs no timer.
        let permit = match self.inner.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(TryAcquireError::Closed) => return Err(self.closed_error().into()),
            Err(TryAcquireError::NoPermits) => {
                match tokio::time::timeout_at(deadline, self.inner.permits.clone().acquire_owned()).await {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(self.closed_error().into()),
                    Err(_) => return Err(RequestError::Timeout(timeout)),
                }
            }
        };
        // The connection task answers with the reply, or a timeout at the deadline.
        let (reply, rx) = oneshot::channel();
        let command = Command { envelope, reply, permit, deadline: deadline.into_std(), timeout };
        if self.inner.tx.send(command).is_err() {
            return Err(self.closed_error().into());
        }
        match rx.await {
            Ok(Ok(reply)) => {
                Ok(decompress_envelope(reply, self.inner.max_envelope_len, self.inner.max_compression_ratio)?)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(self.closed_error().into()),
        }
    }

    fn closed_error(&self) -> ConnectionError {
        self.inner.shared.closed.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or(ConnectionError::Closed)
    }

    /// Events pushed by the server (after REGISTER).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The negotiated protocol version.
    pub fn version(&self) -> Version {
        self.inner.version
    }

    /// The negotiated compression.
    pub fn compression(&self) -> Compression {
        self.inner.compression
    }

    /// The server's SUPPORTED options.
    pub fn supported(&self) -> &Supported {
        &self.inner.supported
    }

    /// Requests sent and not yet answered (orphaned ones included).
    pub fn in_flight(&self) -> usize {
        self.inner.shared.in_flight.load(Ordering::Relaxed)
    }

    /// Whether `other` is a handle to this very connection.
    pub fn same(&self, other: &Connection) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Why the connection closed, if it has.
    pub fn closed(&self) -> Option<ConnectionError> {
        self.inner.shared.closed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn into_conn_error(e: RequestError) -> ConnectionError {
    match e {
        RequestError::Connection(c) => c,
        other => ConnectionError::Unexpected(other.to_string()),
    }
}
