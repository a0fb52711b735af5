//! The end-to-end benchmark of issue 6: one driver, one workload, against a running
//! server (usually `testkit_server`), every value read checked. `benches/compare.sh`
//! runs it for both drivers and prints the comparison table.
//!
//! ```sh
//! cargo run --release --features testkit --example testkit_server -- --addr 127.0.0.1:9042 --demo-rows 1000000 &
//! cargo run --release --features testkit --example bench -- --contact-point 127.0.0.1:9042 \
//!     --driver cqlstream|scylla [--compression none|lz4] [--protocol 4|5] [--json] [--setup] \
//!     [--requests N] [--concurrency N] [--rows N] [--decode owned|borrowed|both] <workload>
//! ```
//!
//! # Workloads
//!
//! - `scan`: streams all of `bench.rows` (the `testkit::demo` dataset that
//!   `testkit_server --demo-rows N` loads; `--rows`, default 1,000,000, must be its N)
//!   with the prepared `demo::SELECT`, page size 5000, once per `--decode` mode:
//!   `owned` decodes each row as `(i32, i32, Vec<u8>)` (cqlstream: `session.stream(..)
//!   .typed()`, default prefetch; scylla: `execute_iter(..).rows_stream()`), `borrowed` as
//!   `(i32, i32, &[u8])` (cqlstream: `.pages()` and `page.rows()`; scylla: a loop of
//!   `execute_single_page`, which has no read-ahead: the scylla crate's pager cannot lend
//!   rows). Every row goes through `demo::check_row`, and a bitmap checks that each of
//!   the `--rows` rows came exactly once. Reports rows/s, MB/s and peak RSS.
//! - `raw`: the scan's page requests with no row decoding at all, the ceiling a driver
//!   could reach. cqlstream: PREPARE and EXECUTE on a bare `connection::Connection`,
//!   reading only each page's row count and paging state (the protocol layer still
//!   walks the cell lengths once, as it does for every page); scylla: the
//!   `execute_single_page` loop reading `rows_num()` only. Checks the total row count.
//! - `point`: `--requests` (200,000) prepared `SELECT v FROM bench.kv WHERE k = ?` over
//!   keys `0..10,000` at `--concurrency` (256); each value is compared whole with the
//!   expected one. Reports requests/s and p50/p99/p999 latency. `--setup` first creates
//!   `bench.kv (k int PRIMARY KEY, v blob)` and fills keys `0..10,000` (untimed).
//! - `insert`: `--requests` prepared `INSERT INTO bench.kv (k, v) VALUES (?, ?)` of
//!   keys `1,000,000 + i` (point's keys are left alone), at `--concurrency`; then,
//!   untimed, reads back 100 of them and checks them. Same report as `point`.
//!
//! Values in `bench.kv` are `demo::value(k, 100)`: 100 bytes starting with `k`, the rest
//! pseudo-random so LZ4 has real work. Any wrong value, row or row count fails the run
//! (exit 1); a bad command line exits 2; `--driver scylla --protocol 5` prints one line
//! and exits 3, since the scylla crate speaks v4 only.
//!
//! # What is measured, and how
//!
//! - **The timed part** starts after connecting and preparing, and ends with the last
//!   row or reply; the checks are inside it (the same for both drivers).
//! - **MB/s** is the row payload as sent: per row, three `[bytes]` cells of 4-byte
//!   length plus content (`4 + 4 + 4 + 4 + 4 + len(v)`, 120 bytes for 100-byte values).
//! - **Allocations**: a counting global allocator (`stats_alloc`) counts allocations
//!   and reallocations over the timed part, in every thread. The bench's own checks
//!   allocate nothing (`demo::check_row` compares in place; `bench.kv` values are
//!   built in a per-thread buffer), so the counts are the driver's, plus the 256
//!   worker tasks `point` and `insert` spawn (about 0.001 per request at 200,000).
//! - **Peak RSS** is `VmHWM` of `/proc/self/status` at the end of the process, so with
//!   `--decode both` both scan lines report the peak of the two; `compare.sh` runs
//!   each mode in its own process.
//! - **Runtime**: tokio `multi_thread` with one worker thread, for both drivers, and the
//!   whole run is one task on that worker (the main thread only waits), so driver
//!   tasks, socket IO and the consumer share one thread, as they share one core under
//!   `compare.sh`'s `taskset`.
//! - **Connections**: cqlstream `pool_size(1)`, one connection. The scylla crate
//!   opens one pool connection per node for a node that is not shard-aware (its
//!   default `PoolSize::PerShard(1)`, and the test server reports no shards), plus its
//!   control connection for metadata, which carries none of the benchmark's requests.
//! - **Protocol and compression**: cqlstream checks, on a connection opened before the
//!   session, that the server agreed to the asked version and compression.
//!
//! # Output
//!
//! One line per result: human-readable, or with `--json` exactly one JSON object per
//! line (nothing else on stdout) with `driver`, `workload`, `decode` (scan), `protocol`,
//! `compression`, `rows` or `requests`, `seconds`, `rows_per_s` and `mb_per_s` or
//! `requests_per_s`, `p50_us`, `p99_us` and `p999_us`, `allocs_per_row` or
//! `allocs_per_request`, `allocs` (the raw count) and `peak_rss_kb`.

