//! The connection layer: handshake variants, multiplexing past the stream id limit,
//! timeouts with orphaned ids, dying connections, events. Against the testkit by default,
//! against a real cluster when `CQLSTREAM_TEST_CONTACT_POINTS` is set
//! (`crate::support::TestTarget`); the parts that need the testkit's faults, counters
//! or node settings are skipped there, and say so.

mod handshake;
mod hostile;

use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::connection::{Connection, ConnectionConfig, ConnectionError, RequestError};
use cqlstream::protocol::request::Query;
use cqlstream::protocol::response::{ErrorKind, Event, EventType, ResultBody};
use cqlstream::protocol::{Compression, Consistency, QueryParameters, Request, RequestMessage, Response, Version};
use cqlstream::testkit::{Fault, TestNode};

fn q(cql: &str) -> Request {
    Request::Query(Query::new(cql, QueryParameters::new(Consistency::One)))
}

/// Opens a connection to the target's first contact point. Build `config` on
/// `target.connection_config()`, so that the environment's protocol and credentials apply.
async fn open(target: &TestTarget, config: &ConnectionConfig) -> Result<Connection, ConnectionError> {
    Connection::open(target.addr().await.unwrap(), config).await
}

async fn rows(conn: &Connection, cql: &str) -> cqlstream::protocol::response::Rows {
    match conn.request(q(cql)).await.unwrap().response {
        Response::Result(ResultBody::Rows(r)) => r,
        other => panic!("{cql}: {other:?}"),
    }
}

#[tokio::test]
async fn negotiates_the_highest_version_with_and_without_lz4() {
    let target = TestTarget::from_env("connection::negotiates_the_highest_version_with_and_without_lz4").await.unwrap();
    // A real server's highest version is its own: v5 for Cassandra, v4 for ScyllaDB.
    let exact = target.require_testkit("expects exactly v5, the testkit's highest version").is_some();
    for (pin, compression) in [
        (None, Compression::Lz4),
        (None, Compression::None),
        (Some(Version::V4), Compression::Lz4),
        (Some(Version::V3), Compression::None),
    ] {
        let mut config = target.connection_config().compression(compression);
        if let Some(v) = pin {
            config = config.protocol(v);
        }
        let conn = open(&target, &config).await.unwrap();
        match pin {
            Some(v) => assert_eq!(conn.version(), v),
            None if exact => assert_eq!(conn.version(), Version::V5),
            None => assert!(matches!(conn.version(), Version::V4 | Version::V5), "{:?}", conn.version()),
        }
        assert_eq!(conn.compression(), compression);
        assert_eq!(rows(&conn, "SELECT * FROM system.local").await.rows_count(), 1);
    }
}

#[tokio::test]
async fn steps_down_to_v4_on_a_v4_only_node() {
    let target = TestTarget::from_env_with(
        "connection::steps_down_to_v4_on_a_v4_only_node",
        TestNode::builder().max_protocol(Version::V4),
    )
    .await
    .unwrap();
    let Some(_) = target.require_testkit("needs a node capped at v4") else { return };
    let conn = open(&target, &target.connection_config().compression(Compression::Lz4)).await.unwrap();
    assert_eq!(conn.version(), Version::V4);
    let pinned = open(&target, &target.connection_config().protocol(Version::V5)).await.unwrap_err();
    assert!(matches!(pinned, ConnectionError::NoCommonVersion { .. }), "{pinned}");
}

