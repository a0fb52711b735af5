//! The pool: every slot its own connection, dead connections replaced in the
//! background while the others serve, and `USE` applied to every connection, present
//! and future.

use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::Error;
use cqlstream::protocol::response::ErrorKind;
use cqlstream::session::{ReconnectPolicy, Session, Statement};
use cqlstream::testkit::{Fault, TestNode};

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

/// A TCP proxy on 127.0.0.1 in front of `backend`: connections are passed through (each
/// can be cut) until [`Proxy::go_silent`], and accepted and never answered after it. It
/// counts the connections of each kind that the client still holds open.
struct Proxy {
    addr: std::net::SocketAddr,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    forwarded: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    forwarded_open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    silent_open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// One connection counted as open by a [`Proxy`] while this lives.
struct Open(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Open {
    fn count(counter: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Open {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Open(counter.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(backend: std::net::SocketAddr) -> Proxy {
        use std::sync::atomic::Ordering::SeqCst;
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            silent: Default::default(),
            forwarded: Default::default(),
            forwarded_open: Default::default(),
            silent_open: Default::default(),
        };
        let (silent, forwarded, forwarded_open, silent_open) =
            (proxy.silent.clone(), proxy.forwarded.clone(), proxy.forwarded_open.clone(), proxy.silent_open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !silent.load(SeqCst) {
                    let open = Open::count(&forwarded_open);
                    let task = tokio::spawn(async move {
                        let _open = open; // counted until the task ends or is aborted
                        if let Ok(mut server) = tokio::net::TcpStream::connect(backend).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    forwarded.lock().unwrap().push(task.abort_handle());
                } else {
                    let open = Open::count(&silent_open);
                    tokio::spawn(async move {
                        let _open = open;
                        let mut buf = [0u8; 1024];
                        while let Ok(n) = client.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                    });
                }
            }
        });
        proxy
    }

    /// From now on, connections are accepted and never answered.
    fn go_silent(&self) {
        self.silent.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Cuts the newest forwarded connection still open: the client sees it close.
    fn cut_one(&self) {
        let forwarded = self.forwarded.lock().unwrap();
        let newest = forwarded.iter().rev().find(|t| !t.is_finished()).expect("a forwarded connection open");
        newest.abort();
    }

    fn forwarded_open(&self) -> usize {
        self.forwarded_open.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn silent_open(&self) -> usize {
        self.silent_open.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_dropped_while_its_keeper_connects_closes_its_connections_at_once() {
    let target =
        TestTarget::from_env("session::a_session_dropped_while_its_keeper_connects_closes_its_connections_at_once")
            .await
            .unwrap();
    let proxy = Proxy::start(target.addr().await.unwrap()).await;
    // A handshake that hangs would only give up after 30 s.
    let config = target.connection_config().handshake_timeout(Duration::from_secs(30));
    let policy = ReconnectPolicy::exponential(Duration::from_millis(5), Duration::from_millis(20));
    let session = Session::builder()
        .connection_config(config)
        .contact_point(proxy.addr.to_string())
        .pool_size(2)
        .reconnect_policy(policy)
        .build()
        .await
        .unwrap();
    assert_eq!(session.live_connections(), 2);
    session.query(quick("SELECT * FROM system.local"), ()).await.unwrap();
    // One connection dies; its replacement goes to a peer that never answers, so the
    // keeper is in the middle of a handshake when the session is dropped.
    proxy.go_silent();
    proxy.cut_one();
    eventually("the keeper connects the replacement", || proxy.silent_open() == 1).await;
    drop(session);
    // Dropped, the session's pool goes at once: the live connection and the handshake
    // in progress are closed, not left open until that handshake times out.
    let closed = async {
        while proxy.silent_open() > 0 || proxy.forwarded_open() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(3), closed).await.unwrap_or_else(|_| {
        panic!(
            "3 s after the session was dropped, {} connection(s) and {} handshake(s) were still open",
            proxy.forwarded_open(),
            proxy.silent_open()
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_fails_to_follow_a_use_is_not_used_with_the_old_keyspace() {
    let target =
        TestTarget::from_env("session::a_connection_that_fails_to_follow_a_use_is_not_used_with_the_old_keyspace")
            .await
            .unwrap();
    let Some(node) = target.require_testkit("fails the USE sent to the pool's other connection") else { return };
    let ks = target.keyspace().await.unwrap();
    let session = pool_on(&target, node, 2, None).await;
    // The session's own USE of the keyspace on the other connection (quoted, unlike the
    // user's) fails once: that connection did not switch.
    node.faults().add(Fault::error(ErrorKind::Overloaded, "injected").matching("USE \"").once());
    let err = session.query(format!("USE {}", ks.name()), ()).await.unwrap_err();
    assert_eq!(err.server_kind(), Some(&ErrorKind::Overloaded), "{err}");
    assert_eq!(session.keyspace().as_deref(), Some(ks.name()));
    // Still, no request may run on a connection without the session's keyspace.
    session.query("CREATE TABLE t (k int PRIMARY KEY, v text)", ()).await.unwrap();
    unqualified_everywhere(&session, 300).await;
    eventually("the pool is whole again", || session.live_connections() == 2).await;
    unqualified_everywhere(&session, 300).await;
}

#[tokio::test]
async fn concurrent_uses_leave_every_connection_in_the_sessions_keyspace() {
    let target =
        TestTarget::from_env("session::concurrent_uses_leave_every_connection_in_the_sessions_keyspace").await.unwrap();
    let ks = target.keyspace().await.unwrap();
    // A second keyspace, as unique as the first and no longer (CQL allows 48 characters).
    let (a, b) = (ks.name().to_owned(), format!("u{}", &ks.name()[1..]));
    let session = target.session_builder().pool_size(2).build().await.unwrap();
    session
        .query(
            format!("CREATE KEYSPACE IF NOT EXISTS {b} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"),
            (),
        )
        .await
        .unwrap();
    for name in [&a, &b] {
        session.query(format!("CREATE TABLE {name}.t (k int PRIMARY KEY, v text)"), ()).await.unwrap();
        session.query(format!("INSERT INTO {name}.t (k, v) VALUES (1, '{name}')"), ()).await.unwrap();
    }
    for round in 0..20 {
        // Two USEs at once, each on its own connection; whichever the session ends in,
        // every connection must be in it too.
        let (x, y) = tokio::join!(session.query(format!("USE {a}"), ()), session.query(format!("USE {b}"), ()));
        x.unwrap();
        y.unwrap();
        let now = session.keyspace().unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let s = session.clone();
            tasks.spawn(async move { s.query(quick("SELECT v FROM t WHERE k = 1"), ()).await });
        }
        while let Some(r) = tasks.join_next().await {
            let r = r.unwrap().unwrap();
            let (v,): (String,) = r.rows_typed().unwrap().next().unwrap().unwrap();
            assert_eq!(v, now, "round {round}: a connection is in another keyspace than the session's");
        }
    }
    session.query(format!("DROP KEYSPACE {b}"), ()).await.unwrap();
}
