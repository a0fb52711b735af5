//! Connection settings, builder style, with the defaults a driver user expects.

use std::time::Duration;

use crate::protocol::response::EventType;
use crate::protocol::{Compression, DEFAULT_MAX_ENVELOPE_LEN, Version};

use super::core::MAX_STREAMS;

/// The default [`ConnectionConfig::heartbeat_timeout`]: 5 s, as the DataStax Java driver 4
/// (`advanced.heartbeat.timeout`, which defaults to its 5 s init-query timeout).
pub const DEFAULT_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default [`ConnectionConfig::max_orphaned_streams`]: 256, as the DataStax Java driver
/// 4 (`advanced.connection.max-orphan-requests`).
pub const DEFAULT_MAX_ORPHANED_STREAMS: usize = 256;

use crate::protocol::compression::DEFAULT_MAX_COMPRESSION_RATIO;

/// How to open and run one connection.
///
/// ```
/// use std::time::Duration;
/// use cqlstream::connection::ConnectionConfig;
/// use cqlstream::protocol::Compression;
///
/// let config = ConnectionConfig::new()
///     .compression(Compression::Lz4)
///     .credentials("cassandra", "cassandra")
///     .request_timeout(Duration::from_secs(5));
/// assert_eq!(config.get_request_timeout(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) heartbeat_interval: Option<Duration>,
    pub(crate) protocol: Option<Version>,
    pub(crate) compression: Compression,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) keyspace: Option<String>,
    pub(crate) events: Vec<EventType>,
    pub(crate) max_envelope_len: usize,
    pub(crate) max_streams: usize,
    pub(crate) heartbeat_timeout: Duration,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) max_orphaned_streams: usize,
    pub(crate) max_compression_ratio: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(12),
            heartbeat_interval: Some(Duration::from_secs(30)),
            protocol: None,
            compression: Compression::None,
            credentials: None,
            keyspace: None,
            events: Vec::new(),
            max_envelope_len: DEFAULT_MAX_ENVELOPE_LEN,
            max_streams: MAX_STREAMS,
            heartbeat_timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            write_timeout: None,
            max_orphaned_streams: DEFAULT_MAX_ORPHANED_STREAMS,
            max_compression_ratio: DEFAULT_MAX_COMPRESSION_RATIO,
        }
    }
}

impl ConnectionConfig {
    /// The defaults: 5 s connect timeout, 5 s handshake timeout, 12 s request timeout,
    /// heartbeat after 30 s without receiving a byte and answered within 5 s, writes
    /// stalled for the request timeout or 256 orphaned stream ids make the connection
    /// defunct, protocol negotiated (v5, then v4, then v3), no compression (LZ4 bodies
    /// over 4 MiB may expand at most 64 times), no auth.
    pub fn new() -> Self {
        Self::default()
    }

    /// TCP connect timeout.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// One deadline for the whole of opening a connection (default 5 s): TCP connect,
    /// OPTIONS (for each protocol version tried), STARTUP, the login, and the `USE` and
    /// REGISTER this config asks for. A node that accepts TCP and then never answers
    /// fails with [`ConnectionError::HandshakeTimeout`](super::ConnectionError::HandshakeTimeout)
    /// naming the step it was waiting for, and a session moves on to its next contact
    /// point. The [connect timeout](Self::connect_timeout) still bounds the TCP connect
    /// alone. `Duration::MAX` means no deadline.
    pub fn handshake_timeout(mut self, t: Duration) -> Self {
        self.handshake_timeout = t;
        self
    }

    /// The handshake timeout in force.
    pub fn get_handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Default per-request timeout (a request may override it).
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// The per-request timeout in force.
    pub fn get_request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Send a heartbeat (OPTIONS) after this long without receiving a byte, whether
    /// requests are outstanding or not (default 30 s); `None` disables heartbeats. A
    /// heartbeat unanswered within [`heartbeat_timeout`](Self::heartbeat_timeout) makes
    /// the connection defunct ([`DefunctReason::HeartbeatUnanswered`](super::DefunctReason::HeartbeatUnanswered)).
    /// Heartbeats use a stream id of their own (32767), so orphaned requests cannot
    /// starve them of one.
    pub fn heartbeat_interval(mut self, t: Option<Duration>) -> Self {
        self.heartbeat_interval = t;
        self
    }

    /// Pin the protocol version instead of negotiating.
    pub fn protocol(mut self, v: Version) -> Self {
        self.protocol = Some(v);
        self
    }

    /// Use LZ4 when the server offers it.
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }

    /// Log in with PasswordAuthenticator (SASL PLAIN) when the server asks.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some((user.into(), password.into()));
        self
    }

    /// `USE` this keyspace once connected.
    pub fn keyspace(mut self, ks: impl Into<String>) -> Self {
        self.keyspace = Some(ks.into());
        self
    }

    /// REGISTER for these events once connected.
    pub fn events(mut self, events: Vec<EventType>) -> Self {
        self.events = events;
        self
    }

    /// Largest envelope body accepted from the server (default 256 MiB).
    pub fn max_envelope_len(mut self, n: usize) -> Self {
        self.max_envelope_len = n;
        self
    }

    /// Stream ids to use, 1..=32768 (default all). Id 32767 is kept for heartbeats, so at
    /// most 32,767 requests are in flight at once.
    pub fn max_streams(mut self, n: usize) -> Self {
        self.max_streams = n.clamp(1, MAX_STREAMS);
        self
    }

    /// How long a heartbeat may wait for its reply before the connection is declared
    /// defunct (default [`DEFAULT_HEARTBEAT_TIMEOUT`], 5 s).
    pub fn heartbeat_timeout(mut self, t: Duration) -> Self {
        self.heartbeat_timeout = t;
        self
    }

    /// How long bytes may wait to be written while the socket accepts none before the
    /// connection is declared defunct ([`DefunctReason::WriteStalled`](super::DefunctReason::WriteStalled)): the server
    /// stopped reading. Default: the request timeout.
    pub fn write_timeout(mut self, t: Duration) -> Self {
        self.write_timeout = Some(t);
        self
    }

    /// How many stream ids may be orphaned at once (by requests that timed out or were
    /// dropped and whose replies never came) before the connection is declared defunct
    /// ([`DefunctReason::TooManyOrphans`](super::DefunctReason::TooManyOrphans)). Default
    /// [`DEFAULT_MAX_ORPHANED_STREAMS`] (256). Capped at one below the request ids in use,
    /// so a healthy request always finds an id until the connection is replaced.
    pub fn max_orphaned_streams(mut self, n: usize) -> Self {
        self.max_orphaned_streams = n;
        self
    }

    /// The largest ratio of uncompressed to compressed size accepted for an LZ4 envelope
    /// body (protocol v3/v4) that declares more than [`RATIO_FREE_LEN`](crate::protocol::compression::RATIO_FREE_LEN) (4 MiB)
    /// uncompressed; default [`DEFAULT_MAX_COMPRESSION_RATIO`] (64). LZ4 can expand up to
    /// 255 times, so a tiny hostile frame could otherwise make the driver allocate up to
    /// the envelope limit (256 MiB); real pages compress far less (the test suite's
    /// and benches' data, and CQL pages of ordinary rows, stay well under 10). A body
    /// over the ratio fails its request with [`DecodeError::CompressionRatio`](crate::protocol::DecodeError::CompressionRatio).
    /// The absolute limit is [`max_envelope_len`](Self::max_envelope_len). Values
    /// below 1 are taken as 1.
    pub fn max_compression_ratio(mut self, ratio: usize) -> Self {
        self.max_compression_ratio = ratio.max(1);
        self
    }
}
