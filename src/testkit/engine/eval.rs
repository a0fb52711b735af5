//! Turning statement terms into values: literals, bind markers (positional or named),
//! collection literals holding markers, and the time/uuid functions CQL offers.
//!
//! Owns binding and value checking against column types; knows nothing of tables.

use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::ExecError;
use crate::protocol::{ColumnType, ValueRef, Values};
use crate::testkit::cql::{BindMarker, Term};
use crate::types::{CqlDate, CqlTime, CqlTimestamp, CqlValue};

/// A term's value: a value, null, or "unset" (leave the column alone).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TermValue {
    Null,
    Unset,
    Value(CqlValue),
}

impl TermValue {
    pub(crate) fn into_value(self, what: &str) -> Result<CqlValue, ExecError> {
        match self {
            TermValue::Value(v) => Ok(v),
            TermValue::Null => Err(ExecError::invalid(format!("Invalid null value for {what}"))),
            TermValue::Unset => Err(ExecError::invalid(format!("Invalid unset value for {what}"))),
        }
    }
}

/// The values bound to a statement's markers.
#[derive(Debug)]
pub(crate) struct Binds<'a> {
    values: Vec<(Option<&'a str>, ValueRef<'a>)>,
    named: bool,
}

impl<'a> Binds<'a> {
    /// Checks the values against the statement's markers (`names[i]` = name of marker i).
    pub(crate) fn new(values: &'a Values, names: &[Option<String>]) -> Result<Binds<'a>, ExecError> {
        let list: Vec<_> = values.iter().collect();
        if values.is_named() {
            for n in names {
                let Some(n) = n else {
                    return Err(ExecError::invalid(
                        "Named values were given for a statement with positional bind markers",
                    ));
                };
                if !list.iter().any(|(k, _)| k.is_some_and(|k| k.eq_ignore_ascii_case(n))) {
                    return Err(ExecError::invalid(format!("Invalid unset value for column {n}")));
                }
            }
        } else if list.len() != names.len() {
            return Err(ExecError::invalid(format!(
                "There were {} markers(?) in CQL but {} bound variables",
                names.len(),
                list.len()
            )));
        }
        Ok(Binds { values: list, named: values.is_named() })
    }

    /// The bytes bound to `term` when it is a bind marker whose value can be stored
    /// exactly as sent: a valid value of a type with nothing to normalise (no
    /// collection), checked without decoding it. `None` means: evaluate it the long way.
    pub(crate) fn raw_scalar(&self, term: &Term, typ: &ColumnType) -> Option<&'a [u8]> {
        let Term::Bind(m) = term else { return None };
        let Some(ValueRef::Bytes(b)) = self.get(m) else { return None };
        let valid = match typ {
            ColumnType::Blob => true,
            ColumnType::Int | ColumnType::Float => b.len() == 4,
            ColumnType::Bigint | ColumnType::Timestamp | ColumnType::Double => b.len() == 8,
            ColumnType::Boolean => b.len() == 1,
            ColumnType::Uuid => b.len() == 16,
            ColumnType::Varchar => std::str::from_utf8(b).is_ok(),
            ColumnType::Ascii => b.is_ascii(),
            _ => false,
        };
        valid.then_some(b)
    }

    fn get(&self, m: &BindMarker) -> Option<ValueRef<'a>> {
        if self.named {
            let name = m.name.as_deref()?;
            self.values.iter().find(|(k, _)| k.is_some_and(|k| k.eq_ignore_ascii_case(name))).map(|(_, v)| *v)
        } else {
            self.values.get(m.index).map(|(_, v)| *v)
        }
    }
}

