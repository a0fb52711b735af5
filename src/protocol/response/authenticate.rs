//! AUTHENTICATE (v4/v5 §4.2.3): the class name of the server's authenticator.
//!
//! Owns that one `[string]` body; choosing a SASL mechanism from it is the driver's job.

use bytes::BytesMut;

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::{self, Reader};

/// AUTHENTICATE: the server wants the client to authenticate before READY.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authenticate {
    /// Fully qualified class name of the authenticator, e.g.
    /// `org.apache.cassandra.auth.PasswordAuthenticator`.
    pub authenticator: String,
}

impl Authenticate {
    /// An AUTHENTICATE naming `authenticator`.
    pub fn new(authenticator: impl Into<String>) -> Authenticate {
        Authenticate { authenticator: authenticator.into() }
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_string(buf, &self.authenticator, "authenticator class")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Authenticate, DecodeError> {
        Ok(Authenticate { authenticator: r.read_string("authenticator class")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::Version;
    use crate::protocol::response::Response;
    use crate::protocol::response::testing::*;

    #[test]
    fn vector() {
        let body = [0, 3, b'P', b'w', b'd'];
        for v in Version::ALL {
            check_vector(v, &body, &Response::Authenticate(Authenticate::new("Pwd")));
        }
    }
}
