//! The `tokio_util::codec` adapter: bytes on a socket to [`Envelope`]s and back, for
//! either end of a connection.
//!
//! Owns the choice of framing (plain envelopes, or v5 segments once the STARTUP
//! exchange is over, spec v5 §2.3.1), of compression (v4 LZ4 bodies, spec v4 §5, or
//! LZ4 segments, spec v5 §2.2), the direction check, and the envelope-size limit
//! applied before anything is reserved. It must not interpret bodies (see
//! [`super::message`]) and does no IO itself: [`tokio_util::codec::Framed`] does the
//! reading and writing, and the same logic is available without tokio through
//! [`CqlCodec::decode_envelope`], [`CqlCodec::encode_envelope`], [`decode_unframed`]
//! and [`encode_unframed`].
//!
//! Switching framing is the caller's job: after the reply to STARTUP has been decoded
//! (client) or encoded (server), call [`CqlCodec::set_framing`]. Bytes already buffered
//! are then read with the new framing, so a framed message that arrived in the same
//! read as the reply is not lost.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::DEFAULT_MAX_ENVELOPE_LEN;
use super::compression::{
    DEFAULT_MAX_COMPRESSION_RATIO, RATIO_FREE_LEN, compress_body, declared_len, decompress_body_limited,
};
use super::error::{DecodeError, EncodeError};
use super::header::{Direction, Envelope, EnvelopeHeader, Flags, HEADER_LEN, Opcode, Version};
use super::segment::{MAX_RESERVE_AHEAD, SegmentReader, encode_envelopes};

/// Largest body an envelope's signed 4-byte length can describe.
const MAX_WIRE_BODY: usize = i32::MAX as usize;

/// A scratch buffer larger than this is dropped after use rather than kept.
const MAX_KEPT_SCRATCH: usize = 1024 * 1024;

/// Which end of the connection a codec serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Encodes requests and decodes responses.
    Client,
    /// Decodes requests and encodes responses.
    Server,
}

impl Role {
    /// The direction of the envelopes this end receives.
    pub fn incoming(self) -> Direction {
        match self {
            Role::Client => Direction::Response,
            Role::Server => Direction::Request,
        }
    }

    /// The direction of the envelopes this end sends.
    pub fn outgoing(self) -> Direction {
        match self {
            Role::Client => Direction::Request,
            Role::Server => Direction::Response,
        }
    }
}

/// How envelopes are laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Framing {
    /// Back-to-back envelopes (9-byte header and body), as in v3/v4 and for the v5
    /// handshake (spec v5 §2.3.1).
    #[default]
    Envelopes,
    /// Envelopes carried in v5 segments with CRCs (spec v5 §2.1, §2.2).
    Segments,
}

/// The compression negotiated in STARTUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// LZ4: of envelope bodies with [`Framing::Envelopes`] (spec v4 §5), of whole
    /// segments with [`Framing::Segments`] (spec v5 §2.2).
    Lz4,
}

/// What can go wrong in [`CqlCodec`]: bad input, an unencodable envelope, or the
/// transport itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The peer sent bytes that are not a valid envelope stream.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// An envelope could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Reading or writing the transport failed, or it closed mid-envelope.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A `tokio_util` codec for CQL envelopes, for either [`Role`].
///
/// Starts with [`Framing::Envelopes`] and [`Compression::None`]. Decoding checks the
/// version, opcode, direction and body length of every envelope before it waits for
/// the body.
///
/// As an [`Encoder`] it takes an [`Envelope`], a `&Envelope`, or a slice or `Vec` of
/// envelopes; with segment framing several envelopes are coalesced into as few
/// segments as possible. Encoders set the header's length and compression flag
/// themselves, and refuse envelopes that travel the wrong way for the role.
#[derive(Debug)]
pub struct CqlCodec {
    role: Role,
    framing: Framing,
    compression: Compression,
    max_envelope_len: usize,
    max_compression_ratio: usize,
    expected_version: Option<Version>,
    defer_decompression: bool,
    segments: SegmentReader,
    scratch: BytesMut,
}

impl CqlCodec {
    /// A codec for `role`, with envelope framing, no compression, and a body limit of
    /// [`DEFAULT_MAX_ENVELOPE_LEN`].
    pub fn new(role: Role) -> CqlCodec {
        CqlCodec {
            role,
            framing: Framing::Envelopes,
            compression: Compression::None,
            max_envelope_len: DEFAULT_MAX_ENVELOPE_LEN,
            max_compression_ratio: DEFAULT_MAX_COMPRESSION_RATIO,
            expected_version: None,
            defer_decompression: false,
            segments: SegmentReader::new(false, DEFAULT_MAX_ENVELOPE_LEN),
            scratch: BytesMut::new(),
        }
    }

    /// With a different limit on envelope bodies (after decompression), in bytes.
    /// Applies to both directions.
    pub fn with_max_envelope_len(mut self, max: usize) -> CqlCodec {
        self.max_envelope_len = max;
        self.segments.set_max_envelope_len(max);
        self
    }

    /// With a different limit on how much a v3/v4 LZ4 body may expand: bodies that
    /// declare more than [`RATIO_FREE_LEN`]
    /// uncompressed bytes and more than `ratio` times their compressed size are refused
    /// with [`DecodeError::CompressionRatio`] before anything is allocated. Default
    /// [`DEFAULT_MAX_COMPRESSION_RATIO`] (64); LZ4 itself cannot exceed 255. v5 segments
    /// need no such limit: each expands to at most 128 KiB.
    pub fn with_max_compression_ratio(mut self, ratio: usize) -> CqlCodec {
        self.max_compression_ratio = ratio.max(1);
        self
    }

