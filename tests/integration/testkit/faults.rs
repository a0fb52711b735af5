//! Fault injection: errors (once, N times, every code's extra fields), delays that do
//! not hold up other streams, silence, connection drops after N replies or at page K,
//! malformed frames, faults restricted to one page, pages of an injected length
//! (empty, short, long), and the counters tests assert with.
//!
//! All of it is testkit-only control: against a real node each test says it is skipped
//! and returns before touching the node. So each keeps the fixed keyspace `ks`, on the
//! testkit node of its own.

use std::time::Duration;

use crate::support::TestTarget;
use bytes::Bytes;
use cqlstream::protocol::request::{Execute, Prepare, Query};
use cqlstream::protocol::response::{ErrorKind, ResultBody, Rows};
use cqlstream::protocol::{ColumnType, Compression, Consistency, QueryParameters, Request, Response, Version};
use cqlstream::testkit::{Fault, FaultAction, TestNode};
use futures_util::StreamExt;

use super::Client;

/// The testkit node with `ks.t` holding ten rows in partition 1, and a client at v5;
/// against a real node `None`, the skip said.
async fn setup(target: &TestTarget) -> Option<(&TestNode, Client)> {
    let node = target.require_testkit("fault injection and request counters")?;
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
    Some((node, c))
}

fn q(cql: &str) -> Request {
    Request::Query(Query::new(cql, QueryParameters::new(Consistency::One)))
}

const SELECT: &str = "SELECT * FROM ks.t WHERE k = 1";

#[tokio::test]
async fn errors_once_then_normal_service() {
    let target = TestTarget::from_env("testkit::errors_once_then_normal_service").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
    node.faults().add(Fault::error(ErrorKind::Overloaded, "busy").matching("SELECT").once());
    let Response::Error(e) = c.request(q(SELECT)).await else { panic!("no error") };
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Overloaded, "busy"));
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(ResultBody::Rows(_))));
    assert_eq!(node.stats().requests(SELECT), 2);
}

#[tokio::test]
async fn every_error_kind_arrives_with_its_fields() {
    let target = TestTarget::from_env("testkit::every_error_kind_arrives_with_its_fields").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
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
    let target = TestTarget::from_env("testkit::a_delayed_reply_does_not_hold_up_the_others").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
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
    let target = TestTarget::from_env("testkit::no_reply_leaves_one_stream_silent").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
    node.faults().add(Fault::no_reply().matching("k = 1").once());
    let _silent = c.send(q(SELECT)).await;
    let other = c.send(q("SELECT * FROM ks.t WHERE k = 2")).await;
    assert_eq!(c.recv().await.stream, other);
    let nothing = tokio::time::timeout(Duration::from_millis(200), c.recv_envelope()).await;
    assert!(nothing.is_err(), "the silent stream got a reply");
}

#[tokio::test]
async fn close_after_n_replies() {
    let target = TestTarget::from_env("testkit::close_after_n_replies").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
    node.faults().add(Fault::close_after_replies(2).matching("SELECT"));
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(_)));
    assert!(matches!(c.request(q(SELECT)).await, Response::Result(_)));
    c.send(q(SELECT)).await;
    assert!(c.io.next().await.is_none(), "the connection should be closed after the 2nd reply");
}

#[tokio::test]
async fn close_at_page_k_of_a_scan() {
    let target = TestTarget::from_env("testkit::close_at_page_k_of_a_scan").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
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
    let target = TestTarget::from_env("testkit::malformed_frames_are_undecodable").await.unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
    node.faults().add(Fault::new(FaultAction::MalformedFrame).once());
    c.send(q(SELECT)).await;
    let next = tokio::time::timeout(Duration::from_secs(5), c.io.next()).await.unwrap();
    assert!(matches!(next, Some(Err(_))), "expected a decode error, got {next:?}");
}

