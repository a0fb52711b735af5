//! Requests encoded byte for byte as spec §4.1 lays them out, and decoded back.

use bytes::{Bytes, BytesMut};
use cqlstream::protocol::request::{Execute, Query, Startup};
use cqlstream::protocol::{Consistency, QueryParameters, Request, RequestMessage, Value, Values, Version};

use super::hex;

fn check(msg: &RequestMessage, version: Version, expected: &[u8]) {
    let mut buf = BytesMut::new();
    msg.encode(version, &mut buf).unwrap();
    assert_eq!(buf.as_ref(), expected, "encoding differs from the hand-written vector");
    let env = msg.to_envelope(version).unwrap();
    assert_eq!(&RequestMessage::from_envelope(&env).unwrap(), msg);
}

#[test]
fn startup_v4() {
    let msg = RequestMessage::new(0, Request::Startup(Startup::new(None)));
    check(&msg, Version::V4, &hex("04 00 0000 01 00000016 | 0001 | 000b 43514c5f56455253494f4e | 0005 332e302e30"));
}

#[test]
fn startup_v5_with_lz4() {
    let msg = RequestMessage::new(0, Request::Startup(Startup::new(Some("lz4"))));
    check(
        &msg,
        Version::V5,
        &hex("05 00 0000 01 00000028 | 0002 | 000b 43514c5f56455253494f4e | 0005 332e302e30 \
             | 000b 434f4d5052455353494f4e | 0003 6c7a34"),
    );
}

#[test]
fn query_v4_with_values_page_size_and_paging_state() {
    let params = QueryParameters {
        consistency: Consistency::One,
        values: Values::positional([Value::Bytes(Bytes::from_static(&[0, 0, 0, 42]))]).unwrap(),
        page_size: Some(5000),
        paging_state: Some(Bytes::from_static(&[0xab, 0xcd, 0xef])),
        ..Default::default()
    };
    let msg = RequestMessage::new(3, Request::Query(Query::new("SELECT v FROM t WHERE k=?", params)));
    check(
        &msg,
        Version::V4,
        &hex(
            // header: v4 request, no flags, stream 3, QUERY, 51-byte body
            "04 00 0003 07 00000035 \
             | 00000019 53454c45435420762046524f4d2074205748455245206b3d3f \
             | 0001 \
             | 0d \
             | 0001 00000004 0000002a \
             | 00001388 \
             | 00000003 abcdef",
        ),
    );
}

#[test]
fn query_v5_flags_are_an_int() {
    let params = QueryParameters { now_in_seconds: Some(7), ..QueryParameters::new(Consistency::Quorum) };
    let msg = RequestMessage::new(1, Request::Query(Query::new("x", params)));
    check(&msg, Version::V5, &hex("05 00 0001 07 0000000f | 00000001 78 | 0004 | 00000100 | 00000007"));
    // The same request cannot be expressed in v4.
    assert!(msg.to_envelope(Version::V4).is_err());
}

#[test]
fn execute_v5_with_result_metadata_id_and_keyspace() {
    let params = QueryParameters {
        consistency: Consistency::LocalQuorum,
        values: Values::positional([Value::Bytes(Bytes::from_static(&[7])), Value::NotSet]).unwrap(),
        page_size: Some(1000),
        keyspace: Some("ks".into()),
        ..Default::default()
    };
    let exec = Execute {
        id: Bytes::from_static(&[0xca, 0xfe]),
        result_metadata_id: Some(Bytes::from_static(&[0xbe, 0xef])),
        params,
    };
    let msg = RequestMessage::new(5, Request::Execute(exec));
    check(
        &msg,
        Version::V5,
        &hex("05 00 0005 0a 00000021 \
             | 0002 cafe | 0002 beef \
             | 0006 | 00000085 \
             | 0002 00000001 07 fffffffe \
             | 000003e8 \
             | 0002 6b73"),
    );
}

#[test]
fn execute_v4_has_no_result_metadata_id() {
    let exec = Execute {
        id: Bytes::from_static(&[1]),
        result_metadata_id: None,
        params: QueryParameters::new(Consistency::One),
    };
    let msg = RequestMessage::new(2, Request::Execute(exec));
    check(&msg, Version::V4, &hex("04 00 0002 0a 00000006 | 0001 01 | 0001 | 00"));
}
