//! The system tables drivers read when they connect, generated on each read from the
//! cluster's topology and schema: `system.local`, `system.peers`, `system.peers_v2`,
//! and the `system_schema` / `system_virtual_schema` tables (the ones the test server
//! has no content for are empty but carry Cassandra's columns).
//!
//! Owns the shape and content of those tables; reading them goes through the normal
//! SELECT path.

use std::net::IpAddr;

use bytes::{Bytes, BytesMut};

use super::ExecError;
use super::data::{ClusteringKey, PartitionKey, TableData, encode_row};
use super::schema::{Schema, TableSchema, fixed_table};
use crate::protocol::{ColumnType, Version};
use crate::testkit::node::ClusterShared;
use crate::types::CqlValue;

/// Keyspaces whose tables are generated, not stored.
pub(crate) const SYSTEM_KEYSPACES: [&str; 6] =
    ["system", "system_schema", "system_virtual_schema", "system_auth", "system_distributed", "system_traces"];

pub(crate) fn is_system(keyspace: &str) -> bool {
    SYSTEM_KEYSPACES.contains(&keyspace)
}

/// The release Cassandra version the cluster claims: a v5 cluster is Cassandra 5.0, a
/// v4-only one looks like ScyllaDB (which reports 3.0.8).
pub(crate) fn release_version(max: Version) -> &'static str {
    if max >= Version::V5 { "5.0.2" } else { "3.0.8" }
}

use ColumnType as T;

fn text() -> T {
    T::Varchar
}
fn set_text() -> T {
    T::Set(Box::new(T::Varchar))
}
fn list_text() -> T {
    T::List(Box::new(T::Varchar))
}
fn map_text() -> T {
    T::Map(Box::new(T::Varchar), Box::new(T::Varchar))
}

fn txt(s: impl Into<String>) -> Option<CqlValue> {
    Some(CqlValue::Text(s.into()))
}
fn inet(ip: IpAddr) -> Option<CqlValue> {
    Some(CqlValue::Inet(ip))
}
fn int(n: i32) -> Option<CqlValue> {
    Some(CqlValue::Int(n))
}
fn text_map(pairs: &[(&str, &str)]) -> Option<CqlValue> {
    let mut v =
        CqlValue::Map(pairs.iter().map(|(k, v)| (CqlValue::Text((*k).into()), CqlValue::Text((*v).into()))).collect());
    v.normalize();
    Some(v)
}
fn text_list<S: AsRef<str>>(items: &[S]) -> Option<CqlValue> {
    Some(CqlValue::List(items.iter().map(|s| CqlValue::Text(s.as_ref().into())).collect()))
}
fn tokens(ts: &[i64]) -> Option<CqlValue> {
    let mut v = CqlValue::Set(ts.iter().map(|t| CqlValue::Text(t.to_string())).collect());
    v.normalize();
    Some(v)
}

