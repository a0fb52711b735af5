//! Invariant checks shared by the fuzz targets (`fuzz/fuzz_targets/*`) and the test that
//! replays every committed seed (`tests/integration/protocol/fuzz_seeds.rs`).
//!
//! Each function takes arbitrary bytes, decodes what it can and panics when an
//! invariant breaks: whatever decodes must re-encode, and the re-encoding must decode
//! to an equal value; a byte stream must decode the same however it is chunked. A
//! decoding error is a fine outcome (that is what hostile input should get); a panic,
//! hang or runaway allocation is a finding. Each returns how many messages decoded and
//! round-tripped, so callers can tell a meaningful input from one rejected outright.
//! Owns no protocol logic of its own.

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::codec::{Compression, CqlCodec, Framing, Role};
use super::column_type::ColumnType;
use super::error::EncodeError;
use super::header::{Envelope, Opcode, Version};
use super::message::{RequestMessage, ResponseMessage};
use super::request::Request;
use super::response::{Response, ResultBody};
use super::segment;
use super::wire::Reader;

/// Limit used by the stream checks, so a fuzzer cannot make them allocate 256 MiB.
const FUZZ_MAX_ENVELOPE: usize = 4 << 20;

fn version_of(b: u8) -> Version {
    Version::ALL[usize::from(b) % Version::ALL.len()]
}

/// A decoded value may fail to re-encode only because a length grew past its field
/// (custom type names are re-emitted in full form); anything else is a bug.
fn tolerate(e: EncodeError) {
    assert!(matches!(e, EncodeError::TooLong { .. }), "a decoded value failed to re-encode: {e}");
}

/// `[version selector][type option bytes]`: a column type option.
pub fn type_spec(data: &[u8]) -> usize {
    let Some((&cfg, rest)) = data.split_first() else { return 0 };
    let version = version_of(cfg);
    let src = Bytes::copy_from_slice(rest);
    let Ok(t) = ColumnType::decode(&mut Reader::new(&src), version) else { return 0 };
    let mut buf = BytesMut::new();
    if let Err(e) = t.encode(&mut buf, version) {
        tolerate(e);
        return 0;
    }
    let again = buf.freeze();
    let mut r = Reader::new(&again);
    let back = ColumnType::decode(&mut r, version).expect("a re-encoded type decodes");
    assert!(r.is_empty(), "re-encoded type has trailing bytes");
    assert_eq!(back, t);
    1
}

fn response_body(opcode: Opcode, version: Version, body: &[u8]) -> usize {
    let src = Bytes::copy_from_slice(body);
    let Ok(resp) = Response::decode_body(opcode, version, &mut Reader::new(&src)) else { return 0 };
    if let Response::Result(ResultBody::Rows(rows)) = &resp {
        // Walking the rows cannot fail and yields exactly rows × columns cells.
        let mut cells = 0usize;
        for row in rows.iter() {
            assert_eq!(row.cells().count(), rows.columns_count());
            cells += row.len();
        }
        assert_eq!(cells, rows.rows_count() * rows.columns_count());
    }
    let mut buf = BytesMut::new();
    if let Err(e) = resp.encode_body(version, &mut buf) {
        tolerate(e);
        return 0;
    }
    let again = buf.freeze();
    let back = Response::decode_body(opcode, version, &mut Reader::new(&again)).expect("a re-encoded response decodes");
    assert_eq!(back, resp);
    1
}

/// `[version selector][RESULT body]`.
pub fn result_body(data: &[u8]) -> usize {
    let Some((&cfg, rest)) = data.split_first() else { return 0 };
    response_body(Opcode::Result, version_of(cfg), rest)
}

/// `[selector: version, and bit 7 = EVENT else ERROR][body]`.
pub fn error_event_body(data: &[u8]) -> usize {
    let Some((&cfg, rest)) = data.split_first() else { return 0 };
    let opcode = if cfg & 0x80 != 0 { Opcode::Event } else { Opcode::Error };
    response_body(opcode, version_of(cfg & 0x7f), rest)
}

const REQUEST_OPCODES: [Opcode; 8] = [
    Opcode::Startup,
    Opcode::AuthResponse,
    Opcode::Options,
    Opcode::Query,
    Opcode::Prepare,
    Opcode::Execute,
    Opcode::Batch,
    Opcode::Register,
];

/// `[selector: version in the low bits, opcode in bits 2..5][request body]`.
pub fn request_body(data: &[u8]) -> usize {
    let Some((&cfg, rest)) = data.split_first() else { return 0 };
    let version = version_of(cfg & 0x03);
    let opcode = REQUEST_OPCODES[usize::from(cfg >> 2) % REQUEST_OPCODES.len()];
    let src = Bytes::copy_from_slice(rest);
    let Ok(req) = Request::decode_body(opcode, version, &mut Reader::new(&src)) else { return 0 };
    let mut buf = BytesMut::new();
    if let Err(e) = req.encode_body(version, &mut buf) {
        tolerate(e);
        return 0;
    }
    let again = buf.freeze();
    let back = Request::decode_body(opcode, version, &mut Reader::new(&again)).expect("a re-encoded request decodes");
    assert_eq!(back, req);
    1
}

/// Envelopes as compared across encodings: the length field and the (v4) compression
/// flag describe the wire form, not the message.
fn normalized(envs: &[Envelope]) -> Vec<Envelope> {
    envs.iter()
        .map(|e| {
            let mut e = e.clone();
            e.header.length = 0;
            e.header.flags.set(super::Flags::COMPRESSION, false);
            e
        })
        .collect()
}

