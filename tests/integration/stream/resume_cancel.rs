//! Resume points and cancellation: streams stopped at random rows and resumed deliver
//! every row exactly once; dropped streams leave no task, buffered page or stream id.

use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::Error;
use cqlstream::protocol::response::ErrorKind;
use cqlstream::stream::{ResumePoint, RetryPolicy, RowStream};
use cqlstream::testkit::Fault;
use cqlstream::types::DeserializeOwnedRow;
use futures_util::{FutureExt, StreamExt};

use super::{SCAN, assert_exactly_once, eventually, setup};

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// One leg of a resume chain: reads up to `stop` rows of `rows` into `got` (converted
/// by `conv`), then, if `peek`, polls a few more times without waiting (so that the
/// point is taken while a page is in flight, perhaps while the stream is still dropping
/// the rows consumed before its resume), and returns the resume point taken then, with
/// the error the stream ended on, if any (the point is taken right after it).
async fn leg<T: DeserializeOwnedRow>(
    mut rows: RowStream<T>,
    stop: u64,
    peek: bool,
    conv: impl Fn(T) -> (i32, i32, String),
    got: &mut Vec<(i32, i32, String)>,
) -> (ResumePoint, Option<Error>) {
    let mut taken = 0;
    while taken < stop {
        match rows.next().await {
            Some(Ok(r)) => got.push(conv(r)),
            Some(Err(e)) => return (rows.resume_point(), Some(e)),
            None => break,
        }
        taken += 1;
    }
    if peek {
        for _ in 0..3 {
            match rows.next().now_or_never() {
                Some(Some(Ok(r))) => got.push(conv(r)),
                Some(Some(Err(e))) => return (rows.resume_point(), Some(e)),
                Some(None) => break,
                None => tokio::task::yield_now().await,
            }
        }
    }
    (rows.resume_point(), None)
}

#[tokio::test]
async fn two_hundred_random_stops_resumed_deliver_every_row_exactly_once() {
    const ROWS: u32 = 1_000;
    let target =
        TestTarget::from_env("stream::two_hundred_random_stops_resumed_deliver_every_row_exactly_once").await.unwrap();
    let (_ks, session) = setup(&target, ROWS).await;
    let node = target.require_testkit("fails pages on purpose (fault injection)");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut faults, mut type_errors, mut before_first_poll) = (0, 0, 0);
    for run in 0..200 {
        // Stop at a random row (sometimes before the first poll, sometimes the very end),
        // perhaps while a page is in flight, perhaps right after an injected page failure
        // or a type error; save the token as a string, resume with another page size
        // (from 3 to 5000 rows: a resume may have to drop more rows than a whole page
        // of the new size holds) and prefetch, and so on until the end.
        let mut got = Vec::new();
        let mut token: Option<String> = None;
        let mut legs = 0;
        loop {
            legs += 1;
            assert!(legs < 1_000, "run {run}: the chain makes no progress");
            let page_size = [3, 7, 37, 100, 333, 1_000, 3_000, 5_000][rng.below(8) as usize];
            let prefetch = rng.below(4) as usize;
            let mut rows = session.stream(SCAN, ()).page_size(page_size).prefetch(prefetch);
            let from = token.as_ref().map(|t| t.parse::<ResumePoint>().unwrap());
            if let Some(p) = &from {
                rows = rows.resume_from(p.clone());
            }
            // Before the first poll the stream stands where it was told to start.
            let expected = from.clone().unwrap_or_else(|| ResumePoint::start(SCAN));
            assert_eq!(rows.resume_point(), expected, "run {run}: the point before the first poll");
            if let Some(node) = node
                && rng.below(4) == 0
            {
                // One page request of this leg fails, and is not retried.
                faults += 1;
                let after = rng.below(8) as usize;
                node.faults().add(Fault::error(ErrorKind::Overloaded, "injected").matching(SCAN).after(after).once());
                rows = rows.retry(RetryPolicy::never());
            }
            let stop = match rng.below(5) {
                0 => u64::MAX,
                1 => 0,
                _ => rng.below(u64::from(ROWS) + 2),
            };
            let peek = rng.below(3) == 0;
            if stop == 0 && !peek {
                before_first_poll += 1;
            }
            let (point, error) = if rng.below(10) == 0 {
                // Rows read as the wrong type: the first page that reaches the reader
                // fails the type check, and the point stays before it.
                type_errors += 1;
                let rows = rows.typed::<(i32, i32, i32)>();
                leg(rows, stop, peek, |_| panic!("rows decoded as the wrong type"), &mut got).await
            } else {
                leg(rows.typed::<(i32, i32, String)>(), stop, peek, |r| r, &mut got).await
            };
            if let Some(node) = node {
                node.faults().clear();
            }
            match &error {
                None => {}
                Some(Error::Deserialize(_)) => {}
                Some(e) => assert_eq!(e.server_kind(), Some(&ErrorKind::Overloaded), "run {run}: {e}"),
            }
            if point.is_finished() {
                break;
            }
            token = Some(point.to_string());
        }
        assert_exactly_once(&got, ROWS);
        if run % 50 == 0 {
            eprintln!("run {run}: ok");
        }
    }
    eprintln!(
        "{faults} injected page failures, {type_errors} type errors, {before_first_poll} points before a first poll"
    );
}

