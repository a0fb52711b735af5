//! The 9-byte envelope header (v4 §2, v5 §2.4.1) and the raw [`Envelope`].
//!
//! Owns the version byte (direction bit + version), the flag bits, the stream id, the
//! opcode and the body length. It checks version and opcode before anything else reads
//! the body; it does not interpret bodies (see [`super::message`]) nor apply framing or
//! compression (see [`super::codec`]).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::error::DecodeError;

/// Length of the envelope header for protocol v3 and later.
pub const HEADER_LEN: usize = 9;

/// A protocol version this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Version {
    /// Protocol v3 (Cassandra 2.1+), understood for older servers and the test server.
    V3 = 3,
    /// Protocol v4 (Cassandra 2.2+, ScyllaDB).
    V4 = 4,
    /// Protocol v5 (Cassandra 4.0+): segment framing, `[int]` query flags.
    V5 = 5,
}

impl Version {
    /// All versions, lowest first.
    pub const ALL: [Version; 3] = [Version::V3, Version::V4, Version::V5];

    /// The version number.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether envelopes of this version travel inside v5 segments once the handshake
    /// is over (v5 §2.3.1).
    pub fn uses_segments(self) -> bool {
        self >= Version::V5
    }
}

impl TryFrom<u8> for Version {
    type Error = u8;
    fn try_from(v: u8) -> Result<Self, u8> {
        match v {
            3 => Ok(Version::V3),
            4 => Ok(Version::V4),
            5 => Ok(Version::V5),
            other => Err(other),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.as_u8())
    }
}

/// Which way an envelope travels: the top bit of the version byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server (bit clear).
    Request,
    /// Server to client (bit set).
    Response,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Request => "request",
            Direction::Response => "response",
        })
    }
}

/// The header flag bits (v4 §2.2, v5 §2.4.1.2).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// The body is compressed (v4 only; deprecated and ignored in v5).
    pub const COMPRESSION: Flags = Flags(0x01);
    /// Tracing requested (request) or a tracing id leads the body (response).
    pub const TRACING: Flags = Flags(0x02);
    /// A custom payload (`[bytes map]`) precedes the message.
    pub const CUSTOM_PAYLOAD: Flags = Flags(0x04);
    /// Warnings (`[string list]`) precede the message (responses).
    pub const WARNING: Flags = Flags(0x08);
    /// The client opts in to a beta protocol version (v5).
    pub const USE_BETA: Flags = Flags(0x10);

    /// No flags.
    pub const fn empty() -> Flags {
        Flags(0)
    }
    /// From the raw byte (unknown bits are kept, and ignored).
    pub const fn from_bits(b: u8) -> Flags {
        Flags(b)
    }
    /// The raw byte.
    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: Flags, on: bool) {
        if on { self.0 |= other.0 } else { self.0 &= !other.0 }
    }
    /// With the bits of `other` set or cleared.
    pub fn with(mut self, other: Flags, on: bool) -> Flags {
        self.set(other, on);
        self
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names =
            [(0x01, "COMPRESSION"), (0x02, "TRACING"), (0x04, "CUSTOM_PAYLOAD"), (0x08, "WARNING"), (0x10, "USE_BETA")];
        let mut first = true;
        write!(f, "Flags(")?;
        for (bit, name) in names {
            if self.0 & bit != 0 {
                if !first {
                    write!(f, " | ")?;
                }
                write!(f, "{name}")?;
                first = false;
            }
        }
        if self.0 & !0x1f != 0 {
            write!(f, "{}{:#04x}", if first { "" } else { " | " }, self.0 & !0x1f)?;
        }
        write!(f, ")")
    }
}

/// A message kind (v4 §2.4, v5 §2.4.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// ERROR (response).
    Error = 0x00,
    /// STARTUP (request).
    Startup = 0x01,
    /// READY (response).
    Ready = 0x02,
    /// AUTHENTICATE (response).
    Authenticate = 0x03,
    /// OPTIONS (request).
    Options = 0x05,
    /// SUPPORTED (response).
    Supported = 0x06,
    /// QUERY (request).
    Query = 0x07,
    /// RESULT (response).
    Result = 0x08,
    /// PREPARE (request).
    Prepare = 0x09,
    /// EXECUTE (request).
    Execute = 0x0A,
    /// REGISTER (request).
    Register = 0x0B,
    /// EVENT (response, server push).
    Event = 0x0C,
    /// BATCH (request).
    Batch = 0x0D,
    /// AUTH_CHALLENGE (response).
    AuthChallenge = 0x0E,
    /// AUTH_RESPONSE (request).
    AuthResponse = 0x0F,
    /// AUTH_SUCCESS (response).
    AuthSuccess = 0x10,
}

impl Opcode {
    /// The direction messages of this kind travel in.
    pub fn direction(self) -> Direction {
        use Opcode::*;
        match self {
            Startup | Options | Query | Prepare | Execute | Register | Batch | AuthResponse => Direction::Request,
            Error | Ready | Authenticate | Supported | Result | Event | AuthChallenge | AuthSuccess => {
                Direction::Response
            }
        }
    }
}

impl TryFrom<u8> for Opcode {
    type Error = u8;
    fn try_from(b: u8) -> Result<Self, u8> {
        use Opcode::*;
        Ok(match b {
            0x00 => Error,
            0x01 => Startup,
            0x02 => Ready,
            0x03 => Authenticate,
            0x05 => Options,
            0x06 => Supported,
            0x07 => Query,
            0x08 => Result,
            0x09 => Prepare,
            0x0A => Execute,
            0x0B => Register,
            0x0C => Event,
            0x0D => Batch,
            0x0E => AuthChallenge,
            0x0F => AuthResponse,
            0x10 => AuthSuccess,
            other => return Err(other),
        })
    }
}

