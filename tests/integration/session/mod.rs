//! The session API: the README flow, typed rows, LWT, batches, transparent re-prepare,
//! recovery after a connection dies, pooling. Against the testkit by default, against a
//! real cluster when `CQLSTREAM_TEST_CONTACT_POINTS` is set (`crate::support::TestTarget`);
//! each test works in a keyspace of its own.

use std::time::Duration;

use crate::support::{TestKeyspace, TestTarget};
use bytes::Bytes;
use cqlstream::Error;
use cqlstream::protocol::Compression;
use cqlstream::protocol::request::BatchType;
use cqlstream::protocol::response::ErrorKind;
use cqlstream::session::{Batch, Session, Statement};
use cqlstream::testkit::{Fault, TestNode};
use cqlstream::types::Row;

mod build;
mod pool;

/// A test's target, its keyspace (the session's default, holding table
/// `t (k int PRIMARY KEY, v text)`) and a session of two LZ4 connections.
struct Setup {
    target: TestTarget,
    _ks: TestKeyspace,
    session: Session,
}

async fn setup(test: &str) -> Setup {
    let target = TestTarget::from_env(test).await.unwrap();
    let ks = target.keyspace().await.unwrap();
    let session =
        target.session_builder().keyspace(ks.name()).compression(Compression::Lz4).pool_size(2).build().await.unwrap();
    session.query("CREATE TABLE t (k int PRIMARY KEY, v text)", ()).await.unwrap();
    Setup { target, _ks: ks, session }
}

#[tokio::test]
async fn query_prepare_execute_and_typed_rows() {
    let Setup { session, _ks, target: _target } = setup("session::query_prepare_execute_and_typed_rows").await;
    let insert = session.prepare("INSERT INTO t (k, v) VALUES (?, ?)").await.unwrap();
    assert_eq!(insert.pk_indexes(), &[0]);
    for k in 0..10 {
        session.execute(&insert, (k, format!("v{k}"))).await.unwrap();
    }
    session.query("INSERT INTO t (k, v) VALUES (?, ?)", (100, "unprepared")).await.unwrap();
    let result = session.query("SELECT k, v FROM t WHERE k = 100", ()).await.unwrap();
    let rows: Vec<(i32, &str)> = result.rows_typed::<(i32, &str)>().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(rows, vec![(100, "unprepared")]);
    let select = session.prepare("SELECT k, v FROM t WHERE k = ?").await.unwrap();
    let result = session.execute(&select, (3,)).await.unwrap();
    let row: Row = result.rows_typed::<Row>().unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<&str>("v"), "v3");
    assert_eq!(row.get::<i32>(0), 3);
    // Values are checked against the markers: the error names the column and both types.
    let err = session.execute(&insert, ("not an int", "x")).await.unwrap_err();
    assert!(matches!(err, Error::Serialize(_)), "{err}");
    assert!(err.to_string().contains('k'), "{err}");
    // Concurrent prepares of one text share one prepared statement.
    let (a, b) = tokio::join!(session.prepare("SELECT v FROM t"), session.prepare("SELECT v FROM t"));
    assert_eq!(a.unwrap().id(), b.unwrap().id());
}

#[tokio::test]
async fn lwt_batches_and_server_errors() {
    let Setup { session, _ks, target: _target } = setup("session::lwt_batches_and_server_errors").await;
    let r = session.query("INSERT INTO t (k, v) VALUES (1, 'a') IF NOT EXISTS", ()).await.unwrap();
    assert_eq!(r.was_applied(), Some(true));
    let r = session.query("INSERT INTO t (k, v) VALUES (1, 'b') IF NOT EXISTS", ()).await.unwrap();
    assert_eq!(r.was_applied(), Some(false));
    let insert = session.prepare("INSERT INTO t (k, v) VALUES (?, ?)").await.unwrap();
    let mut batch = Batch::new(BatchType::Unlogged);
    batch.add_prepared(&insert, (2, "two")).unwrap();
    batch.add_query("INSERT INTO t (k, v) VALUES (3, 'three')", ()).unwrap();
    session.batch(&batch).await.unwrap();
    let count = session.query("SELECT COUNT(*) FROM t", ()).await.unwrap();
    let (n,): (i64,) = count.rows_typed().unwrap().next().unwrap().unwrap();
    assert_eq!(n, 3);
    let err = session.query("SELECT * FROM nope", ()).await.unwrap_err();
    assert!(matches!(err.server_kind(), Some(ErrorKind::Invalid)), "{err}");
    let err = session.query("SELEKT", ()).await.unwrap_err();
    assert_eq!(err.server_error().unwrap().code(), 0x2000);
}

