//! SELECT: restrictions, partition and row iteration in Cassandra's order, paging
//! (including the empty last page after a page that ends exactly at the data's end, as
//! Cassandra 5.0 pages), LIMIT, PER PARTITION LIMIT, DISTINCT, COUNT(*), ORDER BY, and
//! pages of a fault-injected length (`Params::page_rows`, including empty pages that
//! still carry a paging state).
//!
//! Works on one table's schema and contents, whoever owns them (user tables or the
//! generated system tables). Rows are copied from their stored encoding.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::{BufMut, Bytes, BytesMut};

use super::data::{ClusteringKey, Partition, PartitionKey, TableData, row_cells};
use super::eval::{Binds, eval};
use super::paging::PagingState;
use super::schema::{ColumnKind, TableSchema};
use super::{ExecError, Params};
use crate::protocol::ColumnType;
use crate::protocol::response::{ColumnSpec, Rows, RowsMetadata};
use crate::testkit::cql::{InValues, Operator, Order, Projection, Relation, Select, Selector, Term};
use crate::types::CqlValue;

/// One output column.
#[derive(Debug, Clone)]
enum OutputColumn {
    Column(usize),
    Token,
}

/// A per-row check.
#[derive(Debug)]
enum Filter {
    Cmp { col: usize, op: Operator, value: CqlValue },
    In { col: usize, values: Vec<CqlValue> },
    Contains { col: usize, value: CqlValue },
    ContainsKey { col: usize, value: CqlValue },
    Multi { cols: Vec<usize>, op: Operator, values: Vec<CqlValue> },
    MultiIn { cols: Vec<usize>, values: Vec<Vec<CqlValue>> },
}

/// The output columns of a SELECT: their specs, for PREPARE metadata too.
pub(crate) fn result_columns(t: &TableSchema, s: &Select) -> Result<Vec<ColumnSpec>, ExecError> {
    Ok(projection(t, s)?.1)
}

fn spec(t: &TableSchema, name: &str, typ: ColumnType) -> ColumnSpec {
    ColumnSpec::new(t.keyspace.clone(), t.name.clone(), name, typ)
}

fn projection(t: &TableSchema, s: &Select) -> Result<(Option<Vec<OutputColumn>>, Vec<ColumnSpec>), ExecError> {
    // `None` outputs = COUNT(*).
    match &s.projection {
        Projection::Wildcard => Ok((
            Some((0..t.columns.len()).map(OutputColumn::Column).collect()),
            t.columns.iter().map(|c| spec(t, &c.name, c.typ.clone())).collect(),
        )),
        Projection::Selectors(items) => {
            if items.iter().any(|i| matches!(i.selector, Selector::CountAll)) {
                if items.len() != 1 {
                    return Err(ExecError::invalid("COUNT(*) cannot be mixed with other selectors in the test server"));
                }
                let name = items[0].alias.clone().unwrap_or_else(|| "count".into());
                return Ok((None, vec![spec(t, &name, ColumnType::Bigint)]));
            }
            let mut outs = Vec::new();
            let mut specs = Vec::new();
            for item in items {
                match &item.selector {
                    Selector::Column(name) => {
                        let i = t.column_or_err(name)?;
                        outs.push(OutputColumn::Column(i));
                        specs.push(spec(t, item.alias.as_deref().unwrap_or(name), t.columns[i].typ.clone()));
                    }
                    Selector::Token(cols) => {
                        let pk: Vec<&str> = t.partition_key.iter().map(|&i| t.columns[i].name.as_str()).collect();
                        if cols.iter().map(String::as_str).ne(pk.iter().copied()) {
                            return Err(ExecError::invalid(
                                "The token function arguments must be the partition key columns, in order",
                            ));
                        }
                        outs.push(OutputColumn::Token);
                        let name = item.alias.clone().unwrap_or_else(|| format!("system.token({})", pk.join(", ")));
                        specs.push(spec(t, &name, ColumnType::Bigint));
                    }
                    other => {
                        return Err(ExecError::invalid(format!(
                            "Selector {other:?} is not supported by the test server"
                        )));
                    }
                }
            }
            Ok((Some(outs), specs))
        }
    }
}

