//! AUTH_CHALLENGE (v4/v5 §4.2.7) and AUTH_SUCCESS (v4/v5 §4.2.8): one `[bytes]` token each.
//!
//! Owns the two token bodies only; what a token means is the authenticator's business
//! (the driver's auth layer), not this module's.

use bytes::{Bytes, BytesMut};

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::{self, Reader};

/// AUTH_CHALLENGE: a SASL challenge the client answers with AUTH_RESPONSE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthChallenge {
    /// The challenge; `None` when the server sent a null `[bytes]`.
    pub token: Option<Bytes>,
}

/// AUTH_SUCCESS: authentication is over; the token carries any final data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthSuccess {
    /// Final data from the authenticator; `None` when null.
    pub token: Option<Bytes>,
}

impl AuthChallenge {
    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_bytes(buf, self.token.as_deref(), "AUTH_CHALLENGE token")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<AuthChallenge, DecodeError> {
        Ok(AuthChallenge { token: r.read_bytes("AUTH_CHALLENGE token")? })
    }
}

impl AuthSuccess {
    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_bytes(buf, self.token.as_deref(), "AUTH_SUCCESS token")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<AuthSuccess, DecodeError> {
        Ok(AuthSuccess { token: r.read_bytes("AUTH_SUCCESS token")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::{Opcode, Version};
    use crate::protocol::response::Response;
    use crate::protocol::response::testing::*;

    #[test]
    fn tokens_null_empty_and_present() {
        let v = Version::V4;
        check_vector(v, &[0xff, 0xff, 0xff, 0xff], &Response::AuthSuccess(AuthSuccess { token: None }));
        check_vector(v, &[0, 0, 0, 0], &Response::AuthSuccess(AuthSuccess { token: Some(Bytes::new()) }));
        check_vector(
            v,
            &[0, 0, 0, 2, 0xab, 0xcd],
            &Response::AuthChallenge(AuthChallenge { token: Some(Bytes::from_static(&[0xab, 0xcd])) }),
        );
        // Any negative length is null, as `[bytes]` defines.
        assert_eq!(
            decode(Opcode::AuthChallenge, v, &[0x80, 0, 0, 0]),
            Ok(Response::AuthChallenge(AuthChallenge { token: None }))
        );
        assert!(decode(Opcode::AuthChallenge, v, &[0x7f, 0xff, 0xff, 0xff, 1]).is_err());
    }
}
