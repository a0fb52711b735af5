//! Paging edge cases: the empty last page at an exact boundary, LIMIT, zero rows, a
//! single page, empty pages that say more follow, pages longer or shorter than asked,
//! type mismatches.

use crate::support::TestTarget;
use cqlstream::Error;
use cqlstream::session::Statement;
use cqlstream::stream::ResumePoint;
use cqlstream::testkit::Fault;
use futures_util::StreamExt;

use super::{SCAN, assert_exactly_once, setup};

#[tokio::test]
async fn the_empty_final_page_at_an_exact_boundary() {
    let target = TestTarget::from_env("stream::the_empty_final_page_at_an_exact_boundary").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    let pages: Vec<_> = session.stream(SCAN, ()).page_size(100).pages().map(Result::unwrap).collect().await;
    // Every page but the last says more follow, and together they hold every row.
    let (last, more) = pages.split_last().unwrap();
    assert!(more.iter().all(|p| p.paging_state().is_some()));
    assert!(last.paging_state().is_none());
    let rows: Vec<(i32, i32, String)> = pages
        .iter()
        .flat_map(|p| p.rows::<(i32, i32, String)>().unwrap().map(Result::unwrap).collect::<Vec<_>>())
        .collect();
    assert_exactly_once(&rows, 1_000);
    // Whether a server sends the empty page after a full last one is its own choice.
    if let Some(node) = target.require_testkit("the empty final page: a real server need not send one") {
        // Ten full pages, then the empty page that says there is nothing more.
        assert_eq!(pages.len(), 11);
        assert!(pages[..10].iter().all(|p| p.len() == 100 && p.paging_state().is_some()));
        assert!(pages[10].is_empty() && pages[10].paging_state().is_none());
        assert_eq!(node.stats().pages(SCAN), vec![1; 11]);
    }
    let rows: Vec<(i32, i32, String)> =
        session.stream(SCAN, ()).page_size(100).typed().map(Result::unwrap).collect().await;
    assert_exactly_once(&rows, 1_000);
}

#[tokio::test]
async fn limit_zero_rows_and_a_single_page() {
    let target = TestTarget::from_env("stream::limit_zero_rows_and_a_single_page").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    let q = "SELECT pk, ck, v FROM t LIMIT 250";
    let rows: Vec<(i32, i32, String)> =
        session.stream(q, ()).page_size(100).typed().map(Result::unwrap).collect().await;
    assert_eq!(rows.len(), 250);
    // LIMIT at a page boundary.
    let rows = session.stream("SELECT pk FROM t LIMIT 200", ()).page_size(100).count().await;
    assert_eq!(rows, 200);

    // Zero rows: one empty page, no rows, no error.
    let q = "SELECT pk, ck, v FROM t WHERE pk = 12345";
    let pages: Vec<_> = session.stream(q, ()).pages().map(Result::unwrap).collect().await;
    assert_eq!(pages.len(), 1);
    assert!(pages[0].is_empty() && pages[0].paging_state().is_none());
    assert_eq!(pages[0].columns().len(), 3);
    assert_eq!(session.stream(q, ()).count().await, 0);

    // A single page.
    let q = "SELECT pk, ck, v FROM t WHERE pk = 7";
    let mut rows = session.stream(q, ()).typed::<(i32, i32, String)>();
    let mut n = 0;
    while let Some(r) = rows.next().await {
        assert_eq!(r.unwrap().0, 7);
        n += 1;
    }
    assert_eq!(n, 10);
    assert_eq!(rows.progress().pages, 1);
    assert!(rows.resume_point().is_finished());
}

