//! Tests of `#[derive(FromRow)]` and `#[derive(SerializeRow)]`: rows built as a server
//! sends them (`RowsWriter` + `RowsMetadata`) read back through the derived
//! `DeserializeRow`, structs bound against bind marker specs through the derived
//! `SerializeRow` and decoded again with `CqlValue::decode`. The compile errors of
//! misuse are checked by the package in `tests/compile_fail/` (trybuild), which `.ci/run`
//! runs on its own.

use bytes::Bytes;
use cqlstream::protocol::response::{ColumnSpec, Rows, RowsMetadata, RowsWriter};
use cqlstream::protocol::{ColumnType, ValueRef, Values};
use cqlstream::types::CqlValue;
use cqlstream::types::{self, DeserializeError, MaybeUnset, RowsPage, SerializeError};
use cqlstream::{FromRow, SerializeRow};

fn col(name: &str, typ: ColumnType) -> ColumnSpec {
    ColumnSpec::new("ks", "t", name, typ)
}

/// A page with these columns and rows, as a server would send it.
fn page(columns: &[ColumnSpec], rows: &[&[Option<&[u8]>]]) -> Rows {
    let mut w = RowsWriter::new(columns.len());
    for row in rows {
        w.push_row(row.iter().copied()).unwrap();
    }
    w.finish(RowsMetadata::new(columns.to_vec())).unwrap()
}

fn read<'f, T: types::DeserializeRow<'f>>(rows: &'f Rows) -> Result<Vec<T>, DeserializeError> {
    types::rows_typed::<T>(rows)?.collect()
}

const ID_7: &[u8] = &[0, 0, 0, 7];
const ID_8: &[u8] = &[0, 0, 0, 8];

#[derive(Debug, PartialEq, FromRow)]
struct User<'a> {
    id: i32,
    name: &'a str,
    avatar: &'a [u8],
    email: Option<String>,
    #[cql(rename = "type")]
    kind: String,
    #[cql(skip)]
    cached: Vec<u8>,
}

fn user_columns() -> Vec<ColumnSpec> {
    // Not in field order: fields are matched by name.
    vec![
        col("type", ColumnType::Ascii),
        col("avatar", ColumnType::Blob),
        col("id", ColumnType::Int),
        col("email", ColumnType::Varchar),
        col("name", ColumnType::Varchar),
    ]
}

#[test]
fn from_row_by_name_borrowing_from_the_page() {
    let rows = page(
        &user_columns(),
        &[
            &[Some(b"admin"), Some(&[1, 2, 3]), Some(ID_7), Some(b"a@example.com"), Some("seven é".as_bytes())],
            &[Some(b"guest"), Some(&[]), Some(ID_8), None, Some(b"eight")],
        ],
    );
    let users: Vec<User<'_>> = read(&rows).unwrap();
    assert_eq!(
        users,
        [
            User {
                id: 7,
                name: "seven é",
                avatar: &[1, 2, 3],
                email: Some("a@example.com".into()),
                kind: "admin".into(),
                cached: vec![],
            },
            User { id: 8, name: "eight", avatar: &[], email: None, kind: "guest".into(), cached: vec![] },
        ]
    );
    // The borrowed fields point into the page: no copy.
    let content = rows.content().as_ptr_range();
    assert!(content.contains(&users[0].name.as_ptr()));
    assert!(content.contains(&users[0].avatar.as_ptr()));
}

#[test]
fn from_row_missing_column_names_the_field() {
    let mut columns = user_columns();
    columns.retain(|c| c.name != "email");
    let rows = page(&columns, &[]);
    let e = read::<User<'_>>(&rows).unwrap_err();
    assert_eq!(e, DeserializeError::no_such_column("email"));
    assert_eq!(e.to_string(), "the result has no column named `email`");
    // A renamed field looks for its column.
    let mut columns = user_columns();
    columns.retain(|c| c.name != "type");
    assert_eq!(
        read::<User<'_>>(&page(&columns, &[])).unwrap_err().to_string(),
        "the result has no column named `type`"
    );
    // A missing column is reported before an extra one (a column renamed on the server).
    columns.push(col("kind", ColumnType::Ascii));
    assert_eq!(
        read::<User<'_>>(&page(&columns, &[])).unwrap_err().to_string(),
        "the result has no column named `type`"
    );
}

