#!/usr/bin/env python3
"""Interop suite: the DataStax Python driver (cassandra-driver) against one cqlstream
test server (`cargo run --features testkit --example testkit_server`).

Run the whole suite (every protocol/compression/auth combination, a 3-node cluster,
and protocol step-down, each against a fresh server) with

    bash tests/interop/run.sh

or test one running server by hand:

    cargo run --features testkit --example testkit_server -- --addr 127.0.0.1:19042 &
    python3 tests/interop/python_driver.py --contact-point 127.0.0.1:19042 \\
        --protocol 4|5|auto --compression lz4|none [--user U --password P] \\
        [--expect-protocol 4|5] [--nodes N] [-k NAME] [-v]

`--protocol 4|5` pins `Cluster(protocol_version=...)`; `auto` leaves it unset, so the
driver starts at its own highest version and steps down on the server's
"unsupported protocol version" errors (use `--expect-protocol` to say where it must
land). The driver runs with its default settings, schema and token metadata on; the
only explicit setting is the default load-balancing policy, spelled out so the
driver does not warn that it is missing.

What it checks: the handshake (version, compression, auth), the topology and schema
metadata the driver builds from system.local, system.peers(_v2) and system_schema.*,
DDL, prepared / unprepared / batched writes, every native and collection type
written and read back, counters, a 20,000-row scan in pages of 1000 (21 pages: the
20th full page still carries a paging state, as Cassandra 5.0 does at an exact
boundary), explicit paging_state resume, and server errors arriving as the driver's
exception classes (SyntaxException, InvalidRequest, AlreadyExists,
AuthenticationFailed). Any WARNING or worse logged by the `cassandra` logger fails
the run, except the protocol-downgrade message when `--protocol auto`.

Prints one PASS/FAIL/SKIP line per check (SKIP: a statement the server does not
implement yet, today ALTER TABLE), then `N passed, M failed[, K skipped]`; exits 0
only if nothing failed (1 on failures, 2 on bad usage or a missing driver).

Needs: python3 -m pip install cassandra-driver lz4
"""

import argparse
import datetime
import decimal
import logging
import os
import sys
import time
import traceback
import uuid

try:
    from cassandra import AlreadyExists, AuthenticationFailed, InvalidRequest
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
    from cassandra.concurrent import execute_concurrent_with_args
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
    from cassandra.protocol import SyntaxException
    from cassandra.query import BatchStatement, BatchType, SimpleStatement
    from cassandra.util import Date, Duration, Time
    import lz4  # noqa: F401  (the driver's LZ4 needs it; fail early if missing)
except ImportError as e:  # pragma: no cover
    print(f"python_driver.py: {e}; install with: python3 -m pip install cassandra-driver lz4", file=sys.stderr)
    sys.exit(2)

SCAN_ROWS = 20_000
SCAN_PAGE = 1_000
VNODES = 16


# ---------------------------------------------------------------------------------------
# Warning recorder


