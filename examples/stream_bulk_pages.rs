//! Bulk work a page at a time: `.pages()` hands over whole pages, whose rows are read
//! borrowed (`page.rows::<(i32, i32, &[u8])>()`: the blob is a slice of the page's
//! buffer, nothing is copied), and each page becomes one unit of work.
//!
//! ```text
//! cargo run --release --features testkit --example stream_bulk_pages
//! ```
//!
//! It starts an embedded test node and loads 100,000 rows into `bench.rows`. Then, for
//! each page of 5,000 rows, it aggregates the page (rows, value bytes, a checksum) and
//! writes one derived row per source row into `bench.digests` with a prepared INSERT,
//! at most 64 in flight. While a page's inserts run, the stream already fetches the next
//! page (prefetch 1), and never more: memory stays at two pages whatever the table size.
//!
//! Finally it streams `bench.digests` back and checks that every source row has exactly
//! one digest, equal to one computed from the expected value; otherwise it exits with an
//! error.

use cqlstream::session::{PreparedStatement, Session};
use cqlstream::testkit::TestNode;
use futures_util::{StreamExt, TryStreamExt, stream};

#[path = "support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ROWS: u64 = 100_000;
const VALUE_BYTES: usize = 64;
const PAGE_SIZE: i32 = 5_000;
/// Inserts in flight while a page is written out.
const WRITE_CONCURRENCY: usize = 64;

const CREATE_DIGESTS: &str =
    "CREATE TABLE IF NOT EXISTS bench.digests (pk int, ck int, len int, digest bigint, PRIMARY KEY (pk, ck))";
const INSERT_DIGEST: &str = "INSERT INTO bench.digests (pk, ck, len, digest) VALUES (?, ?, ?, ?)";
const SELECT_DIGESTS: &str = "SELECT pk, ck, len, digest FROM bench.digests";

/// FNV-1a over a value: the derived data written per row.
fn digest(v: &[u8]) -> i64 {
    v.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) as i64
}

/// One page's aggregate.
#[derive(Debug, Default)]
struct PageSummary {
    rows: u64,
    value_bytes: u64,
    /// Sum of the row numbers: a cheap order-independent checksum of which rows were seen.
    ids_sum: u64,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let node = TestNode::builder().start().await?;
    let session = Session::builder().contact_point(node.addr().to_string()).build().await?;
    demo::load(&session, ROWS, VALUE_BYTES, 256, |_| {}).await?;
    session.query(CREATE_DIGESTS, ()).await?;
    let insert = session.prepare(INSERT_DIGEST).await?;
    println!("loaded {ROWS} rows into bench.rows on {}", node.addr());

    let mut total = PageSummary::default();
    let mut pages = session.stream(demo::SELECT, ()).page_size(PAGE_SIZE).prefetch(1).pages();
    while let Some(page) = pages.next().await {
        let page = page?;
        if page.is_empty() {
            // Servers page blindly: rows ending on a page boundary are followed by an
            // empty last page.
            println!("page {:>2}: empty, the last", page.number());
            continue;
        }
        let mut summary = PageSummary::default();
        let mut derived = Vec::with_capacity(page.len());
        // Zero-copy: `v` borrows from `page`; only the small derived tuple is kept.
        for row in page.rows::<(i32, i32, &[u8])>()? {
            let (pk, ck, v) = row?;
            let i = demo::check_row(pk, ck, v)?;
            summary.rows += 1;
            summary.value_bytes += v.len() as u64;
            summary.ids_sum += i;
            derived.push((pk, ck, v.len() as i32, digest(v)));
        }
        write_page(&session, &insert, derived).await?;
        println!(
            "page {:>2}: {} rows, {} value bytes, row numbers sum to {}, {} digests written",
            page.number(),
            summary.rows,
            summary.value_bytes,
            summary.ids_sum,
            summary.rows
        );
        total.rows += summary.rows;
        total.value_bytes += summary.value_bytes;
        total.ids_sum += summary.ids_sum;
    }

    let expected_sum = ROWS * (ROWS - 1) / 2;
    if (total.rows, total.value_bytes, total.ids_sum) != (ROWS, ROWS * VALUE_BYTES as u64, expected_sum) {
        return Err(format!("the page totals are wrong: {total:?}").into());
    }
    verify_digests(&session).await?;
    println!(
        "done: {} rows in {} pages, {} value bytes; every source row has exactly one correct digest",
        total.rows,
        pages.progress().pages,
        total.value_bytes
    );
    Ok(())
}

/// Writes one page's derived rows, at most [`WRITE_CONCURRENCY`] inserts in flight.
async fn write_page(
    session: &Session,
    insert: &PreparedStatement,
    derived: Vec<(i32, i32, i32, i64)>,
) -> Result<(), cqlstream::Error> {
    stream::iter(derived)
        .map(Ok)
        .try_for_each_concurrent(WRITE_CONCURRENCY, |row| async move { session.execute(insert, row).await.map(drop) })
        .await
}

/// Every source row has exactly one digest row, and it is right.
async fn verify_digests(session: &Session) -> Result<(), Error> {
    let mut seen = vec![false; ROWS as usize];
    let mut rows = session.stream(SELECT_DIGESTS, ()).page_size(PAGE_SIZE).typed::<(i32, i32, i32, i64)>();
    while let Some(row) = rows.next().await {
        let (pk, ck, len, got) = row?;
        let i = pk as u64 * demo::ROWS_PER_PARTITION + ck as u64;
        let slot = seen.get_mut(i as usize).ok_or_else(|| format!("digest for unknown row ({pk}, {ck})"))?;
        if std::mem::replace(slot, true) {
            return Err(format!("row {i} has two digests").into());
        }
        let want = digest(&demo::value(i, VALUE_BYTES));
        if (len, got) != (VALUE_BYTES as i32, want) {
            return Err(format!("row {i}: digest ({len}, {got:#x}), expected ({VALUE_BYTES}, {want:#x})").into());
        }
    }
    match seen.iter().position(|s| !s) {
        Some(i) => Err(format!("row {i} has no digest").into()),
        None => Ok(()),
    }
}
