//! Streams: order and exactly-once delivery, prefetch and backpressure, limits, resume,
//! cancellation, page retries under injected faults, the paging edge cases, deadlines
//! and timeouts.
//!
//! Every test runs through [`TestTarget`]: against an in-process testkit node by default,
//! against a real cluster when `CQLSTREAM_TEST_CONTACT_POINTS` is set, in a keyspace of
//! its own. What a real server does not promise (exact page boundaries, an empty page
//! after a full last one, request counts) and what needs the testkit's control (fault
//! injection, request counters) is checked only against the testkit, after
//! [`TestTarget::require_testkit`] has said what is skipped.

mod config;
mod edge;
mod faults;
mod resume_cancel;

use std::collections::HashSet;
use std::time::Duration;

use crate::support::{TestKeyspace, TestTarget};
use cqlstream::protocol::Compression;
use cqlstream::protocol::request::BatchType;
use cqlstream::session::{Batch, Session};
use futures_util::StreamExt;

/// The statement every test streams (sessions use the test's keyspace).
pub(crate) const SCAN: &str = "SELECT pk, ck, v FROM t";

/// A keyspace of the test's own holding `t (pk int, ck int, v text)` with `rows` rows,
/// row `i` being `(i / 10, i % 10, "row{i}")`, and a session using it. Keep the
/// keyspace guard alive (`let (_ks, session)`, not `let (_, session)`) until the test
/// ends: against a real cluster dropping it drops the keyspace.
pub(crate) async fn setup(target: &TestTarget, rows: u32) -> (TestKeyspace, Session) {
    setup_with(target, rows, 1).await
}

/// [`setup`] with a pool of `pool_size` connections.
pub(crate) async fn setup_with(target: &TestTarget, rows: u32, pool_size: usize) -> (TestKeyspace, Session) {
    let ks = target.keyspace().await.unwrap();
    let session = connect(target, &ks, pool_size).await;
    session.query("CREATE TABLE t (pk int, ck int, v text, PRIMARY KEY (pk, ck))", ()).await.unwrap();
    let insert = session.prepare("INSERT INTO t (pk, ck, v) VALUES (?, ?, ?)").await.unwrap();
    // One unlogged batch per partition (10 rows, one partition: no batch warning on a
    // real server), a few at a time.
    let batches = (0..rows.div_ceil(10)).map(|pk| {
        let mut batch = Batch::new(BatchType::Unlogged);
        for i in pk * 10..rows.min(pk * 10 + 10) {
            batch.add_prepared(&insert, ((i / 10) as i32, (i % 10) as i32, format!("row{i}"))).unwrap();
        }
        batch
    });
    futures_util::stream::iter(batches)
        .map(|batch| {
            let session = session.clone();
            async move { session.batch(&batch).await.map(drop) }
        })
        .buffer_unordered(16)
        .for_each(|r| async move { r.unwrap() })
        .await;
    (ks, session)
}

/// A session to `target` using keyspace `ks`: LZ4, `pool_size` connections, a 5 s
/// request timeout.
pub(crate) async fn connect(target: &TestTarget, ks: &TestKeyspace, pool_size: usize) -> Session {
    target
        .session_builder()
        .keyspace(ks.name())
        .compression(Compression::Lz4)
        .pool_size(pool_size)
        .request_timeout(Duration::from_secs(5))
        .build()
        .await
        .unwrap()
}

/// Every row of the table, as `(pk, ck, v)`.
pub(crate) fn all_rows(rows: u32) -> HashSet<(i32, i32, String)> {
    (0..rows).map(|i| ((i / 10) as i32, (i % 10) as i32, format!("row{i}"))).collect()
}

/// Asserts `got` holds every row of a `rows`-row table exactly once.
pub(crate) fn assert_exactly_once(got: &[(i32, i32, String)], rows: u32) {
    let set: HashSet<_> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "a row was delivered twice");
    assert_eq!(set, all_rows(rows), "rows missing");
}

