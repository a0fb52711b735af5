//! Statement-level tests of the parser: one per statement form, the statements real
//! drivers send while connecting, lexical rules seen through whole statements, errors,
//! limits, and a property test that nothing panics.

use super::parser::MAX_DEPTH;
use super::*;
use crate::protocol::ColumnType;
use crate::types::Literal;
use proptest::strategy::Strategy;

fn ok(cql: &str) -> Parsed {
    match parse(cql) {
        Ok(p) => p,
        Err(e) => panic!("{cql:?} failed: {e}"),
    }
}

fn stmt(cql: &str) -> CqlStatement {
    ok(cql).statement
}

fn err(cql: &str) -> ParseError {
    match parse(cql) {
        Ok(p) => panic!("{cql:?} parsed: {p:?}"),
        Err(e) => e,
    }
}

fn select(cql: &str) -> Select {
    match stmt(cql) {
        CqlStatement::Select(s) => s,
        other => panic!("not a select: {other:?}"),
    }
}

fn insert(cql: &str) -> Insert {
    match stmt(cql) {
        CqlStatement::Insert(i) => i,
        other => panic!("not an insert: {other:?}"),
    }
}

fn update(cql: &str) -> Update {
    match stmt(cql) {
        CqlStatement::Update(u) => u,
        other => panic!("not an update: {other:?}"),
    }
}

fn delete(cql: &str) -> Delete {
    match stmt(cql) {
        CqlStatement::Delete(d) => d,
        other => panic!("not a delete: {other:?}"),
    }
}

fn create_table(cql: &str) -> CreateTable {
    match stmt(cql) {
        CqlStatement::CreateTable(t) => t,
        other => panic!("not a create table: {other:?}"),
    }
}

fn lit(l: Literal) -> Term {
    Term::Literal(l)
}

fn int(s: &str) -> Term {
    lit(Literal::Integer(s.into()))
}

fn text(s: &str) -> Term {
    lit(Literal::String(s.into()))
}

fn lint(s: &str) -> Literal {
    Literal::Integer(s.into())
}

fn ltext(s: &str) -> Literal {
    Literal::String(s.into())
}

fn marker(index: usize) -> Term {
    Term::Bind(BindMarker { index, name: None })
}

fn named(index: usize, name: &str) -> Term {
    Term::Bind(BindMarker { index, name: Some(name.into()) })
}

fn func(name: &str, args: Vec<Term>) -> Term {
    Term::Function { name: QualifiedName::bare(name), args }
}

fn eq(column: &str, value: Term) -> Relation {
    Relation::Compare { column: column.into(), op: Operator::Eq, value }
}

fn col(name: &str) -> Selector {
    Selector::Column(name.into())
}

fn items(p: &Projection) -> Vec<Selector> {
    match p {
        Projection::Selectors(v) => v.iter().map(|i| i.selector.clone()).collect(),
        Projection::Wildcard => panic!("wildcard"),
    }
}

fn native(t: ColumnType) -> CqlType {
    CqlType::Native(t)
}

// ----- statement forms -------------------------------------------------------------

#[test]
fn use_keyspace() {
    assert_eq!(stmt("USE ks"), CqlStatement::Use("ks".into()));
    assert_eq!(stmt("use MyKs;"), CqlStatement::Use("myks".into()));
    assert_eq!(stmt(r#"USE "MyKs""#), CqlStatement::Use("MyKs".into()));
    assert_eq!(stmt("USE key"), CqlStatement::Use("key".into()), "non-reserved keywords are names");
    err("USE select");
    err("USE");
}

#[test]
fn create_and_drop_keyspace() {
    let s = stmt(
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} \
         AND durable_writes = true",
    );
    let replication =
        Literal::Map(vec![(ltext("class"), ltext("SimpleStrategy")), (ltext("replication_factor"), lint("1"))]);
    let expected = CreateKeyspace {
        if_not_exists: true,
        name: "ks".into(),
        options: vec![("replication".into(), replication.clone()), ("durable_writes".into(), Literal::Bool(true))],
    };
    assert_eq!(s, CqlStatement::CreateKeyspace(expected.clone()));
    assert_eq!(expected.option("replication"), Some(&replication));

    let CqlStatement::CreateKeyspace(k) =
        stmt("create schema \"Ks\" with REPLICATION = { 'class' : 'NetworkTopologyStrategy', 'dc1' : '3', 'dc2': 2 }")
    else {
        panic!()
    };
    assert_eq!((k.if_not_exists, k.name.as_str(), k.options.len()), (false, "Ks", 1));

    assert_eq!(stmt("DROP KEYSPACE ks"), CqlStatement::DropKeyspace { if_exists: false, name: "ks".into() });
    assert_eq!(stmt("drop keyspace if exists ks;"), CqlStatement::DropKeyspace { if_exists: true, name: "ks".into() });

    let e = err("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy'} AND replication = {}");
    assert_eq!(e.message, "Multiple definition for property replication");
    assert_eq!((e.line, e.column), (1, 70));
    // WITH is required; property values are constants, never markers.
    err("CREATE KEYSPACE ks");
    err("CREATE KEYSPACE ks WITH durable_writes = ?");
}

#[test]
fn create_and_drop_type() {
    let s = stmt("CREATE TYPE IF NOT EXISTS ks.address (street text, zip int, tags frozen<set<text>>, home ks.geo,)");
    let expected = CreateType {
        if_not_exists: true,
        name: QualifiedName::qualified("ks", "address"),
        fields: vec![
            ("street".into(), native(ColumnType::Varchar)),
            ("zip".into(), native(ColumnType::Int)),
            ("tags".into(), CqlType::Frozen(Box::new(CqlType::Set(Box::new(native(ColumnType::Varchar)))))),
            ("home".into(), CqlType::UserDefined { keyspace: Some("ks".into()), name: "geo".into() }),
        ],
    };
    assert_eq!(s, CqlStatement::CreateType(expected));
    assert_eq!(
        stmt("DROP TYPE IF EXISTS address"),
        CqlStatement::DropType { if_exists: true, name: QualifiedName::bare("address") }
    );
    err("CREATE TYPE t ()");
}

#[test]
fn create_table_with_inline_key() {
    let t = create_table("CREATE TABLE ks.t (k int PRIMARY KEY, v text)");
    assert_eq!(t.name, QualifiedName::qualified("ks", "t"));
    assert_eq!(
        t.columns,
        vec![
            ColumnDef { name: "k".into(), ty: native(ColumnType::Int), is_static: false },
            ColumnDef { name: "v".into(), ty: native(ColumnType::Varchar), is_static: false },
        ]
    );
    assert_eq!(t.primary_key(), Ok(&PrimaryKey { partition: vec!["k".into()], clustering: vec![] }));
    assert!(!t.if_not_exists && !t.compact_storage && t.options.is_empty() && t.clustering_order.is_empty());
}

#[test]
fn create_table_with_composite_key_and_options() {
    let t = create_table(
        "CREATE TABLE IF NOT EXISTS t (
            a int, b text, c timeuuid, d bigint, s list<int> STATIC, m map<text, frozen<list<int>>>,
            tu tuple<int, text>, ve vector<float, 3>, u frozen<my_udt>, cu 'org.example.MyType',
            PRIMARY KEY ((a, b), c, d),
         ) WITH CLUSTERING ORDER BY (c DESC, d ASC) AND comment = 'hi' AND gc_grace_seconds = 0
           AND compaction = {'class': 'LeveledCompactionStrategy'} AND caching = ALL AND COMPACT STORAGE",
    );
    assert!(t.if_not_exists && t.compact_storage);
    assert_eq!(
        t.primary_key(),
        Ok(&PrimaryKey { partition: vec!["a".into(), "b".into()], clustering: vec!["c".into(), "d".into()] })
    );
    assert_eq!(t.clustering_order, vec![("c".into(), Order::Desc), ("d".into(), Order::Asc)]);
    let types: Vec<_> = t.columns.iter().map(|c| (c.name.as_str(), c.ty.clone(), c.is_static)).collect();
    assert_eq!(types[4], ("s", CqlType::List(Box::new(native(ColumnType::Int))), true));
    assert_eq!(
        types[5].1,
        CqlType::Map(
            Box::new(native(ColumnType::Varchar)),
            Box::new(CqlType::Frozen(Box::new(CqlType::List(Box::new(native(ColumnType::Int))))))
        )
    );
    assert_eq!(types[6].1, CqlType::Tuple(vec![native(ColumnType::Int), native(ColumnType::Varchar)]));
    assert_eq!(types[7].1, CqlType::Vector(Box::new(native(ColumnType::Float)), 3));
    assert_eq!(types[8].1, CqlType::Frozen(Box::new(CqlType::UserDefined { keyspace: None, name: "my_udt".into() })));
    assert_eq!(types[9].1, native(ColumnType::Custom("org.example.MyType".into())));
    assert_eq!(
        t.options,
        vec![
            ("comment".into(), ltext("hi")),
            ("gc_grace_seconds".into(), lint("0")),
            ("compaction".into(), Literal::Map(vec![(ltext("class"), ltext("LeveledCompactionStrategy"))])),
            ("caching".into(), ltext("ALL")),
        ]
    );
}

