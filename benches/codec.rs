//! Codec micro-benchmarks (criterion).
//!
//! - decoding a RESULT Rows page of 5,000 rows `(int, int, blob(100))` and walking every
//!   cell, from the envelope's bytes (v4) and from v5 segments (CRC checks included);
//! - encoding QUERY and EXECUTE requests.
//!
//! Run with `cargo bench --bench codec`. Throughput is reported per byte (MB/s) and per
//! row (rows/s) in separate groups.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use cqlstream::protocol::request::{Execute, Query};
use cqlstream::protocol::response::{ColumnSpec, ResultBody, RowsMetadata, RowsWriter};
use cqlstream::protocol::{
    ColumnType, Consistency, CqlCodec, Envelope, EnvelopeHeader, Framing, HEADER_LEN, QueryParameters, Request,
    RequestMessage, Response, ResponseMessage, Role, Value, Values, Version,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio_util::codec::{Decoder, Encoder};

const ROWS: usize = 5_000;

/// The RESULT envelope of one page, encoded.
fn rows_page(version: Version) -> Bytes {
    let columns = vec![
        ColumnSpec::new("bench", "rows", "pk", ColumnType::Int),
        ColumnSpec::new("bench", "rows", "ck", ColumnType::Int),
        ColumnSpec::new("bench", "rows", "v", ColumnType::Blob),
    ];
    let mut metadata = RowsMetadata::new(columns);
    metadata.paging_state = Some(Bytes::from_static(&[1, 2, 3, 4, 5, 6, 7, 8]));
    let mut w = RowsWriter::with_capacity(3, ROWS * 124);
    let mut blob = [0u8; 100];
    for i in 0..ROWS {
        blob[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let pk = ((i / 100) as i32).to_be_bytes();
        let ck = ((i % 100) as i32).to_be_bytes();
        w.push_row([Some(&pk[..]), Some(&ck[..]), Some(&blob[..])]).unwrap();
    }
    let rows = w.finish(metadata).unwrap();
    let msg = ResponseMessage::new(1, Response::Result(ResultBody::Rows(rows)));
    let mut buf = BytesMut::new();
    msg.encode(version, &mut buf).unwrap();
    buf.freeze()
}

/// Decodes one page from its envelope bytes and walks every cell.
fn decode_and_walk(page: &Bytes) -> u64 {
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&page[..HEADER_LEN]);
    let header = EnvelopeHeader::decode(&h).unwrap();
    let env = Envelope { header, body: page.slice(HEADER_LEN..) };
    walk(&env)
}

fn walk(env: &Envelope) -> u64 {
    let msg = ResponseMessage::from_envelope(env).unwrap();
    let Response::Result(ResultBody::Rows(rows)) = msg.response else { panic!("not rows") };
    let mut sum = 0u64;
    for row in rows.iter() {
        let mut cells = row.cells();
        let pk = i32::from_be_bytes(cells.next().flatten().unwrap().try_into().unwrap());
        let ck = i32::from_be_bytes(cells.next().flatten().unwrap().try_into().unwrap());
        let v = cells.next().flatten().unwrap();
        sum = sum.wrapping_add(pk as u64).wrapping_add(ck as u64).wrapping_add(v.len() as u64);
    }
    sum
}

fn bench_rows(c: &mut Criterion) {
    let page = rows_page(Version::V4);
    // The same page as v5 segments, so the CRC32 over ~620 KB is part of the measurement.
    let v5_page = rows_page(Version::V5);
    let mut server = CqlCodec::new(Role::Server);
    server.set_framing(Framing::Segments);
    let mut segmented = BytesMut::new();
    let mut h = [0u8; HEADER_LEN];
    h.copy_from_slice(&v5_page[..HEADER_LEN]);
    let env = Envelope { header: EnvelopeHeader::decode(&h).unwrap(), body: v5_page.slice(HEADER_LEN..) };
    server.encode(env, &mut segmented).unwrap();
    let segmented = segmented.freeze();

    for (group_name, throughput) in [
        ("rows_page_bytes", Throughput::Bytes(page.len() as u64)),
        ("rows_page_rows", Throughput::Elements(ROWS as u64)),
    ] {
        let mut g = c.benchmark_group(group_name);
        g.throughput(throughput);
        g.bench_function("v4_decode_walk_5000x(int,int,blob100)", |b| b.iter(|| black_box(decode_and_walk(&page))));
        // Like a connection: one codec and one read buffer, refilled as a socket read would.
        let mut client = CqlCodec::new(Role::Client);
        client.set_framing(Framing::Segments);
        let mut src = BytesMut::with_capacity(segmented.len());
        g.bench_function("v5_segments_decode_walk_5000x(int,int,blob100)", |b| {
            b.iter(|| {
                src.extend_from_slice(&segmented);
                let env = client.decode(&mut src).unwrap().unwrap();
                black_box(walk(&env))
            })
        });
        g.finish();
    }
}

fn bench_requests(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_request");
    g.throughput(Throughput::Elements(1));
    let query = RequestMessage::new(
        1,
        Request::Query(Query::new(
            "SELECT pk, ck, v FROM bench.rows WHERE pk = ? AND ck > ?",
            QueryParameters::new(Consistency::LocalOne)
                .with_values(
                    Values::positional([
                        Value::Bytes(Bytes::from_static(&[0, 0, 0, 1])),
                        Value::Bytes(Bytes::from_static(&[0, 0, 0, 2])),
                    ])
                    .unwrap(),
                )
                .with_page_size(5000)
                .with_paging_state(Bytes::from_static(&[9; 24])),
        )),
    );
    let execute = RequestMessage::new(
        1,
        Request::Execute(Execute {
            id: Bytes::from_static(&[0xab; 16]),
            result_metadata_id: Some(Bytes::from_static(&[0xcd; 16])),
            params: QueryParameters::new(Consistency::LocalOne)
                .with_values(Values::positional([Value::Bytes(Bytes::from_static(&[0, 0, 0, 1]))]).unwrap())
                .with_page_size(5000),
        }),
    );
    let mut buf = BytesMut::with_capacity(4096);
    for v in [Version::V4, Version::V5] {
        g.bench_function(format!("query_{v}"), |b| {
            b.iter(|| {
                buf.clear();
                query.encode(v, &mut buf).unwrap();
                black_box(buf.len())
            })
        });
        let mut exec = execute.clone();
        if v < Version::V5
            && let Request::Execute(e) = &mut exec.request
        {
            e.result_metadata_id = None;
        }
        g.bench_function(format!("execute_{v}"), |b| {
            b.iter(|| {
                buf.clear();
                exec.encode(v, &mut buf).unwrap();
                black_box(buf.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_rows, bench_requests);
criterion_main!(benches);