fn eval_value(t: &TableSchema, col: usize, term: &Term, binds: &Binds<'_>) -> Result<CqlValue, ExecError> {
    let c = &t.columns[col];
    eval(term, &c.typ, binds, &c.name)?.into_value(&format!("column {}", c.name))
}

fn in_values(t: &TableSchema, col: usize, values: &InValues, binds: &Binds<'_>) -> Result<Vec<CqlValue>, ExecError> {
    match values {
        InValues::List(terms) => terms.iter().map(|v| eval_value(t, col, v, binds)).collect(),
        InValues::Marker(m) => {
            let list_type = ColumnType::List(Box::new(t.columns[col].typ.clone()));
            match eval(&Term::Bind(m.clone()), &list_type, binds, &t.columns[col].name)? {
                super::eval::TermValue::Value(CqlValue::List(v)) => Ok(v),
                _ => Ok(Vec::new()),
            }
        }
    }
}

fn tuple_values(t: &TableSchema, cols: &[usize], term: &Term, binds: &Binds<'_>) -> Result<Vec<CqlValue>, ExecError> {
    let typ = ColumnType::Tuple(cols.iter().map(|&c| t.columns[c].typ.clone()).collect());
    match eval(term, &typ, binds, "tuple")?.into_value("tuple")? {
        CqlValue::Tuple(items) => {
            items.into_iter().map(|v| v.ok_or_else(|| ExecError::invalid("Invalid null value in tuple"))).collect()
        }
        _ => Err(ExecError::invalid("Expected a tuple")),
    }
}

/// Restrictions of a WHERE clause, split into what selects partitions and what
/// filters rows.
pub(crate) struct Restrictions {
    /// Allowed values per partition key column, when every one is restricted by = or IN.
    pub(crate) partitions: Option<Vec<PartitionKey>>,
    token: Vec<(Operator, i64)>,
    filters: Vec<Filter>,
    /// Whether evaluating it needs ALLOW FILTERING.
    pub(crate) needs_filtering: bool,
}

