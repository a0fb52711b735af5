//! DDL: `CREATE`/`DROP` of keyspaces, user types and tables, and `TRUNCATE`, one
//! function per statement kind. Each takes the schema's write lock, checks what
//! Cassandra checks (with its error codes and messages), changes the schema, bumps its
//! version and answers SCHEMA_CHANGE together with the event to push.
//!
//! Owns the statements' rules only: a table's definition is built by
//! [`super::schema`], and reading the schema back is the system tables' business.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use super::data::TableData;
use super::schema::{self, Keyspace, Table, UserType};
use super::{ClientState, Engine, ExecError, Params, literal_text, system};
use crate::protocol::column_type::UdtType;
use crate::protocol::response::{ErrorKind, Event, ResultBody, SchemaChange, SchemaChangeTarget, SchemaChangeType};
use crate::testkit::cql::{self, CqlStatement, QualifiedName};
use crate::types::Literal;

/// A DDL statement's reply, and the event it causes (none when nothing changed).
type DdlResult = Result<(ResultBody, Option<Event>), ExecError>;

/// The SCHEMA_CHANGE reply and its event.
fn changed(change: SchemaChangeType, target: SchemaChangeTarget) -> DdlResult {
    let sc = SchemaChange { change, target };
    Ok((ResultBody::SchemaChange(sc.clone()), Some(Event::SchemaChange(sc))))
}

impl Engine {
    /// Runs a DDL statement (any statement the dispatcher did not take itself).
    pub(super) fn ddl(&self, params: &Params<'_>, client: &ClientState, stmt: &CqlStatement) -> DdlResult {
        match stmt {
            CqlStatement::CreateKeyspace(ck) => self.create_keyspace(ck),
            CqlStatement::DropKeyspace { if_exists, name } => self.drop_keyspace(*if_exists, name),
            CqlStatement::CreateType(ct) => self.create_type(params, client, ct),
            CqlStatement::DropType { if_exists, name } => self.drop_type(params, client, *if_exists, name),
            CqlStatement::CreateTable(ct) => self.create_table(params, client, ct),
            CqlStatement::DropTable { if_exists, name } => self.drop_table(params, client, *if_exists, name),
            CqlStatement::Truncate(name) => self.truncate(params, client, name),
            other => Err(ExecError::invalid(format!("Statement {other:?} is not supported by the test server"))),
        }
    }

