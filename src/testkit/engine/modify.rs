//! INSERT, UPDATE and DELETE: key resolution, cell writes (including collection and
//! counter operations and static columns), and the `[applied]` result of conditional
//! statements.
//!
//! Operates on one table's schema and contents; locking and dispatch are the caller's.

use bytes::{BufMut, Bytes, BytesMut};

use super::ExecError;
use super::data::{ClusteringKey, Partition, PartitionKey, TableData, encode_row, row_cells};
use super::eval::{Binds, TermValue, eval};
use super::schema::{ColumnKind, TableSchema};
use super::select::{merged_cells, restrictions};
use crate::protocol::ColumnType;
use crate::protocol::message::encode_exact;
use crate::protocol::response::{ColumnSpec, Rows, RowsMetadata};
use crate::testkit::cql::{
    Assignment, Condition, Delete, IfClause, InValues, Insert, Operator, Relation, Target, Term, Update,
};
use crate::types::CqlValue;

fn encode(t: &TableSchema, col: usize, v: &CqlValue) -> Result<Bytes, ExecError> {
    encode_exact(|b| {
        v.encode(&t.columns[col].typ, b)
            .map_err(|e| ExecError::invalid(format!("Invalid value for column {}: {e}", t.columns[col].name)))
    })
}

fn decode(t: &TableSchema, col: usize, b: Option<&[u8]>) -> Option<CqlValue> {
    b.and_then(|b| CqlValue::decode(&t.columns[col].typ, b).ok())
}

/// A resolved primary key: partition and clustering values, encoded.
struct RowKey {
    partition: PartitionKey,
    pk_cells: Vec<Bytes>,
    clustering: ClusteringKey,
    ck_cells: Vec<Bytes>,
}

/// The one value of each list, when every list has exactly one.
fn single_values(lists: &[Vec<CqlValue>]) -> Option<impl Iterator<Item = &CqlValue>> {
    lists.iter().all(|l| l.len() == 1).then(|| lists.iter().filter_map(|l| l.first()))
}

/// Every combination of one value from each list, the first list varying slowest
/// (an `IN` on several key columns); one empty combination for no lists.
fn cartesian(lists: &[Vec<CqlValue>]) -> Vec<Vec<CqlValue>> {
    let total = lists.iter().map(Vec::len).product();
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return out;
    }
    // An odometer over the lists, the last one turning fastest.
    let mut at = vec![0usize; lists.len()];
    loop {
        out.push(lists.iter().zip(&at).filter_map(|(l, &i)| l.get(i).cloned()).collect());
        let mut k = lists.len();
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            at[k] += 1;
            if at[k] < lists[k].len() {
                break;
            }
            at[k] = 0;
        }
    }
}

fn make_keys(t: &TableSchema, pk: &[Vec<CqlValue>], ck: &[Vec<CqlValue>]) -> Result<Vec<RowKey>, ExecError> {
    if let (Some(p), Some(c)) = (single_values(pk), single_values(ck)) {
        // The usual case, no IN: one key, no combinations to build.
        let pk_cells = encode_cells(t, p, &t.partition_key)?;
        return Ok(vec![key(t, PartitionKey::of_cells(&pk_cells), pk_cells, c.cloned().collect())?]);
    }
    let mut keys = Vec::new();
    for p in cartesian(pk) {
        let pk_cells = encode_cells(t, &p, &t.partition_key)?;
        let partition = PartitionKey::of_cells(&pk_cells);
        for c in cartesian(ck) {
            keys.push(key(t, partition.clone(), pk_cells.clone(), c)?);
        }
    }
    Ok(keys)
}

/// `values` encoded as the columns `cols` hold them.
fn encode_cells<'v>(
    t: &TableSchema,
    values: impl IntoIterator<Item = &'v CqlValue>,
    cols: &[usize],
) -> Result<Vec<Bytes>, ExecError> {
    values.into_iter().zip(cols).map(|(v, &c)| encode(t, c, v)).collect()
}

/// The key of a row in partition `partition` (whose key cells are `pk_cells`) with
/// clustering values `values`.
fn key(
    t: &TableSchema,
    partition: PartitionKey,
    pk_cells: Vec<Bytes>,
    values: Vec<CqlValue>,
) -> Result<RowKey, ExecError> {
    let ck_cells = encode_cells(t, &values, &t.clustering)?;
    Ok(RowKey { partition, pk_cells, clustering: ClusteringKey { values, desc: t.clustering_desc.clone() }, ck_cells })
}