#[tokio::test]
async fn unprepared_is_recovered_transparently() {
    let Setup { target, session, _ks } = setup("session::unprepared_is_recovered_transparently").await;
    let Some(node) = target.require_testkit("injects an UNPREPARED error") else { return };
    let insert = session.prepare("INSERT INTO t (k, v) VALUES (?, ?)").await.unwrap();
    node.faults().add(
        Fault::error(ErrorKind::Unprepared { id: insert.id().clone() }, "forgotten").matching("INSERT INTO t").once(),
    );
    session.execute(&insert, (7, "seven")).await.unwrap();
    assert_eq!(node.stats().requests("INSERT INTO t (k, v) VALUES (?, ?)"), 2, "the EXECUTE was retried once");
    let r = session.query("SELECT v FROM t WHERE k = 7", ()).await.unwrap();
    assert_eq!(r.rows_typed::<(&str,)>().unwrap().next().unwrap().unwrap().0, "seven");
}

/// Every request goes through one path, but only pages are retried: a plain query,
/// execute or batch that fails with a retryable error fails at once.
#[tokio::test]
async fn plain_statements_are_not_retried_but_pages_are() {
    let Setup { target, session, _ks } = setup("session::plain_statements_are_not_retried_but_pages_are").await;
    let Some(node) = target.require_testkit("injects an Overloaded error") else { return };
    let select = "SELECT v FROM t WHERE k = 8";
    let overloaded = || Fault::error(ErrorKind::Overloaded, "Server is overloaded").matching(select).once();
    node.faults().add(overloaded());
    let err = session.query(select, ()).await.unwrap_err();
    assert!(matches!(err.server_kind(), Some(ErrorKind::Overloaded)), "{err}");
    let prepared = session.prepare(select).await.unwrap();
    node.faults().add(overloaded());
    let err = session.execute(&prepared, ()).await.unwrap_err();
    assert!(matches!(err.server_kind(), Some(ErrorKind::Overloaded)), "{err}");
    let insert = "INSERT INTO t (k, v) VALUES (8, 'eight')";
    node.faults().add(Fault::error(ErrorKind::Overloaded, "Server is overloaded").matching(insert).once());
    let mut batch = Batch::new(BatchType::Unlogged);
    batch.add_query(insert, ()).unwrap();
    let err = session.batch(&batch).await.unwrap_err();
    assert!(matches!(err.server_kind(), Some(ErrorKind::Overloaded)), "{err}");
    // The same failure on a page is retried, with the stream's policy.
    node.faults().add(overloaded());
    node.stats().reset();
    let mut pages = session.stream(select, ()).pages();
    let page = futures_util::StreamExt::next(&mut pages).await.unwrap().unwrap();
    assert_eq!(page.retries(), 1);
    assert_eq!(node.stats().requests(select), 2, "the page was asked for twice");
}

#[tokio::test]
async fn a_batch_is_reprepared_on_unprepared() {
    let Setup { target, session, _ks } = setup("session::a_batch_is_reprepared_on_unprepared").await;
    let Some(node) = target.require_testkit("makes the node forget its prepared statements") else { return };
    let text = "INSERT INTO t (k, v) VALUES (?, ?)";
    let insert = session.prepare(text).await.unwrap();
    let update = session.prepare("UPDATE t SET v = ? WHERE k = ?").await.unwrap();
    assert_eq!(node.stats().prepares(text), 1);
    node.forget_prepared();
    let mut batch = Batch::new(BatchType::Logged);
    batch.add_prepared(&insert, (1, "one")).unwrap();
    batch.add_query("INSERT INTO t (k, v) VALUES (2, 'two')", ()).unwrap();
    batch.add_prepared(&update, ("three", 3)).unwrap();
    session.batch(&batch).await.unwrap();
    assert_eq!(node.stats().prepares(text), 2, "the forgotten statement was prepared again");
    assert_eq!(node.stats().prepares("UPDATE t SET v = ? WHERE k = ?"), 2);
    let r = session.query("SELECT k, v FROM t", ()).await.unwrap();
    let mut rows: Vec<(i32, String)> = r.rows_typed().unwrap().collect::<Result<_, _>>().unwrap();
    rows.sort();
    assert_eq!(rows, [(1, "one".into()), (2, "two".into()), (3, "three".into())]);
}

