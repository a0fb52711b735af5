//! v5 framing: segments (the spec's "frames", spec v5 §1, §2.1, §2.2) and the
//! reassembly of the envelopes they carry.
//!
//! Owns the segment header layouts (6 bytes plain, 8 bytes with LZ4, little-endian),
//! the header CRC24 and payload CRC32 checks, the size limit of a payload, the packing
//! of encoded envelopes into segments, and [`SegmentReader`], which turns a stream of
//! segments back into whole envelopes. It treats an envelope as opaque bytes apart from
//! the body length in its header: it must not interpret versions, opcodes or bodies
//! (that is [`super::header`] and the codec's job), and it does no IO.
//!
//! Segment framing starts only after the STARTUP exchange (spec v5 §2.3.1); choosing
//! when is up to [`super::codec`].

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::compression::{compress_block, decompress_block};
use super::crc::{crc24, crc32};
use super::error::{DecodeError, EncodeError};
use super::header::HEADER_LEN;

/// The largest payload one segment may carry: 2¹⁷ − 1 bytes (spec v5 §2.1). With LZ4
/// this bounds the uncompressed length too (spec v5 §2.2).
pub const MAX_SEGMENT_PAYLOAD: usize = 131_071;

/// Header length of a segment without compression: 3 data bytes and a 3-byte CRC24.
pub const HEADER_LEN_PLAIN: usize = 6;

/// Header length of a segment on an LZ4 connection: 5 data bytes and a 3-byte CRC24.
pub const HEADER_LEN_LZ4: usize = 8;

/// Length of the CRC32 trailer after every payload.
pub const TRAILER_LEN: usize = 4;

/// Mask of one 17-bit length field.
const LEN_MASK: u64 = 0x1_FFFF;

/// The most a decoder reserves ahead of an envelope body that has not arrived yet, as
/// soon as its header announces the length: a page of the usual sizes lands in one
/// allocation, with no copy per doubling (and a received page then pins an allocation
/// of its own size, not twice it). A peer can announce any length up to the limit, so
/// this also caps what a hostile header costs before its bytes arrive; beyond it the
/// buffer grows with the data.
pub(crate) const MAX_RESERVE_AHEAD: usize = 8 << 20;

/// The header length for a connection with (`true`) or without LZ4.
pub const fn header_len(compressed: bool) -> usize {
    if compressed { HEADER_LEN_LZ4 } else { HEADER_LEN_PLAIN }
}

/// One decoded segment: its payload (decompressed if it was compressed) and whether it
/// holds whole envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The payload, after decompression.
    pub payload: Bytes,
    /// Whether the payload is one or more whole envelopes (`true`) or one slice of a
    /// single large envelope (`false`), spec v5 §1.
    pub self_contained: bool,
}

/// The fields of a segment header, without its CRC24.
///
/// Public so tests and the test server can write headers with valid CRCs but odd
/// contents; [`encode_segment`] is the normal way to write a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Number of payload bytes on the wire (the compressed length with LZ4).
    pub payload_len: usize,
    /// With LZ4, the length the payload decompresses to, or 0 for a payload sent
    /// as-is (spec v5 §2.2). Not on the wire without compression, and 0 there.
    pub uncompressed_len: usize,
    /// The self-contained flag.
    pub self_contained: bool,
}

impl SegmentHeader {
    /// Parses and checks a header from the front of `src`: `Ok(None)` if fewer than
    /// [`header_len`] bytes are there yet, an error if the CRC24 does not match. The
    /// lengths are only read once the CRC has vouched for them. Padding bits are
    /// ignored (spec v5 §2.1).
    pub fn decode(src: &[u8], compressed: bool) -> Result<Option<SegmentHeader>, DecodeError> {
        let data_len = header_len(compressed) - 3;
        let Some(head) = src.get(..header_len(compressed)) else {
            return Ok(None);
        };
        let (data, crc) = head.split_at(data_len);
        let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], 0]);
        let actual = crc24(data);
        if expected != actual {
            return Err(DecodeError::HeaderCrcMismatch { expected, actual });
        }
        let mut raw = [0u8; 8];
        raw[..data_len].copy_from_slice(data);
        let bits = u64::from_le_bytes(raw);
        // spec v5 §2.1 (17-bit length, flag at bit 17) and §2.2 (two 17-bit lengths,
        // flag at bit 34).
        let header = if compressed {
            SegmentHeader {
                payload_len: (bits & LEN_MASK) as usize,
                uncompressed_len: ((bits >> 17) & LEN_MASK) as usize,
                self_contained: bits & (1 << 34) != 0,
            }
        } else {
            SegmentHeader {
                payload_len: (bits & LEN_MASK) as usize,
                uncompressed_len: 0,
                self_contained: bits & (1 << 17) != 0,
            }
        };
        Ok(Some(header))
    }

    /// Appends the header (data bytes and CRC24). Fails if a length exceeds
    /// [`MAX_SEGMENT_PAYLOAD`]; `uncompressed_len` is ignored without compression.
    pub fn encode(&self, compressed: bool, dst: &mut BytesMut) -> Result<(), EncodeError> {
        for (what, len) in
            [("segment payload", self.payload_len), ("segment uncompressed length", self.uncompressed_len)]
        {
            if len > MAX_SEGMENT_PAYLOAD {
                return Err(EncodeError::TooLong { what, len, max: MAX_SEGMENT_PAYLOAD });
            }
        }
        let (bytes, len) = self.to_bytes(compressed);
        dst.put_slice(&bytes[..len]);
        Ok(())
    }

    /// The header bytes and how many of the 8 are used. Lengths are masked to 17 bits,
    /// so callers check them first.
    fn to_bytes(self, compressed: bool) -> ([u8; 8], usize) {
        let payload_len = self.payload_len as u64 & LEN_MASK;
        let bits = if compressed {
            payload_len | ((self.uncompressed_len as u64 & LEN_MASK) << 17) | (u64::from(self.self_contained) << 34)
        } else {
            payload_len | (u64::from(self.self_contained) << 17)
        };
        let data_len = header_len(compressed) - 3;
        let mut out = bits.to_le_bytes();
        // The CRC24 follows the data bytes, low byte first (spec v5 §2.1).
        let crc = crc24(&out[..data_len]).to_le_bytes();
        out[data_len..data_len + 3].copy_from_slice(&crc[..3]);
        (out, header_len(compressed))
    }
}

