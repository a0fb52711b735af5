//! Giving a CQL [`Literal`] a type: what Cassandra accepts for each column type in
//! statement text (`org.apache.cassandra.cql3.Constants.Literal.testAssignment` and the
//! marshal classes' `fromString`), with the same range checks. Only the test server
//! reads statement text, so this is compiled with the feature `testkit` only.

use std::net::IpAddr;

use bytes::Bytes;

use super::cql_value::{CqlValue, MAX_VALUE_DEPTH};
use super::encode::check_timeuuid;
use super::error::ValueError;
use super::literal::Literal;
use super::ordering::{sort_map, sort_set};
use super::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlVarint};
use crate::protocol::column_type::{ColumnType, UdtType};

impl CqlValue {
    /// The value a literal denotes for a column of type `typ`, as Cassandra reads it;
    /// `Ok(None)` for `null` (whether a null is acceptable is the caller's decision).
    ///
    /// Accepted, by literal kind (anything else is a [`ValueError::TypeMismatch`]):
    ///
    /// - integer: `tinyint`, `smallint`, `int`, `bigint`, `counter` (range-checked),
    ///   `varint` (any size), `decimal`, `float`, `double`, `timestamp` (milliseconds),
    ///   `date` (the raw unsigned day number, 2^31 = 1970-01-01), `time` (nanoseconds);
    ///   `duration` too, where like in Cassandra it fails for want of a unit;
    /// - float (including `NaN`, `Infinity`): `float`, `double`, `decimal` (finite only);
    /// - string: `ascii` (7-bit only), `text`, `timestamp`, `date` and `time` (their
    ///   text forms, or digits as for integers), `inet`; `''` is the empty value for
    ///   `timestamp` and `inet`;
    /// - boolean: `boolean`; blob: `blob` and custom types; duration: `duration`;
    /// - uuid: `uuid`, and `timeuuid` when version 1;
    /// - `[...]`: `list`, and `vector` with exactly its dimension; `{...}`: `set`;
    ///   `{}`: an empty `set` or `map`; `{k: v}`: `map`; `(...)`: `tuple` (up to its
    ///   arity; missing elements are absent); `{field: v}`: a UDT (unknown fields are
    ///   errors, missing ones null).
    ///
    /// Nulls are allowed inside tuples and UDTs only. Sets and maps come back sorted in
    /// Cassandra's order with duplicates dropped (for maps, the last value of a key
    /// wins), as Cassandra stores them.
    ///
    /// ```
    /// use cqlstream::protocol::ColumnType;
    /// use cqlstream::types::{CqlValue, Literal};
    ///
    /// let typ = ColumnType::Set(Box::new(ColumnType::Int));
    /// let lit = Literal::Set(vec![Literal::Integer("3".into()), Literal::Integer("-1".into())]);
    /// let value = CqlValue::from_literal(&lit, &typ).unwrap().unwrap();
    /// assert_eq!(value.to_string(), "{-1, 3}"); // sorted, as Cassandra stores sets
    /// ```
    pub fn from_literal(lit: &Literal, typ: &ColumnType) -> Result<Option<CqlValue>, ValueError> {
        convert(lit, typ, 0)
    }
}

/// A short description of a literal for messages: `string 'abc'`, `integer 300`.
fn describe(lit: &Literal) -> String {
    fn short(s: &str) -> String {
        let mut out: String = s.chars().take(40).collect();
        if out.len() < s.len() {
            out.push_str("...");
        }
        out
    }
    match lit {
        Literal::Null => "null".into(),
        Literal::Bool(b) => format!("boolean {b}"),
        Literal::Integer(s) => format!("integer {}", short(s)),
        Literal::Float(s) => format!("float {}", short(s)),
        Literal::String(s) => format!("string '{}'", short(&s.replace('\'', "''"))),
        Literal::Blob(b) => {
            let hex: String = b.iter().take(20).map(|x| format!("{x:02x}")).collect();
            format!("blob 0x{hex}{}", if b.len() > 20 { "..." } else { "" })
        }
        Literal::Uuid(u) => format!("uuid {u}"),
        Literal::Duration(s) => format!("duration {}", short(s)),
        Literal::List(_) => "list literal".into(),
        Literal::Set(v) if v.is_empty() => "empty set/map literal {}".into(),
        Literal::Set(_) => "set literal".into(),
        Literal::Map(_) => "map literal".into(),
        Literal::Tuple(_) => "tuple literal".into(),
        Literal::Udt(_) => "user-defined type literal".into(),
    }
}

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// An integer literal into a fixed-size integer type, range-checked.
fn int<T: TryFrom<i128>>(s: &str, typ: &str) -> Result<T, ValueError> {
    if !is_integer_text(s) {
        return Err(ValueError::invalid("integer literal", format!("'{s}' is not an integer")));
    }
    s.parse::<i128>().ok().and_then(|v| T::try_from(v).ok()).ok_or_else(|| ValueError::out_of_range(typ, s))
}

