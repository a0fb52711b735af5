//! Progress tracking for a long scan: an `on_page` callback sees every page as it
//! reaches the consumer (number, rows, bytes, latency, node, retries), and
//! `RowStream::progress()` gives the running totals whenever the consumer asks.
//!
//! ```text
//! cargo run --release --features testkit --example stream_progress
//! ```
//!
//! It starts an embedded test node, loads 50,000 rows into `bench.rows`, and streams
//! them back as owned typed rows `(i32, i32, Vec<u8>)` in pages of 2,000. The callback
//! prints one line every 5 pages and keeps its own totals; the loop prints `progress()`
//! every 10,000 rows. At the end the callback's totals must equal `progress()`, and every
//! row must have checked: otherwise the example exits with an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cqlstream::session::Session;
use cqlstream::stream::PageInfo;
use cqlstream::testkit::TestNode;
use futures_util::StreamExt;

#[path = "support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ROWS: u64 = 50_000;
const VALUE_BYTES: usize = 100;
const PAGE_SIZE: i32 = 2_000;
/// The callback prints one page in this many.
const PRINT_EVERY_PAGES: u64 = 5;
/// The consumer prints `progress()` every this many rows.
const PRINT_EVERY_ROWS: u64 = 10_000;

/// What the `on_page` callback counts. The callback is `'static` (the stream owns it),
/// so it shares its totals with the loop that checks them through an `Arc`.
#[derive(Debug, Default)]
struct PageTotals {
    pages: AtomicU64,
    rows: AtomicU64,
    bytes: AtomicU64,
    latency_us: AtomicU64,
}

impl PageTotals {
    fn record(&self, info: &PageInfo) {
        let pages = self.pages.fetch_add(1, Ordering::Relaxed) + 1;
        self.rows.fetch_add(info.rows as u64, Ordering::Relaxed);
        self.bytes.fetch_add(info.bytes as u64, Ordering::Relaxed);
        self.latency_us.fetch_add(info.latency.as_micros() as u64, Ordering::Relaxed);
        // The last page has no paging state: print it too.
        if info.number.is_multiple_of(PRINT_EVERY_PAGES) || info.is_last() {
            println!(
                "  page {:>3}: {:>5} rows, {:>7} bytes, {:>8.2?} from {}{}{}",
                info.number,
                info.rows,
                info.bytes,
                info.latency,
                info.node,
                if info.retries > 0 { format!(", after {} retries", info.retries) } else { String::new() },
                match (info.is_last(), info.rows) {
                    // Servers page blindly: rows ending on a page boundary are followed by
                    // an empty page that says there is nothing more.
                    (true, 0) => " (last, empty: the rows ended on a page boundary)",
                    (true, _) => " (last)",
                    (false, _) => "",
                },
            );
        }
        debug_assert_eq!(pages, info.number + 1, "pages arrive in order, numbered from 0");
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let node = TestNode::builder().start().await?;
    let session = Session::builder().contact_point(node.addr().to_string()).build().await?;
    demo::load(&session, ROWS, VALUE_BYTES, 256, |_| {}).await?;
    println!("loaded {ROWS} rows into bench.rows on {}", node.addr());

    let totals = Arc::new(PageTotals::default());
    let callback_totals = totals.clone();
    let mut rows = session
        .stream(demo::SELECT, ())
        .page_size(PAGE_SIZE)
        .on_page(move |info| callback_totals.record(info))
        .typed::<(i32, i32, Vec<u8>)>();

    let mut checked = 0u64;
    while let Some(row) = rows.next().await {
        let (pk, ck, v) = row?;
        demo::check_row(pk, ck, &v)?;
        checked += 1;
        if checked.is_multiple_of(PRINT_EVERY_ROWS) {
            let p = rows.progress();
            println!(
                "progress: {} rows yielded, {} pages taken ({} bytes), {} retries",
                p.rows, p.pages, p.bytes, p.retries
            );
        }
    }

    // The callback saw exactly the pages the stream handed on, and the rows add up.
    let p = rows.progress();
    let seen = (
        totals.pages.load(Ordering::Relaxed),
        totals.rows.load(Ordering::Relaxed),
        totals.bytes.load(Ordering::Relaxed),
    );
    if seen != (p.pages, p.rows, p.bytes) || p.rows != ROWS || checked != ROWS {
        return Err(format!(
            "totals disagree: on_page saw (pages, rows, bytes) = {seen:?}, progress() says {p:?}, \
             {checked} rows checked, expected {ROWS} rows"
        )
        .into());
    }
    let mean_latency = totals.latency_us.load(Ordering::Relaxed) as f64 / p.pages as f64 / 1000.0;
    println!(
        "done: {} rows in {} pages, {} bytes, mean page latency {mean_latency:.2} ms; \
         on_page and progress() agree, every row checked",
        p.rows, p.pages, p.bytes
    );
    Ok(())
}
