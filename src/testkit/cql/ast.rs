//! The syntax tree the parser produces: one type per statement kind, terms, types,
//! selectors and relations.
//!
//! Names are already normalised: unquoted identifiers are lowercased, quoted ones keep
//! their case. Nothing here is resolved against a schema: table and type names may lack
//! their keyspace, user types are referenced by name, and column counts are not checked
//! against value counts. Those checks belong to the engine, which answers them with
//! `Invalid` (0x2200) as Cassandra does, not with a syntax error.

use std::borrow::Cow;
use std::fmt;

use super::lexer::is_reserved;
use crate::protocol::{ColumnType, UdtType};
use crate::types::Literal;

/// `name` as CQL text: bare when it reads back the same unquoted (lower case, not
/// reserved), else `"quoted"` with `"` doubled.
pub(crate) fn quote_ident(name: &str) -> Cow<'_, str> {
    let bare = name.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        && !is_reserved(name);
    if bare { Cow::Borrowed(name) } else { Cow::Owned(format!("\"{}\"", name.replace('"', "\"\""))) }
}

/// A name with an optional keyspace: `t` or `ks.t` (tables, types, functions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct QualifiedName {
    /// The keyspace, when written.
    pub(crate) keyspace: Option<String>,
    /// The table, type or function name.
    pub(crate) name: String,
}

impl QualifiedName {
    /// A name without keyspace.
    pub(crate) fn bare(name: impl Into<String>) -> QualifiedName {
        QualifiedName { keyspace: None, name: name.into() }
    }

    /// A name with keyspace.
    pub(crate) fn qualified(keyspace: impl Into<String>, name: impl Into<String>) -> QualifiedName {
        QualifiedName { keyspace: Some(keyspace.into()), name: name.into() }
    }
}

/// One parsed statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CqlStatement {
    /// `USE ks`
    Use(String),
    /// `CREATE KEYSPACE`
    CreateKeyspace(CreateKeyspace),
    /// `DROP KEYSPACE [IF EXISTS] ks`
    DropKeyspace {
        /// `IF EXISTS` was given.
        if_exists: bool,
        /// The keyspace.
        name: String,
    },
    /// `CREATE TYPE`
    CreateType(CreateType),
    /// `DROP TYPE [IF EXISTS] [ks.]name`
    DropType {
        /// `IF EXISTS` was given.
        if_exists: bool,
        /// The type.
        name: QualifiedName,
    },
    /// `CREATE TABLE` (or `COLUMNFAMILY`)
    CreateTable(CreateTable),
    /// `DROP TABLE [IF EXISTS] [ks.]t`
    DropTable {
        /// `IF EXISTS` was given.
        if_exists: bool,
        /// The table.
        name: QualifiedName,
    },
    /// `TRUNCATE [TABLE] [ks.]t`
    Truncate(QualifiedName),
    /// `SELECT`
    Select(Select),
    /// `INSERT`
    Insert(Insert),
    /// `UPDATE`
    Update(Update),
    /// `DELETE`
    Delete(Delete),
    /// `BEGIN ... BATCH ... APPLY BATCH`
    Batch(CqlBatch),
}

impl CqlStatement {
    /// The table a statement reads or writes, if it names one.
    pub(crate) fn table(&self) -> Option<&QualifiedName> {
        match self {
            CqlStatement::CreateTable(t) => Some(&t.name),
            CqlStatement::DropTable { name, .. } | CqlStatement::Truncate(name) => Some(name),
            CqlStatement::Select(s) => Some(&s.table),
            CqlStatement::Insert(i) => Some(&i.table),
            CqlStatement::Update(u) => Some(&u.table),
            CqlStatement::Delete(d) => Some(&d.table),
            _ => None,
        }
    }
}

/// A statement option value: a constant, a map of constants, or a bare word.
///
/// Maps are [`Literal::Map`]; a bare (unreserved) word such as `ALL` is kept as a
/// [`Literal::String`], as Cassandra does.
pub(crate) type OptionValue = Literal;