use std::alloc::System;
use std::cell::RefCell;
use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use cqlstream::testkit::demo;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Keys `0..KEYS` of `bench.kv` hold point's data.
const KEYS: i32 = 10_000;
/// `insert` writes keys from here on.
const INSERT_BASE: i32 = 1_000_000;
/// Keys `insert` reads back after its run.
const INSERT_SAMPLE: usize = 100;
/// Bytes of each `bench.kv` value.
const VALUE_BYTES: usize = 100;
/// The scan's page size.
const PAGE_SIZE: i32 = 5000;
/// Row payload bytes besides the blob: three 4-byte cell lengths and two ints.
const ROW_OVERHEAD: u64 = 4 + 4 + 4 + 4 + 4;

const SELECT_KV: &str = "SELECT v FROM bench.kv WHERE k = ?";
const INSERT_KV: &str = "INSERT INTO bench.kv (k, v) VALUES (?, ?)";
const CREATE_KV: &str = "CREATE TABLE IF NOT EXISTS bench.kv (k int PRIMARY KEY, v blob)";

const USAGE: &str = "\
usage: bench --contact-point HOST:PORT --driver cqlstream|scylla [--compression none|lz4]
             [--protocol 4|5] [--json] [--setup] [--requests N] [--concurrency N] [--rows N]
             [--decode owned|borrowed|both] scan|raw|point|insert
(the module doc of examples/bench.rs says what each workload does and measures)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Driver {
    Cqlstream,
    Scylla,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Scan,
    Raw,
    Point,
    Insert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decode {
    Owned,
    Borrowed,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Cqlstream => "cqlstream",
            Driver::Scylla => "scylla",
        }
    }
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Scan => "scan",
            Workload::Raw => "raw",
            Workload::Point => "point",
            Workload::Insert => "insert",
        }
    }
}

impl Decode {
    fn name(self) -> &'static str {
        match self {
            Decode::Owned => "owned",
            Decode::Borrowed => "borrowed",
        }
    }
}

#[derive(Debug, Clone)]
struct Args {
    contact: String,
    driver: Driver,
    workload: Workload,
    protocol: u8,
    lz4: bool,
    json: bool,
    setup: bool,
    requests: usize,
    concurrency: usize,
    rows: u64,
    decode: Vec<Decode>,
}

impl Args {
    fn compression(&self) -> &'static str {
        if self.lz4 { "lz4" } else { "none" }
    }
}

