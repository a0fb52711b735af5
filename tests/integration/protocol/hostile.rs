//! Hostile input through the public API: lengths at i32::MAX and negative, every
//! envelope truncated at every byte, type specs nested 10,000 deep. Each must give a
//! typed error (or wait for more bytes), never a panic or a large allocation.

use bytes::{BufMut, Bytes, BytesMut};
use cqlstream::protocol::request::{Execute, Query};
use cqlstream::protocol::response::{ErrorBody, ErrorKind, ResultBody};
use cqlstream::protocol::{
    CodecError, Compression, Consistency, CqlCodec, DecodeError, Envelope, EnvelopeHeader, Framing, QueryParameters,
    Request, RequestMessage, Response, ResponseMessage, Role, Value, Values, Version,
};
use tokio_util::codec::Decoder;

fn decode_all(codec: &mut CqlCodec, bytes: &[u8]) -> Result<Vec<Envelope>, CodecError> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(env) = codec.decode(&mut buf)? {
        out.push(env);
    }
    Ok(out)
}

fn header(version: u8, opcode: u8, length: i32) -> Vec<u8> {
    let mut h = vec![version, 0, 0, 1, opcode];
    h.extend_from_slice(&length.to_be_bytes());
    h
}

#[test]
fn envelope_length_at_i32_max_is_refused_before_allocating() {
    let mut codec = CqlCodec::new(Role::Client);
    let mut buf = BytesMut::from(&header(0x84, 0x08, i32::MAX)[..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(matches!(err, CodecError::Decode(DecodeError::EnvelopeTooLarge { .. })), "{err}");
    // Nothing was reserved for the claimed 2 GiB.
    assert!(buf.capacity() < 1 << 20, "reserved {} bytes", buf.capacity());
}

#[test]
fn envelope_length_below_the_limit_reserves_at_most_8_mib_ahead() {
    // A claimed 200 MiB body (within the 256 MiB limit) gets at most the 8 MiB the
    // decoder reserves ahead so that ordinary pages land in one allocation; the rest
    // would grow with bytes that really arrive.
    let mut codec = CqlCodec::new(Role::Client);
    let mut buf = BytesMut::from(&header(0x84, 0x08, 200 << 20)[..]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(buf.capacity() <= (8 << 20) + 64, "reserved {} bytes for data that has not arrived", buf.capacity());
}

#[test]
fn negative_envelope_length_is_an_error() {
    let mut codec = CqlCodec::new(Role::Client);
    let err = decode_all(&mut codec, &header(0x84, 0x08, -1)).unwrap_err();
    assert!(matches!(err, CodecError::Decode(DecodeError::InvalidLength { len: -1, .. })), "{err}");
}

#[test]
fn hostile_lengths_inside_bodies() {
    // A RESULT Rows claiming i32::MAX columns, and one whose rows_count is negative.
    for body in [
        [&2i32.to_be_bytes()[..], &0i32.to_be_bytes(), &i32::MAX.to_be_bytes()].concat(),
        // No_metadata, one column, rows_count -5.
        [&2i32.to_be_bytes()[..], &4i32.to_be_bytes(), &1i32.to_be_bytes(), &(-5i32).to_be_bytes()].concat(),
    ] {
        let mut bytes = header(0x84, 0x08, body.len() as i32);
        bytes.extend_from_slice(&body);
        let env = decode_all(&mut CqlCodec::new(Role::Client), &bytes).unwrap().pop().unwrap();
        let err = ResponseMessage::from_envelope(&env).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { .. } | DecodeError::Truncated { .. }), "{err}");
    }
    // A QUERY string of i32::MAX bytes, and of -7.
    for len in [i32::MAX, -7] {
        let body = len.to_be_bytes();
        let mut bytes = header(0x04, 0x07, body.len() as i32);
        bytes.extend_from_slice(&body);
        let env = decode_all(&mut CqlCodec::new(Role::Server), &bytes).unwrap().pop().unwrap();
        let err = RequestMessage::from_envelope(&env).unwrap_err();
        assert!(matches!(err, DecodeError::InvalidLength { .. } | DecodeError::Truncated { .. }), "{err}");
    }
}

#[test]
fn type_spec_nested_10000_deep_in_a_rows_result() {
    // RESULT kind Rows, flags 0, one column ks.t.c of type list<list<...<int>...>>.
    let mut body = BytesMut::new();
    body.put_i32(2);
    body.put_i32(0);
    body.put_i32(1);
    for s in ["ks", "t", "c"] {
        body.put_u16(s.len() as u16);
        body.put_slice(s.as_bytes());
    }
    for _ in 0..10_000 {
        body.put_u16(0x0020);
    }
    body.put_u16(0x0009);
    body.put_i32(0);
    let mut bytes = header(0x85, 0x08, body.len() as i32);
    bytes.extend_from_slice(&body);
    let env = decode_all(&mut CqlCodec::new(Role::Client), &bytes).unwrap().pop().unwrap();
    let err = ResponseMessage::from_envelope(&env).unwrap_err();
    assert!(matches!(err, DecodeError::TooDeep { .. }), "{err}");
}

fn sample_streams(version: Version) -> (Vec<u8>, Vec<u8>) {
    let params = QueryParameters::new(Consistency::One)
        .with_values(Values::positional([Value::Bytes(Bytes::from_static(b"abc")), Value::Null]).unwrap())
        .with_page_size(100)
        .with_paging_state(Bytes::from_static(b"state"));
    let requests = [
        Request::Query(Query::new("SELECT * FROM t", params.clone())),
        Request::Execute(Execute {
            id: Bytes::from_static(b"id"),
            result_metadata_id: (version >= Version::V5).then(|| Bytes::from_static(b"rm")),
            params,
        }),
    ];
    let responses = [
        Response::Error(ErrorBody {
            kind: ErrorKind::Unavailable { consistency: Consistency::Quorum, required: 3, alive: 1 },
            message: "Cannot achieve consistency level QUORUM".into(),
        }),
        Response::Result(ResultBody::SetKeyspace("ks".into())),
    ];
    let mut req = BytesMut::new();
    for (i, r) in requests.into_iter().enumerate() {
        RequestMessage::new(i as i16, r).encode(version, &mut req).unwrap();
    }
    let mut resp = BytesMut::new();
    for (i, r) in responses.into_iter().enumerate() {
        ResponseMessage::new(i as i16, r).encode(version, &mut resp).unwrap();
    }
    (req.to_vec(), resp.to_vec())
}

/// Every prefix of a valid stream decodes to a prefix of its envelopes and then waits
/// for more bytes: no error, no panic, whatever the cut.
#[test]
fn every_truncation_of_an_envelope_stream_waits_for_more() {
    for version in Version::ALL {
        let (req, resp) = sample_streams(version);
        for (role, bytes) in [(Role::Server, req), (Role::Client, resp)] {
            let full = decode_all(&mut CqlCodec::new(role), &bytes).unwrap();
            assert_eq!(full.len(), 2);
            for cut in 0..bytes.len() {
                let part = decode_all(&mut CqlCodec::new(role), &bytes[..cut]).unwrap();
                assert!(part.len() < 2 && full.starts_with(&part), "cut at {cut}");
            }
        }
    }
}

/// Every truncation of an envelope body (the header re-stamped with the shorter length)
/// is a typed error or a shorter valid message, never a panic.
#[test]
fn every_truncated_body_is_an_error_or_a_shorter_message() {
    for version in Version::ALL {
        let (req, resp) = sample_streams(version);
        for (role, bytes) in [(Role::Server, req), (Role::Client, resp)] {
            for env in decode_all(&mut CqlCodec::new(role), &bytes).unwrap() {
                for cut in 0..env.body.len() {
                    let mut h: EnvelopeHeader = env.header;
                    h.length = cut as u32;
                    let short = Envelope { header: h, body: env.body.slice(..cut) };
                    match role {
                        Role::Server => drop(RequestMessage::from_envelope(&short)),
                        Role::Client => drop(ResponseMessage::from_envelope(&short)),
                    }
                }
            }
        }
    }
}

#[test]
fn garbage_segments_are_crc_errors() {
    for compression in [Compression::None, Compression::Lz4] {
        let mut codec = CqlCodec::new(Role::Client);
        codec.set_framing(Framing::Segments);
        codec.set_compression(compression);
        let err = decode_all(&mut codec, &[0xff; 64]).unwrap_err();
        assert!(matches!(err, CodecError::Decode(DecodeError::HeaderCrcMismatch { .. })), "{err}");
    }
}

#[test]
fn compressed_flag_without_negotiated_compression_is_an_error() {
    let mut bytes = header(0x84, 0x02, 0);
    bytes[1] = 0x01;
    let err = decode_all(&mut CqlCodec::new(Role::Client), &bytes).unwrap_err();
    assert!(matches!(err, CodecError::Decode(DecodeError::UnexpectedCompression { .. })), "{err}");
}

#[test]
fn lz4_body_claiming_a_huge_length_is_refused() {
    // v4 LZ4 body: 4-byte big-endian uncompressed length (1 GiB) and a tiny block.
    let body = [&(1i32 << 30).to_be_bytes()[..], &[0x10, 0x41]].concat();
    let mut bytes = header(0x84, 0x02, body.len() as i32);
    bytes[1] = 0x01;
    bytes.extend_from_slice(&body);
    let mut codec = CqlCodec::new(Role::Client);
    codec.set_compression(Compression::Lz4);
    let err = decode_all(&mut codec, &bytes).unwrap_err();
    assert!(
        matches!(err, CodecError::Decode(DecodeError::Decompression { .. } | DecodeError::EnvelopeTooLarge { .. })),
        "{err}"
    );
}

#[test]
fn batch_names_flag_is_refused_both_ways() {
    use cqlstream::protocol::EncodeError;
    use cqlstream::protocol::request::{Batch, BatchStatement, BatchStatementKind};
    // Decoding: a v4 BATCH with no statements, consistency ONE and flags 0x40.
    let body = [0u8, 0, 0, 0, 1, 0x40];
    let mut bytes = header(0x04, 0x0d, body.len() as i32);
    bytes.extend_from_slice(&body);
    let env = decode_all(&mut CqlCodec::new(Role::Server), &bytes).unwrap().pop().unwrap();
    let err = RequestMessage::from_envelope(&env).unwrap_err();
    assert!(matches!(err, DecodeError::Invalid { what: "BATCH flags", .. }), "{err}");
    // Encoding: named values in a batch statement.
    let batch = Batch {
        statements: vec![BatchStatement {
            kind: BatchStatementKind::Query("INSERT INTO t (k) VALUES (:k)".into()),
            values: Values::named([("k", Value::Null)]).unwrap(),
        }],
        ..Default::default()
    };
    let err = RequestMessage::new(0, Request::Batch(batch)).to_envelope(Version::V4).unwrap_err();
    assert!(matches!(err, EncodeError::Invalid { what: "BATCH values", .. }), "{err}");
}

#[test]
fn invalid_utf8_in_a_string_is_named() {
    // RESULT Set_keyspace whose [string] holds 0xff 0xfe.
    let body = [0u8, 0, 0, 3, 0, 2, 0xff, 0xfe];
    let mut bytes = header(0x84, 0x08, body.len() as i32);
    bytes.extend_from_slice(&body);
    let env = decode_all(&mut CqlCodec::new(Role::Client), &bytes).unwrap().pop().unwrap();
    let err = ResponseMessage::from_envelope(&env).unwrap_err();
    assert!(matches!(err, DecodeError::InvalidUtf8 { at: 6, .. }), "{err}");
}

/// A Rows page of no columns whose count is i32::MAX: the rows take no bytes, so before
/// the count was refused every consumer iterated 2^31 - 1 empty rows (a stream spun for
/// minutes on a 24-byte frame). Now the page is refused before anything iterates.
#[test]
fn rows_without_columns_cannot_claim_rows() {
    for (count, refused) in [(i32::MAX, true), (1, true), (0, false)] {
        // Kind Rows, flags No_metadata, columns_count 0, rows_count.
        let body = [&2i32.to_be_bytes()[..], &4i32.to_be_bytes(), &0i32.to_be_bytes(), &count.to_be_bytes()].concat();
        let mut bytes = header(0x84, 0x08, body.len() as i32);
        bytes.extend_from_slice(&body);
        let env = decode_all(&mut CqlCodec::new(Role::Client), &bytes).unwrap().pop().unwrap();
        let decoded = ResponseMessage::from_envelope(&env);
        if refused {
            let err = decoded.unwrap_err();
            assert!(
                matches!(err, DecodeError::InvalidLength { what: "rows_count of a page with no columns", .. }),
                "{err}"
            );
        } else {
            let msg = decoded.unwrap();
            let Response::Result(ResultBody::Rows(rows)) = msg.response else { panic!("not rows") };
            assert_eq!((rows.rows_count(), rows.iter().count()), (0, 0));
        }
    }
}

/// A v4 compressed body (spec v4 §5) that declares `declared` bytes (at least 25) and
/// really expands to them at LZ4's ratio limit of about 255: one literal, one match
/// repeating it `declared - 6` times, and five closing literals.
pub(crate) fn lz4_bomb(declared: usize) -> Vec<u8> {
    let mut body = (declared as u32).to_be_bytes().to_vec();
    body.extend_from_slice(&[0x1f, b'a', 1, 0]);
    let mut rest = declared - 6 - 19;
    while rest >= 255 {
        body.push(255);
        rest -= 255;
    }
    body.push(rest as u8);
    body.extend_from_slice(&[0x50, b'b', b'b', b'b', b'b', b'b']);
    body
}

fn compressed_envelope(version: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = header(version, 0x08, body.len() as i32);
    bytes[1] = 0x01;
    bytes.extend_from_slice(body);
    bytes
}

#[test]
fn lz4_bomb_is_refused_by_its_ratio_before_allocating() {
    // 200 MiB from a 0.8 MB body: within the 256 MiB envelope limit and possible for
    // LZ4, but 255 times its size.
    let body = lz4_bomb(200 << 20);
    assert!(body.len() < 1 << 20);
    let mut codec = CqlCodec::new(Role::Client);
    codec.set_compression(Compression::Lz4);
    let err = decode_all(&mut codec, &compressed_envelope(0x84, &body)).unwrap_err();
    assert!(
        matches!(
            err,
            CodecError::Decode(DecodeError::CompressionRatio { declared, max_ratio: 64, .. }) if declared == 200 << 20
        ),
        "{err}"
    );
    // The same kind of body under the ratio-free size decodes: the bomb is valid LZ4.
    let small = lz4_bomb(1 << 20);
    let env = decode_all(&mut codec, &compressed_envelope(0x84, &small)).unwrap().pop().unwrap();
    assert_eq!(env.body.len(), 1 << 20);
    // And with the ratio raised, the big one is accepted too (checked on a smaller size
    // above the ratio-free limit, to keep the test light).
    let mut lenient = CqlCodec::new(Role::Client).with_max_compression_ratio(255);
    lenient.set_compression(Compression::Lz4);
    let env = decode_all(&mut lenient, &compressed_envelope(0x84, &lz4_bomb(8 << 20))).unwrap().pop().unwrap();
    assert_eq!(env.body.len(), 8 << 20);
}

#[test]
fn an_envelope_of_another_version_than_negotiated_is_refused() {
    let mut codec = CqlCodec::new(Role::Client);
    // Before a version is set (the handshake's probing), any supported version passes.
    let void = [0u8, 0, 0, 1];
    let mut v5 = header(0x85, 0x08, 4);
    v5.extend_from_slice(&void);
    assert_eq!(decode_all(&mut codec, &v5).unwrap().len(), 1);
    codec.set_expected_version(Some(Version::V4));
    let err = decode_all(&mut codec, &v5).unwrap_err();
    assert!(
        matches!(err, CodecError::Decode(DecodeError::VersionMismatch { expected: 4, found: 5, stream: 1 })),
        "{err}"
    );
    let mut v4 = header(0x84, 0x08, 4);
    v4.extend_from_slice(&void);
    assert_eq!(decode_all(&mut codec, &v4).unwrap().len(), 1);
}

#[test]
fn deferred_decompression_hands_over_the_compressed_body() {
    use cqlstream::protocol::Flags;
    use cqlstream::protocol::codec::decompress_envelope;
    let mut codec = CqlCodec::new(Role::Client);
    codec.set_compression(Compression::Lz4);
    codec.set_deferred_decompression(true);
    // The codec does not expand the body: it hands it over as it came, flagged.
    let body = lz4_bomb(1 << 20);
    let env = decode_all(&mut codec, &compressed_envelope(0x84, &body)).unwrap().pop().unwrap();
    assert!(env.header.flags.contains(Flags::COMPRESSION));
    assert_eq!(&env.body[..], &body[..]);
    // Whoever decodes it expands it.
    let plain = decompress_envelope(env.clone(), 256 << 20, 64).unwrap();
    assert!(!plain.header.flags.contains(Flags::COMPRESSION));
    assert_eq!(plain.body.len(), 1 << 20);
    // Under the same limits as the codec: its own size limit here.
    let err = decompress_envelope(env, 1000, 64).unwrap_err();
    assert!(matches!(err, DecodeError::EnvelopeTooLarge { len: 1048576, max: 1000 }), "{err}");
    // A bomb is still refused by the codec, from its declared length alone.
    let err = decode_all(&mut codec, &compressed_envelope(0x84, &lz4_bomb(200 << 20))).unwrap_err();
    assert!(matches!(err, CodecError::Decode(DecodeError::CompressionRatio { .. })), "{err}");
}
