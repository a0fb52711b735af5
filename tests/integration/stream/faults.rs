//! Page retries under injected faults: each retryable failure at the first, a middle
//! and the last page is retried with the same paging state, and the rows stay
//! exactly-once; what is not retryable ends the stream with the server's error.

use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::Error;
use cqlstream::protocol::Consistency;
use cqlstream::protocol::response::ErrorKind;
use cqlstream::stream::RetryPolicy;
use cqlstream::testkit::Fault;
use futures_util::StreamExt;

use super::{SCAN, assert_exactly_once, connect, setup, setup_with};

/// 1,050 rows at 100 a page: pages 0..=10, the last one (10) holding 50 rows.
const ROWS: u32 = 1_050;
const PAGES: usize = 11;

fn read_timeout() -> ErrorKind {
    ErrorKind::ReadTimeout { consistency: Consistency::LocalOne, received: 0, block_for: 1, data_present: false }
}

fn unavailable() -> ErrorKind {
    ErrorKind::Unavailable { consistency: Consistency::LocalOne, required: 1, alive: 0 }
}

/// The faults a stream must survive, as a fault rule for page `page` (0-based).
fn faults(page: usize) -> Vec<(&'static str, Fault)> {
    let on_page = |f: Fault| f.matching(SCAN).at_page(page).once();
    vec![
        ("connection lost", Fault::close_at_page(page)),
        ("overloaded", on_page(Fault::error(ErrorKind::Overloaded, "Server is overloaded"))),
        ("bootstrapping", on_page(Fault::error(ErrorKind::IsBootstrapping, "Cannot read from a bootstrapping node"))),
        ("read timeout", on_page(Fault::error(read_timeout(), "Operation timed out - received only 0 responses."))),
        ("unavailable", on_page(Fault::error(unavailable(), "Cannot achieve consistency level LOCAL_ONE"))),
        ("client page timeout", on_page(Fault::no_reply())),
    ]
}

#[tokio::test]
async fn every_retryable_fault_at_first_middle_and_last_page_is_retried_exactly_once() {
    let target =
        TestTarget::from_env("stream::every_retryable_fault_at_first_middle_and_last_page_is_retried_exactly_once")
            .await
            .unwrap();
    let Some(node) = target.require_testkit("injects faults") else { return };
    let (_ks, session) = setup(&target, ROWS).await;
    for page in [0, 1, 5, PAGES - 1] {
        for (what, fault) in faults(page) {
            for prefetch in [0, 2] {
                node.stats().reset();
                node.faults().clear();
                node.faults().add(fault.clone());
                let mut pages = session
                    .stream(SCAN, ())
                    .page_size(100)
                    .prefetch(prefetch)
                    .first_page_timeout(Duration::from_millis(300))
                    .page_timeout(Duration::from_millis(300))
                    .retry(RetryPolicy::new().backoff(Duration::from_millis(1), Duration::from_millis(10)))
                    .pages();
                let mut got = Vec::new();
                let mut retries = Vec::new();
                while let Some(p) = pages.next().await {
                    let p = p.unwrap_or_else(|e| panic!("{what} at page {page}: {e}"));
                    retries.push(p.retries());
                    got.extend(p.rows::<(i32, i32, String)>().unwrap().map(Result::unwrap));
                }
                assert_exactly_once(&got, ROWS);
                let mut expected = vec![0; PAGES];
                expected[page] = 1;
                assert_eq!(retries, expected, "{what} at page {page}, prefetch {prefetch}");
                assert_eq!(pages.progress().retries, 1);
                // The failed page was asked for twice, with the same paging state.
                let mut asked = vec![1; PAGES];
                asked[page] = 2;
                assert_eq!(node.stats().pages(SCAN), asked, "{what} at page {page}, prefetch {prefetch}");
                assert!(node.faults().is_empty(), "{what}: the fault never fired");
            }
        }
    }
}

