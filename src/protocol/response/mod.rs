//! Response bodies (v4 §4.2, v5 §4.2), one file per message kind, and the [`Response`]
//! enum that dispatches on the opcode.
//!
//! Owns the body layouts only: the tracing id, warnings and custom payload that may
//! precede a body belong to [`super::message`], the envelope header to
//! [`super::header`]. Version differences live here (v5 reason maps in failure errors,
//! CAS contentions, `new_metadata_id` and `result_metadata_id`; no partition-key
//! indexes in v3 Prepared metadata). A field the target version lacks is an
//! [`EncodeError::NotInVersion`], never silently dropped. Bytes after a complete body
//! are ignored, as the spec asks of clients (§4.2).
//!
//! Anything this module decodes, it can encode again for the same version, and the
//! result decodes to the same value: the fuzz targets rely on that.
//!
//! READY has an empty body and no file of its own.

mod auth;
mod authenticate;
mod error;
mod event;
mod prepared;
mod result;
mod rows;
mod schema_change;
mod supported;

#[cfg(test)]
pub(crate) mod strategies;

pub use auth::{AuthChallenge, AuthSuccess};
pub use authenticate::Authenticate;
pub use error::{ErrorBody, ErrorKind, Failures, WriteType};
pub use event::{Event, EventType, ParseEventTypeError, StatusChangeType, TopologyChangeType};
pub use prepared::{Prepared, PreparedMetadata};
pub use result::ResultBody;
pub(crate) use rows::next_cell;
pub use rows::{CellIter, ColumnSpec, RawRow, RowIter, Rows, RowsMetadata, RowsWriter, TableSpec};
pub use schema_change::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
pub use supported::{Supported, SupportedVersion};

use bytes::BytesMut;

use super::error::{DecodeError, EncodeError};
use super::header::{Direction, Opcode, Version};
use super::wire::Reader;

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// ERROR (§4.2.1).
    Error(ErrorBody),
    /// READY (§4.2.2): the connection is ready for queries.
    Ready,
    /// AUTHENTICATE (§4.2.3).
    Authenticate(Authenticate),
    /// SUPPORTED (§4.2.4).
    Supported(Supported),
    /// RESULT (§4.2.5).
    Result(ResultBody),
    /// EVENT (§4.2.6).
    Event(Event),
    /// AUTH_CHALLENGE (§4.2.7).
    AuthChallenge(AuthChallenge),
    /// AUTH_SUCCESS (§4.2.8).
    AuthSuccess(AuthSuccess),
}

impl Response {
    /// The opcode of this response.
    pub fn opcode(&self) -> Opcode {
        match self {
            Response::Error(_) => Opcode::Error,
            Response::Ready => Opcode::Ready,
            Response::Authenticate(_) => Opcode::Authenticate,
            Response::Supported(_) => Opcode::Supported,
            Response::Result(_) => Opcode::Result,
            Response::Event(_) => Opcode::Event,
            Response::AuthChallenge(_) => Opcode::AuthChallenge,
            Response::AuthSuccess(_) => Opcode::AuthSuccess,
        }
    }

    /// About how many bytes the body encodes to: a start for its buffer, exact enough for
    /// rows (the bulk of any response) that a page is written without regrowing.
    pub(crate) fn size_hint(&self) -> usize {
        match self {
            Response::Result(ResultBody::Rows(rows)) => 512 + rows.content().len(),
            _ => 256,
        }
    }

    /// Appends the body (no header) for `version`.
    pub fn encode_body(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Response::Error(m) => m.encode(version, buf),
            Response::Ready => Ok(()),
            Response::Authenticate(m) => m.encode(buf),
            Response::Supported(m) => m.encode(buf),
            Response::Result(m) => m.encode(version, buf),
            Response::Event(m) => m.encode(buf),
            Response::AuthChallenge(m) => m.encode(buf),
            Response::AuthSuccess(m) => m.encode(buf),
        }
    }

    /// Reads the body of a response with this opcode. A request opcode is a
    /// [`DecodeError::UnexpectedOpcode`] (with `direction` the response side it was
    /// decoded as). Bytes left after the body are not an error.
    pub fn decode_body(opcode: Opcode, version: Version, r: &mut Reader<'_>) -> Result<Response, DecodeError> {
        Ok(match opcode {
            Opcode::Error => Response::Error(ErrorBody::decode(version, r)?),
            // spec §4.2.2: the body is empty.
            Opcode::Ready => Response::Ready,
            Opcode::Authenticate => Response::Authenticate(Authenticate::decode(r)?),
            Opcode::Supported => Response::Supported(Supported::decode(r)?),
            Opcode::Result => Response::Result(ResultBody::decode(version, r)?),
            Opcode::Event => Response::Event(Event::decode(r)?),
            Opcode::AuthChallenge => Response::AuthChallenge(AuthChallenge::decode(r)?),
            Opcode::AuthSuccess => Response::AuthSuccess(AuthSuccess::decode(r)?),
            other => return Err(DecodeError::UnexpectedOpcode { opcode: other, direction: Direction::Response }),
        })
    }
}

/// A [`DecodeError::Invalid`] for the field read at `at`.
fn invalid(what: &'static str, at: usize, detail: impl Into<String>) -> DecodeError {
    DecodeError::Invalid { what, at, detail: detail.into() }
}