pub(crate) fn restrictions(t: &TableSchema, rels: &[Relation], binds: &Binds<'_>) -> Result<Restrictions, ExecError> {
    let mut pk_vals: Vec<Option<Vec<CqlValue>>> = vec![None; t.partition_key.len()];
    let mut ck_eq: Vec<Option<Vec<CqlValue>>> = vec![None; t.clustering.len()];
    let mut token = Vec::new();
    let mut filters = Vec::new();
    let mut regular = false;
    let mut ck_cols = Vec::new();
    for rel in rels {
        match rel {
            Relation::Compare { column, op, value } => {
                let col = t.column_or_err(column)?;
                let v = eval_value(t, col, value, binds)?;
                match (t.columns[col].kind, op) {
                    (ColumnKind::PartitionKey, Operator::Eq) => {
                        pk_vals[t.columns[col].position as usize] = Some(vec![v])
                    }
                    (kind, op) => {
                        if kind == ColumnKind::PartitionKey {
                            return Err(ExecError::invalid(format!(
                                "Only EQ and IN relation are supported on the partition key (unless you use the token() function or ALLOW FILTERING): {column}"
                            )));
                        }
                        if kind == ColumnKind::Clustering {
                            ck_cols.push(t.columns[col].position as usize);
                            if *op == Operator::Eq {
                                ck_eq[t.columns[col].position as usize] = Some(vec![v.clone()]);
                            }
                        } else {
                            regular = true;
                        }
                        filters.push(Filter::Cmp { col, op: *op, value: v });
                    }
                }
            }
            Relation::In { column, values } => {
                let col = t.column_or_err(column)?;
                let vals = in_values(t, col, values, binds)?;
                match t.columns[col].kind {
                    ColumnKind::PartitionKey => pk_vals[t.columns[col].position as usize] = Some(vals),
                    kind => {
                        if kind == ColumnKind::Clustering {
                            ck_cols.push(t.columns[col].position as usize);
                            ck_eq[t.columns[col].position as usize] = Some(vals.clone());
                        } else {
                            regular = true;
                        }
                        filters.push(Filter::In { col, values: vals });
                    }
                }
            }
            Relation::Contains { column, value } => {
                let col = t.column_or_err(column)?;
                let elem = match &t.columns[col].typ {
                    ColumnType::List(e) | ColumnType::Set(e) | ColumnType::Map(_, e) => (**e).clone(),
                    other => {
                        return Err(ExecError::invalid(format!(
                            "Cannot use CONTAINS on non-collection column {column} ({other})"
                        )));
                    }
                };
                let v = eval(value, &elem, binds, column)?.into_value(column)?;
                regular = true;
                filters.push(Filter::Contains { col, value: v });
            }
            Relation::ContainsKey { column, value } => {
                let col = t.column_or_err(column)?;
                let ColumnType::Map(k, _) = &t.columns[col].typ else {
                    return Err(ExecError::invalid(format!("Cannot use CONTAINS KEY on non-map column {column}")));
                };
                let v = eval(value, k, binds, column)?.into_value(column)?;
                regular = true;
                filters.push(Filter::ContainsKey { col, value: v });
            }
            Relation::Token { columns, op, value } => {
                let pk: Vec<&str> = t.partition_key.iter().map(|&i| t.columns[i].name.as_str()).collect();
                if columns.iter().map(String::as_str).ne(pk.iter().copied()) {
                    return Err(ExecError::invalid(
                        "The token function arguments must be the partition key columns, in order",
                    ));
                }
                match eval(value, &ColumnType::Bigint, binds, "partition key token")?.into_value("token")? {
                    CqlValue::Bigint(n) => token.push((*op, n)),
                    _ => return Err(ExecError::invalid("token() must be compared with a bigint")),
                }
            }
            Relation::MultiCompare { columns, op, value } => {
                let cols = columns.iter().map(|c| t.column_or_err(c)).collect::<Result<Vec<_>, _>>()?;
                if cols.iter().any(|&c| t.columns[c].kind != ColumnKind::Clustering) {
                    return Err(ExecError::invalid("Multi-column relations can only be applied to clustering columns"));
                }
                ck_cols.extend(cols.iter().map(|&c| t.columns[c].position as usize));
                let values = tuple_values(t, &cols, value, binds)?;
                filters.push(Filter::Multi { cols, op: *op, values });
            }
            Relation::MultiIn { columns, values } => {
                let cols = columns.iter().map(|c| t.column_or_err(c)).collect::<Result<Vec<_>, _>>()?;
                ck_cols.extend(cols.iter().map(|&c| t.columns[c].position as usize));
                let tuples = match values {
                    InValues::List(terms) => {
                        terms.iter().map(|v| tuple_values(t, &cols, v, binds)).collect::<Result<Vec<_>, _>>()?
                    }
                    InValues::Marker(_) => {
                        return Err(ExecError::invalid("IN ? on several columns is not supported by the test server"));
                    }
                };
                filters.push(Filter::MultiIn { cols, values: tuples });
            }
        }
    }
    let restricted = pk_vals.iter().filter(|v| v.is_some()).count();
    let full_pk = restricted == pk_vals.len();
    let partitions = if full_pk {
        let mut keys: Vec<PartitionKey> = Vec::new();
        let mut combos: Vec<Vec<Bytes>> = vec![Vec::new()];
        for (pos, vals) in pk_vals.iter().enumerate() {
            let typ = &t.columns[t.partition_key[pos]].typ;
            let mut next = Vec::new();
            for combo in &combos {
                for v in vals.iter().flatten() {
                    let mut b = BytesMut::new();
                    v.encode(typ, &mut b).map_err(|e| ExecError::invalid(e.to_string()))?;
                    let mut c = combo.clone();
                    c.push(b.freeze());
                    next.push(c);
                }
            }
            combos = next;
        }
        for c in combos {
            keys.push(PartitionKey::of_cells(&c));
        }
        keys.sort();
        keys.dedup();
        Some(keys)
    } else {
        None
    };
    // Clustering restrictions are only index lookups when they follow an
    // equality-restricted prefix inside restricted partitions.
    ck_cols.sort_unstable();
    ck_cols.dedup();
    let prefix_ok =
        ck_cols.iter().enumerate().all(|(i, &c)| c == i) && ck_cols.iter().rev().skip(1).all(|&c| ck_eq[c].is_some());
    let needs_filtering = regular || (restricted > 0 && !full_pk) || (!ck_cols.is_empty() && (!full_pk || !prefix_ok));
    Ok(Restrictions { partitions, token, filters, needs_filtering })
}