#[test]
fn from_row_extra_column_is_an_error_unless_allowed() {
    let mut columns = user_columns();
    columns.insert(1, col("age", ColumnType::Int));
    let rows = page(&columns, &[&[Some(b"admin"), Some(ID_7), Some(&[]), Some(ID_7), None, Some(b"n")]]);
    let e = read::<User<'_>>(&rows).unwrap_err();
    assert_eq!(e.to_string(), "column `age`: the rows have 6 column(s), but Rust User<'_> takes 5");
    assert!(matches!(e, DeserializeError::Column { index: 1, .. }));
    assert!(matches!(e.root(), DeserializeError::ColumnCount { expected: 5, found: 6, .. }));

    #[derive(Debug, PartialEq, FromRow)]
    #[cql(allow_extra_columns)]
    struct Slim<'a> {
        name: &'a str,
        id: i32,
    }
    assert_eq!(read::<Slim<'_>>(&rows).unwrap(), [Slim { name: "n", id: 7 }]);
}

#[test]
fn from_row_type_errors_name_the_column() {
    let mut columns = user_columns();
    columns[2] = col("id", ColumnType::Bigint);
    let e = read::<User<'_>>(&page(&columns, &[])).unwrap_err();
    assert_eq!(e.to_string(), "column `id`: cannot read CQL type bigint as Rust i32");
    assert!(matches!(e, DeserializeError::Column { index: 2, .. }));

    // A null in a field that cannot hold one.
    let rows = page(&user_columns(), &[&[Some(b"admin"), Some(&[]), None, None, Some(b"n")]]);
    assert_eq!(
        read::<User<'_>>(&rows).unwrap_err().to_string(),
        "column `id`: unexpected null: Rust i32 cannot hold a null; read the column as Option<i32>"
    );
}