#[tokio::test]
async fn resume_points_from_page_streams_and_from_other_statements() {
    let target =
        TestTarget::from_env("stream::resume_points_from_page_streams_and_from_other_statements").await.unwrap();
    let (_ks, session) = setup(&target, 300).await;
    let mut pages = session.stream(SCAN, ()).page_size(100).pages();
    let first = pages.next().await.unwrap().unwrap();
    let mut got: Vec<(i32, i32, String)> = first.rows().unwrap().map(Result::unwrap).collect();
    let point = pages.resume_point();
    assert_eq!((point.page(), point.rows_consumed()), (1, 0));
    assert_eq!(point.paging_state(), first.paging_state());
    drop(pages);
    // Bytes work as well as strings.
    let point = ResumePoint::from_bytes(&point.to_bytes()).unwrap();
    let mut rest = session.stream(SCAN, ()).page_size(100).resume_from(point.clone()).pages();
    let next = rest.next().await.unwrap().unwrap();
    assert_eq!(next.number(), 1, "numbering continues");
    got.extend(next.rows::<(i32, i32, String)>().unwrap().map(Result::unwrap));
    while let Some(p) = rest.next().await {
        got.extend(p.unwrap().rows::<(i32, i32, String)>().unwrap().map(Result::unwrap));
    }
    assert_exactly_once(&got, 300);

    // A token of another statement is refused, clearly.
    let mut other = session.stream("SELECT v FROM t", ()).resume_from(point);
    let err = other.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Resume(_)), "{err}");
    assert!(err.to_string().contains("another statement"), "{err}");
    // A finished token yields nothing and sends nothing.
    let mut all = session.stream(SCAN, ());
    while all.next().await.is_some() {}
    let done = all.resume_point();
    assert!(done.is_finished());
    assert!(session.stream(SCAN, ()).resume_from(done).next().await.is_none());
}

