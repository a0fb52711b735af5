//! Empty: the package exists for its compile-fail test (`tests/derive.rs`).