fn key_value(t: &TableSchema, col: usize, term: &Term, binds: &Binds<'_>) -> Result<CqlValue, ExecError> {
    let c = &t.columns[col];
    match eval(term, &c.typ, binds, &c.name)? {
        TermValue::Value(v) => Ok(v),
        _ => Err(ExecError::invalid(format!("Invalid null value for {} part {}", kind_name(c.kind), c.name))),
    }
}

fn kind_name(k: ColumnKind) -> &'static str {
    match k {
        ColumnKind::PartitionKey => "partition key",
        _ => "clustering column",
    }
}

/// Key values of a WHERE clause: per partition key column, per clustering column (if
/// restricted), and whether other relations remain.
type WhereKeys = (Vec<Vec<CqlValue>>, Vec<Option<Vec<CqlValue>>>, bool);

/// Key values from a WHERE clause of = and IN; `Err` names what is missing.
fn where_keys(t: &TableSchema, rels: &[Relation], binds: &Binds<'_>) -> Result<WhereKeys, ExecError> {
    let mut pk: Vec<Option<Vec<CqlValue>>> = vec![None; t.partition_key.len()];
    let mut ck: Vec<Option<Vec<CqlValue>>> = vec![None; t.clustering.len()];
    let mut other = false;
    for rel in rels {
        match rel {
            Relation::Compare { column, op: Operator::Eq, value } => {
                let col = t.column_or_err(column)?;
                let v = key_value(t, col, value, binds)?;
                match t.columns[col].kind {
                    ColumnKind::PartitionKey => pk[t.columns[col].position as usize] = Some(vec![v]),
                    ColumnKind::Clustering => ck[t.columns[col].position as usize] = Some(vec![v]),
                    _ => {
                        return Err(ExecError::invalid(format!(
                            "Non PRIMARY KEY columns found in where clause: {column} "
                        )));
                    }
                }
            }
            Relation::In { column, values } => {
                let col = t.column_or_err(column)?;
                let vals = match values {
                    InValues::List(terms) => {
                        terms.iter().map(|v| key_value(t, col, v, binds)).collect::<Result<Vec<_>, _>>()?
                    }
                    InValues::Marker(m) => {
                        let lt = ColumnType::List(Box::new(t.columns[col].typ.clone()));
                        match eval(&Term::Bind(m.clone()), &lt, binds, column)? {
                            TermValue::Value(CqlValue::List(v)) => v,
                            _ => Vec::new(),
                        }
                    }
                };
                match t.columns[col].kind {
                    ColumnKind::PartitionKey => pk[t.columns[col].position as usize] = Some(vals),
                    ColumnKind::Clustering => ck[t.columns[col].position as usize] = Some(vals),
                    _ => {
                        return Err(ExecError::invalid(format!(
                            "Non PRIMARY KEY columns found in where clause: {column} "
                        )));
                    }
                }
            }
            _ => other = true,
        }
    }
    Ok((require_all(t, pk, &t.partition_key, "partition key parts")?, ck, other))
}

/// Every column of `cols` (partition or clustering key) must be restricted; the
/// error lists the ones that are not, in Cassandra's words.
fn require_all(
    t: &TableSchema,
    vals: Vec<Option<Vec<CqlValue>>>,
    cols: &[usize],
    what: &str,
) -> Result<Vec<Vec<CqlValue>>, ExecError> {
    let missing: Vec<&str> =
        vals.iter().zip(cols).filter(|(v, _)| v.is_none()).map(|(_, &c)| t.columns[c].name.as_str()).collect();
    if !missing.is_empty() {
        return Err(ExecError::invalid(format!("Some {what} are missing: {}", missing.join(", "))));
    }
    Ok(vals.into_iter().flatten().collect())
}

fn full_clustering(t: &TableSchema, ck: Vec<Option<Vec<CqlValue>>>) -> Result<Vec<Vec<CqlValue>>, ExecError> {
    require_all(t, ck, &t.clustering, "clustering keys")
}

/// A read-modify-write of one cell's value (collections, counters, UDT fields).
type CellFn = Box<dyn Fn(Option<CqlValue>) -> Result<Option<CqlValue>, ExecError>>;

