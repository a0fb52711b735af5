//! The statement engine of the test server: executes QUERY, PREPARE, EXECUTE and BATCH
//! against the cluster's in-memory dataset, with Cassandra's semantics and errors.
//!
//! Owns dispatch, keyspace resolution, the per-client state ([`ClientState`]), the
//! per-node prepared statement caches and the result metadata rules (skip_metadata, v5
//! result_metadata_id and Metadata_changed). Each statement kind has a room of its
//! own: `ddl` (CREATE/DROP/TRUNCATE), `select`, `modify` (INSERT/UPDATE/DELETE),
//! `prepare` (bind marker metadata), `system` (the generated system tables); `schema`
//! and `data` hold the dataset, `eval` turns terms into values, `paging` the paging
//! state. Parsing is [`crate::testkit::cql`]'s; values are [`crate::types`]'s;
//! connections and faults are not its business.

mod data;
mod ddl;
mod eval;
mod modify;
mod paging;
mod prepare;
mod schema;
mod select;
mod system;

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

use bytes::{Bytes, BytesMut};

use self::eval::Binds;
use self::paging::PagingState;
use self::schema::{Schema, Table};
use super::cql::{self, CqlStatement, Modification, Parsed};
use super::node::ClusterShared;
use crate::protocol::request::{BatchStatementKind, BatchType, QueryParameters};
use crate::protocol::response::{
    ColumnSpec, ErrorBody, ErrorKind, Event, Prepared, PreparedMetadata, ResultBody, Rows, RowsMetadata,
};
use crate::protocol::{Request, Response, Values, Version};
use crate::types::Literal;

/// A statement failure, answered as an ERROR.
#[derive(Debug, Clone)]
pub(crate) struct ExecError {
    kind: ErrorKind,
    message: String,
}

impl ExecError {
    pub(crate) fn invalid(message: impl Into<String>) -> ExecError {
        ExecError { kind: ErrorKind::Invalid, message: message.into() }
    }
    pub(crate) fn protocol(message: impl Into<String>) -> ExecError {
        ExecError { kind: ErrorKind::ProtocolError, message: message.into() }
    }
    pub(crate) fn server(message: impl Into<String>) -> ExecError {
        ExecError { kind: ErrorKind::ServerError, message: message.into() }
    }
    fn syntax(message: impl Into<String>) -> ExecError {
        ExecError { kind: ErrorKind::SyntaxError, message: message.into() }
    }
    fn already_exists(keyspace: &str, table: &str, message: String) -> ExecError {
        ExecError { kind: ErrorKind::AlreadyExists { keyspace: keyspace.into(), table: table.into() }, message }
    }
    fn into_response(self) -> Response {
        Response::Error(ErrorBody { kind: self.kind, message: self.message })
    }
}

/// What the engine remembers about one client between its statements (one per client
/// connection, or one per in-process `execute`): the keyspace of its last `USE`.
#[derive(Debug, Default)]
pub(crate) struct ClientState {
    /// The keyspace `USE` selected, if any.
    pub(crate) keyspace: Option<String>,
}

/// The reply to a statement, and the event it causes (schema changes).
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) response: Response,
    pub(crate) event: Option<Event>,
}

/// Paging and metadata options of one request.
#[derive(Debug, Default)]
pub(crate) struct Params<'a> {
    pub(crate) page_size: Option<i32>,
    pub(crate) paging_state: Option<&'a Bytes>,
    pub(crate) keyspace: Option<&'a str>,
    /// A fault's page length, replacing `page_size` (see `FaultAction::PageRows`).
    pub(crate) page_rows: Option<usize>,
}

