//! The test server's schema: keyspaces, user types and tables, built from CQL DDL,
//! with column types resolved from their CQL spelling to protocol [`ColumnType`]s.
//!
//! Owns schema objects and their invariants (primary key shape, type resolution,
//! column order). Table contents live in [`super::data`].

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use super::ExecError;
use super::data::TableData;
use crate::protocol::column_type::{ColumnType, UdtType};
use crate::testkit::cql::{CqlType, CreateTable, Order};

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    PartitionKey,
    Clustering,
    Static,
    Regular,
}

impl ColumnKind {
    /// The name `system_schema.columns.kind` uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ColumnKind::PartitionKey => "partition_key",
            ColumnKind::Clustering => "clustering",
            ColumnKind::Static => "static",
            ColumnKind::Regular => "regular",
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) typ: ColumnType,
    /// The CQL spelling for `system_schema.columns.type`.
    pub(crate) cql_type: String,
    pub(crate) kind: ColumnKind,
    /// Position within the partition key or clustering key; -1 otherwise.
    pub(crate) position: i32,
    /// Clustering order (clustering columns only).
    pub(crate) desc: bool,
}

/// A table's definition. Columns are in `SELECT *` order: partition key, clustering
/// key, then static and regular columns by name.
#[derive(Debug)]
pub(crate) struct TableSchema {
    pub(crate) keyspace: String,
    pub(crate) name: String,
    pub(crate) id: Uuid,
    pub(crate) columns: Vec<Column>,
    pub(crate) partition_key: Vec<usize>,
    pub(crate) clustering: Vec<usize>,
    pub(crate) clustering_desc: Arc<[bool]>,
    pub(crate) has_statics: bool,
    pub(crate) is_counter: bool,
}

impl TableSchema {
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub(crate) fn column_or_err(&self, name: &str) -> Result<usize, ExecError> {
        self.column(name).ok_or_else(|| {
            ExecError::invalid(format!("Undefined column name {name} in table {}.{}", self.keyspace, self.name))
        })
    }

    pub(crate) fn is_key(&self, i: usize) -> bool {
        matches!(self.columns[i].kind, ColumnKind::PartitionKey | ColumnKind::Clustering)
    }
}

/// A table: definition and contents.
#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) schema: Arc<TableSchema>,
    pub(crate) data: RwLock<TableData>,
}

/// A user-defined type.
#[derive(Debug, Clone)]
pub(crate) struct UserType {
    pub(crate) name: String,
    pub(crate) fields: Vec<(String, CqlType)>,
    pub(crate) resolved: UdtType,
}

/// A keyspace.
#[derive(Debug, Clone)]
pub(crate) struct Keyspace {
    pub(crate) name: String,
    pub(crate) replication: Vec<(String, String)>,
    pub(crate) durable_writes: bool,
    pub(crate) tables: BTreeMap<String, Arc<Table>>,
    pub(crate) types: BTreeMap<String, UserType>,
}

/// All user keyspaces; the `system*` keyspaces are generated on the fly.
#[derive(Debug)]
pub(crate) struct Schema {
    pub(crate) keyspaces: BTreeMap<String, Keyspace>,
    pub(crate) version: Uuid,
    changes: u64,
}

impl Default for Schema {
    fn default() -> Self {
        Schema { keyspaces: BTreeMap::new(), version: schema_version(0), changes: 0 }
    }
}

fn schema_version(n: u64) -> Uuid {
    Uuid::from_u64_pair(0x5c4e_3a00_0000_1000, 0x8000_0000_0000_0000 | n)
}

impl Schema {
    /// Records a schema change: a new schema version, as Cassandra reports after DDL.
    pub(crate) fn bump(&mut self) {
        self.changes += 1;
        self.version = schema_version(self.changes);
    }

    pub(crate) fn keyspace(&self, name: &str) -> Result<&Keyspace, ExecError> {
        self.keyspaces.get(name).ok_or_else(|| ExecError::invalid(format!("Keyspace '{name}' does not exist")))
    }