/// Decodes one segment from the front of `src`.
///
/// Returns `Ok(None)` when more bytes are needed (reserving room for the rest of the
/// segment, at most one maximal segment), and consumes the segment on success. The
/// header CRC24 is checked before its lengths are used and the payload CRC32 before the
/// payload is used; with LZ4, a payload is decompressed only when its header gives a
/// non-zero uncompressed length, and must yield exactly that many bytes (spec v5 §2.2).
/// On error `src` is left as it was; the connection cannot continue.
pub fn decode_segment(src: &mut BytesMut, compressed: bool) -> Result<Option<Segment>, DecodeError> {
    let hlen = header_len(compressed);
    let Some(header) = SegmentHeader::decode(src, compressed)? else {
        src.reserve(hlen - src.len().min(hlen));
        return Ok(None);
    };
    // Both lengths are 17-bit fields, so none of this can overflow.
    let payload_end = hlen + header.payload_len;
    let total = payload_end + TRAILER_LEN;
    if src.len() < total {
        src.reserve(total - src.len());
        return Ok(None);
    }
    let (Some(wire), Some(trailer)) = (src.get(hlen..payload_end), src.get(payload_end..total)) else {
        return Ok(None);
    };
    let expected = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let actual = crc32(wire);
    if expected != actual {
        return Err(DecodeError::PayloadCrcMismatch { expected, actual });
    }
    let payload = if compressed && header.uncompressed_len != 0 {
        // Decompress before consuming, so a bad block leaves `src` untouched.
        let out = decompress_block(wire, header.uncompressed_len)?;
        src.advance(total);
        out
    } else {
        src.advance(hlen);
        let payload = src.split_to(header.payload_len).freeze();
        src.advance(TRAILER_LEN);
        payload
    };
    Ok(Some(Segment { payload, self_contained: header.self_contained }))
}

/// Appends one segment carrying `payload` (at most [`MAX_SEGMENT_PAYLOAD`] bytes).
///
/// With `compressed`, the payload is LZ4-compressed when that makes it smaller, and is
/// otherwise sent as-is with an uncompressed length of 0 (spec v5 §2.2).
pub fn encode_segment(
    dst: &mut BytesMut,
    payload: &[u8],
    self_contained: bool,
    compressed: bool,
) -> Result<(), EncodeError> {
    if payload.len() > MAX_SEGMENT_PAYLOAD {
        return Err(EncodeError::TooLong { what: "segment payload", len: payload.len(), max: MAX_SEGMENT_PAYLOAD });
    }
    if compressed {
        let header_at = dst.len();
        dst.put_bytes(0, HEADER_LEN_LZ4);
        let packed = compress_block(payload, dst);
        if packed < payload.len() {
            let header = SegmentHeader { payload_len: packed, uncompressed_len: payload.len(), self_contained };
            let (bytes, _) = header.to_bytes(true);
            let body_at = header_at + HEADER_LEN_LZ4;
            if let Some(slot) = dst.get_mut(header_at..body_at) {
                slot.copy_from_slice(&bytes);
            }
            let crc = crc32(dst.get(body_at..).unwrap_or_default());
            dst.put_u32_le(crc);
            return Ok(());
        }
        dst.truncate(header_at);
    }
    let header = SegmentHeader { payload_len: payload.len(), uncompressed_len: 0, self_contained };
    put_segment(dst, header, payload, compressed);
    Ok(())
}

/// Appends a segment with this header and these payload bytes as they are (no
/// compression is applied). The header's lengths must already be checked.
fn put_segment(dst: &mut BytesMut, header: SegmentHeader, wire_payload: &[u8], compressed: bool) {
    let (bytes, len) = header.to_bytes(compressed);
    dst.reserve(len + wire_payload.len() + TRAILER_LEN);
    dst.put_slice(&bytes[..len]);
    dst.put_slice(wire_payload);
    dst.put_u32_le(crc32(wire_payload));
}

/// Packs a buffer of back-to-back encoded envelopes (9-byte header and body each) into
/// segments, appending them to `dst`.
///
/// Envelopes are packed greedily, in order, into as few self-contained segments as
/// possible, never splitting one across them. An envelope longer than
/// [`MAX_SEGMENT_PAYLOAD`] goes alone, cut into consecutive non-self-contained segments
/// after whatever was pending has been sent (spec v5 §1). An empty buffer writes
/// nothing.
///
/// Fails, writing nothing, if the buffer does not split exactly into envelopes.
pub fn encode_envelopes(dst: &mut BytesMut, envelopes: &[u8], compressed: bool) -> Result<(), EncodeError> {
    let start = dst.len();
    let result = pack_envelopes(dst, envelopes, compressed);
    if result.is_err() {
        dst.truncate(start);
    }
    result
}

