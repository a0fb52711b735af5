//! Interop: the ScyllaDB Rust driver (`scylla` 1.x, default `SessionBuilder` settings)
//! against the in-process test server.
//!
//! The driver reads `system.local`, `system.peers` and `system_schema.*` at connect,
//! awaits schema agreement after DDL, routes prepared statements by token and pages
//! with `paging_state`; each test drives one of those paths with a real client that
//! is not ours. Every test is bounded by [`LIMIT`] so a server that stops answering
//! fails the test instead of hanging it.
//!
//! The tests go through `crate::support::TestTarget` like the rest of the suite, but
//! they check the testkit itself, so against a real cluster
//! (`CQLSTREAM_TEST_CONTACT_POINTS`) each one is skipped and says why.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::protocol::Version;
use cqlstream::testkit::{TestCluster, TestNode, VNODES};
use futures_util::{StreamExt, TryStreamExt};
use scylla::client::Compression;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::cluster::metadata::{ColumnType, NativeType, Strategy};
use scylla::errors::{DbError, ExecutionError, NewSessionError, RequestAttemptError};
use scylla::response::PagingState;
use scylla::statement::unprepared::Statement;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Why every test here is skipped against a real cluster.
const TESTKIT_ONLY: &str =
    "checks the testkit against the scylla crate, so against a real node it tests nothing of ours";

/// The most any one test may take.
const LIMIT: Duration = Duration::from_secs(120);

/// Rows the paging tests write: 2.5 pages of 1000.
const ROWS: i32 = 2_500;
const PAGE: i32 = 1_000;

async fn bounded<F: Future<Output = Result<(), Error>>>(f: F) -> Result<(), Error> {
    tokio::time::timeout(LIMIT, f).await.map_err(|_| format!("the test did not finish within {LIMIT:?}"))?
}

async fn connect(addr: SocketAddr) -> Result<Session, Error> {
    Ok(SessionBuilder::new().known_node_addr(addr).build().await?)
}

/// The blob of row `i`: `i` big-endian, then `i % 251` repeated, 40 bytes in all.
fn blob(i: i32) -> Vec<u8> {
    let mut v = (i as u64).to_be_bytes().to_vec();
    v.resize(40, (i % 251) as u8);
    v
}

/// `CREATE KEYSPACE` + `CREATE TABLE` + `ROWS` prepared, concurrent inserts.
async fn create_and_fill(session: &Session, ks: &str) -> Result<(), Error> {
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE IF NOT EXISTS {ks} \
                 WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            (),
        )
        .await?;
    session.query_unpaged(format!("CREATE TABLE {ks}.rows (pk int, ck int, v blob, PRIMARY KEY (pk, ck))"), ()).await?;
    let insert = session.prepare(format!("INSERT INTO {ks}.rows (pk, ck, v) VALUES (?, ?, ?)")).await?;
    futures_util::stream::iter(0..ROWS)
        .map(|i| {
            let insert = &insert;
            async move { session.execute_unpaged(insert, (i / 100, i % 100, blob(i))).await }
        })
        .buffer_unordered(64)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(())
}

/// The driver's view of the schema and the ring, built from system_schema.* and
/// system.local/peers: the keyspace's strategy, the table's keys and column types,
/// and `VNODES` tokens per node.
fn check_schema_metadata(session: &Session, ks: &str, nodes: usize) -> Result<(), Error> {
    let state = session.get_cluster_state();
    let keyspace = state.get_keyspace(ks).ok_or_else(|| format!("keyspace {ks} not in the driver's metadata"))?;
    assert!(
        matches!(keyspace.strategy, Strategy::SimpleStrategy { replication_factor: 1 }),
        "strategy: {:?}",
        keyspace.strategy
    );
    let table = keyspace.tables.get("rows").ok_or_else(|| format!("table {ks}.rows not in the driver's metadata"))?;
    assert_eq!(table.partition_key, ["pk"]);
    assert_eq!(table.clustering_key, ["ck"]);
    let typ = |c: &str| table.columns.get(c).map(|c| c.typ.clone());
    assert_eq!(typ("pk"), Some(ColumnType::Native(NativeType::Int)));
    assert_eq!(typ("ck"), Some(ColumnType::Native(NativeType::Int)));
    assert_eq!(typ("v"), Some(ColumnType::Native(NativeType::Blob)));
    assert_eq!(state.replica_locator().ring().len(), VNODES * nodes, "tokens in the driver's ring");
    Ok(())
}

