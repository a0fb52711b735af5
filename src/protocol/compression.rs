//! LZ4 as CQL uses it: v4 envelope bodies (spec v4 §5) and the raw blocks inside v5
//! segments (spec v5 §2.2).
//!
//! Owns the v4 body layout (a 4-byte big-endian uncompressed length, then one LZ4
//! block) and the limits applied before any output buffer is allocated. It does not
//! decide *when* to compress (the [`super::codec`] does: never STARTUP or OPTIONS) and
//! knows nothing of headers, flags or segments.

use bytes::{BufMut, Bytes, BytesMut};
use lz4_flex::block::{DecompressError, compress_into, decompress_into, get_maximum_output_size};

use super::error::DecodeError;

/// Size of the big-endian uncompressed-length prefix of a v4 compressed body.
const V4_LENGTH_PREFIX: usize = 4;

/// An LZ4 block cannot expand by more than this factor: every output byte beyond the
/// literals comes from a length byte worth at most 255. A declared length above
/// `255 × input` is a lie, so it is refused before the output buffer is allocated.
const LZ4_MAX_RATIO: usize = 255;

/// The default largest ratio of uncompressed to compressed size accepted for a v3/v4
/// body that declares more than [`RATIO_FREE_LEN`]: 64.
///
/// LZ4 expands at most 255 times, so without this a frame of 1 MiB could make the
/// receiver allocate 255 MiB. Legitimate CQL bodies compress far less: the demo dataset
/// (`testkit::demo`, pseudo-random values) about 1x, its 5000-row pages with keys
/// about 1.1x, the suite's repetitive test texts stay under [`RATIO_FREE_LEN`], and
/// ordinary rows of text and numbers 2-10x. A body of mostly zeros can reach 250x; such
/// workloads raise the limit ([`CqlCodec::with_max_compression_ratio`](super::CqlCodec::with_max_compression_ratio),
/// `ConnectionConfig::max_compression_ratio`).
pub const DEFAULT_MAX_COMPRESSION_RATIO: usize = 64;

/// Bodies that declare at most this many uncompressed bytes (4 MiB) are accepted at any
/// ratio LZ4 can produce: what they can cost is small and bounded.
pub const RATIO_FREE_LEN: usize = 4 << 20;

/// Compresses a v4 envelope body (spec v4 §5): appends the uncompressed length as a
/// 4-byte big-endian integer, then one LZ4 block.
///
/// The body must be shorter than 2³¹ bytes for the prefix to be meaningful; the codec
/// checks envelope lengths before calling this.
pub fn compress_body(body: &[u8], dst: &mut BytesMut) {
    // A length that does not fit in an [int] is rejected by the codec first; saturate
    // rather than wrap if a caller skips that check.
    let declared = u32::try_from(body.len()).unwrap_or(u32::MAX);
    dst.put_u32(declared);
    compress_block(body, dst);
}

/// Decompresses a v4 envelope body (spec v4 §5) whose uncompressed length may be at
/// most `max_len`.
///
/// The length prefix is checked (not negative, at most `max_len`, and possible for an
/// LZ4 block of this size) before the output is allocated, and the block must
/// decompress to exactly that many bytes.
pub fn decompress_body(body: &[u8], max_len: usize) -> Result<Bytes, DecodeError> {
    decompress_body_limited(body, max_len, LZ4_MAX_RATIO)
}

/// [`decompress_body`] with a limit on the expansion ratio: a body whose declared
/// uncompressed length is over [`RATIO_FREE_LEN`] and over `max_ratio` times the
/// compressed body's length is refused with [`DecodeError::CompressionRatio`], from the
/// 4-byte length alone, before anything is allocated.
pub fn decompress_body_limited(body: &[u8], max_len: usize, max_ratio: usize) -> Result<Bytes, DecodeError> {
    let len = declared_len(body, max_len)?;
    let ratio_limit = body.len().saturating_mul(max_ratio.max(1)).max(RATIO_FREE_LEN);
    if len > ratio_limit {
        return Err(DecodeError::CompressionRatio { declared: len as u64, compressed: body.len(), max_ratio });
    }
    let block = body.get(V4_LENGTH_PREFIX..).unwrap_or_default();
    decompress_block(block, len)
}