#[tokio::test]
async fn a_retry_goes_to_another_connection_when_there_is_one() {
    // With two connections the retry of a page whose connection died uses the other
    // one: the stream opens no connection of its own (the pool's keeper replaces the
    // dead one in the background, which is the only new connection).
    let target = TestTarget::from_env("stream::a_retry_goes_to_another_connection_when_there_is_one").await.unwrap();
    let Some(node) = target.require_testkit("closes a connection, counts connections") else { return };
    let (ks, session) = setup_with(&target, ROWS, 2).await;
    let before = node.stats().connections();
    node.faults().add(Fault::close_at_page(4));
    let got: Vec<(i32, i32, String)> =
        session.stream(SCAN, ()).page_size(100).typed().map(Result::unwrap).collect().await;
    assert_exactly_once(&got, ROWS);
    assert!(node.stats().connections() <= before + 1, "{} connections after {before}", node.stats().connections());

    // With one, the retry reconnects.
    drop(session);
    let session = connect(&target, &ks, 1).await;
    let before = node.stats().connections();
    node.faults().add(Fault::close_at_page(4));
    let got: Vec<(i32, i32, String)> =
        session.stream(SCAN, ()).page_size(100).typed().map(Result::unwrap).collect().await;
    assert_exactly_once(&got, ROWS);
    assert_eq!(node.stats().connections(), before + 1);
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_kept() {
    let target = TestTarget::from_env("stream::retries_are_bounded_and_the_last_error_is_kept").await.unwrap();
    let Some(node) = target.require_testkit("injects faults") else { return };
    let (_ks, session) = setup(&target, ROWS).await;
    node.faults().add(Fault::error(ErrorKind::Overloaded, "busy").matching(SCAN).after(3));
    let mut rows = session
        .stream(SCAN, ())
        .page_size(100)
        .retry(RetryPolicy::new().max_retries(2).backoff(Duration::from_millis(1), Duration::from_millis(1)));
    let mut n = 0;
    let err = loop {
        match rows.next().await.unwrap() {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert_eq!(n, 300);
    assert!(matches!(err, Error::RetriesExhausted { attempts: 3, .. }), "{err}");
    assert!(matches!(err.server_kind(), Some(ErrorKind::Overloaded)));
    assert_eq!(err.server_error().unwrap().message, "busy");
    assert!(rows.next().await.is_none());
    assert_eq!(node.stats().pages(SCAN), vec![1, 1, 1, 3]);
    // The resume point still says where reading stopped.
    assert_eq!((rows.resume_point().page(), rows.resume_point().rows_consumed()), (3, 0));
}

#[tokio::test]
async fn what_a_retry_cannot_fix_is_not_retried() {
    let target = TestTarget::from_env("stream::what_a_retry_cannot_fix_is_not_retried").await.unwrap();
    let Some(node) = target.require_testkit("injects faults") else { return };
    let (_ks, session) = setup(&target, ROWS).await;
    for (kind, message) in [
        (ErrorKind::Invalid, "Undefined column name x"),
        (ErrorKind::ServerError, "java.lang.RuntimeException"),
        (ErrorKind::Unauthorized, "User x has no SELECT permission"),
    ] {
        node.stats().reset();
        node.faults().add(Fault::error(kind.clone(), message).matching(SCAN).after(2).once());
        let results: Vec<_> = session.stream(SCAN, ()).page_size(100).pages().collect().await;
        assert_eq!(results.len(), 3);
        let err = results[2].as_ref().unwrap_err();
        assert_eq!(err.server_kind(), Some(&kind));
        assert_eq!(err.server_error().unwrap().message, message);
        assert_eq!(node.stats().pages(SCAN), vec![1, 1, 1]);
    }
    // A policy that never retries gives up at once, even on a retryable error.
    node.faults().add(Fault::error(ErrorKind::Overloaded, "busy").matching(SCAN).once());
    let first = session.stream(SCAN, ()).retry(RetryPolicy::never()).next().await.unwrap();
    assert!(matches!(first.unwrap_err().server_kind(), Some(ErrorKind::Overloaded)));
}

#[tokio::test]
async fn deadline_and_timeouts() {
    let target = TestTarget::from_env("stream::deadline_and_timeouts").await.unwrap();
    let Some(node) = target.require_testkit("injects faults") else { return };
    let (_ks, session) = setup(&target, ROWS).await;
    // A slow first page is fine under its own timeout while later pages have a short one.
    node.faults().add(Fault::delay(Duration::from_millis(300)).matching(SCAN).once());
    let n = session
        .stream(SCAN, ())
        .page_size(100)
        .first_page_timeout(Duration::from_secs(3))
        .page_timeout(Duration::from_millis(100))
        .retry(RetryPolicy::never())
        .count()
        .await;
    assert_eq!(n, ROWS as usize);

    // No deadline by default: a stream outlives any per-page timeout.
    node.faults().add(Fault::delay(Duration::from_millis(150)).matching(SCAN));
    let n = session.stream(SCAN, ()).page_size(200).page_timeout(Duration::from_secs(2)).count().await;
    assert_eq!(n, ROWS as usize);
    node.faults().clear();

    // A deadline ends the stream with its own error, even while a page is in flight
    // and would otherwise be retried.
    node.faults().add(Fault::no_reply().matching(SCAN).after(2));
    let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(1).deadline(Duration::from_millis(300));
    let mut n = 0;
    let err = loop {
        match rows.next().await.unwrap() {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::DeadlineExceeded(d) if d == Duration::from_millis(300)), "{err}");
    assert_eq!(n, 200);
    assert!(rows.next().await.is_none());
}