/// `CREATE KEYSPACE [IF NOT EXISTS] ks WITH replication = {...} [AND durable_writes = ...]`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreateKeyspace {
    /// `IF NOT EXISTS` was given.
    pub(crate) if_not_exists: bool,
    /// The keyspace.
    pub(crate) name: String,
    /// The `WITH` options in order (`replication`, `durable_writes`, ...).
    pub(crate) options: Vec<(String, OptionValue)>,
}

impl CreateKeyspace {
    /// The value of an option, by (lowercased) name.
    pub(crate) fn option(&self, name: &str) -> Option<&OptionValue> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// `CREATE TYPE [IF NOT EXISTS] [ks.]name (field type, ...)`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreateType {
    /// `IF NOT EXISTS` was given.
    pub(crate) if_not_exists: bool,
    /// The type.
    pub(crate) name: QualifiedName,
    /// The fields in order.
    pub(crate) fields: Vec<(String, CqlType)>,
}

/// A CQL type as written in DDL or a cast, before user types are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CqlType {
    /// A native type (`int`, `text`, ...), or a custom type written as a string literal
    /// (`'org.apache...'`, as [`ColumnType::Custom`]). Never a collection.
    Native(ColumnType),
    /// `list<T>`
    List(Box<CqlType>),
    /// `set<T>`
    Set(Box<CqlType>),
    /// `map<K, V>`
    Map(Box<CqlType>, Box<CqlType>),
    /// `tuple<A, B, ...>`
    Tuple(Vec<CqlType>),
    /// `vector<T, n>` with `n > 0`.
    Vector(Box<CqlType>, u32),
    /// `frozen<T>`
    Frozen(Box<CqlType>),
    /// A user-defined type by name, `[ks.]name`.
    UserDefined {
        /// The keyspace, when written.
        keyspace: Option<String>,
        /// The type name.
        name: String,
    },
}

impl CqlType {
    /// The wire type: user types looked up with `lookup(keyspace, name)`, where names
    /// written without a keyspace are in `keyspace`. `frozen` is dropped, since wire
    /// types do not carry it. Fails with Cassandra's message for an unknown type.
    pub(crate) fn resolve<F>(&self, keyspace: &str, lookup: &mut F) -> Result<ColumnType, String>
    where
        F: FnMut(&str, &str) -> Option<UdtType>,
    {
        let mut one = |t: &CqlType| t.resolve(keyspace, lookup).map(Box::new);
        Ok(match self {
            CqlType::Native(t) => t.clone(),
            CqlType::List(t) => ColumnType::List(one(t)?),
            CqlType::Set(t) => ColumnType::Set(one(t)?),
            CqlType::Map(k, v) => ColumnType::Map(one(k)?, one(v)?),
            CqlType::Vector(t, n) => ColumnType::Vector(one(t)?, *n),
            CqlType::Frozen(t) => *one(t)?,
            CqlType::Tuple(items) => {
                ColumnType::Tuple(items.iter().map(|t| one(t).map(|b| *b)).collect::<Result<_, _>>()?)
            }
            CqlType::UserDefined { keyspace: ks, name } => {
                let ks = ks.as_deref().unwrap_or(keyspace);
                match lookup(ks, name) {
                    Some(udt) => ColumnType::Udt(Box::new(udt)),
                    None => return Err(format!("Unknown type {}.{}", quote_ident(ks), quote_ident(name))),
                }
            }
        })
    }

    /// Whether the type is written `frozen<...>`.
    pub(crate) fn is_frozen(&self) -> bool {
        matches!(self, CqlType::Frozen(_))
    }
}

impl fmt::Display for CqlType {
    /// The CQL spelling, as `system_schema` shows it: `frozen<map<text, int>>`,
    /// `my_udt`, `"MyUdt"`, `'org.example.Custom'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CqlType::Native(ColumnType::Custom(class)) => write!(f, "'{}'", class.replace('\'', "''")),
            CqlType::Native(t) => write!(f, "{t}"),
            CqlType::List(t) => write!(f, "list<{t}>"),
            CqlType::Set(t) => write!(f, "set<{t}>"),
            CqlType::Map(k, v) => write!(f, "map<{k}, {v}>"),
            CqlType::Vector(t, n) => write!(f, "vector<{t}, {n}>"),
            CqlType::Frozen(t) => write!(f, "frozen<{t}>"),
            CqlType::Tuple(items) => {
                f.write_str("tuple<")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            CqlType::UserDefined { keyspace, name } => {
                if let Some(ks) = keyspace {
                    write!(f, "{}.", quote_ident(ks))?;
                }
                f.write_str(&quote_ident(name))
            }
        }
    }
}