    /// The table a statement reads or writes, failing as Cassandra 4.0+ does when it or its
    /// keyspace is missing (`Schema.validateTable`: lower-case "keyspace", no quotes;
    /// Cassandra 3 said "unconfigured table").
    pub(crate) fn table(&self, keyspace: &str, name: &str) -> Result<Arc<Table>, ExecError> {
        let ks = self
            .keyspaces
            .get(keyspace)
            .ok_or_else(|| ExecError::invalid(format!("keyspace {keyspace} does not exist")))?;
        ks.tables.get(name).cloned().ok_or_else(|| ExecError::invalid(format!("table {name} does not exist")))
    }
}

/// Resolves a CQL type in `keyspace` (for user types) to its protocol form.
pub(crate) fn resolve(ks: &Keyspace, t: &CqlType) -> Result<ColumnType, ExecError> {
    Ok(match t {
        CqlType::Native(c) => c.clone(),
        CqlType::List(e) => ColumnType::List(Box::new(resolve(ks, e)?)),
        CqlType::Set(e) => ColumnType::Set(Box::new(resolve(ks, e)?)),
        CqlType::Map(k, v) => ColumnType::Map(Box::new(resolve(ks, k)?), Box::new(resolve(ks, v)?)),
        CqlType::Tuple(items) => ColumnType::Tuple(items.iter().map(|i| resolve(ks, i)).collect::<Result<_, _>>()?),
        CqlType::Vector(e, n) => ColumnType::Vector(Box::new(resolve(ks, e)?), *n),
        CqlType::Frozen(inner) => resolve(ks, inner)?,
        CqlType::UserDefined { keyspace, name } => {
            if keyspace.as_deref().is_some_and(|k| k != ks.name) {
                return Err(ExecError::invalid(format!(
                    "Statement on keyspace {} cannot refer to a user type in keyspace {}; user types can only be used in the keyspace they are defined in",
                    ks.name,
                    keyspace.as_deref().unwrap_or_default()
                )));
            }
            let udt =
                ks.types.get(name).ok_or_else(|| ExecError::invalid(format!("Unknown type {}.{name}", ks.name)))?;
            ColumnType::Udt(Box::new(udt.resolved.clone()))
        }
    })
}

/// The CQL spelling of a type, as `system_schema` shows it (tuples frozen).
pub(crate) fn cql_type_text(t: &CqlType) -> String {
    fn go(t: &CqlType, frozen: bool) -> String {
        match t {
            CqlType::Native(c) => c.to_string(),
            CqlType::List(e) => format!("list<{}>", go(e, frozen)),
            CqlType::Set(e) => format!("set<{}>", go(e, frozen)),
            CqlType::Map(k, v) => format!("map<{}, {}>", go(k, frozen), go(v, frozen)),
            CqlType::Tuple(items) => {
                let inner = items.iter().map(|i| go(i, true)).collect::<Vec<_>>().join(", ");
                if frozen { format!("tuple<{inner}>") } else { format!("frozen<tuple<{inner}>>") }
            }
            CqlType::Vector(e, n) => format!("vector<{}, {n}>", go(e, true)),
            CqlType::Frozen(inner) if frozen => go(inner, true),
            CqlType::Frozen(inner) => format!("frozen<{}>", go(inner, true)),
            CqlType::UserDefined { name, .. } => name.clone(),
        }
    }
    go(t, false)
}