#[test]
fn create_table_primary_key_forms() {
    let pk = |cql: &str| create_table(cql).primary_key().cloned();
    let single = PrimaryKey { partition: vec!["k".into()], clustering: vec![] };
    assert_eq!(pk("CREATE TABLE t (k int, v int, PRIMARY KEY (k))"), Ok(single.clone()));
    assert_eq!(pk("CREATE TABLE t (k int, v int, PRIMARY KEY ((k)))"), Ok(single));
    assert_eq!(
        pk("CREATE COLUMNFAMILY t (k int, c int, PRIMARY KEY (k, c))"),
        Ok(PrimaryKey { partition: vec!["k".into()], clustering: vec!["c".into()] })
    );
    assert_eq!(
        pk("CREATE TABLE t (k int, v int)"),
        Err("No PRIMARY KEY specified for table 't' (exactly one required)".into())
    );
    assert_eq!(
        pk("CREATE TABLE t (k int PRIMARY KEY, v int, PRIMARY KEY (v))"),
        Err("Multiple PRIMARY KEYs specified for table 't' (exactly one required)".into())
    );
    err("CREATE TABLE t (k int PRIMARY KEY, v vector<float, 0>)");
    err("CREATE TABLE t (k int PRIMARY KEY, v vector<float, x>)");
    err("CREATE TABLE t (k int PRIMARY KEY v int)");
    err("CREATE TABLE t ()");
}

#[test]
fn drop_and_truncate() {
    assert_eq!(
        stmt("DROP TABLE ks.t"),
        CqlStatement::DropTable { if_exists: false, name: QualifiedName::qualified("ks", "t") }
    );
    assert_eq!(
        stmt("DROP COLUMNFAMILY IF EXISTS t"),
        CqlStatement::DropTable { if_exists: true, name: QualifiedName::bare("t") }
    );
    assert_eq!(stmt("TRUNCATE t"), CqlStatement::Truncate(QualifiedName::bare("t")));
    assert_eq!(stmt("TRUNCATE TABLE ks.t;"), CqlStatement::Truncate(QualifiedName::qualified("ks", "t")));
    assert_eq!(stmt("truncate columnfamily t").table(), Some(&QualifiedName::bare("t")));
}

#[test]
fn insert_forms() {
    let i = insert("INSERT INTO ks.t (k, v) VALUES (1, 'a')");
    assert_eq!(
        i,
        Insert {
            table: QualifiedName::qualified("ks", "t"),
            columns: vec!["k".into(), "v".into()],
            values: vec![int("1"), text("a")],
            if_not_exists: false,
            using: Using::default(),
        }
    );
    let p =
        ok("INSERT INTO t (k, v, ts) VALUES (?, :v, toTimestamp(now())) IF NOT EXISTS USING TTL 86400 AND TIMESTAMP ?");
    let CqlStatement::Insert(i) = p.statement else { panic!() };
    assert_eq!(i.values, vec![marker(0), named(1, "v"), func("totimestamp", vec![func("now", vec![])])]);
    assert!(i.if_not_exists);
    assert_eq!(i.using, Using { ttl: Some(int("86400")), timestamp: Some(marker(2)) });
    assert_eq!(p.bind_markers, vec![None, Some("v".into()), None]);

    let i = insert(
        "INSERT INTO t (k, u, c, n) VALUES (uuid(), currentTimestamp(), (int) 42, (bigint) ?) USING TIMESTAMP 5",
    );
    assert_eq!(i.values[0], func("uuid", vec![]));
    assert_eq!(i.values[1], func("currenttimestamp", vec![]));
    assert_eq!(i.values[2], Term::Cast { ty: native(ColumnType::Int), term: Box::new(int("42")) });
    assert_eq!(i.values[3], Term::Cast { ty: native(ColumnType::Bigint), term: Box::new(marker(0)) });
    assert_eq!(i.using, Using { ttl: None, timestamp: Some(int("5")) });
    err("INSERT INTO t (k) VALUES ()");
    err("INSERT INTO t VALUES (1)");
}