    /// The limit on the expansion ratio of v3/v4 LZ4 bodies.
    pub fn max_compression_ratio(&self) -> usize {
        self.max_compression_ratio
    }

    /// Refuses, from now on, every envelope whose version is not `version`, with
    /// [`DecodeError::VersionMismatch`] (checked on the header, before the body is
    /// waited for). Set it once the handshake has fixed the version; while the version
    /// is being probed (`None`, the default) a server may answer with another one.
    pub fn set_expected_version(&mut self, version: Option<Version>) {
        self.expected_version = version;
    }

    /// With `true`, v3/v4 bodies flagged compressed are handed over as they came: the
    /// body still compressed and [`Flags::COMPRESSION`] still set, for the receiver of the
    /// envelope to expand with [`decompress_envelope`] in its own task. The decoder's
    /// work per envelope then stays proportional to the bytes received. Compression must
    /// still have been negotiated ([`DecodeError::UnexpectedCompression`] otherwise).
    /// Default `false`: bodies are decompressed here.
    pub fn set_deferred_decompression(&mut self, defer: bool) {
        self.defer_decompression = defer;
    }

    /// The role this codec plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The current compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The limit on envelope bodies.
    pub fn max_envelope_len(&self) -> usize {
        self.max_envelope_len
    }

    /// Switches framing for everything decoded or encoded from now on, including bytes
    /// already buffered. Envelopes already split out of a segment are still returned
    /// first.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    /// Switches compression for everything decoded or encoded from now on.
    pub fn set_compression(&mut self, compression: Compression) {
        self.compression = compression;
        self.segments.set_compressed(compression == Compression::Lz4);
    }

    /// Decodes the next envelope from `src`, or `Ok(None)` if more bytes are needed.
    /// The same as [`Decoder::decode`], without tokio in the signature.
    pub fn decode_envelope(&mut self, src: &mut BytesMut) -> Result<Option<Envelope>, DecodeError> {
        let incoming = self.role.incoming();
        // Envelopes left over from a multi-envelope segment come first, whatever the
        // framing is now.
        let envelope = if let Some(raw) = self.segments.next_envelope() {
            envelope_from_bytes(raw, incoming)?
        } else {
            match self.framing {
                Framing::Envelopes => {
                    let limits = Unframed {
                        expect: incoming,
                        max_len: self.max_envelope_len,
                        max_ratio: self.max_compression_ratio,
                        compression: self.compression,
                        version: self.expected_version,
                        defer: self.defer_decompression,
                    };
                    return decode_unframed_with(src, &limits);
                }
                Framing::Segments => match self.segments.read_envelope(src)? {
                    Some(raw) => envelope_from_bytes(raw, incoming)?,
                    None => return Ok(None),
                },
            }
        };
        check_version(&envelope.header, self.expected_version)?;
        Ok(Some(envelope))
    }

    /// Appends one envelope with the current framing and compression. The same as
    /// [`Encoder::encode`], without tokio in the signature.
    ///
    /// Fails if the envelope travels the wrong way for this role or its body is over
    /// the limit.
    pub fn encode_envelope(&mut self, envelope: &Envelope, dst: &mut BytesMut) -> Result<(), EncodeError> {
        self.encode_batch(std::slice::from_ref(envelope), dst)
    }

    /// Appends several envelopes. With segment framing they share segments (see
    /// [`encode_envelopes`]), which is how many small requests become one write.
    /// Nothing is appended if any envelope is refused.
    pub fn encode_batch(&mut self, envelopes: &[Envelope], dst: &mut BytesMut) -> Result<(), EncodeError> {
        for envelope in envelopes {
            self.check_outgoing(envelope)?;
        }
        match self.framing {
            Framing::Envelopes => {
                let start = dst.len();
                for envelope in envelopes {
                    if let Err(e) = encode_unframed(envelope, self.compression, dst) {
                        dst.truncate(start);
                        return Err(e);
                    }
                }
                Ok(())
            }
            Framing::Segments => {
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                for envelope in envelopes {
                    put_plain(envelope, &mut scratch);
                }
                let result = encode_envelopes(dst, &scratch, self.compression == Compression::Lz4);
                if scratch.capacity() <= MAX_KEPT_SCRATCH {
                    scratch.clear();
                    self.scratch = scratch;
                }
                result
            }
        }
    }

    fn check_outgoing(&self, envelope: &Envelope) -> Result<(), EncodeError> {
        let outgoing = self.role.outgoing();
        if envelope.header.direction != outgoing {
            return Err(EncodeError::Invalid {
                what: "envelope direction",
                detail: format!(
                    "a {:?} codec sends {outgoing} envelopes, not {}",
                    self.role, envelope.header.direction
                ),
            });
        }
        let max = self.max_envelope_len.min(MAX_WIRE_BODY);
        if envelope.body.len() > max {
            return Err(EncodeError::TooLong { what: "envelope body", len: envelope.body.len(), max });
        }
        Ok(())
    }
}

impl Decoder for CqlCodec {
    type Item = Envelope;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Envelope>, CodecError> {
        Ok(self.decode_envelope(src)?)
    }

    /// At end of input, what is still queued comes out; leftover bytes or half of a
    /// split envelope mean the peer closed mid-message.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Envelope>, CodecError> {
        match self.decode_envelope(src)? {
            Some(envelope) => Ok(Some(envelope)),
            None if src.is_empty() && !self.segments.has_partial() => Ok(None),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed in the middle of an envelope",
            )
            .into()),
        }
    }
}

impl Encoder<Envelope> for CqlCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Envelope, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(self.encode_envelope(&item, dst)?)
    }
}

impl Encoder<&Envelope> for CqlCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Envelope, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(self.encode_envelope(item, dst)?)
    }
}

impl Encoder<&[Envelope]> for CqlCodec {
    type Error = CodecError;