/// Evaluates `term` as a value of `typ`; `what` names the column for errors.
pub(crate) fn eval(term: &Term, typ: &ColumnType, binds: &Binds<'_>, what: &str) -> Result<TermValue, ExecError> {
    match term {
        Term::Literal(lit) => match CqlValue::from_literal(lit, typ) {
            Ok(Some(v)) => Ok(TermValue::Value(v)),
            Ok(None) => Ok(TermValue::Null),
            Err(e) => Err(ExecError::invalid(format!("Invalid value for \"{what}\" of type {typ}: {e}"))),
        },
        Term::Bind(m) => match binds.get(m) {
            None => Err(ExecError::invalid(format!("No value bound for \"{what}\""))),
            Some(ValueRef::Null) => Ok(TermValue::Null),
            Some(ValueRef::NotSet) => Ok(TermValue::Unset),
            Some(ValueRef::Bytes(b)) => {
                let mut v = CqlValue::decode(typ, b)
                    .map_err(|e| ExecError::invalid(format!("Exception while binding column {what}: {e}")))?;
                v.normalize();
                Ok(TermValue::Value(v))
            }
        },
        Term::Cast { term, .. } => eval(term, typ, binds, what),
        Term::Function { name, args } => function(&name.name.to_ascii_lowercase(), args, typ, binds, what),
        Term::List(items) => {
            let elem = match typ {
                ColumnType::List(e) | ColumnType::Vector(e, _) => e,
                ColumnType::Set(e) => e,
                other => return Err(ExecError::invalid(format!("Invalid list literal for {what} of type {other}"))),
            };
            let items =
                items.iter().map(|t| eval(t, elem, binds, what)?.into_value(what)).collect::<Result<Vec<_>, _>>()?;
            let mut v = match typ {
                ColumnType::Vector(_, n) if items.len() != *n as usize => {
                    return Err(ExecError::invalid(format!(
                        "Invalid vector literal for {what}: expected {n} elements, got {}",
                        items.len()
                    )));
                }
                ColumnType::Vector(..) => CqlValue::Vector(items),
                ColumnType::Set(_) => CqlValue::Set(items),
                _ => CqlValue::List(items),
            };
            v.normalize();
            Ok(TermValue::Value(v))
        }
        Term::Set(items) => {
            let elem = match typ {
                ColumnType::Set(e) => e,
                ColumnType::Map(..) if items.is_empty() => return Ok(TermValue::Value(CqlValue::Map(Vec::new()))),
                other => return Err(ExecError::invalid(format!("Invalid set literal for {what} of type {other}"))),
            };
            let mut v = CqlValue::Set(
                items.iter().map(|t| eval(t, elem, binds, what)?.into_value(what)).collect::<Result<_, _>>()?,
            );
            v.normalize();
            Ok(TermValue::Value(v))
        }
        Term::Map(entries) => {
            let ColumnType::Map(kt, vt) = typ else {
                return Err(ExecError::invalid(format!("Invalid map literal for {what} of type {typ}")));
            };
            let entries = entries
                .iter()
                .map(|(k, v)| {
                    Ok((eval(k, kt, binds, what)?.into_value(what)?, eval(v, vt, binds, what)?.into_value(what)?))
                })
                .collect::<Result<Vec<_>, ExecError>>()?;
            let mut v = CqlValue::Map(entries);
            v.normalize();
            Ok(TermValue::Value(v))
        }
        Term::Tuple(items) => {
            let ColumnType::Tuple(types) = typ else {
                return Err(ExecError::invalid(format!("Invalid tuple literal for {what} of type {typ}")));
            };
            if items.len() > types.len() {
                return Err(ExecError::invalid(format!("Invalid tuple literal for {what}: too many elements")));
            }
            let items = items
                .iter()
                .zip(types)
                .map(|(t, ty)| match eval(t, ty, binds, what)? {
                    TermValue::Value(v) => Ok(Some(v)),
                    _ => Ok(None),
                })
                .collect::<Result<Vec<_>, ExecError>>()?;
            Ok(TermValue::Value(CqlValue::Tuple(items)))
        }
        Term::Udt(fields) => {
            let ColumnType::Udt(udt) = typ else {
                return Err(ExecError::invalid(format!("Invalid user type literal for {what} of type {typ}")));
            };
            let mut out = Vec::with_capacity(udt.fields.len());
            for (name, ty) in &udt.fields {
                let v = match fields.iter().find(|(n, _)| n == name) {
                    Some((_, t)) => match eval(t, ty, binds, what)? {
                        TermValue::Value(v) => Some(v),
                        _ => None,
                    },
                    None => None,
                };
                out.push((name.clone(), v));
            }
            if let Some((n, _)) = fields.iter().find(|(n, _)| !udt.fields.iter().any(|(f, _)| f == n)) {
                return Err(ExecError::invalid(format!(
                    "Unknown field '{n}' in value of user defined type {}",
                    udt.name
                )));
            }
            Ok(TermValue::Value(CqlValue::Udt { keyspace: udt.keyspace.clone(), name: udt.name.clone(), fields: out }))
        }
    }
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn now_millis() -> i64 {
    now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A version 1 (time-based) UUID for now, unique within the process.
pub(crate) fn timeuuid_now() -> Uuid {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // 100 ns intervals since 1582-10-15.
    let ticks = (now_millis() as u64 * 10_000).wrapping_add(0x01B2_1DD2_1381_4000)
        + SEQ.fetch_add(1, Ordering::Relaxed) % 10_000;
    let time_low = (ticks & 0xffff_ffff) as u32;
    let time_mid = ((ticks >> 32) & 0xffff) as u16;
    let time_hi = (((ticks >> 48) & 0x0fff) as u16) | 0x1000;
    Uuid::from_fields(time_low, time_mid, time_hi, &[0x80, 0x01, 0x5e, 0x57, 0x4b, 0x17, 0x00, 0x01])
}

fn function(
    name: &str,
    args: &[Term],
    typ: &ColumnType,
    binds: &Binds<'_>,
    what: &str,
) -> Result<TermValue, ExecError> {
    let ts = || CqlTimestamp(now_millis());
    let v = match (name, args) {
        ("now" | "currenttimeuuid", []) => CqlValue::Timeuuid(timeuuid_now()),
        ("uuid", []) => {
            let t = timeuuid_now();
            let b = t.as_bytes();
            let mut r = *b;
            r[6] = (r[6] & 0x0f) | 0x40;
            CqlValue::Uuid(Uuid::from_bytes(r))
        }
        ("currenttimestamp", []) => CqlValue::Timestamp(ts()),
        ("currentdate", []) => CqlValue::Date(
            CqlDate::from_days_since_epoch(now_millis().div_euclid(86_400_000))
                .map_err(|e| ExecError::invalid(e.to_string()))?,
        ),
        ("currenttime", []) => CqlValue::Time(
            CqlTime::new(now_millis().rem_euclid(86_400_000) * 1_000_000)
                .map_err(|e| ExecError::invalid(e.to_string()))?,
        ),
        ("totimestamp", [arg]) => match eval(arg, &ColumnType::Timeuuid, binds, what)? {
            TermValue::Value(CqlValue::Timeuuid(u)) => {
                let (secs, nanos) = u.get_timestamp().map(|t| t.to_unix()).unwrap_or((0, 0));
                CqlValue::Timestamp(CqlTimestamp(secs as i64 * 1000 + i64::from(nanos) / 1_000_000))
            }
            other => return Ok(other),
        },
        _ => return Err(ExecError::invalid(format!("Unknown function '{name}' or wrong arguments for \"{what}\""))),
    };
    // Functions return their own type; the column's type decides whether it fits.
    let mut buf = bytes::BytesMut::new();
    v.encode(typ, &mut buf).map_err(|e| {
        ExecError::invalid(format!(
            "Type error: {name}() cannot be passed as argument for \"{what}\" of type {typ}: {e}"
        ))
    })?;
    Ok(TermValue::Value(v))
}