/// Rows of a generated table, each as `(column, value)` pairs.
type GeneratedRows = Vec<Vec<(&'static str, Option<CqlValue>)>>;

/// Fills a generated table from rows given as `(column, value)` pairs.
fn fill(t: &TableSchema, rows: GeneratedRows) -> Result<TableData, ExecError> {
    let mut data = TableData::default();
    for row in rows {
        let mut cells: Vec<Option<Bytes>> = vec![None; t.columns.len()];
        for (name, value) in row {
            let i = t
                .column(name)
                .ok_or_else(|| ExecError::server(format!("system table {} has no column {name}", t.name)))?;
            if let Some(v) = value {
                let mut b = BytesMut::new();
                v.encode(&t.columns[i].typ, &mut b)
                    .map_err(|e| ExecError::server(format!("{}.{name}: {e}", t.name)))?;
                cells[i] = Some(b.freeze());
            }
        }
        let pk: Vec<&[u8]> = t.partition_key.iter().map(|&i| cells[i].as_deref().unwrap_or_default()).collect();
        let pkey = PartitionKey::new(&pk);
        let ck = t
            .clustering
            .iter()
            .map(|&i| {
                CqlValue::decode(&t.columns[i].typ, cells[i].as_deref().unwrap_or_default())
                    .map_err(|e| ExecError::server(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ckey = ClusteringKey { values: ck, desc: t.clustering_desc.clone() };
        data.entry(&pkey).rows.insert(ckey, encode_row(cells.iter().map(|c| c.as_deref())));
    }
    Ok(data)
}

/// A generated system table: its definition and current rows.
pub(crate) fn table(
    cluster: &ClusterShared,
    node: usize,
    schema: &Schema,
    keyspace: &str,
    name: &str,
) -> Result<(TableSchema, TableData), ExecError> {
    let me = &cluster.nodes[node].info;
    let release = release_version(cluster.max_protocol);
    let unconfigured = || ExecError::invalid(format!("table {name} does not exist"));
    let (t, rows): (TableSchema, GeneratedRows) = match (keyspace, name) {
        ("system", "local") => {
            let t = fixed_table(
                "system",
                "local",
                &[("key", text())],
                &[],
                &[
                    ("bootstrapped", text()),
                    ("broadcast_address", T::Inet),
                    ("broadcast_port", T::Int),
                    ("cluster_name", text()),
                    ("cql_version", text()),
                    ("data_center", text()),
                    ("gossip_generation", T::Int),
                    ("host_id", T::Uuid),
                    ("listen_address", T::Inet),
                    ("listen_port", T::Int),
                    ("native_protocol_version", text()),
                    ("partitioner", text()),
                    ("rack", text()),
                    ("release_version", text()),
                    ("rpc_address", T::Inet),
                    ("rpc_port", T::Int),
                    ("schema_version", T::Uuid),
                    ("tokens", set_text()),
                    ("truncated_at", T::Map(Box::new(T::Uuid), Box::new(T::Blob))),
                ],
            );
            let row = vec![
                ("key", txt("local")),
                ("bootstrapped", txt("COMPLETED")),
                ("broadcast_address", inet(me.addr.ip())),
                ("broadcast_port", int(7000)),
                ("cluster_name", txt(cluster.name.clone())),
                ("cql_version", txt("3.4.7")),
                ("data_center", txt(me.datacenter.clone())),
                ("gossip_generation", int(1_700_000_000)),
                ("host_id", Some(CqlValue::Uuid(me.host_id))),
                ("listen_address", inet(me.addr.ip())),
                ("listen_port", int(7000)),
                ("native_protocol_version", txt(cluster.max_protocol.as_u8().to_string())),
                ("partitioner", txt("org.apache.cassandra.dht.Murmur3Partitioner")),
                ("rack", txt(me.rack.clone())),
                ("release_version", txt(release)),
                ("rpc_address", inet(me.addr.ip())),
                ("rpc_port", int(i32::from(me.addr.port()))),
                ("schema_version", Some(CqlValue::Uuid(schema.version))),
                ("tokens", tokens(&me.tokens)),
            ];
            (t, vec![row])
        }
        ("system", "peers") => {
            let t = fixed_table(
                "system",
                "peers",
                &[("peer", T::Inet)],
                &[],
                &[
                    ("data_center", text()),
                    ("host_id", T::Uuid),
                    ("preferred_ip", T::Inet),
                    ("rack", text()),
                    ("release_version", text()),
                    ("rpc_address", T::Inet),
                    ("schema_version", T::Uuid),
                    ("tokens", set_text()),
                ],
            );
            let rows = cluster
                .nodes
                .iter()
                .filter(|n| n.index != node && !n.is_removed())
                .map(|n| {
                    vec![
                        ("peer", inet(n.info.addr.ip())),
                        ("data_center", txt(n.info.datacenter.clone())),
                        ("host_id", Some(CqlValue::Uuid(n.info.host_id))),
                        ("rack", txt(n.info.rack.clone())),
                        ("release_version", txt(release)),
                        ("rpc_address", inet(n.info.addr.ip())),
                        ("schema_version", Some(CqlValue::Uuid(schema.version))),
                        ("tokens", tokens(&n.info.tokens)),
                    ]
                })
                .collect();
            (t, rows)
        }
        ("system", "peers_v2") if cluster.max_protocol >= Version::V5 => {
            let t = fixed_table(
                "system",
                "peers_v2",
                &[("peer", T::Inet)],
                &[("peer_port", T::Int)],
                &[
                    ("data_center", text()),
                    ("host_id", T::Uuid),
                    ("native_address", T::Inet),
                    ("native_port", T::Int),
                    ("preferred_ip", T::Inet),
                    ("preferred_port", T::Int),
                    ("rack", text()),
                    ("release_version", text()),
                    ("schema_version", T::Uuid),
                    ("tokens", set_text()),
                ],
            );
            let rows = cluster
                .nodes
                .iter()
                .filter(|n| n.index != node && !n.is_removed())
                .map(|n| {
                    vec![
                        ("peer", inet(n.info.addr.ip())),
                        ("peer_port", int(7000)),
                        ("data_center", txt(n.info.datacenter.clone())),
                        ("host_id", Some(CqlValue::Uuid(n.info.host_id))),
                        ("native_address", inet(n.info.addr.ip())),
                        ("native_port", int(i32::from(n.info.addr.port()))),
                        ("rack", txt(n.info.rack.clone())),
                        ("release_version", txt(release)),
                        ("schema_version", Some(CqlValue::Uuid(schema.version))),
                        ("tokens", tokens(&n.info.tokens)),
                    ]
                })
                .collect();
            (t, rows)
        }
        ("system_schema", "keyspaces") => {
            let t = fixed_table(
                "system_schema",
                "keyspaces",
                &[("keyspace_name", text())],
                &[],
                &[("durable_writes", T::Boolean), ("replication", map_text())],
            );
            let mut rows: Vec<Vec<(&str, Option<CqlValue>)>> = ["system", "system_schema"]
                .iter()
                .map(|k| {
                    vec![
                        ("keyspace_name", txt(*k)),
                        ("durable_writes", Some(CqlValue::Boolean(true))),
                        ("replication", text_map(&[("class", "org.apache.cassandra.locator.LocalStrategy")])),
                    ]
                })
                .collect();
            for ks in schema.keyspaces.values() {
                let repl: Vec<(&str, &str)> = ks.replication.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                rows.push(vec![
                    ("keyspace_name", txt(ks.name.clone())),
                    ("durable_writes", Some(CqlValue::Boolean(ks.durable_writes))),
                    ("replication", text_map(&repl)),
                ]);
            }
            (t, rows)
        }
        ("system_schema", "tables") => {
            let t = fixed_table(
                "system_schema",
                "tables",
                &[("keyspace_name", text())],
                &[("table_name", text())],
                &[
                    ("additional_write_policy", text()),
                    ("bloom_filter_fp_chance", T::Double),
                    ("caching", map_text()),
                    ("cdc", T::Boolean),
                    ("comment", text()),
                    ("compaction", map_text()),
                    ("compression", map_text()),
                    ("crc_check_chance", T::Double),
                    ("default_time_to_live", T::Int),
                    ("extensions", T::Map(Box::new(T::Varchar), Box::new(T::Blob))),
                    ("flags", set_text()),
                    ("gc_grace_seconds", T::Int),
                    ("id", T::Uuid),
                    ("max_index_interval", T::Int),
                    ("memtable_flush_period_in_ms", T::Int),
                    ("min_index_interval", T::Int),
                    ("read_repair", text()),
                    ("speculative_retry", text()),
                ],
            );
            let mut rows = Vec::new();
            for ks in schema.keyspaces.values() {
                for table in ks.tables.values() {
                    let s = &table.schema;
                    let flags = if s.is_counter { vec!["compound", "counter"] } else { vec!["compound"] };
                    let mut flags = CqlValue::Set(flags.into_iter().map(|f| CqlValue::Text(f.into())).collect());
                    flags.normalize();
                    rows.push(vec![
                        ("keyspace_name", txt(s.keyspace.clone())),
                        ("table_name", txt(s.name.clone())),
                        ("additional_write_policy", txt("99p")),
                        ("bloom_filter_fp_chance", Some(CqlValue::Double(0.01))),
                        ("caching", text_map(&[("keys", "ALL"), ("rows_per_partition", "NONE")])),
                        ("cdc", Some(CqlValue::Boolean(false))),
                        ("comment", txt("")),
                        (
                            "compaction",
                            text_map(&[
                                ("class", "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"),
                                ("max_threshold", "32"),
                                ("min_threshold", "4"),
                            ]),
                        ),
                        (
                            "compression",
                            text_map(&[
                                ("chunk_length_in_kb", "16"),
                                ("class", "org.apache.cassandra.io.compress.LZ4Compressor"),
                            ]),
                        ),
                        ("crc_check_chance", Some(CqlValue::Double(1.0))),
                        ("default_time_to_live", int(0)),
                        ("extensions", Some(CqlValue::Map(Vec::new()))),
                        ("flags", Some(flags)),
                        ("gc_grace_seconds", int(864_000)),
                        ("id", Some(CqlValue::Uuid(s.id))),
                        ("max_index_interval", int(2048)),
                        ("memtable_flush_period_in_ms", int(0)),
                        ("min_index_interval", int(128)),
                        ("read_repair", txt("BLOCKING")),
                        ("speculative_retry", txt("99p")),
                    ]);
                }
            }
            (t, rows)
        }
        ("system_schema" | "system_virtual_schema", "columns") => {
            let t = fixed_table(
                keyspace,
                "columns",
                &[("keyspace_name", text())],
                &[("table_name", text()), ("column_name", text())],
                &[
                    ("clustering_order", text()),
                    ("column_name_bytes", T::Blob),
                    ("kind", text()),
                    ("position", T::Int),
                    ("type", text()),
                ],
            );
            let mut rows = Vec::new();
            if keyspace == "system_schema" {
                for ks in schema.keyspaces.values() {
                    for table in ks.tables.values() {
                        let s = &table.schema;
                        for c in &s.columns {
                            let order = match c.kind {
                                super::schema::ColumnKind::Clustering if c.desc => "desc",
                                super::schema::ColumnKind::Clustering => "asc",
                                _ => "none",
                            };
                            rows.push(vec![
                                ("keyspace_name", txt(s.keyspace.clone())),
                                ("table_name", txt(s.name.clone())),
                                ("column_name", txt(c.name.clone())),
                                ("clustering_order", txt(order)),
                                ("column_name_bytes", Some(CqlValue::Blob(Bytes::copy_from_slice(c.name.as_bytes())))),
                                ("kind", txt(c.kind.as_str())),
                                ("position", int(c.position)),
                                ("type", txt(c.cql_type.clone())),
                            ]);
                        }
                    }
                }
            }
            (t, rows)
        }
        ("system_schema", "types") => {
            let t = fixed_table(
                "system_schema",
                "types",
                &[("keyspace_name", text())],
                &[("type_name", text())],
                &[("field_names", list_text()), ("field_types", list_text())],
            );
            let mut rows = Vec::new();
            for ks in schema.keyspaces.values() {
                for udt in ks.types.values() {
                    let names: Vec<&str> = udt.fields.iter().map(|(n, _)| n.as_str()).collect();
                    let types: Vec<String> = udt.fields.iter().map(|(_, t)| super::schema::cql_type_text(t)).collect();
                    rows.push(vec![
                        ("keyspace_name", txt(ks.name.clone())),
                        ("type_name", txt(udt.name.clone())),
                        ("field_names", text_list(&names)),
                        ("field_types", text_list(&types)),
                    ]);
                }
            }
            (t, rows)
        }
        ("system_schema", "functions") => (
            fixed_table(
                "system_schema",
                "functions",
                &[("keyspace_name", text())],
                &[("function_name", text()), ("argument_types", list_text())],
                &[
                    ("argument_names", list_text()),
                    ("body", text()),
                    ("called_on_null_input", T::Boolean),
                    ("language", text()),
                    ("return_type", text()),
                ],
            ),
            Vec::new(),
        ),
        ("system_schema", "aggregates") => (
            fixed_table(
                "system_schema",
                "aggregates",
                &[("keyspace_name", text())],
                &[("aggregate_name", text()), ("argument_types", list_text())],
                &[
                    ("final_func", text()),
                    ("initcond", text()),
                    ("return_type", text()),
                    ("state_func", text()),
                    ("state_type", text()),
                ],
            ),
            Vec::new(),
        ),
        ("system_schema", "triggers") => (
            fixed_table(
                "system_schema",
                "triggers",
                &[("keyspace_name", text())],
                &[("table_name", text()), ("trigger_name", text())],
                &[("options", map_text())],
            ),
            Vec::new(),
        ),
        ("system_schema", "indexes") => (
            fixed_table(
                "system_schema",
                "indexes",
                &[("keyspace_name", text())],
                &[("table_name", text()), ("index_name", text())],
                &[("kind", text()), ("options", map_text())],
            ),
            Vec::new(),
        ),
        ("system_schema", "views") => (
            fixed_table(
                "system_schema",
                "views",
                &[("keyspace_name", text())],
                &[("view_name", text())],
                &[
                    ("base_table_id", T::Uuid),
                    ("base_table_name", text()),
                    ("bloom_filter_fp_chance", T::Double),
                    ("caching", map_text()),
                    ("comment", text()),
                    ("compaction", map_text()),
                    ("compression", map_text()),
                    ("crc_check_chance", T::Double),
                    ("default_time_to_live", T::Int),
                    ("extensions", T::Map(Box::new(T::Varchar), Box::new(T::Blob))),
                    ("gc_grace_seconds", T::Int),
                    ("id", T::Uuid),
                    ("include_all_columns", T::Boolean),
                    ("max_index_interval", T::Int),
                    ("memtable_flush_period_in_ms", T::Int),
                    ("min_index_interval", T::Int),
                    ("read_repair", text()),
                    ("speculative_retry", text()),
                    ("where_clause", text()),
                ],
            ),
            Vec::new(),
        ),
        ("system_schema", "dropped_columns") => (
            fixed_table(
                "system_schema",
                "dropped_columns",
                &[("keyspace_name", text())],
                &[("table_name", text()), ("column_name", text())],
                &[("dropped_time", T::Timestamp), ("kind", text()), ("type", text())],
            ),
            Vec::new(),
        ),
        ("system_virtual_schema", "keyspaces") => {
            (fixed_table(keyspace, "keyspaces", &[("keyspace_name", text())], &[], &[]), Vec::new())
        }
        ("system_virtual_schema", "tables") => (
            fixed_table(
                keyspace,
                "tables",
                &[("keyspace_name", text())],
                &[("table_name", text())],
                &[("comment", text())],
            ),
            Vec::new(),
        ),
        _ => return Err(unconfigured()),
    };
    let data = fill(&t, rows)?;
    Ok((t, data))
}
