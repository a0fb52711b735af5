//! Fuzz seeds (feature `fuzzing`): `cargo test --features fuzzing` replays every file
//! under `fuzz/seeds/<target>/` through the same invariant checks the fuzz targets run
//! (`cqlstream::protocol::roundtrip`).
//!
//! The seeds are generated from real messages by the ignored test `regenerate_seeds`
//! (`cargo test --features fuzzing --test integration regenerate_seeds -- --ignored`);
//! `seeds_are_current` fails when the committed files drift from what the generator makes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};
use cqlstream::protocol::codec::Compression;
use cqlstream::protocol::request::{
    AuthResponse, Batch, BatchStatement, BatchStatementKind, BatchType, Execute, Options, Prepare, Query, Register,
    Startup,
};
use cqlstream::protocol::response::{
    AuthChallenge, AuthSuccess, Authenticate, ColumnSpec, ErrorBody, ErrorKind, Event, EventType, Failures, Prepared,
    PreparedMetadata, ResultBody, RowsMetadata, RowsWriter, SchemaChange, SchemaChangeTarget, SchemaChangeType,
    StatusChangeType, Supported, TopologyChangeType, WriteType,
};
use cqlstream::protocol::{
    ColumnType, Consistency, CqlCodec, Framing, QueryParameters, Request, RequestMessage, Response, ResponseMessage,
    Role, UdtType, Value, Values, Version, roundtrip, segment,
};
use tokio_util::codec::Encoder;

const TARGETS: [&str; 6] =
    ["envelope_stream", "segment_stream", "result_body", "error_event_body", "type_spec", "request_body"];

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("seeds")
}

fn check(target: &str, data: &[u8]) -> usize {
    match target {
        "envelope_stream" => roundtrip::envelope_stream(data),
        "segment_stream" => roundtrip::segment_stream(data),
        "result_body" => roundtrip::result_body(data),
        "error_event_body" => roundtrip::error_event_body(data),
        "type_spec" => roundtrip::type_spec(data),
        "request_body" => roundtrip::request_body(data),
        other => panic!("unknown fuzz target {other}"),
    }
}

fn version_selector(v: Version) -> u8 {
    Version::ALL.iter().position(|x| *x == v).unwrap() as u8
}

fn requests(v: Version) -> Vec<Request> {
    let v5 = v >= Version::V5;
    let values =
        Values::positional([Value::Bytes(Bytes::from_static(&[0, 0, 0, 42])), Value::Null, Value::NotSet]).unwrap();
    let mut params = QueryParameters::new(Consistency::LocalQuorum).with_values(values.clone()).with_page_size(5000);
    params.paging_state = Some(Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]));
    params.serial_consistency = Some(Consistency::LocalSerial);
    params.timestamp = Some(1_700_000_000_000_000);
    if v5 {
        params.keyspace = Some("ks".into());
        params.now_in_seconds = Some(1_700_000_000);
    }
    let named = QueryParameters::new(Consistency::One)
        .with_values(Values::named([("k", Value::Bytes(Bytes::from_static(b"x")))]).unwrap());
    vec![
        Request::Startup(Startup::new(Some("lz4")).with(Startup::DRIVER_NAME, "cqlstream")),
        Request::AuthResponse(AuthResponse::plain("cassandra", "cassandra")),
        Request::Options(Options),
        Request::Query(Query::new("SELECT pk, ck, v FROM bench.rows WHERE pk = ?", params.clone())),
        Request::Query(Query::new("SELECT * FROM t WHERE k = :k", named)),
        Request::Prepare(Prepare {
            query: "INSERT INTO t (k, v) VALUES (?, ?)".into(),
            keyspace: v5.then(|| "ks".into()),
        }),
        Request::Execute(Execute {
            id: Bytes::from_static(&[0xca, 0xfe, 0xba, 0xbe]),
            result_metadata_id: v5.then(|| Bytes::from_static(&[1, 2, 3])),
            params,
        }),
        Request::Batch(Batch {
            batch_type: BatchType::Unlogged,
            statements: vec![
                BatchStatement {
                    kind: BatchStatementKind::Query("INSERT INTO t (k) VALUES (?)".into()),
                    values: values.clone(),
                },
                BatchStatement { kind: BatchStatementKind::Prepared(Bytes::from_static(&[9, 9])), values },
            ],
            consistency: Consistency::Quorum,
            serial_consistency: Some(Consistency::Serial),
            timestamp: Some(42),
            keyspace: v5.then(|| "ks".into()),
            now_in_seconds: None,
        }),
        Request::Register(Register {
            events: vec![EventType::TopologyChange, EventType::StatusChange, EventType::SchemaChange],
        }),
    ]
}