/// `CREATE TABLE [IF NOT EXISTS] [ks.]t (...) [WITH ...]`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CreateTable {
    /// `IF NOT EXISTS` was given.
    pub(crate) if_not_exists: bool,
    /// The table.
    pub(crate) name: QualifiedName,
    /// The columns in the order written.
    pub(crate) columns: Vec<ColumnDef>,
    /// Every primary key declaration, inline (`k int PRIMARY KEY`) or as a clause. A
    /// valid table has exactly one; see [`CreateTable::primary_key`].
    pub(crate) primary_keys: Vec<PrimaryKey>,
    /// `WITH CLUSTERING ORDER BY (c ASC|DESC, ...)`, as written.
    pub(crate) clustering_order: Vec<(String, Order)>,
    /// `WITH COMPACT STORAGE` was given.
    pub(crate) compact_storage: bool,
    /// The other `WITH` options in order (`comment`, `compaction`, ...).
    pub(crate) options: Vec<(String, OptionValue)>,
}

impl CreateTable {
    /// The one primary key, or the message Cassandra answers (as `Invalid`) when
    /// there is none or more than one.
    pub(crate) fn primary_key(&self) -> Result<&PrimaryKey, String> {
        match self.primary_keys.as_slice() {
            [pk] => Ok(pk),
            [] => Err(format!("No PRIMARY KEY specified for table '{}' (exactly one required)", self.name.name)),
            _ => Err(format!("Multiple PRIMARY KEYs specified for table '{}' (exactly one required)", self.name.name)),
        }
    }
}

/// One column of a `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnDef {
    /// Column name.
    pub(crate) name: String,
    /// Column type.
    pub(crate) ty: CqlType,
    /// `STATIC` was given.
    pub(crate) is_static: bool,
}

/// A primary key: the partition key columns and the clustering columns, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrimaryKey {
    /// Partition key columns (at least one).
    pub(crate) partition: Vec<String>,
    /// Clustering columns.
    pub(crate) clustering: Vec<String>,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Order {
    /// `ASC` (the default)
    Asc,
    /// `DESC`
    Desc,
}

/// A bind marker: `?` or `:name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BindMarker {
    /// 0-based position among all the markers of the statement, in text order.
    pub(crate) index: usize,
    /// The name of a `:name` marker (lowercased unless quoted).
    pub(crate) name: Option<String>,
}

/// A value in a statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Term {
    /// A constant, including collections made only of constants.
    Literal(Literal),
    /// A bind marker.
    Bind(BindMarker),
    /// A function call such as `now()` or `ks.f(1, ?)`; the name is lowercased
    /// unless quoted.
    Function {
        /// The function.
        name: QualifiedName,
        /// The arguments.
        args: Vec<Term>,
    },
    /// A type cast `(type) term`.
    Cast {
        /// The target type.
        ty: CqlType,
        /// The value cast.
        term: Box<Term>,
    },
    /// `[a, b]` with at least one non-constant element.
    List(Vec<Term>),
    /// `{a, b}` with at least one non-constant element.
    Set(Vec<Term>),
    /// `{k: v}` with at least one non-constant key or value.
    Map(Vec<(Term, Term)>),
    /// `(a, b)` with at least one non-constant element.
    Tuple(Vec<Term>),
    /// `{field: v}` with at least one non-constant value.
    Udt(Vec<(String, Term)>),
}

