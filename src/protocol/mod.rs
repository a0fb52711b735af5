//! The CQL native protocol, with no IO.
//!
//! This module owns the byte layout of everything on the wire: the notations of spec §3,
//! the envelope header (v4 §2, v5 §2.4), every request and response body (§4), column
//! type options, v4 LZ4 bodies (v4 §5) and v5 segments (v5 §2). It turns bytes into
//! typed values and back (`encode(&self, .., &mut BytesMut)` / `decode(..)`), and it
//! must not touch sockets, tasks or timers: the only tokio-facing piece is the
//! [`codec`] adapter. The same code serves the driver (encode requests, decode
//! responses) and the test server (decode requests, encode responses).
//!
//! Decoding never panics and never allocates more than the input can justify: every
//! length field is checked against the bytes that remain before anything is reserved.
//! Rows stay slices of the page's [`bytes::Bytes`], never copies.

pub mod codec;
pub mod column_type;
pub mod compression;
pub mod consistency;
pub mod crc;
mod error;
pub mod header;
pub mod message;
pub mod request;
pub mod response;
pub mod segment;
pub mod values;
pub mod wire;

/// The invariant checks of the fuzz targets (feature `fuzzing`, which `fuzz/` enables).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod roundtrip;

#[cfg(test)]
pub(crate) mod strategies;

pub use codec::{CodecError, Compression, CqlCodec, Framing, Role};
pub use column_type::{ColumnType, UdtType};
pub use consistency::Consistency;
pub use error::{DecodeError, EncodeError};
pub use header::{Direction, Envelope, EnvelopeHeader, Flags, HEADER_LEN, Opcode, Version};
pub use message::{RequestMessage, ResponseMessage};
pub use request::{QueryParameters, Request};
pub use response::Response;
pub use values::{Value, ValueRef, Values, ValuesWriter};

/// The default limit on an envelope body: 256 MiB, the limit Cassandra documents (v5 §2.4.1.5).
pub const DEFAULT_MAX_ENVELOPE_LEN: usize = 256 * 1024 * 1024;