fn float<T: std::str::FromStr>(s: &str, typ: &'static str) -> Result<T, ValueError> {
    // Rust reads `inf`/`infinity`/`nan` in any case; CQL writes `Infinity` and `NaN`.
    s.parse().map_err(|_| ValueError::invalid(typ, format!("'{s}' is not a number")))
}

fn convert(lit: &Literal, typ: &ColumnType, depth: usize) -> Result<Option<CqlValue>, ValueError> {
    use ColumnType as T;
    use CqlValue as V;
    use Literal as L;
    if depth >= MAX_VALUE_DEPTH {
        return Err(ValueError::TooDeep { max: MAX_VALUE_DEPTH });
    }
    let v = match (typ, lit) {
        (_, L::Null) => return Ok(None),
        (T::Custom(_), L::Blob(b)) => V::Custom(Bytes::copy_from_slice(b)),
        (T::Blob, L::Blob(b)) => V::Blob(Bytes::copy_from_slice(b)),
        (T::Boolean, L::Bool(b)) => V::Boolean(*b),
        (T::Ascii, L::String(s)) => match s.chars().find(|c| !c.is_ascii()) {
            None => V::Ascii(s.clone()),
            Some(c) => {
                return Err(ValueError::invalid("ascii", format!("'{c}' in {} is not 7-bit ASCII", describe(lit))));
            }
        },
        (T::Varchar, L::String(s)) => V::Text(s.clone()),
        (T::Tinyint, L::Integer(s)) => V::Tinyint(int(s, "tinyint")?),
        (T::Smallint, L::Integer(s)) => V::Smallint(int(s, "smallint")?),
        (T::Int, L::Integer(s)) => V::Int(int(s, "int")?),
        (T::Bigint, L::Integer(s)) => V::Bigint(int(s, "bigint")?),
        (T::Counter, L::Integer(s)) => V::Counter(int(s, "counter")?),
        (T::Varint, L::Integer(s)) => V::Varint(s.parse::<CqlVarint>()?),
        (T::Decimal, L::Integer(s) | L::Float(s)) => V::Decimal(s.parse::<CqlDecimal>()?),
        (T::Float, L::Integer(s) | L::Float(s)) => V::Float(float(s, "float")?),
        (T::Double, L::Integer(s) | L::Float(s)) => V::Double(float(s, "double")?),
        (T::Timestamp, L::Integer(s)) => V::Timestamp(CqlTimestamp(int(s, "timestamp")?)),
        (T::Timestamp, L::String(s)) if s.is_empty() => V::Empty,
        (T::Timestamp, L::String(s)) => V::Timestamp(s.parse()?),
        // SimpleDateSerializer.dateStringToDays: digits are the raw day number.
        (T::Date, L::Integer(s) | L::String(s)) if is_integer_text(s) => V::Date(CqlDate(int(s, "date")?)),
        (T::Date, L::String(s)) => V::Date(s.parse()?),
        // TimeSerializer.timeStringToLong: digits are nanoseconds.
        (T::Time, L::Integer(s) | L::String(s)) if is_integer_text(s) => {
            V::Time(CqlTime::new(int(s, "time")?).map_err(|_| ValueError::out_of_range("time", s))?)
        }
        (T::Time, L::String(s)) => V::Time(s.parse()?),
        (T::Inet, L::String(s)) if s.is_empty() => V::Empty,
        (T::Inet, L::String(s)) => V::Inet(
            s.parse::<IpAddr>()
                .map_err(|_| ValueError::invalid("inet", format!("'{s}' is not an IPv4 or IPv6 address")))?,
        ),
        (T::Uuid, L::Uuid(u)) => V::Uuid(*u),
        (T::Timeuuid, L::Uuid(u)) => {
            check_timeuuid(u)?;
            V::Timeuuid(*u)
        }
        (T::Duration, L::Duration(s) | L::Integer(s)) => V::Duration(s.parse::<CqlDuration>()?),
        (T::List(e), L::List(items)) => V::List(elements(items, e, depth, "list")?),
        (T::Set(e), L::Set(items)) => {
            let mut v = elements(items, e, depth, "set")?;
            sort_set(&mut v);
            V::Set(v)
        }
        (T::Map(..), L::Set(items)) if items.is_empty() => V::Map(Vec::new()),
        (T::Map(kt, vt), L::Map(entries)) => {
            let mut v = Vec::with_capacity(entries.len());
            for (k, val) in entries {
                let k = convert(k, kt, depth + 1)?.ok_or(ValueError::NullNotAllowed { context: "map" })?;
                let val = convert(val, vt, depth + 1)?.ok_or(ValueError::NullNotAllowed { context: "map" })?;
                v.push((k, val));
            }
            sort_map(&mut v);
            V::Map(v)
        }
        (T::Tuple(types), L::Tuple(items)) => {
            if items.len() > types.len() {
                return Err(ValueError::WrongCount { typ: typ.to_string(), expected: types.len(), found: items.len() });
            }
            V::Tuple(items.iter().zip(types).map(|(l, t)| convert(l, t, depth + 1)).collect::<Result<_, _>>()?)
        }
        (T::Udt(udt), L::Udt(fields)) => udt_value(udt, fields, depth)?,
        (T::Vector(e, n), L::List(items)) => {
            if items.len() != *n as usize {
                return Err(ValueError::WrongCount { typ: typ.to_string(), expected: *n as usize, found: items.len() });
            }
            V::Vector(elements(items, e, depth, "vector")?)
        }
        _ => return Err(ValueError::mismatch(typ, describe(lit))),
    };
    Ok(Some(v))
}

