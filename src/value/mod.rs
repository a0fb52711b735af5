//! STUB: being written (CqlValue for every CQL type). `Literal` is final.
mod literal;
pub use literal::Literal;
