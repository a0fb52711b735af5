//! Micro benchmarks of the typed layer (criterion), on one page of 5,000 rows
//! `(pk int, ck int, v blob)` with 100-byte values. `benches/codec.rs` covers the protocol
//! level (decoding the RESULT envelope, walking raw cells, encoding requests); this file
//! starts from a decoded [`RowsPage`].
//!
//! - `typed_rows` (rows/s): every row of the page read as owned `(i32, i32, Vec<u8>)`
//!   (`into_typed`, as `RowStream::typed` does), borrowed `(i32, i32, &[u8])` (`rows`),
//!   a `#[derive(FromRow)]` struct with borrowed fields (matched by column name), and the
//!   untyped [`Row`] read by index (`into_rows`, then `get`), plus [`RowRef`] (`iter`).
//! - `serialize_values` (requests/s): the bound values of a prepared `(int, blob)` EXECUTE
//!   checked against its bind markers and written, as `Session::execute` does per request.
//! - `lz4_page` (bytes/s of the uncompressed body): a v4 RESULT body of that page (~620 KB)
//!   compressed and decompressed with the crate's `protocol::compression`. The values are
//!   pseudo-random, like the demo's, so LZ4 cannot shrink them much.
//!
//! Run with `cargo bench --bench rows` (add `-- typed_rows` to run one group).

use std::hint::black_box;

use bytes::BytesMut;
use cqlstream::FromRow;
use cqlstream::protocol::compression::{compress_body, decompress_body};
use cqlstream::protocol::response::{ColumnSpec, ResultBody, RowsMetadata, RowsWriter};
use cqlstream::protocol::{ColumnType, HEADER_LEN, Response, ResponseMessage, Version};
use cqlstream::types::{Row, RowRef, RowsPage, serialize_values};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ROWS: usize = 5_000;
const VALUE_BYTES: usize = 100;

/// A row read by column name, borrowing the value from the page.
#[derive(FromRow)]
struct BenchRow<'a> {
    pk: i32,
    ck: i32,
    v: &'a [u8],
}

fn columns() -> Vec<ColumnSpec> {
    vec![
        ColumnSpec::new("bench", "rows", "pk", ColumnType::Int),
        ColumnSpec::new("bench", "rows", "ck", ColumnType::Int),
        ColumnSpec::new("bench", "rows", "v", ColumnType::Blob),
    ]
}

/// The page as a server sends it: row `i` holds `i` in its value's first 8 bytes, then
/// xorshift bytes.
fn page() -> cqlstream::protocol::response::Rows {
    let mut w = RowsWriter::with_capacity(3, ROWS * (12 + 8 + VALUE_BYTES));
    let mut blob = [0u8; VALUE_BYTES];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..ROWS {
        blob[..8].copy_from_slice(&(i as u64).to_be_bytes());
        for chunk in blob[8..].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        let pk = ((i / 100) as i32).to_be_bytes();
        let ck = ((i % 100) as i32).to_be_bytes();
        w.push_row([Some(&pk[..]), Some(&ck[..]), Some(&blob[..])]).unwrap();
    }
    w.finish(RowsMetadata::new(columns())).unwrap()
}

/// What each benchmark adds up per row, so no decode is optimised away.
fn fold(sum: u64, pk: i32, ck: i32, v: &[u8]) -> u64 {
    sum.wrapping_add(pk as u64).wrapping_add(ck as u64).wrapping_add(u64::from(v[0]) + v.len() as u64)
}

fn bench_typed_rows(c: &mut Criterion) {
    let page = RowsPage::new(page()).unwrap();
    let mut g = c.benchmark_group("typed_rows");
    g.throughput(Throughput::Elements(ROWS as u64));
    // Cloning the page is two reference-count increments, as a stream hands out pages.
    g.bench_function("owned_(i32,i32,Vec<u8>)", |b| {
        b.iter(|| {
            let rows = page.clone().into_typed::<(i32, i32, Vec<u8>)>().unwrap();
            black_box(rows.fold(0, |s, r| {
                let (pk, ck, v) = r.unwrap();
                fold(s, pk, ck, &v)
            }))
        })
    });
    g.bench_function("borrowed_(i32,i32,&[u8])", |b| {
        b.iter(|| {
            let rows = black_box(&page).rows::<(i32, i32, &[u8])>().unwrap();
            black_box(rows.fold(0, |s, r| {
                let (pk, ck, v) = r.unwrap();
                fold(s, pk, ck, v)
            }))
        })
    });
    g.bench_function("derive_FromRow_borrowed", |b| {
        b.iter(|| {
            let rows = black_box(&page).rows::<BenchRow<'_>>().unwrap();
            black_box(rows.fold(0, |s, r| {
                let r = r.unwrap();
                fold(s, r.pk, r.ck, r.v)
            }))
        })
    });
    g.bench_function("Row_get_by_index", |b| {
        b.iter(|| {
            black_box(
                page.clone()
                    .into_rows()
                    .fold(0, |s, r: Row| fold(s, r.get::<i32>(0), r.get::<i32>(1), r.get::<&[u8]>(2))),
            )
        })
    });
    g.bench_function("RowRef_get_by_index", |b| {
        b.iter(|| {
            black_box(black_box(&page).iter().fold(0, |s, r: RowRef<'_, '_>| {
                fold(s, r.get::<i32>(0).unwrap(), r.get::<i32>(1).unwrap(), r.get::<&[u8]>(2).unwrap())
            }))
        })
    });
    g.finish();
}

fn bench_serialize_values(c: &mut Criterion) {
    let markers =
        [ColumnSpec::new("bench", "kv", "k", ColumnType::Int), ColumnSpec::new("bench", "kv", "v", ColumnType::Blob)];
    let value = [7u8; VALUE_BYTES];
    let mut g = c.benchmark_group("serialize_values");
    g.throughput(Throughput::Elements(1));
    let mut k = 0i32;
    g.bench_function("prepared_(int,blob100)", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            let values = serialize_values(black_box(&(k, &value[..])), black_box(&markers)).unwrap();
            black_box(values.len())
        })
    });
    g.finish();
}

fn bench_lz4(c: &mut Criterion) {
    let rows = page();
    let msg = ResponseMessage::new(1, Response::Result(ResultBody::Rows(rows)));
    let mut envelope = BytesMut::new();
    msg.encode(Version::V4, &mut envelope).unwrap();
    let body = envelope.freeze().slice(HEADER_LEN..);
    let mut compressed = BytesMut::new();
    compress_body(&body, &mut compressed);
    let compressed = compressed.freeze();
    assert_eq!(decompress_body(&compressed, body.len()).unwrap(), body);

    let mut g = c.benchmark_group("lz4_page");
    g.throughput(Throughput::Bytes(body.len() as u64));
    let mut dst = BytesMut::with_capacity(compressed.len() * 2);
    g.bench_function(format!("compress_v4_body_{}B", body.len()), |b| {
        b.iter(|| {
            dst.clear();
            compress_body(black_box(&body), &mut dst);
            black_box(dst.len())
        })
    });
    g.bench_function(format!("decompress_v4_body_{}B_from_{}B", body.len(), compressed.len()), |b| {
        b.iter(|| black_box(decompress_body(black_box(&compressed), 256 << 20).unwrap().len()))
    });
    g.finish();
}

criterion_group!(benches, bench_typed_rows, bench_serialize_values, bench_lz4);
criterion_main!(benches);