/// How a byte stream is framed and compressed, and which side reads it.
struct WireSetup {
    role: Role,
    framing: Framing,
    compression: Compression,
}

impl WireSetup {
    fn codec(&self, role: Role) -> CqlCodec {
        let mut c = CqlCodec::new(role).with_max_envelope_len(FUZZ_MAX_ENVELOPE);
        c.set_framing(self.framing);
        c.set_compression(self.compression);
        c
    }
}

/// Decodes `data` fed in chunks of the given sizes (cycled); returns the envelopes and
/// the error that stopped decoding, if any (as text, since io errors are not `Eq`).
fn decode_stream(cfg: &WireSetup, data: &[u8], chunks: &[usize]) -> (Vec<Envelope>, Option<String>) {
    let mut codec = cfg.codec(cfg.role);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < data.len() {
        let n = chunks[i % chunks.len()].clamp(1, data.len() - pos);
        i += 1;
        buf.extend_from_slice(&data[pos..pos + n]);
        pos += n;
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(env)) => out.push(env),
                Ok(None) => break,
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }
    (out, None)
}

/// Chunk sizes derived from a seed byte: 1-byte drips, odd sizes, and large reads.
fn chunk_pattern(seed: u8) -> Vec<usize> {
    match seed % 4 {
        0 => vec![1],
        1 => vec![1, 7, 2, 64],
        2 => vec![3, 1000, 9],
        _ => vec![usize::from(seed) + 1, 5],
    }
}

/// Every decoded envelope: its message decodes per the role, re-encodes, and decodes equal.
fn check_messages(role: Role, envs: &[Envelope]) -> usize {
    let mut ok = 0;
    for env in envs {
        let version = env.header.version;
        match role {
            Role::Client => {
                let Ok(m) = ResponseMessage::from_envelope(env) else { continue };
                match m.to_envelope(version) {
                    Ok(again) => assert_eq!(ResponseMessage::from_envelope(&again).expect("re-decodes"), m),
                    Err(e) => tolerate(e),
                }
                ok += 1;
            }
            Role::Server => {
                let Ok(m) = RequestMessage::from_envelope(env) else { continue };
                match m.to_envelope(version) {
                    Ok(again) => assert_eq!(RequestMessage::from_envelope(&again).expect("re-decodes"), m),
                    Err(e) => tolerate(e),
                }
                ok += 1;
            }
        }
    }
    ok
}

/// The decoded envelopes, re-encoded by the peer's codec and decoded again, are equal.
fn check_reencode(cfg: &WireSetup, envs: &[Envelope]) {
    if envs.is_empty() {
        return;
    }
    let peer = match cfg.role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let mut enc = cfg.codec(peer);
    let mut wire = BytesMut::new();
    for env in envs {
        enc.encode(env.clone(), &mut wire).expect("a decoded envelope re-encodes");
    }
    let (back, err) = decode_stream(cfg, &wire, &[wire.len()]);
    assert_eq!(err, None, "re-encoded stream fails to decode");
    assert_eq!(normalized(&back), normalized(envs));
}

/// Returns how many messages decoded (and round-tripped); 0 when decoding stopped on
/// an error before the end.
fn check_stream(cfg: &WireSetup, data: &[u8], seed: u8) -> usize {
    let whole = decode_stream(cfg, data, &[data.len().max(1)]);
    let chunked = decode_stream(cfg, data, &chunk_pattern(seed));
    assert_eq!(whole, chunked, "decoding depends on how the input is chunked");
    let ok = check_messages(cfg.role, &whole.0);
    check_reencode(cfg, &whole.0);
    if whole.1.is_some() { 0 } else { ok }
}

/// `[config][bytes]`: a stream of v4-style envelopes (bit 0: server role, bit 1: LZ4,
/// bits 2..: chunking).
pub fn envelope_stream(data: &[u8]) -> usize {
    let Some((&c, rest)) = data.split_first() else { return 0 };
    let cfg = WireSetup {
        role: if c & 1 == 0 { Role::Client } else { Role::Server },
        framing: Framing::Envelopes,
        compression: if c & 2 == 0 { Compression::None } else { Compression::Lz4 },
    };
    check_stream(&cfg, rest, c >> 2)
}

/// `[config][bytes]`: a stream of v5 segments (bit 0: server role, bit 1: LZ4, bit 2:
/// build the segments from the input, bits 3..: chunking).
///
/// Random bytes rarely pass a CRC24, so in "build" mode the input is cut into payloads
/// (`[flags/len byte][len byte][payload]`, bit 7 of the first byte = self-contained)
/// that are wrapped in valid segments: this reaches the envelope assembler.
pub fn segment_stream(data: &[u8]) -> usize {
    let Some((&c, rest)) = data.split_first() else { return 0 };
    let compressed = c & 2 != 0;
    let cfg = WireSetup {
        role: if c & 1 == 0 { Role::Client } else { Role::Server },
        framing: Framing::Segments,
        compression: if compressed { Compression::Lz4 } else { Compression::None },
    };
    if c & 4 == 0 {
        return check_stream(&cfg, rest, c >> 3);
    }
    let mut wire = BytesMut::new();
    let mut input = rest;
    while let [hi, lo, tail @ ..] = input {
        let self_contained = hi & 0x80 != 0;
        let len = (usize::from(hi & 0x7f) << 8 | usize::from(*lo)).min(tail.len());
        let (payload, next) = tail.split_at(len);
        segment::encode_segment(&mut wire, payload, self_contained, compressed).expect("payload fits a segment");
        input = next;
    }
    check_stream(&cfg, &wire, c >> 3)
}