/// `USING TTL t AND TIMESTAMP t`
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Using {
    /// `TTL t`
    pub(crate) ttl: Option<Term>,
    /// `TIMESTAMP t`
    pub(crate) timestamp: Option<Term>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Operator {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The right side of `IN`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum InValues {
    /// `IN (a, b, ...)`, possibly empty.
    List(Vec<Term>),
    /// `IN ?` / `IN :name`: one marker for the whole list.
    Marker(BindMarker),
}

/// One relation of a `WHERE` clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Relation {
    /// `col op term`
    Compare {
        /// The column.
        column: String,
        /// The operator.
        op: Operator,
        /// The value.
        value: Term,
    },
    /// `col IN (...)` / `col IN ?`
    In {
        /// The column.
        column: String,
        /// The values.
        values: InValues,
    },
    /// `col CONTAINS term`
    Contains {
        /// The column.
        column: String,
        /// The value.
        value: Term,
    },
    /// `col CONTAINS KEY term`
    ContainsKey {
        /// The column.
        column: String,
        /// The key.
        value: Term,
    },
    /// `token(c, ...) op term`
    Token {
        /// The partition key columns.
        columns: Vec<String>,
        /// The operator.
        op: Operator,
        /// The value (often itself `token(...)`, a function term).
        value: Term,
    },
    /// `(c1, c2) op (t1, t2)` / `(c1, c2) op ?`
    MultiCompare {
        /// The clustering columns.
        columns: Vec<String>,
        /// The operator.
        op: Operator,
        /// A tuple term or a marker.
        value: Term,
    },
    /// `(c1, c2) IN ((a, b), ...)` / `(c1, c2) IN ?`
    MultiIn {
        /// The clustering columns.
        columns: Vec<String>,
        /// The tuples.
        values: InValues,
    },
}

/// A column, a collection element or a UDT field: the target of a `DELETE` selection
/// or of an `IF` condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// `c`
    Column(String),
    /// `c[term]`: a map key or list index.
    Element(String, Term),
    /// `c.field`
    Field(String, String),
}

/// The `IF` clause of an `UPDATE` or `DELETE`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IfClause {
    /// `IF EXISTS`
    Exists,
    /// `IF cond AND cond ...`
    Conditions(Vec<Condition>),
}

/// One lightweight-transaction condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    /// `target op term`
    Compare {
        /// What is compared.
        target: Target,
        /// The operator.
        op: Operator,
        /// The value.
        value: Term,
    },
    /// `target IN (...)` / `target IN ?`
    In {
        /// What is compared.
        target: Target,
        /// The values.
        values: InValues,
    },
}

/// `INSERT INTO [ks.]t (c, ...) VALUES (t, ...) [IF NOT EXISTS] [USING ...]`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Insert {
    /// The table.
    pub(crate) table: QualifiedName,
    /// The columns, as written (not checked against `values`).
    pub(crate) columns: Vec<String>,
    /// The values, as written.
    pub(crate) values: Vec<Term>,
    /// `IF NOT EXISTS` was given.
    pub(crate) if_not_exists: bool,
    /// `USING TTL / TIMESTAMP`
    pub(crate) using: Using,
}

/// `UPDATE [ks.]t [USING ...] SET ... WHERE ... [IF ...]`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Update {
    /// The table.
    pub(crate) table: QualifiedName,
    /// `USING TTL / TIMESTAMP`
    pub(crate) using: Using,
    /// The `SET` assignments in order.
    pub(crate) assignments: Vec<Assignment>,
    /// The `WHERE` relations.
    pub(crate) where_clause: Vec<Relation>,
    /// The `IF` clause.
    pub(crate) condition: Option<IfClause>,
}

/// One assignment of an `UPDATE ... SET`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Assignment {
    /// `c = term`
    Set {
        /// The column.
        column: String,
        /// The value.
        value: Term,
    },
    /// `c = c + term` or `c += term`: counter increment, collection append or union.
    Add {
        /// The column.
        column: String,
        /// The value added.
        value: Term,
    },
    /// `c = term + c`: list prepend.
    Prepend {
        /// The column.
        column: String,
        /// The value prepended.
        value: Term,
    },
    /// `c = c - term` or `c -= term`: counter decrement, collection removal.
    Remove {
        /// The column.
        column: String,
        /// The value removed.
        value: Term,
    },
    /// `c[key] = term`: a map entry or list element.
    SetElement {
        /// The column.
        column: String,
        /// The map key or list index.
        key: Term,
        /// The value.
        value: Term,
    },
    /// `c.field = term`: a field of a non-frozen UDT.
    SetField {
        /// The column.
        column: String,
        /// The field.
        field: String,
        /// The value.
        value: Term,
    },
}

