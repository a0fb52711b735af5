//! Errors of the connection layer: opening a connection, and one request on it.
//!
//! Both are `Clone` (I/O errors are shared behind an `Arc`) because when a connection
//! dies, every request in flight on it fails with the same error.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::response::ErrorBody;
use crate::protocol::{CodecError, DecodeError, EncodeError};

/// A connection could not be opened, or it died.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The TCP connection failed or broke.
    #[error("connection I/O error: {0}")]
    Io(Arc<io::Error>),
    /// TCP connect did not finish within the connect timeout.
    #[error("connecting to {addr} timed out after {after:?}")]
    ConnectTimeout {
        /// The address tried.
        addr: std::net::SocketAddr,
        /// The timeout.
        after: std::time::Duration,
    },
    /// The peer sent bytes that are not valid CQL.
    #[error("protocol error from the server's bytes: {0}")]
    Decode(DecodeError),
    /// The server answered the handshake with an error (incl. protocol errors).
    #[error("server refused the connection: {0}")]
    Refused(ErrorBody),
    /// The server speaks none of the protocol versions we offered.
    #[error("no common protocol version: the server refused {tried:?}")]
    NoCommonVersion {
        /// Versions tried, highest first.
        tried: Vec<u8>,
    },
    /// The server asked for authentication and no credentials were configured, or it
    /// asked for an authenticator we do not speak.
    #[error("authentication required by {authenticator}: {reason}")]
    AuthenticationRequired {
        /// The authenticator class the server named.
        authenticator: String,
        /// What is missing.
        reason: String,
    },
    /// The server rejected the credentials.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(ErrorBody),
    /// The server sent a message that makes no sense at this point.
    #[error("unexpected {0} during the handshake")]
    Unexpected(String),
    /// No heartbeat reply within the request timeout: the connection was closed.
    /// No longer produced: an unanswered heartbeat is now
    /// [`ConnectionError::Defunct`] with [`DefunctReason::HeartbeatUnanswered`].
    #[error("heartbeat not answered within {0:?}; connection closed")]
    HeartbeatTimeout(std::time::Duration),
    /// The connection was declared defunct and closed: it was open, but no longer did
    /// its job (see [`DefunctReason`]). Every request in flight or waiting on it failed
    /// with this error; a pool should replace the connection.
    #[error("connection declared defunct and closed: {reason}")]
    Defunct {
        /// Why.
        reason: DefunctReason,
    },
    /// The connection was closed (by us or the peer).
    #[error("connection closed")]
    Closed,
}

impl From<io::Error> for ConnectionError {
    fn from(e: io::Error) -> Self {
        ConnectionError::Io(Arc::new(e))
    }
}

impl From<CodecError> for ConnectionError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Io(e) => ConnectionError::Io(Arc::new(e)),
            CodecError::Decode(e) => ConnectionError::Decode(e),
            other => ConnectionError::Io(Arc::new(io::Error::other(other.to_string()))),
        }
    }
}

/// Why a connection was declared defunct ([`ConnectionError::Defunct`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DefunctReason {
    /// A heartbeat (OPTIONS, sent after the heartbeat interval without receiving a byte)
    /// got no reply within the heartbeat timeout: the server, or the path to it, is
    /// wedged, for instance in the middle of a frame it will never finish.
    #[error("heartbeat not answered within {after:?}")]
    HeartbeatUnanswered {
        /// The heartbeat timeout.
        after: Duration,
    },
    /// More requests were orphaned (timed out or dropped, their replies never came, so
    /// their stream ids stay taken) than the connection allows.
    #[error("{count} stream ids orphaned by requests that were never answered, over the limit of {max}")]
    TooManyOrphans {
        /// Orphaned ids at that moment.
        count: usize,
        /// The limit ([`ConnectionConfig::max_orphaned_streams`](super::ConnectionConfig::max_orphaned_streams), capped below the stream ids in use).
        max: usize,
    },
    /// Bytes waited to be written, and the socket took none for this long: the server
    /// stopped reading.
    #[error("the socket accepted no bytes for {after:?}: the server stopped reading")]
    WriteStalled {
        /// The write timeout.
        after: Duration,
    },
}

/// One request failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// No reply within the request timeout. The stream id stays reserved until the
    /// late reply arrives.
    #[error("no reply within {0:?}")]
    Timeout(std::time::Duration),
    /// The connection died before the reply came.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The request could not be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(#[from] EncodeError),
    /// The reply could not be decoded.
    #[error("cannot decode the reply: {0}")]
    Decode(#[from] DecodeError),
}
