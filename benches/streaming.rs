//! End-to-end streaming benchmark: full scans of `bench.rows` (the
//! [`cqlstream::testkit::demo`] dataset) with cqlstream's streams and with the `scylla`
//! crate's pager, against a testkit server in another process. Every row read is
//! checked with `demo::check_row`, and every scan must return each of the table's rows
//! exactly once (count, sum and sum of squares of the row numbers), or the run fails.
//!
//! ```sh
//! cargo bench --features testkit --bench streaming                      # throughput matrix
//! cargo bench --features testkit --bench streaming -- --memory          # memory bound, 1M x 1 KB
//! cargo bench --features testkit --bench streaming -- --memory --rows 10000000
//! cargo bench --features testkit --bench streaming -- --quick           # CI smoke run, seconds
//! ```
//!
//! Flags, and what the modes measure, are in [`USAGE`] and in `benches/streaming.md`.
//!
//! # Layout
//!
//! One binary, three roles, chosen by hidden flags:
//!
//! - the **parent** (no hidden flag) starts the server, runs every configuration in a
//!   fresh client process, collects one JSON line from each and prints the tables;
//! - `--serve`: the **server** child, a `TestNode` on `127.0.0.1:<free port>` loaded
//!   through the driver (`demo::load`); it prints `ready <addr>` and serves until its
//!   stdin closes (so it dies with the parent). It runs out of the client's process so
//!   its dataset is not in the client's RSS;
//! - `--client`: a **client** child, one scan (or, with `--baseline`, a connect and one
//!   tiny query), which prints one JSON line with its rows/s, CPU time and `VmHWM`.
//!   A fresh process per configuration makes its `VmHWM` that configuration's peak alone.
//!
//! With `taskset` and two cores or more, the server is pinned to core 0 once loaded and
//! every client to core 1; the output says whether that happened.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use cqlstream::protocol::{Compression, Version};
use cqlstream::session::Session;
use cqlstream::testkit::TestNode;
use futures_util::{StreamExt, TryStreamExt};

#[path = "../examples/support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "\
usage: cargo bench --features testkit --bench streaming -- [MODE] [FLAGS]

modes (default: the throughput matrix)
  --quick                 CI smoke run: 20,000 rows, one run of three configurations
  --memory                peak RSS of cqlstream scans at page size 1000, prefetch 0/1/4,
                          against (prefetch + 2) x page bytes + slack; PASS/FAIL per line

flags
  --rows N                rows in bench.rows (default 1,000,000; --quick 20,000)
  --value-bytes B         bytes of each row's blob (default 100; --memory 1024)
  --runs N                runs of each configuration, medians reported (default 3;
                          --memory reports the worst run; --quick 1)
  --page-sizes LIST       e.g. 100,1000 (default 100,1000,5000,10000; --memory 1000)
  --prefetch LIST         cqlstream read-ahead values (default 0,1,4)
  --drivers LIST          of cqlstream, cqlstream-owned, scylla, scylla-pages
                          (default all four; --memory cqlstream,scylla)
  --protocol 4|5          cqlstream's protocol (default 4: the scylla crate speaks v4)
  --compression none|lz4  for both drivers (default none)
  --client-threads N      client tokio runtime: 0 = current-thread (default), N = N workers
  --load-concurrency N    inserts in flight while loading (default 512)
  --slack-mib M           --memory: the slack of the bound, MiB (default 4)
  --addr HOST:PORT        use a running server whose bench.rows holds exactly --rows rows
                          of --value-bytes bytes instead of starting one
  --no-pin                do not pin server and client to cores
  --json                  print JSON lines (one per result) instead of tables

drivers
  cqlstream        session.stream(..).pages(), rows read borrowed as (i32, i32, &[u8])
  cqlstream-owned  session.stream(..).typed::<(i32, i32, Vec<u8>)>(), prefetch 1 only
  scylla           scylla 1.9 execute_iter -> QueryPager.rows_stream::<(i32, i32, Vec<u8>)>()
                   (the pager cannot lend rows; it reads ahead through a channel of one page)
  scylla-pages     scylla 1.9 execute_single_page in a loop, rows read borrowed (no read-ahead)