#[test]
fn from_row_owned_generic_and_raw_names() {
    #[derive(Debug, PartialEq, FromRow)]
    struct Owned<T> {
        r#type: String,
        value: T,
        tags: Vec<String>,
    }
    let columns = [
        col("value", ColumnType::Bigint),
        col("type", ColumnType::Varchar),
        col("tags", ColumnType::List(Box::new(ColumnType::Varchar))),
    ];
    let tags = [&[0, 0, 0, 1][..], &[0, 0, 0, 1], b"x"].concat();
    let rows = page(
        &columns,
        &[&[Some(&[0, 0, 0, 0, 0, 0, 0, 9]), Some(b"t"), Some(&tags)], &[Some(&[0; 8]), Some(b"u"), None]],
    );
    // Owned rows outlive the page.
    let owned: Vec<Owned<i64>> = RowsPage::new(rows).unwrap().into_typed().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        owned,
        [
            Owned { r#type: "t".into(), value: 9, tags: vec!["x".into()] },
            Owned { r#type: "u".into(), value: 0, tags: vec![] },
        ]
    );
}

#[test]
fn from_row_tuple_struct_by_position() {
    #[derive(Debug, PartialEq, FromRow)]
    struct Pair<'a>(i32, #[cql(skip)] u8, Option<&'a str>);
    let columns = [col("a", ColumnType::Int), col("b", ColumnType::Varchar)];
    let rows = page(&columns, &[&[Some(ID_7), None], &[Some(ID_8), Some(b"x")]]);
    assert_eq!(read::<Pair<'_>>(&rows).unwrap(), [Pair(7, 0, None), Pair(8, 0, Some("x"))]);

    let e = read::<Pair<'_>>(&page(&columns[..1], &[])).unwrap_err();
    assert_eq!(e.to_string(), "the rows have 1 column(s), but Rust Pair<'_> takes 2");
    let wrong = [col("a", ColumnType::Varchar), col("b", ColumnType::Varchar)];
    assert_eq!(
        read::<Pair<'_>>(&page(&wrong, &[])).unwrap_err().to_string(),
        "column `a`: cannot read CQL type text as Rust i32"
    );

    #[derive(Debug, PartialEq, FromRow)]
    #[cql(allow_extra_columns)]
    struct First(i32);
    assert_eq!(read::<First>(&rows).unwrap(), [First(7), First(8)]);
}

#[test]
fn from_row_empty_structs() {
    #[derive(Debug, PartialEq, FromRow)]
    struct Nothing;
    #[derive(Debug, PartialEq, FromRow)]
    #[cql(allow_extra_columns)]
    struct Anything {
        #[cql(skip)]
        n: u8,
    }
    let rows = page(&[col("a", ColumnType::Int)], &[&[Some(ID_7)]]);
    assert_eq!(read::<Anything>(&rows).unwrap(), [Anything { n: 0 }]);
    assert_eq!(
        read::<Nothing>(&rows).unwrap_err().to_string(),
        "column `a`: the rows have 1 column(s), but Rust Nothing takes 0"
    );
}

#[test]
fn several_lifetimes_generics_and_where_clauses() {
    #[derive(Debug, PartialEq, FromRow, SerializeRow)]
    struct Two<'a, 'b, T, U>
    where
        U: Clone,
    {
        a: &'a str,
        b: Option<&'b [u8]>,
        t: Vec<T>,
        u: U,
    }
    let columns = [
        col("a", ColumnType::Varchar),
        col("b", ColumnType::Blob),
        col("t", ColumnType::List(Box::new(ColumnType::Int))),
        col("u", ColumnType::Boolean),
    ];
    let row = Two { a: "x", b: Some(&[9][..]), t: vec![1i32, 2], u: true };
    let values = types::serialize_values(&row, &columns).unwrap();
    let cells: Vec<Option<&[u8]>> = values
        .iter()
        .map(|(_, v)| match v {
            ValueRef::Bytes(b) => Some(b),
            _ => None,
        })
        .collect();
    let rows = page(&columns, &[&cells]);
    assert_eq!(read::<Two<'_, '_, i32, bool>>(&rows).unwrap(), [row]);
}

/// A crate that re-exports cqlstream under another path.
mod reexport {
    pub(crate) use cqlstream as cql;
}

#[test]
fn crate_path_attribute() {
    #[derive(Debug, PartialEq, FromRow, SerializeRow)]
    #[cql(crate = reexport::cql)]
    struct Via {
        id: i32,
    }
    #[derive(Debug, PartialEq, FromRow)]
    #[cql(crate = "crate::derive::reexport::cql")]
    struct ViaString(i32);
    let columns = [col("id", ColumnType::Int)];
    let rows = page(&columns, &[&[Some(ID_7)]]);
    assert_eq!(read::<Via>(&rows).unwrap(), [Via { id: 7 }]);
    assert_eq!(read::<ViaString>(&rows).unwrap(), [ViaString(7)]);
    assert_eq!(types::serialize_values(&Via { id: 7 }, &columns).unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// SerializeRow
// ---------------------------------------------------------------------------------------

#[derive(Debug, SerializeRow)]
struct NewUser<'a> {
    id: i32,
    name: &'a str,
    email: Option<String>,
    #[cql(rename = "type")]
    kind: &'a str,
    #[cql(skip)]
    note: String,
    avatar: MaybeUnset<Bytes>,
}

fn new_user() -> NewUser<'static> {
    NewUser { id: 7, name: "seven", email: None, kind: "admin", note: "not sent".into(), avatar: MaybeUnset::Unset }
}

/// Each value decoded with the type of its marker.
fn decoded(values: &Values, markers: &[ColumnSpec]) -> Vec<Option<CqlValue>> {
    assert!(!values.is_named());
    values
        .iter()
        .zip(markers)
        .map(|((name, v), m)| {
            assert_eq!(name, None);
            match v {
                ValueRef::Bytes(b) => Some(CqlValue::decode(&m.typ, b).unwrap()),
                ValueRef::Null => None,
                ValueRef::NotSet => Some(CqlValue::Text("<unset>".into())),
            }
        })
        .collect()
}

#[test]
fn serialize_row_by_marker_name() {
    // Markers in another order than the fields, one bound twice, `note` and `avatar`
    // bound by none.
    let markers = [
        col("type", ColumnType::Ascii),
        col("email", ColumnType::Varchar),
        col("id", ColumnType::Bigint),
        col("name", ColumnType::Varchar),
        col("id", ColumnType::Varint),
    ];
    // `id` is an i32: not a bigint.
    let e = types::serialize_values(&new_user(), &markers).unwrap_err();
    assert_eq!(e.to_string(), "bind marker `id` (position 2): cannot write Rust i32 as CQL type bigint");

    let mut markers = markers.to_vec();
    markers[2] = col("id", ColumnType::Int);
    let values = types::serialize_values(&new_user(), &markers).unwrap();
    assert_eq!(
        decoded(&values, &markers),
        [
            Some(CqlValue::Ascii("admin".into())),
            None,
            Some(CqlValue::Int(7)),
            Some(CqlValue::Text("seven".into())),
            Some(CqlValue::Varint(7i64.into())),
        ]
    );
    markers.push(col("avatar", ColumnType::Blob));
    let values = types::serialize_values(&new_user(), &markers).unwrap();
    assert_eq!(values.iter().last().unwrap().1, ValueRef::NotSet);
    let with_avatar = NewUser { avatar: MaybeUnset::Set(Bytes::from_static(b"\x01")), ..new_user() };
    let values = types::serialize_values(&with_avatar, &markers).unwrap();
    assert_eq!(values.iter().last().unwrap().1, ValueRef::Bytes(b"\x01"));
}

#[test]
fn serialize_row_missing_marker() {
    let markers = [col("id", ColumnType::Int), col("note", ColumnType::Varchar)];
    let e = types::serialize_values(&new_user(), &markers).unwrap_err();
    assert_eq!(e, SerializeError::missing_value("note"));
    assert_eq!(e.to_string(), "no value given for bind marker `note`");
    // Renamed: the field's own name is no marker name.
    let markers = [col("kind", ColumnType::Varchar)];
    assert_eq!(types::serialize_values(&new_user(), &markers).unwrap_err(), SerializeError::missing_value("kind"));
}

#[test]
fn serialize_row_untyped_is_named_in_field_order() {
    let values = types::serialize_values_untyped(&new_user()).unwrap();
    assert!(values.is_named());
    let got: Vec<_> = values.iter().collect();
    assert_eq!(
        got,
        [
            (Some("id"), ValueRef::Bytes(&[0, 0, 0, 7])),
            (Some("name"), ValueRef::Bytes(b"seven")),
            (Some("email"), ValueRef::Null),
            (Some("type"), ValueRef::Bytes(b"admin")),
            (Some("avatar"), ValueRef::NotSet),
        ]
    );
    assert!(!types::SerializeRow::is_empty(&new_user()));
    assert_eq!(new_user().note, "not sent", "skipped: bound by no marker, and not sent untyped");
}

#[test]
fn serialize_row_tuple_and_empty_structs() {
    #[derive(SerializeRow)]
    struct Key<'a>(&'a str, #[cql(skip)] u8, i64);
    let markers = [col("k", ColumnType::Varchar), col("v", ColumnType::Bigint)];
    let values = types::serialize_values(&Key("a", 0, 2), &markers).unwrap();
    assert_eq!(decoded(&values, &markers), [Some(CqlValue::Text("a".into())), Some(CqlValue::Bigint(2))]);
    assert_eq!(
        types::serialize_values(&Key("a", 0, 2), &markers[..1]).unwrap_err().to_string(),
        "statement has 1 bind markers but 2 values were given"
    );
    let skipped = Key("a", 5, 2);
    assert_eq!(skipped.1, 5);
    let untyped = types::serialize_values_untyped(&skipped).unwrap();
    assert!(!untyped.is_named());
    assert_eq!(untyped.len(), 2);

    #[derive(SerializeRow)]
    struct Nothing {
        #[cql(skip)]
        _n: u8,
    }
    assert!(types::SerializeRow::is_empty(&Nothing { _n: 1 }));
    assert!(types::serialize_values(&Nothing { _n: 1 }, &[]).unwrap().is_empty());
    assert!(types::serialize_values_untyped(&Nothing { _n: 1 }).unwrap().is_empty());
    assert_eq!(
        types::serialize_values(&Nothing { _n: 1 }, &markers[..1]).unwrap_err(),
        SerializeError::missing_value("k")
    );
}

#[test]
fn one_struct_both_ways() {
    #[derive(Debug, PartialEq, FromRow, SerializeRow)]
    #[cql(allow_extra_columns)]
    struct Item<'a> {
        #[cql(rename = "key")]
        k: &'a str,
        value: Option<i32>,
    }
    let columns = [col("value", ColumnType::Int), col("key", ColumnType::Varchar)];
    let item = Item { k: "a", value: Some(1) };
    let values = types::serialize_values(&item, &columns).unwrap();
    let cells: Vec<Option<&[u8]>> = values
        .iter()
        .map(|(_, v)| match v {
            ValueRef::Bytes(b) => Some(b),
            _ => None,
        })
        .collect();
    let rows = page(&columns, &[&cells]);
    assert_eq!(read::<Item<'_>>(&rows).unwrap(), [item]);
}
