//! A parallel full scan: the token ring split into ranges, each range streamed on its
//! own with a prepared `SELECT ... WHERE token(pk) > ? AND token(pk) <= ?`, at most
//! [`CONCURRENCY`] ranges at a time (`buffer_unordered`). This is how Spark-style
//! readers scan a table faster than one stream can: each range is an independent query
//! (on a real cluster, each could go to a replica of its range).
//!
//! ```text
//! cargo run --release --features testkit --example stream_parallel_partitions
//! ```
//!
//! It starts an embedded test node, loads 100,000 rows (1,000 partitions) into
//! `bench.rows`, splits the ring into 16 ranges, and streams them 4 at a time into a
//! `#[derive(FromRow)]` struct. Every row is checked and counted in a shared bitset:
//! each must be seen exactly once across all ranges, and no more than 4 ranges may have
//! run at once; otherwise it exits with an error.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use cqlstream::FromRow;
use cqlstream::session::{PreparedStatement, Session};
use cqlstream::testkit::TestNode;
use futures_util::{StreamExt, TryStreamExt, stream};

#[path = "support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ROWS: u64 = 100_000;
const VALUE_BYTES: usize = 100;
/// Token ranges the ring is split into.
const RANGES: usize = 16;
/// Ranges streamed at once.
const CONCURRENCY: usize = 4;
const SELECT_RANGE: &str = "SELECT pk, ck, v FROM bench.rows WHERE token(pk) > ? AND token(pk) <= ?";

/// A row of `bench.rows`, columns matched by name.
#[derive(Debug, FromRow)]
struct BenchRow {
    pk: i32,
    ck: i32,
    v: Vec<u8>,
}

/// `n` ranges `(start, end]` covering the whole Murmur3 ring. The first starts at
/// `i64::MIN`, excluded: only an empty partition key has that token, and an `int`
/// key is never empty.
fn token_ranges(n: usize) -> Vec<(i64, i64)> {
    let (min, max) = (i128::from(i64::MIN), i128::from(i64::MAX));
    let width = (max - min) / n as i128;
    (0..n)
        .map(|k| {
            let start = min + width * k as i128;
            let end = if k + 1 == n { max } else { start + width };
            (start as i64, end as i64)
        })
        .collect()
}

/// Which rows have been seen, shared by the range tasks: one bit each, set atomically.
struct Seen(Vec<AtomicU64>);

impl Seen {
    fn new(rows: u64) -> Seen {
        Seen((0..rows.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }

    /// Marks row `i`; false if some range had already marked it.
    fn insert(&self, i: u64) -> Result<bool, String> {
        let word = self.0.get((i / 64) as usize).ok_or_else(|| format!("row {i} was never loaded"))?;
        let bit = 1 << (i % 64);
        Ok(word.fetch_or(bit, Ordering::Relaxed) & bit == 0)
    }

    fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.load(Ordering::Relaxed).count_ones())).sum()
    }
}

/// Counts the ranges running now and the most that ever ran together.
#[derive(Default)]
struct Running {
    now: AtomicUsize,
    max: AtomicUsize,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let node = TestNode::builder().start().await?;
    // Two connections: the range streams share them (each connection multiplexes).
    let session = Session::builder().contact_point(node.addr().to_string()).pool_size(2).build().await?;
    demo::load(&session, ROWS, VALUE_BYTES, 256, |_| {}).await?;
    println!("loaded {ROWS} rows into bench.rows on {}", node.addr());

    let select = session.prepare(SELECT_RANGE).await?;
    let seen = Seen::new(ROWS);
    let running = Running::default();
    let started = Instant::now();
    let per_range: Vec<u64> = stream::iter(token_ranges(RANGES))
        .map(|range| scan_range(&session, &select, range, &seen, &running))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let secs = started.elapsed().as_secs_f64();

    let total: u64 = per_range.iter().sum();
    let max_running = running.max.load(Ordering::Relaxed);
    println!(
        "{RANGES} ranges, at most {max_running} at once: {total} rows in {secs:.2} s ({:.0} rows/s); rows per range {per_range:?}",
        total as f64 / secs
    );
    if total != ROWS || seen.count() != ROWS {
        return Err(format!("read {total} rows ({} distinct), expected each of {ROWS} once", seen.count()).into());
    }
    if max_running > CONCURRENCY {
        return Err(format!("{max_running} ranges ran at once, the limit is {CONCURRENCY}").into());
    }
    println!("every row checked and seen exactly once across the ranges");
    Ok(())
}

/// Streams one token range; returns its row count.
async fn scan_range(
    session: &Session,
    select: &PreparedStatement,
    (start, end): (i64, i64),
    seen: &Seen,
    running: &Running,
) -> Result<u64, Error> {
    let now = running.now.fetch_add(1, Ordering::Relaxed) + 1;
    running.max.fetch_max(now, Ordering::Relaxed);
    let mut rows = session.stream(select, (start, end)).page_size(2_000).typed::<BenchRow>();
    let mut count = 0;
    let result = async {
        while let Some(row) = rows.next().await {
            let BenchRow { pk, ck, v } = row?;
            let i = demo::check_row(pk, ck, &v)?;
            if !seen.insert(i)? {
                return Err(format!("row {i} was read twice (range ({start}, {end}])").into());
            }
            count += 1;
        }
        Ok::<_, Error>(count)
    }
    .await;
    running.now.fetch_sub(1, Ordering::Relaxed);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_ring_without_gaps() {
        let r = token_ranges(16);
        assert_eq!(r.len(), 16);
        assert_eq!(r[0].0, i64::MIN);
        assert_eq!(r[15].1, i64::MAX);
        assert!(r.windows(2).all(|w| w[0].1 == w[1].0 && w[0].0 < w[0].1));
    }
}