impl<'a> Params<'a> {
    fn of(p: &'a QueryParameters, page_rows: Option<usize>) -> Params<'a> {
        Params {
            page_size: p.page_size,
            paging_state: p.paging_state.as_ref(),
            keyspace: p.keyspace.as_deref(),
            page_rows,
        }
    }
}

/// A statement prepared on one node.
#[derive(Debug)]
struct PreparedEntry {
    query: Arc<str>,
    keyspace: Option<String>,
    parsed: Parsed,
}

/// One per cluster: the schema and data, and each node's prepared statements.
#[derive(Debug)]
pub(crate) struct Engine {
    schema: RwLock<Schema>,
    prepared: Vec<Mutex<HashMap<Bytes, Arc<PreparedEntry>>>>,
    next_id: AtomicU64,
}

/// A 16-byte id: two FNV-1a hashes with different offsets (stable across runs).
fn id_of(parts: &[&[u8]]) -> Bytes {
    let mut out = Vec::with_capacity(16);
    for seed in [0xcbf2_9ce4_8422_2325u64, 0x8422_2325_cbf2_9ce4] {
        let mut h = seed;
        for p in parts {
            for &b in p.iter().chain(&[0xffu8]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        out.extend_from_slice(&h.to_be_bytes());
    }
    Bytes::from(out)
}

fn metadata_id(columns: &[ColumnSpec]) -> Bytes {
    let mut b = BytesMut::new();
    let _ = RowsMetadata::new(columns.to_vec()).encode_for_id(&mut b);
    id_of(&[&b])
}

trait EncodeForId {
    fn encode_for_id(&self, b: &mut BytesMut) -> Result<(), ()>;
}

impl EncodeForId for RowsMetadata {
    fn encode_for_id(&self, b: &mut BytesMut) -> Result<(), ()> {
        for c in self.columns.iter().flatten() {
            b.extend_from_slice(c.keyspace.as_bytes());
            b.extend_from_slice(c.table.as_bytes());
            b.extend_from_slice(c.name.as_bytes());
            b.extend_from_slice(c.typ.to_string().as_bytes());
            b.extend_from_slice(&[0]);
        }
        Ok(())
    }
}

fn is_select(text: &str) -> bool {
    text.trim_start().get(..6).is_some_and(|w| w.eq_ignore_ascii_case("select"))
}

impl Engine {
    pub(crate) fn new(nodes: usize) -> Engine {
        Engine {
            schema: RwLock::new(Schema::default()),
            prepared: (0..nodes).map(|_| Mutex::new(HashMap::new())).collect(),
            next_id: AtomicU64::new(1),
        }
    }

    fn schema_read(&self) -> std::sync::RwLockReadGuard<'_, Schema> {
        self.schema.read().unwrap_or_else(|e| e.into_inner())
    }

    fn schema_write(&self) -> std::sync::RwLockWriteGuard<'_, Schema> {
        self.schema.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets node `node`'s prepared statements.
    pub(crate) fn forget_prepared(&self, node: usize) {
        if let Some(cache) = self.prepared.get(node) {
            cache.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    fn lookup(&self, node: usize, id: &Bytes) -> Option<Arc<PreparedEntry>> {
        self.prepared.get(node)?.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    /// The statement texts a request runs (for counters and fault matching), and for
    /// a SELECT the 0-based page it asks for.
    pub(crate) fn describe(&self, node: usize, request: &Request) -> (Vec<Arc<str>>, Option<usize>) {
        let page =
            |text: &str, p: &QueryParameters| is_select(text).then(|| PagingState::page_of(p.paging_state.as_ref()));
        match request {
            Request::Query(q) => (vec![Arc::from(q.query.as_str())], page(&q.query, &q.params)),
            Request::Execute(e) => match self.lookup(node, &e.id) {
                Some(ps) => (vec![ps.query.clone()], page(&ps.query, &e.params)),
                None => (Vec::new(), None),
            },
            Request::Batch(b) => (
                b.statements
                    .iter()
                    .filter_map(|s| match &s.kind {
                        BatchStatementKind::Query(q) => Some(Arc::from(q.as_str())),
                        BatchStatementKind::Prepared(id) => self.lookup(node, id).map(|p| p.query.clone()),
                    })
                    .collect(),
                None,
            ),
            _ => (Vec::new(), None),
        }
    }

    pub(crate) fn execute(
        &self,
        cluster: &ClusterShared,
        node: usize,
        client: &mut ClientState,
        version: Version,
        request: Request,
    ) -> Outcome {
        self.execute_with(cluster, node, client, version, request, None)
    }

    /// [`Engine::execute`], with a SELECT's page served with `page_rows` rows instead
    /// of the requested page size when given (a `PageRows` fault).
    pub(crate) fn execute_with(
        &self,
        cluster: &ClusterShared,
        node: usize,
        client: &mut ClientState,
        version: Version,
        request: Request,
        page_rows: Option<usize>,
    ) -> Outcome {
        let mut event = None;
        let result = match request {
            Request::Query(q) => parse(&q.query).and_then(|parsed| {
                let binds = Binds::new(&q.params.values, &parsed.bind_markers)?;
                let params = Params::of(&q.params, page_rows);
                let (mut body, ev) = self.run(cluster, node, client, &parsed.statement, &binds, &params)?;
                event = ev;
                if q.params.skip_metadata
                    && let ResultBody::Rows(rows) = &mut body
                {
                    skip_metadata(rows);
                }
                Ok(body)
            }),
            Request::Prepare(p) => self.prepare(cluster, node, client, version, &p.query, p.keyspace.as_deref()),
            Request::Execute(e) => match self.lookup(node, &e.id) {
                None => Err(ExecError {
                    kind: ErrorKind::Unprepared { id: e.id.clone() },
                    message: format!(
                        "Prepared query with ID {} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)",
                        hex(&e.id)
                    ),
                }),
                Some(ps) => (|| {
                    let binds = Binds::new(&e.params.values, &ps.parsed.bind_markers)?;
                    let mut params = Params::of(&e.params, page_rows);
                    if params.keyspace.is_none() {
                        params.keyspace = ps.keyspace.as_deref();
                    }
                    let (mut body, ev) = self.run(cluster, node, client, &ps.parsed.statement, &binds, &params)?;
                    event = ev;
                    if let ResultBody::Rows(rows) = &mut body {
                        // spec v5 §4.2.5.2: a stale id gets the new metadata and id (the id is
                        // only computed where it is compared: v4 has none).
                        let stale = match &e.result_metadata_id {
                            Some(id) if version >= Version::V5 => {
                                let current = metadata_id(rows.metadata().columns.as_deref().unwrap_or_default());
                                (*id != current).then_some(current)
                            }
                            _ => None,
                        };
                        match stale {
                            Some(current) => {
                                let mut m = rows.metadata().clone();
                                m.new_metadata_id = Some(current);
                                rows.set_metadata(m).map_err(|e| ExecError::server(e.to_string()))?;
                            }
                            None if e.params.skip_metadata => skip_metadata(rows),
                            None => {}
                        }
                    }
                    Ok(body)
                })(),
            },
            Request::Batch(b) => self.batch(cluster, node, client, version, &b),
            other => Err(ExecError::protocol(format!("Unexpected message {:?}", other.opcode()))),
        };
        match result {
            Ok(body) => Outcome { response: Response::Result(body), event },
            Err(e) => Outcome { response: e.into_response(), event: None },
        }
    }

    fn keyspace_of<'a>(
        &self,
        named: Option<&'a str>,
        params: &'a Params<'_>,
        client: &'a ClientState,
    ) -> Result<&'a str, ExecError> {
        named.or(params.keyspace).or(client.keyspace.as_deref()).ok_or_else(|| {
            ExecError::invalid(
                "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename",
            )
        })
    }

    /// Runs one parsed statement.
    fn run(
        &self,
        cluster: &ClusterShared,
        node: usize,
        client: &mut ClientState,
        stmt: &CqlStatement,
        binds: &Binds<'_>,
        params: &Params<'_>,
    ) -> Result<(ResultBody, Option<Event>), ExecError> {
        match stmt {
            CqlStatement::Use(ks) => {
                if !system::is_system(ks) {
                    self.schema_read().keyspace(ks)?;
                }
                client.keyspace = Some(ks.clone());
                Ok((ResultBody::SetKeyspace(ks.clone()), None))
            }
            CqlStatement::Select(s) => {
                let ks = self.keyspace_of(s.table.keyspace.as_deref(), params, client)?;
                if system::is_system(ks) {
                    let (t, data) = {
                        let schema = self.schema_read();
                        system::table(cluster, node, &schema, ks, &s.table.name)?
                    };
                    let rows = select::run(&t, &data, s, binds, params, true)?;
                    return Ok((ResultBody::Rows(rows), None));
                }
                let table = self.schema_read().table(ks, &s.table.name)?;
                let data = table.data.read().unwrap_or_else(|e| e.into_inner());
                Ok((ResultBody::Rows(select::run(&table.schema, &data, s, binds, params, false)?), None))
            }
            CqlStatement::Insert(i) => self.modify(params, client, ModRef::Insert(i), binds),
            CqlStatement::Update(u) => self.modify(params, client, ModRef::Update(u), binds),
            CqlStatement::Delete(d) => self.modify(params, client, ModRef::Delete(d), binds),
            CqlStatement::Batch(b) => {
                let counter = b.kind == cql::BatchKind::Counter;
                for m in &b.statements {
                    self.check_batch_kind(params, client, m.into(), counter)?;
                }
                for m in &b.statements {
                    self.modify(params, client, m.into(), binds)?;
                }
                Ok((ResultBody::Void, None))
            }
            ddl => self.ddl(params, client, ddl),
        }
    }

    fn table_for(&self, params: &Params<'_>, client: &ClientState, m: ModRef<'_>) -> Result<Arc<Table>, ExecError> {
        let name = match m {
            ModRef::Insert(i) => &i.table,
            ModRef::Update(u) => &u.table,
            ModRef::Delete(d) => &d.table,
        };
        let ks = self.keyspace_of(name.keyspace.as_deref(), params, client)?;
        if system::is_system(ks) {
            return Err(ExecError {
                kind: ErrorKind::Unauthorized,
                message: format!("{ks} keyspace is not user-modifiable."),
            });
        }
        self.schema_read().table(ks, &name.name)
    }

    fn check_batch_kind(
        &self,
        params: &Params<'_>,
        client: &ClientState,
        m: ModRef<'_>,
        counter: bool,
    ) -> Result<(), ExecError> {
        let t = self.table_for(params, client, m)?;
        if t.schema.is_counter && !counter {
            return Err(ExecError::invalid("Cannot include a counter statement in a logged batch"));
        }
        if !t.schema.is_counter && counter {
            return Err(ExecError::invalid("Cannot include non-counter statement in a counter batch"));
        }
        Ok(())
    }

    fn modify(
        &self,
        params: &Params<'_>,
        client: &ClientState,
        m: ModRef<'_>,
        binds: &Binds<'_>,
    ) -> Result<(ResultBody, Option<Event>), ExecError> {
        let table = self.table_for(params, client, m)?;
        let mut data = table.data.write().unwrap_or_else(|e| e.into_inner());
        let rows = match m {
            ModRef::Insert(i) => modify::insert(&table.schema, &mut data, i, binds)?,
            ModRef::Update(u) => modify::update(&table.schema, &mut data, u, binds)?,
            ModRef::Delete(d) => modify::delete(&table.schema, &mut data, d, binds)?,
        };
        Ok((rows.map_or(ResultBody::Void, ResultBody::Rows), None))
    }

    fn batch(
        &self,
        _cluster: &ClusterShared,
        node: usize,
        client: &mut ClientState,
        _version: Version,
        b: &crate::protocol::request::Batch,
    ) -> Result<ResultBody, ExecError> {
        let keyspace = b.keyspace.as_deref();
        let params = Params { keyspace, ..Params::default() };
        // Resolve every statement before applying any, so a bad one changes nothing.
        let mut items: Vec<(Arc<PreparedEntry>, &Values)> = Vec::new();
        for s in &b.statements {
            let ps = match &s.kind {
                BatchStatementKind::Query(q) => {
                    Arc::new(PreparedEntry { query: Arc::from(q.as_str()), keyspace: None, parsed: parse(q)? })
                }
                BatchStatementKind::Prepared(id) => self.lookup(node, id).ok_or_else(|| ExecError {
                    kind: ErrorKind::Unprepared { id: id.clone() },
                    message: format!("Prepared query with ID {} not found", hex(id)),
                })?,
            };
            if !matches!(
                ps.parsed.statement,
                CqlStatement::Insert(_) | CqlStatement::Update(_) | CqlStatement::Delete(_)
            ) {
                return Err(ExecError::invalid(
                    "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
                ));
            }
            items.push((ps, &s.values));
        }
        let counter = b.batch_type == BatchType::Counter;
        for (ps, _) in &items {
            let p = Params { keyspace: keyspace.or(ps.keyspace.as_deref()), ..Params::default() };
            self.check_batch_kind(&p, client, to_modification(&ps.parsed.statement)?, counter)?;
        }
        for (ps, values) in items {
            let binds = Binds::new(values, &ps.parsed.bind_markers)?;
            let p = Params { keyspace: params.keyspace.or(ps.keyspace.as_deref()), ..Params::default() };
            self.modify(&p, client, to_modification(&ps.parsed.statement)?, &binds)?;
        }
        Ok(ResultBody::Void)
    }

    fn prepare(
        &self,
        cluster: &ClusterShared,
        node: usize,
        client: &ClientState,
        version: Version,
        query: &str,
        keyspace: Option<&str>,
    ) -> Result<ResultBody, ExecError> {
        if let Some(n) = cluster.nodes.get(node) {
            n.stats.record_prepare(query);
        }
        let parsed = parse(query)?;
        let ks = keyspace.map(str::to_owned).or_else(|| client.keyspace.clone());
        let params = Params { keyspace: ks.as_deref(), ..Params::default() };
        let table_name = match &parsed.statement {
            CqlStatement::Select(s) => Some(&s.table),
            CqlStatement::Insert(i) => Some(&i.table),
            CqlStatement::Update(u) => Some(&u.table),
            CqlStatement::Delete(d) => Some(&d.table),
            _ => None,
        };
        // The table the statement runs on: stored, or a generated system table.
        let (table, generated): (Option<Arc<Table>>, Option<schema::TableSchema>) = match table_name {
            Some(name) => {
                let k = self.keyspace_of(name.keyspace.as_deref(), &params, client)?;
                if system::is_system(k) {
                    let schema = self.schema_read();
                    (None, Some(system::table(cluster, node, &schema, k, &name.name)?.0))
                } else {
                    (Some(self.schema_read().table(k, &name.name)?), None)
                }
            }
            None => (None, None),
        };
        let t: Option<&schema::TableSchema> = table.as_ref().map(|t| &*t.schema).or(generated.as_ref());
        let mut vars = prepare::Variables::new(parsed.bind_markers.len());
        let mut batch_tables = Vec::new();
        if let CqlStatement::Batch(b) = &parsed.statement {
            for m in &b.statements {
                batch_tables.push(self.table_for(&params, client, m.into())?);
            }
            for (m, bt) in b.statements.iter().zip(&batch_tables) {
                vars.visit_modification(&bt.schema, m);
            }
        } else {
            vars.visit(t, &parsed.statement);
        }
        let variables = vars.finish()?;
        let pk_indexes = t.map(|t| prepare::pk_indexes(t, &parsed.statement)).unwrap_or_default();
        let result_columns = match (&parsed.statement, t) {
            (CqlStatement::Select(s), Some(t)) => Some(select::result_columns(t, s)?),
            _ => None,
        };
        let id = id_of(&[ks.as_deref().unwrap_or_default().as_bytes(), query.as_bytes()]);
        let result_metadata_id = metadata_id(result_columns.as_deref().unwrap_or_default());
        let metadata = PreparedMetadata::new(variables, if version >= Version::V4 { pk_indexes } else { Vec::new() });
        let result_metadata = match result_columns {
            Some(cols) => RowsMetadata::new(cols),
            None => RowsMetadata::no_metadata(0),
        };
        if let Some(cache) = self.prepared.get(node) {
            cache
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), Arc::new(PreparedEntry { query: Arc::from(query), keyspace: ks.clone(), parsed }));
        }
        Ok(ResultBody::Prepared(Box::new(Prepared {
            id,
            result_metadata_id: (version >= Version::V5).then_some(result_metadata_id),
            metadata,
            result_metadata,
        })))
    }
}

/// A data-changing statement, borrowed from the parsed (and cached) statement rather
/// than cloned for each execution.
#[derive(Debug, Clone, Copy)]
enum ModRef<'a> {
    Insert(&'a cql::Insert),
    Update(&'a cql::Update),
    Delete(&'a cql::Delete),
}

impl<'a> From<&'a Modification> for ModRef<'a> {
    fn from(m: &'a Modification) -> ModRef<'a> {
        match m {
            Modification::Insert(i) => ModRef::Insert(i),
            Modification::Update(u) => ModRef::Update(u),
            Modification::Delete(d) => ModRef::Delete(d),
        }
    }
}

fn to_modification(s: &CqlStatement) -> Result<ModRef<'_>, ExecError> {
    match s {
        CqlStatement::Insert(i) => Ok(ModRef::Insert(i)),
        CqlStatement::Update(u) => Ok(ModRef::Update(u)),
        CqlStatement::Delete(d) => Ok(ModRef::Delete(d)),
        _ => Err(ExecError::invalid(
            "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.",
        )),
    }
}

fn skip_metadata(rows: &mut Rows) {
    let mut m = RowsMetadata::no_metadata(rows.columns_count());
    m.paging_state = rows.metadata().paging_state.clone();
    let _ = rows.set_metadata(m);
}

fn literal_text(l: &Literal) -> Result<String, ExecError> {
    Ok(match l {
        Literal::String(s) | Literal::Integer(s) | Literal::Float(s) => s.clone(),
        Literal::Bool(b) => b.to_string(),
        other => return Err(ExecError::syntax(format!("Invalid option value {other:?}"))),
    })
}

fn parse(query: &str) -> Result<Parsed, ExecError> {
    cql::parse(query).map_err(|e| ExecError::syntax(e.to_string()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