fn pack_envelopes(dst: &mut BytesMut, envelopes: &[u8], compressed: bool) -> Result<(), EncodeError> {
    // `pending` is where the envelopes waiting for the current self-contained segment
    // start; `pos` is where the next envelope starts.
    let mut pending = 0;
    let mut pos = 0;
    while pos < envelopes.len() {
        let len = encoded_envelope_len(envelopes, pos)?;
        let end = pos + len;
        if len > MAX_SEGMENT_PAYLOAD {
            if pos > pending {
                encode_segment(dst, &envelopes[pending..pos], true, compressed)?;
            }
            for slice in envelopes[pos..end].chunks(MAX_SEGMENT_PAYLOAD) {
                encode_segment(dst, slice, false, compressed)?;
            }
            pending = end;
        } else if end - pending > MAX_SEGMENT_PAYLOAD {
            encode_segment(dst, &envelopes[pending..pos], true, compressed)?;
            pending = pos;
        }
        pos = end;
    }
    if pos > pending {
        encode_segment(dst, &envelopes[pending..pos], true, compressed)?;
    }
    Ok(())
}

/// Length (header and body) of the encoded envelope starting at `pos`, checked to fit
/// in `buf`.
fn encoded_envelope_len(buf: &[u8], pos: usize) -> Result<usize, EncodeError> {
    let invalid = |detail: String| EncodeError::Invalid { what: "envelope buffer", detail };
    let header = pos.checked_add(HEADER_LEN).and_then(|end| buf.get(pos..end)).ok_or_else(|| {
        invalid(format!("{} bytes at offset {pos} are too few for an envelope header", buf.len().saturating_sub(pos)))
    })?;
    let body = i32::from_be_bytes([header[5], header[6], header[7], header[8]]);
    let body = usize::try_from(body).map_err(|_| invalid(format!("negative body length {body} at offset {pos}")))?;
    let len = HEADER_LEN + body;
    let remaining = buf.len() - pos;
    if len > remaining {
        return Err(invalid(format!("envelope at offset {pos} needs {len} bytes, {remaining} remain")));
    }
    Ok(len)
}

/// Reads the body length from a complete 9-byte envelope header and returns the whole
/// envelope's length, refusing negative lengths and bodies over `max_body`.
fn envelope_total_len(header: &[u8; HEADER_LEN], at: usize, max_body: usize) -> Result<usize, DecodeError> {
    // spec v5 §2.4.1.5: a signed 4-byte length at offset 5.
    let body = i32::from_be_bytes([header[5], header[6], header[7], header[8]]);
    let body = usize::try_from(body).map_err(|_| DecodeError::InvalidLength {
        what: "envelope body length",
        at: at + 5,
        len: body.into(),
    })?;
    if body > max_body {
        return Err(DecodeError::EnvelopeTooLarge { len: body as u64, max: max_body });
    }
    Ok(HEADER_LEN + body)
}

/// Turns decoded segments back into whole envelopes (spec v5 §1).
///
/// A self-contained payload is split into the envelopes it holds, as zero-copy slices;
/// it must end exactly at an envelope boundary. Non-self-contained payloads are joined
/// until the envelope that the first of them starts is complete: its header may itself
/// be split across slices, its body length is checked against the limit before any
/// body byte is kept, and a slice reaching past its end is an error. Buffer space
/// grows only with the slices that actually arrive. Self-contained segments that
/// arrive between the slices of a large envelope are handled on their own, as
/// Cassandra and the Java driver do.
///
/// Envelopes come out as raw bytes (header and body); the codec parses the header.
#[derive(Debug)]
pub struct SegmentReader {
    compressed: bool,
    max_envelope_len: usize,
    ready: VecDeque<Bytes>,
    /// The large envelope being joined from non-self-contained slices.
    partial: BytesMut,
    /// Its total length, once its whole header has arrived.
    partial_len: Option<usize>,
}

impl SegmentReader {
    /// A reader for a connection with (`compressed`) or without LZ4 whose envelope
    /// bodies may be at most `max_envelope_len` bytes.
    pub fn new(compressed: bool, max_envelope_len: usize) -> SegmentReader {
        SegmentReader {
            compressed,
            max_envelope_len,
            ready: VecDeque::new(),
            partial: BytesMut::new(),
            partial_len: None,
        }
    }

    /// Whether segments are read with LZ4 headers.
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// Sets whether segments are read with LZ4 headers.
    pub fn set_compressed(&mut self, compressed: bool) {
        self.compressed = compressed;
    }

    /// The limit on an envelope body.
    pub fn max_envelope_len(&self) -> usize {
        self.max_envelope_len
    }

    /// Sets the limit on an envelope body.
    pub fn set_max_envelope_len(&mut self, max: usize) {
        self.max_envelope_len = max;
    }

    /// Whether a large envelope is partly received.
    pub fn has_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    /// Number of complete envelopes waiting in [`next_envelope`](Self::next_envelope).
    pub fn ready_len(&self) -> usize {
        self.ready.len()
    }

    /// The next complete envelope (header and body), if one is ready.
    pub fn next_envelope(&mut self) -> Option<Bytes> {
        self.ready.pop_front()
    }