    fn encode(&mut self, items: &[Envelope], dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(self.encode_batch(items, dst)?)
    }
}

impl Encoder<Vec<Envelope>> for CqlCodec {
    type Error = CodecError;

    fn encode(&mut self, items: Vec<Envelope>, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(self.encode_batch(&items, dst)?)
    }
}

/// Whether the v4 body-compression flag means anything for this version: it is
/// deprecated and ignored from v5 on (spec v5 §2.4.1.2).
fn body_compression_applies(version: Version) -> bool {
    version <= Version::V4
}

/// Decodes one unframed envelope (9-byte header and body, spec v4 §2) from the front
/// of `src`, or returns `Ok(None)` if it has not fully arrived.
///
/// The header is checked first (version, opcode, length sign, then the `expect`ed
/// direction and `max_len`), and only then is room reserved for the body, at most
/// 64 KiB ahead of the bytes present. The body is a zero-copy slice of `src`. A body
/// flagged compressed is decompressed when `compression` is LZ4, and the flag cleared;
/// without compression that is [`DecodeError::UnexpectedCompression`]. From v5 on the
/// flag is ignored and cleared (spec v5 §2.4.1.2). On error `src` is left as it was.
///
/// LZ4 bodies may expand at most as far as LZ4 can (255 times); the codec applies its
/// own, lower, ratio limit ([`CqlCodec::with_max_compression_ratio`]).
pub fn decode_unframed(
    src: &mut BytesMut,
    expect: Direction,
    max_len: usize,
    compression: Compression,
) -> Result<Option<Envelope>, DecodeError> {
    let limits = Unframed { expect, max_len, max_ratio: 255, compression, version: None, defer: false };
    decode_unframed_with(src, &limits)
}

/// What [`decode_unframed_with`] checks and does.
struct Unframed {
    expect: Direction,
    max_len: usize,
    max_ratio: usize,
    compression: Compression,
    /// The only version accepted, once negotiated.
    version: Option<Version>,
    /// Hand compressed bodies over compressed.
    defer: bool,
}

fn decode_unframed_with(src: &mut BytesMut, limits: &Unframed) -> Result<Option<Envelope>, DecodeError> {
    let &Unframed { expect, max_len, max_ratio, compression, version, defer } = limits;
    let Some(raw) = src.first_chunk::<HEADER_LEN>() else {
        src.reserve(HEADER_LEN - src.len().min(HEADER_LEN));
        return Ok(None);
    };
    let mut header = EnvelopeHeader::decode(raw)?;
    check_direction(&header, raw[0], expect)?;
    check_version(&header, version)?;
    let body_len = header.length as usize;
    if body_len > max_len {
        return Err(DecodeError::EnvelopeTooLarge { len: header.length.into(), max: max_len });
    }
    let total = HEADER_LEN + body_len;
    if src.len() < total {
        src.reserve((total - src.len()).min(MAX_RESERVE_AHEAD));
        return Ok(None);
    }
    let compressed = header.flags.contains(Flags::COMPRESSION);
    let body = if compressed && body_compression_applies(header.version) {
        match compression {
            Compression::None => return Err(DecodeError::UnexpectedCompression { stream: header.stream }),
            Compression::Lz4 if defer => {
                // Still check the declared length, so that a hopeless body fails here,
                // where the connection is known to be at fault.
                let body = src.get(HEADER_LEN..total).unwrap_or_default();
                check_declared(body, max_len, max_ratio)?;
                src.advance(HEADER_LEN);
                return Ok(Some(Envelope { header, body: src.split_to(body_len).freeze() }));
            }
            // Decompress before consuming, so a bad body leaves `src` as it was.
            Compression::Lz4 => {
                let body = decompress_body_limited(src.get(HEADER_LEN..total).unwrap_or_default(), max_len, max_ratio)?;
                src.advance(total);
                body
            }
        }
    } else {
        src.advance(HEADER_LEN);
        src.split_to(body_len).freeze()
    };
    header.flags.set(Flags::COMPRESSION, false);
    Ok(Some(Envelope { header, body }))
}

/// Checks a compressed body's declared length against the limits, without expanding it.
fn check_declared(body: &[u8], max_len: usize, max_ratio: usize) -> Result<(), DecodeError> {
    let len = declared_len(body, max_len)?;
    if len > body.len().saturating_mul(max_ratio.max(1)).max(RATIO_FREE_LEN) {
        return Err(DecodeError::CompressionRatio { declared: len as u64, compressed: body.len(), max_ratio });
    }
    Ok(())
}

/// Expands an envelope that a codec with [deferred
/// decompression](CqlCodec::set_deferred_decompression) handed over still compressed
/// (a v3/v4 envelope with [`Flags::COMPRESSION`]), and clears the flag; any other
/// envelope is returned as it is. The uncompressed body may be at most `max_len` bytes
/// and, above [`RATIO_FREE_LEN`], at most `max_ratio` times the compressed one
/// ([`DecodeError::CompressionRatio`]); both are checked before allocating.
pub fn decompress_envelope(mut envelope: Envelope, max_len: usize, max_ratio: usize) -> Result<Envelope, DecodeError> {
    if !envelope.header.flags.contains(Flags::COMPRESSION) || !body_compression_applies(envelope.header.version) {
        envelope.header.flags.set(Flags::COMPRESSION, false);
        return Ok(envelope);
    }
    envelope.body = decompress_body_limited(&envelope.body, max_len, max_ratio)?;
    envelope.header.flags.set(Flags::COMPRESSION, false);
    Ok(envelope)
}

fn check_version(header: &EnvelopeHeader, expected: Option<Version>) -> Result<(), DecodeError> {
    match expected {
        Some(v) if header.version != v => Err(DecodeError::VersionMismatch {
            expected: v.as_u8(),
            found: header.version.as_u8(),
            stream: header.stream,
        }),
        _ => Ok(()),
    }
}