#[test]
fn collection_terms_fold_into_literals_unless_they_hold_markers() {
    let i = insert(
        "INSERT INTO t (a, b, c, d, e, f) VALUES ([1, 2], {'x', 'y'}, {'k': [1], 'l': []}, (1, 'a'), {street: 'x', zip: 1}, {})",
    );
    assert_eq!(
        i.values,
        vec![
            lit(Literal::List(vec![lint("1"), lint("2")])),
            lit(Literal::Set(vec![ltext("x"), ltext("y")])),
            lit(Literal::Map(vec![(ltext("k"), Literal::List(vec![lint("1")])), (ltext("l"), Literal::List(vec![])),])),
            lit(Literal::Tuple(vec![lint("1"), ltext("a")])),
            lit(Literal::Udt(vec![("street".into(), ltext("x")), ("zip".into(), lint("1"))])),
            lit(Literal::Set(vec![])),
        ]
    );
    let i = insert("INSERT INTO t (a, b, c, d, e) VALUES ([1, ?], {?}, {'k': ?, ?: 2}, (?, 'a'), {f: ?, \"G\": 1})");
    assert_eq!(
        i.values,
        vec![
            Term::List(vec![int("1"), marker(0)]),
            Term::Set(vec![marker(1)]),
            Term::Map(vec![(text("k"), marker(2)), (marker(3), int("2"))]),
            Term::Tuple(vec![marker(4), text("a")]),
            Term::Udt(vec![("f".into(), marker(5)), ("G".into(), int("1"))]),
        ]
    );
}

#[test]
fn update_forms() {
    let u = update(
        "UPDATE ks.t USING TTL 10 AND TIMESTAMP 20 SET a = 1, b = b + {'x'}, c = [0] + c, d = d - ?, \
         e['k'] = 'v', f.g = 3, n = n -1, m += 2, o -= {'z'} WHERE k = 0 AND c IN (1, 2)",
    );
    assert_eq!(u.table, QualifiedName::qualified("ks", "t"));
    assert_eq!(u.using, Using { ttl: Some(int("10")), timestamp: Some(int("20")) });
    assert_eq!(
        u.assignments,
        vec![
            Assignment::Set { column: "a".into(), value: int("1") },
            Assignment::Add { column: "b".into(), value: lit(Literal::Set(vec![ltext("x")])) },
            Assignment::Prepend { column: "c".into(), value: lit(Literal::List(vec![lint("0")])) },
            Assignment::Remove { column: "d".into(), value: marker(0) },
            Assignment::SetElement { column: "e".into(), key: text("k"), value: text("v") },
            Assignment::SetField { column: "f".into(), field: "g".into(), value: int("3") },
            Assignment::Remove { column: "n".into(), value: int("1") },
            Assignment::Add { column: "m".into(), value: int("2") },
            Assignment::Remove { column: "o".into(), value: lit(Literal::Set(vec![ltext("z")])) },
        ]
    );
    assert_eq!(
        u.where_clause,
        vec![eq("k", int("0")), Relation::In { column: "c".into(), values: InValues::List(vec![int("1"), int("2")]) }]
    );
    assert_eq!(u.condition, None);

    // Functions and literal words on the right are values, not columns.
    let u = update("UPDATE t SET a = now(), b = null, c = true WHERE k = 1");
    assert_eq!(u.assignments[0], Assignment::Set { column: "a".into(), value: func("now", vec![]) });
    assert_eq!(u.assignments[1], Assignment::Set { column: "b".into(), value: lit(Literal::Null) });

    let e = err("UPDATE t SET a = b + 1 WHERE k = 1");
    assert!(e.message.starts_with("Only expressions of the form X = X +<value>"), "{e}");
    assert_eq!(e.column, 17);
    let e = err("UPDATE t SET a = [1] + b WHERE k = 1");
    assert!(e.message.starts_with("Only expressions of the form X = <value> + X"), "{e}");
    err("UPDATE t SET a = 1");
    err("UPDATE t WHERE k = 1");
}

#[test]
fn update_conditions() {
    assert_eq!(update("UPDATE t SET a = 1 WHERE k = 1 IF EXISTS").condition, Some(IfClause::Exists));
    let u = update(
        "UPDATE t SET a = 1 WHERE k = 1 IF a = 2 AND b != null AND m['x'] > 3 AND u.f <= 4 AND c IN (1, ?) AND exists = 1",
    );
    assert_eq!(
        u.condition,
        Some(IfClause::Conditions(vec![
            Condition::Compare { target: Target::Column("a".into()), op: Operator::Eq, value: int("2") },
            Condition::Compare { target: Target::Column("b".into()), op: Operator::Ne, value: lit(Literal::Null) },
            Condition::Compare { target: Target::Element("m".into(), text("x")), op: Operator::Gt, value: int("3") },
            Condition::Compare { target: Target::Field("u".into(), "f".into()), op: Operator::Le, value: int("4") },
            Condition::In { target: Target::Column("c".into()), values: InValues::List(vec![int("1"), marker(0)]) },
            Condition::Compare { target: Target::Column("exists".into()), op: Operator::Eq, value: int("1") },
        ]))
    );
}

#[test]
fn delete_forms() {
    let d = delete("DELETE FROM ks.t WHERE k = 1");
    assert_eq!(
        d,
        Delete {
            targets: vec![],
            table: QualifiedName::qualified("ks", "t"),
            using: Using::default(),
            where_clause: vec![eq("k", int("1"))],
            condition: None,
        }
    );
    let d = delete("DELETE a, m['k'], l[0], u.f FROM t USING TIMESTAMP 123 WHERE k = ? IF EXISTS");
    assert_eq!(
        d.targets,
        vec![
            Target::Column("a".into()),
            Target::Element("m".into(), text("k")),
            Target::Element("l".into(), int("0")),
            Target::Field("u".into(), "f".into()),
        ]
    );
    assert_eq!(d.using.timestamp, Some(int("123")));
    assert_eq!(d.condition, Some(IfClause::Exists));
    assert_eq!(
        delete("DELETE FROM t WHERE k = 1 IF v = 3").condition,
        Some(IfClause::Conditions(vec![Condition::Compare {
            target: Target::Column("v".into()),
            op: Operator::Eq,
            value: int("3")
        }]))
    );
    let e = err("DELETE FROM t USING TTL 5 WHERE k = 1");
    assert_eq!(e.to_string(), "line 1:20 mismatched input 'TTL' expecting K_TIMESTAMP");
    err("DELETE FROM t");
}