class WarningRecorder(logging.Handler):
    """Records WARNING+ from the `cassandra` logger. Inside `expecting()` (a check that
    provokes failures on purpose, like a wrong password) records go to a separate list."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.unexpected = []
        self.expected = []
        self.expecting_depth = 0

    def emit(self, record):
        (self.expected if self.expecting_depth else self.unexpected).append(record)

    class _Expecting:
        def __init__(self, rec):
            self.rec = rec

        def __enter__(self):
            self.rec.expecting_depth += 1

        def __exit__(self, *exc):
            self.rec.expecting_depth -= 1

    def expecting(self):
        return WarningRecorder._Expecting(self)


RECORDER = WarningRecorder()


# ---------------------------------------------------------------------------------------
# Small assertion helpers


class CheckFailed(AssertionError):
    pass


class Skipped(Exception):
    """A check the server cannot run yet (reported as SKIP, not counted as failed)."""


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def eq(got, want, what):
    # `got` on the left: the driver's Date/Time types compare with datetime objects.
    if not (got == want):
        raise CheckFailed(f"{what}: got {got!r}, expected {want!r}")


def expect_error(exc_class, fn, what):
    """Runs fn(); it must raise exc_class. Returns the exception."""
    try:
        fn()
    except exc_class as e:
        return e
    except Exception as e:  # the wrong class
        raise CheckFailed(f"{what}: raised {type(e).__name__}: {e}, expected {exc_class.__name__}") from e
    raise CheckFailed(f"{what}: succeeded, expected {exc_class.__name__}")


# ---------------------------------------------------------------------------------------
# Context and test registry


class Ctx:
    def __init__(self, args):
        self.args = args
        host, _, port = args.contact_point.rpartition(":")
        self.host = host.strip("[]")
        self.port = int(port)
        self.ks = f"interop_{os.getpid()}_{int(time.time()) % 100000}"
        self.cluster = None
        self.session = None
        self.scan_loaded = False
        self.scan_order = None  # [(k, c, v)] in scan order, from the 20k-row test

    def make_cluster(self, user=None, password=None):
        a = self.args
        kwargs = dict(
            contact_points=[self.host],
            port=self.port,
            compression=("lz4" if a.compression == "lz4" else False),
            # The driver's default policy, spelled out (else it warns that none was given).
            execution_profiles={
                EXEC_PROFILE_DEFAULT: ExecutionProfile(
                    load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy())
                )
            },
            connect_timeout=10,
            control_connection_timeout=10,
        )
        if a.protocol != "auto":
            kwargs["protocol_version"] = int(a.protocol)
        if user is not None:
            kwargs["auth_provider"] = PlainTextAuthProvider(username=user, password=password)
        return Cluster(**kwargs)


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def ensure_scan_table(ctx):
    """Creates and fills `scan` once: SCAN_ROWS rows, k = i // 100, c = i % 100, v = 'v<i>'."""
    s = ctx.session
    if ctx.scan_loaded:
        return
    s.execute(f"CREATE TABLE {ctx.ks}.scan (k int, c int, v text, PRIMARY KEY (k, c))")
    ins = s.prepare(f"INSERT INTO {ctx.ks}.scan (k, c, v) VALUES (?, ?, ?)")
    params = [(i // 100, i % 100, f"v{i}") for i in range(SCAN_ROWS)]
    results = execute_concurrent_with_args(s, ins, params, concurrency=100, raise_on_first_error=True)
    eq(sum(1 for ok, _ in results if ok), SCAN_ROWS, "concurrent prepared inserts that succeeded")
    ctx.scan_loaded = True


def check_scan_rows(rows, what):
    """Every row of `scan` once, with its value; partitions contiguous, clustering order."""
    eq(len(rows), SCAN_ROWS, f"{what}: row count")
    seen = set()
    for n, (k, c, v) in enumerate(rows):
        i = k * 100 + c
        check(0 <= c < 100 and 0 <= i < SCAN_ROWS, f"{what}: row {n}: unexpected key ({k}, {c})")
        eq(v, f"v{i}", f"{what}: row {n} ({k}, {c}) v")
        check(i not in seen, f"{what}: row ({k}, {c}) returned twice")
        seen.add(i)
        if n > 0:
            pk, pc, _ = rows[n - 1]
            if pk == k:
                check(pc < c, f"{what}: row {n}: partition {k} not in clustering order ({pc} then {c})")
            else:
                eq(c, 0, f"{what}: row {n}: first clustering key of partition {k} (or the partition is split)")


def pages_of(result):
    """Walks a ResultSet page by page with the driver's paging API; returns (rows, page sizes)."""
    rows = list(result.current_rows)
    sizes = [len(result.current_rows)]
    while result.has_more_pages:
        result.fetch_next_page()
        sizes.append(len(result.current_rows))
        rows.extend(result.current_rows)
        check(len(sizes) <= 1000, "more than 1000 pages: paging does not terminate")
    return [tuple(r) for r in rows], sizes


# ---------------------------------------------------------------------------------------
# The checks, in order


@test
def connect_and_handshake(ctx):
    a = ctx.args
    ctx.cluster = ctx.make_cluster(a.user, a.password) if a.user else ctx.make_cluster()
    ctx.session = ctx.cluster.connect()
    if a.expect_protocol:
        eq(ctx.cluster.protocol_version, int(a.expect_protocol), "negotiated protocol version")
    elif a.protocol != "auto":
        eq(ctx.cluster.protocol_version, int(a.protocol), "protocol version")
    conn = ctx.cluster.control_connection._connection
    check(conn is not None, "the control connection is open")
    if a.compression == "lz4":
        check(conn.compressor is not None, "LZ4 negotiated on the control connection")
    else:
        check(conn.compressor is None, "no compression on the control connection")
    if ctx.cluster.protocol_version >= 5:
        check(getattr(conn, "_is_checksumming_enabled", True), "v5 segments (checksumming) enabled")
    row = ctx.session.execute("SELECT release_version, cluster_name FROM system.local WHERE key = 'local'").one()
    check(row is not None and row.release_version, f"system.local release_version: {row!r}")


@test
def topology_metadata(ctx):
    md = ctx.cluster.metadata
    check(md.cluster_name, "cluster name")
    check(md.partitioner and md.partitioner.endswith("Murmur3Partitioner"), f"partitioner {md.partitioner!r}")
    hosts = md.all_hosts()
    eq(len(hosts), ctx.args.nodes, f"hosts the driver knows ({hosts})")
    for h in hosts:
        check(h.is_up is not False, f"{h} is up")
        eq(h.datacenter, "datacenter1", f"{h} datacenter")
        check(h.rack, f"{h} rack")
        check(h.host_id is not None, f"{h} host_id")
        check(h.release_version, f"{h} release_version")
    check(md.token_map is not None, "token map built")
    eq(len(md.token_map.ring), VNODES * ctx.args.nodes, "tokens in the ring")
    owners = {md.token_map.token_to_host_owner[t] for t in md.token_map.ring}
    eq(len(owners), ctx.args.nodes, "hosts owning tokens")


@test
def ddl_and_schema_metadata(ctx):
    s, ks = ctx.session, ctx.ks
    s.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}")
    ksm = ctx.cluster.metadata.keyspaces.get(ks)
    check(ksm is not None, f"keyspace {ks} in the driver's metadata after CREATE KEYSPACE")
    eq(type(ksm.replication_strategy).__name__, "SimpleStrategy", "replication strategy")
    eq(ksm.replication_strategy.replication_factor, 1, "replication factor")

    s.execute(f"CREATE TYPE {ks}.address (street text, zip int)")
    s.execute(
        f"CREATE TABLE {ks}.ddl_t (k int, c text, l list<int>, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)"
    )
    s.execute(f"CREATE TABLE IF NOT EXISTS {ks}.ddl_t (k int, c text, l list<int>, PRIMARY KEY (k, c))")
    ksm = ctx.cluster.metadata.keyspaces[ks]
    udt = ksm.user_types.get("address")
    check(udt is not None, "UDT address in metadata")
    eq(list(udt.field_names), ["street", "zip"], "UDT field names")
    eq([str(t) for t in udt.field_types], ["text", "int"], "UDT field types")
    t = ksm.tables.get("ddl_t")
    check(t is not None, "table ddl_t in metadata")
    eq([c.name for c in t.partition_key], ["k"], "partition key")
    eq([c.name for c in t.clustering_key], ["c"], "clustering key")
    eq({n: c.cql_type for n, c in t.columns.items()}, {"k": "int", "c": "text", "l": "list<int>"}, "column types")
    check(t.columns["c"].is_reversed, "clustering column c is DESC")

    s.execute(f"INSERT INTO {ks}.ddl_t (k, c, l) VALUES (1, 'a', [1])")
    s.execute(f"INSERT INTO {ks}.ddl_t (k, c) VALUES (1, 'b')")
    rows = [tuple(r) for r in s.execute(f"SELECT c, l FROM {ks}.ddl_t WHERE k = 1")]
    eq(rows, [("b", None), ("a", [1])], "rows in DESC clustering order")

    s.execute(f"DROP TABLE {ks}.ddl_t")
    check("ddl_t" not in ctx.cluster.metadata.keyspaces[ks].tables, "table gone from metadata after DROP TABLE")
    expect_error(InvalidRequest, lambda: s.execute(f"SELECT * FROM {ks}.ddl_t"), "SELECT from a dropped table")
    ctx.cluster.metadata.keyspaces[ks].export_as_string()  # must not raise

    # USE: unqualified names, and a second session bound to the keyspace.
    s.execute(f"CREATE TABLE {ks}.kv (k int, c int, v text, PRIMARY KEY (k, c))")
    s2 = ctx.cluster.connect(ks)
    try:
        s2.execute("INSERT INTO kv (k, c, v) VALUES (0, 0, 'use')")
        eq(s2.execute("SELECT v FROM kv WHERE k = 0 AND c = 0").one().v, "use", "read through USE keyspace")
    finally:
        s2.shutdown()


@test
def alter_table(ctx):
    s, ks = ctx.session, ctx.ks
    s.execute(f"CREATE TABLE {ks}.alter_t (k int PRIMARY KEY, a text)")
    s.execute(f"INSERT INTO {ks}.alter_t (k, a) VALUES (1, 'x')")
    try:
        s.execute(f"ALTER TABLE {ks}.alter_t ADD extra bigint")
    except SyntaxException as e:
        if "ALTER" in str(e):
            raise Skipped(f"the server does not parse ALTER TABLE ({e})") from e
        raise
    t = ctx.cluster.metadata.keyspaces[ks].tables["alter_t"]
    eq(t.columns.get("extra") and t.columns["extra"].cql_type, "bigint", "column added by ALTER TABLE")
    s.execute(f"INSERT INTO {ks}.alter_t (k, a, extra) VALUES (2, 'y', 5)")
    rows = sorted(tuple(r) for r in s.execute(f"SELECT k, a, extra FROM {ks}.alter_t"))
    eq(rows, [(1, "x", None), (2, "y", 5)], "rows after ALTER TABLE ADD")


@test
def prepared_unprepared_and_batched_writes(ctx):
    s, ks = ctx.session, ctx.ks
    s.execute(f"CREATE TABLE IF NOT EXISTS {ks}.kv (k int, c int, v text, PRIMARY KEY (k, c))")
    # Unprepared: a literal, and driver-side parameter interpolation (quotes escaped).
    s.execute(f"INSERT INTO {ks}.kv (k, c, v) VALUES (1, 1, 'literal')")
    s.execute(f"INSERT INTO {ks}.kv (k, c, v) VALUES (%s, %s, %s)", (1, 2, "it's quoted"))
    # Prepared, positional and named markers.
    ins = s.prepare(f"INSERT INTO {ks}.kv (k, c, v) VALUES (?, ?, ?)")
    eq(ins.routing_key_indexes, [0], "prepared INSERT partition key indexes")
    eq([c.name for c in ins.column_metadata], ["k", "c", "v"], "prepared INSERT bind markers")
    s.execute(ins, (1, 3, "prepared"))
    named = s.prepare(f"INSERT INTO {ks}.kv (k, c, v) VALUES (:k, :c, :v)")
    s.execute(named, {"v": "named", "c": 4, "k": 1})
    # A logged batch mixing prepared and simple statements.
    b = BatchStatement(batch_type=BatchType.LOGGED)
    b.add(ins, (1, 5, "batch prepared"))
    b.add(SimpleStatement(f"INSERT INTO {ks}.kv (k, c, v) VALUES (1, 6, 'batch literal')"))
    b.add(SimpleStatement(f"INSERT INTO {ks}.kv (k, c, v) VALUES (%s, %s, %s)"), (1, 7, "batch params"))
    s.execute(b)
    # An unlogged batch over two partitions.
    b = BatchStatement(batch_type=BatchType.UNLOGGED)
    b.add(ins, (2, 1, "two"))
    b.add(ins, (3, 1, "three"))
    s.execute(b)
    # UPDATE and DELETE.
    s.execute(f"UPDATE {ks}.kv SET v = 'updated' WHERE k = 1 AND c = 1")
    upd = s.prepare(f"UPDATE {ks}.kv SET v = ? WHERE k = ? AND c = ?")
    s.execute(upd, ("updated too", 1, 3))
    s.execute(f"DELETE FROM {ks}.kv WHERE k = 1 AND c = 2")

    sel = s.prepare(f"SELECT c, v FROM {ks}.kv WHERE k = ?")
    eq(sel.routing_key_indexes, [0], "prepared SELECT partition key indexes")
    want = [
        (1, "updated"),
        (3, "updated too"),
        (4, "named"),
        (5, "batch prepared"),
        (6, "batch literal"),
        (7, "batch params"),
    ]
    eq([tuple(r) for r in s.execute(sel, (1,))], want, "partition 1 (prepared SELECT)")
    eq([tuple(r) for r in s.execute(f"SELECT c, v FROM {ks}.kv WHERE k = 1")], want, "partition 1 (unprepared)")
    eq(s.execute(sel, (2,)).one().v, "two", "unlogged batch, partition 2")
    eq(s.execute(sel, (3,)).one().v, "three", "unlogged batch, partition 3")
    eq(s.execute(sel, (99,)).one(), None, "an empty partition")


TYPES_COLUMNS = [
    ("t_ascii", "ascii"),
    ("t_bigint", "bigint"),
    ("t_blob", "blob"),
    ("t_boolean", "boolean"),
    ("t_date", "date"),
    ("t_decimal", "decimal"),
    ("t_double", "double"),
    ("t_duration", "duration"),
    ("t_float", "float"),
    ("t_inet", "inet"),
    ("t_int", "int"),
    ("t_smallint", "smallint"),
    ("t_text", "text"),
    ("t_time", "time"),
    ("t_timestamp", "timestamp"),
    ("t_timeuuid", "timeuuid"),
    ("t_tinyint", "tinyint"),
    ("t_uuid", "uuid"),
    ("t_varint", "varint"),
    ("t_list", "list<int>"),
    ("t_set", "set<text>"),
    ("t_map", "map<text, int>"),
    # Tuples are always frozen; system_schema spells it out (as Cassandra does).
    ("t_tuple", "frozen<tuple<int, text, double>>"),
    ("t_udt", "frozen<address>"),
    ("t_vector", "vector<float, 3>"),
    ("t_nested", "map<int, frozen<list<text>>>"),
]

TIMEUUID = uuid.UUID("d2177dd0-eaa2-11de-a572-001b779c76e3")
UUID4 = uuid.UUID("6f1c2a9e-4b7d-4e1a-9c3f-2d8e5a7b9c10")

# Row 1 (prepared) and row 3 (CQL literals below) hold these values.
TYPES_ROW = {
    "t_ascii": "hello",
    "t_bigint": 9223372036854775807,
    "t_blob": bytes.fromhex("cafebabe00ff"),
    "t_boolean": True,
    "t_date": datetime.date(2024, 2, 29),
    "t_decimal": decimal.Decimal("-1234.5678"),
    "t_double": 1.5e300,
    "t_duration": Duration(1, 2, 3_000_000_004),
    "t_float": 3.25,
    "t_inet": "127.0.0.1",
    "t_int": 2147483647,
    "t_smallint": 32767,
    "t_text": "héllo ☃ 日本",
    "t_time": datetime.time(13, 14, 15, 123456),
    "t_timestamp": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000),
    "t_timeuuid": TIMEUUID,
    "t_tinyint": 127,
    "t_uuid": UUID4,
    "t_varint": 10**30,
    "t_list": [1, 2, 3],
    "t_set": {"a", "b"},
    "t_map": {"x": 1, "y": 2},
    "t_tuple": (7, "seven", 7.5),
    "t_udt": ("Main St", 12345),
    "t_vector": [1.0, 2.5, -3.0],
    "t_nested": {1: ["a", "b"], 2: ["c"]},
}

