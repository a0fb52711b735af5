//! What PREPARE reports about a statement: the type and name of every bind marker
//! (taken from the column or clause it binds) and the partition key indexes drivers use
//! for token-aware routing.
//!
//! Owns only that inference; execution does not depend on it.

use super::ExecError;
use super::schema::{ColumnKind, TableSchema};
use crate::protocol::ColumnType;
use crate::protocol::response::ColumnSpec;
use crate::testkit::cql::{
    Assignment, Condition, CqlStatement, InValues, Insert, Modification, Operator, Relation, Select, Target, Term,
};

/// Specs collected per marker index.
pub(crate) struct Variables<'t> {
    specs: Vec<Option<ColumnSpec>>,
    table: Option<&'t TableSchema>,
}

impl<'t> Variables<'t> {
    pub(crate) fn new(count: usize) -> Variables<'t> {
        Variables { specs: vec![None; count], table: None }
    }

    fn spec(&self, name: &str, typ: ColumnType) -> ColumnSpec {
        let (ks, t) = self.table.map(|t| (t.keyspace.clone(), t.name.clone())).unwrap_or_default();
        ColumnSpec::new(ks, t, name, typ)
    }

    fn term(&mut self, term: &Term, typ: &ColumnType, name: &str) {
        match term {
            Term::Bind(m) => {
                let spec = self.spec(m.name.as_deref().unwrap_or(name), typ.clone());
                if let Some(slot) = self.specs.get_mut(m.index) {
                    *slot = Some(spec);
                }
            }
            Term::List(items) | Term::Set(items) => {
                if let ColumnType::List(e) | ColumnType::Set(e) | ColumnType::Vector(e, _) = typ {
                    items.iter().for_each(|i| self.term(i, e, name));
                }
            }
            Term::Map(entries) => {
                if let ColumnType::Map(k, v) = typ {
                    for (a, b) in entries {
                        self.term(a, k, name);
                        self.term(b, v, name);
                    }
                }
            }
            Term::Tuple(items) => {
                if let ColumnType::Tuple(types) = typ {
                    items.iter().zip(types).for_each(|(i, t)| self.term(i, t, name));
                }
            }
            Term::Udt(fields) => {
                if let ColumnType::Udt(u) = typ {
                    for (f, t) in fields {
                        if let Some((_, ft)) = u.fields.iter().find(|(n, _)| n == f) {
                            self.term(t, ft, name);
                        }
                    }
                }
            }
            Term::Cast { term, .. } => self.term(term, typ, name),
            Term::Function { .. } | Term::Literal(_) => {}
        }
    }

    fn column(&mut self, t: &TableSchema, column: &str, term: &Term) {
        if let Some(i) = t.column(column) {
            self.term(term, &t.columns[i].typ.clone(), column);
        }
    }

    fn relations(&mut self, t: &TableSchema, rels: &[Relation]) {
        for rel in rels {
            match rel {
                Relation::Compare { column, value, .. } => self.column(t, column, value),
                Relation::In { column, values } => {
                    let Some(i) = t.column(column) else { continue };
                    let typ = t.columns[i].typ.clone();
                    match values {
                        InValues::List(items) => items.iter().for_each(|v| self.term(v, &typ, column)),
                        InValues::Marker(m) => self.term(
                            &Term::Bind(m.clone()),
                            &ColumnType::List(Box::new(typ)),
                            &format!("in({column})"),
                        ),
                    }
                }
                Relation::Contains { column, value } => {
                    if let Some(i) = t.column(column)
                        && let ColumnType::List(e) | ColumnType::Set(e) | ColumnType::Map(_, e) = &t.columns[i].typ
                    {
                        self.term(value, &e.clone(), column);
                    }
                }
                Relation::ContainsKey { column, value } => {
                    if let Some(i) = t.column(column)
                        && let ColumnType::Map(k, _) = &t.columns[i].typ
                    {
                        self.term(value, &k.clone(), column);
                    }
                }
                Relation::Token { value, .. } => self.term(value, &ColumnType::Bigint, "partition key token"),
                Relation::MultiCompare { columns, value, .. } => {
                    let types: Vec<ColumnType> =
                        columns.iter().filter_map(|c| t.column(c)).map(|i| t.columns[i].typ.clone()).collect();
                    self.term(value, &ColumnType::Tuple(types), &format!("({})", columns.join(",")));
                }
                Relation::MultiIn { columns, values } => {
                    let types: Vec<ColumnType> =
                        columns.iter().filter_map(|c| t.column(c)).map(|i| t.columns[i].typ.clone()).collect();
                    if let InValues::List(items) = values {
                        items.iter().for_each(|v| self.term(v, &ColumnType::Tuple(types.clone()), "in"));
                    }
                }
            }
        }
    }

    fn using(&mut self, u: &crate::testkit::cql::Using) {
        if let Some(t) = &u.ttl {
            self.term(t, &ColumnType::Int, "[ttl]");
        }
        if let Some(t) = &u.timestamp {
            self.term(t, &ColumnType::Bigint, "[timestamp]");
        }
    }

    fn insert(&mut self, t: &TableSchema, i: &Insert) {
        for (c, v) in i.columns.iter().zip(&i.values) {
            self.column(t, c, v);
        }
        self.using(&i.using);
    }

    fn modification(&mut self, t: &TableSchema, m: &Modification) {
        match m {
            Modification::Insert(i) => self.insert(t, i),
            Modification::Update(u) => {
                self.using(&u.using);
                for a in &u.assignments {
                    match a {
                        Assignment::Set { column, value }
                        | Assignment::Add { column, value }
                        | Assignment::Prepend { column, value } => {
                            if let Some(i) = t.column(column) {
                                let typ = match &t.columns[i].typ {
                                    ColumnType::Counter => ColumnType::Bigint,
                                    other => other.clone(),
                                };
                                self.term(value, &typ, column);
                            }
                        }
                        Assignment::Remove { column, value } => {
                            if let Some(i) = t.column(column) {
                                let typ = match &t.columns[i].typ {
                                    ColumnType::Counter => ColumnType::Bigint,
                                    ColumnType::Map(k, _) => ColumnType::Set(k.clone()),
                                    other => other.clone(),
                                };
                                self.term(value, &typ, column);
                            }
                        }
                        Assignment::SetElement { column, key, value } => {
                            if let Some(i) = t.column(column) {
                                let (kt, vt) = match &t.columns[i].typ {
                                    ColumnType::Map(k, v) => ((**k).clone(), (**v).clone()),
                                    ColumnType::List(e) => (ColumnType::Int, (**e).clone()),
                                    _ => continue,
                                };
                                self.term(key, &kt, &format!("key({column})"));
                                self.term(value, &vt, &format!("value({column})"));
                            }
                        }
                        Assignment::SetField { column, field, value } => {
                            if let Some(i) = t.column(column)
                                && let ColumnType::Udt(u) = &t.columns[i].typ
                                && let Some((_, ft)) = u.fields.iter().find(|(n, _)| n == field)
                            {
                                self.term(value, &ft.clone(), field);
                            }
                        }
                    }
                }
                self.relations(t, &u.where_clause);
                self.conditions(t, u.condition.as_ref());
            }
            Modification::Delete(d) => {
                for target in &d.targets {
                    if let Target::Element(column, key) = target
                        && let Some(i) = t.column(column)
                    {
                        let kt = match &t.columns[i].typ {
                            ColumnType::Map(k, _) => (**k).clone(),
                            _ => ColumnType::Int,
                        };
                        self.term(key, &kt, &format!("key({column})"));
                    }
                }
                self.using(&d.using);
                self.relations(t, &d.where_clause);
                self.conditions(t, d.condition.as_ref());
            }
        }
    }

    fn conditions(&mut self, t: &TableSchema, c: Option<&crate::testkit::cql::IfClause>) {
        if let Some(crate::testkit::cql::IfClause::Conditions(cs)) = c {
            for c in cs {
                if let Condition::Compare { target: Target::Column(column), value, .. } = c {
                    self.column(t, column, value);
                }
            }
        }
    }

    fn select(&mut self, t: &TableSchema, s: &Select) {
        self.relations(t, &s.where_clause);
        if let Some(l) = &s.limit {
            self.term(l, &ColumnType::Int, "[limit]");
        }
        if let Some(l) = &s.per_partition_limit {
            self.term(l, &ColumnType::Int, "[per_partition_limit]");
        }
    }

    /// Collects the markers of `stmt` (on table `t`, when it has one).
    pub(crate) fn visit(&mut self, t: Option<&'t TableSchema>, stmt: &CqlStatement) {
        self.table = t;
        let Some(t) = t else { return };
        match stmt {
            CqlStatement::Select(s) => self.select(t, s),
            CqlStatement::Insert(i) => self.insert(t, i),
            CqlStatement::Update(u) => self.modification(t, &Modification::Update(u.clone())),
            CqlStatement::Delete(d) => self.modification(t, &Modification::Delete(d.clone())),
            _ => {}
        }
    }

    /// Collects the markers of one statement of a batch.
    pub(crate) fn visit_modification(&mut self, t: &'t TableSchema, m: &Modification) {
        self.table = Some(t);
        self.modification(t, m);
    }

    pub(crate) fn finish(self) -> Result<Vec<ColumnSpec>, ExecError> {
        self.specs
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.ok_or_else(|| ExecError::invalid(format!("The test server cannot tell the type of bind marker {i}")))
            })
            .collect()
    }
}

/// Indexes of the markers that bind each partition key column by equality, in key
/// order; empty unless every partition key column is bound that way.
pub(crate) fn pk_indexes(t: &TableSchema, stmt: &CqlStatement) -> Vec<u16> {
    let mut found: Vec<Option<u16>> = vec![None; t.partition_key.len()];
    let mut note = |column: &str, term: &Term| {
        if let (Some(i), Term::Bind(m)) = (t.column(column), term)
            && t.columns[i].kind == ColumnKind::PartitionKey
        {
            found[t.columns[i].position as usize] = u16::try_from(m.index).ok();
        }
    };
    let rels: &[Relation] = match stmt {
        CqlStatement::Insert(i) => {
            for (c, v) in i.columns.iter().zip(&i.values) {
                note(c, v);
            }
            &[]
        }
        CqlStatement::Select(s) => &s.where_clause,
        CqlStatement::Update(u) => &u.where_clause,
        CqlStatement::Delete(d) => &d.where_clause,
        _ => &[],
    };
    for r in rels {
        if let Relation::Compare { column, op: Operator::Eq, value } = r {
            note(column, value);
        }
    }
    found.into_iter().collect::<Option<Vec<_>>>().unwrap_or_default()
}
