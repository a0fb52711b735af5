//! AUTH_RESPONSE (v4 §4.1.2, v5 §4.1.2): one SASL token as `[bytes]`.

use bytes::{Bytes, BytesMut};

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::{self, Reader};

/// AUTH_RESPONSE: the client's SASL token (may be null).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthResponse {
    /// The token; its content depends on the authenticator.
    pub token: Option<Bytes>,
}

impl AuthResponse {
    /// The SASL PLAIN token `\0user\0password` used by PasswordAuthenticator.
    pub fn plain(user: &str, password: &str) -> AuthResponse {
        let mut t = Vec::with_capacity(2 + user.len() + password.len());
        t.push(0);
        t.extend_from_slice(user.as_bytes());
        t.push(0);
        t.extend_from_slice(password.as_bytes());
        AuthResponse { token: Some(Bytes::from(t)) }
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_bytes(buf, self.token.as_deref(), "AUTH_RESPONSE token")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<AuthResponse, DecodeError> {
        Ok(AuthResponse { token: r.read_bytes("AUTH_RESPONSE token")? })
    }
}