/// What a write does to one cell.
enum Change<'a> {
    Set(Option<Cell<'a>>),
    Apply(CellFn),
}

/// A value to store: the bytes a client bound (borrowed from the request until copied
/// into the row), or one the server encoded.
enum Cell<'a> {
    Bound(&'a [u8]),
    Encoded(Bytes),
}

impl Cell<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Cell::Bound(b) => b,
            Cell::Encoded(b) => b,
        }
    }
}

/// Writes the changes to the row at `key`, creating it if needed.
fn write(
    t: &TableSchema,
    data: &mut TableData,
    key: &RowKey,
    changes: &[(usize, &Change<'_>)],
) -> Result<(), ExecError> {
    let part = data.entry(&key.partition);
    // The stored row (a refcount, not a copy): its cells are read in place, unless the
    // statement sets every column the key does not (a plain INSERT), which leaves
    // nothing of it to keep.
    let overwrites_all = t.columns.iter().enumerate().all(|(i, c)| {
        matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering)
            || changes.iter().any(|(col, ch)| *col == i && matches!(ch, Change::Set(_)))
    });
    let existing = if overwrites_all { None } else { part.rows.get(&key.clustering).cloned() };
    let mut cells: Vec<Option<&[u8]>> = match &existing {
        Some(row) => row_cells(row, t.columns.len()),
        None => vec![None; t.columns.len()],
    };
    for (i, &c) in t.partition_key.iter().enumerate() {
        cells[c] = Some(&key.pk_cells[i]);
    }
    for (i, &c) in t.clustering.iter().enumerate() {
        cells[c] = Some(&key.ck_cells[i]);
    }
    // Values computed from the current ones (`SET c = c + ...`), which the cells borrow.
    let mut computed: Vec<(usize, Option<Bytes>)> = Vec::new();
    let mut row_changed = existing.is_none() || overwrites_all;
    for (col, change) in changes {
        let is_static = t.columns[*col].kind == ColumnKind::Static;
        match change {
            Change::Set(v) if is_static => {
                match v {
                    Some(c) => part.statics.insert(*col, Bytes::copy_from_slice(c.bytes())),
                    None => part.statics.remove(col),
                };
            }
            Change::Set(v) => {
                computed.retain(|(c, _)| c != col);
                cells[*col] = v.as_ref().map(Cell::bytes);
                row_changed = true;
            }
            Change::Apply(f) => {
                // The latest value: an earlier change of this statement to the same
                // column (`SET m['a'] = 1, m['b'] = 2`) counts.
                let current = if is_static {
                    part.statics.get(col).map(|b| &b[..])
                } else {
                    match computed.iter().rev().find(|(c, _)| c == col) {
                        Some((_, v)) => v.as_deref(),
                        None => cells[*col],
                    }
                };
                let new = match f(decode(t, *col, current))? {
                    Some(v) if !v.is_empty_collection() => Some(encode(t, *col, &v)?),
                    _ => None,
                };
                if is_static {
                    match new {
                        Some(v) => part.statics.insert(*col, v),
                        None => part.statics.remove(col),
                    };
                } else {
                    computed.push((*col, new));
                    row_changed = true;
                }
            }
        }
    }
    // A statement that only touches static columns of a table with clustering columns
    // creates no row.
    if row_changed && (t.clustering.is_empty() || key.ck_cells.len() == t.clustering.len()) {
        for (col, v) in &computed {
            cells[*col] = v.as_deref();
        }
        let row = encode_row(cells.iter().copied());
        part.rows.insert(key.clustering.clone(), row);
    }
    if part.rows.is_empty() && part.statics.is_empty() {
        data.remove(&key.partition);
    }
    Ok(())
}

trait EmptyCollection {
    fn is_empty_collection(&self) -> bool;
}

impl EmptyCollection for CqlValue {
    /// Cassandra stores an empty (non-frozen) collection as no value at all.
    fn is_empty_collection(&self) -> bool {
        matches!(self, CqlValue::List(v) | CqlValue::Set(v) if v.is_empty())
            || matches!(self, CqlValue::Map(m) if m.is_empty())
    }
}

fn row_exists(data: &TableData, key: &RowKey) -> Option<Bytes> {
    data.get(&key.partition).and_then(|p| p.rows.get(&key.clustering)).cloned()
}

/// The `[applied]` result of a conditional statement, with the existing row's columns
/// when it was not applied.
fn applied(t: &TableSchema, ok: bool, existing: Option<&[u8]>, part: Option<&Partition>) -> Result<Rows, ExecError> {
    let mut specs = vec![ColumnSpec::new(t.keyspace.clone(), t.name.clone(), "[applied]", ColumnType::Boolean)];
    let mut content = BytesMut::new();
    content.put_i32(1);
    content.put_u8(u8::from(ok));
    if let (false, Some(row), Some(part)) = (ok, existing, part) {
        for c in &t.columns {
            specs.push(ColumnSpec::new(t.keyspace.clone(), t.name.clone(), c.name.clone(), c.typ.clone()));
        }
        for cell in merged_cells(t, part, row) {
            match cell {
                Some(b) => {
                    content.put_i32(b.len() as i32);
                    content.put_slice(b);
                }
                None => content.put_i32(-1),
            }
        }
    }
    Rows::new(RowsMetadata::new(specs), 1, content.freeze()).map_err(|e| ExecError::server(e.to_string()))
}

/// INSERT. Returns the `[applied]` rows for IF NOT EXISTS.
pub(crate) fn insert(
    t: &TableSchema,
    data: &mut TableData,
    ins: &Insert,
    binds: &Binds<'_>,
) -> Result<Option<Rows>, ExecError> {
    if t.is_counter {
        return Err(ExecError::invalid("INSERT statements are not allowed on counter tables, use UPDATE instead"));
    }
    if ins.columns.len() != ins.values.len() {
        return Err(ExecError::invalid("Unmatched column names/values"));
    }
    let mut pk: Vec<Option<Vec<CqlValue>>> = vec![None; t.partition_key.len()];
    let mut ck: Vec<Option<Vec<CqlValue>>> = vec![None; t.clustering.len()];
    let mut changes = Vec::new();
    for (name, term) in ins.columns.iter().zip(&ins.values) {
        let col = t.column_or_err(name)?;
        let c = &t.columns[col];
        match c.kind {
            ColumnKind::PartitionKey => pk[c.position as usize] = Some(vec![key_value(t, col, term, binds)?]),
            ColumnKind::Clustering => ck[c.position as usize] = Some(vec![key_value(t, col, term, binds)?]),
            _ => match binds.raw_scalar(term, &c.typ) {
                Some(b) => changes.push((col, Change::Set(Some(Cell::Bound(b))))),
                None => match eval(term, &c.typ, binds, &c.name)? {
                    TermValue::Unset => {}
                    TermValue::Null => changes.push((col, Change::Set(None))),
                    TermValue::Value(v) if v.is_empty_collection() => changes.push((col, Change::Set(None))),
                    TermValue::Value(v) => changes.push((col, Change::Set(Some(Cell::Encoded(encode(t, col, &v)?))))),
                },
            },
        }
    }
    let pk = require_all(t, pk, &t.partition_key, "partition key parts")?;
    let ck = full_clustering(t, ck)?;
    let keys = make_keys(t, &pk, &ck)?;
    let refs: Vec<(usize, &Change<'_>)> = changes.iter().map(|(c, ch)| (*c, ch)).collect();
    if ins.if_not_exists {
        let key = &keys[0];
        if let Some(row) = row_exists(data, key) {
            return applied(t, false, Some(&row), data.get(&key.partition)).map(Some);
        }
        write(t, data, key, &refs)?;
        return applied(t, true, None, None).map(Some);
    }
    for key in &keys {
        write(t, data, key, &refs)?;
    }
    Ok(None)
}

fn collection_of(typ: &ColumnType) -> Option<&ColumnType> {
    match typ {
        ColumnType::List(e) | ColumnType::Set(e) => Some(e),
        _ => None,
    }
}

/// The operand of `c = c + x` / `c = c - x`: unset means "no change" (`None`), null is
/// an error.
fn operand(value: &Term, typ: &ColumnType, binds: &Binds<'_>, column: &str) -> Result<Option<CqlValue>, ExecError> {
    match eval(value, typ, binds, column)? {
        TermValue::Value(v) => Ok(Some(v)),
        TermValue::Unset => Ok(None),
        TermValue::Null => Err(ExecError::invalid(format!("Invalid null value for {column}"))),
    }
}

fn assignment_change(
    t: &TableSchema,
    a: &Assignment,
    binds: &Binds<'_>,
) -> Result<Option<(usize, Change<'static>)>, ExecError> {
    let col_of = |name: &str| -> Result<usize, ExecError> {
        let col = t.column_or_err(name)?;
        if t.is_key(col) {
            return Err(ExecError::invalid(format!("PRIMARY KEY part {name} found in SET part")));
        }
        Ok(col)
    };
    Ok(match a {
        Assignment::Set { column, value } => {
            let col = col_of(column)?;
            let c = &t.columns[col];
            if c.typ == ColumnType::Counter {
                return Err(ExecError::invalid(format!(
                    "Cannot set the value of counter column {column} (counters can only be incremented/decremented, not set)"
                )));
            }
            match eval(value, &c.typ, binds, &c.name)? {
                TermValue::Unset => None,
                TermValue::Null => Some((col, Change::Set(None))),
                TermValue::Value(v) if v.is_empty_collection() => Some((col, Change::Set(None))),
                TermValue::Value(v) => Some((col, Change::Set(Some(Cell::Encoded(encode(t, col, &v)?))))),
            }
        }
        Assignment::Add { column, value } | Assignment::Prepend { column, value } => {
            let col = col_of(column)?;
            let typ = t.columns[col].typ.clone();
            let prepend = matches!(a, Assignment::Prepend { .. });
            let arg_type = if typ == ColumnType::Counter { ColumnType::Bigint } else { typ.clone() };
            let Some(arg) = operand(value, &arg_type, binds, column)? else { return Ok(None) };
            let name = column.clone();
            Some((
                col,
                Change::Apply(Box::new(move |cur| {
                    Ok(Some(match (cur, &arg) {
                        (cur, CqlValue::Bigint(d)) if matches!(typ, ColumnType::Counter) => {
                            let c = match cur {
                                Some(CqlValue::Counter(c) | CqlValue::Bigint(c)) => c,
                                _ => 0,
                            };
                            CqlValue::Counter(c.wrapping_add(*d))
                        }
                        (cur, CqlValue::List(items)) if matches!(typ, ColumnType::List(_)) => {
                            let mut l = match cur {
                                Some(CqlValue::List(l)) => l,
                                _ => Vec::new(),
                            };
                            if prepend {
                                l.splice(0..0, items.iter().cloned());
                            } else {
                                l.extend(items.iter().cloned());
                            }
                            CqlValue::List(l)
                        }
                        (cur, CqlValue::Set(items)) if matches!(typ, ColumnType::Set(_)) => {
                            let mut s = match cur {
                                Some(CqlValue::Set(s)) => s,
                                _ => Vec::new(),
                            };
                            s.extend(items.iter().cloned());
                            let mut v = CqlValue::Set(s);
                            v.normalize();
                            v
                        }
                        (cur, CqlValue::Map(entries)) if matches!(typ, ColumnType::Map(..)) => {
                            let mut m = match cur {
                                Some(CqlValue::Map(m)) => m,
                                _ => Vec::new(),
                            };
                            m.extend(entries.iter().cloned());
                            let mut v = CqlValue::Map(m);
                            v.normalize();
                            v
                        }
                        _ => {
                            return Err(ExecError::invalid(format!(
                                "Invalid operation ({name} = {name} + ?) for non counter column {name}"
                            )));
                        }
                    }))
                })),
            ))
        }
        Assignment::Remove { column, value } => {
            let col = col_of(column)?;
            let typ = t.columns[col].typ.clone();
            let arg_type = match &typ {
                ColumnType::Counter => ColumnType::Bigint,
                ColumnType::Map(k, _) => ColumnType::Set(k.clone()),
                other => other.clone(),
            };
            let Some(arg) = operand(value, &arg_type, binds, column)? else { return Ok(None) };
            let name = column.clone();
            Some((
                col,
                Change::Apply(Box::new(move |cur| {
                    Ok(match (cur, &arg) {
                        (cur, CqlValue::Bigint(d)) if typ == ColumnType::Counter => {
                            let c = match cur {
                                Some(CqlValue::Counter(c) | CqlValue::Bigint(c)) => c,
                                _ => 0,
                            };
                            Some(CqlValue::Counter(c.wrapping_sub(*d)))
                        }
                        (Some(CqlValue::List(l)), CqlValue::List(rm)) => {
                            Some(CqlValue::List(l.into_iter().filter(|x| !rm.contains(x)).collect()))
                        }
                        (Some(CqlValue::Set(s)), CqlValue::Set(rm)) if collection_of(&typ).is_some() => {
                            Some(CqlValue::Set(s.into_iter().filter(|x| !rm.contains(x)).collect()))
                        }
                        (Some(CqlValue::Map(m)), CqlValue::Set(rm)) => {
                            Some(CqlValue::Map(m.into_iter().filter(|(k, _)| !rm.contains(k)).collect()))
                        }
                        (None, _) => None,
                        _ => {
                            return Err(ExecError::invalid(format!(
                                "Invalid operation ({name} = {name} - ?) for column {name}"
                            )));
                        }
                    })
                })),
            ))
        }
        Assignment::SetElement { column, key, value } => {
            let col = col_of(column)?;
            let typ = t.columns[col].typ.clone();
            let (kt, vt) = match &typ {
                ColumnType::Map(k, v) => ((**k).clone(), (**v).clone()),
                ColumnType::List(e) => (ColumnType::Int, (**e).clone()),
                _ => {
                    return Err(ExecError::invalid(format!(
                        "Invalid operation ({column}[?] = ?) for non collection column {column}"
                    )));
                }
            };
            let k = eval(key, &kt, binds, column)?.into_value(&format!("key of {column}"))?;
            let v = match eval(value, &vt, binds, column)? {
                TermValue::Value(v) => Some(v),
                TermValue::Null => None,
                TermValue::Unset => return Ok(None),
            };
            Some((col, Change::Apply(Box::new(move |cur| set_element(cur, &k, v.clone())))))
        }
        Assignment::SetField { column, field, value } => {
            let col = col_of(column)?;
            let ColumnType::Udt(udt) = &t.columns[col].typ else {
                return Err(ExecError::invalid(format!(
                    "Invalid field selection: {column} of type {} is not a user type",
                    t.columns[col].typ
                )));
            };
            let Some((_, ft)) = udt.fields.iter().find(|(n, _)| n == field) else {
                return Err(ExecError::invalid(format!("UDT column {column} does not have a field named {field}")));
            };
            let v = match eval(value, ft, binds, column)? {
                TermValue::Value(v) => Some(v),
                TermValue::Null => None,
                TermValue::Unset => return Ok(None),
            };
            let udt = (**udt).clone();
            let field = field.clone();
            Some((
                col,
                Change::Apply(Box::new(move |cur| {
                    let mut fields = match cur {
                        Some(CqlValue::Udt { fields, .. }) => fields,
                        _ => udt.fields.iter().map(|(n, _)| (n.clone(), None)).collect(),
                    };
                    fields.resize_with(udt.fields.len(), || (String::new(), None));
                    for (i, (n, _)) in udt.fields.iter().enumerate() {
                        fields[i].0 = n.clone();
                        if *n == field {
                            fields[i].1 = v.clone();
                        }
                    }
                    Ok(Some(CqlValue::Udt { keyspace: udt.keyspace.clone(), name: udt.name.clone(), fields }))
                })),
            ))
        }
    })
}

fn set_element(cur: Option<CqlValue>, k: &CqlValue, v: Option<CqlValue>) -> Result<Option<CqlValue>, ExecError> {
    match cur {
        Some(CqlValue::List(mut l)) => {
            let CqlValue::Int(i) = k else { return Err(ExecError::invalid("Invalid list index")) };
            let len = l.len();
            let idx = usize::try_from(*i)
                .ok()
                .filter(|i| *i < len)
                .ok_or_else(|| ExecError::invalid(format!("List index {i} out of bound, list has size {len}")))?;
            match v {
                Some(v) => l[idx] = v,
                None => {
                    l.remove(idx);
                }
            }
            Ok(Some(CqlValue::List(l)))
        }
        None if !matches!(k, CqlValue::Int(_)) || v.is_none() => Ok(v.map(|v| CqlValue::Map(vec![(k.clone(), v)]))),
        None => Err(ExecError::invalid("Attempted to set an element on a list which is null")),
        Some(CqlValue::Map(mut m)) => {
            m.retain(|(x, _)| x != k);
            if let Some(v) = v {
                m.push((k.clone(), v));
            }
            let mut out = CqlValue::Map(m);
            out.normalize();
            Ok(Some(out))
        }
        Some(other) => Ok(Some(other)),
    }
}

fn conditions_hold(
    t: &TableSchema,
    cells: Option<&[Option<&[u8]>]>,
    conds: &[Condition],
    binds: &Binds<'_>,
) -> Result<bool, ExecError> {
    for c in conds {
        let (target, op, values) = match c {
            Condition::Compare { target, op, value } => (target, *op, vec![value.clone()]),
            Condition::In { target, values: InValues::List(v) } => (target, Operator::Eq, v.clone()),
            Condition::In { .. } => {
                return Err(ExecError::invalid("IN ? conditions are not supported by the test server"));
            }
        };
        let Target::Column(name) = target else {
            return Err(ExecError::invalid(
                "Conditions on collection elements or fields are not supported by the test server",
            ));
        };
        let col = t.column_or_err(name)?;
        let current = cells.and_then(|c| c.get(col).copied().flatten()).and_then(|b| decode(t, col, Some(b)));
        let mut any = false;
        for v in &values {
            let expected = match eval(v, &t.columns[col].typ, binds, name)? {
                TermValue::Value(v) => Some(v),
                _ => None,
            };
            let o = match (&current, &expected) {
                (Some(a), Some(b)) => Some(a.cql_cmp(b)),
                (None, None) => Some(std::cmp::Ordering::Equal),
                _ => None,
            };
            let holds = match (op, o) {
                (Operator::Eq, Some(o)) => o.is_eq(),
                (Operator::Ne, o) => o.is_none_or(|o| !o.is_eq()),
                (Operator::Lt, Some(o)) => o.is_lt(),
                (Operator::Le, Some(o)) => o.is_le(),
                (Operator::Gt, Some(o)) => o.is_gt(),
                (Operator::Ge, Some(o)) => o.is_ge(),
                _ => false,
            };
            any |= holds;
        }
        if !any {
            return Ok(false);
        }
    }
    Ok(true)
}

/// UPDATE. Returns the `[applied]` rows for conditional updates.
pub(crate) fn update(
    t: &TableSchema,
    data: &mut TableData,
    u: &Update,
    binds: &Binds<'_>,
) -> Result<Option<Rows>, ExecError> {
    let (pk, ck, other) = where_keys(t, &u.where_clause, binds)?;
    if other {
        return Err(ExecError::invalid("Only EQ and IN relations are supported on the primary key of an UPDATE"));
    }
    let changes = u.assignments.iter().map(|a| assignment_change(t, a, binds)).collect::<Result<Vec<_>, _>>()?;
    let changes: Vec<(usize, Change<'_>)> = changes.into_iter().flatten().collect();
    let only_static = !changes.is_empty() && changes.iter().all(|(c, _)| t.columns[*c].kind == ColumnKind::Static);
    let ck: Vec<Vec<CqlValue>> =
        if only_static && ck.iter().all(Option::is_none) { Vec::new() } else { full_clustering(t, ck)? };
    let keys = make_keys(t, &pk, &ck)?;
    let refs: Vec<(usize, &Change<'_>)> = changes.iter().map(|(c, ch)| (*c, ch)).collect();
    if let Some(cond) = &u.condition {
        let key =
            keys.first().ok_or_else(|| ExecError::invalid("IN on the primary key is not supported with conditions"))?;
        let existing = row_exists(data, key);
        let ok = match cond {
            IfClause::Exists => existing.is_some(),
            IfClause::Conditions(cs) => {
                let cells = existing.as_ref().map(|r| row_cells(r, t.columns.len()));
                conditions_hold(t, cells.as_deref(), cs, binds)?
            }
        };
        if !ok {
            return applied(t, false, existing.as_deref(), data.get(&key.partition)).map(Some);
        }
        write(t, data, key, &refs)?;
        return applied(t, true, None, None).map(Some);
    }
    for key in &keys {
        write(t, data, key, &refs)?;
    }
    Ok(None)
}

/// DELETE. Returns the `[applied]` rows for conditional deletes.
pub(crate) fn delete(
    t: &TableSchema,
    data: &mut TableData,
    d: &Delete,
    binds: &Binds<'_>,
) -> Result<Option<Rows>, ExecError> {
    let (pk, ck, other) = where_keys(t, &d.where_clause, binds)?;
    let full_ck = ck.iter().all(Option::is_some);
    if let Some(cond) = &d.condition {
        if !full_ck || other {
            return Err(ExecError::invalid(
                "DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions",
            ));
        }
        let keys = make_keys(t, &pk, &ck.iter().flatten().cloned().collect::<Vec<_>>())?;
        let key =
            keys.first().ok_or_else(|| ExecError::invalid("IN on the primary key is not supported with conditions"))?;
        let existing = row_exists(data, key);
        let ok = match cond {
            IfClause::Exists => existing.is_some(),
            IfClause::Conditions(cs) => {
                let cells = existing.as_ref().map(|r| row_cells(r, t.columns.len()));
                conditions_hold(t, cells.as_deref(), cs, binds)? && existing.is_some()
            }
        };
        if !ok {
            return applied(t, false, existing.as_deref(), data.get(&key.partition)).map(Some);
        }
    }
    // Every restriction (including clustering ranges) selects the rows to delete.
    let r = restrictions(t, &d.where_clause, binds)?;
    let partitions = r.partitions.clone().unwrap_or_default();
    let pk_only = ck.iter().all(Option::is_none) && !other;
    let _ = pk;
    for p in partitions {
        let Some(part) = data.get_mut(&p) else { continue };
        if d.targets.is_empty() && pk_only {
            data.remove(&p);
            continue;
        }
        let keys: Vec<ClusteringKey> = part
            .rows
            .iter()
            .filter(|(_, row)| r.row_ok(t, &row_cells(row, t.columns.len())))
            .map(|(k, _)| k.clone())
            .collect();
        if d.targets.is_empty() {
            for k in keys {
                part.rows.remove(&k);
            }
        } else {
            for k in keys {
                let Some(row) = part.rows.get(&k) else { continue };
                let mut cells: Vec<Option<Bytes>> =
                    row_cells(row, t.columns.len()).into_iter().map(|c| c.map(Bytes::copy_from_slice)).collect();
                for target in &d.targets {
                    match target {
                        Target::Column(name) => {
                            let col = t.column_or_err(name)?;
                            if t.is_key(col) {
                                return Err(ExecError::invalid(format!(
                                    "Invalid identifier {name} for deletion (should not be a PRIMARY KEY part)"
                                )));
                            }
                            if t.columns[col].kind == ColumnKind::Static {
                                part.statics.remove(&col);
                            } else {
                                cells[col] = None;
                            }
                        }
                        Target::Element(name, key) => {
                            let col = t.column_or_err(name)?;
                            let kt = match &t.columns[col].typ {
                                ColumnType::Map(k, _) => (**k).clone(),
                                ColumnType::List(_) => ColumnType::Int,
                                _ => {
                                    return Err(ExecError::invalid(format!(
                                        "Invalid deletion operation for non collection column {name}"
                                    )));
                                }
                            };
                            let k = eval(key, &kt, binds, name)?.into_value(name)?;
                            let cur = decode(t, col, cells[col].as_deref());
                            let new = match cur {
                                Some(cur) => set_element(Some(cur), &k, None)?,
                                None => None,
                            };
                            cells[col] = match new {
                                Some(v) if !v.is_empty_collection() => Some(encode(t, col, &v)?),
                                _ => None,
                            };
                        }
                        Target::Field(name, _) => {
                            return Err(ExecError::invalid(format!(
                                "Deleting UDT field {name} is not supported by the test server"
                            )));
                        }
                    }
                }
                part.rows.insert(k, encode_row(cells.iter().map(|c| c.as_deref())));
            }
        }
        if part.rows.is_empty() && part.statics.is_empty() {
            data.remove(&p);
        }
    }
    if d.condition.is_some() {
        return applied(t, true, None, None).map(Some);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cartesian_keeps_the_first_list_slowest() {
        let int = CqlValue::Int;
        let got = cartesian(&[vec![int(1), int(2)], vec![int(10), int(20), int(30)]]);
        let want: Vec<Vec<CqlValue>> = [(1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
            .into_iter()
            .map(|(a, b)| vec![int(a), int(b)])
            .collect();
        assert_eq!(got, want);
        assert_eq!(cartesian(&[]), vec![Vec::<CqlValue>::new()], "no lists: one empty combination");
        assert!(cartesian(&[vec![int(1)], vec![]]).is_empty(), "an empty IN list: no combination");
    }
}
