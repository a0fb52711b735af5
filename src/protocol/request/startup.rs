//! STARTUP (v4 §4.1.1, v5 §4.1.1): the `[string map]` of connection options.

use bytes::BytesMut;

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::{self, Reader, StringMap};

/// STARTUP: opens the connection with options such as `CQL_VERSION` and `COMPRESSION`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Startup {
    /// Options in wire order.
    pub options: StringMap,
}

impl Startup {
    /// The `CQL_VERSION` option (mandatory).
    pub const CQL_VERSION: &'static str = "CQL_VERSION";
    /// The `COMPRESSION` option.
    pub const COMPRESSION: &'static str = "COMPRESSION";
    /// The `DRIVER_NAME` option.
    pub const DRIVER_NAME: &'static str = "DRIVER_NAME";
    /// The `DRIVER_VERSION` option.
    pub const DRIVER_VERSION: &'static str = "DRIVER_VERSION";

    /// A STARTUP with `CQL_VERSION` 3.0.0 and, when given, `COMPRESSION`.
    pub fn new(compression: Option<&str>) -> Startup {
        let mut options = vec![(Self::CQL_VERSION.to_owned(), "3.0.0".to_owned())];
        if let Some(c) = compression {
            options.push((Self::COMPRESSION.to_owned(), c.to_owned()));
        }
        Startup { options }
    }

    /// Adds an option.
    pub fn with(mut self, key: &str, value: &str) -> Startup {
        self.options.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The value of an option, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_string_map(buf, &self.options, "STARTUP options")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Startup, DecodeError> {
        Ok(Startup { options: r.read_string_map("STARTUP options")? })
    }
}
