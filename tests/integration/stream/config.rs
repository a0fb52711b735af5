//! Configuration: which of the statement's, the stream's and the session's settings
//! wins, and setters called too late.

use std::time::Duration;

use crate::support::{TestKeyspace, TestTarget};
use cqlstream::Error;
use cqlstream::session::{Session, Statement};
use cqlstream::stream::{RetryPolicy, StreamConfig};
use cqlstream::testkit::Fault;
use futures_util::StreamExt;

use super::{SCAN, assert_exactly_once, setup};

/// A session on `ks` built with `f` applied to the target's builder.
async fn session_with(
    target: &TestTarget,
    ks: &TestKeyspace,
    f: impl FnOnce(cqlstream::session::SessionBuilder) -> cqlstream::session::SessionBuilder,
) -> Session {
    f(target.session_builder().keyspace(ks.name())).build().await.unwrap()
}

/// The rows of the first page of `SCAN` on `session`, as `stream` is set up.
async fn first_page_len(
    session: &Session,
    statement: impl Into<cqlstream::session::StreamStatement>,
    stream: impl FnOnce(cqlstream::stream::RowStream) -> cqlstream::stream::RowStream,
) -> usize {
    let mut pages = stream(session.stream(statement, ())).pages();
    pages.next().await.unwrap().unwrap().len()
}

#[tokio::test]
async fn page_size_is_the_statements_then_the_streams_then_the_sessions() {
    let target =
        TestTarget::from_env("stream::page_size_is_the_statements_then_the_streams_then_the_sessions").await.unwrap();
    let (ks, _session) = setup(&target, 1_000).await;
    // Page lengths show the page size asked for: the testkit fills pages exactly.
    if target.require_testkit("exact page lengths show the page size asked for").is_none() {
        return;
    }
    let stmt = || Statement::new(SCAN).with_page_size(50);
    let plain = session_with(&target, &ks, |b| b).await;
    let sized = session_with(&target, &ks, |b| b.page_size(300)).await;
    let configured =
        session_with(&target, &ks, |b| b.page_size(300).stream_config(StreamConfig::new().page_size(100))).await;
    // Nothing said: the session's page size, 5000.
    assert_eq!(first_page_len(&plain, SCAN, |s| s).await, 1_000);
    // The session's page size.
    assert_eq!(first_page_len(&sized, SCAN, |s| s).await, 300);
    // The session's stream_config over the session's page size.
    assert_eq!(first_page_len(&configured, SCAN, |s| s).await, 100);
    // The stream's own setter over the session's stream_config and page size.
    assert_eq!(first_page_len(&configured, SCAN, |s| s.page_size(200)).await, 200);
    assert_eq!(first_page_len(&sized, SCAN, |s| s.page_size(200)).await, 200);
    // The stream's `config` sets the stream's own settings; what it leaves unset
    // comes from the session.
    assert_eq!(first_page_len(&configured, SCAN, |s| s.config(StreamConfig::new().page_size(70))).await, 70);
    assert_eq!(first_page_len(&configured, SCAN, |s| s.config(StreamConfig::new().max_rows(10))).await, 10);
    assert_eq!(first_page_len(&configured, SCAN, |s| s.config(StreamConfig::new().prefetch(0))).await, 100);
    // The statement's own page size over all of them.
    assert_eq!(first_page_len(&plain, stmt(), |s| s).await, 50);
    assert_eq!(first_page_len(&sized, stmt(), |s| s).await, 50);
    assert_eq!(first_page_len(&configured, stmt(), |s| s).await, 50);
    assert_eq!(first_page_len(&configured, stmt(), |s| s.page_size(200)).await, 50);
    // A prepared statement's too.
    let prepared = configured.prepare(SCAN).await.unwrap().with_page_size(40);
    assert_eq!(first_page_len(&configured, &prepared, |s| s.page_size(200)).await, 40);
    // Every page, not only the first.
    let lens: Vec<usize> =
        configured.stream(stmt(), ()).page_size(200).prefetch(1).pages().map(|p| p.unwrap().len()).collect().await;
    let full: Vec<usize> = lens.iter().copied().filter(|&n| n > 0).collect();
    assert_eq!(full, [50; 20], "{lens:?}");
}

/// The timeout a stream's second page (or with `first`, its first) failed with (not
/// retried), its reply held back 2.5 s.
async fn timeout_used(
    session: &Session,
    first: bool,
    statement: Statement,
    stream: impl FnOnce(cqlstream::stream::RowStream) -> cqlstream::stream::RowStream,
) -> Duration {
    let mut pages = stream(session.stream(statement, ()).page_size(10).prefetch(0).retry(RetryPolicy::never())).pages();
    if !first {
        pages.next().await.unwrap().unwrap();
    }
    let err = tokio::time::timeout(Duration::from_secs(10), pages.next()).await.unwrap().unwrap().unwrap_err();
    match err {
        Error::Timeout(d) => d,
        e => panic!("not a timeout: {e}"),
    }
}