#[tokio::test]
async fn a_type_mismatch_is_an_error_naming_the_column_then_the_end() {
    let target =
        TestTarget::from_env("stream::a_type_mismatch_is_an_error_naming_the_column_then_the_end").await.unwrap();
    let (_ks, session) = setup(&target, 300).await;
    let mut rows = session.stream(SCAN, ()).page_size(100).typed::<(i32, i32, i64)>();
    let err = rows.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Deserialize(_)), "{err}");
    assert!(err.to_string().contains('v'), "{err}");
    assert!(rows.next().await.is_none());
    // A statement that returns no rows streams nothing.
    let n = session.stream("INSERT INTO t (pk, ck, v) VALUES (1000, 0, 'x')", ()).count().await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn empty_pages_that_say_more_follow_are_paged_through() {
    let target = TestTarget::from_env("stream::empty_pages_that_say_more_follow_are_paged_through").await.unwrap();
    let Some(node) = target.require_testkit("injects empty pages") else { return };
    let (_ks, session) = setup(&target, 1_000).await;
    for prefetch in [0, 1, 3] {
        node.stats().reset();
        // An empty first page, two empty pages in a row in the middle, and an empty
        // page just before the last one: each still carries a paging state.
        for page in [0, 4, 5, 11] {
            node.faults().add(Fault::page_rows(0).matching(SCAN).at_page(page).once());
        }
        let pages: Vec<_> =
            session.stream(SCAN, ()).page_size(100).prefetch(prefetch).pages().map(Result::unwrap).collect().await;
        let lens: Vec<usize> = pages.iter().map(|p| p.len()).collect();
        assert_eq!(lens, [0, 100, 100, 100, 0, 0, 100, 100, 100, 100, 100, 0, 100, 100, 0], "prefetch {prefetch}");
        assert!(pages[..14].iter().all(|p| p.paging_state().is_some()));
        assert!(pages.iter().all(|p| p.columns().len() == 3), "empty pages keep their columns");
        let rows: Vec<(i32, i32, String)> = pages
            .iter()
            .flat_map(|p| p.rows::<(i32, i32, String)>().unwrap().map(Result::unwrap).collect::<Vec<_>>())
            .collect();
        assert_exactly_once(&rows, 1_000);
        assert_eq!(node.stats().pages(SCAN), vec![1; 15]);

        // The row stream sees only rows; its resume points inside the empty run work.
        for page in [0, 4, 5] {
            node.faults().add(Fault::page_rows(0).matching(SCAN).at_page(page).once());
        }
        let rows: Vec<(i32, i32, String)> =
            session.stream(SCAN, ()).page_size(100).prefetch(prefetch).typed().map(Result::unwrap).collect().await;
        assert_exactly_once(&rows, 1_000);
    }
}

#[tokio::test]
async fn a_server_that_sends_more_or_fewer_rows_than_asked() {
    let target = TestTarget::from_env("stream::a_server_that_sends_more_or_fewer_rows_than_asked").await.unwrap();
    let Some(node) = target.require_testkit("injects pages of chosen lengths") else { return };
    let (_ks, session) = setup(&target, 1_000).await;
    node.faults().add(Fault::page_rows(7).matching(SCAN).at_page(1).once());
    node.faults().add(Fault::page_rows(450).matching(SCAN).at_page(3).once());
    node.faults().add(Fault::page_rows(1).matching(SCAN).at_page(4).once());
    let pages: Vec<_> = session.stream(SCAN, ()).page_size(100).prefetch(2).pages().map(Result::unwrap).collect().await;
    let lens: Vec<usize> = pages.iter().map(|p| p.len()).collect();
    // 100 + 7 + 100 + 450 + 1 = 658; then 100s, the last 42.
    assert_eq!(lens, [100, 7, 100, 450, 1, 100, 100, 100, 42]);
    let rows: Vec<(i32, i32, String)> = pages
        .iter()
        .flat_map(|p| p.rows::<(i32, i32, String)>().unwrap().map(Result::unwrap).collect::<Vec<_>>())
        .collect();
    assert_exactly_once(&rows, 1_000);

    // A limit and a resume in the middle of an oversized page.
    node.faults().add(Fault::page_rows(450).matching(SCAN).at_page(1).once());
    let mut rows = session.stream(SCAN, ()).page_size(100).max_rows(300).typed::<(i32, i32, String)>();
    let mut got = Vec::new();
    while let Some(r) = rows.next().await {
        got.push(r.unwrap());
    }
    let point = rows.resume_point();
    assert_eq!((point.page(), point.rows_consumed()), (1, 200));
    let rest: Vec<(i32, i32, String)> =
        session.stream(SCAN, ()).page_size(100).resume_from(point).typed().map(Result::unwrap).collect().await;
    got.extend(rest);
    assert_exactly_once(&got, 1_000);
}