/// Builds a table definition from CREATE TABLE.
pub(crate) fn table_schema(ks: &Keyspace, ct: &CreateTable, id: Uuid) -> Result<TableSchema, ExecError> {
    let pk = ct.primary_key().map_err(ExecError::invalid)?;
    let find = |name: &str| {
        ct.columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| ExecError::invalid(format!("Unknown definition {name} referenced in PRIMARY KEY")))
    };
    let mut columns = Vec::new();
    for (i, name) in pk.partition.iter().enumerate() {
        let c = find(name)?;
        columns.push(column(ks, c.name.clone(), &c.ty, ColumnKind::PartitionKey, i as i32, false)?);
    }
    for (i, name) in pk.clustering.iter().enumerate() {
        let c = find(name)?;
        let desc = ct.clustering_order.iter().any(|(n, o)| n == name && *o == Order::Desc);
        columns.push(column(ks, c.name.clone(), &c.ty, ColumnKind::Clustering, i as i32, desc)?);
    }
    for (n, _) in &ct.clustering_order {
        if !pk.clustering.contains(n) {
            return Err(ExecError::invalid(format!(
                "Only clustering key columns can be defined in CLUSTERING ORDER directive: {n} is not"
            )));
        }
    }
    let mut rest: Vec<_> =
        ct.columns.iter().filter(|c| !pk.partition.contains(&c.name) && !pk.clustering.contains(&c.name)).collect();
    rest.sort_by(|a, b| (!a.is_static, &a.name).cmp(&(!b.is_static, &b.name)));
    for c in rest {
        if c.is_static && pk.clustering.is_empty() {
            return Err(ExecError::invalid(format!(
                "Static column {} cannot be defined in a table without clustering columns",
                c.name
            )));
        }
        let kind = if c.is_static { ColumnKind::Static } else { ColumnKind::Regular };
        columns.push(column(ks, c.name.clone(), &c.ty, kind, -1, false)?);
    }
    let mut seen = std::collections::HashSet::new();
    for c in &ct.columns {
        if !seen.insert(&c.name) {
            return Err(ExecError::invalid(format!(
                "Duplicate column {} declaration for table {}.{}",
                c.name, ks.name, ct.name.name
            )));
        }
    }
    let np = pk.partition.len();
    let nc = pk.clustering.len();
    for c in &columns[..np + nc] {
        if matches!(c.typ, ColumnType::Counter) {
            return Err(ExecError::invalid(format!(
                "counter type is not supported for PRIMARY KEY column '{}'",
                c.name
            )));
        }
    }
    let is_counter = columns[np + nc..].iter().any(|c| c.typ == ColumnType::Counter);
    if is_counter && columns[np + nc..].iter().any(|c| c.typ != ColumnType::Counter) {
        return Err(ExecError::invalid("Cannot mix counter and non counter columns in the same table"));
    }
    Ok(TableSchema {
        keyspace: ks.name.clone(),
        name: ct.name.name.clone(),
        id,
        clustering_desc: columns[np..np + nc].iter().map(|c| c.desc).collect(),
        has_statics: columns.iter().any(|c| c.kind == ColumnKind::Static),
        partition_key: (0..np).collect(),
        clustering: (np..np + nc).collect(),
        columns,
        is_counter,
    })
}

fn column(
    ks: &Keyspace,
    name: String,
    ty: &CqlType,
    kind: ColumnKind,
    position: i32,
    desc: bool,
) -> Result<Column, ExecError> {
    Ok(Column { typ: resolve(ks, ty)?, cql_type: cql_type_text(ty), name, kind, position, desc })
}

/// A table definition given directly with protocol types (system tables).
pub(crate) fn fixed_table(
    keyspace: &str,
    name: &str,
    pk: &[(&str, ColumnType)],
    ck: &[(&str, ColumnType)],
    rest: &[(&str, ColumnType)],
) -> TableSchema {
    let mut columns = Vec::new();
    let text = |t: &ColumnType| t.to_string();
    for (i, (n, t)) in pk.iter().enumerate() {
        columns.push(Column {
            name: (*n).into(),
            cql_type: text(t),
            typ: t.clone(),
            kind: ColumnKind::PartitionKey,
            position: i as i32,
            desc: false,
        });
    }
    for (i, (n, t)) in ck.iter().enumerate() {
        columns.push(Column {
            name: (*n).into(),
            cql_type: text(t),
            typ: t.clone(),
            kind: ColumnKind::Clustering,
            position: i as i32,
            desc: false,
        });
    }
    let mut rest: Vec<_> = rest.to_vec();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    for (n, t) in rest {
        columns.push(Column {
            name: n.into(),
            cql_type: text(&t),
            typ: t,
            kind: ColumnKind::Regular,
            position: -1,
            desc: false,
        });
    }
    let np = pk.len();
    let nc = ck.len();
    TableSchema {
        keyspace: keyspace.into(),
        name: name.into(),
        id: Uuid::from_u64_pair(
            0x5757_0000_0000_1000,
            crate::token::murmur3_token(format!("{keyspace}.{name}").as_bytes()) as u64,
        ),
        columns,
        partition_key: (0..np).collect(),
        clustering: (np..np + nc).collect(),
        clustering_desc: vec![false; nc].into(),
        has_statics: false,
        is_counter: false,
    }
}
