//! Typed errors of the protocol layer: what was wrong, and where.
//!
//! `at` is a byte offset into the body (or buffer) being decoded, so a malformed input
//! can be located with a hex dump. Owns nothing but the error types.

use super::header::Version;

/// Decoding failed: the input is not a valid CQL message of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A field runs past the end of the input.
    #[error("truncated {what} at byte {at}: needs {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        at: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length or count field holds a value that is not allowed there.
    #[error("invalid length {len} for {what} at byte {at}")]
    InvalidLength {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        at: usize,
        /// The length as read.
        len: i64,
    },
    /// A string field is not valid UTF-8.
    #[error("{what} at byte {at} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        at: usize,
    },
    /// A field holds a value the protocol does not define.
    #[error("invalid {what} at byte {at}: {detail}")]
    Invalid {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        at: usize,
        /// What was found.
        detail: String,
    },
    /// Column types nested deeper than the limit.
    #[error("column type at byte {at} nests deeper than {max} levels")]
    TooDeep {
        /// Offset of the type option that crossed the limit.
        at: usize,
        /// The limit.
        max: usize,
    },
    /// The envelope header names a protocol version this crate does not speak.
    /// `stream` is kept so a server can answer on the right stream (spec §2.4.1.1).
    #[error("unsupported protocol version {version} on stream {stream}")]
    UnsupportedVersion {
        /// The version number (without the direction bit).
        version: u8,
        /// The stream id of the offending envelope.
        stream: i16,
    },
    /// A request arrived where a response was expected, or the other way round.
    #[error("expected a {expected} envelope, got a {found} (version byte {byte:#04x})")]
    WrongDirection {
        /// The direction this side decodes.
        expected: super::Direction,
        /// The direction found.
        found: super::Direction,
        /// The raw version byte.
        byte: u8,
    },
    /// The opcode byte is not one of spec §2.4.1.4.
    #[error("unknown opcode {opcode:#04x} on stream {stream}")]
    UnknownOpcode {
        /// The raw opcode.
        opcode: u8,
        /// The stream id of the envelope.
        stream: i16,
    },
    /// The opcode is valid but not in the expected direction (e.g. a READY sent to a server).
    #[error("opcode {opcode:?} is not a {direction} message")]
    UnexpectedOpcode {
        /// The opcode found.
        opcode: super::Opcode,
        /// The direction it was decoded as.
        direction: super::Direction,
    },
    /// The envelope body is larger than the configured limit.
    #[error("envelope body of {len} bytes exceeds the limit of {max} bytes")]
    EnvelopeTooLarge {
        /// The length field.
        len: u64,
        /// The configured maximum.
        max: usize,
    },
    /// A v5 segment header failed its CRC24 check (v5 §2.1).
    #[error("segment header CRC24 mismatch: header says {expected:#08x}, computed {actual:#08x}")]
    HeaderCrcMismatch {
        /// CRC carried by the header.
        expected: u32,
        /// CRC computed over the header bytes.
        actual: u32,
    },
    /// A v5 segment payload failed its CRC32 check (v5 §2.1).
    #[error("segment payload CRC32 mismatch: trailer says {expected:#010x}, computed {actual:#010x}")]
    PayloadCrcMismatch {
        /// CRC carried by the trailer.
        expected: u32,
        /// CRC computed over the payload.
        actual: u32,
    },
    /// LZ4 data could not be decompressed, or decompressed to an unexpected length.
    #[error("LZ4 decompression failed: {detail}")]
    Decompression {
        /// What went wrong.
        detail: String,
    },
    /// A compressed body declares an uncompressed size out of proportion to the bytes
    /// that carry it (an LZ4 "bomb"): more than `max_ratio` times its compressed size,
    /// and over the size below which any ratio is accepted. Refused before the output
    /// is allocated.
    #[error(
        "compressed body of {compressed} bytes declares {declared} bytes uncompressed, over {max_ratio} times its size"
    )]
    CompressionRatio {
        /// The declared uncompressed length.
        declared: u64,
        /// The compressed length.
        compressed: usize,
        /// The largest ratio accepted.
        max_ratio: usize,
    },
    /// An envelope carries a protocol version other than the one negotiated for the
    /// connection (checked only once the handshake is over).
    #[error("envelope on stream {stream} is protocol version {found}, but version {expected} was negotiated")]
    VersionMismatch {
        /// The negotiated version.
        expected: u8,
        /// The version byte found (without the direction bit).
        found: u8,
        /// The stream id of the envelope.
        stream: i16,
    },
    /// The peer sent a compressed envelope, but no compression was negotiated.
    #[error("envelope on stream {stream} is flagged compressed, but no compression was negotiated")]
    UnexpectedCompression {
        /// The stream id of the envelope.
        stream: i16,
    },
}

/// Encoding failed: the value cannot be represented in the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string, collection or body is longer than its length field can hold.
    #[error("{what} has length {len}, over the protocol limit of {max}")]
    TooLong {
        /// The field.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The largest length the field can carry.
        max: usize,
    },
    /// The field does not exist in this protocol version.
    #[error("{what} is not available in protocol {version}")]
    NotInVersion {
        /// The field.
        what: &'static str,
        /// The version it was encoded for.
        version: Version,
    },
    /// The value is inconsistent with itself or the protocol.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// Column types nested deeper than the limit.
    #[error("column type nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}