    /// Returns the next complete envelope, decoding segments from `src` until one is
    /// ready; `Ok(None)` when `src` runs out first.
    pub fn read_envelope(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        loop {
            if let Some(envelope) = self.ready.pop_front() {
                return Ok(Some(envelope));
            }
            match decode_segment(src, self.compressed)? {
                Some(segment) => self.push_segment(segment)?,
                None => return Ok(None),
            }
        }
    }

    /// Takes in one decoded segment; the envelopes it completes become available from
    /// [`next_envelope`](Self::next_envelope). A self-contained segment that fails
    /// yields none of its envelopes.
    pub fn push_segment(&mut self, segment: Segment) -> Result<(), DecodeError> {
        if segment.self_contained { self.push_whole(segment.payload) } else { self.push_slice(&segment.payload) }
    }

    fn push_whole(&mut self, payload: Bytes) -> Result<(), DecodeError> {
        // Check every boundary first, so a bad segment yields nothing.
        let mut pos = 0;
        while pos < payload.len() {
            pos += self.whole_envelope_len(&payload, pos)?;
        }
        let mut rest = payload;
        while !rest.is_empty() {
            let len = self.whole_envelope_len(&rest, 0)?;
            self.ready.push_back(rest.split_to(len));
        }
        Ok(())
    }