/// Waits until `f` holds, failing after a generous limit (a liveness check, not a
/// timing assertion).
pub(crate) async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn rows_arrive_in_token_order_exactly_once_for_every_prefetch() {
    let target =
        TestTarget::from_env("stream::rows_arrive_in_token_order_exactly_once_for_every_prefetch").await.unwrap();
    let (_ks, session) = setup(&target, 2_500).await;
    let node = target.require_testkit("exact page counts and the pages the server was asked for");
    // Murmur3 token order of the partition keys, then clustering order: what any
    // server with the default partitioner keeps.
    let mut expected: Vec<(i32, i32, String)> = all_rows(2_500).into_iter().collect();
    expected.sort_by_key(|(pk, ck, _)| (cqlstream::token::murmur3_token(&pk.to_be_bytes()), *ck));
    if node.is_some() {
        // The order the server keeps, from one unpaged read.
        let all = session.query(cqlstream::session::Statement::new(SCAN).with_page_size(100_000), ()).await.unwrap();
        let unpaged: Vec<(i32, i32, String)> =
            all.rows().unwrap().clone().into_typed::<(i32, i32, String)>().unwrap().map(Result::unwrap).collect();
        assert_eq!(unpaged, expected);
    }
    for prefetch in [0, 1, 4] {
        for page_size in [1, 99, 100, 2_500, 5_000] {
            if let Some(node) = node {
                node.stats().reset();
            }
            let mut rows =
                session.stream(SCAN, ()).page_size(page_size).prefetch(prefetch).typed::<(i32, i32, String)>();
            let mut got = Vec::new();
            while let Some(row) = rows.next().await {
                got.push(row.unwrap());
            }
            assert_eq!(got, expected, "prefetch {prefetch}, page size {page_size}");
            let p = rows.progress();
            assert_eq!(p.rows, 2_500, "prefetch {prefetch}, page size {page_size}");
            if let Some(node) = node {
                let pages = (2_500 / page_size as u64) + 1; // a full last page is followed by an empty one
                assert_eq!(
                    (p.rows, p.pages, p.retries),
                    (2_500, pages, 0),
                    "prefetch {prefetch}, page size {page_size}"
                );
                // Every page was asked for once.
                assert_eq!(node.stats().pages(SCAN), vec![1; pages as usize]);
            }
            assert!(rows.is_finished());
            assert!(rows.resume_point().is_finished());
        }
    }
    assert_eq!(session.stream_stats(), Default::default());
}

#[tokio::test]
async fn pages_carry_their_facts_and_borrow_rows() {
    let target = TestTarget::from_env("stream::pages_carry_their_facts_and_borrow_rows").await.unwrap();
    let (_ks, session) = setup(&target, 250).await;
    let node = target.require_testkit("exact page boundaries (a real server's are only about page_size)");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    // The callback may keep state of its own.
    let mut calls = 0;
    let mut pages = session
        .stream(SCAN, ())
        .page_size(100)
        .on_page(move |info| {
            calls += 1;
            log.lock().unwrap().push((calls, info.number, info.rows));
        })
        .pages();
    let mut numbers = Vec::new();
    let mut facts = Vec::new();
    let mut last = Vec::new();
    let mut total = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        numbers.push(page.number());
        facts.push((numbers.len(), page.number(), page.len()));
        last.push(page.is_last());
        assert_eq!(page.node(), session.node());
        assert_eq!(page.columns().len(), 3);
        assert_eq!(page.paging_state().is_none(), page.is_last());
        assert!(page.is_empty() || page.bytes() > 0);
        if let Some(node) = node {
            assert_eq!(page.node(), node.addr());
            assert_eq!(page.retries(), 0);
            assert_eq!(page.paging_state().is_some(), page.number() < 2);
            assert_eq!(page.is_last(), page.number() == 2);
            assert!(page.bytes() > 0);
        }
        // Borrowed rows: `&str` points into the page.
        for row in page.rows::<(i32, i32, &str)>().unwrap() {
            let (pk, ck, v) = row.unwrap();
            assert_eq!(v, format!("row{}", pk * 10 + ck));
            total += 1;
        }
    }
    // Numbered from 0, and only the final page is the last.
    assert_eq!(numbers, (0..numbers.len() as u64).collect::<Vec<_>>());
    assert_eq!(last.iter().rposition(|&l| l), Some(last.len() - 1));
    assert_eq!(last.iter().filter(|&&l| l).count(), 1);
    assert_eq!(total, 250);
    assert_eq!(*seen.lock().unwrap(), facts, "the callback saw every page as it was taken");
    let p = pages.progress();
    assert_eq!((p.pages, p.rows), (numbers.len() as u64, 250));
    if node.is_some() {
        assert_eq!(numbers, [0, 1, 2]);
        assert_eq!(*seen.lock().unwrap(), [(1, 0, 100), (2, 1, 100), (3, 2, 50)]);
        assert_eq!((p.pages, p.rows), (3, 250));
    }
}

