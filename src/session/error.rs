//! The driver's error type: what a statement can fail with, with the server's error
//! code, message and extra fields kept.

use std::net::SocketAddr;
use std::time::Duration;

use crate::connection::{ConnectionError, RequestError};
use crate::protocol::response::{ErrorBody, ErrorKind};
use crate::protocol::{DecodeError, EncodeError};
use crate::types::{DeserializeError, SerializeError};

/// Everything a session call can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an ERROR: its code, message and extra fields.
    #[error("server error {code:#06x} ({name}): {message}", code = .0.code(), name = .0.kind.name(), message = .0.message)]
    Server(Box<ErrorBody>),
    /// No reply within the request timeout.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed or died.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// No contact point could be reached.
    #[error("no node could be reached: {}", .0.iter().map(|(a, e)| format!("{a}: {e}")).collect::<Vec<_>>().join("; "))]
    NoNodeAvailable(Vec<(SocketAddr, ConnectionError)>),
    /// A bound value does not fit its bind marker.
    #[error(transparent)]
    Serialize(#[from] SerializeError),
    /// A result could not be read as the requested Rust type.
    #[error(transparent)]
    Deserialize(#[from] DeserializeError),
    /// The request could not be encoded.
    #[error("cannot encode the request: {0}")]
    Encode(#[from] EncodeError),
    /// The reply could not be decoded.
    #[error("cannot decode the reply: {0}")]
    Decode(#[from] DecodeError),
    /// The server replied with something that makes no sense for the request.
    #[error("unexpected reply: {0}")]
    Unexpected(String),
    /// The session was configured wrongly.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A stream's whole-stream deadline passed.
    #[error("the stream's deadline of {0:?} passed")]
    DeadlineExceeded(Duration),
    /// A page fetch failed every attempt the retry policy allowed; the last error is kept.
    #[error("failed after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<Error>,
    },
    /// A resume point that cannot be used for this stream.
    #[error("cannot resume: {0}")]
    Resume(String),
}

impl Error {
    /// The server's error, if this is one (or the last attempt's error was one).
    pub fn server_error(&self) -> Option<&ErrorBody> {
        match self {
            Error::Server(e) => Some(e),
            Error::RetriesExhausted { last, .. } => last.server_error(),
            _ => None,
        }
    }

    pub(crate) fn retries_exhausted(attempts: u32, last: Error) -> Error {
        Error::RetriesExhausted { attempts, last: Box::new(last) }
    }

    /// The server's error kind, if this is a server error.
    pub fn server_kind(&self) -> Option<&ErrorKind> {
        self.server_error().map(|e| &e.kind)
    }
}

impl From<ErrorBody> for Error {
    fn from(e: ErrorBody) -> Self {
        Error::Server(Box::new(e))
    }
}

impl From<RequestError> for Error {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Timeout(d) => Error::Timeout(d),
            RequestError::Connection(c) => Error::Connection(c),
            RequestError::Encode(e) => Error::Encode(e),
            RequestError::Decode(e) => Error::Decode(e),
        }
    }
}