#[tokio::test]
async fn a_statement_with_a_paging_state_starts_there() {
    let target = TestTarget::from_env("stream::a_statement_with_a_paging_state_starts_there").await.unwrap();
    let (_ks, session) = setup(&target, 300).await;
    let first = session.query(Statement::new(SCAN).with_page_size(100), ()).await.unwrap();
    let state = first.paging_state().unwrap().clone();
    let mut got: Vec<(i32, i32, String)> =
        first.rows().unwrap().clone().into_typed().unwrap().map(Result::unwrap).collect();
    let rest: Vec<(i32, i32, String)> = session
        .stream(Statement::new(SCAN).with_paging_state(state), ())
        .page_size(100)
        .typed()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(rest.len(), 300 - got.len());
    if target.require_testkit("exact page boundaries").is_some() {
        assert_eq!(rest.len(), 200);
    }
    got.extend(rest);
    assert_exactly_once(&got, 300);
}

#[tokio::test]
async fn server_warnings_reach_the_page_that_carried_them() {
    let target = TestTarget::from_env("stream::server_warnings_reach_the_page_that_carried_them").await.unwrap();
    let Some(node) = target.require_testkit("injects a warning") else { return };
    let (_ks, session) = setup(&target, 300).await;
    let tombstones = "Read 100 live rows and 5000 tombstone cells for query SELECT * FROM ks.t";
    node.faults().add(Fault::warning(tombstones).matching(SCAN).at_page(1).once());
    let pages: Vec<_> = session.stream(SCAN, ()).page_size(100).pages().map(Result::unwrap).collect().await;
    let warnings: Vec<&[String]> = pages.iter().map(|p| p.warnings()).collect();
    assert_eq!(warnings, [&[][..], &[tombstones.to_string()][..], &[][..], &[][..]]);
}

/// `point` with its page number and rows consumed replaced, through its bytes (as a
/// hostile or corrupted saved token would carry them).
fn patched(point: &ResumePoint, page: Option<u64>, rows_consumed: Option<u64>) -> ResumePoint {
    let mut b = point.to_bytes().to_vec();
    if let Some(page) = page {
        b[13..21].copy_from_slice(&page.to_be_bytes());
    }
    if let Some(rows) = rows_consumed {
        b[21..29].copy_from_slice(&rows.to_be_bytes());
    }
    let p = ResumePoint::from_bytes(&b).unwrap();
    assert_eq!(
        (p.page(), p.rows_consumed()),
        (page.unwrap_or(point.page()), rows_consumed.unwrap_or(point.rows_consumed()))
    );
    p
}

#[tokio::test]
async fn resume_tokens_at_the_top_of_u64_neither_panic_nor_wrap() {
    let target = TestTarget::from_env("stream::resume_tokens_at_the_top_of_u64_neither_panic_nor_wrap").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    let mut rows = session.stream(SCAN, ()).page_size(100).typed::<(i32, i32, String)>();
    let mut head = Vec::new();
    for _ in 0..150 {
        head.push(rows.next().await.unwrap().unwrap());
    }
    let point = rows.resume_point();
    drop(rows);
    for prefetch in [0, 2] {
        // Page u64::MAX: the rows are the same, and the numbers stop at the top.
        let from = patched(&point, Some(u64::MAX), None);
        let mut rows =
            session.stream(SCAN, ()).page_size(100).prefetch(prefetch).resume_from(from).typed::<(i32, i32, String)>();
        let mut got = head.clone();
        while let Some(r) = rows.next().await {
            got.push(r.unwrap());
            assert_eq!(rows.resume_point().page(), u64::MAX);
        }
        assert_exactly_once(&got, 1_000);
        assert!(rows.resume_point().is_finished());
        let mut pages = session
            .stream(SCAN, ())
            .page_size(100)
            .prefetch(prefetch)
            .resume_from(patched(&point, Some(u64::MAX - 1), None))
            .pages();
        let mut numbers = Vec::new();
        while let Some(p) = pages.next().await {
            numbers.push(p.unwrap().number());
        }
        assert_eq!(numbers[..2], [u64::MAX - 1, u64::MAX]);
        assert!(numbers[2..].iter().all(|&n| n == u64::MAX));
        // u64::MAX rows consumed: more than there are, so nothing is left, and the
        // stream says it is done.
        for page in [None, Some(u64::MAX)] {
            let from = patched(&point, page, Some(u64::MAX));
            let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(prefetch).resume_from(from.clone());
            assert_eq!(rows.resume_point(), from);
            assert!(rows.next().await.is_none());
            assert!(rows.resume_point().is_finished());
            let n = session.stream(SCAN, ()).page_size(7).prefetch(prefetch).resume_from(from).pages().count().await;
            assert_eq!(n, 0);
        }
    }
}

