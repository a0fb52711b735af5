//! STUB: CQL parser, being written.