fn all_types() -> Vec<ColumnType> {
    use ColumnType::*;
    let udt = Udt(Box::new(UdtType {
        keyspace: "ks".into(),
        name: "address".into(),
        fields: vec![("street".into(), Varchar), ("zip".into(), Int), ("tags".into(), Set(Box::new(Ascii)))],
    }));
    vec![
        Ascii,
        Bigint,
        Blob,
        Boolean,
        Counter,
        Decimal,
        Double,
        Float,
        Int,
        Timestamp,
        Uuid,
        Varchar,
        Varint,
        Timeuuid,
        Inet,
        Date,
        Time,
        Smallint,
        Tinyint,
        Duration,
        Custom("com.example.Geo".into()),
        List(Box::new(Int)),
        Set(Box::new(Varchar)),
        Map(Box::new(Varchar), Box::new(List(Box::new(Timestamp)))),
        Tuple(vec![Int, Varchar, Blob]),
        udt,
        Vector(Box::new(Float), 3),
        Vector(Box::new(Varchar), 2),
    ]
}

fn rows_result(v: Version) -> ResultBody {
    let columns = vec![
        ColumnSpec::new("bench", "rows", "pk", ColumnType::Int),
        ColumnSpec::new("bench", "rows", "ck", ColumnType::Int),
        ColumnSpec::new("bench", "rows", "v", ColumnType::Blob),
    ];
    let mut metadata = RowsMetadata::new(columns);
    metadata.paging_state = Some(Bytes::from_static(&[0, 1, 2, 3]));
    if v >= Version::V5 {
        metadata.new_metadata_id = Some(Bytes::from_static(&[7, 7]));
    }
    let mut w = RowsWriter::new(3);
    for i in 0..4i32 {
        let pk = i.to_be_bytes();
        let v = [i as u8; 5];
        w.push_row([Some(&pk[..]), None, Some(&v[..])]).unwrap();
    }
    ResultBody::Rows(w.finish(metadata).unwrap())
}

fn typed_rows_result() -> ResultBody {
    let columns =
        all_types().into_iter().enumerate().map(|(i, t)| ColumnSpec::new("ks", "wide", format!("c{i}"), t)).collect();
    let metadata = RowsMetadata::new(columns);
    let n = metadata.columns_count;
    let mut w = RowsWriter::new(n);
    w.push_row((0..n).map(|_| None)).unwrap();
    ResultBody::Rows(w.finish(metadata).unwrap())
}