#[tokio::test]
async fn a_void_answer_to_a_select_page_is_an_error() {
    let target = TestTarget::from_env("stream::a_void_answer_to_a_select_page_is_an_error").await.unwrap();
    let Some(node) = target.require_testkit("answers a page request with Void") else { return };
    let (_ks, session) = setup(&target, 1_000).await;
    let unexpected = |e: Error| match e {
        Error::Unexpected(m) => m,
        e => panic!("not Unexpected: {e}"),
    };
    // The first page of a SELECT, as text and prepared.
    node.faults().add(Fault::void().matching(SCAN).at_page(0).once());
    let err = session.stream(SCAN, ()).next().await.unwrap().unwrap_err();
    assert_eq!(unexpected(err), "Void in reply to a page request of a SELECT");
    let prepared = session.prepare(SCAN).await.unwrap();
    node.faults().add(Fault::void().matching(SCAN).at_page(0).once());
    let mut rows = session.stream(&prepared, ()).pages();
    assert!(unexpected(rows.next().await.unwrap().unwrap_err()).contains("Void"));
    assert!(rows.next().await.is_none());
    // A SELECT behind whitespace and comments, in lower case.
    let text = "  /* all of it */ -- rows\n // more\n\tselect pk, ck, v FROM t";
    // (No `at_page`: the testkit only sees pages of text that starts with SELECT.)
    node.faults().add(Fault::void().matching("select pk").once());
    let err = session.stream(text, ()).next().await.unwrap().unwrap_err();
    assert!(unexpected(err).contains("SELECT"));
    // A later page, any statement, with and without read-ahead; the point after the
    // error is where reading stopped.
    for prefetch in [0, 2] {
        node.faults().add(Fault::void().matching(SCAN).at_page(2).once());
        let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(prefetch).typed::<(i32, i32, String)>();
        let mut got = Vec::new();
        let err = loop {
            match rows.next().await.unwrap() {
                Ok(r) => got.push(r),
                Err(e) => break e,
            }
        };
        assert!(unexpected(err).contains("Void"));
        assert_eq!(got.len(), 200);
        assert!(rows.next().await.is_none());
        let point = rows.resume_point();
        got.extend(session.stream(SCAN, ()).resume_from(point).typed().map(Result::unwrap).collect::<Vec<_>>().await);
        assert_exactly_once(&got, 1_000);
    }
    // A statement that is not a SELECT still streams nothing, without an error.
    node.faults().add(Fault::void().matching("INSERT").once());
    let items: Vec<_> = session.stream("INSERT INTO t (pk, ck, v) VALUES (1000, 0, 'x')", ()).collect().await;
    assert!(items.is_empty(), "{items:?}");
    let insert = session.prepare("INSERT INTO t (pk, ck, v) VALUES (?, ?, ?)").await.unwrap();
    let items: Vec<_> = session.stream(&insert, (1001, 0, "y")).collect().await;
    assert!(items.is_empty(), "{items:?}");
}