/// The fixed 9-byte header in front of every envelope body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnvelopeHeader {
    /// Protocol version.
    pub version: Version,
    /// Request or response.
    pub direction: Direction,
    /// Flag bits.
    pub flags: Flags,
    /// Stream id: non-negative for requests and their responses, -1 for events.
    pub stream: i16,
    /// Message kind.
    pub opcode: Opcode,
    /// Body length in bytes, as on the wire (before decompression for v4 LZ4 bodies).
    pub length: u32,
}

impl EnvelopeHeader {
    /// Parses a header. Checks, in order: version (keeping the stream id for the
    /// error), opcode, and a non-negative length. The body-length limit is the
    /// caller's, since it is configurable.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<EnvelopeHeader, DecodeError> {
        let direction = if b[0] & 0x80 == 0 { Direction::Request } else { Direction::Response };
        let raw_version = b[0] & 0x7f;
        let stream = i16::from_be_bytes([b[2], b[3]]);
        let version = Version::try_from(raw_version)
            .map_err(|version| DecodeError::UnsupportedVersion { version, stream: legacy_stream(raw_version, b) })?;
        let opcode = Opcode::try_from(b[4]).map_err(|opcode| DecodeError::UnknownOpcode { opcode, stream })?;
        let length = i32::from_be_bytes([b[5], b[6], b[7], b[8]]);
        let length = u32::try_from(length).map_err(|_| DecodeError::InvalidLength {
            what: "envelope body length",
            at: 5,
            len: length.into(),
        })?;
        Ok(EnvelopeHeader { version, direction, flags: Flags(b[1]), stream, opcode, length })
    }

    /// The 9 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = self.version.as_u8() | if self.direction == Direction::Response { 0x80 } else { 0 };
        b[1] = self.flags.0;
        b[2..4].copy_from_slice(&self.stream.to_be_bytes());
        b[4] = self.opcode as u8;
        b[5..9].copy_from_slice(&self.length.to_be_bytes());
        b
    }

    /// Appends the 9 header bytes.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.put_slice(&self.to_bytes());
    }
}

/// Versions 1 and 2 had a one-byte stream id at offset 2; a server answering an old
/// client with a protocol error needs it (see the testkit).
fn legacy_stream(raw_version: u8, b: &[u8; HEADER_LEN]) -> i16 {
    if raw_version <= 2 { i16::from(b[2] as i8) } else { i16::from_be_bytes([b[2], b[3]]) }
}

/// A header and its (decompressed) body: the unit the codec reads and writes.
///
/// `header.length` is informational once decoded; encoders write `body.len()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The header as received (the compression flag is cleared once the body is
    /// decompressed).
    pub header: EnvelopeHeader,
    /// The body, uncompressed (unless a codec with
    /// [deferred decompression](super::CqlCodec::set_deferred_decompression) handed it
    /// over with [`Flags::COMPRESSION`] still set).
    pub body: Bytes,
}

impl Envelope {
    /// Appends header and body, with the header's length set to the body's.
    pub fn encode(&self, buf: &mut BytesMut) {
        let mut h = self.header;
        h.length = self.body.len() as u32;
        buf.reserve(HEADER_LEN + self.body.len());
        h.encode(buf);
        buf.put_slice(&self.body);
    }

    /// The encoded length: header plus body.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_checks() {
        let h = EnvelopeHeader {
            version: Version::V4,
            direction: Direction::Response,
            flags: Flags::TRACING.with(Flags::WARNING, true),
            stream: -1,
            opcode: Opcode::Event,
            length: 77,
        };
        let b = h.to_bytes();
        assert_eq!(b, [0x84, 0x0a, 0xff, 0xff, 0x0c, 0, 0, 0, 77]);
        assert_eq!(EnvelopeHeader::decode(&b).unwrap(), h);
    }

    #[test]
    fn unsupported_version_keeps_stream() {
        let b = [0x06, 0, 0x01, 0x02, 0x05, 0, 0, 0, 0];
        assert_eq!(EnvelopeHeader::decode(&b), Err(DecodeError::UnsupportedVersion { version: 6, stream: 0x0102 }));
        let b = [0x02, 0, 0x07, 0x05, 0, 0, 0, 0, 0];
        assert_eq!(EnvelopeHeader::decode(&b), Err(DecodeError::UnsupportedVersion { version: 2, stream: 7 }));
    }

    #[test]
    fn unknown_opcode_and_negative_length() {
        let b = [0x04, 0, 0, 1, 0x04, 0, 0, 0, 0];
        assert!(matches!(EnvelopeHeader::decode(&b), Err(DecodeError::UnknownOpcode { opcode: 4, stream: 1 })));
        let b = [0x04, 0, 0, 1, 0x05, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(EnvelopeHeader::decode(&b), Err(DecodeError::InvalidLength { len: -1, .. })));
    }

    #[test]
    fn every_opcode_byte_roundtrips() {
        for b in 0..=255u8 {
            if let Ok(op) = Opcode::try_from(b) {
                assert_eq!(op as u8, b);
            }
        }
        assert_eq!(format!("{:?}", Flags::from_bits(0x23)), "Flags(COMPRESSION | TRACING | 0x20)");
    }
}