fn op_holds(op: Operator, o: Ordering) -> bool {
    match op {
        Operator::Eq => o == Ordering::Equal,
        Operator::Ne => o != Ordering::Equal,
        Operator::Lt => o == Ordering::Less,
        Operator::Le => o != Ordering::Greater,
        Operator::Gt => o == Ordering::Greater,
        Operator::Ge => o != Ordering::Less,
    }
}

impl Restrictions {
    fn token_ok(&self, token: i64) -> bool {
        self.token.iter().all(|(op, v)| op_holds(*op, token.cmp(v)))
    }

    /// Whether a row (its cells, with statics merged) passes every filter.
    pub(crate) fn row_ok(&self, t: &TableSchema, cells: &[Option<&[u8]>]) -> bool {
        let value =
            |col: usize| cells.get(col).copied().flatten().and_then(|b| CqlValue::decode(&t.columns[col].typ, b).ok());
        self.filters.iter().all(|f| match f {
            Filter::Cmp { col, op, value: v } => value(*col).is_some_and(|x| op_holds(*op, x.cql_cmp(v))),
            Filter::In { col, values } => {
                value(*col).is_some_and(|x| values.iter().any(|v| x.cql_cmp(v) == Ordering::Equal))
            }
            Filter::Contains { col, value: v } => match value(*col) {
                Some(CqlValue::List(items) | CqlValue::Set(items)) => {
                    items.iter().any(|x| x.cql_cmp(v) == Ordering::Equal)
                }
                Some(CqlValue::Map(entries)) => entries.iter().any(|(_, x)| x.cql_cmp(v) == Ordering::Equal),
                _ => false,
            },
            Filter::ContainsKey { col, value: v } => match value(*col) {
                Some(CqlValue::Map(entries)) => entries.iter().any(|(k, _)| k.cql_cmp(v) == Ordering::Equal),
                _ => false,
            },
            Filter::Multi { cols, op, values } => {
                let mut o = Ordering::Equal;
                for (c, v) in cols.iter().zip(values) {
                    let Some(x) = value(*c) else { return false };
                    let mut oc = x.cql_cmp(v);
                    if t.columns[*c].desc {
                        oc = oc.reverse();
                    }
                    if oc != Ordering::Equal {
                        o = oc;
                        break;
                    }
                }
                op_holds(*op, o)
            }
            Filter::MultiIn { cols, values } => values.iter().any(|tuple| {
                cols.iter().zip(tuple).all(|(c, v)| value(*c).is_some_and(|x| x.cql_cmp(v) == Ordering::Equal))
            }),
        })
    }
}

/// Cells of a stored row with the partition's static cells merged in.
pub(crate) fn merged_cells<'a>(t: &TableSchema, part: &'a Partition, row: &'a [u8]) -> Vec<Option<&'a [u8]>> {
    let mut cells = row_cells(row, t.columns.len());
    if t.has_statics {
        for (i, c) in t.columns.iter().enumerate() {
            if c.kind == ColumnKind::Static {
                cells[i] = part.statics.get(&i).map(|b| &b[..]);
            }
        }
    }
    cells
}

fn positive_int(term: &Option<Term>, binds: &Binds<'_>, what: &str) -> Result<Option<u32>, ExecError> {
    let Some(term) = term else { return Ok(None) };
    match eval(term, &ColumnType::Int, binds, what)? {
        super::eval::TermValue::Value(CqlValue::Int(n)) if n > 0 => Ok(Some(n as u32)),
        super::eval::TermValue::Value(_) => Err(ExecError::invalid(format!("{what} must be strictly positive"))),
        _ => Ok(None),
    }
}