#[test]
fn select_projection_forms() {
    let s = select("SELECT * FROM ks.t");
    assert_eq!(
        s,
        Select {
            distinct: false,
            projection: Projection::Wildcard,
            table: QualifiedName::qualified("ks", "t"),
            where_clause: vec![],
            group_by: vec![],
            order_by: vec![],
            per_partition_limit: None,
            limit: None,
            allow_filtering: false,
        }
    );
    let s = select("SELECT COUNT(*) AS n FROM t");
    assert_eq!(
        s.projection,
        Projection::Selectors(vec![SelectItem { selector: Selector::CountAll, alias: Some("n".into()) }])
    );
    assert_eq!(items(&select("select count(1) from t").projection), vec![Selector::CountAll]);
    let s = select(
        "SELECT DISTINCT k, writetime(v) AS w, TTL(v), token(k, k2), count(v), ks.f(v, 1, ?), cast(v AS text), u.f.g, \"Quoted\" FROM t",
    );
    assert!(s.distinct);
    assert_eq!(
        items(&s.projection),
        vec![
            col("k"),
            Selector::WriteTime("v".into()),
            Selector::Ttl("v".into()),
            Selector::Token(vec!["k".into(), "k2".into()]),
            Selector::Function { name: QualifiedName::bare("count"), args: vec![col("v")] },
            Selector::Function {
                name: QualifiedName::qualified("ks", "f"),
                args: vec![col("v"), Selector::Term(int("1")), Selector::Term(marker(0))]
            },
            Selector::Cast(Box::new(col("v")), native(ColumnType::Varchar)),
            Selector::Field(Box::new(Selector::Field(Box::new(col("u")), "f".into())), "g".into()),
            col("Quoted"),
        ]
    );
    let Projection::Selectors(v) = s.projection else { panic!() };
    assert_eq!(v[1].alias.as_deref(), Some("w"));
    // Non-reserved keywords are plain column names.
    assert_eq!(
        items(&select("SELECT key, type, ttl, writetime, count, distinct FROM t").projection),
        vec![col("key"), col("type"), col("ttl"), col("writetime"), col("count"), col("distinct")]
    );
    assert!(!select("SELECT distinct FROM t").distinct);
}

#[test]
fn select_clauses() {
    let s = select(
        "SELECT v FROM t WHERE k = 1 AND c >= 2 AND c < 5 GROUP BY k, c ORDER BY c DESC, d PER PARTITION LIMIT 2 LIMIT ? ALLOW FILTERING",
    );
    assert_eq!(
        s.where_clause,
        vec![
            eq("k", int("1")),
            Relation::Compare { column: "c".into(), op: Operator::Ge, value: int("2") },
            Relation::Compare { column: "c".into(), op: Operator::Lt, value: int("5") },
        ]
    );
    assert_eq!(s.group_by, vec!["k".to_string(), "c".to_string()]);
    assert_eq!(s.order_by, vec![("c".into(), Order::Desc), ("d".into(), Order::Asc)]);
    assert_eq!(s.per_partition_limit, Some(int("2")));
    assert_eq!(s.limit, Some(marker(0)));
    assert!(s.allow_filtering);
    // LIMIT before PER PARTITION LIMIT is accepted too.
    let s = select("SELECT v FROM t LIMIT 10 PER PARTITION LIMIT 1");
    assert_eq!((s.limit, s.per_partition_limit), (Some(int("10")), Some(int("1"))));
    err("SELECT v FROM t LIMIT 1 LIMIT 2");
    err("SELECT v FROM t ALLOW");
}

#[test]
fn select_relations() {
    let s = select(
        "SELECT * FROM t WHERE a = 1 AND b != 2 AND c <= 3 AND d > 4 AND e IN (1, 2) AND f IN ? AND g IN () \
         AND token(k1, k2) > token(?, ?) AND (c1, c2) >= (1, 2) AND (c1, c2) < ? AND (c1, c2) IN ((1, 2), (3, ?)) \
         AND (c1, c2) IN :tuples AND s CONTAINS 'x' AND m CONTAINS KEY 'y'",
    );
    let cs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        s.where_clause,
        vec![
            eq("a", int("1")),
            Relation::Compare { column: "b".into(), op: Operator::Ne, value: int("2") },
            Relation::Compare { column: "c".into(), op: Operator::Le, value: int("3") },
            Relation::Compare { column: "d".into(), op: Operator::Gt, value: int("4") },
            Relation::In { column: "e".into(), values: InValues::List(vec![int("1"), int("2")]) },
            Relation::In { column: "f".into(), values: InValues::Marker(BindMarker { index: 0, name: None }) },
            Relation::In { column: "g".into(), values: InValues::List(vec![]) },
            Relation::Token {
                columns: cs(&["k1", "k2"]),
                op: Operator::Gt,
                value: func("token", vec![marker(1), marker(2)])
            },
            Relation::MultiCompare {
                columns: cs(&["c1", "c2"]),
                op: Operator::Ge,
                value: lit(Literal::Tuple(vec![lint("1"), lint("2")]))
            },
            Relation::MultiCompare { columns: cs(&["c1", "c2"]), op: Operator::Lt, value: marker(3) },
            Relation::MultiIn {
                columns: cs(&["c1", "c2"]),
                values: InValues::List(vec![
                    lit(Literal::Tuple(vec![lint("1"), lint("2")])),
                    Term::Tuple(vec![int("3"), marker(4)])
                ])
            },
            Relation::MultiIn {
                columns: cs(&["c1", "c2"]),
                values: InValues::Marker(BindMarker { index: 5, name: Some("tuples".into()) })
            },
            Relation::Contains { column: "s".into(), value: text("x") },
            Relation::ContainsKey { column: "m".into(), value: text("y") },
        ]
    );
}