impl Assignment {
    /// The column assigned to.
    pub(crate) fn column(&self) -> &str {
        match self {
            Assignment::Set { column, .. }
            | Assignment::Add { column, .. }
            | Assignment::Prepend { column, .. }
            | Assignment::Remove { column, .. }
            | Assignment::SetElement { column, .. }
            | Assignment::SetField { column, .. } => column,
        }
    }

    /// Whether this is a plain `c = term`.
    pub(crate) fn is_plain_set(&self) -> bool {
        matches!(self, Assignment::Set { .. })
    }
}

/// `DELETE [targets] FROM [ks.]t [USING TIMESTAMP t] WHERE ... [IF ...]`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delete {
    /// What to delete; empty for whole rows.
    pub(crate) targets: Vec<Target>,
    /// The table.
    pub(crate) table: QualifiedName,
    /// `USING TIMESTAMP` (never a TTL).
    pub(crate) using: Using,
    /// The `WHERE` relations.
    pub(crate) where_clause: Vec<Relation>,
    /// The `IF` clause.
    pub(crate) condition: Option<IfClause>,
}

/// `SELECT`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    /// `DISTINCT` was given.
    pub(crate) distinct: bool,
    /// What to return.
    pub(crate) projection: Projection,
    /// The table.
    pub(crate) table: QualifiedName,
    /// The `WHERE` relations (joined by `AND`).
    pub(crate) where_clause: Vec<Relation>,
    /// `GROUP BY` columns.
    pub(crate) group_by: Vec<String>,
    /// `ORDER BY` columns.
    pub(crate) order_by: Vec<(String, Order)>,
    /// `PER PARTITION LIMIT`
    pub(crate) per_partition_limit: Option<Term>,
    /// `LIMIT`
    pub(crate) limit: Option<Term>,
    /// `ALLOW FILTERING` was given.
    pub(crate) allow_filtering: bool,
}

/// The columns a `SELECT` returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Projection {
    /// `*`
    Wildcard,
    /// A list of selectors.
    Selectors(Vec<SelectItem>),
}

/// One selector with its optional alias.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SelectItem {
    /// The selector.
    pub(crate) selector: Selector,
    /// `AS alias`
    pub(crate) alias: Option<String>,
}

/// What one result column is computed from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    /// A column.
    Column(String),
    /// `COUNT(*)` or `COUNT(1)`: the number of rows.
    CountAll,
    /// `writetime(c)`
    WriteTime(String),
    /// `ttl(c)`
    Ttl(String),
    /// `token(c, ...)`
    Token(Vec<String>),
    /// Any other function call, e.g. `count(c)`, `max(c)`, `toJson(c)`.
    Function {
        /// The function, lowercased unless quoted.
        name: QualifiedName,
        /// The arguments.
        args: Vec<Selector>,
    },
    /// `CAST(selector AS type)`
    Cast(Box<Selector>, CqlType),
    /// `selector.field`: a UDT field.
    Field(Box<Selector>, String),
    /// A constant or bind marker, e.g. a function argument.
    Term(Term),
}

/// The kind of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BatchKind {
    /// `BEGIN BATCH`
    Logged,
    /// `BEGIN UNLOGGED BATCH`
    Unlogged,
    /// `BEGIN COUNTER BATCH`
    Counter,
}

/// `BEGIN [UNLOGGED | COUNTER] BATCH [USING TIMESTAMP t] stmt; ... APPLY BATCH`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CqlBatch {
    /// The kind.
    pub(crate) kind: BatchKind,
    /// `USING`; Cassandra rejects a TTL here (as `Invalid`), the parser keeps it.
    pub(crate) using: Using,
    /// The statements in order.
    pub(crate) statements: Vec<Modification>,
}

/// A statement allowed inside a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Modification {
    /// `INSERT`
    Insert(Insert),
    /// `UPDATE`
    Update(Update),
    /// `DELETE`
    Delete(Delete),
}