/// Appends one unframed envelope (spec v4 §2). With LZ4, bodies of v3/v4 envelopes
/// are compressed and flagged (spec v4 §5), except STARTUP and OPTIONS, which precede
/// or negotiate compression and are never compressed (spec v5 §2.3.2). The header's
/// length and compression flag are set here; its direction is not checked.
pub fn encode_unframed(envelope: &Envelope, compression: Compression, dst: &mut BytesMut) -> Result<(), EncodeError> {
    if envelope.body.len() > MAX_WIRE_BODY {
        return Err(EncodeError::TooLong { what: "envelope body", len: envelope.body.len(), max: MAX_WIRE_BODY });
    }
    let mut header = envelope.header;
    let compress = compression == Compression::Lz4
        && body_compression_applies(header.version)
        && !matches!(header.opcode, Opcode::Startup | Opcode::Options);
    header.flags.set(Flags::COMPRESSION, compress);
    if !compress {
        header.length = envelope.body.len() as u32;
        dst.reserve(HEADER_LEN + envelope.body.len());
        header.encode(dst);
        dst.put_slice(&envelope.body);
        return Ok(());
    }
    let start = dst.len();
    dst.put_bytes(0, HEADER_LEN);
    compress_body(&envelope.body, dst);
    let body_len = dst.len() - start - HEADER_LEN;
    if body_len > MAX_WIRE_BODY {
        dst.truncate(start);
        return Err(EncodeError::TooLong { what: "compressed envelope body", len: body_len, max: MAX_WIRE_BODY });
    }
    header.length = body_len as u32;
    if let Some(slot) = dst.get_mut(start..start + HEADER_LEN) {
        slot.copy_from_slice(&header.to_bytes());
    }
    Ok(())
}

/// Parses a complete envelope (header and body, as [`SegmentReader`] yields them). The
/// body is a zero-copy slice of `raw`. The compression flag is cleared, since v5
/// ignores it (spec v5 §2.4.1.2).
pub fn envelope_from_bytes(raw: Bytes, expect: Direction) -> Result<Envelope, DecodeError> {
    let Some(head) = raw.first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Truncated {
            what: "envelope header",
            at: 0,
            needed: HEADER_LEN,
            available: raw.len(),
        });
    };
    let mut header = EnvelopeHeader::decode(head)?;
    check_direction(&header, head[0], expect)?;
    let body = raw.slice(HEADER_LEN..);
    if body.len() != header.length as usize {
        return Err(DecodeError::InvalidLength { what: "envelope body length", at: 5, len: header.length.into() });
    }
    header.flags.set(Flags::COMPRESSION, false);
    Ok(Envelope { header, body })
}

fn check_direction(header: &EnvelopeHeader, byte: u8, expected: Direction) -> Result<(), DecodeError> {
    if header.direction != expected {
        return Err(DecodeError::WrongDirection { expected, found: header.direction, byte });
    }
    Ok(())
}