/// `Ok(None)`: `--help` was asked for.
fn parse_args() -> Result<Option<Args>, Error> {
    let mut a = Args {
        contact: "127.0.0.1:9042".into(),
        driver: Driver::Cqlstream,
        workload: Workload::Point,
        protocol: 4,
        lz4: false,
        json: false,
        setup: false,
        requests: 200_000,
        concurrency: 256,
        rows: 1_000_000,
        decode: vec![Decode::Owned, Decode::Borrowed],
    };
    let mut workload = None;
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{f} needs a value"));
        match f.as_str() {
            "-h" | "--help" => return Ok(None),
            "--contact-point" => a.contact = v()?,
            "--driver" => {
                a.driver = match v()?.as_str() {
                    "cqlstream" => Driver::Cqlstream,
                    "scylla" => Driver::Scylla,
                    other => return Err(format!("--driver: `{other}` is not cqlstream or scylla").into()),
                }
            }
            "--compression" => {
                a.lz4 = match v()?.as_str() {
                    "none" => false,
                    "lz4" => true,
                    other => return Err(format!("--compression: `{other}` is not none or lz4").into()),
                }
            }
            "--protocol" => {
                a.protocol = match v()?.as_str() {
                    "4" => 4,
                    "5" => 5,
                    other => return Err(format!("--protocol: `{other}` is not 4 or 5").into()),
                }
            }
            "--decode" => {
                a.decode = match v()?.as_str() {
                    "owned" => vec![Decode::Owned],
                    "borrowed" => vec![Decode::Borrowed],
                    "both" => vec![Decode::Owned, Decode::Borrowed],
                    other => return Err(format!("--decode: `{other}` is not owned, borrowed or both").into()),
                }
            }
            "--requests" => a.requests = v()?.parse::<usize>()?.max(1),
            "--concurrency" => a.concurrency = v()?.parse::<usize>()?.max(1),
            "--rows" => a.rows = v()?.parse()?,
            "--setup" => a.setup = true,
            "--json" => a.json = true,
            w if !w.starts_with('-') && workload.is_none() => {
                workload = Some(match w {
                    "scan" => Workload::Scan,
                    "raw" => Workload::Raw,
                    "point" => Workload::Point,
                    "insert" => Workload::Insert,
                    other => return Err(format!("unknown workload `{other}`; use scan, raw, point or insert").into()),
                })
            }
            other => return Err(format!("unexpected argument `{other}`").into()),
        }
    }
    a.workload = workload.ok_or("no workload given; use scan, raw, point or insert")?;
    if a.setup && !matches!(a.workload, Workload::Point | Workload::Insert) {
        return Err("--setup fills bench.kv, for point and insert".into());
    }
    Ok(Some(a))
}

/// The value of `bench.kv` key `k`: `demo::value(k, 100)`, built in a per-thread buffer
/// so that making and checking values does not allocate in the timed part.
fn kv_value(k: i32) -> [u8; VALUE_BYTES] {
    thread_local!(static SCRATCH: RefCell<BytesMut> = RefCell::new(BytesMut::with_capacity(VALUE_BYTES)));
    SCRATCH.with_borrow_mut(|buf| {
        buf.clear();
        demo::write_value(k as u64, VALUE_BYTES, buf);
        let mut v = [0; VALUE_BYTES];
        v.copy_from_slice(buf);
        v
    })
}

fn check_kv(k: i32, v: &[u8]) -> Result<(), Error> {
    if v != kv_value(k) {
        return Err(format!("bench.kv key {k}: wrong value ({} bytes)", v.len()).into());
    }
    Ok(())
}

/// Allocations and reallocations since `region` began.
fn allocs(region: &Region<'static, System>) -> u64 {
    let s = region.change();
    (s.allocations + s.reallocations) as u64
}

/// The wall clock and allocation count of a timed part.
struct Timer {
    started: Instant,
    region: Region<'static, System>,
}

impl Timer {
    fn start() -> Timer {
        Timer { region: Region::new(GLOBAL), started: Instant::now() }
    }

    fn stop(self) -> (Duration, u64) {
        (self.started.elapsed(), allocs(&self.region))
    }
}

/// What one timed part measured.
#[derive(Debug)]
struct Measurement {
    decode: Option<Decode>,
    /// Rows (scan, raw) or requests (point, insert).
    count: u64,
    elapsed: Duration,
    /// All allocations of the timed part.
    allocs: u64,
    /// Row payload bytes (scan, raw).
    bytes: u64,
    /// Request latencies in ns, sorted (point, insert).
    latencies: Vec<u64>,
}

/// Counts and checks a scan's rows, and times it from its creation.
struct Tally {
    expected: u64,
    /// Bit `i`: row `i` was seen (unused by raw, which sees no row numbers).
    seen: Vec<u64>,
    rows: u64,
    bytes: u64,
    timer: Timer,
}

impl Tally {
    /// The bitmap is allocated before the timer starts.
    fn start(expected: u64) -> Tally {
        let seen = vec![0; expected.div_ceil(64) as usize];
        Tally { expected, seen, rows: 0, bytes: 0, timer: Timer::start() }
    }

