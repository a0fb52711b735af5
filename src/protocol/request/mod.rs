//! Request bodies (v4 §4.1, v5 §4.1), one file per opcode, and the [`Request`] enum
//! that dispatches on the opcode.
//!
//! Owns the body layouts only: the tracing/custom-payload prefix and the envelope
//! header belong to [`super::message`] and [`super::header`]. Version differences live
//! here (v5 `[int]` query flags, keyspace and now_in_seconds, PREPARE flags, EXECUTE's
//! result_metadata_id); a field the target version lacks is an
//! [`EncodeError::NotInVersion`], never silently dropped.

mod auth_response;
mod batch;
mod execute;
mod options;
mod prepare;
mod query;
mod query_parameters;
mod register;
mod startup;

pub use auth_response::AuthResponse;
pub use batch::{Batch, BatchStatement, BatchStatementKind, BatchType};
pub use execute::Execute;
pub use options::Options;
pub use prepare::Prepare;
pub use query::Query;
pub use query_parameters::QueryParameters;
pub use register::Register;
pub use startup::Startup;

use bytes::BytesMut;

use super::error::{DecodeError, EncodeError};
use super::header::{Direction, Opcode, Version};
use super::wire::Reader;

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// STARTUP (§4.1.1).
    Startup(Startup),
    /// AUTH_RESPONSE (§4.1.2).
    AuthResponse(AuthResponse),
    /// OPTIONS (§4.1.3).
    Options(Options),
    /// QUERY (§4.1.4).
    Query(Query),
    /// PREPARE (§4.1.5).
    Prepare(Prepare),
    /// EXECUTE (§4.1.6).
    Execute(Execute),
    /// BATCH (§4.1.7).
    Batch(Batch),
    /// REGISTER (§4.1.8).
    Register(Register),
}

impl Request {
    /// The opcode of this request.
    pub fn opcode(&self) -> Opcode {
        match self {
            Request::Startup(_) => Opcode::Startup,
            Request::AuthResponse(_) => Opcode::AuthResponse,
            Request::Options(_) => Opcode::Options,
            Request::Query(_) => Opcode::Query,
            Request::Prepare(_) => Opcode::Prepare,
            Request::Execute(_) => Opcode::Execute,
            Request::Batch(_) => Opcode::Batch,
            Request::Register(_) => Opcode::Register,
        }
    }

    /// Appends the body for `version`.
    pub fn encode_body(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Request::Startup(m) => m.encode(buf),
            Request::AuthResponse(m) => m.encode(buf),
            Request::Options(_) => Ok(()),
            Request::Query(m) => m.encode(version, buf),
            Request::Prepare(m) => m.encode(version, buf),
            Request::Execute(m) => m.encode(version, buf),
            Request::Batch(m) => m.encode(version, buf),
            Request::Register(m) => m.encode(buf),
        }
    }

    /// About how many bytes the body encodes to (a little over, for the usual cases), so
    /// that it is written into one allocation.
    pub(crate) fn size_hint(&self) -> usize {
        const FIXED: usize = 48;
        FIXED
            + match self {
                Request::Query(q) => q.query.len() + q.params.size_hint(),
                Request::Prepare(p) => p.query.len() + p.keyspace.as_ref().map_or(0, String::len),
                Request::Execute(e) => {
                    e.id.len() + e.result_metadata_id.as_ref().map_or(0, |id| id.len()) + e.params.size_hint()
                }
                Request::Batch(b) => b
                    .statements
                    .iter()
                    .map(|s| {
                        let kind = match &s.kind {
                            BatchStatementKind::Query(q) => q.len(),
                            BatchStatementKind::Prepared(id) => id.len(),
                        };
                        8 + kind + s.values.raw().len()
                    })
                    .sum(),
                Request::Startup(_) | Request::AuthResponse(_) | Request::Options(_) | Request::Register(_) => 0,
            }
    }

    /// Reads the body of a request with this opcode.
    pub fn decode_body(opcode: Opcode, version: Version, r: &mut Reader<'_>) -> Result<Request, DecodeError> {
        Ok(match opcode {
            Opcode::Startup => Request::Startup(Startup::decode(r)?),
            Opcode::AuthResponse => Request::AuthResponse(AuthResponse::decode(r)?),
            Opcode::Options => Request::Options(Options),
            Opcode::Query => Request::Query(Query::decode(version, r)?),
            Opcode::Prepare => Request::Prepare(Prepare::decode(version, r)?),
            Opcode::Execute => Request::Execute(Execute::decode(version, r)?),
            Opcode::Batch => Request::Batch(Batch::decode(version, r)?),
            Opcode::Register => Request::Register(Register::decode(r)?),
            other => return Err(DecodeError::UnexpectedOpcode { opcode: other, direction: Direction::Request }),
        })
    }
}

#[cfg(test)]
pub(crate) mod strategies;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(req: &Request, v: Version) -> Request {
        let mut buf = BytesMut::new();
        req.encode_body(v, &mut buf).unwrap();
        let src = buf.freeze();
        let mut r = Reader::new(&src);
        let back = Request::decode_body(req.opcode(), v, &mut r).unwrap();
        assert!(r.is_empty(), "{} bytes left", r.remaining());
        back
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn every_request_roundtrips((v, req) in crate::protocol::strategies::version().prop_flat_map(|v| (Just(v), strategies::request(v)))) {
            prop_assert_eq!(roundtrip(&req, v), req);
        }

        #[test]
        fn every_truncation_is_an_error((v, req) in crate::protocol::strategies::version().prop_flat_map(|v| (Just(v), strategies::request(v)))) {
            let mut buf = BytesMut::new();
            req.encode_body(v, &mut buf).unwrap();
            let full = buf.freeze();
            for cut in 0..full.len() {
                let part = full.slice(..cut);
                // A prefix may itself be a complete (shorter) message; it must never panic.
                let _ = Request::decode_body(req.opcode(), v, &mut Reader::new(&part));
            }
        }

        #[test]
        fn random_bodies_never_panic(op in prop::sample::select(vec![Opcode::Startup, Opcode::AuthResponse, Opcode::Options, Opcode::Query, Opcode::Prepare, Opcode::Execute, Opcode::Batch, Opcode::Register]),
                                     v in crate::protocol::strategies::version(),
                                     body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let src = bytes::Bytes::from(body);
            let _ = Request::decode_body(op, v, &mut Reader::new(&src));
        }
    }

    #[test]
    fn responses_opcodes_are_rejected() {
        let src = bytes::Bytes::new();
        assert!(matches!(
            Request::decode_body(Opcode::Ready, Version::V4, &mut Reader::new(&src)),
            Err(DecodeError::UnexpectedOpcode { opcode: Opcode::Ready, .. })
        ));
    }
}
