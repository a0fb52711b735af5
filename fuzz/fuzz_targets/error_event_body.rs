#![no_main]
//! Fuzz target: see `cqlstream::protocol::roundtrip::error_event_body` for the invariants it asserts
//! (decode → encode → decode equality, chunking independence, no panics).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = cqlstream::protocol::roundtrip::error_event_body(data);
    // Use the result so the check cannot be optimised away.
    std::hint::black_box(decoded);
});