    /// A decoded row: its content, and that it is new.
    #[inline]
    fn row(&mut self, pk: i32, ck: i32, v: &[u8]) -> Result<(), Error> {
        let i = demo::check_row(pk, ck, v)?;
        let bit = 1u64 << (i % 64);
        match self.seen.get_mut((i / 64) as usize) {
            Some(word) if *word & bit == 0 => *word |= bit,
            Some(_) => return Err(format!("row {i} came twice").into()),
            None => return Err(format!("row {i} is past the {} rows of --rows", self.expected).into()),
        }
        self.rows += 1;
        self.bytes += ROW_OVERHEAD + v.len() as u64;
        Ok(())
    }

    /// An undecoded page (raw): only counted.
    fn page(&mut self, rows: usize, payload_bytes: usize) {
        self.rows += rows as u64;
        self.bytes += payload_bytes as u64;
    }

    fn finish(self, decode: Option<Decode>) -> Result<Measurement, Error> {
        let (elapsed, allocs) = self.timer.stop();
        if self.rows != self.expected {
            return Err(format!("read {} rows, expected {} (--rows)", self.rows, self.expected).into());
        }
        Ok(Measurement { decode, count: self.rows, elapsed, allocs, bytes: self.bytes, latencies: Vec::new() })
    }
}

/// One `bench.kv` operation.
#[derive(Debug, Clone, Copy)]
enum Op {
    Get,
    Put,
}

/// One driver's point and insert operations on `bench.kv`.
trait Kv: Send + Sync + 'static {
    /// Reads key `k` and checks its value.
    fn get(&self, k: i32) -> impl Future<Output = Result<(), Error>> + Send;
    /// Writes key `k` with its value.
    fn put(&self, k: i32) -> impl Future<Output = Result<(), Error>> + Send;
}

impl Op {
    async fn call<K: Kv>(self, kv: &K, k: i32) -> Result<(), Error> {
        match self {
            Op::Get => kv.get(k).await,
            Op::Put => kv.put(k).await,
        }
    }
}

/// Runs `op` on keys `key(0..requests)` with `concurrency` in flight; times the lot and
/// each call.
async fn drive<K: Kv>(
    kv: &Arc<K>,
    op: Op,
    key: fn(usize) -> i32,
    requests: usize,
    concurrency: usize,
) -> Result<Measurement, Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let latencies: Arc<[AtomicU64]> = (0..requests).map(|_| AtomicU64::new(0)).collect();
    let mut workers = tokio::task::JoinSet::new();
    let timer = Timer::start();
    for _ in 0..concurrency {
        let (kv, next, latencies) = (kv.clone(), next.clone(), latencies.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, Error>(());
                }
                let t = Instant::now();
                op.call(&*kv, key(i)).await?;
                latencies[i].store(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        r??;
    }
    let (elapsed, allocs) = timer.stop();
    let mut latencies: Vec<u64> = latencies.iter().map(|l| l.load(Ordering::Relaxed)).collect();
    latencies.sort_unstable();
    Ok(Measurement { decode: None, count: requests as u64, elapsed, allocs, bytes: 0, latencies })
}

/// `point` or `insert` (after `--setup`'s untimed fill, when asked) with either driver.
async fn kv_workload<K: Kv>(a: &Args, kv: K) -> Result<Vec<Measurement>, Error> {
    let kv = Arc::new(kv);
    if a.setup {
        drive(&kv, Op::Put, |i| i as i32, KEYS as usize, 256).await?;
    }
    let m = match a.workload {
        Workload::Insert => {
            let m = drive(&kv, Op::Put, insert_key, a.requests, a.concurrency).await?;
            let sample = INSERT_SAMPLE.min(a.requests);
            for j in 0..sample {
                kv.get(insert_key(j * a.requests / sample)).await?;
            }
            m
        }
        _ => drive(&kv, Op::Get, point_key, a.requests, a.concurrency).await?,
    };
    Ok(vec![m])
}

/// Insert's key for request `i`.
fn insert_key(i: usize) -> i32 {
    INSERT_BASE + i as i32
}

/// Point's key for request `i`: spread over `0..KEYS`.
fn point_key(i: usize) -> i32 {
    (i as i32).wrapping_mul(7919).rem_euclid(KEYS)
}

mod cql {
    //! cqlstream: a session of one connection; `raw` on a bare connection.

    use cqlstream::connection::{Connection, ConnectionConfig};
    use cqlstream::protocol::request::{Execute, Prepare};
    use cqlstream::protocol::response::ResultBody;
    use cqlstream::protocol::{Compression, Consistency, QueryParameters, Request, Response, Version};
    use cqlstream::session::{PreparedStatement, Session};
    use futures_util::StreamExt;

