//! Resume points and cancellation: streams stopped at random rows and resumed deliver
//! every row exactly once; dropped streams leave no task, buffered page or stream id.

use std::time::Duration;

use cqlstream::session::Error;
use cqlstream::stream::ResumePoint;
use cqlstream::testkit::{Fault, TestTarget};
use futures_util::StreamExt;

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

#[tokio::test]
async fn two_hundred_random_stops_resumed_deliver_every_row_exactly_once() {
    const ROWS: u32 = 1_000;
    let target =
        TestTarget::from_env("stream::two_hundred_random_stops_resumed_deliver_every_row_exactly_once").await.unwrap();
    let (_ks, session) = setup(&target, ROWS).await;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for run in 0..200 {
        // Stop at a random row (sometimes 0, sometimes the very end), save the token as a
        // string, resume with another page size and prefetch, perhaps stop and resume again.
        let mut got = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page_size = [7, 37, 100, 333, 1_000, 5_000][rng.below(6) as usize];
            let prefetch = rng.below(4) as usize;
            let mut rows = session.stream(SCAN, ()).page_size(page_size).prefetch(prefetch);
            if let Some(t) = &token {
                rows = rows.resume_from(t.parse::<ResumePoint>().unwrap());
            }
            let mut rows = rows.typed::<(i32, i32, String)>();
            let stop = match rng.below(4) {
                0 => u64::MAX,
                _ => rng.below(u64::from(ROWS) + 2),
            };
            let mut taken = 0;
            while taken < stop {
                match rows.next().await {
                    Some(r) => got.push(r.unwrap()),
                    None => break,
                }
                taken += 1;
            }
            let point = rows.resume_point();
            drop(rows);
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