Run without --bench (as `cargo test --benches` does), it does --quick.";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match argv.first().map(String::as_str) {
        Some("--serve") => serve::main(&argv[1..]),
        Some("--client") => return client::main(&argv[1..]),
        _ => parent::main(&argv),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("streaming bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Bytes of row data per row as the server sends it: three `[bytes]` cells, each a
/// 4-byte length and its content (int, int, blob). MB/s is rows/s times this.
fn row_bytes(value_bytes: usize) -> usize {
    4 + 4 + 4 + 4 + 4 + value_bytes
}

/// Flag values, `--flag value` or `--flag=value`.
struct Flags {
    args: std::vec::IntoIter<String>,
}

impl Flags {
    fn new(args: &[String]) -> Flags {
        let mut split = Vec::with_capacity(args.len());
        for a in args {
            match a.split_once('=') {
                Some((f, v)) if f.starts_with("--") => {
                    split.push(f.to_string());
                    split.push(v.to_string());
                }
                _ => split.push(a.clone()),
            }
        }
        Flags { args: split.into_iter() }
    }

    fn next_flag(&mut self) -> Option<String> {
        self.args.next()
    }

    fn value(&mut self, flag: &str) -> Result<String, Error> {
        self.args.next().ok_or_else(|| format!("{flag} needs a value").into())
    }

    fn parse<T: std::str::FromStr>(&mut self, flag: &str) -> Result<T, Error> {
        let v = self.value(flag)?;
        v.parse().map_err(|_| format!("{flag}: `{v}` is not valid").into())
    }

    fn list<T: std::str::FromStr>(&mut self, flag: &str) -> Result<Vec<T>, Error> {
        let v = self.value(flag)?;
        v.split(',').map(|s| s.trim().parse().map_err(|_| format!("{flag}: `{s}` is not valid").into())).collect()
    }
}

/// Reads a `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`).
fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn mib(kib: f64) -> f64 {
    kib / 1024.0
}

/// The JSON lines: what a client child prints for the parent, and what `--json` prints,
/// one object per line with its fields in this order (serde keeps declaration order).
mod lines {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A measurement: six decimals at most, as the tables print them (`2`, `1.5`,
    /// `1234567.123457`); NaN and infinities (a ratio with nothing to divide) as `null`.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Num(pub(crate) f64);

    impl Serialize for Num {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if !self.0.is_finite() {
                return s.serialize_none();
            }
            let text = format!("{:.6}", self.0);
            let text = text.trim_end_matches('0').trim_end_matches('.');
            match text.parse::<serde_json::Number>() {
                Ok(n) => n.serialize(s),
                Err(_) => s.serialize_f64(self.0),
            }
        }
    }

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
            Ok(Num(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN)))
        }
    }

    /// A client child's line when its scan (or baseline query) ran.
    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct ClientLine {
        pub(crate) ok: bool,
        pub(crate) driver: String,
        pub(crate) baseline: bool,
        pub(crate) page_size: u64,
        pub(crate) prefetch: u64,
        pub(crate) rows: u64,
        pub(crate) pages: Option<u64>,
        pub(crate) bytes: Option<u64>,
        pub(crate) max_buffered_pages: Option<u64>,
        pub(crate) seconds: Num,
        pub(crate) cpu_s: Num,
        pub(crate) vm_rss_start_kib: Option<u64>,
        pub(crate) vm_hwm_kib: Option<u64>,
    }

    /// A client child's line when it failed: `{"ok":false,"error":"..."}`.
    #[derive(Debug, Serialize, Deserialize)]
    pub(crate) struct ClientFailure {
        pub(crate) ok: bool,
        pub(crate) error: Option<String>,
    }

    /// What the parent reads back from a client child: one line or the other.
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    pub(crate) enum ClientReport {
        Done(ClientLine),
        Failed(ClientFailure),
    }

    /// The parent's `--json` output, one line per result, `kind` first.
    #[derive(Debug, Serialize)]
    #[serde(tag = "kind", rename_all = "lowercase")]
    pub(crate) enum Report<'a> {
        /// A driver's peak RSS after connecting and one tiny query.
        Baseline { driver: &'a str, peak_rss_mib: Num },
        /// One configuration of the throughput matrix.
        Result {
            driver: &'a str,
            page_size: u64,
            prefetch: &'a str,
            rows: u64,
            value_bytes: u64,
            runs: u64,
            rows_per_s: Num,
            mb_per_s: Num,
            client_cpu_s: Num,
            peak_rss_mib: Num,
            above_baseline_mib: Num,
            pinning: &'a str,
        },
        /// cqlstream over scylla, per page size.
        Ratio {
            page_size: u64,
            best_prefetch: &'a str,
            best_over_scylla_rows_per_s: Num,
            prefetch1_over_scylla_rows_per_s: Num,
            prefetch1_over_scylla_rss_above_baseline: Num,
            prefetch1_over_scylla_client_cpu: Num,
            owned_over_scylla_rows_per_s: Num,
            prefetch0_over_scylla_pages_rows_per_s: Num,
        },
        /// One configuration of the memory-bound check.
        Memory {
            driver: &'a str,
            page_size: u64,
            prefetch: &'a str,
            rows: u64,
            rows_per_s: Num,
            pages: Option<u64>,
            max_pages_waiting: Option<u64>,
            page_bytes: Num,
            peak_rss_mib: Num,
            baseline_mib: Num,
            above_baseline_mib: Num,
            bound_mib: Num,
            verdict: &'a str,
        },
    }

    /// One JSON line. Serialising these types cannot fail (no maps with non-string
    /// keys, no failing `Serialize`), so a failure would be a bug worth seeing.
    pub(crate) fn to_line<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_else(|_| r#"{"ok":false,"error":"a JSON line failed to serialise"}"#.into())
    }
}

/// The hidden `--serve` role: the test server, loaded, in its own process.
mod serve {
    use super::*;