/// Runs a SELECT and returns one page.
pub(crate) fn run(
    t: &TableSchema,
    data: &TableData,
    s: &Select,
    binds: &Binds<'_>,
    params: &Params<'_>,
    system: bool,
) -> Result<Rows, ExecError> {
    let (outs, specs) = projection(t, s)?;
    let r = restrictions(t, &s.where_clause, binds)?;
    if r.needs_filtering && !s.allow_filtering && !system {
        return Err(ExecError::invalid(
            "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING",
        ));
    }
    let limit = positive_int(&s.limit, binds, "LIMIT")?;
    let per_partition = positive_int(&s.per_partition_limit, binds, "PER PARTITION LIMIT")?;
    let reverse = match s.order_by.first() {
        None => false,
        Some(_) => {
            if r.partitions.is_none() {
                return Err(ExecError::invalid(
                    "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
                ));
            }
            let mut rev = None;
            for (i, (name, order)) in s.order_by.iter().enumerate() {
                let col = t.column_or_err(name)?;
                if t.clustering.get(i) != Some(&col) {
                    return Err(ExecError::invalid(
                        "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
                    ));
                }
                let this = (*order == Order::Desc) != t.columns[col].desc;
                if rev.is_some_and(|r| r != this) {
                    return Err(ExecError::invalid(format!("Unsupported order by relation on {name}")));
                }
                rev = Some(this);
            }
            rev.unwrap_or(false)
        }
    };

    let Some(outs) = outs else {
        return count_rows(t, data, &r, limit, specs);
    };
    let page_size = match params.page_rows {
        Some(n) => Some(n),
        None => params.page_size.filter(|n| *n > 0).map(|n| n as usize),
    };
    let state = params.paging_state.map(PagingState::decode).transpose()?;
    let mut remaining = match &state {
        Some(st) => st.remaining,
        None => limit,
    };
    let page_no = state.as_ref().map_or(0, |s| s.page);
    let resume = match &state {
        Some(st) if !st.before_first => Some((
            PartitionKey { token: st.token, key: st.partition.clone() },
            if st.clustering.is_empty() { None } else { Some(clustering_key(t, &st.clustering)?) },
            st.in_partition,
        )),
        _ => None,
    };
    if remaining == Some(0) {
        return finish(specs, Bytes::new(), 0, None);
    }
    if page_size == Some(0) {
        // An empty page that says more may follow (Cassandra sends these when a page's
        // window held only tombstones or filtered-out rows): the next page starts where
        // this one would have.
        let next = match state {
            Some(st) => PagingState { page: st.page.saturating_add(1), ..st },
            None => PagingState::start(1, remaining),
        };
        return finish(specs, Bytes::new(), 0, Some(next));
    }

    // A stored row is every column's cell in schema order: when that is what the
    // projection asks for, a row is served by copying it whole.
    let whole_rows = !t.has_statics
        && (matches!(s.projection, Projection::Wildcard)
            || (outs.len() == t.columns.len()
                && outs.iter().enumerate().all(|(i, o)| matches!(o, OutputColumn::Column(c) if *c == i))));
    let need_cells = !whole_rows || !r.filters.is_empty();
    let mut content = BytesMut::new();
    let mut count = 0usize;
    let mut last: Option<(&PartitionKey, Option<&ClusteringKey>, u32)> = None;
    let mut more = false;

    let candidates: Box<dyn Iterator<Item = (&PartitionKey, &Partition)>> = match &r.partitions {
        Some(keys) => Box::new(keys.iter().filter_map(|k| data.get_key_value(k))),
        None => match &resume {
            Some((pk, _, _)) => Box::new(data.range_from(pk)),
            None => Box::new(data.iter()),
        },
    };
    'partitions: for (pk, part) in candidates {
        if !r.token_ok(pk.token) {
            continue;
        }
        let (rows, mut served): (Box<dyn Iterator<Item = (&ClusteringKey, &Bytes)>>, u32) = match &resume {
            Some((rpk, _, _)) if pk < rpk => continue,
            Some((rpk, None, _)) if pk == rpk => continue,
            Some((rpk, Some(ck), n)) if pk == rpk => (after(&part.rows, ck, reverse), *n),
            _ => (if reverse { Box::new(part.rows.iter().rev()) } else { Box::new(part.rows.iter()) }, 0),
        };
        for (ck, row) in rows {
            if per_partition.is_some_and(|p| served >= p) || (s.distinct && served >= 1) {
                break;
            }
            let cells = if need_cells { merged_cells(t, part, row) } else { Vec::new() };
            if !r.row_ok(t, &cells) {
                continue;
            }
            if count == 0 {
                // Room for the page at this row's size, so it is not regrown row by row.
                let expected = page_size.unwrap_or(1).min(remaining.map_or(usize::MAX, |n| n as usize)).min(10_000);
                content.reserve(expected.saturating_mul(row.len() + 8));
            }
            if whole_rows {
                content.put_slice(row);
            } else {
                for o in &outs {
                    match o {
                        OutputColumn::Column(i) => match cells[*i] {
                            Some(b) => {
                                content.put_i32(b.len() as i32);
                                content.put_slice(b);
                            }
                            None => content.put_i32(-1),
                        },
                        OutputColumn::Token => {
                            content.put_i32(8);
                            content.put_i64(pk.token);
                        }
                    }
                }
            }
            count += 1;
            served += 1;
            last = Some((pk, (!t.clustering.is_empty() && !s.distinct).then_some(ck), served));
            if let Some(rem) = remaining.as_mut() {
                *rem -= 1;
                if *rem == 0 {
                    break 'partitions;
                }
            }
            // A full page says more may follow without looking further: the next
            // request finds out, and gets an empty last page if nothing is left.
            if page_size.is_some_and(|p| count >= p) {
                more = true;
                break 'partitions;
            }
        }
    }
    let paging = match (more, last) {
        (true, Some((pk, ck, served))) => Some(PagingState {
            page: page_no.saturating_add(1),
            remaining,
            in_partition: served,
            token: pk.token,
            partition: pk.key.clone(),
            clustering: ck.map(|ck| clustering_cells(t, ck)).transpose()?.unwrap_or_default(),
            before_first: false,
        }),
        _ => None,
    };
    finish(specs, content.freeze(), count, paging)
}

