//! How the generated system tables' rows are produced: `system.local`, `system.peers`,
//! `system.peers_v2` from the cluster's topology, and the `system_schema` tables
//! describing keyspaces, tables, columns and user types from the schema.
//!
//! Owns the rows' content only; the tables' columns are the catalog's
//! ([`super::SYSTEM_TABLES`]), and encoding the rows is [`super::fill`]'s.

use std::net::IpAddr;

use bytes::Bytes;

use super::{GeneratedRows, Source, release_version};
use crate::testkit::engine::schema::{ColumnKind, cql_type_text};
use crate::testkit::node::NodeShared;
use crate::types::CqlValue;

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

/// The other nodes of the cluster that are still members (not decommissioned).
fn peers<'a>(src: &'a Source<'_>) -> impl Iterator<Item = &'a NodeShared> {
    src.cluster.nodes.iter().filter(|n| n.index != src.node && !n.is_removed()).map(|n| &**n)
}

/// `system.local`: the node the client is connected to.
pub(super) fn local(src: &Source<'_>) -> GeneratedRows {
    let cluster = src.cluster;
    let me = &cluster.nodes[src.node].info;
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
        ("release_version", txt(release_version(cluster.max_protocol))),
        ("rpc_address", inet(me.addr.ip())),
        ("rpc_port", int(i32::from(me.addr.port()))),
        ("schema_version", Some(CqlValue::Uuid(src.schema.version))),
        ("tokens", tokens(&me.tokens)),
    ];
    vec![row]
}

/// `system.peers`: every other member node.
pub(super) fn peers_v1(src: &Source<'_>) -> GeneratedRows {
    let release = release_version(src.cluster.max_protocol);
    peers(src)
        .map(|n| {
            vec![
                ("peer", inet(n.info.addr.ip())),
                ("data_center", txt(n.info.datacenter.clone())),
                ("host_id", Some(CqlValue::Uuid(n.info.host_id))),
                ("rack", txt(n.info.rack.clone())),
                ("release_version", txt(release)),
                ("rpc_address", inet(n.info.addr.ip())),
                ("schema_version", Some(CqlValue::Uuid(src.schema.version))),
                ("tokens", tokens(&n.info.tokens)),
            ]
        })
        .collect()
}

/// `system.peers_v2` (Cassandra 4.0+): every other member node, with ports.
pub(super) fn peers_v2(src: &Source<'_>) -> GeneratedRows {
    let release = release_version(src.cluster.max_protocol);
    peers(src)
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
                ("schema_version", Some(CqlValue::Uuid(src.schema.version))),
                ("tokens", tokens(&n.info.tokens)),
            ]
        })
        .collect()
}

/// `system_schema.keyspaces`: `system` and `system_schema`, then the user keyspaces.
pub(super) fn keyspaces(src: &Source<'_>) -> GeneratedRows {
    let mut rows: GeneratedRows = ["system", "system_schema"]
        .iter()
        .map(|k| {
            vec![
                ("keyspace_name", txt(*k)),
                ("durable_writes", Some(CqlValue::Boolean(true))),
                ("replication", text_map(&[("class", "org.apache.cassandra.locator.LocalStrategy")])),
            ]
        })
        .collect();
    for ks in src.schema.keyspaces.values() {
        let repl: Vec<(&str, &str)> = ks.replication.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        rows.push(vec![
            ("keyspace_name", txt(ks.name.clone())),
            ("durable_writes", Some(CqlValue::Boolean(ks.durable_writes))),
            ("replication", text_map(&repl)),
        ]);
    }
    rows
}

/// `system_schema.tables`: every user table, with Cassandra's default options.
pub(super) fn tables(src: &Source<'_>) -> GeneratedRows {
    let mut rows = Vec::new();
    for ks in src.schema.keyspaces.values() {
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
    rows
}

/// `system_schema.columns`: every column of every user table. The same table in
/// `system_virtual_schema` is empty (the test server has no virtual tables).
pub(super) fn columns(src: &Source<'_>) -> GeneratedRows {
    let mut rows = Vec::new();
    if src.keyspace != "system_schema" {
        return rows;
    }
    for ks in src.schema.keyspaces.values() {
        for table in ks.tables.values() {
            let s = &table.schema;
            for c in &s.columns {
                let order = match c.kind {
                    ColumnKind::Clustering if c.desc => "desc",
                    ColumnKind::Clustering => "asc",
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
    rows
}

/// `system_schema.types`: every user type, its fields' names and types as CQL text.
pub(super) fn types(src: &Source<'_>) -> GeneratedRows {
    let mut rows = Vec::new();
    for ks in src.schema.keyspaces.values() {
        for udt in ks.types.values() {
            let names: Vec<&str> = udt.fields.iter().map(|(n, _)| n.as_str()).collect();
            let types: Vec<String> = udt.fields.iter().map(|(_, t)| cql_type_text(t)).collect();
            rows.push(vec![
                ("keyspace_name", txt(ks.name.clone())),
                ("type_name", txt(udt.name.clone())),
                ("field_names", text_list(&names)),
                ("field_types", text_list(&types)),
            ]);
        }
    }
    rows
}
