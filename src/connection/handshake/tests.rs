//! The handshake's state machine fed canned responses, and the first-byte check.

use super::*;

#[test]
fn only_response_headers_of_known_versions_start_a_response() {
    for v in 1..=5u8 {
        assert!(starts_a_response(0x80 | v), "v{v}");
        assert!(!starts_a_response(v), "v{v} request");
    }
    for b in [0x80, 0x86, 0xff, b'H', b'S', 0x15, 0x16, 0x00] {
        assert!(!starts_a_response(b), "{b:#04x}");
    }
}
