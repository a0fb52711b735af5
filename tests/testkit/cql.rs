//! Statements against the test server: DDL, writes, reads, paging, PREPARE metadata,
//! conditional writes, errors and system tables, over the wire with our codec.

use bytes::Bytes;
use cqlstream::protocol::request::{Batch, BatchStatement, BatchStatementKind, Execute, Prepare, Query};
use cqlstream::protocol::response::{ErrorKind, Prepared, ResultBody, Rows};
use cqlstream::protocol::{Compression, Consistency, QueryParameters, Request, Response, Value, Values, Version};
use cqlstream::testkit::TestNode;

use super::Client;

async fn ready(node: &TestNode, version: Version) -> Client {
    let mut c = Client::connect(node.addr(), version).await;
    assert_eq!(c.startup(Compression::Lz4).await, Response::Ready);
    c
}

async fn query(c: &mut Client, cql: &str) -> Response {
    c.request(Request::Query(Query::new(cql, QueryParameters::new(Consistency::One)))).await
}

async fn ok(c: &mut Client, cql: &str) -> ResultBody {
    match query(c, cql).await {
        Response::Result(r) => r,
        other => panic!("{cql}: {other:?}"),
    }
}

async fn rows(c: &mut Client, cql: &str) -> Rows {
    match ok(c, cql).await {
        ResultBody::Rows(r) => r,
        other => panic!("{cql}: not rows: {other:?}"),
    }
}

fn int(b: Option<&[u8]>) -> i32 {
    i32::from_be_bytes(b.unwrap().try_into().unwrap())
}