    /// `CREATE KEYSPACE [IF NOT EXISTS]`: SimpleStrategy or NetworkTopologyStrategy.
    fn create_keyspace(&self, ck: &cql::CreateKeyspace) -> DdlResult {
        let mut schema = self.schema_write();
        if system::is_system(&ck.name) || schema.keyspaces.contains_key(&ck.name) {
            if ck.if_not_exists {
                return Ok((ResultBody::Void, None));
            }
            return Err(ExecError::already_exists(&ck.name, "", format!("Keyspace {} already exists", ck.name)));
        }
        let replication = replication(ck)?;
        let durable_writes = match ck.option("durable_writes") {
            Some(Literal::Bool(b)) => *b,
            Some(Literal::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => true,
        };
        schema.keyspaces.insert(
            ck.name.clone(),
            Keyspace {
                name: ck.name.clone(),
                replication,
                durable_writes,
                tables: BTreeMap::new(),
                types: BTreeMap::new(),
            },
        );
        schema.bump();
        changed(SchemaChangeType::Created, SchemaChangeTarget::Keyspace { keyspace: ck.name.clone() })
    }

    /// `DROP KEYSPACE [IF EXISTS]`; the system keyspaces cannot be dropped.
    fn drop_keyspace(&self, if_exists: bool, name: &str) -> DdlResult {
        let mut schema = self.schema_write();
        if system::is_system(name) {
            return Err(ExecError {
                kind: ErrorKind::Unauthorized,
                message: format!("{name} keyspace is not user-modifiable."),
            });
        }
        if schema.keyspaces.remove(name).is_none() {
            if if_exists {
                return Ok((ResultBody::Void, None));
            }
            return Err(ExecError {
                kind: ErrorKind::ConfigError,
                message: format!("Cannot drop non existing keyspace '{name}'."),
            });
        }
        schema.bump();
        changed(SchemaChangeType::Dropped, SchemaChangeTarget::Keyspace { keyspace: name.to_owned() })
    }

    /// `CREATE TYPE [IF NOT EXISTS]`.
    fn create_type(&self, params: &Params<'_>, client: &ClientState, ct: &cql::CreateType) -> DdlResult {
        let mut schema = self.schema_write();
        let ksn = self.keyspace_of(ct.name.keyspace.as_deref(), params, client)?.to_owned();
        let ks = schema
            .keyspaces
            .get_mut(&ksn)
            .ok_or_else(|| ExecError::invalid(format!("Keyspace '{ksn}' does not exist")))?;
        if ks.types.contains_key(&ct.name.name) {
            if ct.if_not_exists {
                return Ok((ResultBody::Void, None));
            }
            return Err(ExecError::already_exists(
                &ksn,
                &ct.name.name,
                format!("A user type with name '{}' already exists", ct.name.name),
            ));
        }
        let fields = ct
            .fields
            .iter()
            .map(|(n, t)| Ok((n.clone(), schema::resolve(ks, t)?)))
            .collect::<Result<Vec<_>, ExecError>>()?;
        let resolved = UdtType { keyspace: ksn.clone(), name: ct.name.name.clone(), fields };
        ks.types
            .insert(ct.name.name.clone(), UserType { name: ct.name.name.clone(), fields: ct.fields.clone(), resolved });
        schema.bump();
        changed(SchemaChangeType::Created, SchemaChangeTarget::Type { keyspace: ksn, name: ct.name.name.clone() })
    }

    /// `DROP TYPE [IF EXISTS]`.
    fn drop_type(&self, params: &Params<'_>, client: &ClientState, if_exists: bool, name: &QualifiedName) -> DdlResult {
        let mut schema = self.schema_write();
        let ksn = self.keyspace_of(name.keyspace.as_deref(), params, client)?.to_owned();
        let ks = schema
            .keyspaces
            .get_mut(&ksn)
            .ok_or_else(|| ExecError::invalid(format!("Keyspace '{ksn}' does not exist")))?;
        if ks.types.remove(&name.name).is_none() {
            if if_exists {
                return Ok((ResultBody::Void, None));
            }
            return Err(ExecError::invalid(format!("No user type named {} exists.", name.name)));
        }
        schema.bump();
        changed(SchemaChangeType::Dropped, SchemaChangeTarget::Type { keyspace: ksn, name: name.name.clone() })
    }

    /// `CREATE TABLE [IF NOT EXISTS]`; the table gets a fresh id.
    fn create_table(&self, params: &Params<'_>, client: &ClientState, ct: &cql::CreateTable) -> DdlResult {
        let mut schema = self.schema_write();
        let ksn = self.keyspace_of(ct.name.keyspace.as_deref(), params, client)?.to_owned();
        if system::is_system(&ksn) {
            return Err(ExecError {
                kind: ErrorKind::Unauthorized,
                message: format!("{ksn} keyspace is not user-modifiable."),
            });
        }
        let id = Uuid::from_u64_pair(
            0x7ab1_e000_0000_1000,
            0x8000_0000_0000_0000 | self.next_id.fetch_add(1, Ordering::Relaxed),
        );
        let ks = schema
            .keyspaces
            .get_mut(&ksn)
            .ok_or_else(|| ExecError::invalid(format!("Keyspace '{ksn}' does not exist")))?;
        if ks.tables.contains_key(&ct.name.name) {
            if ct.if_not_exists {
                return Ok((ResultBody::Void, None));
            }
            return Err(ExecError::already_exists(
                &ksn,
                &ct.name.name,
                format!("Table {ksn}.{} already exists", ct.name.name),
            ));
        }
        let t = schema::table_schema(ks, ct, id)?;
        ks.tables.insert(
            ct.name.name.clone(),
            Arc::new(Table { schema: Arc::new(t), data: RwLock::new(TableData::default()) }),
        );
        schema.bump();
        changed(SchemaChangeType::Created, SchemaChangeTarget::Table { keyspace: ksn, name: ct.name.name.clone() })
    }

    /// `DROP TABLE [IF EXISTS]`.
    fn drop_table(
        &self,
        params: &Params<'_>,
        client: &ClientState,
        if_exists: bool,
        name: &QualifiedName,
    ) -> DdlResult {
        let mut schema = self.schema_write();
        let ksn = self.keyspace_of(name.keyspace.as_deref(), params, client)?.to_owned();
        let removed = schema.keyspaces.get_mut(&ksn).and_then(|ks| ks.tables.remove(&name.name));
        if removed.is_none() {
            if if_exists {
                return Ok((ResultBody::Void, None));
            }
            return Err(ExecError::invalid(format!("Table '{ksn}.{}' doesn't exist", name.name)));
        }
        schema.bump();
        changed(SchemaChangeType::Dropped, SchemaChangeTarget::Table { keyspace: ksn, name: name.name.clone() })
    }

    /// `TRUNCATE [TABLE]`: empties the table, no event (as Cassandra).
    fn truncate(&self, params: &Params<'_>, client: &ClientState, name: &QualifiedName) -> DdlResult {
        // The schema's write lock, as for every DDL statement, so a truncate cannot
        // interleave with a DROP of the same table.
        let schema = self.schema_write();
        let ksn = self.keyspace_of(name.keyspace.as_deref(), params, client)?.to_owned();
        let table = schema.table(&ksn, &name.name)?;
        *table.data.write().unwrap_or_else(|e| e.into_inner()) = TableData::default();
        Ok((ResultBody::Void, None))
    }
}

/// A `CREATE KEYSPACE`'s replication map, checked as Cassandra checks it: mandatory,
/// with a known strategy class (a short class name gets Cassandra's package); sorted by
/// option name.
fn replication(ck: &cql::CreateKeyspace) -> Result<Vec<(String, String)>, ExecError> {
    let given = match ck.option("replication") {
        Some(Literal::Map(entries)) => entries
            .iter()
            .map(|(k, v)| Ok((literal_text(k)?, literal_text(v)?)))
            .collect::<Result<Vec<_>, ExecError>>()?,
        _ => {
            return Err(ExecError {
                kind: ErrorKind::SyntaxError,
                message: "Missing mandatory option 'replication'".into(),
            });
        }
    };
    let mut replication: Vec<(String, String)> =
        given
            .into_iter()
            .map(|(k, v)| {
                if k == "class" && !v.contains('.') { (k, format!("org.apache.cassandra.locator.{v}")) } else { (k, v) }
            })
            .collect();
    let class = replication.iter().find(|(k, _)| k == "class").map(|(_, v)| v.clone());
    match class.as_deref() {
        Some(
            "org.apache.cassandra.locator.SimpleStrategy" | "org.apache.cassandra.locator.NetworkTopologyStrategy",
        ) => {}
        Some(other) => {
            return Err(ExecError {
                kind: ErrorKind::ConfigError,
                message: format!("Unable to find replication strategy class '{other}'"),
            });
        }
        None => {
            return Err(ExecError {
                kind: ErrorKind::ConfigError,
                message: "Missing replication strategy class".into(),
            });
        }
    }
    replication.sort();
    Ok(replication)
}