    use super::*;

    fn version(a: &Args) -> Version {
        if a.protocol == 5 { Version::V5 } else { Version::V4 }
    }

    fn compression(a: &Args) -> Compression {
        if a.lz4 { Compression::Lz4 } else { Compression::None }
    }

    /// The protocol version pinned, LZ4 when asked (which the server may decline).
    fn config(a: &Args) -> ConnectionConfig {
        ConnectionConfig::new().protocol(version(a)).compression(compression(a))
    }

    /// A bare connection with the asked version and compression, or an error if the
    /// server settled on others.
    async fn connection(a: &Args) -> Result<Connection, Error> {
        let addr = tokio::net::lookup_host(&a.contact).await?.next().ok_or("contact point: no address")?;
        let conn = Connection::open(addr, &config(a)).await?;
        let want = (version(a), compression(a));
        if (conn.version(), conn.compression()) != want {
            return Err(format!("server agreed to {:?}/{:?}, not {want:?}", conn.version(), conn.compression()).into());
        }
        Ok(conn)
    }

    async fn session(a: &Args) -> Result<Session, Error> {
        drop(connection(a).await?);
        Ok(Session::builder()
            .contact_point(a.contact.clone())
            .connection_config(config(a))
            .pool_size(1)
            .build()
            .await?)
    }

    pub(super) struct Kv {
        session: Session,
        select: PreparedStatement,
        insert: PreparedStatement,
    }

    impl Kv {
        pub(super) async fn connect(a: &Args) -> Result<Kv, Error> {
            let session = session(a).await?;
            if a.setup {
                session.query(demo::CREATE_KEYSPACE, ()).await?;
                session.query(CREATE_KV, ()).await?;
            }
            let select = session.prepare(SELECT_KV).await?;
            let insert = session.prepare(INSERT_KV).await?;
            Ok(Kv { session, select, insert })
        }
    }

    impl super::Kv for Kv {
        async fn get(&self, k: i32) -> Result<(), Error> {
            let r = self.session.execute(&self.select, (k,)).await?;
            let (v,): (&[u8],) = r.rows_typed()?.next().ok_or_else(|| format!("bench.kv key {k}: no row"))??;
            check_kv(k, v)
        }

        async fn put(&self, k: i32) -> Result<(), Error> {
            self.session.execute(&self.insert, (k, &kv_value(k)[..])).await?;
            Ok(())
        }
    }

    pub(super) async fn scan(a: &Args) -> Result<Vec<Measurement>, Error> {
        let session = session(a).await?;
        let select = session.prepare(demo::SELECT).await?;
        let mut out = Vec::new();
        for &decode in &a.decode {
            let stream = session.stream(&select, ()).page_size(PAGE_SIZE);
            let mut tally = Tally::start(a.rows);
            match decode {
                Decode::Owned => {
                    let mut rows = stream.typed::<(i32, i32, Vec<u8>)>();
                    while let Some(row) = rows.next().await {
                        let (pk, ck, v) = row?;
                        tally.row(pk, ck, &v)?;
                    }
                }
                Decode::Borrowed => {
                    let mut pages = stream.pages();
                    while let Some(page) = pages.next().await {
                        for row in page?.rows::<(i32, i32, &[u8])>()? {
                            let (pk, ck, v) = row?;
                            tally.row(pk, ck, v)?;
                        }
                    }
                }
            }
            out.push(tally.finish(Some(decode))?);
        }
        Ok(out)
    }

    pub(super) async fn raw(a: &Args) -> Result<Measurement, Error> {
        let conn = connection(a).await?;
        let prepared = match conn.request(Request::Prepare(Prepare::new(demo::SELECT))).await?.response {
            Response::Result(ResultBody::Prepared(p)) => p,
            other => return Err(format!("PREPARE answered with {other:?}").into()),
        };
        let v5 = conn.version() >= Version::V5;
        let mut paging_state = None;
        let mut tally = Tally::start(a.rows);
        loop {
            let mut params = QueryParameters::new(Consistency::One).with_page_size(PAGE_SIZE);
            params.paging_state = paging_state.take();
            // As the session does: v5's metadata id lets the columns stay home.
            params.skip_metadata = v5;
            let execute = Execute {
                id: prepared.id.clone(),
                result_metadata_id: if v5 { prepared.result_metadata_id.clone() } else { None },
                params,
            };
            let rows = match conn.request(Request::Execute(execute)).await?.response {
                Response::Result(ResultBody::Rows(rows)) => rows,
                other => return Err(format!("EXECUTE answered with {other:?}").into()),
            };
            tally.page(rows.rows_count(), rows.content().len());
            paging_state = rows.metadata().paging_state.clone();
            if paging_state.is_none() {
                break;
            }
        }
        tally.finish(None)
    }
}