/// Appends an envelope as it goes inside a segment: body uncompressed, compression
/// flag clear, length from the body (already checked against the limit).
fn put_plain(envelope: &Envelope, dst: &mut BytesMut) {
    let mut header = envelope.header;
    header.flags.set(Flags::COMPRESSION, false);
    header.length = envelope.body.len() as u32;
    dst.reserve(HEADER_LEN + envelope.body.len());
    header.encode(dst);
    dst.put_slice(&envelope.body);
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio::io::{AsyncWrite, AsyncWriteExt, DuplexStream, duplex};
    use tokio_util::codec::Framed;

    use super::super::segment::{SegmentHeader, encode_segment};
    use super::*;

    fn envelope(version: Version, direction: Direction, opcode: Opcode, stream: i16, body: &[u8]) -> Envelope {
        Envelope {
            header: EnvelopeHeader {
                version,
                direction,
                flags: Flags::empty(),
                stream,
                opcode,
                length: body.len() as u32,
            },
            body: Bytes::copy_from_slice(body),
        }
    }

    fn request(version: Version, opcode: Opcode, stream: i16, body: &[u8]) -> Envelope {
        envelope(version, Direction::Request, opcode, stream, body)
    }

    fn response(version: Version, opcode: Opcode, stream: i16, body: &[u8]) -> Envelope {
        envelope(version, Direction::Response, opcode, stream, body)
    }

    /// A compressible body of `n` bytes.
    fn text(n: usize) -> Vec<u8> {
        b"SELECT * FROM ks.tbl WHERE pk = ? AND ck > ?; ".iter().copied().cycle().take(n).collect()
    }

    /// An incompressible body of `n` bytes.
    fn noise(n: usize, seed: u32) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// Checks a round trip: same header except the length (a compressed v4 body keeps
    /// its wire length) and the compression flag (always clear), same body.
    fn same(got: &Envelope, sent: &Envelope) {
        let mut want = sent.header;
        want.flags.set(Flags::COMPRESSION, false);
        want.length = got.header.length;
        assert_eq!(got.header, want);
        assert_eq!(got.body, sent.body);
    }

    fn pair() -> (Framed<DuplexStream, CqlCodec>, Framed<DuplexStream, CqlCodec>) {
        let (a, b) = duplex(8 << 20);
        (Framed::new(a, CqlCodec::new(Role::Client)), Framed::new(b, CqlCodec::new(Role::Server)))
    }

    /// Encodes with the framed codec and writes straight to the transport (the
    /// dev-dependencies have no `SinkExt`).
    async fn send<T, I>(framed: &mut Framed<T, CqlCodec>, item: I)
    where
        T: AsyncWrite + Unpin,
        CqlCodec: Encoder<I, Error = CodecError>,
    {
        let mut buf = BytesMut::new();
        framed.codec_mut().encode(item, &mut buf).unwrap();
        framed.get_mut().write_all(&buf).await.unwrap();
    }

    async fn recv(framed: &mut Framed<DuplexStream, CqlCodec>) -> Envelope {
        framed.next().await.expect("stream ended").expect("decode failed")
    }

    fn set_both(framed: [&mut Framed<DuplexStream, CqlCodec>; 2], framing: Framing, compression: Compression) {
        for f in framed {
            f.codec_mut().set_framing(framing);
            f.codec_mut().set_compression(compression);
        }
    }

    #[tokio::test]
    async fn v4_roundtrip_without_compression() {
        let (mut client, mut server) = pair();
        let startup = request(Version::V4, Opcode::Startup, 0, b"\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0");
        send(&mut client, &startup).await;
        same(&recv(&mut server).await, &startup);
        let ready = response(Version::V4, Opcode::Ready, 0, b"");
        send(&mut server, ready.clone()).await;
        same(&recv(&mut client).await, &ready);
        for (i, n) in [0usize, 1, 100, 70_000, 400_000].into_iter().enumerate() {
            let q = request(Version::V4, Opcode::Query, i as i16, &text(n));
            send(&mut client, &q).await;
            let got = recv(&mut server).await;
            same(&got, &q);
            assert_eq!(got.header.length as usize, n);
            let r = response(Version::V4, Opcode::Result, i as i16, &noise(n, i as u32));
            send(&mut server, &r).await;
            same(&recv(&mut client).await, &r);
        }
        let event = response(Version::V4, Opcode::Event, -1, b"event");
        send(&mut server, &event).await;
        same(&recv(&mut client).await, &event);
    }

    #[tokio::test]
    async fn v4_roundtrip_with_lz4() {
        let (mut client, mut server) = pair();
        let startup = request(Version::V4, Opcode::Startup, 0, b"\x00\x01\x00\x0bCOMPRESSION\x00\x03lz4");
        send(&mut client, &startup).await;
        same(&recv(&mut server).await, &startup);
        set_both([&mut client, &mut server], Framing::Envelopes, Compression::Lz4);
        let ready = response(Version::V4, Opcode::Ready, 0, b"");
        send(&mut server, &ready).await;
        same(&recv(&mut client).await, &ready);
        for (i, body) in [text(0), text(5), text(20_000), noise(20_000, 3), text(1 << 20)].iter().enumerate() {
            let q = request(Version::V4, Opcode::Query, i as i16, body);
            // On the wire: flagged, and the body shrinks when it can.
            let mut wire = BytesMut::new();
            client.codec_mut().encode_envelope(&q, &mut wire).unwrap();
            assert_eq!(wire[1] & 0x01, 0x01, "compression flag");
            if body.len() > 1000 && body[0] == b'S' {
                assert!(wire.len() < body.len() / 4);
            }
            client.get_mut().write_all(&wire).await.unwrap();
            same(&recv(&mut server).await, &q);
            let r = response(Version::V4, Opcode::Result, i as i16, body);
            send(&mut server, &r).await;
            same(&recv(&mut client).await, &r);
        }
    }

    #[test]
    fn startup_and_options_are_never_compressed() {
        let mut codec = CqlCodec::new(Role::Client);
        codec.set_compression(Compression::Lz4);
        for opcode in [Opcode::Startup, Opcode::Options] {
            let e = request(Version::V4, opcode, 0, &text(5000));
            let mut wire = BytesMut::new();
            codec.encode_envelope(&e, &mut wire).unwrap();
            assert_eq!(wire[1] & 0x01, 0, "{opcode:?}");
            assert_eq!(wire.len(), HEADER_LEN + 5000);
        }
        // A caller's stray compression flag is not trusted either.
        let mut e = request(Version::V4, Opcode::Options, 0, b"");
        e.header.flags = Flags::COMPRESSION;
        let mut wire = BytesMut::new();
        encode_unframed(&e, Compression::None, &mut wire).unwrap();
        assert_eq!(&wire[..], &[0x04, 0, 0, 0, 0x05, 0, 0, 0, 0]);
        // v5 envelopes never use the body flag, even unframed.
        let e = request(Version::V5, Opcode::Query, 0, &text(5000));
        let mut wire = BytesMut::new();
        encode_unframed(&e, Compression::Lz4, &mut wire).unwrap();
        assert_eq!(wire[1] & 0x01, 0);
    }

    async fn v5_session(compression: Compression) {
        let (mut client, mut server) = pair();
        // Handshake, unframed (spec v5 §2.3.1).
        let options = request(Version::V5, Opcode::Options, 0, b"");
        send(&mut client, &options).await;
        same(&recv(&mut server).await, &options);
        let supported = response(Version::V5, Opcode::Supported, 0, b"\x00\x00");
        send(&mut server, &supported).await;
        same(&recv(&mut client).await, &supported);
        let startup = request(Version::V5, Opcode::Startup, 1, b"\x00\x01\x00\x0bCOMPRESSION\x00\x03lz4");
        send(&mut client, &startup).await;
        same(&recv(&mut server).await, &startup);

        // The server writes READY unframed, switches, and a framed EVENT follows in the
        // same write, so the client reads both at once.
        let ready = response(Version::V5, Opcode::Ready, 1, b"");
        let event = response(Version::V5, Opcode::Event, -1, b"\x00\x0dSCHEMA_CHANGE");
        let mut wire = BytesMut::new();
        server.codec_mut().encode_envelope(&ready, &mut wire).unwrap();
        server.codec_mut().set_framing(Framing::Segments);
        server.codec_mut().set_compression(compression);
        server.codec_mut().encode_envelope(&event, &mut wire).unwrap();
        server.get_mut().write_all(&wire).await.unwrap();
        same(&recv(&mut client).await, &ready);
        assert!(!client.read_buffer().is_empty(), "the framed EVENT arrived with READY");
        client.codec_mut().set_framing(Framing::Segments);
        client.codec_mut().set_compression(compression);
        same(&recv(&mut client).await, &event);

        // A batch of small requests shares one segment; a large one is split.
        let lz4 = compression == Compression::Lz4;
        let batch: Vec<Envelope> =
            (0..20).map(|i| request(Version::V5, Opcode::Query, 10 + i, &text(100 + i as usize))).collect();
        let mut wire = BytesMut::new();
        client.codec_mut().encode_batch(&batch, &mut wire).unwrap();
        let first = SegmentHeader::decode(&wire, lz4).unwrap().unwrap();
        assert!(first.self_contained);
        assert_eq!(wire.len(), if lz4 { 8 } else { 6 } + first.payload_len + 4, "one segment");
        assert_eq!(lz4, first.uncompressed_len != 0, "compressed exactly when LZ4 is on");
        client.get_mut().write_all(&wire).await.unwrap();
        for e in &batch {
            same(&recv(&mut server).await, e);
        }
        let large = request(Version::V5, Opcode::Execute, 99, &noise(300_000, 7));
        send(&mut client, &large).await;
        same(&recv(&mut server).await, &large);
        let large = response(Version::V5, Opcode::Result, 99, &text(1 << 20));
        let small = response(Version::V5, Opcode::Result, 98, b"x");
        send(&mut server, vec![large.clone(), small.clone()]).await;
        same(&recv(&mut client).await, &large);
        same(&recv(&mut client).await, &small);

        // OPTIONS after the handshake is framed too.
        send(&mut client, &options).await;
        same(&recv(&mut server).await, &options);
    }

    #[tokio::test]
    async fn v5_roundtrip_without_compression() {
        v5_session(Compression::None).await;
    }

    #[tokio::test]
    async fn v5_roundtrip_with_lz4() {
        v5_session(Compression::Lz4).await;
    }

    #[tokio::test]
    async fn byte_by_byte_over_the_transport() {
        for (framing, compression) in [
            (Framing::Envelopes, Compression::None),
            (Framing::Envelopes, Compression::Lz4),
            (Framing::Segments, Compression::None),
            (Framing::Segments, Compression::Lz4),
        ] {
            // A one-byte pipe: every read returns a single byte.
            let (a, b) = duplex(1);
            let mut client = Framed::new(a, CqlCodec::new(Role::Client));
            let mut server = Framed::new(b, CqlCodec::new(Role::Server));
            set_both([&mut client, &mut server], framing, compression);
            let version = if framing == Framing::Segments { Version::V5 } else { Version::V4 };
            let sent = vec![
                request(version, Opcode::Query, 1, &text(300)),
                request(version, Opcode::Prepare, 2, b""),
                request(version, Opcode::Execute, 3, &noise(2000, 9)),
            ];
            let mut wire = BytesMut::new();
            client.codec_mut().encode_batch(&sent, &mut wire).unwrap();
            let writer = async {
                client.get_mut().write_all(&wire).await.unwrap();
                client
            };
            let reader = async {
                let mut got = Vec::new();
                for _ in 0..sent.len() {
                    got.push(recv(&mut server).await);
                }
                got
            };
            let (_client, got) = tokio::join!(writer, reader);
            for (g, s) in got.iter().zip(&sent) {
                same(g, s);
            }
        }
    }

    #[test]
    fn byte_by_byte_decoder_with_large_split_envelope() {
        let mut server = CqlCodec::new(Role::Server);
        server.set_framing(Framing::Segments);
        server.set_compression(Compression::Lz4);
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        client.set_compression(Compression::Lz4);
        let sent = vec![
            request(Version::V5, Opcode::Query, 1, b"small"),
            request(Version::V5, Opcode::Batch, 2, &noise(300_000, 1)),
            request(Version::V5, Opcode::Query, 3, b"after"),
        ];
        let mut wire = BytesMut::new();
        client.encode_batch(&sent, &mut wire).unwrap();
        let mut src = BytesMut::new();
        let mut got = Vec::new();
        for &b in wire.iter() {
            src.put_u8(b);
            while let Some(e) = server.decode_envelope(&mut src).unwrap() {
                got.push(e);
            }
        }
        assert!(src.is_empty());
        assert_eq!(got.len(), 3);
        for (g, s) in got.iter().zip(&sent) {
            same(g, s);
        }
    }

    #[test]
    fn hostile_lengths_are_rejected_before_reserving() {
        let mut codec = CqlCodec::new(Role::Client);
        // 2 GiB - 1 body: over the default limit, refused on the header alone.
        let mut src = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0x7f, 0xff, 0xff, 0xff][..]);
        let err = codec.decode_envelope(&mut src).unwrap_err();
        assert_eq!(err, DecodeError::EnvelopeTooLarge { len: 0x7fff_ffff, max: DEFAULT_MAX_ENVELOPE_LEN });
        assert!(src.capacity() < 1024);
        // Negative length.
        let mut src = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0xff, 0xff, 0xff, 0xf0][..]);
        assert!(matches!(codec.decode_envelope(&mut src), Err(DecodeError::InvalidLength { .. })));
        // Within the limit, but the body has not arrived: reserve at most MAX_RESERVE_AHEAD.
        let mut src = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0x0f, 0xff, 0xff, 0xff][..]);
        assert_eq!(codec.decode_envelope(&mut src), Ok(None));
        assert!(src.capacity() <= 2 * (HEADER_LEN + MAX_RESERVE_AHEAD), "{}", src.capacity());
        // A custom limit.
        let mut small = CqlCodec::new(Role::Client).with_max_envelope_len(100);
        assert_eq!(small.max_envelope_len(), 100);
        let mut src = BytesMut::from(&[0x84, 0, 0, 1, 0x08, 0, 0, 0, 101][..]);
        assert_eq!(small.decode_envelope(&mut src), Err(DecodeError::EnvelopeTooLarge { len: 101, max: 100 }));
        // In segments, the same limit applies to an envelope split across slices.
        small.set_framing(Framing::Segments);
        let mut wire = BytesMut::new();
        encode_segment(&mut wire, &[0x84, 0, 0, 1, 0x08, 0x7f, 0xff, 0xff, 0xff], false, false).unwrap();
        assert_eq!(small.decode_envelope(&mut wire), Err(DecodeError::EnvelopeTooLarge { len: 0x7fff_ffff, max: 100 }));
        // Encoders refuse bodies over the limit too.
        let mut client = CqlCodec::new(Role::Client).with_max_envelope_len(10);
        let err = client.encode_envelope(&request(Version::V4, Opcode::Query, 0, &[0; 11]), &mut BytesMut::new());
        assert!(matches!(err, Err(EncodeError::TooLong { len: 11, max: 10, .. })), "{err:?}");
    }

    #[tokio::test]
    async fn hostile_length_over_the_transport() {
        let (mut client, mut server) = pair();
        server.get_mut().write_all(&[0x84, 0, 0, 1, 0x08, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]).await.unwrap();
        let err = client.next().await.unwrap().unwrap_err();
        assert!(matches!(err, CodecError::Decode(DecodeError::EnvelopeTooLarge { .. })), "{err:?}");
    }

    #[tokio::test]
    async fn wrong_direction_is_rejected() {
        let (mut client, mut server) = pair();
        // A client writing a response on purpose, through the plain function.
        let mut wire = BytesMut::new();
        encode_unframed(&response(Version::V4, Opcode::Ready, 0, b""), Compression::None, &mut wire).unwrap();
        client.get_mut().write_all(&wire).await.unwrap();
        let err = server.next().await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::Decode(DecodeError::WrongDirection {
                    expected: Direction::Request,
                    found: Direction::Response,
                    byte: 0x84
                })
            ),
            "{err:?}"
        );
        // And the codec refuses to encode it.
        let err = client.codec_mut().encode_envelope(&response(Version::V4, Opcode::Ready, 0, b""), &mut wire);
        assert!(matches!(err, Err(EncodeError::Invalid { what: "envelope direction", .. })), "{err:?}");
    }

    #[test]
    fn wrong_direction_inside_segments() {
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        let mut wire = BytesMut::new();
        let mut plain = BytesMut::new();
        put_plain(&request(Version::V5, Opcode::Query, 4, b"q"), &mut plain);
        encode_envelopes(&mut wire, &plain, false).unwrap();
        assert!(matches!(client.decode_envelope(&mut wire), Err(DecodeError::WrongDirection { .. })));
    }

    #[test]
    fn version_mismatch_inside_segments() {
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        client.set_expected_version(Some(Version::V5));
        let mut wire = BytesMut::new();
        let mut plain = BytesMut::new();
        put_plain(&response(Version::V5, Opcode::Result, 3, &[0, 0, 0, 1]), &mut plain);
        put_plain(&response(Version::V4, Opcode::Result, 4, &[0, 0, 0, 1]), &mut plain);
        encode_envelopes(&mut wire, &plain, false).unwrap();
        assert_eq!(client.decode_envelope(&mut wire).unwrap().unwrap().header.stream, 3);
        assert_eq!(
            client.decode_envelope(&mut wire),
            Err(DecodeError::VersionMismatch { expected: 5, found: 4, stream: 4 })
        );
    }

    #[test]
    fn deferred_decompression_keeps_the_flag_and_the_checks() {
        let mut client = CqlCodec::new(Role::Client).with_max_envelope_len(1000);
        client.set_compression(Compression::Lz4);
        client.set_deferred_decompression(true);
        let mut src = BytesMut::new();
        let env = response(Version::V4, Opcode::Result, 5, &text(900));
        encode_unframed(&env, Compression::Lz4, &mut src).unwrap();
        let wire_len = src.len() - HEADER_LEN;
        let got = client.decode_envelope(&mut src).unwrap().unwrap();
        assert!(got.header.flags.contains(Flags::COMPRESSION));
        assert_eq!(got.body.len(), wire_len, "handed over as it came");
        same(&decompress_envelope(got, 1000, 64).unwrap(), &env);
        // The declared length is still checked against the limit, on the task's side.
        let mut src = BytesMut::new();
        encode_unframed(&response(Version::V4, Opcode::Result, 6, &text(1001)), Compression::Lz4, &mut src).unwrap();
        assert_eq!(client.decode_envelope(&mut src), Err(DecodeError::EnvelopeTooLarge { len: 1001, max: 1000 }));
        // Uncompressed envelopes pass through untouched.
        let plain = response(Version::V4, Opcode::Result, 7, b"abc");
        same(&decompress_envelope(plain.clone(), 10, 1).unwrap(), &plain);
    }

    #[test]
    fn compressed_flag_without_compression() {
        let mut client = CqlCodec::new(Role::Client);
        let mut src = BytesMut::from(&[0x84, 0x01, 0, 7, 0x08, 0, 0, 0, 1, 0xff][..]);
        assert_eq!(client.decode_envelope(&mut src), Err(DecodeError::UnexpectedCompression { stream: 7 }));
        // A garbage compressed body with LZ4 on is a decompression error, and leaves
        // the buffer alone.
        client.set_compression(Compression::Lz4);
        let mut src = BytesMut::from(&[0x84, 0x01, 0, 7, 0x08, 0, 0, 0, 6, 0, 0, 0, 9, 0xf0, 0x00][..]);
        let err = client.decode_envelope(&mut src).unwrap_err();
        assert!(matches!(err, DecodeError::Decompression { .. }), "{err:?}");
        assert_eq!(src.len(), 15);
        // A v5 envelope's flag is ignored: the body is taken as it is.
        let mut src = BytesMut::from(&[0x85, 0x01, 0, 7, 0x08, 0, 0, 0, 1, 0xff][..]);
        let e = client.decode_envelope(&mut src).unwrap().unwrap();
        assert_eq!((&e.body[..], e.header.flags), (&[0xff][..], Flags::empty()));
    }

    #[test]
    fn v5_envelope_flag_ignored_inside_segments() {
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        let raw = [0x85, 0x01 | 0x08, 0, 3, 0x08, 0, 0, 0, 2, 0xAB, 0xCD];
        let mut wire = BytesMut::new();
        encode_envelopes(&mut wire, &raw, false).unwrap();
        let e = client.decode_envelope(&mut wire).unwrap().unwrap();
        assert_eq!(e.header.flags, Flags::WARNING);
        assert_eq!(&e.body[..], &[0xAB, 0xCD]);
    }

    #[test]
    fn bodies_are_zero_copy_slices() {
        let mut client = CqlCodec::new(Role::Client);
        let mut src = BytesMut::new();
        encode_unframed(&response(Version::V4, Opcode::Result, 1, &[7; 1000]), Compression::None, &mut src).unwrap();
        let ptr = src.as_ptr() as usize + HEADER_LEN;
        let e = client.decode_envelope(&mut src).unwrap().unwrap();
        assert_eq!(e.body.as_ptr() as usize, ptr);
        assert_eq!(e.header.length, 1000);
    }

    #[test]
    fn failed_batch_writes_nothing() {
        let mut client = CqlCodec::new(Role::Client);
        let batch = [request(Version::V4, Opcode::Query, 1, b"a"), response(Version::V4, Opcode::Result, 2, b"b")];
        for framing in [Framing::Envelopes, Framing::Segments] {
            client.set_framing(framing);
            let mut dst = BytesMut::from(&b"x"[..]);
            assert!(client.encode_batch(&batch, &mut dst).is_err());
            assert_eq!(&dst[..], b"x");
        }
    }

    #[test]
    fn queued_envelopes_survive_a_framing_switch() {
        let mut server = CqlCodec::new(Role::Server);
        server.set_framing(Framing::Segments);
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        let batch = [request(Version::V5, Opcode::Query, 1, b"a"), request(Version::V5, Opcode::Query, 2, b"b")];
        let mut wire = BytesMut::new();
        client.encode_batch(&batch, &mut wire).unwrap();
        assert_eq!(server.decode_envelope(&mut wire).unwrap().unwrap().header.stream, 1);
        server.set_framing(Framing::Envelopes);
        assert_eq!(server.decode_envelope(&mut wire).unwrap().unwrap().header.stream, 2);
        assert_eq!(server.decode_envelope(&mut wire), Ok(None));
    }

    #[test]
    fn getters_and_defaults() {
        let codec = CqlCodec::new(Role::Server);
        assert_eq!(
            (codec.role(), codec.framing(), codec.compression(), codec.max_envelope_len()),
            (Role::Server, Framing::Envelopes, Compression::None, DEFAULT_MAX_ENVELOPE_LEN)
        );
        assert_eq!((Role::Client.incoming(), Role::Client.outgoing()), (Direction::Response, Direction::Request));
        assert_eq!(Compression::default(), Compression::None);
        let err: CodecError = std::io::Error::other("boom").into();
        assert!(err.to_string().contains("boom"));
    }

    #[tokio::test]
    async fn end_of_input_mid_envelope() {
        // Half of a split envelope, then the peer goes away.
        let (mut a, b) = duplex(1 << 20);
        let mut server = Framed::new(b, CqlCodec::new(Role::Server));
        server.codec_mut().set_framing(Framing::Segments);
        let mut plain = BytesMut::new();
        put_plain(&request(Version::V5, Opcode::Query, 1, &[0; 200_000]), &mut plain);
        let mut wire = BytesMut::new();
        encode_segment(&mut wire, &plain[..1000], false, false).unwrap();
        a.write_all(&wire).await.unwrap();
        drop(a);
        let err = server.next().await.unwrap().unwrap_err();
        assert!(matches!(&err, CodecError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof), "{err:?}");

        // Queued envelopes still come out at end of input, then the stream ends.
        let (mut a, b) = duplex(1 << 20);
        let mut server = Framed::new(b, CqlCodec::new(Role::Server));
        server.codec_mut().set_framing(Framing::Segments);
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        let batch = [request(Version::V5, Opcode::Query, 1, b"a"), request(Version::V5, Opcode::Query, 2, b"b")];
        let mut wire = BytesMut::new();
        client.encode_batch(&batch, &mut wire).unwrap();
        a.write_all(&wire).await.unwrap();
        drop(a);
        same(&recv(&mut server).await, &batch[0]);
        same(&recv(&mut server).await, &batch[1]);
        assert!(server.next().await.is_none());
    }

    #[test]
    fn truncated_unframed_input_waits() {
        let mut wire = BytesMut::new();
        let e = response(Version::V4, Opcode::Result, 5, &text(500));
        encode_unframed(&e, Compression::Lz4, &mut wire).unwrap();
        for n in 0..wire.len() {
            let mut client = CqlCodec::new(Role::Client);
            client.set_compression(Compression::Lz4);
            let mut src = BytesMut::from(&wire[..n]);
            assert_eq!(client.decode_envelope(&mut src), Ok(None), "prefix of {n}");
        }
    }
}