TYPES_LITERALS = {
    "t_ascii": "'hello'",
    "t_bigint": "9223372036854775807",
    "t_blob": "0xcafebabe00ff",
    "t_boolean": "true",
    "t_date": "'2024-02-29'",
    "t_decimal": "-1234.5678",
    "t_double": "1.5e300",
    "t_duration": "1mo2d3s4ns",
    "t_float": "3.25",
    "t_inet": "'127.0.0.1'",
    "t_int": "2147483647",
    "t_smallint": "32767",
    "t_text": "'héllo ☃ 日本'",
    "t_time": "'13:14:15.123456'",
    "t_timestamp": "'2024-01-02 03:04:05.678+0000'",
    "t_timeuuid": str(TIMEUUID),
    "t_tinyint": "127",
    "t_uuid": str(UUID4),
    "t_varint": "1000000000000000000000000000000",
    "t_list": "[1, 2, 3]",
    "t_set": "{'a', 'b'}",
    "t_map": "{'x': 1, 'y': 2}",
    "t_tuple": "(7, 'seven', 7.5)",
    "t_udt": "{street: 'Main St', zip: 12345}",
    "t_vector": "[1.0, 2.5, -3.0]",
    "t_nested": "{1: ['a', 'b'], 2: ['c']}",
}

# Row 2 (prepared): the other ends of the ranges, and empty values.
TYPES_EDGE_ROW = {
    "t_ascii": "",
    "t_bigint": -9223372036854775808,
    "t_blob": b"",
    "t_boolean": False,
    "t_date": datetime.date(1, 1, 1),
    "t_decimal": decimal.Decimal("1E+30"),
    "t_double": -0.0,
    "t_duration": Duration(-1, -2, -3),
    "t_float": -1.5,
    "t_inet": "2001:db8::1",
    "t_int": -2147483648,
    "t_smallint": -32768,
    "t_text": "",
    "t_time": Time(86399999999999),
    "t_timestamp": datetime.datetime(1900, 1, 1, 0, 0, 0),
    "t_timeuuid": uuid.UUID("00000000-0000-1000-8000-000000000000"),
    "t_tinyint": -128,
    "t_uuid": uuid.UUID(int=0),
    "t_varint": -(10**30) - 1,
    "t_list": [-1],
    "t_set": {""},
    "t_map": {"": -1},
    "t_tuple": (None, None, None),
    "t_udt": (None, None),
    "t_vector": [0.0, -0.5, 1e10],
    "t_nested": {-1: []},
}