mod scy {
    //! The scylla crate 1.9: protocol v4, its default pool (one connection to a node
    //! that is not shard-aware) plus its control connection.

    use std::ops::ControlFlow;

    use futures_util::TryStreamExt;
    use scylla::client::Compression;
    use scylla::client::session::Session;
    use scylla::client::session_builder::SessionBuilder;
    use scylla::response::PagingState;
    use scylla::statement::prepared::PreparedStatement;

    use super::*;

    async fn session(a: &Args) -> Result<Session, Error> {
        let compression = if a.lz4 { Some(Compression::Lz4) } else { None };
        Ok(SessionBuilder::new().known_node(&a.contact).compression(compression).build().await?)
    }

    pub(super) struct Kv {
        session: Session,
        select: PreparedStatement,
        insert: PreparedStatement,
    }

    impl Kv {
        pub(super) async fn connect(a: &Args) -> Result<Kv, Error> {
            let session = session(a).await?;
            if a.setup {
                session.query_unpaged(demo::CREATE_KEYSPACE, ()).await?;
                session.query_unpaged(CREATE_KV, ()).await?;
            }
            let select = session.prepare(SELECT_KV).await?;
            let insert = session.prepare(INSERT_KV).await?;
            Ok(Kv { session, select, insert })
        }
    }

    impl super::Kv for Kv {
        async fn get(&self, k: i32) -> Result<(), Error> {
            let r = self.session.execute_unpaged(&self.select, (k,)).await?.into_rows_result()?;
            let (v,): (&[u8],) = r.first_row()?;
            check_kv(k, v)
        }

        async fn put(&self, k: i32) -> Result<(), Error> {
            self.session.execute_unpaged(&self.insert, (k, &kv_value(k)[..])).await?;
            Ok(())
        }
    }

    async fn prepare_scan(a: &Args) -> Result<(Session, PreparedStatement), Error> {
        let session = session(a).await?;
        let mut select = session.prepare(demo::SELECT).await?;
        select.set_page_size(PAGE_SIZE);
        Ok((session, select))
    }

    /// Runs `page` on each page of the scan, fetched one at a time with
    /// `execute_single_page` (no read-ahead).
    async fn for_each_page(
        session: &Session,
        select: &PreparedStatement,
        mut page: impl FnMut(scylla::response::query_result::QueryRowsResult) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut state = PagingState::start();
        loop {
            let (result, more) = session.execute_single_page(select, (), state).await?;
            page(result.into_rows_result()?)?;
            match more.into_paging_control_flow() {
                ControlFlow::Continue(next) => state = next,
                ControlFlow::Break(()) => return Ok(()),
            }
        }
    }

    pub(super) async fn scan(a: &Args) -> Result<Vec<Measurement>, Error> {
        let (session, select) = prepare_scan(a).await?;
        let mut out = Vec::new();
        for &decode in &a.decode {
            let mut tally = Tally::start(a.rows);
            match decode {
                Decode::Owned => {
                    let mut rows =
                        session.execute_iter(select.clone(), ()).await?.rows_stream::<(i32, i32, Vec<u8>)>()?;
                    while let Some((pk, ck, v)) = rows.try_next().await? {
                        tally.row(pk, ck, &v)?;
                    }
                }
                Decode::Borrowed => {
                    for_each_page(&session, &select, |page| {
                        for row in page.rows::<(i32, i32, &[u8])>()? {
                            let (pk, ck, v) = row?;
                            tally.row(pk, ck, v)?;
                        }
                        Ok(())
                    })
                    .await?
                }
            }
            out.push(tally.finish(Some(decode))?);
        }
        Ok(out)
    }