    /// Length of the envelope at `pos` of a self-contained payload, which must hold it
    /// entirely.
    fn whole_envelope_len(&self, payload: &[u8], pos: usize) -> Result<usize, DecodeError> {
        let rest = payload.get(pos..).unwrap_or_default();
        let Some(header) = rest.first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::Truncated {
                what: "envelope header in self-contained segment",
                at: pos,
                needed: HEADER_LEN,
                available: rest.len(),
            });
        };
        let len = envelope_total_len(header, pos, self.max_envelope_len)?;
        if len > rest.len() {
            return Err(DecodeError::Truncated {
                what: "envelope in self-contained segment",
                at: pos,
                needed: len,
                available: rest.len(),
            });
        }
        Ok(len)
    }

    fn push_slice(&mut self, mut data: &[u8]) -> Result<(), DecodeError> {
        let target = match self.partial_len {
            Some(target) => target,
            None => {
                // The header may arrive in pieces; take what is missing of it.
                let missing = HEADER_LEN.saturating_sub(self.partial.len());
                let (head, rest) = data.split_at(missing.min(data.len()));
                self.partial.extend_from_slice(head);
                data = rest;
                let Some(header) = self.partial.first_chunk::<HEADER_LEN>() else {
                    return Ok(());
                };
                let target = envelope_total_len(header, 0, self.max_envelope_len)?;
                self.partial_len = Some(target);
                // One allocation for the whole envelope (see MAX_RESERVE_AHEAD).
                self.partial.reserve(target.saturating_sub(self.partial.len()).min(MAX_RESERVE_AHEAD));
                target
            }
        };
        let room = target.saturating_sub(self.partial.len());
        if data.len() > room {
            return Err(DecodeError::Invalid {
                what: "split envelope",
                at: self.partial.len(),
                detail: format!("a slice carries {} bytes past the end of the envelope", data.len() - room),
            });
        }
        self.partial.extend_from_slice(data);
        if self.partial.len() == target {
            self.partial_len = None;
            let envelope = self.partial.split().freeze();
            self.ready.push_back(envelope);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn decode_all(bytes: &[u8], compressed: bool) -> Segment {
        let mut src = BytesMut::from(bytes);
        let seg = decode_segment(&mut src, compressed).unwrap().unwrap();
        assert!(src.is_empty(), "{} bytes left over", src.len());
        seg
    }

    fn encode(payload: &[u8], self_contained: bool, compressed: bool) -> Vec<u8> {
        let mut dst = BytesMut::new();
        encode_segment(&mut dst, payload, self_contained, compressed).unwrap();
        dst.to_vec()
    }

    /// An encoded envelope: v5 request header on `stream` with a body of `len` bytes.
    fn envelope(stream: i16, len: usize) -> Vec<u8> {
        let mut v = vec![0x05, 0x00];
        v.extend_from_slice(&stream.to_be_bytes());
        v.push(0x07);
        v.extend_from_slice(&(len as u32).to_be_bytes());
        v.extend((0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ (stream as u8)));
        v
    }

    fn vector_a() -> Vec<u8> {
        hex("040002 01f9f2 00000001 1fd6022d")
    }

    fn vector_b() -> Vec<u8> {
        let mut v = hex("ffff03 254047");
        v.extend(std::iter::repeat_n(1u8, MAX_SEGMENT_PAYLOAD));
        v.extend(hex("a05c2f13"));
        v
    }

    fn vector_c_payload() -> Vec<u8> {
        hex("f001 00000001 00000001 00000001 00000001")
    }

    fn vector_c() -> Vec<u8> {
        let mut v = hex("1200200004 91c94f");
        v.extend(vector_c_payload());
        v.extend(hex("2bd67f90"));
        v
    }

    #[test]
    fn vector_a_uncompressed() {
        let seg = decode_all(&vector_a(), false);
        assert_eq!(seg, Segment { payload: Bytes::from_static(&[0, 0, 0, 1]), self_contained: true });
        assert_eq!(encode(&[0, 0, 0, 1], true, false), vector_a());
    }

    #[test]
    fn vector_b_max_size() {
        let seg = decode_all(&vector_b(), false);
        assert!(seg.self_contained);
        assert_eq!(seg.payload.len(), MAX_SEGMENT_PAYLOAD);
        assert!(seg.payload.iter().all(|&b| b == 1));
        assert_eq!(encode(&[1u8; MAX_SEGMENT_PAYLOAD], true, false), vector_b());
    }

    #[test]
    fn vector_c_lz4() {
        let seg = decode_all(&vector_c(), true);
        assert!(seg.self_contained);
        assert_eq!(&seg.payload[..], &hex("00000001 00000001 00000001 00000001")[..]);
        // Our encoder would send these 16 bytes raw (the block is larger), so build the
        // vector from its parts to check the header and trailer layout.
        let mut dst = BytesMut::new();
        let header = SegmentHeader { payload_len: 18, uncompressed_len: 16, self_contained: true };
        put_segment(&mut dst, header, &vector_c_payload(), true);
        assert_eq!(&dst[..], &vector_c()[..]);
        let mut dst = BytesMut::new();
        header.encode(true, &mut dst).unwrap();
        assert_eq!(&dst[..], &hex("1200200004 91c94f")[..]);
    }

    #[test]
    fn vector_d_empty() {
        let bytes = hex("000002 6a36c4 d37e7744");
        let seg = decode_all(&bytes, false);
        assert_eq!(seg, Segment { payload: Bytes::new(), self_contained: true });
        assert_eq!(encode(&[], true, false), bytes);
    }

    #[test]
    fn vector_e_both_flags() {
        let payload = [b'b'; 50];
        let mut sc = hex("320002 a5ffee");
        sc.extend_from_slice(&payload);
        sc.extend(hex("7aaeeb7c"));
        let mut nsc = hex("320000 b82e57");
        nsc.extend_from_slice(&payload);
        nsc.extend(hex("7aaeeb7c"));
        assert_eq!(decode_all(&sc, false), Segment { payload: Bytes::copy_from_slice(&payload), self_contained: true });
        assert_eq!(
            decode_all(&nsc, false),
            Segment { payload: Bytes::copy_from_slice(&payload), self_contained: false }
        );
        assert_eq!(encode(&payload, true, false), sc);
        assert_eq!(encode(&payload, false, false), nsc);
    }

    #[test]
    fn vector_f_lz4_raw() {
        let bytes = hex("0100000004 06a587 62 e91b206e");
        assert_eq!(decode_all(&bytes, true), Segment { payload: Bytes::from_static(b"b"), self_contained: true });
        assert_eq!(encode(b"b", true, true), bytes);
    }

    #[test]
    fn vector_g_options_request() {
        let bytes = hex("090002a4c8c1 050000000500000000 1086284d");
        let seg = decode_all(&bytes, false);
        assert_eq!(&seg.payload[..], &hex("050000000500000000")[..]);
        assert_eq!(encode(&seg.payload, true, false), bytes);
        let mut dst = BytesMut::new();
        encode_envelopes(&mut dst, &seg.payload, false).unwrap();
        assert_eq!(&dst[..], &bytes[..]);
        let mut reader = SegmentReader::new(false, 1 << 20);
        let mut src = BytesMut::from(&bytes[..]);
        assert_eq!(reader.read_envelope(&mut src).unwrap().unwrap(), seg.payload);
        assert_eq!(reader.read_envelope(&mut src).unwrap(), None);
    }

    #[test]
    fn lz4_roundtrip_compresses_when_smaller() {
        let payload: Vec<u8> = (0..10_000).map(|i| (i % 17) as u8).collect();
        let bytes = encode(&payload, false, true);
        assert!(bytes.len() < payload.len() / 4, "{} bytes", bytes.len());
        let header = SegmentHeader::decode(&bytes, true).unwrap().unwrap();
        assert_eq!(header.uncompressed_len, payload.len());
        assert_eq!(header.payload_len, bytes.len() - HEADER_LEN_LZ4 - TRAILER_LEN);
        assert!(!header.self_contained);
        let seg = decode_all(&bytes, true);
        assert_eq!(&seg.payload[..], &payload[..]);
        assert!(!seg.self_contained);
    }

    #[test]
    fn lz4_incompressible_and_max_sizes() {
        let mut x = 0x9E37_79B9u32;
        let noise: Vec<u8> = (0..MAX_SEGMENT_PAYLOAD)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        for payload in [&noise[..], &vec![7u8; MAX_SEGMENT_PAYLOAD][..], &[][..]] {
            let bytes = encode(payload, true, true);
            let header = SegmentHeader::decode(&bytes, true).unwrap().unwrap();
            if header.uncompressed_len == 0 {
                assert_eq!(header.payload_len, payload.len(), "sent raw");
            } else {
                assert!(header.payload_len < payload.len());
            }
            assert_eq!(&decode_all(&bytes, true).payload[..], payload);
        }
        let header = SegmentHeader::decode(&encode(&noise, true, true), true).unwrap().unwrap();
        assert_eq!(header.uncompressed_len, 0, "noise does not compress");
    }

    #[test]
    fn oversized_payload_rejected() {
        let big = vec![0u8; MAX_SEGMENT_PAYLOAD + 1];
        for compressed in [false, true] {
            let mut dst = BytesMut::from(&b"keep"[..]);
            let err = encode_segment(&mut dst, &big, true, compressed).unwrap_err();
            assert!(matches!(err, EncodeError::TooLong { len: 131_072, max: 131_071, .. }), "{err:?}");
            assert_eq!(&dst[..], b"keep");
        }
        let header = SegmentHeader { payload_len: 10, uncompressed_len: MAX_SEGMENT_PAYLOAD + 1, self_contained: true };
        assert!(header.encode(true, &mut BytesMut::new()).is_err());
    }

    #[test]
    fn header_crc_corruption_detected() {
        for (bytes, compressed) in [(vector_a(), false), (vector_c(), true)] {
            for i in 0..header_len(compressed) {
                for bit in 0..8 {
                    let mut bad = bytes.clone();
                    bad[i] ^= 1 << bit;
                    let mut src = BytesMut::from(&bad[..]);
                    let err = decode_segment(&mut src, compressed).unwrap_err();
                    assert!(matches!(err, DecodeError::HeaderCrcMismatch { .. }), "byte {i} bit {bit}: {err:?}");
                    assert_eq!(src.len(), bad.len(), "nothing consumed");
                }
            }
        }
    }

    #[test]
    fn payload_crc_corruption_detected() {
        for (bytes, compressed) in [(vector_a(), false), (vector_c(), true), (vector_b(), false)] {
            let hlen = header_len(compressed);
            for i in [hlen, bytes.len() - 5, bytes.len() - 1] {
                let mut bad = bytes.clone();
                bad[i] ^= 0x40;
                let err = decode_segment(&mut BytesMut::from(&bad[..]), compressed).unwrap_err();
                assert!(matches!(err, DecodeError::PayloadCrcMismatch { .. }), "byte {i}: {err:?}");
            }
        }
    }

    #[test]
    fn wrong_header_size_for_connection_is_rejected() {
        // An LZ4 reader on a plain stream (and the reverse) fails the header CRC.
        assert!(decode_segment(&mut BytesMut::from(&vector_a()[..]), true).is_err());
        assert!(decode_segment(&mut BytesMut::from(&vector_c()[..]), false).is_err());
    }

    #[test]
    fn every_truncation_needs_more_or_fails() {
        let mut big = BytesMut::new();
        encode_segment(&mut big, &envelope(3, 5000), true, true).unwrap();
        let cases = [
            (vector_a(), false),
            (vector_c(), true),
            (hex("0100000004 06a587 62 e91b206e"), true),
            (big.to_vec(), true),
        ];
        for (bytes, compressed) in cases {
            for n in 0..bytes.len() {
                let mut src = BytesMut::from(&bytes[..n]);
                assert_eq!(decode_segment(&mut src, compressed), Ok(None), "prefix of {n}");
                assert_eq!(src.len(), n, "nothing consumed");
            }
        }
    }

    #[test]
    fn hostile_headers() {
        // Valid CRC, LZ4 header claiming a 1-byte payload that expands to 131071 bytes.
        let mut dst = BytesMut::new();
        put_segment(
            &mut dst,
            SegmentHeader { payload_len: 1, uncompressed_len: MAX_SEGMENT_PAYLOAD, self_contained: true },
            &[0x00],
            true,
        );
        let err = decode_segment(&mut dst.clone(), true).unwrap_err();
        assert!(matches!(err, DecodeError::Decompression { .. }), "{err:?}");
        // Garbage block with a plausible length.
        let mut dst = BytesMut::new();
        put_segment(
            &mut dst,
            SegmentHeader { payload_len: 4, uncompressed_len: 100, self_contained: true },
            &[0x1f, 0xff, 0xff, 0xff],
            true,
        );
        assert!(matches!(decode_segment(&mut dst, true), Err(DecodeError::Decompression { .. })));
        // A compressed block that expands to a different length than declared.
        let mut block = BytesMut::new();
        compress_block(&[9u8; 1000], &mut block);
        for declared in [999, 1001] {
            let mut dst = BytesMut::new();
            put_segment(
                &mut dst,
                SegmentHeader { payload_len: block.len(), uncompressed_len: declared, self_contained: true },
                &block,
                true,
            );
            assert!(matches!(decode_segment(&mut dst, true), Err(DecodeError::Decompression { .. })), "{declared}");
        }
        // Header of all-ones data bytes with a matching CRC: lengths are 17-bit, so it
        // asks for at most one maximal segment and waits for it.
        for compressed in [false, true] {
            let data_len = header_len(compressed) - 3;
            let mut bytes = vec![0xffu8; data_len];
            bytes.extend_from_slice(&crc24(&bytes).to_le_bytes()[..3]);
            let mut src = BytesMut::from(&bytes[..]);
            assert_eq!(decode_segment(&mut src, compressed), Ok(None));
            assert!(src.capacity() <= HEADER_LEN_LZ4 + MAX_SEGMENT_PAYLOAD + TRAILER_LEN + 64);
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut x = 0x2545_F491u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..3000 {
            let n = (next() % 40) as usize;
            let mut bytes: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            // Give half of them a valid header CRC so the later checks run too.
            let compressed = next() % 2 == 0;
            let hlen = header_len(compressed);
            if next() % 2 == 0 && bytes.len() >= hlen {
                bytes[2] &= 0x02; // short payload, keep the flag
                if compressed {
                    bytes[1] = 0;
                    bytes[2] = next() as u8;
                    bytes[3] = 0;
                    bytes[4] &= 0x04;
                }
                let crc = crc24(&bytes[..hlen - 3]).to_le_bytes();
                bytes[hlen - 3..hlen].copy_from_slice(&crc[..3]);
            }
            let mut src = BytesMut::from(&bytes[..]);
            let mut reader = SegmentReader::new(compressed, 1 << 16);
            while let Ok(Some(_)) = reader.read_envelope(&mut src) {}
        }
    }

    #[test]
    fn several_envelopes_in_one_segment() {
        let mut buf = Vec::new();
        let envs: Vec<Vec<u8>> = (0..5).map(|i| envelope(i, i as usize * 100)).collect();
        for e in &envs {
            buf.extend_from_slice(e);
        }
        for compressed in [false, true] {
            let mut dst = BytesMut::new();
            encode_envelopes(&mut dst, &buf, compressed).unwrap();
            let header = SegmentHeader::decode(&dst, compressed).unwrap().unwrap();
            assert!(header.self_contained);
            let mut reader = SegmentReader::new(compressed, 1 << 20);
            let mut got = Vec::new();
            while let Some(e) = reader.read_envelope(&mut dst).unwrap() {
                got.push(e.to_vec());
            }
            assert!(dst.is_empty());
            assert_eq!(got, envs);
        }
    }

    /// Splits a stream of segments back into (payload length before compression,
    /// self-contained).
    fn segment_shapes(mut bytes: BytesMut, compressed: bool) -> Vec<(usize, bool)> {
        let mut shapes = Vec::new();
        while !bytes.is_empty() {
            let header = SegmentHeader::decode(&bytes, compressed).unwrap().unwrap();
            let len = if header.uncompressed_len != 0 { header.uncompressed_len } else { header.payload_len };
            shapes.push((len, header.self_contained));
            decode_segment(&mut bytes, compressed).unwrap().unwrap();
        }
        shapes
    }

    #[test]
    fn greedy_packing_never_splits_small_envelopes() {
        // Three 60 000-byte envelopes: two fit together, the third starts a new segment.
        let sizes = [60_000 - 9, 60_000 - 9, 60_000 - 9, 100];
        let mut buf = Vec::new();
        for (i, s) in sizes.iter().enumerate() {
            buf.extend(envelope(i as i16, *s));
        }
        let mut dst = BytesMut::new();
        encode_envelopes(&mut dst, &buf, false).unwrap();
        assert_eq!(segment_shapes(dst, false), vec![(120_000, true), (60_000 + 109, true)]);
        // An envelope of exactly the maximum fits in one self-contained segment.
        let exact = envelope(1, MAX_SEGMENT_PAYLOAD - 9);
        let mut dst = BytesMut::new();
        encode_envelopes(&mut dst, &exact, false).unwrap();
        assert_eq!(segment_shapes(dst, false), vec![(MAX_SEGMENT_PAYLOAD, true)]);
        // Empty input writes nothing.
        let mut dst = BytesMut::new();
        encode_envelopes(&mut dst, &[], true).unwrap();
        assert!(dst.is_empty());
    }

    #[test]
    fn large_envelope_split_and_reassembled() {
        let small1 = envelope(1, 50);
        let large = envelope(2, 300_000);
        let small2 = envelope(3, 70);
        let mut buf = small1.clone();
        buf.extend_from_slice(&large);
        buf.extend_from_slice(&small2);
        for compressed in [false, true] {
            let mut dst = BytesMut::new();
            encode_envelopes(&mut dst, &buf, compressed).unwrap();
            let shapes = segment_shapes(dst.clone(), compressed);
            assert_eq!(
                shapes,
                vec![
                    (small1.len(), true),
                    (MAX_SEGMENT_PAYLOAD, false),
                    (MAX_SEGMENT_PAYLOAD, false),
                    (large.len() - 2 * MAX_SEGMENT_PAYLOAD, false),
                    (small2.len(), true),
                ]
            );
            let mut reader = SegmentReader::new(compressed, 1 << 20);
            let got: Vec<Bytes> = std::iter::from_fn(|| reader.read_envelope(&mut dst).unwrap()).collect();
            assert_eq!(got, vec![Bytes::from(small1.clone()), Bytes::from(large.clone()), Bytes::from(small2.clone())]);
            assert!(!reader.has_partial());
        }
    }

    #[test]
    fn split_header_across_slices() {
        let env = envelope(9, 40);
        for cut in 0..=env.len() {
            let mut reader = SegmentReader::new(false, 1 << 20);
            reader
                .push_segment(Segment { payload: Bytes::copy_from_slice(&env[..cut]), self_contained: false })
                .unwrap();
            if cut < env.len() {
                assert_eq!(reader.next_envelope(), None);
                reader
                    .push_segment(Segment { payload: Bytes::copy_from_slice(&env[cut..]), self_contained: false })
                    .unwrap();
            }
            assert_eq!(reader.next_envelope().as_deref(), Some(&env[..]), "cut {cut}");
            assert!(!reader.has_partial());
        }
        // One byte at a time.
        let mut reader = SegmentReader::new(false, 1 << 20);
        for b in &env {
            assert_eq!(reader.ready_len(), 0);
            reader.push_segment(Segment { payload: Bytes::copy_from_slice(&[*b]), self_contained: false }).unwrap();
        }
        assert_eq!(reader.next_envelope().as_deref(), Some(&env[..]));
    }

    #[test]
    fn self_contained_between_slices() {
        let large = envelope(1, 200);
        let small = envelope(2, 10);
        let mut reader = SegmentReader::new(false, 1 << 20);
        reader.push_segment(Segment { payload: Bytes::copy_from_slice(&large[..100]), self_contained: false }).unwrap();
        reader.push_segment(Segment { payload: Bytes::copy_from_slice(&small), self_contained: true }).unwrap();
        reader.push_segment(Segment { payload: Bytes::copy_from_slice(&large[100..]), self_contained: false }).unwrap();
        assert_eq!(reader.next_envelope().as_deref(), Some(&small[..]));
        assert_eq!(reader.next_envelope().as_deref(), Some(&large[..]));
    }

    #[test]
    fn cut_off_envelope_in_self_contained_segment() {
        let mut payload = envelope(1, 20);
        payload.extend_from_slice(&envelope(2, 20)[..15]);
        let mut reader = SegmentReader::new(false, 1 << 20);
        let err = reader.push_segment(Segment { payload: Bytes::from(payload), self_contained: true }).unwrap_err();
        assert!(matches!(err, DecodeError::Truncated { at: 29, needed: 29, available: 15, .. }), "{err:?}");
        assert_eq!(reader.next_envelope(), None, "nothing from a bad segment");
        // A header cut short.
        let err = reader
            .push_segment(Segment { payload: Bytes::from_static(&[5, 0, 0, 1]), self_contained: true })
            .unwrap_err();
        assert!(matches!(err, DecodeError::Truncated { needed: 9, available: 4, .. }), "{err:?}");
    }

    #[test]
    fn slice_past_envelope_end_is_an_error() {
        let mut payload = envelope(1, 20);
        payload.push(0xAA);
        let mut reader = SegmentReader::new(false, 1 << 20);
        let err = reader.push_segment(Segment { payload: Bytes::from(payload), self_contained: false }).unwrap_err();
        assert!(matches!(err, DecodeError::Invalid { what: "split envelope", .. }), "{err:?}");
    }

    #[test]
    fn envelope_lengths_checked_before_accumulating() {
        let mut header = envelope(1, 0);
        header[5..9].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        let mut reader = SegmentReader::new(false, 1 << 20);
        let err =
            reader.push_segment(Segment { payload: Bytes::from(header.clone()), self_contained: false }).unwrap_err();
        assert_eq!(err, DecodeError::EnvelopeTooLarge { len: 0x7fff_ffff, max: 1 << 20 });
        assert!(reader.partial.capacity() < 1024, "no allocation for the claimed length");
        let mut reader = SegmentReader::new(false, 1 << 20);
        let err = reader.push_segment(Segment { payload: Bytes::from(header), self_contained: true }).unwrap_err();
        assert!(matches!(err, DecodeError::EnvelopeTooLarge { .. }), "{err:?}");
        let mut negative = envelope(1, 0);
        negative[5] = 0x80;
        let err = reader.push_segment(Segment { payload: Bytes::from(negative), self_contained: false }).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { at: 5, .. }), "{err:?}");
    }

    #[test]
    fn bad_envelope_buffers_rejected_on_encode() {
        let good = envelope(1, 10);
        let mut short_body = good.clone();
        short_body.pop();
        let mut negative = good.clone();
        negative[5] = 0xff;
        let mut trailing = good.clone();
        trailing.extend_from_slice(&[5, 0, 0]);
        for bad in [short_body, negative, trailing, vec![5, 0, 0, 0]] {
            let mut dst = BytesMut::from(&b"x"[..]);
            let err = encode_envelopes(&mut dst, &bad, false).unwrap_err();
            assert!(matches!(err, EncodeError::Invalid { .. }), "{err:?}");
            assert_eq!(&dst[..], b"x", "nothing written");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Any run of envelopes survives packing, arbitrary chunking of the byte stream,
        /// and reassembly.
        #[test]
        fn envelopes_roundtrip_through_segments(
            sizes in proptest::collection::vec(
                proptest::prop_oneof![4 => 0usize..300, 1 => 60_000usize..300_000],
                0..6,
            ),
            compressed: bool,
            chunk in 1usize..50_000,
        ) {
            let envs: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| envelope(i as i16, n)).collect();
            let buf = envs.concat();
            let mut wire = BytesMut::new();
            encode_envelopes(&mut wire, &buf, compressed).unwrap();
            // Every segment respects the limit; only a large envelope's slices are not
            // self-contained.
            for (len, self_contained) in segment_shapes(wire.clone(), compressed) {
                proptest::prop_assert!(len <= MAX_SEGMENT_PAYLOAD);
                proptest::prop_assert!(self_contained || len > 0);
            }
            let mut reader = SegmentReader::new(compressed, 1 << 20);
            let mut src = BytesMut::new();
            let mut got = Vec::new();
            for piece in wire.chunks(chunk) {
                src.extend_from_slice(piece);
                while let Some(e) = reader.read_envelope(&mut src).unwrap() {
                    got.push(e.to_vec());
                }
            }
            proptest::prop_assert!(src.is_empty());
            proptest::prop_assert!(!reader.has_partial());
            proptest::prop_assert_eq!(got, envs);
        }
    }

    #[test]
    fn empty_slices_and_segments_are_harmless() {
        let mut reader = SegmentReader::new(false, 1 << 20);
        reader.push_segment(Segment { payload: Bytes::new(), self_contained: true }).unwrap();
        reader.push_segment(Segment { payload: Bytes::new(), self_contained: false }).unwrap();
        assert_eq!(reader.next_envelope(), None);
        assert!(!reader.has_partial());
    }
}
