//! Whole messages: an envelope header's flags and prefixes plus a typed body.
//!
//! A response body may start with a tracing id, warnings and a custom payload, in that
//! order, as the header flags say (v4 §2.2, v5 §2.4.1.2 and §4); a request may carry a
//! custom payload. This module owns those prefixes and the conversion between
//! [`Envelope`]s and [`RequestMessage`]/[`ResponseMessage`]. Framing, compression and
//! stream-id allocation are not its business.

use bytes::{Bytes, BytesMut};
use uuid::Uuid;

use super::error::{DecodeError, EncodeError};
use super::header::{Direction, Envelope, EnvelopeHeader, Flags, HEADER_LEN, Version};
use super::request::Request;
use super::response::Response;
use super::wire::{self, BytesMap, Reader};

/// A request with its stream id and header options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMessage {
    /// Stream id (non-negative).
    pub stream: i16,
    /// Ask the server to trace this request.
    pub tracing: bool,
    /// Opt in to a beta protocol version (v5 `USE_BETA` flag).
    pub beta: bool,
    /// Custom payload for a custom query handler (v4+).
    pub custom_payload: Option<BytesMap>,
    /// The body.
    pub request: Request,
}

/// A response (or server-pushed event) with its stream id and prefixes.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMessage {
    /// Stream id of the request answered; -1 for events.
    pub stream: i16,
    /// Tracing session id, when tracing was requested.
    pub tracing_id: Option<Uuid>,
    /// Server warnings (v4+); `None` when the warning flag is clear.
    pub warnings: Option<Vec<String>>,
    /// Custom payload (v4+).
    pub custom_payload: Option<BytesMap>,
    /// The body.
    pub response: Response,
}

fn v4_only<T>(field: &Option<T>, what: &'static str, version: Version) -> Result<(), EncodeError> {
    if field.is_some() && version < Version::V4 {
        return Err(EncodeError::NotInVersion { what, version });
    }
    Ok(())
}

/// Appends a full envelope (header + body) whose body `write_body` produces, patching
/// the length once the body is known. Envelope bodies are limited to `[int]` length.
fn encode_envelope(
    buf: &mut BytesMut,
    mut header: EnvelopeHeader,
    write_body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = buf.len();
    header.length = 0;
    header.encode(buf);
    let result = write_body(buf);
    let body_len = buf.len() - start - HEADER_LEN;
    if let Err(e) = result {
        buf.truncate(start);
        return Err(e);
    }
    if body_len > i32::MAX as usize {
        buf.truncate(start);
        return Err(EncodeError::TooLong { what: "envelope body", len: body_len, max: i32::MAX as usize });
    }
    buf[start + 5..start + HEADER_LEN].copy_from_slice(&(body_len as u32).to_be_bytes());
    Ok(())
}

/// Bodies expected to be at most this long are written with [`encode_exact`].
const SMALL_BODY: usize = 4096;

/// A per-thread buffer kept while it is at most this big (a rare large write is not kept).
const SCRATCH_KEEP: usize = 64 << 10;