    pub(super) async fn raw(a: &Args) -> Result<Measurement, Error> {
        let (session, select) = prepare_scan(a).await?;
        let mut tally = Tally::start(a.rows);
        for_each_page(&session, &select, |page| {
            tally.page(page.rows_num(), page.rows_bytes_size());
            Ok(())
        })
        .await?;
        tally.finish(None)
    }
}

async fn run(a: Args) -> Result<Vec<Measurement>, Error> {
    match (a.driver, a.workload) {
        (Driver::Cqlstream, Workload::Scan) => cql::scan(&a).await,
        (Driver::Cqlstream, Workload::Raw) => Ok(vec![cql::raw(&a).await?]),
        (Driver::Cqlstream, Workload::Point | Workload::Insert) => kv_workload(&a, cql::Kv::connect(&a).await?).await,
        (Driver::Scylla, Workload::Scan) => scy::scan(&a).await,
        (Driver::Scylla, Workload::Raw) => Ok(vec![scy::raw(&a).await?]),
        (Driver::Scylla, Workload::Point | Workload::Insert) => kv_workload(&a, scy::Kv::connect(&a).await?).await,
    }
}

/// A `kB` field of `/proc/self/status`, such as `VmHWM`.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

fn print(a: &Args, m: &Measurement, peak_rss_kb: Option<u64>) {
    let secs = m.elapsed.as_secs_f64();
    let per_item = m.allocs as f64 / m.count.max(1) as f64;
    let rss = peak_rss_kb.map_or("null".to_string(), |kb| kb.to_string());
    let mut json = format!(
        r#"{{"driver":"{}","workload":"{}","protocol":{},"compression":"{}""#,
        a.driver.name(),
        a.workload.name(),
        a.protocol,
        a.compression()
    );
    let decode = m.decode.map_or("", Decode::name);
    if !decode.is_empty() {
        json += &format!(r#","decode":"{decode}""#);
    }
    let mut human = format!("{} {} {decode}", a.driver.name(), a.workload.name()).trim_end().to_string();
    human += &format!(" (v{}, {})", a.protocol, a.compression());
    if matches!(a.workload, Workload::Scan | Workload::Raw) {
        let (rps, mbps) = (m.count as f64 / secs, m.bytes as f64 / 1e6 / secs);
        json += &format!(
            r#","rows":{},"seconds":{secs:.4},"rows_per_s":{rps:.0},"mb_per_s":{mbps:.2},"allocs":{},"allocs_per_row":{per_item:.4}"#,
            m.count, m.allocs,
        );
        human +=
            &format!(": {} rows in {secs:.2} s: {rps:.0} rows/s, {mbps:.1} MB/s, {per_item:.3} allocs/row", m.count);
    } else {
        let pct =
            |p: f64| m.latencies[((m.latencies.len() as f64 * p) as usize).min(m.latencies.len() - 1)] as f64 / 1e3;
        let (p50, p99, p999) = (pct(0.5), pct(0.99), pct(0.999));
        let rps = m.count as f64 / secs;
        json += &format!(
            r#","requests":{},"concurrency":{},"seconds":{secs:.4},"requests_per_s":{rps:.0},"p50_us":{p50:.1},"p99_us":{p99:.1},"p999_us":{p999:.1},"allocs":{},"allocs_per_request":{per_item:.4}"#,
            m.count, a.concurrency, m.allocs,
        );
        human += &format!(
            ": {} requests in {secs:.2} s: {rps:.0} req/s, p50 {p50:.0} µs, p99 {p99:.0} µs, p999 {p999:.0} µs, {per_item:.3} allocs/request",
            m.count
        );
    }
    if a.json {
        println!(r#"{json},"peak_rss_kb":{rss}}}"#);
    } else {
        println!("{human}, peak RSS {rss} kB");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.driver == Driver::Scylla && args.protocol == 5 {
        eprintln!("bench: n/a: the scylla crate speaks protocol v4 only (--driver scylla --protocol 5)");
        return ExitCode::from(3);
    }
    // The whole run is one task on the single worker thread, next to the drivers' tasks.
    let results = match tokio::spawn(run(args.clone())).await.map_err(Error::from).and_then(|r| r) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("bench: {} {} failed: {e}", args.driver.name(), args.workload.name());
            return ExitCode::FAILURE;
        }
    };
    let peak_rss_kb = status_kb("VmHWM");
    for m in &results {
        print(&args, m, peak_rss_kb);
    }
    ExitCode::SUCCESS
}
