//! Fault injection: errors (once, N times, every code's extra fields), delays that do
//! not hold up other streams, silence, connection drops after N replies or at page K,
//! malformed frames, and the counters tests assert with.

use std::time::Duration;

use bytes::Bytes;
use cqlstream::protocol::request::Query;
use cqlstream::protocol::response::{ErrorKind, ResultBody};
use cqlstream::protocol::{Compression, Consistency, QueryParameters, Request, Response, Version};
use cqlstream::testkit::{Fault, FaultAction, TestNode};
use futures_util::StreamExt;

use super::Client;

async fn setup() -> (TestNode, Client) {
    let node = TestNode::builder().start().await.unwrap();
    let cluster_cql = [
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.t (k int, c int, PRIMARY KEY (k, c))",
    ];
    let mut c = Client::connect(node.addr(), Version::V5).await;
    assert_eq!(c.startup(Compression::None).await, Response::Ready);
    for cql in cluster_cql {
        assert!(matches!(c.request(q(cql)).await, Response::Result(_)));
    }
    for i in 0..10 {
        assert!(matches!(c.request(q(&format!("INSERT INTO ks.t (k, c) VALUES (1, {i})"))).await, Response::Result(_)));
    }
    (node, c)
}

fn q(cql: &str) -> Request {
    Request::Query(Query::new(cql, QueryParameters::new(Consistency::One)))
}

const SELECT: &str = "SELECT * FROM ks.t WHERE k = 1";

#[tokio::test]
async fn errors_once_then_normal_service() {
    let (node, mut c) = setup().await;
    node.faults().add(Fault::error(ErrorKind::Overloaded, "busy").matching("SELECT").once());
    let Response::Error(e) = c.request(q(SELECT)).await else { panic!("no error") };
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Overloaded, "busy"));
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(ResultBody::Rows(_))));
    assert_eq!(node.stats().requests(SELECT), 2);
}

#[tokio::test]
async fn every_error_kind_arrives_with_its_fields() {
    let (node, mut c) = setup().await;
    let kinds = [
        ErrorKind::ReadTimeout { consistency: Consistency::Quorum, received: 1, block_for: 2, data_present: false },
        ErrorKind::Unavailable { consistency: Consistency::All, required: 3, alive: 1 },
        ErrorKind::IsBootstrapping,
        ErrorKind::Unprepared { id: Bytes::from_static(b"abc") },
        ErrorKind::WriteTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            write_type: cqlstream::protocol::response::WriteType::Simple,
            contentions: None,
        },
    ];
    for k in &kinds {
        node.faults().add(Fault::error(k.clone(), "injected").once());
    }
    for k in kinds {
        let Response::Error(e) = c.request(q(SELECT)).await else { panic!("no error") };
        assert_eq!(e.kind, k);
    }
    node.faults().add(Fault::error(ErrorKind::Overloaded, "x").times(3));
    for _ in 0..3 {
        assert!(matches!(c.request(q(SELECT)).await, Response::Error(_)));
    }
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(_)));
}

#[tokio::test]
async fn a_delayed_reply_does_not_hold_up_the_others() {
    let (node, mut c) = setup().await;
    node.faults().add(Fault::delay(Duration::from_millis(300)).matching("k = 1").once());
    let slow = c.send(q(SELECT)).await;
    let fast = c.send(q("SELECT * FROM ks.t WHERE k = 2")).await;
    let first = c.recv().await;
    assert_eq!(first.stream, fast, "the undelayed request is answered first");
    let second = c.recv().await;
    assert_eq!(second.stream, slow);
}

#[tokio::test]
async fn no_reply_leaves_one_stream_silent() {
    let (node, mut c) = setup().await;
    node.faults().add(Fault::no_reply().matching("k = 1").once());
    let _silent = c.send(q(SELECT)).await;
    let other = c.send(q("SELECT * FROM ks.t WHERE k = 2")).await;
    assert_eq!(c.recv().await.stream, other);
    let nothing = tokio::time::timeout(Duration::from_millis(200), c.recv_envelope()).await;
    assert!(nothing.is_err(), "the silent stream got a reply");
}

#[tokio::test]
async fn close_after_n_replies() {
    let (node, mut c) = setup().await;
    node.faults().add(Fault::close_after_replies(2).matching("SELECT"));
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(_)));
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(_)));
    c.send(q(SELECT)).await;
    assert!(c.io.next().await.is_none(), "the connection should be closed after the 2nd reply");
}

#[tokio::test]
async fn close_at_page_k_of_a_scan() {
    let (node, mut c) = setup().await;
    node.faults().add(Fault::close_at_page(2));
    let mut state = None;
    for page in 0..3 {
        let mut params = QueryParameters::new(Consistency::One).with_page_size(3);
        params.paging_state = state.take();
        let stream = c.send(Request::Query(Query::new(SELECT, params))).await;
        if page == 2 {
            assert!(c.io.next().await.is_none(), "page 2 should find the connection closed");
            break;
        }
        let reply = c.recv().await;
        assert_eq!(reply.stream, stream);
        let Response::Result(ResultBody::Rows(r)) = reply.response else { panic!("not rows") };
        assert_eq!(r.rows_count(), 3);
        state = r.metadata().paging_state.clone();
    }
    assert_eq!(node.stats().pages(SELECT), vec![1, 1, 1]);
}

#[tokio::test]
async fn malformed_frames_are_undecodable() {
    let (node, mut c) = setup().await;
    node.faults().add(Fault::new(FaultAction::MalformedFrame).once());
    c.send(q(SELECT)).await;
    let next = tokio::time::timeout(Duration::from_secs(5), c.io.next()).await.unwrap();
    assert!(matches!(next, Some(Err(_))), "expected a decode error, got {next:?}");
}

#[tokio::test]
async fn in_process_execute_sets_up_data() {
    let node = TestNode::builder().start().await.unwrap();
    let cluster = cqlstream::testkit::TestCluster::builder().start().await.unwrap();
    cluster
        .execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        .unwrap();
    cluster.execute("CREATE TABLE ks.t (k int PRIMARY KEY)").unwrap();
    let err = cluster.execute("CREATE TABLE ks.t (k int PRIMARY KEY)").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::AlreadyExists { .. }));
    drop(node);
}