#[tokio::test]
async fn ten_thousand_dropped_streams_leave_nothing_behind() {
    let target = TestTarget::from_env("stream::ten_thousand_dropped_streams_leave_nothing_behind").await.unwrap();
    let (_ks, session) = setup(&target, 600).await;
    let mut rng = Rng(42);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000u32 {
        let session = session.clone();
        let stop = rng.below(250);
        let page_size = [40, 100, 1_000][rng.below(3) as usize];
        let prefetch = rng.below(5) as usize;
        let as_pages = rng.below(3) == 0;
        tasks.spawn(async move {
            if as_pages {
                let mut pages = session.stream(SCAN, ()).page_size(page_size).prefetch(prefetch).pages();
                for _ in 0..stop / 100 {
                    if pages.next().await.is_none() {
                        break;
                    }
                }
            } else {
                let mut rows = session.stream(SCAN, ()).page_size(page_size).prefetch(prefetch);
                for _ in 0..stop {
                    if rows.next().await.is_none() {
                        break;
                    }
                }
            }
            // Dropped here, at a random point: mid-page, between pages, before the
            // first poll, or at the end.
        });
        // Bounded concurrency keeps the run small; drops happen while others run.
        if i % 64 == 63 {
            while tasks.join_next().await.is_some() {}
        }
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    eventually("no producer, no buffered page, no stream id taken", || {
        let s = session.stream_stats();
        s.producers == 0 && s.buffered_pages == 0 && s.buffered_bytes == 0 && session.in_flight() == 0
    })
    .await;
    if let Some(node) = target.require_testkit("counts the pages the server was asked for") {
        assert!(node.stats().pages(SCAN).iter().sum::<u64>() >= 10_000);
    }
}

#[tokio::test]
async fn dropping_a_stream_mid_request_orphans_its_id_until_the_late_reply() {
    let target = TestTarget::from_env("stream::dropping_a_stream_mid_request_orphans_its_id_until_the_late_reply")
        .await
        .unwrap();
    let Some(node) = target.require_testkit("delays a reply") else { return };
    let (_ks, session) = setup(&target, 1_000).await;
    // Page 2's reply comes 500 ms late.
    node.faults().add(Fault::delay(Duration::from_millis(500)).matching(SCAN).after(2).once());
    let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(1);
    for _ in 0..150 {
        rows.next().await.unwrap().unwrap();
    }
    // The producer has asked for page 2 and waits for it.
    eventually("page 2 requested", || node.stats().pages(SCAN).len() == 3).await;
    assert_eq!(session.stream_stats().producers, 1);
    assert_eq!(session.in_flight(), 1);
    drop(rows);
    eventually("the producer stops at once", || session.stream_stats().producers == 0).await;
    // Its request was abandoned, but the stream id stays taken until the late reply...
    assert_eq!(session.in_flight(), 1);
    // ... which frees it.
    eventually("the late reply frees the id", || session.in_flight() == 0).await;
    assert_eq!(node.stats().pages(SCAN).len(), 3, "no page after the drop");
}

#[tokio::test]
async fn resume_points_are_exact_before_the_first_poll_and_while_skipping() {
    let target =
        TestTarget::from_env("stream::resume_points_are_exact_before_the_first_poll_and_while_skipping").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    // 500 rows read in pages of 1000: the point is in the middle of page 0.
    let mut rows = session.stream(SCAN, ()).page_size(1_000).typed::<(i32, i32, String)>();
    let mut got = Vec::new();
    for _ in 0..500 {
        got.push(rows.next().await.unwrap().unwrap());
    }
    let p = rows.resume_point();
    drop(rows);
    // A stream told to resume there stands there before its first poll, both kinds.
    let unpolled = session.stream(SCAN, ()).resume_from(p.clone());
    assert_eq!(unpolled.resume_point(), p);
    assert_eq!(unpolled.pages().resume_point(), p);
    // Not told yet: the start of the query.
    assert_eq!(session.stream(SCAN, ()).resume_point(), ResumePoint::start(SCAN));

    let Some(node) = target.require_testkit("fails a page on purpose") else {
        got.extend(
            session
                .stream(SCAN, ())
                .resume_from(p)
                .typed::<(i32, i32, String)>()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .await,
        );
        assert_exactly_once(&got, 1_000);
        return;
    };
    // Resumed in pages of 7, the 500 rows to drop span 71 pages. The 11th request fails
    // (not retried) while the stream is still dropping rows: the point taken then must
    // still drop the rest (500 - 10 * 7 = 430).
    node.faults().add(Fault::error(ErrorKind::Overloaded, "injected").matching(SCAN).after(10).once());
    let mut rows = session.stream(SCAN, ()).page_size(7).resume_from(p).retry(RetryPolicy::never());
    let err = rows.next().await.unwrap().unwrap_err();
    assert_eq!(err.server_kind(), Some(&ErrorKind::Overloaded), "{err}");
    let q = rows.resume_point();
    assert_eq!((q.page(), q.rows_consumed(), q.is_finished()), (10, 430, false));
    // The same as a page stream.
    node.faults().add(Fault::error(ErrorKind::Overloaded, "injected").matching(SCAN).after(20).once());
    let mut pages = session.stream(SCAN, ()).page_size(7).resume_from(q.clone()).retry(RetryPolicy::never()).pages();
    assert!(pages.next().await.unwrap().is_err());
    let r = pages.resume_point();
    assert_eq!((r.page(), r.rows_consumed()), (30, 290));
    // Resumed from there in pages of 3000: exactly the other 500 rows.
    let rest: Vec<(i32, i32, String)> =
        session.stream(SCAN, ()).page_size(3_000).resume_from(r).typed().map(Result::unwrap).collect().await;
    assert_eq!(rest.len(), 500);
    got.extend(rest);
    assert_exactly_once(&got, 1_000);
}

#[tokio::test]
async fn typed_and_pages_mid_page_lose_and_repeat_nothing() {
    let target = TestTarget::from_env("stream::typed_and_pages_mid_page_lose_and_repeat_nothing").await.unwrap();
    let (_ks, session) = setup(&target, 1_000).await;
    let tuple = |r: cqlstream::types::Row| (r.get::<i32>("pk"), r.get::<i32>("ck"), r.get::<String>("v"));
    for prefetch in [0, 2] {
        // 30 rows as `Row`, 40 as a tuple, the rest as pages.
        let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(prefetch);
        let mut got = Vec::new();
        for _ in 0..30 {
            got.push(tuple(rows.next().await.unwrap().unwrap()));
        }
        let point = rows.resume_point();
        let mut rows = rows.typed::<(i32, i32, String)>();
        assert_eq!(rows.resume_point(), point, "typed() keeps the point");
        for _ in 0..40 {
            got.push(rows.next().await.unwrap().unwrap());
        }
        let point = rows.resume_point();
        let mut pages = rows.pages();
        assert_eq!(pages.resume_point(), point, "pages() keeps the point");
        let rest = pages.next().await.unwrap().unwrap();
        if target.require_testkit("exact page lengths").is_some() {
            assert_eq!(rest.len(), 30, "the rest of the page being read comes first");
        }
        got.extend(rest.rows::<(i32, i32, String)>().unwrap().map(Result::unwrap));
        while let Some(p) = pages.next().await {
            got.extend(p.unwrap().rows::<(i32, i32, String)>().unwrap().map(Result::unwrap));
        }
        assert!(pages.resume_point().is_finished());
        assert_exactly_once(&got, 1_000);

        // Mid-page to a type the columns do not fit: the error, the end, and the point
        // where reading stopped; as pages after that, nothing more, the same point.
        let mut rows = session.stream(SCAN, ()).page_size(100).prefetch(prefetch).typed::<(i32, i32, String)>();
        let mut got = Vec::new();
        for _ in 0..50 {
            got.push(rows.next().await.unwrap().unwrap());
        }
        let point = rows.resume_point();
        let mut wrong = rows.typed::<(i32, i32, i64)>();
        assert!(!wrong.is_finished());
        assert!(matches!(wrong.next().await.unwrap().unwrap_err(), Error::Deserialize(_)));
        assert!(wrong.next().await.is_none());
        assert!(wrong.is_finished());
        assert_eq!(wrong.resume_point(), point);
        let mut pages = wrong.pages();
        assert!(pages.next().await.is_none());
        assert_eq!(pages.resume_point(), point);
        got.extend(
            session
                .stream(SCAN, ())
                .resume_from(point)
                .typed::<(i32, i32, String)>()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .await,
        );
        assert_exactly_once(&got, 1_000);
    }
}
