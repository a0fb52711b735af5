//! The driver's one error type, [`Error`]: what a session call or a stream can fail
//! with, with the server's error code, message and extra fields kept.
//!
//! Owns the error values and their wording. One type for the crate, so that `?` works
//! from a statement to a stream and back; the variants say which layer makes them
//! (the stream's: [`Error::DeadlineExceeded`], [`Error::RetriesExhausted`],
//! [`Error::Resume`], and [`Error::Config`] for a late setter). It is
//! `cqlstream::Error`, the crate's, not the session's: there is no `session::Error`, so
//! no layer's error holds another layer's variants by accident. It uses connection, protocol and types
//! for the errors it wraps, and neither session nor stream.

use std::net::SocketAddr;
use std::time::Duration;

use crate::connection::{ConnectionError, RequestError};
use crate::protocol::response::{ErrorBody, ErrorKind};
use crate::protocol::{DecodeError, EncodeError};
use crate::types::{DeserializeError, SerializeError};

/// Everything a session call or a stream can fail with.
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
    /// No contact point could be used: each one's failure (a name that does not
    /// resolve, a node that cannot be reached), in the order they were tried.
    #[error("no node could be reached: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NoNodeAvailable(Vec<ContactPointFailure>),
    /// The node refused the credentials, or asked for a login that is not configured.
    /// Credentials are the same for every node of a cluster, so this is not retried
    /// on other contact points. [`Error::server_error`] gives the server's
    /// `Authentication_error` (code 0x0100) when it sent one.
    #[error("{}", authentication_message(.node, .error))]
    Authentication {
        /// The node that refused.
        node: SocketAddr,
        /// What the handshake failed with: [`ConnectionError::AuthenticationFailed`]
        /// (the server's error) or [`ConnectionError::AuthenticationRequired`]
        /// (boxed: it is large and rare).
        error: Box<ConnectionError>,
    },
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
    /// The session was configured wrongly, or a stream was configured after its first
    /// poll.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A stream's whole-stream deadline passed (made by the stream, and by the request
    /// path for a page).
    #[error("the stream's deadline of {0:?} passed")]
    DeadlineExceeded(Duration),
    /// A request failed every attempt its retry policy allowed (today only pages are
    /// retried); the last error is kept.
    #[error("failed after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        last: Box<Error>,
    },
    /// A resume point that cannot be used for this stream (made by the stream).
    #[error("cannot resume: {0}")]
    Resume(String),
}

/// Why [`Error::Authentication`] happened, in words that say what to fix.
fn authentication_message(node: &SocketAddr, error: &ConnectionError) -> String {
    match error {
        ConnectionError::AuthenticationFailed(e) => format!(
            "authentication failed: {node} refused the credentials ({}: {}); check the user and password given to \
             SessionBuilder::credentials",
            e.kind.name(),
            e.message
        ),
        ConnectionError::AuthenticationRequired { authenticator, reason } => format!(
            "authentication failed: {node} requires authentication ({authenticator}) and {reason}; give a user and \
             password with SessionBuilder::credentials"
        ),
        other => format!("authentication with {node} failed: {other}"),
    }
}

/// One contact point that [`SessionBuilder::build`](crate::session::SessionBuilder::build)
/// could not use, and why.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ContactPointFailure {
    /// The contact point as given (`host:port`).
    pub contact_point: String,
    /// The address tried, when the name resolved.
    pub addr: Option<SocketAddr>,
    /// What went wrong.
    pub error: ContactPointError,
}

impl ContactPointFailure {
    pub(crate) fn resolve(contact_point: &str, reason: String) -> ContactPointFailure {
        ContactPointFailure {
            contact_point: contact_point.to_owned(),
            addr: None,
            error: ContactPointError::Resolve(reason),
        }
    }

    pub(crate) fn connect(contact_point: &str, addr: SocketAddr, e: ConnectionError) -> ContactPointFailure {
        ContactPointFailure {
            contact_point: contact_point.to_owned(),
            addr: Some(addr),
            error: ContactPointError::Connect(e),
        }
    }
}

impl std::fmt::Display for ContactPointFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.addr {
            Some(a) if a.to_string() != self.contact_point => write!(f, "{} ({a}): {}", self.contact_point, self.error),
            _ => write!(f, "{}: {}", self.contact_point, self.error),
        }
    }
}

/// Why a contact point could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ContactPointError {
    /// The name did not resolve (or is not `host:port`), or not within the connect
    /// timeout; the resolver's message.
    #[error("cannot resolve: {0}")]
    Resolve(String),
    /// The node could not be connected to.
    #[error(transparent)]
    Connect(ConnectionError),
}

impl Error {
    /// A connection to `node` could not be opened: credential problems become
    /// [`Error::Authentication`], the rest [`Error::Connection`].
    pub(crate) fn connecting(node: SocketAddr, error: ConnectionError) -> Error {
        match error {
            ConnectionError::AuthenticationFailed(_) | ConnectionError::AuthenticationRequired { .. } => {
                Error::Authentication { node, error: Box::new(error) }
            }
            other => Error::Connection(other),
        }
    }

    /// The server's error, if this is one (or the last attempt's error was one); for
    /// [`Error::Authentication`], the server's refusal of the credentials.
    pub fn server_error(&self) -> Option<&ErrorBody> {
        match self {
            Error::Server(e) => Some(e),
            Error::Authentication { error, .. } => match &**error {
                ConnectionError::AuthenticationFailed(e) => Some(e),
                _ => None,
            },
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