fn results(v: Version) -> Vec<ResultBody> {
    let table = ("ks".to_string(), "t".to_string());
    let prepared = Prepared {
        id: Bytes::from_static(&[0xab; 16]),
        result_metadata_id: (v >= Version::V5).then(|| Bytes::from_static(&[0xcd; 16])),
        metadata: PreparedMetadata {
            global_table_spec: None,
            pk_indexes: if v >= Version::V4 { vec![0] } else { vec![] },
            columns: vec![
                ColumnSpec::new(&table.0, &table.1, "k", ColumnType::Int),
                ColumnSpec::new(&table.0, &table.1, "v", ColumnType::Blob),
            ],
        },
        result_metadata: RowsMetadata::new(vec![ColumnSpec::new(&table.0, &table.1, "v", ColumnType::Blob)]),
    };
    let mut no_meta = RowsMetadata::no_metadata(1);
    no_meta.paging_state = None;
    vec![
        ResultBody::Void,
        rows_result(v),
        typed_rows_result(),
        ResultBody::Rows(RowsWriter::new(1).finish(no_meta).unwrap()),
        ResultBody::SetKeyspace("ks".into()),
        ResultBody::Prepared(Box::new(prepared)),
        ResultBody::SchemaChange(SchemaChange {
            change: SchemaChangeType::Created,
            target: SchemaChangeTarget::Table { keyspace: "ks".into(), name: "t".into() },
        }),
        ResultBody::SchemaChange(SchemaChange {
            change: SchemaChangeType::Dropped,
            target: SchemaChangeTarget::Function {
                keyspace: "ks".into(),
                name: "f".into(),
                arg_types: vec!["int".into()],
            },
        }),
    ]
}

fn errors(v: Version) -> Vec<ErrorBody> {
    let failures = if v >= Version::V5 {
        Failures::ReasonMap(vec![(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 1)])
    } else {
        Failures::Count(1)
    };
    let kinds = vec![
        ErrorKind::ServerError,
        ErrorKind::ProtocolError,
        ErrorKind::AuthenticationError,
        ErrorKind::Unavailable { consistency: Consistency::Quorum, required: 2, alive: 1 },
        ErrorKind::Overloaded,
        ErrorKind::IsBootstrapping,
        ErrorKind::TruncateError,
        ErrorKind::WriteTimeout {
            consistency: Consistency::Serial,
            received: 0,
            block_for: 1,
            write_type: WriteType::Cas,
            contentions: (v >= Version::V5).then_some(3),
        },
        ErrorKind::ReadTimeout { consistency: Consistency::One, received: 0, block_for: 1, data_present: false },
        ErrorKind::ReadFailure {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            failures: failures.clone(),
            data_present: true,
        },
        ErrorKind::FunctionFailure { keyspace: "ks".into(), function: "f".into(), arg_types: vec!["int".into()] },
        ErrorKind::WriteFailure {
            consistency: Consistency::All,
            received: 1,
            block_for: 3,
            failures,
            write_type: WriteType::Batch,
        },
        ErrorKind::CdcWriteFailure,
        ErrorKind::CasWriteUnknown { consistency: Consistency::Serial, received: 1, block_for: 2 },
        ErrorKind::SyntaxError,
        ErrorKind::Unauthorized,
        ErrorKind::Invalid,
        ErrorKind::ConfigError,
        ErrorKind::AlreadyExists { keyspace: "ks".into(), table: "t".into() },
        ErrorKind::Unprepared { id: Bytes::from_static(&[1, 2, 3, 4]) },
    ];
    kinds.into_iter().map(|kind| ErrorBody { kind, message: "something went wrong".into() }).collect()
}

fn events() -> Vec<Event> {
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 9042);
    vec![
        Event::TopologyChange { change: TopologyChangeType::NewNode, addr },
        Event::StatusChange { change: StatusChangeType::Down, addr },
        Event::SchemaChange(SchemaChange {
            change: SchemaChangeType::Updated,
            target: SchemaChangeTarget::Keyspace { keyspace: "ks".into() },
        }),
    ]
}