/// Reads a `[string]` that must be one of a fixed set of names.
fn read_name<T>(
    r: &mut Reader<'_>,
    what: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, DecodeError> {
    let at = r.position();
    let s = r.read_str(what)?;
    parse(s).ok_or_else(|| invalid(what, at, format!("unknown value {s:?}")))
}

/// Test helpers shared by the per-kind unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use bytes::Bytes;

    use super::*;

    /// Decodes `body` as a complete `opcode` body.
    pub(crate) fn decode(opcode: Opcode, version: Version, body: &[u8]) -> Result<Response, DecodeError> {
        let src = Bytes::copy_from_slice(body);
        Response::decode_body(opcode, version, &mut Reader::new(&src))
    }

    pub(crate) fn encode(resp: &Response, version: Version) -> Result<Vec<u8>, EncodeError> {
        let mut buf = BytesMut::new();
        resp.encode_body(version, &mut buf)?;
        Ok(buf.to_vec())
    }

    /// Checks a hand-written vector both ways, then every truncation: a prefix may only
    /// decode when it is itself a complete body (it re-encodes to exactly those bytes).
    pub(crate) fn check_vector(version: Version, body: &[u8], expected: &Response) {
        let src = Bytes::copy_from_slice(body);
        let mut r = Reader::new(&src);
        let got = Response::decode_body(expected.opcode(), version, &mut r).expect("vector decodes");
        assert_eq!(&got, expected);
        assert!(r.is_empty(), "{} bytes left after the vector", r.remaining());
        assert_eq!(encode(expected, version).expect("vector encodes"), body, "encoding differs from the vector");
        check_truncations(expected.opcode(), version, body);
    }

    /// Every strict prefix of `body` fails, or is itself a complete body.
    pub(crate) fn check_truncations(opcode: Opcode, version: Version, body: &[u8]) {
        for cut in 0..body.len() {
            if let Ok(resp) = decode(opcode, version, &body[..cut]) {
                let again = encode(&resp, version).expect("decoded prefix re-encodes");
                assert_eq!(again, &body[..cut], "prefix of {cut} bytes decoded to {resp:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::testing::*;
    use super::*;
    use crate::protocol::strategies::version;

    const RESPONSE_OPCODES: [Opcode; 8] = [
        Opcode::Error,
        Opcode::Ready,
        Opcode::Authenticate,
        Opcode::Supported,
        Opcode::Result,
        Opcode::Event,
        Opcode::AuthChallenge,
        Opcode::AuthSuccess,
    ];

    #[test]
    fn request_opcodes_are_rejected() {
        for op in [Opcode::Startup, Opcode::Options, Opcode::Query, Opcode::Register, Opcode::AuthResponse] {
            assert_eq!(
                decode(op, Version::V4, &[]),
                Err(DecodeError::UnexpectedOpcode { opcode: op, direction: Direction::Response })
            );
        }
    }

    #[test]
    fn ready_is_empty_and_ignores_trailing_bytes() {
        for v in Version::ALL {
            assert_eq!(encode(&Response::Ready, v).unwrap(), Vec::<u8>::new());
            assert_eq!(decode(Opcode::Ready, v, &[1, 2, 3]), Ok(Response::Ready));
        }
    }

    fn any_response() -> impl Strategy<Value = (Version, Response)> {
        version().prop_flat_map(|v| (Just(v), strategies::response(v)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn every_response_roundtrips((v, resp) in any_response()) {
            let body = encode(&resp, v).unwrap();
            let src = Bytes::from(body);
            let mut r = Reader::new(&src);
            prop_assert_eq!(Response::decode_body(resp.opcode(), v, &mut r).unwrap(), resp.clone());
            prop_assert!(r.is_empty(), "{} bytes left", r.remaining());
            // Trailing bytes are ignored.
            let mut longer = src.to_vec();
            longer.extend_from_slice(&[0xde, 0xad]);
            prop_assert_eq!(decode(resp.opcode(), v, &longer).unwrap(), resp);
        }

        #[test]
        fn truncated_responses_fail_cleanly((v, resp) in any_response()) {
            let body = encode(&resp, v).unwrap();
            check_truncations(resp.opcode(), v, &body);
        }

        /// Valid bodies with a few bytes overwritten: decoding never panics, and whatever
        /// decodes is stable through encode → decode.
        #[test]
        fn mutated_bodies_are_stable((v, resp) in any_response(),
                                     edits in proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4)) {
            let mut body = encode(&resp, v).unwrap();
            if !body.is_empty() {
                for (i, b) in edits {
                    let i = i.index(body.len());
                    body[i] = b;
                }
            }
            if let Ok(back) = decode(resp.opcode(), v, &body) {
                let again = encode(&back, v).unwrap();
                prop_assert_eq!(decode(resp.opcode(), v, &again).unwrap(), back);
            }
        }

        /// Random bodies never panic, and whatever decodes re-encodes to something that
        /// decodes to the same value.
        #[test]
        fn random_bodies_never_panic(op in prop::sample::select(RESPONSE_OPCODES.to_vec()), v in version(),
                                     prefix in prop::sample::select(vec![
                                         vec![], vec![0, 0, 0, 2], vec![0, 0, 0, 4], vec![0, 0, 0, 5],
                                         vec![0, 0, 0x13, 0], vec![0, 0, 0x11, 0], vec![0, 0, 0x15, 0],
                                         vec![0, 0, 0, 2, 0, 0, 0, 5], vec![0, 0, 0, 2, 0, 0, 0, 1],
                                     ]),
                                     tail in proptest::collection::vec(any::<u8>(), 0..96)) {
            let mut body = prefix;
            body.extend_from_slice(&tail);
            if let Ok(resp) = decode(op, v, &body) {
                let again = encode(&resp, v).unwrap();
                prop_assert_eq!(decode(op, v, &again).unwrap(), resp);
            }
        }
    }
}