#[tokio::test]
async fn in_process_execute_sets_up_data() {
    let target = TestTarget::from_env("testkit::in_process_execute_sets_up_data").await.unwrap();
    if target.require_testkit("statements run in process (execute)").is_none() {
        return;
    }
    let cluster = cqlstream::testkit::TestCluster::builder().start().await.unwrap();
    cluster
        .execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
        .unwrap();
    cluster.execute("CREATE TABLE ks.t (k int PRIMARY KEY)").unwrap();
    let err = cluster.execute("CREATE TABLE ks.t (k int PRIMARY KEY)").unwrap_err();
    assert!(matches!(err.kind, ErrorKind::AlreadyExists { .. }));
}

// Page-shaped faults, on a 250-row table over 5 partitions, paged at 100.

const BIG: &str = "SELECT * FROM ks.big";

/// [`setup`] plus `ks.big`, and the keys of an undisturbed scan of it.
async fn setup_big(target: &TestTarget) -> Option<(&TestNode, Client, Vec<(i32, i32)>)> {
    let (node, mut c) = setup(target).await?;
    let create = "CREATE TABLE ks.big (k int, c int, PRIMARY KEY (k, c))";
    assert!(matches!(c.request(q(create)).await, Response::Result(_)));
    for i in 0..250 {
        let insert = format!("INSERT INTO ks.big (k, c) VALUES ({}, {})", i / 50, i % 50);
        assert!(matches!(c.request(q(&insert)).await, Response::Result(_)));
    }
    // The reference: an undisturbed scan sees every row once, in token order.
    let pages = scan(&mut c, |state| paged(BIG, state)).await;
    assert_eq!(lengths(&pages), [100, 100, 50]);
    let reference = keys(&pages);
    let mut distinct = reference.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct, (0..250).map(|i| (i / 50, i % 50)).collect::<Vec<_>>());
    node.stats().reset();
    Some((node, c, reference))
}

fn paged(cql: &str, state: Option<Bytes>) -> Request {
    let mut params = QueryParameters::new(Consistency::One).with_page_size(100);
    params.paging_state = state;
    Request::Query(Query::new(cql, params))
}

async fn rows(c: &mut Client, request: Request) -> Rows {
    match c.request(request).await {
        Response::Result(ResultBody::Rows(r)) => r,
        other => panic!("expected rows, got {other:?}"),
    }
}

/// Every page of a scan, following paging states until there is none.
async fn scan(c: &mut Client, request: impl Fn(Option<Bytes>) -> Request) -> Vec<Rows> {
    let mut pages = Vec::new();
    let mut state = None;
    loop {
        let r = rows(c, request(state.take())).await;
        state = r.metadata().paging_state.clone();
        pages.push(r);
        if state.is_none() {
            return pages;
        }
        assert!(pages.len() < 50, "the scan does not end");
    }
}

fn int(cell: Option<Option<&[u8]>>) -> i32 {
    i32::from_be_bytes(cell.flatten().expect("a value").try_into().expect("an int"))
}

fn keys(pages: &[Rows]) -> Vec<(i32, i32)> {
    pages.iter().flat_map(|p| p.iter()).map(|row| (int(row.cell(0)), int(row.cell(1)))).collect()
}

fn lengths(pages: &[Rows]) -> Vec<usize> {
    pages.iter().map(Rows::rows_count).collect()
}

fn assert_big_columns(r: &Rows) {
    let columns = r.metadata().columns.as_ref().expect("column specs");
    let columns: Vec<_> = columns.iter().map(|c| (c.name.as_str(), &c.typ)).collect();
    assert_eq!(columns, [("k", &ColumnType::Int), ("c", &ColumnType::Int)]);
}

