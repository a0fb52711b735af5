//! Errors of the connection layer: opening a connection (and the handshake step it
//! stopped at, [`HandshakeStage`]), and one request on it.
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
    /// Opening the connection (TCP connect, OPTIONS, STARTUP, login, and the `USE` and
    /// REGISTER the config asks for) did not finish within the handshake timeout
    /// ([`ConnectionConfig::handshake_timeout`](super::ConnectionConfig::handshake_timeout)):
    /// typically a node that accepts TCP and never answers.
    #[error("opening a connection to {addr} timed out after {after:?}, waiting for {stage}")]
    HandshakeTimeout {
        /// The address tried.
        addr: std::net::SocketAddr,
        /// The handshake timeout.
        after: std::time::Duration,
        /// The step that was waiting when the time ran out.
        stage: HandshakeStage,
    },
    /// The first bytes the server sent do not start a CQL response (an HTTP, SSH or
    /// TLS server, say): most likely the wrong port, or a TLS port spoken to in
    /// plaintext. Decided from the first byte, before any length is read.
    #[error(
        "{addr} answered with bytes that are not a CQL response ({}): is this a CQL native-protocol port?",
        show_bytes(.first_bytes)
    )]
    NotCql {
        /// The address tried.
        addr: std::net::SocketAddr,
        /// The first bytes received, at most 16.
        first_bytes: Vec<u8>,
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

/// A step of opening a connection, as named in [`ConnectionError::HandshakeTimeout`].
/// Displays as the message it waits for the reply to (`OPTIONS`, `STARTUP`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeStage {
    /// The TCP connect.
    Connect,
    /// OPTIONS, waiting for SUPPORTED (this also probes the protocol version).
    Options,
    /// STARTUP, waiting for READY or AUTHENTICATE.
    Startup,
    /// AUTH_RESPONSE, waiting for AUTH_SUCCESS or AUTH_CHALLENGE.
    AuthResponse,
    /// The `USE` of the configured keyspace.
    UseKeyspace,
    /// REGISTER for the configured events.
    Register,
}

impl std::fmt::Display for HandshakeStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HandshakeStage::Connect => "TCP connect",
            HandshakeStage::Options => "OPTIONS",
            HandshakeStage::Startup => "STARTUP",
            HandshakeStage::AuthResponse => "AUTH_RESPONSE",
            HandshakeStage::UseKeyspace => "USE",
            HandshakeStage::Register => "REGISTER",
        })
    }
}

/// `48 54 54 50 "HTTP"`: bytes in hex, then as ASCII with `.` for what is not printable.
fn show_bytes(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let ascii: String = bytes.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
    format!("{} {ascii:?}", hex.join(" "))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_cql_shows_hex_and_printable_ascii() {
        let err = ConnectionError::NotCql {
            addr: "127.0.0.1:9042".parse().unwrap(),
            first_bytes: b"HTTP/1.1\r\n\x15".to_vec(),
        };
        assert_eq!(
            err.to_string(),
            "127.0.0.1:9042 answered with bytes that are not a CQL response \
             (48 54 54 50 2f 31 2e 31 0d 0a 15 \"HTTP/1.1...\"): is this a CQL native-protocol port?"
        );
    }
}