#[tokio::test]
async fn the_session_recovers_after_its_connections_die() {
    let Setup { target, session, _ks } = setup("session::the_session_recovers_after_its_connections_die").await;
    let Some(node) = target.require_testkit("restarts the node") else { return };
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
    let Setup { target, session, _ks } = setup("session::a_pool_spreads_concurrent_requests").await;
    let insert = session.prepare("INSERT INTO t (k, v) VALUES (?, ?)").await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..2000 {
        let (s, p) = (session.clone(), insert.clone());
        tasks.spawn(async move { s.execute(&p, (k, "x")).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let count = session.query("SELECT COUNT(*) FROM t", ()).await.unwrap();
    assert_eq!(count.rows_typed::<(i64,)>().unwrap().next().unwrap().unwrap().0, 2000);
    if let Some(node) = target.require_testkit("counts requests and connections") {
        assert_eq!(node.stats().requests("INSERT INTO t (k, v) VALUES (?, ?)"), 2000);
        assert!(node.stats().connections() >= 2);
    }
    let _ = Bytes::new();
}

#[tokio::test]
async fn authentication_failure_is_a_clear_error() {
    let target = TestTarget::from_env_with(
        "session::authentication_failure_is_a_clear_error",
        TestNode::builder().user("alice", "secret"),
    )
    .await
    .unwrap();
    let Some(node) = target.require_testkit("needs a user set up on the node") else { return };
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

mod every_type {
    use std::net::{IpAddr, Ipv6Addr};

    use crate::support::TestTarget;
    use cqlstream::connection::Connection;
    use cqlstream::protocol::{Compression, Version};
    use cqlstream::types::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue, CqlVarint};
    use uuid::Uuid;

    const COLUMNS: &str = "a ascii, b bigint, bl blob, bo boolean, d date, de decimal, db double, du duration, f float, \
        i inet, n int, s smallint, t text, ti time, ts timestamp, tu timeuuid, tt tinyint, u uuid, vi varint, \
        l list<int>, m map<text, int>, st set<text>, tp tuple<int, text>, ud frozen<addr>, ve vector<float, 3>";
    const NAMES: [&str; 25] = [
        "a", "b", "bl", "bo", "d", "de", "db", "du", "f", "i", "n", "s", "t", "ti", "ts", "tu", "tt", "u", "vi", "l",
        "m", "st", "tp", "ud", "ve",
    ];

    fn udt(keyspace: &str, street: Option<&str>, zip: Option<i32>) -> CqlValue {
        CqlValue::Udt {
            keyspace: keyspace.into(),
            name: "addr".into(),
            fields: vec![
                ("street".into(), street.map(|s| CqlValue::Text(s.into()))),
                ("zip".into(), zip.map(CqlValue::Int)),
            ],
        }
    }

    /// Rows of extreme values: the largest, the smallest, odd ones; `None` is null.
    fn rows(keyspace: &str) -> Vec<Vec<Option<CqlValue>>> {
        let timeuuid = Uuid::parse_str("fe2b4360-28c6-11e2-81c1-0800200c9a66").unwrap();
        let max = vec![
            Some(CqlValue::Ascii("~".repeat(100))),
            Some(CqlValue::Bigint(i64::MAX)),
            Some(CqlValue::Blob(vec![0xff; 1000].into())),
            Some(CqlValue::Boolean(true)),
            Some(CqlValue::Date(CqlDate(u32::MAX))),
            Some(CqlValue::Decimal(CqlDecimal::new(CqlVarint::from(i128::MAX), 38))),
            Some(CqlValue::Double(f64::MAX)),
            Some(CqlValue::Duration(CqlDuration::new(i32::MAX, i32::MAX, i64::MAX).unwrap())),
            Some(CqlValue::Float(f32::INFINITY)),
            Some(CqlValue::Inet(IpAddr::V6(Ipv6Addr::new(0xffff, 0, 0, 0, 0, 0, 0, 1)))),
            Some(CqlValue::Int(i32::MAX)),
            Some(CqlValue::Smallint(i16::MAX)),
            Some(CqlValue::Text("żółw 🐢 \u{0}".into())),
            Some(CqlValue::Time(CqlTime::MAX)),
            Some(CqlValue::Timestamp(CqlTimestamp(i64::MAX))),
            Some(CqlValue::Timeuuid(timeuuid)),
            Some(CqlValue::Tinyint(i8::MAX)),
            Some(CqlValue::Uuid(Uuid::from_u128(u128::MAX))),
            Some(CqlValue::Varint("123456789012345678901234567890123456789012345678901234567890".parse().unwrap())),
            Some(CqlValue::List(vec![CqlValue::Int(i32::MIN), CqlValue::Int(0), CqlValue::Int(i32::MIN)])),
            Some(CqlValue::Map(vec![
                (CqlValue::Text("a".into()), CqlValue::Int(1)),
                (CqlValue::Text("b".into()), CqlValue::Int(-1)),
            ])),
            Some(CqlValue::Set(vec![CqlValue::Text("x".into()), CqlValue::Text("y".into())])),
            Some(CqlValue::Tuple(vec![Some(CqlValue::Int(7)), None])),
            Some(udt(keyspace, Some("Main St"), Some(12345))),
            Some(CqlValue::Vector(vec![CqlValue::Float(1.5), CqlValue::Float(-0.0), CqlValue::Float(f32::MIN)])),
        ];
        let min = vec![
            Some(CqlValue::Ascii(String::new())),
            Some(CqlValue::Bigint(i64::MIN)),
            Some(CqlValue::Blob(Default::default())),
            Some(CqlValue::Boolean(false)),
            Some(CqlValue::Date(CqlDate(0))),
            Some(CqlValue::Decimal(CqlDecimal::new(CqlVarint::from(-1i64), -5))),
            Some(CqlValue::Double(f64::MIN)),
            Some(CqlValue::Duration(CqlDuration::new(i32::MIN, i32::MIN, i64::MIN).unwrap())),
            Some(CqlValue::Float(f32::NEG_INFINITY)),
            Some(CqlValue::Inet("0.0.0.0".parse().unwrap())),
            Some(CqlValue::Int(i32::MIN)),
            Some(CqlValue::Smallint(i16::MIN)),
            Some(CqlValue::Text(String::new())),
            Some(CqlValue::Time(CqlTime::new(0).unwrap())),
            Some(CqlValue::Timestamp(CqlTimestamp(i64::MIN))),
            Some(CqlValue::Timeuuid(timeuuid)),
            Some(CqlValue::Tinyint(i8::MIN)),
            Some(CqlValue::Uuid(Uuid::nil())),
            Some(CqlValue::Varint("-98765432109876543210987654321098765432109876543210".parse().unwrap())),
            Some(CqlValue::List(vec![CqlValue::Int(1)])),
            Some(CqlValue::Map(vec![(CqlValue::Text(String::new()), CqlValue::Int(0))])),
            Some(CqlValue::Set(vec![CqlValue::Text(String::new())])),
            Some(CqlValue::Tuple(vec![None, Some(CqlValue::Text(String::new()))])),
            Some(udt(keyspace, None, None)),
            Some(CqlValue::Vector(vec![
                CqlValue::Float(f32::MAX),
                CqlValue::Float(0.0),
                CqlValue::Float(f32::MIN_POSITIVE),
            ])),
        ];
        let nulls = vec![None; NAMES.len()];
        vec![max, min, nulls]
    }

    async fn check(test: &str, version: Version, compression: Compression) {
        let target = TestTarget::from_env(test).await.unwrap();
        if target.is_real() {
            // A node that does not speak this version (ScyllaDB and v5) has nothing to test.
            let addr = target.addr().await.unwrap();
            let spoken = Connection::open(addr, &target.connection_config()).await.unwrap().version();
            if spoken < version {
                target.require_testkit(&format!("the node speaks {spoken}, not {version}"));
                return;
            }
        }
        let ks = target.keyspace().await.unwrap();
        let s = target
            .session_builder()
            .keyspace(ks.name())
            .protocol(version)
            .compression(compression)
            .build()
            .await
            .unwrap();
        s.query("CREATE TYPE addr (street text, zip int)", ()).await.unwrap();
        s.query(format!("CREATE TABLE types (k int PRIMARY KEY, {COLUMNS})"), ()).await.unwrap();
        let markers = vec!["?"; NAMES.len() + 1].join(", ");
        let cql = format!("INSERT INTO types (k, {}) VALUES ({markers})", NAMES.join(", "));
        let insert = s.prepare(cql.as_str()).await.unwrap();
        let select = s.prepare(format!("SELECT {} FROM types WHERE k = ?", NAMES.join(", ")).as_str()).await.unwrap();
        for (i, row) in rows(ks.name()).into_iter().enumerate() {
            for prepared in [true, false] {
                let k = (i * 2 + usize::from(prepared)) as i32;
                let mut values: Vec<Option<CqlValue>> = vec![Some(CqlValue::Int(k))];
                values.extend(row.iter().cloned());
                let values: Vec<&dyn cqlstream::types::SerializeValue> =
                    values.iter().map(|v| v as &dyn cqlstream::types::SerializeValue).collect();
                if prepared {
                    s.execute(&insert, values.as_slice())
                        .await
                        .unwrap_or_else(|e| panic!("{version} prepared row {i}: {e}"));
                } else {
                    s.query(cql.as_str(), values.as_slice())
                        .await
                        .unwrap_or_else(|e| panic!("{version} unprepared row {i}: {e}"));
                }
                let result = s.execute(&select, (k,)).await.unwrap();
                let got = result.rows_typed::<cqlstream::types::Row>().unwrap().next().expect("the row").unwrap();
                for (c, want) in NAMES.iter().zip(&row) {
                    let value: Option<CqlValue> = got.get(*c);
                    assert_eq!(&value, want, "{version} {compression:?} prepared={prepared} row {i} column {c}");
                }
            }
        }
        // Empty collections are stored as null, as Cassandra does.
        s.query("INSERT INTO types (k, l, m, st) VALUES (99, [], {}, {})", ()).await.unwrap();
        let r = s.query("SELECT l, m, st FROM types WHERE k = 99", ()).await.unwrap();
        let row = r.rows_typed::<cqlstream::types::Row>().unwrap().next().unwrap().unwrap();
        assert_eq!(row.get::<Option<CqlValue>>("l"), None);
        assert_eq!(row.get::<Vec<i32>>("l"), Vec::<i32>::new());
        // Counters.
        s.query("CREATE TABLE c (k int PRIMARY KEY, n counter)", ()).await.unwrap();
        let add = s.prepare("UPDATE c SET n = n + ? WHERE k = ?").await.unwrap();
        for d in [i64::MAX, i64::MIN, 5] {
            s.execute(&add, (d, 1)).await.unwrap();
        }
        let r = s.query("SELECT n FROM c WHERE k = 1", ()).await.unwrap();
        let (n,): (i64,) = r.rows_typed().unwrap().next().unwrap().unwrap();
        assert_eq!(n, i64::MAX.wrapping_add(i64::MIN).wrapping_add(5));
    }

    #[tokio::test]
    async fn every_type_round_trips_v5_lz4() {
        check("session::every_type_round_trips_v5_lz4", Version::V5, Compression::Lz4).await;
    }

    #[tokio::test]
    async fn every_type_round_trips_v5_plain() {
        check("session::every_type_round_trips_v5_plain", Version::V5, Compression::None).await;
    }

    #[tokio::test]
    async fn every_type_round_trips_v4_lz4() {
        check("session::every_type_round_trips_v4_lz4", Version::V4, Compression::Lz4).await;
    }

    #[tokio::test]
    async fn every_type_round_trips_v4_plain() {
        check("session::every_type_round_trips_v4_plain", Version::V4, Compression::None).await;
    }
}

#[tokio::test]
async fn tracing_ids_reach_the_caller() {
    let Setup { session, _ks, target: _target } = setup("session::tracing_ids_reach_the_caller").await;
    let traced = session.query(Statement::new("SELECT * FROM t").with_tracing(true), ()).await.unwrap();
    assert!(traced.tracing_id().is_some(), "a traced request carries the server's tracing id");
    let plain = session.query("SELECT * FROM t", ()).await.unwrap();
    assert_eq!(plain.tracing_id(), None);
    assert!(plain.warnings().is_empty());
    assert_eq!(plain.rows().unwrap().columns().len(), 2, "column specs come with the page");
}
