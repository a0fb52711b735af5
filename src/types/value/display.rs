//! [`CqlValue`] written as a CQL literal: `'it''s'`, `0xcafe`, `[1, 2]`, `{'a': 1}`.

use std::fmt::{self, Write};

use super::cql_value::CqlValue;

impl fmt::Display for CqlValue {
    /// The value as a CQL literal that `CqlValue::from_literal` (feature `testkit`)
    /// reads back for the same column type: strings, dates, times, timestamps and
    /// addresses quoted (with `'` doubled), blobs and custom values as `0x...`, numbers,
    /// UUIDs and durations bare, `NaN`/`Infinity`/`-Infinity` for non-finite floats,
    /// `[..]` for lists and vectors, `{..}` for sets, maps and UDTs (field names quoted
    /// when they need it), `(..)` for tuples, `null` for absent tuple/UDT fields. The
    /// empty value, which has no literal of its own, is written `''`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CqlValue as V;
        match self {
            V::Ascii(s) | V::Text(s) => quoted(f, s),
            V::Bigint(n) | V::Counter(n) => write!(f, "{n}"),
            V::Blob(b) | V::Custom(b) => {
                f.write_str("0x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            V::Boolean(b) => write!(f, "{b}"),
            V::Decimal(d) => write!(f, "{d}"),
            V::Double(x) => float(f, x.is_nan(), x.is_infinite(), *x > 0.0, x),
            V::Float(x) => float(f, x.is_nan(), x.is_infinite(), *x > 0.0, x),
            V::Int(n) => write!(f, "{n}"),
            V::Timestamp(t) => quoted(f, &t.to_string()),
            V::Uuid(u) | V::Timeuuid(u) => write!(f, "{u}"),
            V::Varint(n) => write!(f, "{n}"),
            V::Inet(ip) => quoted(f, &ip.to_string()),
            V::Date(d) => quoted(f, &d.to_string()),
            V::Time(t) => quoted(f, &t.to_string()),
            V::Smallint(n) => write!(f, "{n}"),
            V::Tinyint(n) => write!(f, "{n}"),
            V::Duration(d) => write!(f, "{d}"),
            V::List(items) | V::Vector(items) => seq(f, '[', ']', items.iter().map(Some)),
            V::Set(items) => seq(f, '{', '}', items.iter().map(Some)),
            V::Tuple(items) => seq(f, '(', ')', items.iter().map(Option::as_ref)),
            V::Map(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_char('}')
            }
            V::Udt { fields, .. } => {
                f.write_char('{')?;
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    identifier(f, name)?;
                    f.write_str(": ")?;
                    match v {
                        Some(v) => write!(f, "{v}")?,
                        None => f.write_str("null")?,
                    }
                }
                f.write_char('}')
            }
            V::Empty => f.write_str("''"),
        }
    }
}

fn quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('\'')?;
    for part in s.split_inclusive('\'') {
        f.write_str(part)?;
        if part.ends_with('\'') {
            f.write_char('\'')?;
        }
    }
    f.write_char('\'')
}

/// A field name as CQL reads it: bare if it is a lowercase identifier, else in double
/// quotes with `"` doubled.
fn identifier(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let bare = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if bare {
        return f.write_str(name);
    }
    f.write_char('"')?;
    for c in name.chars() {
        if c == '"' {
            f.write_char('"')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

fn float(f: &mut fmt::Formatter<'_>, nan: bool, infinite: bool, positive: bool, x: &dyn fmt::Debug) -> fmt::Result {
    if nan {
        f.write_str("NaN")
    } else if infinite {
        f.write_str(if positive { "Infinity" } else { "-Infinity" })
    } else {
        // `{:?}` keeps a `.0` or an exponent, so the literal reads back as a float.
        write!(f, "{x:?}")
    }
}

fn seq<'a>(
    f: &mut fmt::Formatter<'_>,
    open: char,
    close: char,
    items: impl Iterator<Item = Option<&'a CqlValue>>,
) -> fmt::Result {
    f.write_char(open)?;
    for (i, v) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        match v {
            Some(v) => write!(f, "{v}")?,
            None => f.write_str("null")?,
        }
    }
    f.write_char(close)
}

#[cfg(test)]
mod tests {
    use crate::types::value::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlValue as V, CqlVarint};
    use uuid::Uuid;

    #[test]
    fn literals() {
        for (v, s) in [
            (V::Text("it's".into()), "'it''s'"),
            (V::Ascii("''".into()), "''''''"),
            (V::Blob(vec![0xca, 0xfe].into()), "0xcafe"),
            (V::Blob(Vec::new().into()), "0x"),
            (V::Int(-3), "-3"),
            (V::Boolean(false), "false"),
            (V::Double(1.0), "1.0"),
            (V::Double(1e300), "1e300"),
            (V::Float(0.1), "0.1"),
            (V::Double(f64::NAN), "NaN"),
            (V::Float(f32::NEG_INFINITY), "-Infinity"),
            (V::Decimal(CqlDecimal::new(-12345, 2)), "-123.45"),
            (V::Varint(CqlVarint::from(u64::MAX)), "18446744073709551615"),
            (V::Timestamp(CqlTimestamp(0)), "'1970-01-01T00:00:00.000Z'"),
            (V::Date(CqlDate::UNIX_EPOCH), "'1970-01-01'"),
            (V::Time(CqlTime::new(1).unwrap()), "'00:00:00.000000001'"),
            (V::Inet("::1".parse().unwrap()), "'::1'"),
            (V::Duration(CqlDuration::new(0, -1, -90_000_000_000).unwrap()), "-1d1m30s"),
            (V::Uuid(Uuid::nil()), "00000000-0000-0000-0000-000000000000"),
            (V::List(vec![V::Int(1), V::Int(2)]), "[1, 2]"),
            (V::Set(vec![]), "{}"),
            (V::Map(vec![(V::Text("a".into()), V::Int(1))]), "{'a': 1}"),
            (V::Tuple(vec![Some(V::Int(1)), None]), "(1, null)"),
            (
                V::Udt {
                    keyspace: "ks".into(),
                    name: "u".into(),
                    fields: vec![("zip".into(), Some(V::Int(1))), ("Street \"1\"".into(), None)],
                },
                "{zip: 1, \"Street \"\"1\"\"\": null}",
            ),
            (V::Vector(vec![V::Float(1.5)]), "[1.5]"),
            (V::Empty, "''"),
        ] {
            assert_eq!(v.to_string(), s);
        }
    }
}
