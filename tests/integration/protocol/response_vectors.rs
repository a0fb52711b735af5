//! Whole response envelopes written byte for byte from spec §4.2, decoded through the
//! client codec and re-encoded to the same bytes.

use bytes::BytesMut;
use cqlstream::protocol::response::{ErrorKind, Event, ResultBody, StatusChangeType};
use cqlstream::protocol::{ColumnType, Consistency, CqlCodec, Response, ResponseMessage, Role};
use tokio_util::codec::Decoder;

use super::hex;

fn decode(bytes: &[u8]) -> ResponseMessage {
    let mut buf = BytesMut::from(bytes);
    let env = CqlCodec::new(Role::Client).decode(&mut buf).unwrap().expect("a whole envelope");
    assert!(buf.is_empty());
    let msg = ResponseMessage::from_envelope(&env).unwrap();
    let mut again = BytesMut::new();
    msg.encode(env.header.version, &mut again).unwrap();
    assert_eq!(again.as_ref(), bytes, "re-encoding differs from the vector");
    msg
}

#[test]
fn rows_with_has_more_pages_and_a_null_cell() {
    let bytes = hex(
        // v4 response, stream 1, RESULT, 65-byte body
        "84 00 0001 08 00000041 \
         | 00000002 \
         | 00000003 00000002 | 00000002 abcd \
         | 0002 6b73 0001 74 \
         | 0001 6b 0009 | 0001 76 000d \
         | 00000002 \
         | 00000004 00000001 00000002 6869 \
         | 00000004 00000002 ffffffff",
    );
    let msg = decode(&bytes);
    assert_eq!(msg.stream, 1);
    let Response::Result(ResultBody::Rows(rows)) = msg.response else { panic!("not rows") };
    let meta = rows.metadata();
    assert!(meta.has_more_pages());
    assert_eq!(meta.paging_state.as_deref(), Some(&[0xab, 0xcd][..]));
    let columns = meta.columns.as_ref().unwrap();
    assert_eq!((columns[0].keyspace.as_str(), columns[0].table.as_str(), columns[0].name.as_str()), ("ks", "t", "k"));
    assert_eq!((columns[1].name.as_str(), &columns[1].typ), ("v", &ColumnType::Varchar));
    let cells: Vec<Vec<Option<&[u8]>>> = rows.iter().map(|r| r.cells().collect()).collect();
    assert_eq!(cells, vec![vec![Some(&[0, 0, 0, 1][..]), Some(&b"hi"[..])], vec![Some(&[0, 0, 0, 2][..]), None]]);
}

#[test]
fn unavailable_error() {
    let message = "Cannot achieve consistency level QUORUM";
    let bytes = [
        hex("84 00 0002 00 00000037 | 00001000 | 0027"),
        message.as_bytes().to_vec(),
        hex("0004 | 00000003 | 00000001"),
    ]
    .concat();
    let msg = decode(&bytes);
    let Response::Error(e) = msg.response else { panic!("not an error") };
    assert_eq!(e.code(), 0x1000);
    assert_eq!(e.message, message);
    assert_eq!(e.kind, ErrorKind::Unavailable { consistency: Consistency::Quorum, required: 3, alive: 1 });
}

#[test]
fn status_change_event_on_stream_minus_one() {
    let bytes =
        [hex("84 00 ffff 0c 0000001c | 000d"), b"STATUS_CHANGE".to_vec(), hex("0002 5550 | 04 7f000001 00002352")]
            .concat();
    let msg = decode(&bytes);
    assert_eq!(msg.stream, -1);
    let Response::Event(Event::StatusChange { change, addr }) = msg.response else { panic!("not a status change") };
    assert_eq!(change, StatusChangeType::Up);
    assert_eq!(addr, "127.0.0.1:9042".parse().unwrap());
}

#[test]
fn warnings_and_tracing_prefix_a_void_result() {
    // Flags TRACING | WARNING: the tracing id, then the warnings, then the body.
    let bytes = hex("84 0a 0003 08 0000001b \
         | 000102030405060708090a0b0c0d0e0f \
         | 0001 0003 626164 \
         | 00000001");
    let msg = decode(&bytes);
    assert_eq!(msg.tracing_id.unwrap().as_bytes(), &hex("000102030405060708090a0b0c0d0e0f")[..]);
    assert_eq!(msg.warnings, Some(vec!["bad".to_string()]));
    assert_eq!(msg.response, Response::Result(ResultBody::Void));
}
