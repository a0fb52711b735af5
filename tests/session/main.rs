//! The session API against the test server: the README flow, typed rows, LWT, batches,
//! transparent re-prepare, recovery after a connection dies, pooling.

use std::time::Duration;

use bytes::Bytes;
use cqlstream::protocol::Compression;
use cqlstream::protocol::request::BatchType;
use cqlstream::protocol::response::ErrorKind;
use cqlstream::session::{Batch, Error, Session, Statement};
use cqlstream::testkit::{Fault, TestNode};
use cqlstream::types::Row;

async fn setup() -> (TestNode, Session) {
    let node = TestNode::builder().start().await.unwrap();
    let session = Session::builder()
        .contact_point(node.addr().to_string())
        .compression(Compression::Lz4)
        .pool_size(2)
        .build()
        .await
        .unwrap();
    session
        .query("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", ())
        .await
        .unwrap();
    session.query("CREATE TABLE ks.t (k int PRIMARY KEY, v text)", ()).await.unwrap();
    (node, session)
}

#[tokio::test]
async fn query_prepare_execute_and_typed_rows() {
    let (_node, session) = setup().await;
    let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await.unwrap();
    assert_eq!(insert.pk_indexes(), &[0]);
    for k in 0..10 {
        session.execute(&insert, (k, format!("v{k}"))).await.unwrap();
    }
    session.query("INSERT INTO ks.t (k, v) VALUES (?, ?)", (100, "unprepared")).await.unwrap();
    let result = session.query("SELECT k, v FROM ks.t WHERE k = 100", ()).await.unwrap();
    let rows: Vec<(i32, &str)> = result.rows_typed::<(i32, &str)>().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows, vec![(100, "unprepared")]);
    let select = session.prepare("SELECT k, v FROM ks.t WHERE k = ?").await.unwrap();
    let result = session.execute(&select, (3,)).await.unwrap();
    let row: Row = result.rows_typed::<Row>().unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<&str>("v"), "v3");
    assert_eq!(row.get::<i32>(0), 3);
    // Values are checked against the markers: the error names the column and both types.
    let err = session.execute(&insert, ("not an int", "x")).await.unwrap_err();
    assert!(matches!(err, Error::Serialize(_)), "{err}");
    assert!(err.to_string().contains('k'), "{err}");
    // Concurrent prepares of one text share one prepared statement.
    let (a, b) = tokio::join!(session.prepare("SELECT v FROM ks.t"), session.prepare("SELECT v FROM ks.t"));
    assert_eq!(a.unwrap().id(), b.unwrap().id());
}

#[tokio::test]
async fn lwt_batches_and_server_errors() {
    let (_node, session) = setup().await;
    let r = session.query("INSERT INTO ks.t (k, v) VALUES (1, 'a') IF NOT EXISTS", ()).await.unwrap();
    assert_eq!(r.was_applied(), Some(true));
    let r = session.query("INSERT INTO ks.t (k, v) VALUES (1, 'b') IF NOT EXISTS", ()).await.unwrap();
    assert_eq!(r.was_applied(), Some(false));
    let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await.unwrap();
    let mut batch = Batch::new(BatchType::Unlogged);
    batch.add_prepared(&insert, (2, "two")).unwrap();
    batch.add_query("INSERT INTO ks.t (k, v) VALUES (3, 'three')", ()).unwrap();
    session.batch(&batch).await.unwrap();
    let count = session.query("SELECT COUNT(*) FROM ks.t", ()).await.unwrap();
    let (n,): (i64,) = count.rows_typed().unwrap().next().unwrap().unwrap();
    assert_eq!(n, 3);
    let err = session.query("SELECT * FROM ks.nope", ()).await.unwrap_err();
    assert!(matches!(err.server_kind(), Some(ErrorKind::Invalid)), "{err}");
    let err = session.query("SELEKT", ()).await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code(), 0x2000);
}

#[tokio::test]
async fn unprepared_is_recovered_transparently() {
    let (node, session) = setup().await;
    let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await.unwrap();
    node.faults().add(
        Fault::error(ErrorKind::Unprepared { id: insert.id().clone() }, "forgotten")
            .matching("INSERT INTO ks.t")
            .once(),
    );
    session.execute(&insert, (7, "seven")).await.unwrap();
    assert_eq!(node.stats().requests("INSERT INTO ks.t (k, v) VALUES (?, ?)"), 2, "the EXECUTE was retried once");
    let r = session.query("SELECT v FROM ks.t WHERE k = 7", ()).await.unwrap();
    assert_eq!(r.rows_typed::<(&str,)>().unwrap().next().unwrap().unwrap().0, "seven");
}

#[tokio::test]
async fn the_session_recovers_after_its_connections_die() {
    let (node, session) = setup().await;
    node.restart().await.unwrap();
    // The first call may see the dead connection; the next gets a fresh one.
    let first = session.query("SELECT * FROM system.local", ()).await;
    if let Err(e) = &first {
        assert!(matches!(e, Error::Connection(_)), "{e}");
    }
    let again =
        session.query(Statement::new("SELECT * FROM system.local").with_timeout(Duration::from_secs(2)), ()).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_spreads_concurrent_requests() {
    let (node, session) = setup().await;
    let insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)").await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..2000 {
        let (s, p) = (session.clone(), insert.clone());
        tasks.spawn(async move { s.execute(&p, (k, "x")).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(node.stats().requests("INSERT INTO ks.t (k, v) VALUES (?, ?)"), 2000);
    assert!(node.stats().connections() >= 2);
    let _ = Bytes::new();
}

#[tokio::test]
async fn authentication_failure_is_a_clear_error() {
    let node = TestNode::builder().user("alice", "secret").start().await.unwrap();
    let err = Session::builder()
        .contact_point(node.addr().to_string())
        .credentials("alice", "wrong")
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("authentication"), "{err}");
    let ok = Session::builder().contact_point(node.addr().to_string()).credentials("alice", "secret").build().await;
    assert!(ok.is_ok());
}