fn responses(v: Version) -> Vec<Response> {
    let mut out = vec![
        Response::Ready,
        Response::Authenticate(Authenticate::new("org.apache.cassandra.auth.PasswordAuthenticator")),
        Response::Supported(Supported {
            options: vec![
                ("CQL_VERSION".into(), vec!["3.4.7".into()]),
                ("COMPRESSION".into(), vec!["lz4".into(), "snappy".into()]),
                ("PROTOCOL_VERSIONS".into(), vec!["3/v3".into(), "4/v4".into(), "5/v5".into()]),
            ],
        }),
        Response::AuthChallenge(AuthChallenge { token: Some(Bytes::from_static(b"challenge")) }),
        Response::AuthSuccess(AuthSuccess { token: None }),
    ];
    out.extend(results(v).into_iter().map(Response::Result));
    out.extend(errors(v).into_iter().map(Response::Error));
    out.extend(events().into_iter().map(Response::Event));
    out
}

fn body(resp: &Response, v: Version) -> Vec<u8> {
    let mut b = BytesMut::new();
    resp.encode_body(v, &mut b).unwrap();
    b.to_vec()
}

fn encode_stream(role: Role, framing: Framing, compression: Compression, v: Version) -> Vec<u8> {
    let mut codec = CqlCodec::new(role);
    codec.set_framing(framing);
    codec.set_compression(compression);
    let mut wire = BytesMut::new();
    match role {
        Role::Server => {
            for (i, r) in responses(v).into_iter().enumerate() {
                let mut m = ResponseMessage::new(i as i16, r);
                if i % 5 == 1 && v >= Version::V4 {
                    m.warnings = Some(vec!["careful".into()]);
                    m.tracing_id = Some(uuid::Uuid::from_u128(0x1234));
                }
                codec.encode(m.to_envelope(v).unwrap(), &mut wire).unwrap();
            }
        }
        Role::Client => {
            for (i, r) in requests(v).into_iter().enumerate() {
                let m = RequestMessage::new(i as i16, r);
                codec.encode(m.to_envelope(v).unwrap(), &mut wire).unwrap();
            }
        }
    }
    wire.to_vec()
}