/// The uncompressed length a v4 compressed body declares in its 4-byte prefix, checked
/// to be non-negative and at most `max_len`.
pub fn declared_len(body: &[u8], max_len: usize) -> Result<usize, DecodeError> {
    let Some((prefix, _)) = body.split_first_chunk::<V4_LENGTH_PREFIX>() else {
        return Err(DecodeError::Truncated {
            what: "compressed body length",
            at: 0,
            needed: V4_LENGTH_PREFIX,
            available: body.len(),
        });
    };
    let declared = i32::from_be_bytes(*prefix);
    let len = usize::try_from(declared).map_err(|_| DecodeError::InvalidLength {
        what: "uncompressed body length",
        at: 0,
        len: declared.into(),
    })?;
    if len > max_len {
        return Err(DecodeError::EnvelopeTooLarge { len: len as u64, max: max_len });
    }
    Ok(len)
}

/// Appends `src` compressed as one raw LZ4 block (no length prefix) and returns the
/// number of bytes appended.
pub(crate) fn compress_block(src: &[u8], dst: &mut BytesMut) -> usize {
    let start = dst.len();
    let bound = get_maximum_output_size(src.len());
    // The safe encoder writes into an initialised slice, so zero-fill the worst case
    // and cut back to what was used.
    dst.resize(start.saturating_add(bound), 0);
    // The output holds the documented worst case, so the encoder cannot run out of
    // room; if it ever did, an all-literal block is still valid LZ4.
    let Some(written) = dst.get_mut(start..).and_then(|out| compress_into(src, out).ok()) else {
        dst.truncate(start);
        put_literal_block(src, dst);
        return dst.len() - start;
    };
    dst.truncate(start + written);
    written
}

/// Writes `src` as an LZ4 block made of a single literal run: a token, the
/// length-extension bytes, then the bytes themselves.
fn put_literal_block(src: &[u8], dst: &mut BytesMut) {
    let len = src.len();
    if len < 15 {
        dst.put_u8((len as u8) << 4);
    } else {
        dst.put_u8(0xF0);
        let mut rest = len - 15;
        while rest >= 255 {
            dst.put_u8(255);
            rest -= 255;
        }
        dst.put_u8(rest as u8);
    }
    dst.put_slice(src);
}