#[tokio::test]
async fn empty_pages_still_page_and_lose_no_row() {
    let target = TestTarget::from_env("testkit::empty_pages_still_page_and_lose_no_row").await.unwrap();
    let Some((node, mut c, reference)) = setup_big(&target).await else { return };
    let cases: [(&[usize], &[usize]); 5] = [
        (&[0], &[0, 100, 100, 50]),
        (&[1], &[100, 0, 100, 50]),
        (&[0, 1, 2], &[0, 0, 0, 100, 100, 50]),
        (&[1, 2, 3], &[100, 0, 0, 0, 100, 50]),
        (&[3], &[100, 100, 50]),
    ];
    for (empty, expected) in cases {
        for &p in empty {
            node.faults().add(Fault::page_rows(0).matching(BIG).at_page(p).once());
        }
        let pages = scan(&mut c, |state| paged(BIG, state)).await;
        assert_eq!(lengths(&pages), expected, "empty pages at {empty:?}");
        assert_eq!(keys(&pages), reference, "empty pages at {empty:?}");
        for (i, page) in pages.iter().enumerate() {
            assert_big_columns(page);
            if page.rows_count() == 0 && i + 1 < pages.len() {
                assert!(page.metadata().has_more_pages(), "empty page {i} has no paging state");
            }
        }
        // Page 3 is never asked for when the scan ends at page 2: that rule stays armed.
        if empty == [3] {
            assert_eq!(node.faults().len(), 1);
            node.faults().clear();
        }
        assert!(node.faults().is_empty());
        assert_eq!(node.stats().pages(BIG), vec![1; expected.len()], "empty pages at {empty:?}");
        node.stats().reset();
    }
}

#[tokio::test]
async fn an_empty_page_honours_skip_metadata_on_execute() {
    let target = TestTarget::from_env("testkit::an_empty_page_honours_skip_metadata_on_execute").await.unwrap();
    let Some((node, mut c, reference)) = setup_big(&target).await else { return };
    let Response::Result(ResultBody::Prepared(prepared)) = c.request(Request::Prepare(Prepare::new(BIG))).await else {
        panic!("not prepared")
    };
    node.faults().add(Fault::page_rows(0).at_page(0).once());
    node.faults().add(Fault::page_rows(0).at_page(2).once());
    let execute = |state: Option<Bytes>| {
        let mut params = QueryParameters::new(Consistency::One).with_page_size(100);
        params.paging_state = state;
        params.skip_metadata = true;
        Request::Execute(Execute {
            id: prepared.id.clone(),
            result_metadata_id: prepared.result_metadata_id.clone(),
            params,
        })
    };
    let pages = scan(&mut c, execute).await;
    assert_eq!(lengths(&pages), [0, 100, 0, 100, 50]);
    assert_eq!(keys(&pages), reference);
    for page in &pages {
        assert_eq!((page.metadata().columns.as_ref(), page.metadata().columns_count), (None, 2));
    }
    assert!(pages[0].metadata().has_more_pages() && pages[2].metadata().has_more_pages());
    assert_eq!(node.stats().pages(BIG), [1, 1, 1, 1, 1]);
}

#[tokio::test]
async fn short_and_long_pages_continue_where_they_stopped() {
    let target = TestTarget::from_env("testkit::short_and_long_pages_continue_where_they_stopped").await.unwrap();
    let Some((node, mut c, reference)) = setup_big(&target).await else { return };
    let cases: [(Fault, &[usize]); 4] = [
        (Fault::page_rows(7).at_page(1).once(), &[100, 7, 100, 43]),
        (Fault::page_rows(1).at_page(0).once(), &[1, 100, 100, 49]),
        // More than remain: what remains is the last page.
        (Fault::page_rows(1000).at_page(1).once(), &[100, 150]),
        // A page that ends exactly at the data's end says more may follow, as usual.
        (Fault::page_rows(150).at_page(0).once(), &[150, 100, 0]),
    ];
    for (fault, expected) in cases {
        let shown = format!("{fault:?}");
        node.faults().add(fault);
        let pages = scan(&mut c, |state| paged(BIG, state)).await;
        assert_eq!(lengths(&pages), expected, "{shown}");
        assert_eq!(keys(&pages), reference, "{shown}");
        assert!(node.faults().is_empty(), "{shown}");
        assert_eq!(node.stats().pages(BIG), vec![1; expected.len()], "{shown}");
        node.stats().reset();
    }
}