fn elements(
    items: &[Literal],
    typ: &ColumnType,
    depth: usize,
    context: &'static str,
) -> Result<Vec<CqlValue>, ValueError> {
    items.iter().map(|l| convert(l, typ, depth + 1)?.ok_or(ValueError::NullNotAllowed { context })).collect()
}

fn udt_value(udt: &UdtType, fields: &[(String, Literal)], depth: usize) -> Result<CqlValue, ValueError> {
    let mut values: Vec<Option<CqlValue>> = vec![None; udt.fields.len()];
    let mut seen = vec![false; udt.fields.len()];
    for (name, lit) in fields {
        let Some(i) = udt.fields.iter().position(|(n, _)| n == name) else {
            return Err(ValueError::invalid(
                "UDT field",
                format!("{}.{} has no field '{name}'", udt.keyspace, udt.name),
            ));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Err(ValueError::invalid("UDT field", format!("field '{name}' is given twice")));
        }
        values[i] = convert(lit, &udt.fields[i].1, depth + 1)?;
    }
    Ok(CqlValue::Udt {
        keyspace: udt.keyspace.clone(),
        name: udt.name.clone(),
        fields: udt.fields.iter().map(|(n, _)| n.clone()).zip(values).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ok(lit: Literal, t: &ColumnType) -> CqlValue {
        CqlValue::from_literal(&lit, t).unwrap_or_else(|e| panic!("{lit:?} as {t}: {e}")).expect("not null")
    }

    fn err(lit: Literal, t: &ColumnType) -> String {
        CqlValue::from_literal(&lit, t).unwrap_err().to_string()
    }

    fn int(s: &str) -> Literal {
        Literal::Integer(s.into())
    }

    fn string(s: &str) -> Literal {
        Literal::String(s.into())
    }

    #[test]
    fn integers_with_ranges() {
        use ColumnType as T;
        use CqlValue as V;
        assert_eq!(ok(int("127"), &T::Tinyint), V::Tinyint(127));
        assert_eq!(err(int("128"), &T::Tinyint), "128 is out of range for tinyint");
        assert_eq!(ok(int("-32768"), &T::Smallint), V::Smallint(-32768));
        assert_eq!(err(int("32768"), &T::Smallint), "32768 is out of range for smallint");
        assert_eq!(ok(int("-2147483648"), &T::Int), V::Int(i32::MIN));
        assert_eq!(err(int("2147483648"), &T::Int), "2147483648 is out of range for int");
        assert_eq!(ok(int("9223372036854775807"), &T::Bigint), V::Bigint(i64::MAX));
        assert_eq!(err(int("9223372036854775808"), &T::Bigint), "9223372036854775808 is out of range for bigint");
        assert_eq!(
            err(int("99999999999999999999999999999999999999999"), &T::Bigint),
            "99999999999999999999999999999999999999999 is out of range for bigint"
        );
        assert_eq!(ok(int("5"), &T::Counter), V::Counter(5));
        let big = "123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(ok(int(big), &T::Varint), V::Varint(big.parse().unwrap()));
        assert_eq!(ok(int("12"), &T::Decimal), V::Decimal(CqlDecimal::new(12, 0)));
        assert_eq!(ok(int("3"), &T::Double), V::Double(3.0));
        assert_eq!(ok(int("3"), &T::Float), V::Float(3.0));
        assert_eq!(ok(int("-5"), &T::Timestamp), V::Timestamp(CqlTimestamp(-5)));
        assert_eq!(ok(int("2147483648"), &T::Date), V::Date(CqlDate::UNIX_EPOCH));
        assert_eq!(err(int("4294967296"), &T::Date), "4294967296 is out of range for date");
        assert_eq!(err(int("-1"), &T::Date), "-1 is out of range for date");
        assert_eq!(ok(int("1000"), &T::Time), V::Time(CqlTime::new(1000).unwrap()));
        assert_eq!(err(int("86400000000000"), &T::Time), "86400000000000 is out of range for time");
        assert_eq!(
            err(int("12"), &T::Duration),
            "invalid duration: '12': 12 has no unit (y, mo, w, d, h, m, s, ms, us, ns)"
        );
        assert_eq!(err(int("1"), &T::Varchar), "expected text, found integer 1");
        assert_eq!(err(int("1"), &T::Boolean), "expected boolean, found integer 1");
        assert_eq!(err(int("1"), &T::Blob), "expected blob, found integer 1");
        assert_eq!(err(int("1"), &T::Uuid), "expected uuid, found integer 1");
    }

    #[test]
    fn floats() {
        use ColumnType as T;
        use CqlValue as V;
        assert_eq!(ok(Literal::Float("1.5".into()), &T::Double), V::Double(1.5));
        assert_eq!(ok(Literal::Float("-2e10".into()), &T::Float), V::Float(-2e10));
        assert!(matches!(ok(Literal::Float("NaN".into()), &T::Double), V::Double(x) if x.is_nan()));
        assert_eq!(ok(Literal::Float("-Infinity".into()), &T::Float), V::Float(f32::NEG_INFINITY));
        assert_eq!(ok(Literal::Float("-12.5e3".into()), &T::Decimal), V::Decimal(CqlDecimal::new(-125, -2)));
        assert_eq!(err(Literal::Float("NaN".into()), &T::Decimal), "invalid decimal: 'NaN' is not a decimal number");
        assert_eq!(err(Literal::Float("1.5".into()), &T::Int), "expected int, found float 1.5");
        assert_eq!(err(Literal::Float("1.5".into()), &T::Varint), "expected varint, found float 1.5");
    }

    #[test]
    fn strings() {
        use ColumnType as T;
        use CqlValue as V;
        assert_eq!(ok(string("it's"), &T::Varchar), V::Text("it's".into()));
        assert_eq!(ok(string("abc"), &T::Ascii), V::Ascii("abc".into()));
        assert_eq!(err(string("café"), &T::Ascii), "invalid ascii: 'é' in string 'café' is not 7-bit ASCII");
        assert_eq!(ok(string("2011-02-03 04:05+0000"), &T::Timestamp), V::Timestamp(CqlTimestamp(1_296_705_900_000)));
        assert_eq!(ok(string("1296705900000"), &T::Timestamp), V::Timestamp(CqlTimestamp(1_296_705_900_000)));
        assert_eq!(ok(string(""), &T::Timestamp), V::Empty);
        assert_eq!(ok(string("1970-01-02"), &T::Date), V::Date(CqlDate((1 << 31) + 1)));
        assert_eq!(ok(string("2147483648"), &T::Date), V::Date(CqlDate::UNIX_EPOCH));
        assert_eq!(ok(string("00:00:01"), &T::Time), V::Time(CqlTime::new(1_000_000_000).unwrap()));
        assert_eq!(ok(string("5"), &T::Time), V::Time(CqlTime::new(5).unwrap()));
        assert_eq!(ok(string("::1"), &T::Inet), V::Inet("::1".parse().unwrap()));
        assert_eq!(err(string("localhost"), &T::Inet), "invalid inet: 'localhost' is not an IPv4 or IPv6 address");
        assert_eq!(err(string("abc"), &T::Int), "expected int, found string 'abc'");
        assert_eq!(err(string("x"), &T::Blob), "expected blob, found string 'x'");
        assert_eq!(
            err(string("550e8400-e29b-41d4-a716-446655440000"), &T::Uuid),
            "expected uuid, found string '550e8400-e29b-41d4-a716-446655440000'"
        );
        assert_eq!(err(string("1h"), &T::Duration), "expected duration, found string '1h'");
        assert_eq!(err(string("o'k"), &T::Boolean), "expected boolean, found string 'o''k'");
    }

    #[test]
    fn uuids_blobs_booleans_durations() {
        use ColumnType as T;
        use CqlValue as V;
        let v1: Uuid = "1ce5a3b0-4e6c-11ee-be56-0242ac120002".parse().unwrap();
        let v4: Uuid = "550e8400-e29b-41d4-a716-446655440000".parse().unwrap();
        assert_eq!(ok(Literal::Uuid(v4), &T::Uuid), V::Uuid(v4));
        assert_eq!(ok(Literal::Uuid(v1), &T::Uuid), V::Uuid(v1));
        assert_eq!(ok(Literal::Uuid(v1), &T::Timeuuid), V::Timeuuid(v1));
        assert_eq!(
            err(Literal::Uuid(v4), &T::Timeuuid),
            "invalid timeuuid: 550e8400-e29b-41d4-a716-446655440000 is a version 4 UUID; timeuuid takes version 1 only"
        );
        assert_eq!(ok(Literal::Blob(vec![0xca, 0xfe]), &T::Blob), V::Blob(Bytes::from_static(&[0xca, 0xfe])));
        assert_eq!(ok(Literal::Blob(vec![1]), &T::Custom("a.B".into())), V::Custom(Bytes::from_static(&[1])));
        assert_eq!(err(Literal::Blob(vec![0xca, 0xfe]), &T::Varchar), "expected text, found blob 0xcafe");
        assert_eq!(ok(Literal::Bool(true), &T::Boolean), V::Boolean(true));
        assert_eq!(err(Literal::Bool(true), &T::Int), "expected int, found boolean true");
        assert_eq!(
            ok(Literal::Duration("1h30m".into()), &T::Duration),
            V::Duration(CqlDuration::new(0, 0, 5_400_000_000_000).unwrap())
        );
        assert_eq!(err(Literal::Duration("1h".into()), &T::Timestamp), "expected timestamp, found duration 1h");
        assert_eq!(CqlValue::from_literal(&Literal::Null, &T::Int), Ok(None));
    }

    #[test]
    fn collections() {
        use ColumnType as T;
        use CqlValue as V;
        let list = T::List(Box::new(T::Int));
        let set = T::Set(Box::new(T::Int));
        let map = T::Map(Box::new(T::Varchar), Box::new(T::Int));
        assert_eq!(ok(Literal::List(vec![int("2"), int("1")]), &list), V::List(vec![V::Int(2), V::Int(1)]));
        // Sets come back sorted and unique, maps sorted by key with the last value kept.
        assert_eq!(ok(Literal::Set(vec![int("3"), int("-1"), int("3")]), &set), V::Set(vec![V::Int(-1), V::Int(3)]));
        assert_eq!(
            ok(Literal::Map(vec![(string("b"), int("1")), (string("a"), int("2")), (string("b"), int("3"))]), &map),
            V::Map(vec![(V::Text("a".into()), V::Int(2)), (V::Text("b".into()), V::Int(3))])
        );
        assert_eq!(ok(Literal::Set(vec![]), &set), V::Set(vec![]));
        assert_eq!(ok(Literal::Set(vec![]), &map), V::Map(vec![]));
        assert_eq!(err(Literal::Set(vec![int("1")]), &map), "expected map<text, int>, found set literal");
        assert_eq!(err(Literal::List(vec![Literal::Null]), &list), "null is not allowed as a list element");
        assert_eq!(err(Literal::Set(vec![Literal::Null]), &set), "null is not allowed as a set element");
        assert_eq!(err(Literal::Map(vec![(string("a"), Literal::Null)]), &map), "null is not allowed as a map element");
        assert_eq!(err(Literal::List(vec![string("x")]), &list), "expected int, found string 'x'");
        assert_eq!(err(Literal::List(vec![]), &set), "expected set<int>, found list literal");
        assert_eq!(err(Literal::Set(vec![]), &list), "expected list<int>, found empty set/map literal {}");
    }

    #[test]
    fn tuples_udts_vectors() {
        use ColumnType as T;
        use CqlValue as V;
        let tt = T::Tuple(vec![T::Int, T::Varchar]);
        assert_eq!(ok(Literal::Tuple(vec![int("1"), Literal::Null]), &tt), V::Tuple(vec![Some(V::Int(1)), None]));
        assert_eq!(ok(Literal::Tuple(vec![int("1")]), &tt), V::Tuple(vec![Some(V::Int(1))]));
        assert_eq!(
            err(Literal::Tuple(vec![int("1"), string("a"), int("2")]), &tt),
            "tuple<int, text> takes 2 element(s), found 3"
        );
        let udt = T::Udt(Box::new(UdtType {
            keyspace: "ks".into(),
            name: "addr".into(),
            fields: vec![("street".into(), T::Varchar), ("zip".into(), T::Int)],
        }));
        assert_eq!(
            ok(Literal::Udt(vec![("zip".into(), int("75001"))]), &udt),
            V::Udt {
                keyspace: "ks".into(),
                name: "addr".into(),
                fields: vec![("street".into(), None), ("zip".into(), Some(V::Int(75001)))],
            }
        );
        assert_eq!(
            err(Literal::Udt(vec![("city".into(), string("x"))]), &udt),
            "invalid UDT field: ks.addr has no field 'city'"
        );
        assert_eq!(
            err(Literal::Udt(vec![("zip".into(), int("1")), ("zip".into(), int("2"))]), &udt),
            "invalid UDT field: field 'zip' is given twice"
        );
        let vt = T::Vector(Box::new(T::Float), 3);
        assert_eq!(
            ok(Literal::List(vec![int("1"), Literal::Float("2.5".into()), int("3")]), &vt),
            V::Vector(vec![V::Float(1.0), V::Float(2.5), V::Float(3.0)])
        );
        assert_eq!(err(Literal::List(vec![int("1")]), &vt), "vector<float, 3> takes 3 element(s), found 1");
        assert_eq!(
            err(Literal::List(vec![int("1"), Literal::Null, int("3")]), &vt),
            "null is not allowed as a vector element"
        );
    }

    #[test]
    fn deep_literals_are_refused() {
        let mut lit = int("1");
        let mut t = ColumnType::Int;
        for _ in 0..100 {
            lit = Literal::List(vec![lit]);
            t = ColumnType::List(Box::new(t));
        }
        assert_eq!(err(lit, &t), "value nests deeper than 64 levels");
    }
}