#[tokio::test]
async fn a_single_page_result_spawns_no_task() {
    let target = TestTarget::from_env("stream::a_single_page_result_spawns_no_task").await.unwrap();
    let (_ks, session) = setup(&target, 50).await;
    let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(4);
    let first = rows.next().await.unwrap().unwrap();
    assert_eq!(first.len(), 3);
    let producers = session.stream_stats().producers;
    let mut n = 1;
    while let Some(row) = rows.next().await {
        row.unwrap();
        n += 1;
    }
    assert_eq!(n, 50);
    // 50 rows at 100 a page are one page on the testkit, and on a real server unless
    // it cut the page short; a result that did come in one page ran no task.
    if target.testkit().is_some() {
        assert_eq!(rows.progress().pages, 1);
    }
    if rows.progress().pages == 1 {
        assert_eq!(producers, 0);
    }

    // A multi-page one does run a read-ahead task while it lasts, and only then.
    let mut rows = session.stream(SCAN, ()).page_size(10).prefetch(1);
    rows.next().await.unwrap().unwrap();
    assert_eq!(session.stream_stats().producers, 1);
    drop(rows);
    eventually("the producer stops", || session.stream_stats().producers == 0).await;
}

#[tokio::test]
async fn prepared_statements_with_values_stream_too() {
    let target = TestTarget::from_env("stream::prepared_statements_with_values_stream_too").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    let select = session.prepare("SELECT pk, ck, v FROM t WHERE pk IN ?").await.unwrap();
    let pks: Vec<i32> = (0..30).collect();
    let got: Vec<(i32, i32, String)> =
        session.stream(&select, (pks,)).page_size(7).typed::<(i32, i32, String)>().map(Result::unwrap).collect().await;
    assert_eq!(got.len(), 300);
    assert!(got.iter().all(|(pk, ck, v)| *v == format!("row{}", pk * 10 + ck)));
    // A values error is the stream's first item.
    let mut bad = session.stream(&select, ("not a list",));
    assert!(matches!(bad.next().await, Some(Err(cqlstream::Error::Serialize(_)))));
    assert!(bad.next().await.is_none());
}