#[tokio::test]
async fn injected_page_lengths_respect_limit() {
    let target = TestTarget::from_env("testkit::injected_page_lengths_respect_limit").await.unwrap();
    let Some((node, mut c, reference)) = setup_big(&target).await else { return };
    let select = "SELECT * FROM ks.big LIMIT 120";
    node.faults().add(Fault::page_rows(0).at_page(0).once());
    node.faults().add(Fault::page_rows(7).at_page(2).once());
    let pages = scan(&mut c, |state| paged(select, state)).await;
    assert_eq!(lengths(&pages), [0, 100, 7, 13]);
    assert_eq!(keys(&pages), reference[..120]);
    assert_eq!(node.stats().pages(select), [1, 1, 1, 1]);
}

#[tokio::test]
async fn an_error_at_page_k_fires_only_there_and_a_retry_succeeds() {
    let target =
        TestTarget::from_env("testkit::an_error_at_page_k_fires_only_there_and_a_retry_succeeds").await.unwrap();
    let Some((node, mut c, reference)) = setup_big(&target).await else { return };
    node.faults().add(Fault::error(ErrorKind::Overloaded, "busy").matching("SELECT").at_page(2).once());
    let mut got = Vec::new();
    let mut state = None;
    for _ in 0..2 {
        let r = rows(&mut c, paged(BIG, state.take())).await;
        state = r.metadata().paging_state.clone();
        got.push(r);
    }
    let Response::Error(e) = c.request(paged(BIG, state.clone())).await else { panic!("page 2 did not fail") };
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Overloaded, "busy"));
    let last = rows(&mut c, paged(BIG, state)).await;
    assert!(!last.metadata().has_more_pages());
    got.push(last);
    assert_eq!(lengths(&got), [100, 100, 50]);
    assert_eq!(keys(&got), reference);
    assert_eq!(node.stats().pages(BIG), [1, 1, 2]);
    // The rule fired once and is gone: a second scan is undisturbed.
    assert!(node.faults().is_empty());
    assert_eq!(keys(&scan(&mut c, |state| paged(BIG, state)).await), reference);
    assert_eq!(node.stats().pages(BIG), [2, 2, 3]);
}

#[tokio::test]
async fn a_silent_page_is_served_when_retried() {
    let target = TestTarget::from_env("testkit::a_silent_page_is_served_when_retried").await.unwrap();
    let Some((node, mut c, reference)) = setup_big(&target).await else { return };
    node.faults().add(Fault::no_reply().at_page(1).once());
    let first = rows(&mut c, paged(BIG, None)).await;
    let state = first.metadata().paging_state.clone();
    let _silent = c.send(paged(BIG, state.clone())).await;
    let nothing = tokio::time::timeout(Duration::from_millis(200), c.recv_envelope()).await;
    assert!(nothing.is_err(), "the page-1 request got a reply");
    // The client times out and asks again with the same paging state.
    let second = rows(&mut c, paged(BIG, state)).await;
    let third = rows(&mut c, paged(BIG, second.metadata().paging_state.clone())).await;
    let pages = [first, second, third];
    assert_eq!(lengths(&pages), [100, 100, 50]);
    assert_eq!(keys(&pages), reference);
    assert_eq!(node.stats().pages(BIG), [1, 2, 1]);
}

#[tokio::test]
async fn an_empty_first_page_resumes_before_a_partition_with_an_empty_key() {
    // An empty key has the ring's minimum token, so "from the start" cannot be written
    // as that position: the partition would be skipped.
    let target = TestTarget::from_env("testkit::an_empty_first_page_resumes_before_a_partition_with_an_empty_key")
        .await
        .unwrap();
    let Some((node, mut c)) = setup(&target).await else { return };
    let create = "CREATE TABLE ks.txt (k text, c int, PRIMARY KEY (k, c))";
    assert!(matches!(c.request(q(create)).await, Response::Result(_)));
    for (k, v) in [("", 0), ("", 1), ("a", 0)] {
        let insert = format!("INSERT INTO ks.txt (k, c) VALUES ('{k}', {v})");
        assert!(matches!(c.request(q(&insert)).await, Response::Result(_)));
    }
    let select = "SELECT * FROM ks.txt";
    node.faults().add(Fault::page_rows(0).at_page(0).once());
    let pages = scan(&mut c, |state| paged(select, state)).await;
    assert_eq!(lengths(&pages), [0, 3]);
    assert_eq!(node.stats().pages(select), [1, 1]);
}
