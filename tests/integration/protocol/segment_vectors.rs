//! The v5 segment vectors of `shared/protocol-spec/v5-framing-notes.md` §7 through the
//! public API: the codec, `segment::decode_segment` and `segment::encode_segment`.

use bytes::BytesMut;
use cqlstream::protocol::request::Options;
use cqlstream::protocol::segment::{decode_segment, encode_segment};
use cqlstream::protocol::{CqlCodec, Framing, Request, RequestMessage, Role, Version};
use tokio_util::codec::{Decoder, Encoder};

use super::hex;

#[test]
fn vector_g_is_a_framed_options_request() {
    let wire = hex("090002 a4c8c1 | 050000000500000000 | 1086284d");
    let mut server = CqlCodec::new(Role::Server);
    server.set_framing(Framing::Segments);
    let mut buf = BytesMut::from(&wire[..]);
    let env = server.decode(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    let msg = RequestMessage::from_envelope(&env).unwrap();
    assert_eq!(msg, RequestMessage::new(0, Request::Options(Options)));

    // And the client writes exactly those 19 bytes.
    let mut client = CqlCodec::new(Role::Client);
    client.set_framing(Framing::Segments);
    let mut out = BytesMut::new();
    client.encode(msg.to_envelope(Version::V5).unwrap(), &mut out).unwrap();
    assert_eq!(out.as_ref(), &wire[..]);
}

#[test]
fn vectors_a_d_e_uncompressed() {
    for (wire, payload, self_contained) in [
        (hex("040002 01f9f2 | 00000001 | 1fd6022d"), hex("00000001"), true),
        (hex("000002 6a36c4 | d37e7744"), vec![], true),
        ([hex("320002 a5ffee"), vec![0x62; 50], hex("7aaeeb7c")].concat(), vec![0x62; 50], true),
        ([hex("320000 b82e57"), vec![0x62; 50], hex("7aaeeb7c")].concat(), vec![0x62; 50], false),
    ] {
        let mut buf = BytesMut::from(&wire[..]);
        let seg = decode_segment(&mut buf, false).unwrap().unwrap();
        assert_eq!((seg.payload.as_ref(), seg.self_contained), (&payload[..], self_contained));
        let mut out = BytesMut::new();
        encode_segment(&mut out, &payload, self_contained, false).unwrap();
        assert_eq!(out.as_ref(), &wire[..]);
    }
}

#[test]
fn vector_b_max_payload() {
    let wire = [hex("ffff03 254047"), vec![1; 131_071], hex("a05c2f13")].concat();
    let mut buf = BytesMut::from(&wire[..]);
    let seg = decode_segment(&mut buf, false).unwrap().unwrap();
    assert_eq!(seg.payload.len(), 131_071);
    let mut out = BytesMut::new();
    encode_segment(&mut out, &seg.payload, true, false).unwrap();
    assert_eq!(out.as_ref(), &wire[..]);
    // One byte more does not fit a segment.
    assert!(encode_segment(&mut out, &vec![1; 131_072], true, false).is_err());
}

#[test]
fn vectors_c_f_lz4() {
    // C: compressed 18 / uncompressed 16.
    let wire = hex("1200200004 91c94f | f001 00000001 00000001 00000001 00000001 | 2bd67f90");
    let mut buf = BytesMut::from(&wire[..]);
    let seg = decode_segment(&mut buf, true).unwrap().unwrap();
    assert_eq!(seg.payload.as_ref(), &hex("00000001000000010000000100000001")[..]);
    // F: one byte stored raw (uncompressed length 0).
    let wire = hex("0100000004 06a587 | 62 | e91b206e");
    let mut buf = BytesMut::from(&wire[..]);
    assert_eq!(decode_segment(&mut buf, true).unwrap().unwrap().payload.as_ref(), b"b");
    let mut out = BytesMut::new();
    encode_segment(&mut out, b"b", true, true).unwrap();
    assert_eq!(out.as_ref(), &wire[..]);
}
