//! Connection settings, builder style, with the defaults a driver user expects.

use std::time::Duration;

use crate::protocol::response::EventType;
use crate::protocol::{Compression, DEFAULT_MAX_ENVELOPE_LEN, Version};

use super::stream_ids::MAX_STREAMS;

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
        }
    }
}

impl ConnectionConfig {
    /// The defaults: 5 s connect timeout, 5 s handshake timeout, 12 s request timeout,
    /// heartbeat after 30 s idle, protocol negotiated (v5, then v4, then v3), no
    /// compression, no auth.
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

    /// Send OPTIONS after this long without traffic; `None` disables heartbeats.
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

    /// Stream ids to use, 1..=32768 (default all).
    pub fn max_streams(mut self, n: usize) -> Self {
        self.max_streams = n.clamp(1, MAX_STREAMS);
        self
    }
}