def normalise(col, v):
    """Driver types to comparable plain values."""
    if v is None:
        return None
    if isinstance(v, Date):
        return v.date()
    if isinstance(v, Time) and col == "t_time" and v.nanosecond_time % 1000 == 0:
        return datetime.time(v.hour, v.minute, v.second, v.nanosecond // 1000)
    if col == "t_set":
        return set(v)
    if col in ("t_map", "t_nested"):
        return {k: list(x) if isinstance(x, (list, tuple)) else x for k, x in dict(v).items()}
    if col in ("t_udt", "t_tuple"):
        return tuple(v)
    if col == "t_vector":
        return list(v)
    return v


def compare_types_row(row, want, what):
    d = row._asdict()
    for col, _ in TYPES_COLUMNS:
        w = want[col]
        if isinstance(w, Time):
            eq(d[col], w, f"{what} {col}")
            continue
        eq(normalise(col, d[col]), normalise(col, w), f"{what} {col}")


@test
def every_type_round_trips(ctx):
    s, ks = ctx.session, ctx.ks
    cols = ", ".join(f"{n} {t}" for n, t in TYPES_COLUMNS)
    s.execute(f"CREATE TABLE {ks}.types (k int PRIMARY KEY, {cols})")
    t = ctx.cluster.metadata.keyspaces[ks].tables["types"]
    got = {n: t.columns[n].cql_type if n in t.columns else None for n, _ in TYPES_COLUMNS}
    bad = [f"{n}: got {got[n]!r}, expected {typ!r}" for n, typ in TYPES_COLUMNS if got[n] != typ]
    check(not bad, "schema metadata column types:\n      " + "\n      ".join(bad))

    names = [n for n, _ in TYPES_COLUMNS]
    ins = s.prepare(f"INSERT INTO {ks}.types (k, {', '.join(names)}) VALUES (?, {', '.join('?' for _ in names)})")
    s.execute(ins, [1] + [TYPES_ROW[n] for n in names])
    s.execute(ins, [2] + [TYPES_EDGE_ROW[n] for n in names])
    literals = ", ".join(TYPES_LITERALS[n] for n in names)
    s.execute(f"INSERT INTO {ks}.types (k, {', '.join(names)}) VALUES (3, {literals})")
    s.execute(f"INSERT INTO {ks}.types (k) VALUES (4)")

    sel = s.prepare(f"SELECT * FROM {ks}.types WHERE k = ?")
    for k, want, how in [(1, TYPES_ROW, "prepared"), (2, TYPES_EDGE_ROW, "prepared edge"), (3, TYPES_ROW, "literal")]:
        compare_types_row(s.execute(sel, (k,)).one(), want, f"row {k} ({how} write, prepared read)")
        compare_types_row(
            s.execute(f"SELECT * FROM {ks}.types WHERE k = {k}").one(), want, f"row {k} ({how} write, unprepared read)"
        )
    r4 = s.execute(sel, (4,)).one()._asdict()
    for n in names:
        eq(r4[n], None, f"row 4 {n} (never written)")
    # Column order of SELECT *: partition key, then the others in alphabetical order.
    eq(list(s.execute(sel, (4,)).one()._fields), ["k"] + sorted(names), "SELECT * column order")


@test
def counters(ctx):
    s, ks = ctx.session, ctx.ks
    s.execute(f"CREATE TABLE {ks}.counters (k text PRIMARY KEY, n counter)")
    t = ctx.cluster.metadata.keyspaces[ks].tables["counters"]
    eq(t.columns["n"].cql_type, "counter", "counter column type")
    s.execute(f"UPDATE {ks}.counters SET n = n + 5 WHERE k = 'a'")
    upd = s.prepare(f"UPDATE {ks}.counters SET n = n + ? WHERE k = ?")
    s.execute(upd, (-2, "a"))
    b = BatchStatement(batch_type=BatchType.COUNTER)
    b.add(upd, (10, "b"))
    b.add(upd, (10, "b"))
    s.execute(b)
    got = {r.k: r.n for r in s.execute(f"SELECT k, n FROM {ks}.counters")}
    eq(got, {"a": 3, "b": 20}, "counter values")


@test
def scan_20000_rows_in_pages_of_1000(ctx):
    s, ks = ctx.session, ctx.ks
    ensure_scan_table(ctx)
    stmt = SimpleStatement(f"SELECT k, c, v FROM {ks}.scan", fetch_size=SCAN_PAGE)
    rows, sizes = pages_of(s.execute(stmt))
    check_scan_rows(rows, "unprepared scan")
    # 20 full pages; the 20th still carries a paging state (exact boundary), so a
    # 21st, empty, page ends the scan.
    eq(sizes, [SCAN_PAGE] * (SCAN_ROWS // SCAN_PAGE) + [0], "page sizes (unprepared)")
    ctx.scan_order = rows

    ps = s.prepare(f"SELECT k, c, v FROM {ks}.scan")
    bound = ps.bind(())
    bound.fetch_size = SCAN_PAGE
    prows, psizes = pages_of(s.execute(bound))
    eq(psizes, sizes, "page sizes (prepared)")
    check(prows == rows, "prepared scan returns the rows of the unprepared scan, in the same order")

    # Plain iteration fetches the pages transparently.
    eq(sum(1 for _ in s.execute(stmt)), SCAN_ROWS, "rows by plain iteration")

    # One partition, 100 rows in pages of 30: 30, 30, 30, 10 (no exact boundary).
    part = SimpleStatement(f"SELECT c, v FROM {ks}.scan WHERE k = 5", fetch_size=30)
    prow, psz = pages_of(s.execute(part))
    eq(psz, [30, 30, 30, 10], "page sizes of one partition")
    eq(prow, [(c, f"v{500 + c}") for c in range(100)], "partition 5")


@test
def paging_state_resume(ctx):
    s, ks = ctx.session, ctx.ks
    ensure_scan_table(ctx)
    if ctx.scan_order is None:
        ctx.scan_order, _ = pages_of(s.execute(SimpleStatement(f"SELECT k, c, v FROM {ks}.scan", fetch_size=5000)))
    order = ctx.scan_order
    query = f"SELECT k, c, v FROM {ks}.scan"

    r1 = s.execute(SimpleStatement(query, fetch_size=SCAN_PAGE))
    eq([tuple(r) for r in r1.current_rows], order[:SCAN_PAGE], "first page")
    state = r1.paging_state
    check(state, "the first page carries a paging state")
    # Resume with a fresh statement object: the state alone says where to go on.
    r2 = s.execute(SimpleStatement(query, fetch_size=SCAN_PAGE), paging_state=state)
    eq([tuple(r) for r in r2.current_rows], order[SCAN_PAGE : 2 * SCAN_PAGE], "page 2 resumed from paging_state")
    # The same state again gives the same page (states are not consumed).
    r2b = s.execute(SimpleStatement(query, fetch_size=SCAN_PAGE), paging_state=state)
    eq([tuple(r) for r in r2b.current_rows], order[SCAN_PAGE : 2 * SCAN_PAGE], "page 2 resumed again")
    r3 = s.execute(SimpleStatement(query, fetch_size=SCAN_PAGE), paging_state=r2.paging_state)
    eq([tuple(r) for r in r3.current_rows], order[2 * SCAN_PAGE : 3 * SCAN_PAGE], "page 3")

    # Prepared: resume with a different page size.
    ps = s.prepare(query)
    b1 = ps.bind(())
    b1.fetch_size = 700
    p1 = s.execute(b1)
    eq([tuple(r) for r in p1.current_rows], order[:700], "prepared first page of 700")
    b2 = ps.bind(())
    b2.fetch_size = 1300
    p2 = s.execute(b2, paging_state=p1.paging_state)
    eq([tuple(r) for r in p2.current_rows], order[700:2000], "prepared resume with 1300")

    # Walk to the last full page by states: its state leads to an empty last page.
    state, n = None, 0
    while True:
        r = s.execute(SimpleStatement(query, fetch_size=5000), paging_state=state)
        n += 1
        if not r.has_more_pages:
            eq(len(r.current_rows), 0, "the page after the exact boundary is empty")
            break
        eq(len(r.current_rows), 5000, f"page {n} of 5000")
        state = r.paging_state
        check(n <= 10, "paging by state does not terminate")
    eq(n, SCAN_ROWS // 5000 + 1, "pages of 5000 walked by explicit paging_state")


@test
def errors_arrive_as_driver_exceptions(ctx):
    s, ks = ctx.session, ctx.ks
    expect_error(SyntaxException, lambda: s.execute("SELEC * FROM system.local"), "bad CQL")
    with RECORDER.expecting():  # Session.prepare logs the failure itself
        expect_error(SyntaxException, lambda: s.prepare("SELECT * FROM"), "PREPARE of bad CQL")
    expect_error(InvalidRequest, lambda: s.execute(f"SELECT * FROM {ks}.no_such_table"), "unknown table")
    expect_error(InvalidRequest, lambda: s.execute("SELECT * FROM no_such_keyspace_xyz.t"), "unknown keyspace")
    create = f"CREATE TABLE {ks}.errs (k int, c int, v text, PRIMARY KEY (k, c))"
    s.execute(create)
    expect_error(InvalidRequest, lambda: s.execute(f"SELECT nope FROM {ks}.errs"), "unknown column")
    expect_error(
        InvalidRequest, lambda: s.execute(f"INSERT INTO {ks}.errs (k, c, v) VALUES ('x', 1, 'y')"), "text into an int"
    )
    expect_error(InvalidRequest, lambda: s.execute(f"INSERT INTO {ks}.errs (k, v) VALUES (1, 'y')"), "missing ck")
    e = expect_error(AlreadyExists, lambda: s.execute(create), "CREATE TABLE twice")
    eq((e.keyspace, e.table), (ks, "errs"), "AlreadyExists keyspace and table")
    e = expect_error(
        AlreadyExists,
        lambda: s.execute(
            f"CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ),
        "CREATE KEYSPACE twice",
    )
    eq(e.keyspace, ks, "AlreadyExists keyspace")
    # The session still works after all that.
    eq(s.execute("SELECT key FROM system.local WHERE key = 'local'").one().key, "local", "session after errors")


@test
def authentication(ctx):
    a = ctx.args
    if not a.user:
        print("    (no --user: only checks that no login is asked for)")
        return
    wrong = [(a.user, a.password + "-wrong", "wrong password"), ("nobody-" + a.user, a.password, "unknown user")]
    for user, pw, what in wrong:
        c = ctx.make_cluster(user, pw)
        try:
            with RECORDER.expecting():
                e = expect_error(NoHostAvailable, c.connect, what)
            errs = list(e.errors.values())
            check(
                any(isinstance(x, AuthenticationFailed) for x in errs),
                f"{what}: NoHostAvailable carries AuthenticationFailed, got {errs!r}",
            )
        finally:
            with RECORDER.expecting():
                c.shutdown()
    # No credentials at all against a node that asks for them.
    c = ctx.make_cluster()
    try:
        with RECORDER.expecting():
            e = expect_error(NoHostAvailable, c.connect, "no credentials")
        errs = list(e.errors.values())
        check(any(isinstance(x, AuthenticationFailed) for x in errs), f"no credentials: got {errs!r}")
    finally:
        with RECORDER.expecting():
            c.shutdown()


@test
def token_aware_replicas(ctx):
    md = ctx.cluster.metadata
    ensure_scan_table(ctx)
    ps = ctx.session.prepare(f"SELECT c FROM {ctx.ks}.scan WHERE k = ?")
    bound = ps.bind((5,))
    key = bound.routing_key
    check(key == (5).to_bytes(4, "big", signed=True), f"routing key of k = 5: {key!r}")
    replicas = md.get_replicas(ctx.ks, key)
    eq(len(replicas), 1, f"replicas of k = 5 with RF 1 ({replicas})")


@test
def drop_keyspace(ctx):
    s, ks = ctx.session, ctx.ks
    s.execute(f"DROP KEYSPACE {ks}")
    check(ks not in ctx.cluster.metadata.keyspaces, "keyspace gone from metadata after DROP KEYSPACE")
    expect_error(InvalidRequest, lambda: s.execute(f"SELECT * FROM {ks}.kv"), "SELECT from a dropped keyspace")
    s.execute(f"DROP KEYSPACE IF EXISTS {ks}")


@test
def no_driver_warnings(ctx):
    # Close first: shutdown may log too.
    if ctx.cluster is not None:
        ctx.cluster.shutdown()
    allowed = []
    bad = []
    for r in RECORDER.unexpected:
        msg = r.getMessage()
        if ctx.args.protocol == "auto" and msg.startswith("Downgrading core protocol version"):
            allowed.append(msg)
        else:
            bad.append(f"{r.name} {r.levelname}: {msg}")
    for m in allowed:
        print(f"    (expected) {m[:110]}")
    if ctx.args.expect_protocol and ctx.args.protocol == "auto" and int(ctx.args.expect_protocol) < 5:
        check(
            any(f"to {ctx.args.expect_protocol} " in m for m in allowed),
            "the driver logged its step down to the expected version",
        )
    check(not bad, "the driver logged warnings or errors:\n      " + "\n      ".join(bad))


# ---------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contact-point", required=True, help="HOST:PORT of the server")
    p.add_argument("--protocol", choices=["4", "5", "auto"], default="5")
    p.add_argument("--expect-protocol", choices=["4", "5"], help="the version the driver must end up with")
    p.add_argument("--compression", choices=["lz4", "none"], default="none")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--nodes", type=int, default=1, help="nodes the server runs (default 1)")
    p.add_argument("-v", "--verbose", action="store_true", help="driver DEBUG logs on stderr")
    p.add_argument("-k", dest="only", help="run only checks whose name contains this")
    args = p.parse_args(argv)
    if ":" not in args.contact_point or not args.contact_point.rsplit(":", 1)[1].isdigit():
        p.error("--contact-point must be HOST:PORT")
    if (args.user is None) != (args.password is None):
        p.error("--user and --password go together")

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("cassandra").addHandler(RECORDER)

    ctx = Ctx(args)
    label = (
        f"protocol {args.protocol}, compression {args.compression}"
        + (f", user {args.user}" if args.user else "")
        + f", {args.contact_point}"
    )
    print(f"python driver {__import__('cassandra').__version__} interop: {label}")
    passed = failed = skipped = 0
    # -k keeps the checks the others need: the connection, the keyspace, the warning check.
    always = ("connect_and_handshake", "ddl_and_schema_metadata", "no_driver_warnings")
    tests = [t for t in TESTS if not args.only or args.only in t.__name__ or t.__name__ in always]
    for t in tests:
        name = t.__name__
        if ctx.session is None and name != "connect_and_handshake":
            print(f"FAIL {name}: not run, no session")
            failed += 1
            continue
        started = time.monotonic()
        try:
            t(ctx)
        except Skipped as e:
            skipped += 1
            print(f"SKIP {name}: {e}")
        except Exception as e:
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - started:.2f} s): {type(e).__name__}: {e}")
            if not isinstance(e, CheckFailed):
                for line in traceback.format_exc().rstrip().splitlines():
                    print(f"    {line}")
        else:
            passed += 1
            print(f"PASS {name} ({time.monotonic() - started:.2f} s)")
        sys.stdout.flush()
    if ctx.cluster is not None and not ctx.cluster.is_shutdown:
        ctx.cluster.shutdown()
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