#[test]
fn batches() {
    let p = ok("BEGIN BATCH
          INSERT INTO t (k, v) VALUES (?, ?);
          UPDATE t SET v = ? WHERE k = ?
          DELETE FROM t WHERE k = :gone;
        APPLY BATCH;");
    let CqlStatement::Batch(b) = p.statement else { panic!() };
    assert_eq!((b.kind, b.using.clone(), b.statements.len()), (BatchKind::Logged, Using::default(), 3));
    assert!(matches!(&b.statements[0], Modification::Insert(i) if i.values == vec![marker(0), marker(1)]));
    assert!(matches!(&b.statements[1], Modification::Update(u) if u.where_clause == vec![eq("k", marker(3))]));
    assert!(matches!(&b.statements[2], Modification::Delete(d) if d.where_clause == vec![eq("k", named(4, "gone"))]));
    assert_eq!(p.bind_markers, vec![None, None, None, None, Some("gone".into())]);

    let CqlStatement::Batch(b) =
        stmt("begin unlogged batch using timestamp 42 insert into t (k) values (1) apply batch")
    else {
        panic!()
    };
    assert_eq!((b.kind, b.using.timestamp), (BatchKind::Unlogged, Some(int("42"))));
    let CqlStatement::Batch(b) = stmt("BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE k = 1; APPLY BATCH") else {
        panic!()
    };
    assert_eq!(b.kind, BatchKind::Counter);
    assert_eq!(
        stmt("BEGIN BATCH APPLY BATCH"),
        CqlStatement::Batch(CqlBatch { kind: BatchKind::Logged, using: Using::default(), statements: vec![] })
    );
    err("BEGIN BATCH SELECT * FROM t APPLY BATCH");
    err("BEGIN BATCH INSERT INTO t (k) VALUES (1)");
}

// ----- what drivers send -----------------------------------------------------------

/// The statements the drivers send on connect, schema refresh, keyspace switch and
/// tracing, copied from their sources:
/// - DataStax Python driver 3.29, `cassandra/cluster.py` `ControlConnection` (with
///   `{nt_col_name}` as `rpc_address` and `native_transport_address`), the older 3.x
///   variants of the same constants, `cassandra/connection.py` (`USE "ks"`),
///   `Session.set_keyspace` (`USE ks`), `cassandra/metadata.py` `SchemaParserV22/V3/V4`
///   (the `WHERE` clauses as `bind_params` renders them) and `cassandra/query.py`
///   `QueryTrace` (a UUID is rendered unquoted).
/// - `scylla` crate, `scylla/src/cluster/metadata/fetching.rs` (peers, local, schema;
///   `query_filter_keyspace_name` appends ` where keyspace_name in ?`, and prepares
///   every one of them), `scylla/src/network/connection.rs` (`LOCAL_VERSION`,
///   `use_keyspace`).
const DRIVER_STATEMENTS: &[&str] = &[
    // Python: control connection (3.29)
    "SELECT * FROM system.peers",
    "SELECT host_id, peer, data_center, rack, rpc_address, rpc_address, release_version, schema_version FROM system.peers",
    "SELECT host_id, peer, data_center, rack, rpc_address, native_transport_address, release_version, schema_version FROM system.peers",
    "SELECT * FROM system.local WHERE key='local'",
    "SELECT host_id, cluster_name, data_center, rack, partitioner, release_version, schema_version FROM system.local WHERE key='local'",
    "SELECT rpc_address FROM system.local WHERE key='local'",
    "SELECT peer, host_id, rpc_address, schema_version FROM system.peers",
    "SELECT peer, host_id, native_transport_address, schema_version FROM system.peers",
    "SELECT schema_version FROM system.local WHERE key='local'",
    "SELECT * FROM system.peers_v2",
    "SELECT host_id, peer, peer_port, data_center, rack, native_address, native_port, release_version, schema_version FROM system.peers_v2",
    "SELECT host_id, peer, peer_port, native_address, native_port, schema_version FROM system.peers_v2",
    // Python: control connection (older 3.x)
    "SELECT peer, data_center, rack, rpc_address, release_version, schema_version FROM system.peers",
    "SELECT cluster_name, data_center, rack, partitioner, release_version, schema_version FROM system.local WHERE key='local'",
    "SELECT peer, rpc_address, schema_version FROM system.peers",
    "SELECT peer, peer_port, data_center, rack, native_address, native_port, release_version, schema_version FROM system.peers_v2",
    "SELECT peer, peer_port, native_address, native_port, schema_version FROM system.peers_v2",
    "SELECT peer, data_center, host_id, preferred_ip, rack, release_version, rpc_address, schema_version, tokens FROM system.peers",
    // Python: keyspace switch
    "USE \"ks\"",
    "USE ks",
    // Python: schema (Cassandra 3+)
    "SELECT * FROM system_schema.keyspaces",
    "SELECT * FROM system_schema.tables",
    "SELECT * FROM system_schema.columns",
    "SELECT * FROM system_schema.indexes",
    "SELECT * FROM system_schema.triggers",
    "SELECT * FROM system_schema.types",
    "SELECT * FROM system_schema.functions",
    "SELECT * FROM system_schema.aggregates",
    "SELECT * FROM system_schema.views",
    "SELECT * FROM system_schema.keyspaces WHERE keyspace_name = 'ks'",
    "SELECT * FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'",
    "SELECT * FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'",
    "SELECT * FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 't'",
    "SELECT * FROM system_schema.triggers WHERE keyspace_name = 'ks' AND table_name = 't'",
    "SELECT * FROM system_schema.views WHERE keyspace_name = 'ks' AND view_name = 't'",
    "SELECT * FROM system_schema.types WHERE keyspace_name = 'ks'",
    "SELECT * FROM system_schema.types WHERE keyspace_name = 'ks' AND type_name = 'address'",
    "SELECT * FROM system_schema.functions WHERE keyspace_name = 'ks' AND function_name = 'f' AND argument_types = ['int', 'text']",
    "SELECT * FROM system_schema.aggregates WHERE keyspace_name = 'ks' AND aggregate_name = 'a' AND argument_types = ['int']",
    "SELECT * from system_virtual_schema.keyspaces",
    "SELECT * from system_virtual_schema.tables",
    "SELECT * from system_virtual_schema.columns",
    // Python: schema (Cassandra 2.2)
    "SELECT * FROM system.schema_keyspaces",
    "SELECT * FROM system.schema_columnfamilies",
    "SELECT * FROM system.schema_columns",
    "SELECT * FROM system.schema_triggers",
    "SELECT * FROM system.schema_usertypes",
    "SELECT * FROM system.schema_functions",
    "SELECT * FROM system.schema_aggregates",
    "SELECT * FROM system.schema_columnfamilies WHERE keyspace_name = 'ks' AND columnfamily_name = 't'",
    "SELECT * FROM system.schema_functions WHERE keyspace_name = 'ks' AND function_name = 'f' AND signature = ['int']",
    // Python: tracing
    "SELECT * FROM system_traces.sessions WHERE session_id = 1d2f6d2a-5b87-11ee-8c99-0242ac120002",
    "SELECT * FROM system_traces.events WHERE session_id = 1d2f6d2a-5b87-11ee-8c99-0242ac120002",
    // scylla: peers and local
    "SELECT host_id, rpc_address, data_center, rack, tokens FROM system.peers",
    "SELECT host_id, rpc_address, data_center, rack, tokens, cluster_name FROM system.local WHERE key='local'",
    // scylla: schema, plain and filtered
    "SELECT keyspace_name, replication, durable_writes FROM system_schema.keyspaces",
    "SELECT keyspace_name, replication, durable_writes FROM system_schema.keyspaces where keyspace_name in ?",
    "SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types",
    "SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types where keyspace_name in ?",
    "SELECT keyspace_name, table_name FROM system_schema.tables",
    "SELECT keyspace_name, table_name FROM system_schema.tables where keyspace_name in ?",
    "SELECT keyspace_name, view_name, base_table_name FROM system_schema.views",
    "SELECT keyspace_name, view_name, base_table_name FROM system_schema.views where keyspace_name in ?",
    "SELECT keyspace_name, table_name, column_name, kind, position, type FROM system_schema.columns",
    "SELECT keyspace_name, table_name, column_name, kind, position, type FROM system_schema.columns where keyspace_name in ?",
    "SELECT keyspace_name, table_name, partitioner FROM system_schema.scylla_tables",
    "SELECT keyspace_name, table_name, partitioner FROM system_schema.scylla_tables where keyspace_name in ?",
    "SELECT keyspace_name, initial_tablets FROM system_schema.scylla_keyspaces",
    "SELECT keyspace_name, initial_tablets FROM system_schema.scylla_keyspaces where keyspace_name in ?",
    // scylla: client routes
    "SELECT connection_id, host_id, address, port, tls_port FROM system.client_routes WHERE connection_id IN ? AND host_id IN ?",
    "SELECT connection_id, host_id, address, port, tls_port FROM system.client_routes WHERE connection_id IN ?",
    "SELECT connection_id, host_id, address, port, tls_port FROM system.client_routes WHERE host_id IN ? ALLOW FILTERING",
    "SELECT connection_id, host_id, address, port, tls_port FROM system.client_routes ALLOW FILTERING",
    // scylla: schema agreement and keyspace switch
    "SELECT schema_version FROM system.local WHERE key='local'",
    "USE \"MyKs\"",
];

#[test]
fn every_driver_statement_parses() {
    for cql in DRIVER_STATEMENTS {
        let p = ok(cql);
        assert_eq!(p.bind_markers.len(), cql.matches('?').count(), "{cql}");
    }
}

#[test]
fn driver_statements_parse_to_the_expected_trees() {
    let s = select("SELECT * FROM system.local WHERE key='local'");
    assert_eq!(s.table, QualifiedName::qualified("system", "local"));
    assert_eq!(s.where_clause, vec![eq("key", text("local"))]);

    let s = select(
        "SELECT peer, data_center, host_id, preferred_ip, rack, release_version, rpc_address, schema_version, tokens FROM system.peers",
    );
    let names: Vec<_> = items(&s.projection);
    assert_eq!(names.len(), 9);
    assert_eq!(names[8], col("tokens"));

    let p = ok(
        "SELECT keyspace_name, table_name, column_name, kind, position, type FROM system_schema.columns where keyspace_name in ?",
    );
    let CqlStatement::Select(s) = p.statement else { panic!() };
    assert_eq!(items(&s.projection)[5], col("type"));
    assert_eq!(
        s.where_clause,
        vec![Relation::In {
            column: "keyspace_name".into(),
            values: InValues::Marker(BindMarker { index: 0, name: None })
        }]
    );
    assert_eq!(p.bind_markers, vec![None]);

    let s = select("SELECT * FROM system_traces.sessions WHERE session_id = 1d2f6d2a-5b87-11ee-8c99-0242ac120002");
    let u = uuid::Uuid::parse_str("1d2f6d2a-5b87-11ee-8c99-0242ac120002").unwrap();
    assert_eq!(s.where_clause, vec![eq("session_id", lit(Literal::Uuid(u)))]);

    let s = select(
        "SELECT * FROM system_schema.functions WHERE keyspace_name = 'ks' AND function_name = 'f' AND argument_types = ['int', 'text']",
    );
    assert_eq!(s.where_clause[2], eq("argument_types", lit(Literal::List(vec![ltext("int"), ltext("text")]))));
}

// ----- lexical rules through statements --------------------------------------------

#[test]
fn keywords_and_unquoted_names_are_case_insensitive_quoted_names_are_not() {
    let a = stmt("SELECT V FROM KS.T WHERE K = 1");
    let b = stmt("select v from ks.t where k = 1");
    let c = stmt("sElEcT v FrOm Ks.T wHeRe k = 1");
    assert_eq!(a, b);
    assert_eq!(b, c);
    let s = select(r#"SELECT "Value", "with ""quotes""" FROM "MyKs"."MyTable" WHERE "Key" = 1"#);
    assert_eq!(s.table, QualifiedName::qualified("MyKs", "MyTable"));
    assert_eq!(items(&s.projection), vec![col("Value"), col("with \"quotes\"")]);
    assert_eq!(s.where_clause, vec![eq("Key", int("1"))]);
    // A reserved word needs quotes to be a name.
    assert_eq!(select(r#"SELECT "select" FROM "from""#).table.name, "from");
    err("SELECT select FROM t");
    err("SELECT a FROM from");
    // Function names are case-insensitive too.
    assert_eq!(insert("INSERT INTO t (a) VALUES (NOW())").values[0], func("now", vec![]));
}

#[test]
fn comments_are_ignored() {
    let s =
        stmt("-- leading comment\nSELECT /* inline */ v // trailing\nFROM t -- after\n WHERE k = 1 /* multi\nline */;");
    assert_eq!(s, stmt("SELECT v FROM t WHERE k = 1"));
    assert_eq!(stmt("SELECT v FROM t; -- done"), stmt("SELECT v FROM t"));
    let e = err("SELECT v FROM t /* never closed");
    assert!(e.message.contains("<EOF>"), "{e}");
}

#[test]
fn every_literal_form() {
    let cases: Vec<(&str, Literal)> = vec![
        ("42", lint("42")),
        ("-1", lint("-1")),
        ("123456789012345678901234567890", lint("123456789012345678901234567890")),
        ("1.5", Literal::Float("1.5".into())),
        ("1.5e-3", Literal::Float("1.5e-3".into())),
        ("-2E10", Literal::Float("-2E10".into())),
        ("NaN", Literal::Float("NaN".into())),
        ("-NaN", Literal::Float("NaN".into())),
        ("Infinity", Literal::Float("Infinity".into())),
        ("-Infinity", Literal::Float("-Infinity".into())),
        ("- infinity", Literal::Float("-Infinity".into())),
        ("'it''s'", ltext("it's")),
        ("$$it's $$", ltext("it's ")),
        ("'ünïcödé'", ltext("ünïcödé")),
        ("0xCAFE", Literal::Blob(vec![0xca, 0xfe])),
        ("0x", Literal::Blob(vec![])),
        (
            "5b6962dd-3f90-4c93-8f61-eabfa4a803e2",
            Literal::Uuid(uuid::Uuid::parse_str("5b6962dd-3f90-4c93-8f61-eabfa4a803e2").unwrap()),
        ),
        ("1h30m", Literal::Duration("1h30m".into())),
        ("P1DT2H", Literal::Duration("P1DT2H".into())),
        ("-3d", Literal::Duration("-3d".into())),
        ("P0001-02-03T04:05:06", Literal::Duration("P0001-02-03T04:05:06".into())),
        ("true", Literal::Bool(true)),
        ("FALSE", Literal::Bool(false)),
        ("null", Literal::Null),
        ("NULL", Literal::Null),
        ("[1, 'a']", Literal::List(vec![lint("1"), ltext("a")])),
        ("{1, 2}", Literal::Set(vec![lint("1"), lint("2")])),
        ("{}", Literal::Set(vec![])),
        ("{'k': 1.5}", Literal::Map(vec![(ltext("k"), Literal::Float("1.5".into()))])),
        ("(1, null)", Literal::Tuple(vec![lint("1"), Literal::Null])),
        ("(7)", Literal::Tuple(vec![lint("7")])),
        (
            "{a: 1, \"B\": [true]}",
            Literal::Udt(vec![("a".into(), lint("1")), ("B".into(), Literal::List(vec![Literal::Bool(true)]))]),
        ),
        ("{true: 1}", Literal::Map(vec![(Literal::Bool(true), lint("1"))])),
    ];
    for (src, expected) in cases {
        let i = insert(&format!("INSERT INTO t (v) VALUES ({src})"));
        assert_eq!(i.values, vec![lit(expected)], "{src}");
    }
}

#[test]
fn bind_markers_are_numbered_in_text_order_and_keep_their_names() {
    let p = ok(
        "UPDATE t USING TTL ? SET a = :a, b[?] = :\"B\", c = c + [?] WHERE k = :k AND c IN ? AND (x, y) = (?, :y) IF d = ?",
    );
    assert_eq!(
        p.bind_markers,
        vec![
            None,
            Some("a".into()),
            None,
            Some("B".into()),
            None,
            Some("k".into()),
            None,
            None,
            Some("y".into()),
            None
        ]
    );
    let CqlStatement::Update(u) = p.statement else { panic!() };
    assert_eq!(u.using.ttl, Some(marker(0)));
    assert_eq!(u.assignments[1], Assignment::SetElement { column: "b".into(), key: marker(2), value: named(3, "B") });
    assert_eq!(u.where_clause[0], eq("k", named(5, "k")));
    // A repeated name is one marker per occurrence, as in Cassandra.
    assert_eq!(ok("SELECT * FROM t WHERE a = :x AND b = :x").bind_markers, vec![Some("x".into()), Some("x".into())]);
    assert!(ok("SELECT * FROM t").bind_markers.is_empty());
    // Named markers accept non-reserved keywords, lowercased.
    assert_eq!(ok("SELECT * FROM t WHERE a = :Key").bind_markers, vec![Some("key".into())]);
}

// ----- errors -------------------------------------------------------------------------

#[test]
fn error_messages_and_positions() {
    let cases = [
        ("SELECT * FORM t", "line 1:9 mismatched input 'FORM' expecting K_FROM"),
        ("SELEC * FROM t", "line 1:0 no viable alternative at input 'SELEC'"),
        ("SELECT * FROM t WHERE", "line 1:21 mismatched input '<EOF>' expecting IDENT"),
        ("SELECT * FROM t x", "line 1:16 mismatched input 'x' expecting EOF"),
        ("INSERT INTO t (k) VALUES (1", "line 1:27 mismatched input '<EOF>' expecting ')'"),
        ("SELECT * FROM t WHERE k == 1", "line 1:25 no viable alternative at input '='"),
        ("SELECT *\nFROM t\n  WHERE k = 'open", "line 3:17 mismatched character '<EOF>' expecting '''"),
        ("SELECT * FROM t WHERE k = 1 # x", "line 1:28 no viable alternative at character '#'"),
        ("SELECT * FROM t WHERE ü = 1", "line 1:22 no viable alternative at character 'ü'"),
        ("SELECT * FROM t WHERE k = 0x123", "line 1:26 cannot parse '0x123' as hex bytes"),
        ("", "line 1:0 no viable alternative at input '<EOF>'"),
        ("CREATE INDEX ON t (v)", "line 1:7 no viable alternative at input 'INDEX'"),
    ];
    for (cql, expected) in cases {
        assert_eq!(err(cql).to_string(), expected, "{cql:?}");
    }
    let e = err("SELECT * FROM t\n  WHERE k = = 1");
    assert_eq!((e.line, e.column), (2, 12));
    // Columns count characters, not bytes.
    let e = err("SELECT 'ééé' FROM t x");
    assert_eq!((e.line, e.column), (1, 20));
    // Long tokens are cut in messages.
    let e = err(&format!("SELECT * FROM t WHERE k = 1 '{}'", "x".repeat(10_000)));
    assert!(e.message.len() < 200, "{}", e.message.len());
}

// ----- limits ---------------------------------------------------------------------------

#[test]
fn nesting_is_capped_not_a_stack_overflow() {
    let ok_depth = MAX_DEPTH - 2;
    let nested = format!("INSERT INTO t (v) VALUES ({}1{})", "[".repeat(ok_depth), "]".repeat(ok_depth));
    ok(&nested);
    for depth in [MAX_DEPTH + 1, 100_000] {
        let e = err(&format!("INSERT INTO t (v) VALUES ({}1{})", "[".repeat(depth), "]".repeat(depth)));
        assert!(e.message.starts_with("nesting deeper than 64"), "{e}");
        let e =
            err(&format!("CREATE TABLE t (k int PRIMARY KEY, v {}int{})", "list<".repeat(depth), ">".repeat(depth)));
        assert!(e.message.starts_with("nesting deeper than 64"), "{e}");
        let e = err(&format!("SELECT {}v{} FROM t", "f(".repeat(depth), ")".repeat(depth)));
        assert!(e.message.starts_with("nesting deeper than 64"), "{e}");
        err(&format!("INSERT INTO t (v) VALUES ({}1)", "(int) ".repeat(depth)));
        err(&format!("INSERT INTO t (v) VALUES ({}1{})", "{a: ".repeat(depth), "}".repeat(depth)));
    }
}

#[test]
fn large_statements_parse_in_linear_time() {
    // A few MB: a 200k-element IN list and a 2 MB string.
    let list = (0..200_000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let s = select(&format!("SELECT * FROM t WHERE k IN ({list})"));
    assert!(matches!(&s.where_clause[0], Relation::In { values: InValues::List(v), .. } if v.len() == 200_000));
    let big = "ab''".repeat(500_000);
    let i = insert(&format!("INSERT INTO t (k, v) VALUES (1, '{big}')"));
    assert!(matches!(&i.values[1], Term::Literal(Literal::String(s)) if s.len() == 1_500_000));
    let markers = vec!["?"; 100_000].join(", ");
    assert_eq!(ok(&format!("SELECT * FROM t WHERE k IN ({markers})")).bind_markers.len(), 100_000);
    let opts = (0..50_000).map(|i| format!("o{i} = {i}")).collect::<Vec<_>>().join(" AND ");
    let CqlStatement::CreateKeyspace(k) = stmt(&format!("CREATE KEYSPACE ks WITH {opts}")) else { panic!() };
    assert_eq!(k.options.len(), 50_000);
    let batch = "INSERT INTO t (k, v) VALUES (?, ?); ".repeat(20_000);
    let p = ok(&format!("BEGIN UNLOGGED BATCH {batch} APPLY BATCH"));
    assert_eq!(p.bind_markers.len(), 40_000);
    // Garbage of the same size fails fast.
    err(&"(".repeat(3_000_000));
    err(&"'".repeat(3_000_001));
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC*") {
        let _ = parse(&s);
    }

    #[test]
    fn arbitrary_cql_like_text_never_panics(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "SELECT", "INSERT", "INTO", "UPDATE", "SET", "DELETE", "FROM", "WHERE", "AND", "IN", "IF", "EXISTS",
                    "NOT", "VALUES", "USING", "TTL", "TIMESTAMP", "BEGIN", "BATCH", "APPLY", "CREATE", "TABLE", "TYPE",
                    "KEYSPACE", "WITH", "PRIMARY", "KEY", "frozen", "list", "map", "set", "tuple", "vector", "int",
                    "text", "token", "count", "writetime", "ttl", "CONTAINS", "LIMIT", "ORDER", "BY", "DESC", "(", ")",
                    "[", "]", "{", "}", "<", ">", ",", ";", ":", ".", "*", "+", "-", "=", "!=", "<=", ">=", "?", "1",
                    "-1", "1.5", "'s'", "$$x$$", "\"Q\"", "0xab", "1h", "P1D", "NaN", "-Infinity", "true", "null", "k",
                    "v", "--", "/*", "*/", "\n",
                ]).prop_map(str::to_owned),
                "[a-z0-9_'\"(){}\\[\\]<>,.:;?=+*/-]{1,4}",
            ],
            0..40,
        )
    ) {
        let cql = parts.join(" ");
        if let Err(e) = parse(&cql) {
            proptest::prop_assert!(e.line >= 1);
            proptest::prop_assert!(!e.message.is_empty());
        }
    }
}