async fn error(c: &mut Client, cql: &str) -> (ErrorKind, String) {
    match query(c, cql).await {
        Response::Error(e) => (e.kind, e.message),
        other => panic!("{cql}: expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn ddl_writes_and_reads() {
    let node = TestNode::builder().start().await.unwrap();
    let mut c = ready(&node, Version::V5).await;
    let r =
        ok(&mut c, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    assert!(matches!(r, ResultBody::SchemaChange(_)), "{r:?}");
    assert_eq!(ok(&mut c, "USE ks").await, ResultBody::SetKeyspace("ks".into()));
    ok(
        &mut c,
        "CREATE TABLE t (pk int, ck int, v text, s set<int>, PRIMARY KEY (pk, ck)) WITH CLUSTERING ORDER BY (ck DESC)",
    )
    .await;
    for (pk, ck) in [(1, 1), (1, 3), (1, 2), (2, 1)] {
        ok(&mut c, &format!("INSERT INTO t (pk, ck, v, s) VALUES ({pk}, {ck}, 'v{pk}{ck}', {{3, 1, 2}})")).await;
    }
    ok(&mut c, "UPDATE t SET v = 'changed', s = s + {9} WHERE pk = 1 AND ck = 2").await;
    let r = rows(&mut c, "SELECT ck, v FROM t WHERE pk = 1").await;
    let got: Vec<(i32, String)> = r
        .iter()
        .map(|row| (int(row.cell(0).flatten()), String::from_utf8(row.cell(1).flatten().unwrap().to_vec()).unwrap()))
        .collect();
    assert_eq!(got, vec![(3, "v13".into()), (2, "changed".into()), (1, "v11".into())], "DESC clustering order");
    let r = rows(&mut c, "SELECT ck FROM t WHERE pk = 1 ORDER BY ck ASC LIMIT 2").await;
    assert_eq!(r.iter().map(|row| int(row.cell(0).flatten())).collect::<Vec<_>>(), vec![1, 2]);
    let r = rows(&mut c, "SELECT COUNT(*) FROM t").await;
    assert_eq!(r.iter().next().unwrap().cell(0).flatten().unwrap(), &4i64.to_be_bytes());
    ok(&mut c, "DELETE FROM t WHERE pk = 1 AND ck = 3").await;
    ok(&mut c, "DELETE FROM t WHERE pk = 2").await;
    assert_eq!(rows(&mut c, "SELECT * FROM t").await.rows_count(), 2);
    // Conditional insert.
    let r = rows(&mut c, "INSERT INTO t (pk, ck, v) VALUES (1, 1, 'again') IF NOT EXISTS").await;
    let first = r.iter().next().unwrap();
    assert_eq!(first.cell(0).flatten(), Some(&[0u8][..]), "[applied] = false");
    assert_eq!(r.metadata().columns.as_ref().unwrap()[0].name, "[applied]");
}

#[tokio::test]
async fn several_changes_to_one_column_apply_in_order() {
    let node = TestNode::builder().start().await.unwrap();
    let mut c = ready(&node, Version::V4).await;
    ok(&mut c, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ok(&mut c, "CREATE TABLE ks.m (k int PRIMARY KEY, m map<int, int>, l list<int>)").await;
    ok(&mut c, "INSERT INTO ks.m (k, m, l) VALUES (1, {0: 0}, [1])").await;
    ok(&mut c, "UPDATE ks.m SET m[1] = 10, m[2] = 20, l = l + [2], l = l + [3] WHERE k = 1").await;
    let r = rows(&mut c, "SELECT m, l FROM ks.m WHERE k = 1").await;
    let row = r.iter().next().unwrap();
    // map<int, int> {0: 0, 1: 10, 2: 20}: [int n] then n pairs of [bytes] key and value.
    let mut map = vec![0, 0, 0, 3];
    for (k, v) in [(0i32, 0i32), (1, 10), (2, 20)] {
        map.extend_from_slice(&[0, 0, 0, 4]);
        map.extend_from_slice(&k.to_be_bytes());
        map.extend_from_slice(&[0, 0, 0, 4]);
        map.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(row.cell(0).flatten(), Some(&map[..]), "both map entries set");
    let mut list = vec![0, 0, 0, 3];
    for x in [1i32, 2, 3] {
        list.extend_from_slice(&[0, 0, 0, 4]);
        list.extend_from_slice(&x.to_be_bytes());
    }
    assert_eq!(row.cell(1).flatten(), Some(&list[..]), "both appends, in order");
    // A plain assignment after a computed one wins, and the reverse builds on it.
    ok(&mut c, "UPDATE ks.m SET l = l + [4], l = [7] WHERE k = 1").await;
    ok(&mut c, "UPDATE ks.m SET m = {5: 5}, m[6] = 6 WHERE k = 1").await;
    let r = rows(&mut c, "SELECT l, m FROM ks.m WHERE k = 1").await;
    let row = r.iter().next().unwrap();
    assert_eq!(row.cell(0).flatten(), Some(&[0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7][..]));
    let m = row.cell(1).flatten().unwrap();
    assert_eq!(&m[..4], &[0, 0, 0, 2], "{m:?}");
}

#[tokio::test]
async fn errors_are_the_ones_cassandra_gives() {
    let node = TestNode::builder().start().await.unwrap();
    let mut c = ready(&node, Version::V4).await;
    assert_eq!(error(&mut c, "SELEKT * FROM t").await.0, ErrorKind::SyntaxError);
    let (kind, msg) = error(&mut c, "SELECT * FROM t").await;
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(msg.contains("No keyspace has been specified"), "{msg}");
    ok(&mut c, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    assert!(matches!(
        error(&mut c, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
            .await
            .0,
        ErrorKind::AlreadyExists { .. }
    ));
    ok(&mut c, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)").await;
    let (kind, _) = error(&mut c, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)").await;
    assert_eq!(kind, ErrorKind::AlreadyExists { keyspace: "ks".into(), table: "t".into() });
    assert_eq!(error(&mut c, "SELECT * FROM ks.nope").await.0, ErrorKind::Invalid);
    assert_eq!(error(&mut c, "INSERT INTO ks.t (k, v) VALUES ('text', 1)").await.0, ErrorKind::Invalid);
    let (kind, msg) = error(&mut c, "INSERT INTO ks.t (v) VALUES (1)").await;
    assert_eq!((kind, msg.as_str()), (ErrorKind::Invalid, "Some partition key parts are missing: k"));
    ok(&mut c, "CREATE TABLE ks.c (k int, c int, v int, PRIMARY KEY (k, c))").await;
    let (_, msg) = error(&mut c, "UPDATE ks.c SET v = 1 WHERE k = 1").await;
    assert_eq!(msg, "Some clustering keys are missing: c");
    let (kind, msg) = error(&mut c, "SELECT * FROM ks.t WHERE v = 1").await;
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(msg.contains("ALLOW FILTERING"), "{msg}");
    let unknown = Execute {
        id: Bytes::from_static(b"nope"),
        result_metadata_id: None,
        params: QueryParameters::new(Consistency::One),
    };
    let r = c.request(Request::Execute(unknown)).await;
    assert!(matches!(r, Response::Error(e) if matches!(e.kind, ErrorKind::Unprepared { .. })));
}

async fn paged_scan(c: &mut Client, prepared: Option<&Prepared>, page_size: i32) -> (usize, Vec<i32>) {
    let mut pages = 0;
    let mut seen = Vec::new();
    let mut state: Option<Bytes> = None;
    loop {
        let mut params = QueryParameters::new(Consistency::One).with_page_size(page_size);
        params.paging_state = state.clone();
        let request = match prepared {
            Some(p) => {
                Request::Execute(Execute { id: p.id.clone(), result_metadata_id: p.result_metadata_id.clone(), params })
            }
            None => Request::Query(Query::new("SELECT pk, ck, v FROM ks.big", params)),
        };
        let Response::Result(ResultBody::Rows(r)) = c.request(request).await else { panic!("not rows") };
        pages += 1;
        for row in r.iter() {
            let pk = int(row.cell(0).flatten());
            let ck = int(row.cell(1).flatten());
            seen.push(pk * 100 + ck);
        }
        state = r.metadata().paging_state.clone();
        if state.is_none() {
            return (pages, seen);
        }
    }
}

#[tokio::test]
async fn paging_matches_cassandra_including_the_empty_last_page() {
    let node = TestNode::builder().start().await.unwrap();
    for version in [Version::V4, Version::V5] {
        let mut c = ready(&node, version).await;
        ok(
            &mut c,
            "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        )
        .await;
        ok(&mut c, "CREATE TABLE IF NOT EXISTS ks.big (pk int, ck int, v blob, PRIMARY KEY (pk, ck))").await;
        let Response::Result(ResultBody::Prepared(insert)) =
            c.request(Request::Prepare(Prepare::new("INSERT INTO ks.big (pk, ck, v) VALUES (?, ?, ?)"))).await
        else {
            panic!("prepare failed")
        };
        assert_eq!(insert.metadata.pk_indexes, vec![0]);
        assert_eq!(insert.metadata.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["pk", "ck", "v"]);
        if version == Version::V4 {
            // 20,000 rows through a BATCH of prepared inserts every 500 rows.
            for chunk in 0..40 {
                let statements = (0..500)
                    .map(|j| {
                        let i: i32 = chunk * 500 + j;
                        BatchStatement {
                            kind: BatchStatementKind::Prepared(insert.id.clone()),
                            values: Values::positional([
                                Value::Bytes(Bytes::copy_from_slice(&(i / 100).to_be_bytes())),
                                Value::Bytes(Bytes::copy_from_slice(&(i % 100).to_be_bytes())),
                                Value::Bytes(Bytes::copy_from_slice(&(i as u64).to_be_bytes())),
                            ])
                            .unwrap(),
                        }
                    })
                    .collect();
                let r = c.request(Request::Batch(Batch { statements, ..Default::default() })).await;
                assert_eq!(r, Response::Result(ResultBody::Void));
            }
        }
        let (pages, mut seen) = paged_scan(&mut c, None, 1000).await;
        assert_eq!(pages, 21, "20,000 rows at 1,000 a page end with an empty 21st page");
        assert_eq!(seen.len(), 20_000);
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 20_000, "every row exactly once");
        let (pages, seen) = paged_scan(&mut c, None, 3000).await;
        assert_eq!((pages, seen.len()), (7, 20_000));
        let Response::Result(ResultBody::Prepared(select)) =
            c.request(Request::Prepare(Prepare::new("SELECT pk, ck, v FROM ks.big"))).await
        else {
            panic!("prepare failed")
        };
        assert_eq!(select.result_metadata.columns.as_ref().unwrap().len(), 3);
        let (pages, seen) = paged_scan(&mut c, Some(&select), 7000).await;
        assert_eq!((pages, seen.len()), (3, 20_000));
        let stats = node.stats().pages("SELECT pk, ck, v FROM ks.big");
        assert!(stats.len() >= 21 && stats[20] >= 1, "per-page counters: {stats:?}");
    }
}

#[tokio::test]
async fn system_tables_describe_the_node_and_schema() {
    let node = TestNode::builder().start().await.unwrap();
    let mut c = ready(&node, Version::V5).await;
    let r = rows(&mut c, "SELECT * FROM system.local WHERE key='local'").await;
    assert_eq!(r.rows_count(), 1);
    let names: Vec<String> = r.metadata().columns.as_ref().unwrap().iter().map(|c| c.name.clone()).collect();
    for col in [
        "cluster_name",
        "data_center",
        "host_id",
        "partitioner",
        "release_version",
        "rpc_address",
        "schema_version",
        "tokens",
    ] {
        assert!(names.contains(&col.to_string()), "system.local lacks {col}");
    }
    assert_eq!(rows(&mut c, "SELECT * FROM system.peers").await.rows_count(), 0);
    ok(&mut c, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ok(&mut c, "CREATE TYPE ks.addr (street text, zip int)").await;
    ok(&mut c, "CREATE TABLE ks.t (k int, c int, a frozen<addr>, PRIMARY KEY (k, c))").await;
    let r = rows(&mut c, "SELECT keyspace_name, table_name, column_name, kind, type FROM system_schema.columns WHERE keyspace_name = 'ks'").await;
    assert_eq!(r.rows_count(), 3);
    assert_eq!(rows(&mut c, "SELECT * FROM system_schema.types WHERE keyspace_name = 'ks'").await.rows_count(), 1);
    assert_eq!(rows(&mut c, "SELECT * FROM system_schema.keyspaces").await.rows_count(), 3);
}

#[tokio::test]
async fn v5_execute_with_stale_result_metadata_gets_the_new_metadata() {
    let node = TestNode::builder().start().await.unwrap();
    let mut c = ready(&node, Version::V5).await;
    ok(&mut c, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await;
    ok(&mut c, "CREATE TABLE ks.t (k int PRIMARY KEY, a int)").await;
    let Response::Result(ResultBody::Prepared(p)) =
        c.request(Request::Prepare(Prepare::new("SELECT * FROM ks.t"))).await
    else {
        panic!("prepare failed")
    };
    let execute = |p: &Prepared, skip: bool| {
        let mut params = QueryParameters::new(Consistency::One);
        params.skip_metadata = skip;
        Request::Execute(Execute { id: p.id.clone(), result_metadata_id: p.result_metadata_id.clone(), params })
    };
    // Same metadata + skip_metadata: No_metadata comes back.
    let Response::Result(ResultBody::Rows(r)) = c.request(execute(&p, true)).await else { panic!("not rows") };
    assert!(r.metadata().columns.is_none() && r.metadata().new_metadata_id.is_none());
    // The table changes shape: the same EXECUTE now reports Metadata_changed.
    ok(&mut c, "DROP TABLE ks.t").await;
    ok(&mut c, "CREATE TABLE ks.t (k int PRIMARY KEY, a int, b text)").await;
    let Response::Result(ResultBody::Rows(r)) = c.request(execute(&p, true)).await else { panic!("not rows") };
    let new_id = r.metadata().new_metadata_id.clone().expect("Metadata_changed with the new id");
    assert_ne!(Some(&new_id), p.result_metadata_id.as_ref());
    assert_eq!(r.metadata().columns.as_ref().unwrap().len(), 3);
}