    pub(super) fn main(args: &[String]) -> Result<ExitCode, Error> {
        let (mut rows, mut value_bytes, mut concurrency) = (0u64, 100usize, 512usize);
        let mut flags = Flags::new(args);
        while let Some(f) = flags.next_flag() {
            match f.as_str() {
                "--rows" => rows = flags.parse(&f)?,
                "--value-bytes" => value_bytes = flags.parse(&f)?,
                "--load-concurrency" => concurrency = flags.parse(&f)?,
                other => return Err(format!("--serve: unknown flag {other}").into()),
            }
        }
        // Two workers while loading (server and loader share the process); the parent
        // pins the whole process to one core afterwards.
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        rt.block_on(async move {
            let node = TestNode::builder().bind(([127, 0, 0, 1], 0).into()).start().await?;
            let addr = node.addr();
            let started = Instant::now();
            {
                let session = Session::builder()
                    .contact_point(addr.to_string())
                    .compression(Compression::None)
                    .pool_size(4)
                    .build()
                    .await?;
                let last = std::cell::Cell::new(Instant::now());
                demo::load(&session, rows, value_bytes, concurrency, |n| {
                    if last.get().elapsed().as_secs() >= 10 {
                        last.set(Instant::now());
                        eprintln!(
                            "  server: {n} of {rows} rows loaded ({:.0} rows/s)",
                            n as f64 / started.elapsed().as_secs_f64()
                        );
                    }
                })
                .await?;
            }
            let secs = started.elapsed().as_secs_f64();
            println!("ready {addr} {secs:.3}");
            std::io::stdout().flush()?;
            // Serve until the parent closes our stdin (or dies).
            tokio::task::spawn_blocking(|| {
                let mut sink = Vec::new();
                let _ = std::io::stdin().read_to_end(&mut sink);
            })
            .await?;
            drop(node);
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// The hidden `--client` role: one scan in a fresh process, one JSON line out.
mod client {
    use super::*;

    #[derive(Debug, Clone)]
    pub(super) struct Args {
        pub(super) addr: String,
        pub(super) driver: String,
        pub(super) page_size: i32,
        pub(super) prefetch: usize,
        pub(super) rows: u64,
        pub(super) value_bytes: usize,
        pub(super) protocol: Version,
        pub(super) lz4: bool,
        pub(super) threads: usize,
        pub(super) baseline: bool,
    }

    impl Args {
        /// The command line the parent passes, after `--client`.
        pub(super) fn to_flags(&self) -> Vec<String> {
            let mut v = vec![
                "--client".to_string(),
                "--addr".into(),
                self.addr.clone(),
                "--driver".into(),
                self.driver.clone(),
                "--page-size".into(),
                self.page_size.to_string(),
                "--prefetch".into(),
                self.prefetch.to_string(),
                "--rows".into(),
                self.rows.to_string(),
                "--value-bytes".into(),
                self.value_bytes.to_string(),
                "--protocol".into(),
                if self.protocol == Version::V5 { "5" } else { "4" }.into(),
                "--compression".into(),
                if self.lz4 { "lz4" } else { "none" }.into(),
                "--client-threads".into(),
                self.threads.to_string(),
            ];
            if self.baseline {
                v.push("--baseline".into());
            }
            v
        }

        fn parse(args: &[String]) -> Result<Args, Error> {
            let mut a = Args {
                addr: String::new(),
                driver: String::new(),
                page_size: 5000,
                prefetch: 1,
                rows: 0,
                value_bytes: 100,
                protocol: Version::V4,
                lz4: false,
                threads: 0,
                baseline: false,
            };
            let mut flags = Flags::new(args);
            while let Some(f) = flags.next_flag() {
                match f.as_str() {
                    "--addr" => a.addr = flags.value(&f)?,
                    "--driver" => a.driver = flags.value(&f)?,
                    "--page-size" => a.page_size = flags.parse(&f)?,
                    "--prefetch" => a.prefetch = flags.parse(&f)?,
                    "--rows" => a.rows = flags.parse(&f)?,
                    "--value-bytes" => a.value_bytes = flags.parse(&f)?,
                    "--protocol" => a.protocol = parent::parse_protocol(&flags.value(&f)?)?,
                    "--compression" => a.lz4 = parent::parse_lz4(&flags.value(&f)?)?,
                    "--client-threads" => a.threads = flags.parse(&f)?,
                    "--baseline" => a.baseline = true,
                    other => return Err(format!("--client: unknown flag {other}").into()),
                }
            }
            Ok(a)
        }
    }

    /// What one scan saw: rows checked one by one, and a proof that each row of the
    /// table came exactly once.
    #[derive(Debug, Default)]
    struct Tally {
        /// The value size every row must have.
        value_bytes: usize,
        rows: u64,
        sum: u128,
        sum_sq: u128,
        /// Pages and bytes of row data, when the driver says.
        pages: Option<u64>,
        bytes: Option<u64>,
        /// cqlstream: the most pages found waiting in the read-ahead channel when the
        /// consumer took one (`Session::stream_stats`), i.e. how full the window got.
        max_buffered: Option<u64>,
    }

    impl Tally {
        #[inline]
        fn check(&mut self, pk: i32, ck: i32, v: &[u8]) -> Result<(), Error> {
            let i = demo::check_row(pk, ck, v)?;
            if v.len() != self.value_bytes {
                return Err(format!("row {i}: a value of {} bytes, not {}", v.len(), self.value_bytes).into());
            }
            self.rows += 1;
            self.sum += u128::from(i);
            self.sum_sq += u128::from(i) * u128::from(i);
            Ok(())
        }

        /// Rows `0..n`, each once: the count, the sum and the sum of squares agree.
        fn verify(&self, n: u64) -> Result<(), Error> {
            let n128 = u128::from(n);
            let sum = n128 * n128.saturating_sub(1) / 2;
            let sum_sq = n128.saturating_sub(1) * n128 * (2 * n128).saturating_sub(1) / 6;
            if self.rows != n {
                return Err(format!("read {} rows, the table holds {n}", self.rows).into());
            }
            if (self.sum, self.sum_sq) != (sum, sum_sq) {
                return Err(
                    format!("read {n} rows but not rows 0..{n} once each (a row missing and another twice)").into()
                );
            }
            Ok(())
        }
    }

    /// User plus system CPU time of this process, from `/proc/self/stat` (ticks of 10 ms).
    fn cpu_seconds() -> f64 {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return f64::NAN };
        let Some((_, rest)) = stat.rsplit_once(')') else { return f64::NAN };
        let f: Vec<&str> = rest.split_whitespace().collect();
        // After the command: state is field 3, utime 14 and stime 15.
        let ticks = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        (ticks(11) + ticks(12)) as f64 / 100.0
    }

    pub(super) fn main(args: &[String]) -> ExitCode {
        let line = match run(args) {
            Ok(line) => {
                println!("{line}");
                return ExitCode::SUCCESS;
            }
            Err(e) => lines::to_line(&lines::ClientFailure { ok: false, error: Some(e.to_string()) }),
        };
        println!("{line}");
        ExitCode::FAILURE
    }

    fn run(args: &[String]) -> Result<String, Error> {
        let a = Args::parse(args)?;
        let rt = match a.threads {
            0 => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
            n => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build()?,
        };
        let rss_start = status_kib("self", "VmRSS");
        let (tally, seconds, cpu) = rt.block_on(async {
            match a.driver.as_str() {
                "cqlstream" | "cqlstream-owned" => cqlstream_scan(&a).await,
                "scylla" | "scylla-pages" => scylla_scan(&a).await,
                other => Err(format!("unknown driver {other}").into()),
            }
        })?;
        drop(rt);
        if !a.baseline {
            tally.verify(a.rows)?;
        }
        Ok(lines::to_line(&lines::ClientLine {
            ok: true,
            driver: a.driver.clone(),
            baseline: a.baseline,
            page_size: a.page_size as u64,
            prefetch: a.prefetch as u64,
            rows: tally.rows,
            pages: tally.pages,
            bytes: tally.bytes,
            max_buffered_pages: tally.max_buffered,
            seconds: lines::Num(seconds),
            cpu_s: lines::Num(cpu),
            vm_rss_start_kib: rss_start,
            vm_hwm_kib: status_kib("self", "VmHWM"),
        }))
    }

    /// Returns the tally, the scan's wall time and its CPU time (both from the first
    /// request to the last row; connecting and preparing excluded).
    async fn cqlstream_scan(a: &Args) -> Result<(Tally, f64, f64), Error> {
        let session = Session::builder()
            .contact_point(a.addr.clone())
            .protocol(a.protocol)
            .compression(if a.lz4 { Compression::Lz4 } else { Compression::None })
            .pool_size(1)
            .build()
            .await?;
        let mut tally = Tally { value_bytes: a.value_bytes, ..Tally::default() };
        if a.baseline {
            let result = session.query(format!("{} LIMIT 1", demo::SELECT), ()).await?;
            for row in result.rows_typed::<(i32, i32, &[u8])>()? {
                let (pk, ck, v) = row?;
                tally.check(pk, ck, v)?;
            }
            return Ok((tally, 0.0, 0.0));
        }
        let select = session.prepare(demo::SELECT).await?;
        let (started, cpu) = (Instant::now(), cpu_seconds());
        let stream = session.stream(&select, ()).page_size(a.page_size).prefetch(a.prefetch);
        let progress = if a.driver == "cqlstream-owned" {
            let mut rows = stream.typed::<(i32, i32, Vec<u8>)>();
            while let Some(row) = rows.next().await {
                let (pk, ck, v) = row?;
                tally.check(pk, ck, &v)?;
            }
            rows.progress()
        } else {
            let mut pages = stream.pages();
            let mut max_buffered = 0;
            while let Some(page) = pages.next().await {
                let page = page?;
                max_buffered = max_buffered.max(session.stream_stats().buffered_pages as u64);
                for row in page.rows::<(i32, i32, &[u8])>()? {
                    let (pk, ck, v) = row?;
                    tally.check(pk, ck, v)?;
                }
            }
            tally.max_buffered = Some(max_buffered);
            pages.progress()
        };
        let (seconds, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
        tally.pages = Some(progress.pages);
        tally.bytes = Some(progress.bytes);
        Ok((tally, seconds, cpu))
    }

    async fn scylla_scan(a: &Args) -> Result<(Tally, f64, f64), Error> {
        use scylla::client::session_builder::SessionBuilder;
        use scylla::response::PagingState;
        use std::ops::ControlFlow;

        let mut builder = SessionBuilder::new().known_node(&a.addr);
        if a.lz4 {
            builder = builder.compression(Some(scylla::client::Compression::Lz4));
        }
        let session = builder.build().await?;
        let mut tally = Tally { value_bytes: a.value_bytes, ..Tally::default() };
        if a.baseline {
            let result = session.query_unpaged(format!("{} LIMIT 1", demo::SELECT), ()).await?.into_rows_result()?;
            for row in result.rows::<(i32, i32, &[u8])>()? {
                let (pk, ck, v) = row?;
                tally.check(pk, ck, v)?;
            }
            return Ok((tally, 0.0, 0.0));
        }
        let mut select = session.prepare(demo::SELECT).await?;
        select.set_page_size(a.page_size);
        let (started, cpu) = (Instant::now(), cpu_seconds());
        if a.driver == "scylla-pages" {
            let (mut state, mut pages) = (PagingState::start(), 0u64);
            loop {
                let (result, more) = session.execute_single_page(&select, (), state).await?;
                let result = result.into_rows_result()?;
                pages += 1;
                for row in result.rows::<(i32, i32, &[u8])>()? {
                    let (pk, ck, v) = row?;
                    tally.check(pk, ck, v)?;
                }
                match more.into_paging_control_flow() {
                    ControlFlow::Continue(next) => state = next,
                    ControlFlow::Break(()) => break,
                }
            }
            tally.pages = Some(pages);
        } else {
            let mut rows = session.execute_iter(select, ()).await?.rows_stream::<(i32, i32, Vec<u8>)>()?;
            while let Some((pk, ck, v)) = rows.try_next().await? {
                tally.check(pk, ck, &v)?;
            }
        }
        Ok((tally, started.elapsed().as_secs_f64(), cpu_seconds() - cpu))
    }
}

/// The parent: server, client processes, tables.
mod parent {
    use super::*;

    pub(super) fn parse_protocol(v: &str) -> Result<Version, Error> {
        match v {
            "4" | "v4" => Ok(Version::V4),
            "5" | "v5" => Ok(Version::V5),
            _ => Err(format!("--protocol: `{v}` is not 4 or 5").into()),
        }
    }

    pub(super) fn parse_lz4(v: &str) -> Result<bool, Error> {
        match v {
            "none" => Ok(false),
            "lz4" => Ok(true),
            _ => Err(format!("--compression: `{v}` is not none or lz4").into()),
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Mode {
        Matrix,
        Memory,
        Quick,
    }

    const DRIVERS: [&str; 4] = ["cqlstream", "cqlstream-owned", "scylla", "scylla-pages"];

    #[derive(Debug)]
    struct Args {
        mode: Mode,
        rows: u64,
        value_bytes: usize,
        runs: usize,
        page_sizes: Vec<i32>,
        prefetch: Vec<usize>,
        drivers: Vec<String>,
        protocol: Version,
        lz4: bool,
        threads: usize,
        load_concurrency: usize,
        slack_mib: f64,
        addr: Option<String>,
        pin: bool,
        json: bool,
    }

    fn parse_args(argv: &[String]) -> Result<Option<Args>, Error> {
        let mut mode = None;
        let (mut rows, mut value_bytes, mut runs, mut page_sizes, mut drivers) = (None, None, None, None, None);
        let mut a = Args {
            mode: Mode::Matrix,
            rows: 0,
            value_bytes: 0,
            runs: 0,
            page_sizes: Vec::new(),
            prefetch: vec![0, 1, 4],
            drivers: Vec::new(),
            protocol: Version::V4,
            lz4: false,
            threads: 0,
            load_concurrency: 512,
            slack_mib: 4.0,
            addr: None,
            pin: true,
            json: false,
        };
        let mut bench = false;
        let mut flags = Flags::new(argv);
        while let Some(f) = flags.next_flag() {
            match f.as_str() {
                "-h" | "--help" => {
                    println!("{USAGE}");
                    return Ok(None);
                }
                "--bench" => bench = true,
                "--quick" => mode = Some(Mode::Quick),
                "--memory" => mode = Some(Mode::Memory),
                "--rows" => rows = Some(flags.parse::<u64>(&f)?),
                "--value-bytes" => value_bytes = Some(flags.parse::<usize>(&f)?),
                "--runs" => runs = Some(flags.parse::<usize>(&f)?.max(1)),
                "--page-sizes" => page_sizes = Some(flags.list::<i32>(&f)?),
                "--prefetch" => a.prefetch = flags.list(&f)?,
                "--drivers" => drivers = Some(flags.list::<String>(&f)?),
                "--protocol" => a.protocol = parse_protocol(&flags.value(&f)?)?,
                "--compression" => a.lz4 = parse_lz4(&flags.value(&f)?)?,
                "--client-threads" => a.threads = flags.parse(&f)?,
                "--load-concurrency" => a.load_concurrency = flags.parse::<usize>(&f)?.max(1),
                "--slack-mib" => a.slack_mib = flags.parse(&f)?,
                "--addr" => a.addr = Some(flags.value(&f)?),
                "--no-pin" => a.pin = false,
                "--json" => a.json = true,
                other => return Err(format!("unknown flag {other}\n\n{USAGE}").into()),
            }
        }
        // `cargo test --benches` runs bench targets without `--bench`: keep that short.
        a.mode = mode.unwrap_or(if bench { Mode::Matrix } else { Mode::Quick });
        let quick = a.mode == Mode::Quick;
        let memory = a.mode == Mode::Memory;
        a.rows = rows.unwrap_or(if quick { 20_000 } else { 1_000_000 });
        a.value_bytes = value_bytes.unwrap_or(if memory { 1024 } else { 100 });
        a.runs = runs.unwrap_or(if quick { 1 } else { 3 });
        a.page_sizes = page_sizes.unwrap_or(match a.mode {
            Mode::Matrix => vec![100, 1000, 5000, 10_000],
            Mode::Memory | Mode::Quick => vec![1000],
        });
        if quick && a.prefetch == [0, 1, 4] {
            a.prefetch = vec![0, 1];
        }
        let default_drivers: &[&str] = match a.mode {
            Mode::Matrix => &DRIVERS,
            Mode::Memory | Mode::Quick => &["cqlstream", "scylla"],
        };
        a.drivers = drivers.unwrap_or_else(|| default_drivers.iter().map(|s| s.to_string()).collect());
        if let Some(d) = a.drivers.iter().find(|d| !DRIVERS.contains(&d.as_str())) {
            return Err(format!("--drivers: unknown driver {d}; use {}", DRIVERS.join(", ")).into());
        }
        if a.value_bytes < demo::MIN_VALUE_BYTES {
            return Err(format!("--value-bytes must be at least {}", demo::MIN_VALUE_BYTES).into());
        }
        if a.rows > i32::MAX as u64 * demo::ROWS_PER_PARTITION {
            return Err("--rows: too many (pk = i / 100 must fit an int)".into());
        }
        if a.page_sizes.iter().any(|p| *p < 1) {
            return Err("--page-sizes must be at least 1".into());
        }
        Ok(Some(a))
    }

    /// One configuration: a driver, a page size, cqlstream's read-ahead.
    #[derive(Debug, Clone, PartialEq)]
    struct Case {
        driver: String,
        page_size: i32,
        /// `None` for the scylla pager (its own read-ahead).
        prefetch: Option<usize>,
    }

    impl Case {
        fn prefetch_label(&self) -> String {
            match self.prefetch {
                Some(p) => p.to_string(),
                None => "pager".into(),
            }
        }
    }

    /// One client process's report.
    #[derive(Debug, Clone)]
    struct Sample {
        rows: u64,
        pages: Option<u64>,
        bytes: Option<u64>,
        max_buffered: Option<u64>,
        seconds: f64,
        cpu_s: f64,
        hwm_kib: f64,
    }

    fn median(mut v: Vec<f64>) -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
    }

    fn max(v: impl IntoIterator<Item = f64>) -> f64 {
        v.into_iter().fold(f64::NAN, f64::max)
    }

    /// `1234567.8` as `1,234,568`.
    fn thousands(x: f64) -> String {
        if !x.is_finite() {
            return "-".into();
        }
        let digits = format!("{:.0}", x.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if x < 0.0 { format!("-{out}") } else { out }
    }

    /// The server child (or an external server), and how the processes are placed.
    struct Bench {
        args: Args,
        exe: std::path::PathBuf,
        addr: String,
        server: Option<Child>,
        /// `Some(core)`: run clients under `taskset -c core`.
        client_core: Option<usize>,
        pinning: String,
        failures: Vec<String>,
    }

    impl Drop for Bench {
        fn drop(&mut self) {
            if let Some(mut child) = self.server.take() {
                // Closing its stdin ends it; kill it if that is not enough.
                drop(child.stdin.take());
                for _ in 0..50 {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    fn has_taskset() -> bool {
        Command::new("taskset").arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
    }

    fn mem_available_kib() -> Option<u64> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line["MemAvailable:".len()..].trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// What the testkit server holds per row beyond the value (B-tree nodes, the
    /// clustering key's `Vec<CqlValue>`, the row's `Bytes`, allocator rounding): an
    /// upper estimate from a 1M-row load, used to refuse loads that cannot fit.
    const SERVER_BYTES_PER_ROW_OVER_VALUE: u64 = 400;

    impl Bench {
        fn start(args: Args) -> Result<Bench, Error> {
            let exe = std::env::current_exe()?;
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let taskset = has_taskset();
            let mut bench = Bench {
                args,
                exe,
                addr: String::new(),
                server: None,
                client_core: None,
                pinning: String::new(),
                failures: Vec::new(),
            };
            let a = &bench.args;
            if let Some(addr) = &a.addr {
                bench.addr = addr.clone();
                bench.pinning = "none (external server via --addr)".into();
                return Ok(bench);
            }
            let need_kib = a.rows * (a.value_bytes as u64 + SERVER_BYTES_PER_ROW_OVER_VALUE) / 1024;
            if let Some(avail) = mem_available_kib() {
                eprintln!(
                    "# memory: {:.1} GiB available, the server needs about {:.1} GiB for {} rows of {} bytes",
                    avail as f64 / 1048576.0,
                    need_kib as f64 / 1048576.0,
                    a.rows,
                    a.value_bytes
                );
                if need_kib + (1 << 20) > avail {
                    return Err(format!(
                        "not enough memory: the server would need about {:.1} GiB (+1 GiB for the rest), {:.1} GiB is available",
                        need_kib as f64 / 1048576.0,
                        avail as f64 / 1048576.0
                    )
                    .into());
                }
            }
            eprintln!("# loading {} rows of {} bytes into a server child ...", a.rows, a.value_bytes);
            let mut child = Command::new(&bench.exe)
                .args(["--serve", "--rows", &a.rows.to_string(), "--value-bytes", &a.value_bytes.to_string()])
                .args(["--load-concurrency", &a.load_concurrency.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()?;
            let pid = child.id().to_string();
            let stdout = child.stdout.take().ok_or("no stdout")?;
            bench.server = Some(child);
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line)?;
            let mut words = line.split_whitespace();
            let (Some("ready"), Some(addr), Some(secs)) = (words.next(), words.next(), words.next()) else {
                return Err(format!("the server child did not start: {line:?}").into());
            };
            bench.addr = addr.to_string();
            let secs: f64 = secs.parse().unwrap_or(f64::NAN);
            let rss = status_kib(&pid, "VmRSS").unwrap_or(0);
            eprintln!(
                "# server: pid {pid} on {addr}, {} rows loaded in {secs:.1} s ({:.0} rows/s), RSS {:.0} MiB ({:.0} B/row)",
                a.rows,
                a.rows as f64 / secs,
                mib(rss as f64),
                rss as f64 * 1024.0 / a.rows.max(1) as f64
            );
            bench.pinning = if !a.pin {
                "none (--no-pin)".into()
            } else if !taskset {
                "none (taskset not found)".into()
            } else if cores < 2 {
                format!("none ({cores} core)")
            } else {
                let pinned = Command::new("taskset")
                    .args(["-a", "-p", "-c", "0", &pid])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                let allowed = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| s.lines().find(|l| l.starts_with("Cpus_allowed_list:")).map(|l| l.to_string()))
                    .unwrap_or_default();
                if pinned && allowed.trim_end().ends_with(":\t0") {
                    bench.client_core = Some(1);
                    format!("server on core 0, each client on core 1 (taskset; {cores} cores)")
                } else {
                    format!("none (taskset -p failed: {allowed})")
                }
            };
            Ok(bench)
        }

        fn client_args(&self, driver: &str, page_size: i32, prefetch: usize, baseline: bool) -> client::Args {
            client::Args {
                addr: self.addr.clone(),
                driver: driver.into(),
                page_size,
                prefetch,
                rows: self.args.rows,
                value_bytes: self.args.value_bytes,
                protocol: self.args.protocol,
                lz4: self.args.lz4,
                threads: self.args.threads,
                baseline,
            }
        }

        /// Runs one client process and reads its line; a failure is recorded and `None`.
        fn run_client(&mut self, c: client::Args, what: &str) -> Option<Sample> {
            let mut cmd = match self.client_core {
                Some(core) => {
                    let mut cmd = Command::new("taskset");
                    cmd.args(["-c", &core.to_string()]).arg(&self.exe);
                    cmd
                }
                None => Command::new(&self.exe),
            };
            cmd.args(c.to_flags()).stdin(Stdio::null()).stderr(Stdio::inherit());
            let outcome = match cmd.output() {
                Err(e) => Err(format!("cannot start: {e}")),
                Ok(out) => {
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("");
                    match serde_json::from_str::<lines::ClientReport>(line) {
                        Err(_) => Err(format!("exit {}, no result line: {stdout:?}", out.status)),
                        Ok(report) => sample(report, out.status.success()),
                    }
                }
            };
            match outcome {
                Ok(s) => Some(s),
                Err(e) => {
                    let msg = format!("{what}: {e}");
                    eprintln!("FAILED {msg}");
                    self.failures.push(msg);
                    None
                }
            }
        }

        /// The peak RSS (KiB) of a client that connects and runs one tiny query.
        fn baseline(&mut self, driver: &str) -> Option<Sample> {
            let family = if driver.starts_with("scylla") { "scylla" } else { "cqlstream" };
            let c = self.client_args(family, 1000, 1, true);
            self.run_client(c, &format!("{family} baseline"))
        }
    }

    fn sample(report: lines::ClientReport, success: bool) -> Result<Sample, String> {
        match report {
            lines::ClientReport::Done(l) if success && l.ok => Ok(Sample {
                rows: l.rows,
                pages: l.pages,
                bytes: l.bytes,
                max_buffered: l.max_buffered_pages,
                seconds: l.seconds.0,
                cpu_s: l.cpu_s.0,
                hwm_kib: l.vm_hwm_kib.map_or(f64::NAN, |k| k as f64),
            }),
            lines::ClientReport::Done(_) => Err("failed without a message".into()),
            lines::ClientReport::Failed(f) => Err(f.error.unwrap_or_else(|| "failed without a message".into())),
        }
    }

    pub(super) fn main(argv: &[String]) -> Result<ExitCode, Error> {
        let Some(args) = parse_args(argv)? else { return Ok(ExitCode::SUCCESS) };
        let mode = args.mode;
        let mut bench = Bench::start(args)?;
        match mode {
            Mode::Matrix | Mode::Quick => throughput(&mut bench),
            Mode::Memory => memory(&mut bench),
        }
        if bench.failures.is_empty() {
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("{} failure(s):", bench.failures.len());
            for f in &bench.failures {
                eprintln!("  {f}");
            }
            Ok(ExitCode::FAILURE)
        }
    }

    fn header(b: &Bench) -> String {
        let a = &b.args;
        format!(
            "{} rows x {}-byte values ({} B of row data per row), cqlstream protocol v{}, compression {}, \
             client runtime {}, {} run(s) per configuration\npinning: {}",
            thousands(a.rows as f64),
            a.value_bytes,
            row_bytes(a.value_bytes),
            if a.protocol == Version::V5 { 5 } else { 4 },
            if a.lz4 { "lz4" } else { "none" },
            match a.threads {
                0 => "current-thread".to_string(),
                n => format!("{n} worker(s)"),
            },
            a.runs,
            b.pinning
        ) + &std::env::var("MALLOC_MMAP_THRESHOLD_")
            .map(|v| format!("\nglibc malloc: MALLOC_MMAP_THRESHOLD_={v} from the environment (fixed mmap threshold)"))
            .unwrap_or_default()
    }

    /// The configurations of one page size, drivers alternating.
    fn cases(a: &Args, page_size: i32) -> Vec<Case> {
        let has = |d: &str| a.drivers.iter().any(|x| x == d);
        let mut cqlstream: Vec<Case> = Vec::new();
        if has("cqlstream") {
            cqlstream.extend(a.prefetch.iter().map(|p| Case {
                driver: "cqlstream".into(),
                page_size,
                prefetch: Some(*p),
            }));
        }
        if has("cqlstream-owned") {
            cqlstream.push(Case { driver: "cqlstream-owned".into(), page_size, prefetch: Some(1) });
        }
        let mut scylla = Vec::new();
        if has("scylla") {
            scylla.push(Case { driver: "scylla".into(), page_size, prefetch: None });
        }
        if has("scylla-pages") {
            scylla.push(Case { driver: "scylla-pages".into(), page_size, prefetch: Some(0) });
        }
        let mut out = Vec::new();
        let (mut c, mut s) = (cqlstream.into_iter(), scylla.into_iter());
        loop {
            let (x, y) = (c.next(), s.next());
            if x.is_none() && y.is_none() {
                return out;
            }
            out.extend(x);
            out.extend(y);
        }
    }

    /// Per case: its samples; per driver family: the baseline samples.
    struct Results {
        cases: Vec<(Case, Vec<Sample>)>,
        baselines: HashMap<&'static str, Vec<Sample>>,
    }

    impl Results {
        fn baseline_kib(&self, driver: &str) -> f64 {
            let family = if driver.starts_with("scylla") { "scylla" } else { "cqlstream" };
            median(self.baselines.get(family).map_or(Vec::new(), |v| v.iter().map(|s| s.hwm_kib).collect()))
        }
    }

    fn collect(b: &mut Bench) -> Results {
        let a = &b.args;
        let all: Vec<Case> = a.page_sizes.iter().flat_map(|p| cases(a, *p)).collect();
        let families: Vec<&'static str> =
            ["cqlstream", "scylla"].into_iter().filter(|f| a.drivers.iter().any(|d| d.starts_with(f))).collect();
        let runs = a.runs;
        let mut results =
            Results { cases: all.iter().map(|c| (c.clone(), Vec::new())).collect(), baselines: HashMap::new() };
        for run in 1..=runs {
            eprintln!("# run {run} of {runs}");
            for f in &families {
                if let Some(s) = b.baseline(f) {
                    results.baselines.entry(f).or_default().push(s);
                }
            }
            for (case, samples) in results.cases.iter_mut() {
                let c = b.client_args(&case.driver, case.page_size, case.prefetch.unwrap_or(1), false);
                let what = format!("{} page {} prefetch {}", case.driver, case.page_size, case.prefetch_label());
                if let Some(s) = b.run_client(c, &what) {
                    eprintln!(
                        "  {what}: {} rows/s, peak RSS {:.1} MiB",
                        thousands(s.rows as f64 / s.seconds),
                        mib(s.hwm_kib)
                    );
                    samples.push(s);
                }
            }
        }
        results
    }

    fn throughput(b: &mut Bench) {
        let results = collect(b);
        let a = &b.args;
        let rb = row_bytes(a.value_bytes) as f64;
        struct Row {
            case: Case,
            rows_per_s: f64,
            mb_per_s: f64,
            cpu_s: f64,
            hwm_mib: f64,
            above_mib: f64,
        }
        let rows: Vec<Row> = results
            .cases
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(case, samples)| {
                let rows_per_s = median(samples.iter().map(|s| s.rows as f64 / s.seconds).collect());
                let hwm = median(samples.iter().map(|s| s.hwm_kib).collect());
                Row {
                    case: case.clone(),
                    rows_per_s,
                    mb_per_s: rows_per_s * rb / 1e6,
                    cpu_s: median(samples.iter().map(|s| s.cpu_s).collect()),
                    hwm_mib: mib(hwm),
                    above_mib: mib(hwm - results.baseline_kib(&case.driver)),
                }
            })
            .collect();
        let find = |driver: &str, page: i32, prefetch: Option<usize>| {
            rows.iter().find(|r| r.case.driver == driver && r.case.page_size == page && r.case.prefetch == prefetch)
        };
        if a.json {
            for (family, samples) in &results.baselines {
                let peak_rss_mib = lines::Num(mib(median(samples.iter().map(|s| s.hwm_kib).collect())));
                println!("{}", lines::to_line(&lines::Report::Baseline { driver: family, peak_rss_mib }));
            }
            for r in &rows {
                let line = lines::Report::Result {
                    driver: &r.case.driver,
                    page_size: r.case.page_size as u64,
                    prefetch: &r.case.prefetch_label(),
                    rows: a.rows,
                    value_bytes: a.value_bytes as u64,
                    runs: a.runs as u64,
                    rows_per_s: lines::Num(r.rows_per_s),
                    mb_per_s: lines::Num(r.mb_per_s),
                    client_cpu_s: lines::Num(r.cpu_s),
                    peak_rss_mib: lines::Num(r.hwm_mib),
                    above_baseline_mib: lines::Num(r.above_mib),
                    pinning: &b.pinning,
                };
                println!("{}", lines::to_line(&line));
            }
        } else {
            println!("\n{}", header(b));
            let base = |f: &str| mib(results.baseline_kib(f));
            println!(
                "baseline peak RSS (connect + one tiny query): cqlstream {:.1} MiB, scylla {:.1} MiB\n",
                base("cqlstream"),
                base("scylla")
            );
            println!(
                "| driver | page size | prefetch | rows/s | MB/s | client CPU s | peak RSS MiB | RSS above baseline MiB |"
            );
            println!("|---|---:|---:|---:|---:|---:|---:|---:|");
            for r in &rows {
                println!(
                    "| {} | {} | {} | {} | {:.1} | {:.2} | {:.1} | {:.1} |",
                    r.case.driver,
                    r.case.page_size,
                    r.case.prefetch_label(),
                    thousands(r.rows_per_s),
                    r.mb_per_s,
                    r.cpu_s,
                    r.hwm_mib,
                    r.above_mib
                );
            }
        }
        // Ratios cqlstream / scylla per page size.
        let ratio = |x: Option<&Row>, y: Option<&Row>, f: fn(&Row) -> f64| match (x, y) {
            (Some(x), Some(y)) if f(x) > 0.0 && f(y) > 0.0 => Some(f(x) / f(y)),
            _ => None,
        };
        let show = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}"));
        if !a.json {
            println!(
                "\nratios cqlstream / scylla (rows/s: above 1 = cqlstream faster; RSS and CPU: below 1 = \
                 cqlstream uses less)\n"
            );
            println!(
                "| page size | cqlstream best prefetch | best / scylla rows/s | prefetch 1 / scylla rows/s | \
                 prefetch 1 / scylla RSS above baseline | prefetch 1 / scylla client CPU | cqlstream-owned / scylla rows/s | \
                 prefetch 0 / scylla-pages rows/s |"
            );
            println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        }
        for &p in &a.page_sizes {
            let best = rows
                .iter()
                .filter(|r| r.case.driver == "cqlstream" && r.case.page_size == p)
                .max_by(|x, y| x.rows_per_s.total_cmp(&y.rows_per_s));
            let scylla = find("scylla", p, None);
            let best_ratio = ratio(best, scylla, |r| r.rows_per_s);
            let p1 = ratio(find("cqlstream", p, Some(1)), scylla, |r| r.rows_per_s);
            let p1_rss = ratio(find("cqlstream", p, Some(1)), scylla, |r| r.above_mib);
            let p1_cpu = ratio(find("cqlstream", p, Some(1)), scylla, |r| r.cpu_s);
            let owned = ratio(find("cqlstream-owned", p, Some(1)), scylla, |r| r.rows_per_s);
            let p0 = ratio(find("cqlstream", p, Some(0)), find("scylla-pages", p, Some(0)), |r| r.rows_per_s);
            let best_prefetch = best.map_or("-".to_string(), |r| r.case.prefetch_label());
            if a.json {
                let num = |v: Option<f64>| lines::Num(v.unwrap_or(f64::NAN));
                let line = lines::Report::Ratio {
                    page_size: p as u64,
                    best_prefetch: &best_prefetch,
                    best_over_scylla_rows_per_s: num(best_ratio),
                    prefetch1_over_scylla_rows_per_s: num(p1),
                    prefetch1_over_scylla_rss_above_baseline: num(p1_rss),
                    prefetch1_over_scylla_client_cpu: num(p1_cpu),
                    owned_over_scylla_rows_per_s: num(owned),
                    prefetch0_over_scylla_pages_rows_per_s: num(p0),
                };
                println!("{}", lines::to_line(&line));
            } else {
                println!(
                    "| {p} | {best_prefetch} | {} | {} | {} | {} | {} | {} |",
                    show(best_ratio),
                    show(p1),
                    show(p1_rss),
                    show(p1_cpu),
                    show(owned),
                    show(p0)
                );
            }
        }
    }

    fn memory(b: &mut Bench) {
        let results = collect(b);
        let a = &b.args;
        let slack = a.slack_mib * 1024.0 * 1024.0;
        let base_kib = |d: &str| results.baseline_kib(d);
        if !a.json {
            println!("\n{}", header(b));
            println!(
                "bound: peak RSS - baseline < (prefetch + 2) x page bytes + {} MiB slack; page bytes = bytes / pages \
                 as the stream counted them; peak RSS: the worst of {} run(s); max pages waiting: the most pages \
                 found in the read-ahead channel as the consumer took one\n",
                a.slack_mib, a.runs
            );
            println!(
                "| driver | page size | prefetch | rows | rows/s | pages | max pages waiting | page bytes | peak RSS MiB | \
                 baseline MiB | above baseline MiB | bound MiB | verdict |"
            );
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        }
        let mut failed = Vec::new();
        // The page size in bytes cqlstream measured, for the scylla reference lines.
        let mut page_bytes_by_size: HashMap<i32, f64> = HashMap::new();
        for (case, samples) in &results.cases {
            if let Some(s) = samples.iter().find(|s| s.pages.is_some_and(|p| p > 0) && s.bytes.is_some()) {
                page_bytes_by_size
                    .entry(case.page_size)
                    .or_insert(s.bytes.unwrap_or(0) as f64 / s.pages.unwrap_or(1) as f64);
            }
        }
        for (case, samples) in &results.cases {
            if samples.is_empty() {
                continue;
            }
            let worst = max(samples.iter().map(|s| s.hwm_kib)) * 1024.0;
            let base = base_kib(&case.driver) * 1024.0;
            let above = worst - base;
            let pages = samples[0].pages;
            let waiting = samples.iter().filter_map(|s| s.max_buffered).max();
            let rows_per_s = median(samples.iter().map(|s| s.rows as f64 / s.seconds).collect());
            let page_bytes = page_bytes_by_size.get(&case.page_size).copied().unwrap_or(f64::NAN);
            let checked = case.driver == "cqlstream";
            let bound = (case.prefetch.unwrap_or(1) as f64 + 2.0) * page_bytes + slack;
            let pass = above < bound;
            let verdict = match (checked, pass) {
                (false, _) => "info (not bounded by cqlstream's rule)",
                (true, true) => "PASS",
                (true, false) => "FAIL",
            };
            if checked && !pass {
                failed.push(format!(
                    "memory bound: {} page {} prefetch {}: {:.1} MiB above baseline, bound {:.1} MiB",
                    case.driver,
                    case.page_size,
                    case.prefetch_label(),
                    above / 1048576.0,
                    bound / 1048576.0
                ));
            }
            if a.json {
                let line = lines::Report::Memory {
                    driver: &case.driver,
                    page_size: case.page_size as u64,
                    prefetch: &case.prefetch_label(),
                    rows: samples[0].rows,
                    rows_per_s: lines::Num(rows_per_s),
                    pages,
                    max_pages_waiting: waiting,
                    page_bytes: lines::Num(page_bytes),
                    peak_rss_mib: lines::Num(worst / 1048576.0),
                    baseline_mib: lines::Num(base / 1048576.0),
                    above_baseline_mib: lines::Num(above / 1048576.0),
                    bound_mib: lines::Num(if checked { bound / 1048576.0 } else { f64::NAN }),
                    verdict: if checked { verdict } else { "info" },
                };
                println!("{}", lines::to_line(&line));
            } else {
                println!(
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {verdict} |",
                    case.driver,
                    case.page_size,
                    case.prefetch_label(),
                    thousands(samples[0].rows as f64),
                    thousands(rows_per_s),
                    pages.map_or("-".into(), |p| thousands(p as f64)),
                    waiting.map_or("-".into(), |w| w.to_string()),
                    thousands(page_bytes),
                    worst / 1048576.0,
                    base / 1048576.0,
                    above / 1048576.0,
                    if checked { format!("{:.1}", bound / 1048576.0) } else { "-".into() }
                );
            }
        }
        b.failures.extend(failed);
    }
}