/// The seed corpus, by target: (file name, bytes).
fn generate() -> BTreeMap<&'static str, Vec<(String, Vec<u8>)>> {
    let mut out: BTreeMap<&'static str, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for v in Version::ALL {
        let sel = version_selector(v);
        for (i, r) in requests(v).iter().enumerate() {
            let mut b = BytesMut::new();
            r.encode_body(v, &mut b).unwrap();
            let op_index =
                [0x01u8, 0x0f, 0x05, 0x07, 0x09, 0x0a, 0x0d, 0x0b].iter().position(|o| *o == r.opcode() as u8).unwrap()
                    as u8;
            let mut data = vec![sel | (op_index << 2)];
            data.extend_from_slice(&b);
            out.entry("request_body").or_default().push((format!("{v}-{i:02}"), data));
        }
        for (i, r) in results(v).into_iter().enumerate() {
            let mut data = vec![sel];
            data.extend(body(&Response::Result(r), v));
            out.entry("result_body").or_default().push((format!("{v}-{i:02}"), data));
        }
        for (i, e) in errors(v).into_iter().enumerate() {
            let mut data = vec![sel];
            data.extend(body(&Response::Error(e), v));
            out.entry("error_event_body").or_default().push((format!("{v}-error-{i:02}"), data));
        }
        for (i, e) in events().into_iter().enumerate() {
            let mut data = vec![sel | 0x80];
            data.extend(body(&Response::Event(e), v));
            out.entry("error_event_body").or_default().push((format!("{v}-event-{i:02}"), data));
        }
        // Streams: client role reads what a server encodes, and the other way round.
        for (cfg, role, compression) in [
            (0u8, Role::Server, Compression::None),
            (2, Role::Server, Compression::Lz4),
            (1, Role::Client, Compression::None),
            (3, Role::Client, Compression::Lz4),
        ] {
            let mut data = vec![cfg];
            data.extend(encode_stream(role, Framing::Envelopes, compression, v));
            out.entry("envelope_stream").or_default().push((format!("{v}-cfg{cfg}"), data));
            if v >= Version::V5 {
                let mut data = vec![cfg | 0x08];
                data.extend(encode_stream(role, Framing::Segments, compression, v));
                out.entry("segment_stream").or_default().push((format!("{v}-cfg{cfg}"), data));
            }
        }
    }
    for (i, t) in all_types().iter().enumerate() {
        let mut b = BytesMut::new();
        t.encode(&mut b, Version::V5).unwrap();
        let mut data = vec![version_selector(Version::V5)];
        data.extend_from_slice(&b);
        out.entry("type_spec").or_default().push((format!("type-{i:02}"), data));
    }
    // Build mode of segment_stream: several envelopes in one self-contained payload, and
    // one envelope cut into non-self-contained slices.
    let mut envs = BytesMut::new();
    for r in responses(Version::V5).into_iter().take(4) {
        ResponseMessage::new(1, r).encode(Version::V5, &mut envs).unwrap();
    }
    let mut data = vec![0x04u8];
    data.put_u16(0x8000 | envs.len() as u16);
    data.extend_from_slice(&envs);
    let big = ResponseMessage::new(2, Response::Result(rows_result(Version::V5)));
    let mut big_bytes = BytesMut::new();
    big.encode(Version::V5, &mut big_bytes).unwrap();
    for chunk in big_bytes.chunks(40) {
        data.put_u16(chunk.len() as u16);
        data.extend_from_slice(chunk);
    }
    out.entry("segment_stream").or_default().push(("build-mode".into(), data));
    // A raw stream of max-size segments carrying one large envelope.
    let mut large = BytesMut::new();
    let blob = vec![0x5a; segment::MAX_SEGMENT_PAYLOAD + 1000];
    let mut w = RowsWriter::new(1);
    w.push_row([Some(&blob[..])]).unwrap();
    let rows = w.finish(RowsMetadata::new(vec![ColumnSpec::new("ks", "t", "b", ColumnType::Blob)])).unwrap();
    let env = ResponseMessage::new(3, Response::Result(ResultBody::Rows(rows))).to_envelope(Version::V5).unwrap();
    let mut server = CqlCodec::new(Role::Server);
    server.set_framing(Framing::Segments);
    server.encode(env, &mut large).unwrap();
    let mut data = vec![0u8];
    data.extend_from_slice(&large);
    out.entry("segment_stream").or_default().push(("large-envelope".into(), data));
    out
}

#[test]
fn every_committed_seed_passes_the_fuzz_checks() {
    let mut count = 0;
    for target in TARGETS {
        let dir = seeds_dir().join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).collect();
        files.sort_by_key(|f| f.as_ref().map(|f| f.path()).ok());
        assert!(!files.is_empty(), "no seeds for {target}");
        for f in files {
            let path = f.unwrap().path();
            let decoded = check(target, &std::fs::read(&path).unwrap());
            assert!(decoded > 0, "{} decodes to nothing", path.display());
            count += 1;
        }
    }
    assert!(count > 100, "only {count} seeds");
}

#[test]
fn generated_seeds_pass_the_checks() {
    for (target, seeds) in generate() {
        for (name, data) in seeds {
            let decoded = check(target, &data);
            assert!(decoded > 0, "seed {target}/{name} does not decode: it would test nothing");
        }
    }
}

#[test]
fn seeds_are_current() {
    for (target, seeds) in generate() {
        for (name, data) in seeds {
            let path = seeds_dir().join(target).join(&name);
            let on_disk = std::fs::read(&path).unwrap_or_default();
            assert!(
                on_disk == data,
                "{} is missing or stale: run `cargo test --features fuzzing --test integration regenerate_seeds -- --ignored`",
                path.display()
            );
        }
    }
}

#[test]
#[ignore = "writes fuzz/seeds; run by hand after changing the encoders"]
fn regenerate_seeds() {
    for (target, seeds) in generate() {
        let dir = seeds_dir().join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds {
            std::fs::write(dir.join(name), data).unwrap();
        }
    }
}
