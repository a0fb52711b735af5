//! The system tables drivers read when they connect, generated on each read from the
//! cluster's topology and schema: `system.local`, `system.peers`, `system.peers_v2`,
//! and the `system_schema` / `system_virtual_schema` tables (the ones the test server
//! has no content for are empty but carry Cassandra's columns).
//!
//! The tables are data: [`SYSTEM_TABLES`] names each one, its columns, and how its
//! rows are produced (`rows`: one function per generated table). This module owns that
//! catalog, the lookup and turning rows into table data; reading the tables goes
//! through the normal SELECT path.

mod rows;

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

/// Rows of a generated table, each as `(column, value)` pairs.
type GeneratedRows = Vec<Vec<(&'static str, Option<CqlValue>)>>;

/// What a table's rows are generated from: the cluster, the node the client is
/// connected to, the schema, and the keyspace the table was asked for.
struct Source<'a> {
    cluster: &'a ClusterShared,
    node: usize,
    schema: &'a Schema,
    keyspace: &'a str,
}

/// A column type of a system table (a `ColumnType` cannot be built in a constant).
#[derive(Debug, Clone, Copy)]
enum Col {
    Text,
    Int,
    Inet,
    Uuid,
    Boolean,
    Double,
    Blob,
    Timestamp,
    /// `set<text>`
    SetText,
    /// `list<text>`
    ListText,
    /// `map<text, text>`
    MapText,
    /// `map<text, blob>`
    MapTextBlob,
    /// `map<uuid, blob>`
    MapUuidBlob,
}

impl Col {
    fn typ(self) -> ColumnType {
        use ColumnType as T;
        match self {
            Col::Text => T::Varchar,
            Col::Int => T::Int,
            Col::Inet => T::Inet,
            Col::Uuid => T::Uuid,
            Col::Boolean => T::Boolean,
            Col::Double => T::Double,
            Col::Blob => T::Blob,
            Col::Timestamp => T::Timestamp,
            Col::SetText => T::Set(Box::new(T::Varchar)),
            Col::ListText => T::List(Box::new(T::Varchar)),
            Col::MapText => T::Map(Box::new(T::Varchar), Box::new(T::Varchar)),
            Col::MapTextBlob => T::Map(Box::new(T::Varchar), Box::new(T::Blob)),
            Col::MapUuidBlob => T::Map(Box::new(T::Uuid), Box::new(T::Blob)),
        }
    }
}

/// Columns as `(name, type)`.
type Columns = &'static [(&'static str, Col)];

/// One system table of the catalog.
struct SystemTable {
    /// The keyspaces it appears in (the same definition in each).
    keyspaces: &'static [&'static str],
    name: &'static str,
    partition_key: Columns,
    clustering: Columns,
    /// The regular columns.
    columns: Columns,
    /// Only on clusters accepting this protocol version or later (`peers_v2` is
    /// Cassandra 4.0+'s, which a v4-only ScyllaDB-like cluster does not have).
    since: Option<Version>,
    /// Its rows; `None`: always empty.
    rows: Option<fn(&Source<'_>) -> GeneratedRows>,
}

use Col::*;