thread_local! {
    static SCRATCH: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// What `write` appends to an empty buffer, as `Bytes` of exactly that size: written
/// into a reused per-thread buffer and copied out, so it costs one allocation, where
/// freezing a buffer with room to spare costs a second (the shared header `bytes` adds).
/// For small writes; a large one is better written into a buffer of its own.
pub(crate) fn encode_exact<E>(write: impl FnOnce(&mut BytesMut) -> Result<(), E>) -> Result<Bytes, E> {
    SCRATCH.with_borrow_mut(|scratch| {
        // Taken, not borrowed across the call, so a nested use cannot clash.
        let mut buf = std::mem::take(scratch);
        buf.clear();
        let written = write(&mut buf).map(|()| Bytes::copy_from_slice(&buf));
        if buf.capacity() <= SCRATCH_KEEP {
            *scratch = buf;
        }
        written
    })
}

/// An envelope whose body `write_body` produces, in one allocation: a small body (nearly
/// every request, and most responses) through [`encode_exact`], a large one into a
/// buffer of `capacity` bytes, which regrows only if the guess was short.
fn body_envelope(
    mut header: EnvelopeHeader,
    capacity: usize,
    write_body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<Envelope, EncodeError> {
    let body = if capacity <= SMALL_BODY {
        encode_exact(write_body)?
    } else {
        let mut body = BytesMut::with_capacity(capacity);
        write_body(&mut body)?;
        body.freeze()
    };
    if body.len() > i32::MAX as usize {
        return Err(EncodeError::TooLong { what: "envelope body", len: body.len(), max: i32::MAX as usize });
    }
    header.length = body.len() as u32;
    Ok(Envelope { header, body })
}

fn check_direction(header: &EnvelopeHeader, expected: Direction) -> Result<(), DecodeError> {
    if header.direction != expected {
        return Err(DecodeError::WrongDirection { expected, found: header.direction, byte: header.to_bytes()[0] });
    }
    if header.opcode.direction() != expected {
        return Err(DecodeError::UnexpectedOpcode { opcode: header.opcode, direction: expected });
    }
    Ok(())
}

impl RequestMessage {
    /// A request on `stream` with no tracing or custom payload.
    pub fn new(stream: i16, request: Request) -> RequestMessage {
        RequestMessage { stream, tracing: false, beta: false, custom_payload: None, request }
    }

    fn header(&self, version: Version) -> EnvelopeHeader {
        let flags = Flags::empty()
            .with(Flags::TRACING, self.tracing)
            .with(Flags::CUSTOM_PAYLOAD, self.custom_payload.is_some())
            .with(Flags::USE_BETA, self.beta);
        EnvelopeHeader {
            version,
            direction: Direction::Request,
            flags,
            stream: self.stream,
            opcode: self.request.opcode(),
            length: 0,
        }
    }

    /// Appends the envelope (header and uncompressed body) for `version`.
    pub fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        encode_envelope(buf, self.header(version), |buf| self.encode_body(version, buf))
    }

    /// The body: the prefixes the header flags announce, then the request.
    fn encode_body(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        v4_only(&self.custom_payload, "custom payload", version)?;
        if let Some(p) = &self.custom_payload {
            wire::put_bytes_map(buf, p, "custom payload")?;
        }
        self.request.encode_body(version, buf)
    }

    /// The envelope for `version`, ready for the codec (the body in one allocation).
    pub fn to_envelope(&self, version: Version) -> Result<Envelope, EncodeError> {
        let payload = self.custom_payload.as_ref().map_or(0, |_| 256);
        body_envelope(self.header(version), self.request.size_hint() + payload, |buf| self.encode_body(version, buf))
    }

    /// Decodes a request envelope (the server side).
    pub fn from_envelope(env: &Envelope) -> Result<RequestMessage, DecodeError> {
        let h = &env.header;
        check_direction(h, Direction::Request)?;
        let mut r = Reader::new(&env.body);
        let custom_payload = if h.version >= Version::V4 && h.flags.contains(Flags::CUSTOM_PAYLOAD) {
            Some(r.read_bytes_map("custom payload")?)
        } else {
            None
        };
        let request = Request::decode_body(h.opcode, h.version, &mut r)?;
        Ok(RequestMessage {
            stream: h.stream,
            tracing: h.flags.contains(Flags::TRACING),
            beta: h.flags.contains(Flags::USE_BETA),
            custom_payload,
            request,
        })
    }
}

impl ResponseMessage {
    /// A response on `stream` with no prefixes.
    pub fn new(stream: i16, response: Response) -> ResponseMessage {
        ResponseMessage { stream, tracing_id: None, warnings: None, custom_payload: None, response }
    }

    fn header(&self, version: Version) -> EnvelopeHeader {
        let flags = Flags::empty()
            .with(Flags::TRACING, self.tracing_id.is_some())
            .with(Flags::WARNING, self.warnings.is_some())
            .with(Flags::CUSTOM_PAYLOAD, self.custom_payload.is_some());
        EnvelopeHeader {
            version,
            direction: Direction::Response,
            flags,
            stream: self.stream,
            opcode: self.response.opcode(),
            length: 0,
        }
    }

    /// Appends the envelope (header and uncompressed body) for `version`.
    pub fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        encode_envelope(buf, self.header(version), |buf| self.encode_body(version, buf))
    }

    /// The body: the prefixes the header flags announce, then the response.
    fn encode_body(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        v4_only(&self.warnings, "warnings", version)?;
        v4_only(&self.custom_payload, "custom payload", version)?;
        if let Some(id) = &self.tracing_id {
            wire::put_uuid(buf, id);
        }
        if let Some(w) = &self.warnings {
            wire::put_string_list(buf, w, "warnings")?;
        }
        if let Some(p) = &self.custom_payload {
            wire::put_bytes_map(buf, p, "custom payload")?;
        }
        self.response.encode_body(version, buf)
    }

    /// The envelope for `version`, ready for the codec.
    pub fn to_envelope(&self, version: Version) -> Result<Envelope, EncodeError> {
        body_envelope(self.header(version), self.response.size_hint(), |buf| self.encode_body(version, buf))
    }

    /// Decodes a response envelope (the client side).
    pub fn from_envelope(env: &Envelope) -> Result<ResponseMessage, DecodeError> {
        let h = &env.header;
        check_direction(h, Direction::Response)?;
        let mut r = Reader::new(&env.body);
        let tracing_id = if h.flags.contains(Flags::TRACING) { Some(r.read_uuid("tracing id")?) } else { None };
        let v4 = h.version >= Version::V4;
        let warnings =
            if v4 && h.flags.contains(Flags::WARNING) { Some(r.read_string_list("warnings")?) } else { None };
        let custom_payload = if v4 && h.flags.contains(Flags::CUSTOM_PAYLOAD) {
            Some(r.read_bytes_map("custom payload")?)
        } else {
            None
        };
        let response = Response::decode_body(h.opcode, h.version, &mut r)?;
        Ok(ResponseMessage { stream: h.stream, tracing_id, warnings, custom_payload, response })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::request::{Options, Query};
    use crate::protocol::{Consistency, QueryParameters};
    use proptest::prelude::*;

    #[test]
    fn messages_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<RequestMessage>();
        is::<ResponseMessage>();
    }

    #[test]
    fn options_envelope_is_byte_exact() {
        // spec v5 §2.4: version 0x05, flags 0, stream 0, opcode 0x05, empty body.
        let mut buf = BytesMut::new();
        RequestMessage::new(0, Request::Options(Options)).encode(Version::V5, &mut buf).unwrap();
        assert_eq!(&buf[..], &[0x05, 0, 0, 0, 0x05, 0, 0, 0, 0]);
    }

    #[test]
    fn custom_payload_needs_v4() {
        let mut m = RequestMessage::new(1, Request::Query(Query::new("x", QueryParameters::new(Consistency::One))));
        m.custom_payload = Some(vec![("k".into(), None)]);
        assert!(matches!(m.to_envelope(Version::V3), Err(EncodeError::NotInVersion { .. })));
        let env = m.to_envelope(Version::V4).unwrap();
        assert!(env.header.flags.contains(Flags::CUSTOM_PAYLOAD));
        assert_eq!(RequestMessage::from_envelope(&env).unwrap(), m);
    }

    #[test]
    fn wrong_direction_is_rejected() {
        let env = RequestMessage::new(1, Request::Options(Options)).to_envelope(Version::V4).unwrap();
        assert!(matches!(ResponseMessage::from_envelope(&env), Err(DecodeError::WrongDirection { .. })));
        let mut bad = env.clone();
        bad.header.opcode = crate::protocol::Opcode::Ready;
        assert!(matches!(RequestMessage::from_envelope(&bad), Err(DecodeError::UnexpectedOpcode { .. })));
    }

    fn request_message(v: Version) -> impl Strategy<Value = RequestMessage> {
        let v4 = v >= Version::V4;
        (
            0i16..=i16::MAX,
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(crate::protocol::strategies::bytes_map()),
            crate::protocol::request::strategies::request(v),
        )
            .prop_map(move |(stream, tracing, beta, custom_payload, request)| RequestMessage {
                stream,
                tracing,
                beta,
                custom_payload: custom_payload.filter(|_| v4),
                request,
            })
    }

    fn response_message(v: Version) -> impl Strategy<Value = ResponseMessage> {
        let v4 = v >= Version::V4;
        (
            any::<i16>(),
            proptest::option::of(any::<u128>().prop_map(Uuid::from_u128)),
            proptest::option::of(crate::protocol::strategies::string_list()),
            proptest::option::of(crate::protocol::strategies::bytes_map()),
            crate::protocol::response::strategies::response(v),
        )
            .prop_map(move |(stream, tracing_id, warnings, custom_payload, response)| ResponseMessage {
                stream,
                tracing_id,
                warnings: warnings.filter(|_| v4),
                custom_payload: custom_payload.filter(|_| v4),
                response,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn request_messages_roundtrip((v, m) in crate::protocol::strategies::version().prop_flat_map(|v| (Just(v), request_message(v)))) {
            let env = m.to_envelope(v).unwrap();
            prop_assert_eq!(env.header.version, v);
            prop_assert_eq!(RequestMessage::from_envelope(&env).unwrap(), m.clone());
            let mut buf = BytesMut::new();
            m.encode(v, &mut buf).unwrap();
            prop_assert_eq!(buf.len(), env.encoded_len());
        }

        #[test]
        fn response_messages_roundtrip((v, m) in crate::protocol::strategies::version().prop_flat_map(|v| (Just(v), response_message(v)))) {
            let env = m.to_envelope(v).unwrap();
            prop_assert_eq!(ResponseMessage::from_envelope(&env).unwrap(), m);
        }

        #[test]
        fn truncated_response_bodies_never_panic((v, m) in crate::protocol::strategies::version().prop_flat_map(|v| (Just(v), response_message(v)))) {
            let env = m.to_envelope(v).unwrap();
            for cut in 0..env.body.len() {
                let e = Envelope { header: env.header, body: env.body.slice(..cut) };
                let _ = ResponseMessage::from_envelope(&e);
            }
        }
    }
}