fn after<'a>(
    rows: &'a BTreeMap<ClusteringKey, Bytes>,
    ck: &ClusteringKey,
    reverse: bool,
) -> Box<dyn Iterator<Item = (&'a ClusteringKey, &'a Bytes)> + 'a> {
    if reverse {
        Box::new(rows.range((Bound::Unbounded, Bound::Excluded(ck.clone()))).rev())
    } else {
        Box::new(rows.range((Bound::Excluded(ck.clone()), Bound::Unbounded)))
    }
}

fn clustering_cells(t: &TableSchema, ck: &ClusteringKey) -> Result<Vec<Bytes>, ExecError> {
    ck.values
        .iter()
        .zip(&t.clustering)
        .map(|(v, &c)| {
            let mut b = BytesMut::new();
            v.encode(&t.columns[c].typ, &mut b).map_err(|e| ExecError::server(e.to_string()))?;
            Ok(b.freeze())
        })
        .collect()
}

fn clustering_key(t: &TableSchema, cells: &[Bytes]) -> Result<ClusteringKey, ExecError> {
    let values = cells
        .iter()
        .zip(&t.clustering)
        .map(|(b, &c)| {
            CqlValue::decode(&t.columns[c].typ, b)
                .map_err(|_| ExecError::protocol("Invalid value for the paging state"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClusteringKey { values, desc: t.clustering_desc.clone() })
}

fn count_rows(
    t: &TableSchema,
    data: &TableData,
    r: &Restrictions,
    limit: Option<u32>,
    specs: Vec<ColumnSpec>,
) -> Result<Rows, ExecError> {
    let mut n: i64 = 0;
    let parts: Box<dyn Iterator<Item = &Partition>> = match &r.partitions {
        Some(keys) => Box::new(keys.iter().filter_map(|k| data.get(k))),
        None => Box::new(data.iter().filter(|(k, _)| r.token_ok(k.token)).map(|(_, p)| p)),
    };
    'outer: for part in parts {
        for row in part.rows.values() {
            if r.filters.is_empty() || r.row_ok(t, &merged_cells(t, part, row)) {
                n += 1;
                if limit.is_some_and(|l| n >= i64::from(l)) {
                    break 'outer;
                }
            }
        }
    }
    let mut content = BytesMut::new();
    content.put_i32(8);
    content.put_i64(n);
    finish(specs, content.freeze(), 1, None)
}

fn finish(
    specs: Vec<ColumnSpec>,
    content: Bytes,
    count: usize,
    paging: Option<PagingState>,
) -> Result<Rows, ExecError> {
    let mut metadata = RowsMetadata::new(specs);
    metadata.paging_state = paging.map(|p| p.encode());
    Rows::new(metadata, count, content).map_err(|e| ExecError::server(format!("building the page: {e}")))
}