/// Checks a whole-table scan: every row once, with the right value, each partition's
/// rows contiguous and in clustering order.
fn check_scan(rows: &[(i32, i32, Vec<u8>)]) -> Result<(), Error> {
    if rows.len() != ROWS as usize {
        return Err(format!("scan returned {} rows, expected {ROWS}", rows.len()).into());
    }
    let mut seen = BTreeMap::new();
    for (n, (pk, ck, v)) in rows.iter().enumerate() {
        let i = pk * 100 + ck;
        if !(0..ROWS).contains(&i) || *ck >= 100 {
            return Err(format!("row {n}: unexpected key ({pk}, {ck})").into());
        }
        if *v != blob(i) {
            return Err(format!("row {n} ({pk}, {ck}): v = {v:?}, expected {:?}", blob(i)).into());
        }
        if let Some(prev) = seen.insert(i, n) {
            return Err(format!("row ({pk}, {ck}) returned twice, at {prev} and {n}").into());
        }
        if n > 0 && rows[n - 1].0 == *pk && rows[n - 1].1 >= *ck {
            return Err(format!("row {n}: partition {pk} not in clustering order").into());
        }
        if n > 0 && rows[n - 1].0 != *pk && *ck != 0 {
            return Err(format!("row {n}: partition {pk} starts at ck {ck}, or is split").into());
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_inserts_then_paged_scan_and_partition_read() -> Result<(), Error> {
    bounded(async {
        let target =
            TestTarget::from_env("interop_scylla::prepared_inserts_then_paged_scan_and_partition_read").await?;
        let Some(node) = target.require_testkit(TESTKIT_ONLY) else { return Ok(()) };
        let session = connect(node.addr()).await?;
        create_and_fill(&session, "interop").await?;
        check_schema_metadata(&session, "interop", 1)?;

        // Automatic paging through QueryPager.
        let mut select = session.prepare("SELECT pk, ck, v FROM interop.rows").await?;
        select.set_page_size(PAGE);
        let rows: Vec<(i32, i32, Vec<u8>)> =
            session.execute_iter(select.clone(), ()).await?.rows_stream::<(i32, i32, Vec<u8>)>()?.try_collect().await?;
        check_scan(&rows)?;

        // Manual paging: 1000 + 1000 + 500, the last page without a paging state.
        let mut pages = Vec::new();
        let mut manual = Vec::new();
        let mut state = PagingState::start();
        loop {
            let (result, next) = session.execute_single_page(&select, (), state).await?;
            let result = result.into_rows_result()?;
            pages.push(result.rows_num());
            for row in result.rows::<(i32, i32, Vec<u8>)>()? {
                manual.push(row?);
            }
            match next.into_paging_control_flow() {
                ControlFlow::Break(()) => break,
                ControlFlow::Continue(s) => state = s,
            }
            if pages.len() > 10 {
                return Err(format!("more than 10 pages: {pages:?}").into());
            }
        }
        assert_eq!(pages, vec![1000, 1000, 500], "page sizes");
        assert_eq!(manual, rows, "manual paging returns what the pager returned");

        // One partition by its key, prepared (routed by token), in clustering order.
        let by_pk = session.prepare("SELECT ck, v FROM interop.rows WHERE pk = ?").await?;
        let part: Vec<(i32, Vec<u8>)> =
            session.execute_unpaged(&by_pk, (7,)).await?.into_rows_result()?.rows()?.collect::<Result<_, _>>()?;
        let expected: Vec<(i32, Vec<u8>)> = (0..100).map(|ck| (ck, blob(700 + ck))).collect();
        assert_eq!(part, expected, "partition 7");

        // One row by its full key, unprepared with a literal.
        let (v,): (Vec<u8>,) = session
            .query_unpaged("SELECT v FROM interop.rows WHERE pk = 24 AND ck = 99", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert_eq!(v, blob(2499));
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_arrive_as_the_drivers_db_errors() -> Result<(), Error> {
    bounded(async {
        let target = TestTarget::from_env("interop_scylla::server_errors_arrive_as_the_drivers_db_errors").await?;
        let Some(node) = target.require_testkit(TESTKIT_ONLY) else { return Ok(()) };
        let session = connect(node.addr()).await?;
        let db_error = |r: Result<scylla::response::query_result::QueryResult, ExecutionError>| match r {
            Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(e, msg))) => Ok((e, msg)),
            Err(other) => Err(format!("not a DbError: {other}")),
            Ok(_) => Err("succeeded".to_string()),
        };

        let (e, msg) = db_error(session.query_unpaged("SELEC nonsense FROM", ()).await)?;
        assert!(matches!(e, DbError::SyntaxError), "bad CQL: {e:?} {msg}");

        let (e, msg) = db_error(session.query_unpaged("SELECT * FROM system.no_such_table", ()).await)?;
        assert!(matches!(e, DbError::Invalid), "unknown table: {e:?} {msg}");

        let ks = "CREATE KEYSPACE errs WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
        session.query_unpaged(ks, ()).await?;
        let (e, msg) = db_error(session.query_unpaged(ks, ()).await)?;
        assert!(matches!(e, DbError::AlreadyExists { .. }), "keyspace twice: {e:?} {msg}");
        session.query_unpaged("CREATE TABLE errs.t (k int PRIMARY KEY, v text)", ()).await?;
        let (e, msg) = db_error(session.query_unpaged("CREATE TABLE errs.t (k int PRIMARY KEY, v text)", ()).await)?;
        match e {
            DbError::AlreadyExists { keyspace, table } => {
                assert_eq!((keyspace.as_str(), table.as_str()), ("errs", "t"))
            }
            other => panic!("table twice: {other:?} {msg}"),
        }
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_auth_and_lz4_on_a_v4_only_node() -> Result<(), Error> {
    bounded(async {
        let target = TestTarget::from_env_with(
            "interop_scylla::password_auth_and_lz4_on_a_v4_only_node",
            TestNode::builder().max_protocol(Version::V4).user("alice", "s3cret"),
        )
        .await?;
        let Some(node) = target.require_testkit(TESTKIT_ONLY) else { return Ok(()) };

        let wrong = SessionBuilder::new().known_node_addr(node.addr()).user("alice", "nope").build().await;
        // The control connection's setup fails with the server's AuthenticationError.
        match wrong {
            Err(NewSessionError::MetadataError(e)) if format!("{e:?}").contains("AuthenticationError") => {}
            Err(other) => return Err(format!("wrong password: unexpected error {other:?}").into()),
            Ok(_) => return Err("a wrong password was accepted".into()),
        }

        let session = SessionBuilder::new()
            .known_node_addr(node.addr())
            .user("alice", "s3cret")
            .compression(Some(Compression::Lz4))
            .build()
            .await?;
        let (cluster_name,): (String,) = session
            .query_unpaged("SELECT cluster_name FROM system.local WHERE key = 'local'", ())
            .await?
            .into_rows_result()?
            .single_row()?;
        assert!(!cluster_name.is_empty());
        session
            .query_unpaged(
                "CREATE KEYSPACE lz WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                (),
            )
            .await?;
        session.query_unpaged("CREATE TABLE lz.t (k int PRIMARY KEY, v text)", ()).await?;
        // A value that LZ4 really compresses, both ways.
        let text = "compress me ".repeat(2_000);
        session.query_unpaged("INSERT INTO lz.t (k, v) VALUES (?, ?)", (1, text.as_str())).await?;
        let (v,): (String,) =
            session.query_unpaged("SELECT v FROM lz.t WHERE k = 1", ()).await?.into_rows_result()?.single_row()?;
        assert_eq!(v, text);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_is_discovered_and_serves_every_row() -> Result<(), Error> {
    bounded(async {
        let target =
            TestTarget::from_env("interop_scylla::a_three_node_cluster_is_discovered_and_serves_every_row").await?;
        if target.require_testkit(TESTKIT_ONLY).is_none() {
            return Ok(());
        }
        // A target holds one node; this test starts a cluster of three beside it.
        let cluster = TestCluster::builder().nodes(3).start().await?;
        let session = connect(cluster.node(0).addr()).await?;
        // The driver found the other two nodes through system.peers(_v2).
        let mut known: Vec<SocketAddr> = session
            .get_cluster_state()
            .get_nodes_info()
            .iter()
            .map(|n| SocketAddr::new(n.address.ip(), n.address.port()))
            .collect();
        known.sort();
        let mut expected = cluster.addrs();
        expected.sort();
        assert_eq!(known, expected, "nodes the driver knows");

        create_and_fill(&session, "three").await?;
        check_schema_metadata(&session, "three", 3)?;
        let mut select = Statement::new("SELECT pk, ck, v FROM three.rows");
        select.set_page_size(PAGE);
        let rows: Vec<(i32, i32, Vec<u8>)> =
            session.query_iter(select, ()).await?.rows_stream::<(i32, i32, Vec<u8>)>()?.try_collect().await?;
        check_scan(&rows)?;
        // Token-aware routing: every prepared insert went to the node that owns its
        // partition by the *server's* tokens (the node whose token is the first at or
        // after the partition's, wrapping), so the driver's murmur3, the ring it read
        // from system.local/peers and the server's partition key indexes all agree.
        let mut ring: Vec<(i64, usize)> =
            (0..3).flat_map(|i| cluster.node(i).tokens().iter().map(|&t| (t, i)).collect::<Vec<_>>()).collect();
        ring.sort();
        let state = session.get_cluster_state();
        let mut expected = [0u64; 3];
        for pk in 0..ROWS / 100 {
            let token = state.compute_token("three", "rows", &(pk,))?.value();
            let owner = ring.iter().find(|(t, _)| *t >= token).unwrap_or(&ring[0]).1;
            expected[owner] += 100;
        }
        let insert = "INSERT INTO three.rows (pk, ck, v) VALUES (?, ?, ?)";
        let per_node: Vec<u64> = cluster.nodes().iter().map(|n| n.stats().requests(insert)).collect();
        assert_eq!(per_node, expected, "inserts per node");
        Ok(())
    })
    .await
}