#[tokio::test]
async fn authentication_success_and_failure() {
    let target = TestTarget::from_env_with(
        "connection::authentication_success_and_failure",
        TestNode::builder().user("alice", "secret"),
    )
    .await
    .unwrap();
    let Some(_) = target.require_testkit("logs in as a user set up on the node") else { return };
    let ok = open(&target, &target.connection_config().credentials("alice", "secret")).await.unwrap();
    assert_eq!(rows(&ok, "SELECT * FROM system.local").await.rows_count(), 1);
    let wrong = open(&target, &target.connection_config().credentials("alice", "nope")).await.unwrap_err();
    assert!(
        matches!(&wrong, ConnectionError::AuthenticationFailed(e) if e.kind == ErrorKind::AuthenticationError),
        "{wrong}"
    );
    let none = open(&target, &target.connection_config()).await.unwrap_err();
    assert!(matches!(none, ConnectionError::AuthenticationRequired { .. }), "{none}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_thousand_concurrent_requests_on_one_connection() {
    let target =
        TestTarget::from_env("connection::forty_thousand_concurrent_requests_on_one_connection").await.unwrap();
    let node = target.require_testkit("delays the replies so that requests outnumber stream ids, and counts them");
    if let Some(node) = node {
        node.faults().add(Fault::delay(Duration::from_millis(20)).matching("system.local"));
    }
    let conn = open(&target, &target.connection_config().compression(Compression::Lz4)).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..40_000 {
        let conn = conn.clone();
        tasks.spawn(async move { conn.request(q("SELECT key FROM system.local")).await.map(|r| r.response) });
    }
    let mut ok = 0;
    while let Some(r) = tasks.join_next().await {
        assert!(matches!(r.unwrap().unwrap(), Response::Result(ResultBody::Rows(_))));
        ok += 1;
    }
    assert_eq!(ok, 40_000, "more requests than stream ids: the extra ones waited, none failed");
    if let Some(node) = node {
        assert_eq!(node.stats().requests("SELECT key FROM system.local"), 40_000);
    }
    assert_eq!(conn.in_flight(), 0);
}

#[tokio::test]
async fn a_slow_request_times_out_while_the_others_complete() {
    let target = TestTarget::from_env("connection::a_slow_request_times_out_while_the_others_complete").await.unwrap();
    let Some(node) = target.require_testkit("delays one reply") else { return };
    node.faults().add(Fault::delay(Duration::from_millis(600)).matching("key = 'slow'").once());
    let config = target.connection_config().request_timeout(Duration::from_millis(200));
    let conn = open(&target, &config).await.unwrap();
    let slow = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.request(q("SELECT * FROM system.local WHERE key = 'slow'")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    for _ in 0..20 {
        assert_eq!(rows(&conn, "SELECT * FROM system.local WHERE key = 'local'").await.rows_count(), 1);
    }
    let err = slow.await.unwrap().unwrap_err();
    assert!(matches!(err, RequestError::Timeout(_)), "{err}");
    // The timed-out request's stream id stays taken until its late reply arrives.
    assert_eq!(conn.in_flight(), 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(conn.in_flight(), 0, "the late reply freed the orphaned id");
}

#[tokio::test]
async fn timeouts_keep_their_own_deadlines_and_cover_the_wait_for_an_id() {
    let target = TestTarget::from_env("connection::timeouts_keep_their_own_deadlines_and_cover_the_wait_for_an_id")
        .await
        .unwrap();
    let Some(node) = target.require_testkit("delays replies") else { return };
    node.faults().add(Fault::delay(Duration::from_millis(800)).matching("key = 'slow'"));
    // Three ids: two orphaned below stays within the orphan limit, which is capped one
    // below the ids in use (two orphans out of two ids would make the connection defunct).
    let config = target.connection_config().request_timeout(Duration::from_millis(300)).max_streams(3);
    let conn = open(&target, &config).await.unwrap();
    let send = |cql: &'static str, timeout: Option<Duration>| {
        let conn = conn.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let r = conn.request_message(RequestMessage::new(0, q(cql)), timeout).await;
            (r, started.elapsed())
        })
    };
    // The ids go to slow requests with different timeouts (one waits long enough for
    // its reply); a fourth request waits for an id and times out while waiting.
    let long = send("SELECT * FROM system.local WHERE key = 'slow'", Some(Duration::from_millis(600)));
    let short = send("SELECT * FROM system.local WHERE key = 'slow'", Some(Duration::from_millis(100)));
    let patient = send("SELECT * FROM system.local WHERE key = 'slow'", Some(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let queued = send("SELECT * FROM system.local WHERE key = 'local'", Some(Duration::from_millis(150)));
    let (r, took) = short.await.unwrap();
    assert!(matches!(r, Err(RequestError::Timeout(d)) if d == Duration::from_millis(100)), "{r:?}");
    assert!(took >= Duration::from_millis(100) && took < Duration::from_millis(500), "{took:?}");
    let (r, took) = queued.await.unwrap();
    assert!(matches!(r, Err(RequestError::Timeout(d)) if d == Duration::from_millis(150)), "{r:?}");
    assert!(took >= Duration::from_millis(150) && took < Duration::from_millis(550), "{took:?}");
    let (r, took) = long.await.unwrap();
    assert!(matches!(r, Err(RequestError::Timeout(d)) if d == Duration::from_millis(600)), "{r:?}");
    assert!(took >= Duration::from_millis(600), "{took:?}");
    // The orphaned ids stay taken until the late replies; then the connection works again.
    assert_eq!(conn.in_flight(), 3);
    let (r, _) = patient.await.unwrap();
    assert!(r.is_ok(), "{r:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(conn.in_flight(), 0, "the late replies freed the orphaned ids");
    assert!(conn.closed().is_none(), "two orphans of three ids are within the limit");
    assert_eq!(rows(&conn, "SELECT * FROM system.local WHERE key = 'local'").await.rows_count(), 1);
}

#[tokio::test]
async fn a_dying_connection_fails_every_request_in_flight_promptly() {
    let target =
        TestTarget::from_env("connection::a_dying_connection_fails_every_request_in_flight_promptly").await.unwrap();
    let Some(node) = target.require_testkit("holds back replies and stops the node") else { return };
    node.faults().add(Fault::no_reply().matching("key = 'hang'"));
    let conn = open(&target, &target.connection_config().request_timeout(Duration::from_secs(30))).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let conn = conn.clone();
        tasks.spawn(async move { conn.request(q("SELECT * FROM system.local WHERE key = 'hang'")).await });
    }
    while conn.in_flight() < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    node.stop().await;
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        errors.push(r.unwrap().unwrap_err());
    }
    assert!(started.elapsed() < Duration::from_secs(5), "in-flight requests must fail at once, not at their timeout");
    assert_eq!(errors.len(), 100);
    assert!(errors.iter().all(|e| matches!(e, RequestError::Connection(_))), "{:?}", errors[0]);
    assert!(conn.closed().is_some());
    // The next request on this connection fails too; a fresh connection works after a restart.
    assert!(matches!(conn.request(q("SELECT * FROM system.local")).await, Err(RequestError::Connection(_))));
    node.start().await.unwrap();
    node.faults().clear();
    let fresh = open(&target, &target.connection_config()).await.unwrap();
    assert_eq!(rows(&fresh, "SELECT * FROM system.local").await.rows_count(), 1);
}

#[tokio::test]
async fn register_and_use_from_the_config() {
    let target = TestTarget::from_env("connection::register_and_use_from_the_config").await.unwrap();
    let ks = target.keyspace().await.unwrap();
    let admin = open(&target, &target.connection_config()).await.unwrap();
    let config = target.connection_config().keyspace(ks.name()).events(vec![EventType::SchemaChange]);
    let conn = open(&target, &config).await.unwrap();
    let mut events = conn.events();
    // USE took effect: an unqualified table lands in the test's keyspace.
    conn.request(q("CREATE TABLE t (k int PRIMARY KEY)")).await.unwrap();
    let tables = format!("SELECT * FROM system_schema.tables WHERE keyspace_name = '{}'", ks.name());
    assert_eq!(rows(&admin, &tables).await.rows_count(), 1);
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert!(matches!(event, Event::SchemaChange(_)), "{event:?}");
}

#[tokio::test]
async fn an_idle_connection_sends_heartbeats() {
    let target = TestTarget::from_env("connection::an_idle_connection_sends_heartbeats").await.unwrap();
    let node = target.require_testkit("counts the heartbeats the node receives");
    let config = target.connection_config().heartbeat_interval(Some(Duration::from_millis(100)));
    let conn = open(&target, &config).await.unwrap();
    let after_handshake = node.map(|n| n.stats().options());
    tokio::time::sleep(Duration::from_millis(550)).await;
    if let (Some(node), Some(after_handshake)) = (node, after_handshake) {
        let beats = node.stats().options() - after_handshake;
        assert!(beats >= 3, "expected a heartbeat OPTIONS every 100 ms of idleness, saw {beats}");
    }
    assert!(conn.closed().is_none(), "answered heartbeats keep the connection open");
    assert_eq!(rows(&conn, "SELECT * FROM system.local").await.rows_count(), 1);
    assert_eq!(conn.in_flight(), 0, "heartbeat replies free their stream ids");
}