#[tokio::test]
async fn backpressure_no_page_is_requested_beyond_the_window() {
    let target = TestTarget::from_env("stream::backpressure_no_page_is_requested_beyond_the_window").await.unwrap();
    let (_ks, session) = setup(&target, 3_000).await;
    // Against a real node the window is seen from the client's side only: the pages
    // buffered never exceed the prefetch.
    let node = target.require_testkit("counts the pages the server was asked for");
    for prefetch in [0usize, 1, 4] {
        if let Some(node) = node {
            node.stats().reset();
        }
        let mut pages = session.stream(SCAN, ()).page_size(100).prefetch(prefetch).pages();
        // The consumer holds page 2 and sleeps.
        for _ in 0..3 {
            pages.next().await.unwrap().unwrap();
        }
        let window = 2 + prefetch + 1; // pages 0..=2+prefetch
        match node {
            Some(node) => {
                eventually("the read-ahead fills its window", || node.stats().pages(SCAN).len() >= window).await;
            }
            None => {
                eventually("the read-ahead fills its window", || session.stream_stats().buffered_pages >= prefetch)
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(node) = node {
            assert_eq!(node.stats().pages(SCAN), vec![1; window], "prefetch {prefetch}");
        }
        assert_eq!(session.stream_stats().buffered_pages, prefetch);
        // The sleeping stream holds no connection up: other requests go through.
        let r = session.query("SELECT v FROM t WHERE pk = 1 AND ck = 1", ()).await.unwrap();
        assert_eq!(r.rows().unwrap().len(), 1);
        // Taking one page lets exactly one more request out.
        pages.next().await.unwrap().unwrap();
        match node {
            Some(node) => {
                eventually("one more page", || node.stats().pages(SCAN).len() == window + 1).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert_eq!(node.stats().pages(SCAN).len(), window + 1, "prefetch {prefetch}");
            }
            None => {
                eventually("one more page", || session.stream_stats().buffered_pages == prefetch).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                assert_eq!(session.stream_stats().buffered_pages, prefetch, "prefetch {prefetch}");
            }
        }
    }
}

#[tokio::test]
async fn max_buffered_bytes_stops_the_read_ahead() {
    let target = TestTarget::from_env("stream::max_buffered_bytes_stops_the_read_ahead").await.unwrap();
    let (_ks, session) = setup(&target, 3_000).await;
    let node = target.require_testkit("counts the pages the server was asked for; exact page count");
    // Pages of 100 rows are about 2 KB; a budget of 1 byte allows one page over it.
    let mut pages = session.stream(SCAN, ()).page_size(100).prefetch(10).max_buffered_bytes(1).pages();
    let mut rows = pages.next().await.unwrap().unwrap().len();
    match node {
        Some(node) => eventually("one page fetched ahead", || node.stats().pages(SCAN).len() >= 2).await,
        None => eventually("one page fetched ahead", || session.stream_stats().buffered_pages >= 1).await,
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // One buffered page over the budget, and the producer waiting with one slot
    // reserved but no request sent.
    if let Some(node) = node {
        assert_eq!(node.stats().pages(SCAN).len(), 2);
    }
    assert_eq!(session.stream_stats().buffered_pages, 1);
    let mut n = 1;
    while let Some(p) = pages.next().await {
        rows += p.unwrap().len();
        n += 1;
    }
    assert_eq!(rows, 3_000);
    if node.is_some() {
        assert_eq!(n, 31);
    }
}

#[tokio::test]
async fn limits_end_the_stream_and_resume_continues() {
    let target = TestTarget::from_env("stream::limits_end_the_stream_and_resume_continues").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    let node = target.require_testkit("exact page boundaries and the pages the server was asked for");
    if let Some(node) = node {
        node.stats().reset();
    }
    let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(4).max_rows(250).typed::<(i32, i32, String)>();
    let mut got = Vec::new();
    while let Some(r) = rows.next().await {
        got.push(r.unwrap());
    }
    assert_eq!(got.len(), 250);
    // No page past the one the limit ends in was asked for.
    eventually("producer gone", || session.stream_stats().producers == 0).await;
    if let Some(node) = node {
        assert_eq!(node.stats().pages(SCAN), vec![1, 1, 1]);
    }
    let point = rows.resume_point();
    assert!(!point.is_finished());
    if node.is_some() {
        assert_eq!((point.page(), point.rows_consumed()), (2, 50));
    }
    let rest: Vec<(i32, i32, String)> =
        session.stream(SCAN, ()).page_size(100).resume_from(point).typed().map(Result::unwrap).collect().await;
    got.extend(rest);
    assert_exactly_once(&got, 1_000);

    let pages: Vec<_> = session.stream(SCAN, ()).page_size(100).max_pages(3).pages().collect().await;
    assert_eq!(pages.len(), 3);
    let zero: Vec<_> = session.stream(SCAN, ()).max_rows(0).collect().await;
    assert!(zero.is_empty());
}

#[tokio::test]
async fn the_session_gives_every_stream_its_defaults() {
    let target = TestTarget::from_env("stream::the_session_gives_every_stream_its_defaults").await.unwrap();
    let (ks, _session) = setup(&target, 1_000).await;
    let session = target
        .session_builder()
        .keyspace(ks.name())
        .stream_config(cqlstream::stream::StreamConfig::new().page_size(100).prefetch(0).max_pages(3))
        .build()
        .await
        .unwrap();
    let pages: Vec<_> = session.stream(SCAN, ()).pages().map(Result::unwrap).collect().await;
    assert_eq!(pages.len(), 3);
    if target.require_testkit("exact page boundaries").is_some() {
        assert_eq!(pages.iter().map(|p| p.len()).collect::<Vec<_>>(), [100, 100, 100]);
    }
    // A stream's own setters win.
    let pages = session.stream(SCAN, ()).page_size(500).max_pages(10).pages().count().await;
    assert_eq!(pages, 3);
}
