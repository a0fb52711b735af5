//! The pool: every slot its own connection, dead connections replaced in the
//! background while the others serve, and `USE` applied to every connection, present
//! and future.

use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::session::{Error, ReconnectPolicy, Session, Statement};
use cqlstream::testkit::TestNode;

/// Waits (at most 10 s, then panics with `what`) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let wait = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), wait).await.is_err() {
        panic!("{what}: not within 10 s");
    }
}

/// A short per-request timeout, so that a regression fails instead of hanging.
fn quick(cql: impl Into<String>) -> Statement {
    Statement::new(cql.into()).with_timeout(Duration::from_secs(2))
}

#[tokio::test]
async fn pool_size_opens_that_many_distinct_connections() {
    let target = TestTarget::from_env("session::pool_size_opens_that_many_distinct_connections").await.unwrap();
    let Some(node) = target.require_testkit("counts the node's connections") else { return };
    let before = node.stats().connections();
    let session = target.session_builder().pool_size(4).build().await.unwrap();
    assert_eq!(node.stats().connections() - before, 4, "connections opened by a pool of 4");
    eventually("4 connections open", || node.open_connections() == 4).await;
    assert_eq!(session.live_connections(), 4);
    session.query(quick("SELECT * FROM system.local"), ()).await.unwrap();
}

/// A node and a session of `pool_size` connections to it, once the node serves
/// exactly those (the keyspace setup's own session has gone).
async fn pool_on(target: &TestTarget, node: &TestNode, pool_size: usize, ks: Option<&str>) -> Session {
    let mut builder = target.session_builder().pool_size(pool_size);
    if let Some(ks) = ks {
        builder = builder.keyspace(ks);
    }
    let session = builder.build().await.unwrap();
    eventually("the pool's connections alone are open", || node.open_connections() == pool_size).await;
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_connection_is_replaced_while_the_other_serves() {
    let target = TestTarget::from_env("session::a_dead_connection_is_replaced_while_the_other_serves").await.unwrap();
    let Some(node) = target.require_testkit("drops one of the node's connections") else { return };
    let session = pool_on(&target, node, 2, None).await;
    assert_eq!(session.live_connections(), 2);
    let before = node.stats().connections();
    assert_eq!(node.drop_connections(1), 1);
    // Requests go on while the pool notices the loss and replaces the connection in
    // the background. One already on its way to the dropped connection may fail with
    // a connection error; every request after the replacement came must succeed.
    let mut failures = Vec::new();
    let run = async {
        loop {
            let replaced = node.stats().connections() == before + 1 && node.open_connections() == 2;
            match session.query(quick("SELECT * FROM system.local"), ()).await {
                Ok(_) => {}
                Err(e) => {
                    assert!(!replaced, "a request failed after the pool was whole again: {e}");
                    assert!(matches!(e, Error::Connection(_)), "{e}");
                    failures.push(e);
                }
            }
            if replaced {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), run).await.expect("the dead connection was not replaced within 10 s");
    assert!(failures.len() <= 1, "requests failed while a live connection existed: {failures:?}");
    for _ in 0..20 {
        session.query(quick("SELECT * FROM system.local"), ()).await.unwrap();
    }
    assert_eq!(node.stats().connections(), before + 1, "exactly one replacement");
    assert_eq!(session.live_connections(), 2);
}

#[tokio::test]
async fn the_keeper_stops_with_the_session() {
    let target = TestTarget::from_env("session::the_keeper_stops_with_the_session").await.unwrap();
    let Some(node) = target.require_testkit("stops the node, counts its connections") else { return };
    let policy = ReconnectPolicy::exponential(Duration::from_millis(5), Duration::from_millis(20));
    let session = target.session_builder().pool_size(2).reconnect_policy(policy).build().await.unwrap();
    // Both connections die; the keeper retries every few ms against a node that is down.
    node.stop().await;
    eventually("the pool saw its connections die", || session.live_connections() == 0).await;
    drop(session);
    node.start().await.unwrap();
    let before = node.stats().connections();
    // A keeper left running would reconnect within a few of its 20 ms waits (or its
    // 1 s look); nothing may connect.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(node.stats().connections(), before, "a dropped session's keeper reconnected");
    assert_eq!(node.open_connections(), 0);
}

/// Runs `n` unqualified queries at once, so that the least-busy choice spreads them
/// over every connection of the pool; all must succeed.
async fn unqualified_everywhere(session: &Session, n: i32) {
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..n {
        let s = session.clone();
        tasks.spawn(async move { s.query(quick("INSERT INTO t (k, v) VALUES (?, 'x')"), (k,)).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap_or_else(|e| panic!("an unqualified query failed: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_applies_to_every_connection_present_and_future() {
    let target = TestTarget::from_env("session::use_applies_to_every_connection_present_and_future").await.unwrap();
    let ks = target.keyspace().await.unwrap();
    let session = target.session_builder().pool_size(3).build().await.unwrap();
    let r = session.query(format!("USE {}", ks.name()), ()).await.unwrap();
    assert_eq!(r.keyspace(), Some(ks.name()));
    assert_eq!(session.keyspace().as_deref(), Some(ks.name()));
    session.query("CREATE TABLE t (k int PRIMARY KEY, v text)", ()).await.unwrap();
    unqualified_everywhere(&session, 300).await;
    let Some(node) = target.require_testkit("drops the node's connections") else { return };
    // Every connection replaced: the new ones must use the keyspace too.
    eventually("the pool's connections alone are open", || node.open_connections() == 3).await;
    let before = node.stats().connections();
    assert_eq!(node.drop_connections(3), 3);
    eventually("the pool replaced its connections", || {
        node.stats().connections() >= before + 3 && node.open_connections() == 3
    })
    .await;
    unqualified_everywhere(&session, 300).await;
}