/// Every system table the test server answers for.
static SYSTEM_TABLES: &[SystemTable] = &[
    SystemTable {
        keyspaces: &["system"],
        name: "local",
        partition_key: &[("key", Text)],
        clustering: &[],
        columns: &[
            ("bootstrapped", Text),
            ("broadcast_address", Inet),
            ("broadcast_port", Int),
            ("cluster_name", Text),
            ("cql_version", Text),
            ("data_center", Text),
            ("gossip_generation", Int),
            ("host_id", Uuid),
            ("listen_address", Inet),
            ("listen_port", Int),
            ("native_protocol_version", Text),
            ("partitioner", Text),
            ("rack", Text),
            ("release_version", Text),
            ("rpc_address", Inet),
            ("rpc_port", Int),
            ("schema_version", Uuid),
            ("tokens", SetText),
            ("truncated_at", MapUuidBlob),
        ],
        since: None,
        rows: Some(rows::local),
    },
    SystemTable {
        keyspaces: &["system"],
        name: "peers",
        partition_key: &[("peer", Inet)],
        clustering: &[],
        columns: &[
            ("data_center", Text),
            ("host_id", Uuid),
            ("preferred_ip", Inet),
            ("rack", Text),
            ("release_version", Text),
            ("rpc_address", Inet),
            ("schema_version", Uuid),
            ("tokens", SetText),
        ],
        since: None,
        rows: Some(rows::peers_v1),
    },
    SystemTable {
        keyspaces: &["system"],
        name: "peers_v2",
        partition_key: &[("peer", Inet)],
        clustering: &[("peer_port", Int)],
        columns: &[
            ("data_center", Text),
            ("host_id", Uuid),
            ("native_address", Inet),
            ("native_port", Int),
            ("preferred_ip", Inet),
            ("preferred_port", Int),
            ("rack", Text),
            ("release_version", Text),
            ("schema_version", Uuid),
            ("tokens", SetText),
        ],
        since: Some(Version::V5),
        rows: Some(rows::peers_v2),
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "keyspaces",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[],
        columns: &[("durable_writes", Boolean), ("replication", MapText)],
        since: None,
        rows: Some(rows::keyspaces),
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "tables",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("table_name", Text)],
        columns: &[
            ("additional_write_policy", Text),
            ("bloom_filter_fp_chance", Double),
            ("caching", MapText),
            ("cdc", Boolean),
            ("comment", Text),
            ("compaction", MapText),
            ("compression", MapText),
            ("crc_check_chance", Double),
            ("default_time_to_live", Int),
            ("extensions", MapTextBlob),
            ("flags", SetText),
            ("gc_grace_seconds", Int),
            ("id", Uuid),
            ("max_index_interval", Int),
            ("memtable_flush_period_in_ms", Int),
            ("min_index_interval", Int),
            ("read_repair", Text),
            ("speculative_retry", Text),
        ],
        since: None,
        rows: Some(rows::tables),
    },
    SystemTable {
        keyspaces: &["system_schema", "system_virtual_schema"],
        name: "columns",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("table_name", Text), ("column_name", Text)],
        columns: &[
            ("clustering_order", Text),
            ("column_name_bytes", Blob),
            ("kind", Text),
            ("position", Int),
            ("type", Text),
        ],
        since: None,
        rows: Some(rows::columns),
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "types",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("type_name", Text)],
        columns: &[("field_names", ListText), ("field_types", ListText)],
        since: None,
        rows: Some(rows::types),
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "functions",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("function_name", Text), ("argument_types", ListText)],
        columns: &[
            ("argument_names", ListText),
            ("body", Text),
            ("called_on_null_input", Boolean),
            ("language", Text),
            ("return_type", Text),
        ],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "aggregates",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("aggregate_name", Text), ("argument_types", ListText)],
        columns: &[
            ("final_func", Text),
            ("initcond", Text),
            ("return_type", Text),
            ("state_func", Text),
            ("state_type", Text),
        ],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "triggers",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("table_name", Text), ("trigger_name", Text)],
        columns: &[("options", MapText)],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "indexes",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("table_name", Text), ("index_name", Text)],
        columns: &[("kind", Text), ("options", MapText)],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "views",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("view_name", Text)],
        columns: &[
            ("base_table_id", Uuid),
            ("base_table_name", Text),
            ("bloom_filter_fp_chance", Double),
            ("caching", MapText),
            ("comment", Text),
            ("compaction", MapText),
            ("compression", MapText),
            ("crc_check_chance", Double),
            ("default_time_to_live", Int),
            ("extensions", MapTextBlob),
            ("gc_grace_seconds", Int),
            ("id", Uuid),
            ("include_all_columns", Boolean),
            ("max_index_interval", Int),
            ("memtable_flush_period_in_ms", Int),
            ("min_index_interval", Int),
            ("read_repair", Text),
            ("speculative_retry", Text),
            ("where_clause", Text),
        ],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_schema"],
        name: "dropped_columns",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("table_name", Text), ("column_name", Text)],
        columns: &[("dropped_time", Timestamp), ("kind", Text), ("type", Text)],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_virtual_schema"],
        name: "keyspaces",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[],
        columns: &[],
        since: None,
        rows: None,
    },
    SystemTable {
        keyspaces: &["system_virtual_schema"],
        name: "tables",
        partition_key: &[("keyspace_name", Text)],
        clustering: &[("table_name", Text)],
        columns: &[("comment", Text)],
        since: None,
        rows: None,
    },
];

impl SystemTable {
    /// The catalog entry for `keyspace.name` on a cluster accepting up to `max`.
    fn find(keyspace: &str, name: &str, max: Version) -> Option<&'static SystemTable> {
        SYSTEM_TABLES
            .iter()
            .find(|t| t.name == name && t.keyspaces.contains(&keyspace) && t.since.is_none_or(|v| max >= v))
    }

    /// Its definition, in `keyspace`.
    fn schema(&self, keyspace: &str) -> TableSchema {
        let typed = |cols: Columns| cols.iter().map(|&(n, c)| (n, c.typ())).collect::<Vec<_>>();
        fixed_table(keyspace, self.name, &typed(self.partition_key), &typed(self.clustering), &typed(self.columns))
    }
}

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
    let entry = SystemTable::find(keyspace, name, cluster.max_protocol)
        .ok_or_else(|| ExecError::invalid(format!("table {name} does not exist")))?;
    let t = entry.schema(keyspace);
    let source = Source { cluster, node, schema, keyspace };
    let rows = entry.rows.map(|rows| rows(&source)).unwrap_or_default();
    let data = fill(&t, rows)?;
    Ok((t, data))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_catalog_names_each_table_once_with_distinct_columns() {
        let mut seen = HashSet::new();
        for t in SYSTEM_TABLES {
            for ks in t.keyspaces {
                assert!(is_system(ks), "{ks}");
                assert!(seen.insert((*ks, t.name)), "{ks}.{} twice", t.name);
            }
            assert!(!t.partition_key.is_empty(), "{}", t.name);
            let mut names = HashSet::new();
            for (n, _) in t.partition_key.iter().chain(t.clustering).chain(t.columns) {
                assert!(names.insert(*n), "{}.{n} twice", t.name);
            }
            let schema = t.schema(t.keyspaces[0]);
            assert_eq!(schema.columns.len(), names.len());
        }
    }

    #[test]
    fn peers_v2_exists_from_v5_on_and_unknown_tables_do_not() {
        assert!(SystemTable::find("system", "peers_v2", Version::V5).is_some());
        assert!(SystemTable::find("system", "peers_v2", Version::V4).is_none());
        assert!(SystemTable::find("system", "peers", Version::V4).is_some());
        assert!(SystemTable::find("system_virtual_schema", "columns", Version::V4).is_some());
        assert!(SystemTable::find("system_virtual_schema", "types", Version::V5).is_none());
        assert!(SystemTable::find("system_auth", "roles", Version::V5).is_none());
    }
}