// ----- types ----------------------------------------------------------------------------

fn column_type(ty: &str) -> CqlType {
    create_table(&format!("CREATE TABLE t (k int PRIMARY KEY, v {ty})")).columns[1].ty.clone()
}

#[test]
fn types_display_as_cql_and_read_back() {
    for ty in [
        "int",
        "text",
        "list<frozen<map<text, int>>>",
        "set<bigint>",
        "tuple<int, text, frozen<tuple<int>>>",
        "vector<float, 1536>",
        "frozen<ks.address>",
        "\"MyType\"",
        "ks.\"select\"",
        "'org.example.It''s'",
    ] {
        let parsed = column_type(ty);
        assert_eq!(parsed.to_string(), ty);
        assert_eq!(column_type(&parsed.to_string()), parsed);
    }
    assert_eq!(column_type("VARCHAR").to_string(), "text");
    assert_eq!(column_type("Map<Text,INT>").to_string(), "map<text, int>");
    assert!(column_type("frozen<list<int>>").is_frozen());
    assert_eq!(quote_ident("plain_1"), "plain_1");
    assert_eq!(quote_ident("Mixed"), "\"Mixed\"");
    assert_eq!(quote_ident("from"), "\"from\"");
    assert_eq!(quote_ident("1st"), "\"1st\"");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
}