#[tokio::test]
async fn page_timeout_is_the_statements_then_the_streams_then_the_sessions() {
    let target = TestTarget::from_env("stream::page_timeout_is_the_statements_then_the_streams_then_the_sessions")
        .await
        .unwrap();
    let (ks, _session) = setup(&target, 100).await;
    let Some(node) = target.require_testkit("holds a page's reply back") else { return };
    node.faults().add(Fault::delay(Duration::from_millis(2_500)).matching(SCAN).at_page(1));
    let ms = Duration::from_millis;
    let plain = session_with(&target, &ks, |b| b.request_timeout(ms(1_100))).await;
    let configured = session_with(&target, &ks, |b| {
        b.request_timeout(ms(1_100)).stream_config(StreamConfig::new().page_timeout(ms(900)))
    })
    .await;
    let stmt = || Statement::new(SCAN).with_timeout(ms(500));
    // The session's request timeout.
    assert_eq!(timeout_used(&plain, false, Statement::new(SCAN), |s| s).await, ms(1_100));
    // The session's stream_config over it.
    assert_eq!(timeout_used(&configured, false, Statement::new(SCAN), |s| s).await, ms(900));
    // The stream's own setter over both.
    assert_eq!(timeout_used(&configured, false, Statement::new(SCAN), |s| s.page_timeout(ms(700))).await, ms(700));
    assert_eq!(timeout_used(&plain, false, Statement::new(SCAN), |s| s.page_timeout(ms(700))).await, ms(700));
    // The statement's own timeout over all of them, shorter or longer.
    assert_eq!(timeout_used(&plain, false, stmt(), |s| s).await, ms(500));
    assert_eq!(timeout_used(&configured, false, stmt(), |s| s).await, ms(500));
    assert_eq!(timeout_used(&configured, false, stmt(), |s| s.page_timeout(ms(700))).await, ms(500));
    assert_eq!(
        timeout_used(&configured, false, Statement::new(SCAN).with_timeout(ms(1_300)), |s| s.page_timeout(ms(700)))
            .await,
        ms(1_300)
    );
    // The first page: the same order, with `first_page_timeout`.
    node.faults().clear();
    node.faults().add(Fault::delay(Duration::from_millis(2_500)).matching(SCAN).at_page(0));
    let configured = session_with(&target, &ks, |b| {
        b.request_timeout(ms(1_100))
            .stream_config(StreamConfig::new().first_page_timeout(ms(900)).page_timeout(ms(300)))
    })
    .await;
    assert_eq!(timeout_used(&plain, true, Statement::new(SCAN), |s| s).await, ms(1_100));
    assert_eq!(timeout_used(&configured, true, Statement::new(SCAN), |s| s).await, ms(900));
    let own = |s: cqlstream::stream::RowStream| s.first_page_timeout(ms(700));
    assert_eq!(timeout_used(&configured, true, Statement::new(SCAN), own).await, ms(700));
    assert_eq!(timeout_used(&configured, true, stmt(), own).await, ms(500));
}

#[tokio::test]
async fn a_setter_after_the_first_poll_is_an_error() {
    let target = TestTarget::from_env("stream::a_setter_after_the_first_poll_is_an_error").await.unwrap();
    let (_ks, session) = setup(&target, 300).await;
    let message = |setter: &str| {
        format!(
            "invalid configuration: `{setter}` was set after the stream started; configure a stream before polling it"
        )
    };
    // A row stream, mid-page.
    let mut rows = session.stream(SCAN, ()).page_size(100).typed::<(i32, i32, String)>();
    let first = rows.next().await.unwrap().unwrap();
    let mut rows = rows.page_size(10);
    let err = rows.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert_eq!(err.to_string(), message("page_size"));
    assert!(rows.next().await.is_none(), "the stream ends");
    assert!(rows.is_finished());
    // The point after the error is where reading stopped.
    let mut got = vec![first];
    let point = rows.resume_point();
    got.extend(session.stream(SCAN, ()).resume_from(point).typed().map(Result::unwrap).collect::<Vec<_>>().await);
    assert_exactly_once(&got, 300);

    // Other setters, and a page stream.
    let mut pages = session.stream(SCAN, ()).page_size(100).pages();
    pages.next().await.unwrap().unwrap();
    let mut pages = pages.max_rows(5);
    assert_eq!(pages.next().await.unwrap().unwrap_err().to_string(), message("max_rows"));
    assert!(pages.next().await.is_none());

    let mut rows = session.stream(SCAN, ()).page_size(100);
    rows.next().await.unwrap().unwrap();
    let point = rows.resume_point();
    let mut rows = rows.resume_from(point);
    assert_eq!(rows.next().await.unwrap().unwrap_err().to_string(), message("resume_from"));

    let mut rows = session.stream(SCAN, ()).page_size(100);
    rows.next().await.unwrap().unwrap();
    let mut rows = rows.config(StreamConfig::new());
    assert_eq!(rows.next().await.unwrap().unwrap_err().to_string(), message("config"));

    // Even on a stream that has ended.
    let mut rows = session.stream(SCAN, ()).max_rows(1);
    while rows.next().await.is_some() {}
    let mut rows = rows.prefetch(3);
    assert_eq!(rows.next().await.unwrap().unwrap_err().to_string(), message("prefetch"));
    assert!(rows.next().await.is_none());
    // Before the first poll, every setter is fine, as often as wanted.
    let n = session.stream(SCAN, ()).page_size(10).page_size(100).max_rows(150).prefetch(0).count().await;
    assert_eq!(n, 150);
}
