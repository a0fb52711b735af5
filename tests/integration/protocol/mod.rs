//! Cross-module protocol tests: byte-exact vectors written by hand from the spec,
//! hostile inputs, and the replay of every committed fuzz seed.

#[cfg(feature = "fuzzing")]
mod fuzz_seeds;
pub(crate) mod hostile;
mod request_vectors;
mod response_vectors;
mod segment_vectors;

/// Hex with spaces and `|` separators allowed, for readable vectors.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex digit count");
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}