#[test]
fn types_resolve_to_wire_types() {
    let address = crate::protocol::UdtType {
        keyspace: "ks".into(),
        name: "address".into(),
        fields: vec![("zip".into(), ColumnType::Int)],
    };
    let mut lookup = |ks: &str, name: &str| (ks == "ks" && name == "address").then(|| address.clone());
    let ty = column_type("map<text, frozen<list<frozen<address>>>>");
    assert_eq!(
        ty.resolve("ks", &mut lookup),
        Ok(ColumnType::Map(
            Box::new(ColumnType::Varchar),
            Box::new(ColumnType::List(Box::new(ColumnType::Udt(Box::new(address.clone())))))
        ))
    );
    assert_eq!(
        column_type("tuple<int, vector<float, 2>>").resolve("ks", &mut lookup),
        Ok(ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Vector(Box::new(ColumnType::Float), 2)]))
    );
    assert_eq!(column_type("address").resolve("other", &mut lookup), Err("Unknown type other.address".into()));
    assert_eq!(column_type("other.address").resolve("ks", &mut lookup), Err("Unknown type other.address".into()));
}

#[test]
fn every_prefix_of_a_valid_statement_fails_cleanly() {
    let complex = [
        "BEGIN UNLOGGED BATCH USING TIMESTAMP 1 INSERT INTO ks.t (a, b) VALUES (?, {'k': [1, :x]}) IF NOT EXISTS; \
         UPDATE t USING TTL 5 SET m['a'] = 1, l = [1] + l, c = c -1 WHERE k = 1 IF v IN (1, 2); \
         DELETE m['k'], u.f FROM t WHERE (a, b) > (1, 2) IF EXISTS APPLY BATCH;",
        "CREATE TABLE IF NOT EXISTS \"Ks\".t (k frozen<tuple<int, text>>, s set<blob> STATIC, v vector<float, 3>, \
         PRIMARY KEY ((k), s)) WITH CLUSTERING ORDER BY (s DESC) AND compaction = {'class': 'X'} AND COMPACT STORAGE",
        "SELECT DISTINCT token(k), writetime(v) AS w, CAST(v AS text), ks.f(1, ?) FROM t WHERE token(k) > token(?) \
         AND v CONTAINS KEY 0x0a AND d = -P1D AND e = 1h30m AND u = 5b6962dd-3f90-4c93-8f61-eabfa4a803e2 \
         ORDER BY c DESC PER PARTITION LIMIT 1 LIMIT 10 ALLOW FILTERING -- done",
    ];
    for cql in DRIVER_STATEMENTS.iter().copied().chain(complex) {
        ok(cql);
        for (cut, _) in cql.char_indices() {
            // Most prefixes are errors, some are valid statements; none panics, and an
            // error always points inside the text.
            if let Err(e) = parse(&cql[..cut]) {
                assert!(e.line >= 1 && e.column <= cut, "{:?}: {e}", &cql[..cut]);
            }
        }
    }
}
