//! OPTIONS (v4 §4.1.3, v5 §4.1.3): an empty body asking for SUPPORTED.

/// OPTIONS: asks which STARTUP options the server supports. The body is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options;