/// Decompresses one raw LZ4 block that must expand to exactly `len` bytes.
///
/// The caller has bounded `len` by its own limit; this refuses lengths the block
/// cannot possibly produce before allocating, then allocates exactly `len`.
pub(crate) fn decompress_block(block: &[u8], len: usize) -> Result<Bytes, DecodeError> {
    if len > block.len().saturating_mul(LZ4_MAX_RATIO) {
        return Err(DecodeError::Decompression {
            detail: format!("{} bytes of LZ4 cannot expand to the declared {len} bytes", block.len()),
        });
    }
    let mut out = BytesMut::zeroed(len);
    let written = decompress_into(block, &mut out).map_err(|e| DecodeError::Decompression {
        detail: match e {
            // The output is exactly the declared size, so "too small" means the block
            // expands to more than was declared.
            DecompressError::OutputTooSmall { .. } => format!("block expands to more than the declared {len} bytes"),
            other => other.to_string(),
        },
    })?;
    if written != len {
        return Err(DecodeError::Decompression {
            detail: format!("block expands to {written} bytes, {len} were declared"),
        });
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Vec<u8> {
        // Compressible but not trivial: a slowly changing pattern.
        (0..n).map(|i| ((i / 7) % 251) as u8 ^ (i % 3) as u8).collect()
    }

    #[test]
    fn body_roundtrip_various_sizes() {
        for n in [0, 1, 4, 14, 15, 16, 100, 270, 4096, 65_536, 300_000] {
            let body = sample(n);
            let mut buf = BytesMut::new();
            compress_body(&body, &mut buf);
            assert_eq!(&buf[..4], &(n as u32).to_be_bytes(), "big-endian prefix");
            let back = decompress_body(&buf, n).unwrap();
            assert_eq!(&back[..], &body[..], "n = {n}");
        }
    }

    #[test]
    fn body_compresses_repetitive_data() {
        let body = vec![b'x'; 10_000];
        let mut buf = BytesMut::new();
        compress_body(&body, &mut buf);
        assert!(buf.len() < 200, "{} bytes", buf.len());
        assert_eq!(decompress_body(&buf, 10_000).unwrap(), Bytes::from(body));
    }

    #[test]
    fn body_appends_after_existing_bytes() {
        let mut buf = BytesMut::from(&b"hdr"[..]);
        compress_body(b"hello hello hello hello", &mut buf);
        assert_eq!(&buf[..3], b"hdr");
        assert_eq!(&decompress_body(&buf[3..], 100).unwrap()[..], b"hello hello hello hello");
    }

    #[test]
    fn short_prefix_is_truncated() {
        for n in 0..4 {
            let err = decompress_body(&[0u8; 4][..n], 100).unwrap_err();
            assert!(matches!(err, DecodeError::Truncated { needed: 4, .. }), "{err:?}");
        }
    }

    #[test]
    fn hostile_length_prefixes() {
        // Negative.
        let err = decompress_body(&[0xff, 0xff, 0xff, 0xff, 0x00], 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { len: -1, .. }), "{err:?}");
        let err = decompress_body(&[0x80, 0, 0, 0, 0x00], 1 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { .. }), "{err:?}");
        // Over the limit: refused before allocation, whatever follows.
        let err = decompress_body(&[0x7f, 0xff, 0xff, 0xff, 0x00], 256 << 20).unwrap_err();
        assert_eq!(err, DecodeError::EnvelopeTooLarge { len: 0x7fff_ffff, max: 256 << 20 });
        let err = decompress_body(&[0, 0, 0, 101, 0x00], 100).unwrap_err();
        assert_eq!(err, DecodeError::EnvelopeTooLarge { len: 101, max: 100 });
        // Within the limit but impossible for a 1-byte block: refused before allocation.
        let err = decompress_body(&[0x01, 0, 0, 0, 0x00], 256 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::CompressionRatio { declared: 16_777_216, .. }), "{err:?}");
        // Under the ratio-free size, the block's own bound still applies.
        let err = decompress_body(&[0, 0x01, 0, 0, 0x00], 256 << 20).unwrap_err();
        assert!(matches!(err, DecodeError::Decompression { .. }), "{err:?}");
        // A ratio limit below LZ4's own: over 4 MiB, at most `max_ratio` times the body.
        let body = [&(5u32 << 20).to_be_bytes()[..], &[0u8; 100_000]].concat();
        let err = decompress_body_limited(&body, 256 << 20, 50).unwrap_err();
        assert_eq!(err, DecodeError::CompressionRatio { declared: 5 << 20, compressed: 100_004, max_ratio: 50 });
    }

    #[test]
    fn length_mismatch_is_an_error() {
        let mut buf = BytesMut::new();
        compress_body(&sample(1000), &mut buf);
        // Declare one byte fewer and one byte more than the block yields.
        for declared in [999u32, 1001] {
            let mut bad = buf.clone();
            bad[..4].copy_from_slice(&declared.to_be_bytes());
            let err = decompress_body(&bad, 1 << 20).unwrap_err();
            assert!(matches!(err, DecodeError::Decompression { .. }), "{declared}: {err:?}");
        }
    }

    #[test]
    fn garbage_blocks_never_panic() {
        let mut seed = 0x1234_5678u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for round in 0..2000 {
            let n = (next() % 64) as usize;
            let block: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let declared = next() % 4096;
            let mut body = declared.to_be_bytes().to_vec();
            body.extend_from_slice(&block);
            if let Ok(out) = decompress_body(&body, 4096) {
                assert_eq!(out.len(), declared as usize, "round {round}");
            }
            let _ = decompress_block(&block, (next() % 300) as usize);
        }
        // Classic bad blocks: match offset 0, offset past the start, truncated literal.
        for block in [&[0x10, b'a', 0x00, 0x00][..], &[0x10, b'a', 0x05, 0x00], &[0x50, b'a', b'b'], &[0xF0]] {
            assert!(decompress_block(block, 20).is_err(), "{block:02x?}");
        }
    }

    #[test]
    fn empty_body() {
        let mut buf = BytesMut::new();
        compress_body(&[], &mut buf);
        assert_eq!(&buf[..4], &[0, 0, 0, 0]);
        assert!(decompress_body(&buf, 0).unwrap().is_empty());
    }

    #[test]
    fn literal_block_fallback_is_valid_lz4() {
        for n in [0, 1, 14, 15, 16, 269, 270, 271, 1000] {
            let src = sample(n);
            let mut buf = BytesMut::new();
            put_literal_block(&src, &mut buf);
            assert_eq!(&decompress_block(&buf, n).unwrap()[..], &src[..], "n = {n}");
        }
    }

    #[test]
    fn raw_block_roundtrip_and_returned_len() {
        let src = sample(131_071);
        let mut buf = BytesMut::from(&b"xy"[..]);
        let n = compress_block(&src, &mut buf);
        assert_eq!(n + 2, buf.len());
        assert_eq!(&decompress_block(&buf[2..], src.len()).unwrap()[..], &src[..]);
    }
}
