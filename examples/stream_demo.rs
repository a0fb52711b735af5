//! The streaming demo: load a million rows through the driver, stream them back with
//! bounded memory, and check every one.
//!
//! ```text
//! cargo run --release --features testkit --example stream_demo [-- FLAGS]
//! ```
//!
//! With no flags it starts an embedded test node (in this process), loads 1,000,000
//! rows into `bench.rows (pk int, ck int, v blob, PRIMARY KEY (pk, ck))` with prepared
//! INSERTs (256 in flight), then scans the table with `session.stream(demo::SELECT, ())`.
//! Rows are read borrowed from each page (`page.rows::<(i32, i32, &[u8])>()`, no copy),
//! every row's key and value are checked (`testkit::demo::check_row`), and every row
//! `0..N` must arrive exactly once. A progress bar shows rows/s, pages and the process's
//! resident memory; the summary gives rows, pages, bytes, time, rows/s, MB/s and the
//! peak RSS.
//!
//! With `--contact-point HOST:PORT` it talks to a running cluster instead (for example
//! `cargo run --release --features testkit --example testkit_server -- --addr
//! 127.0.0.1:19042`). It then loads only with `--load`; without it, it streams whatever
//! `bench.rows` holds, and the check becomes "every row is valid, none arrives twice".
//!
//! The peak RSS is measured while streaming (on Linux the loader's peak is reset first
//! through `/proc/self/clear_refs`). The embedded node keeps its data in this process's
//! memory, so the peak then includes the dataset; against a separate server it is the
//! driver's own footprint.
//!
//! `--json` prints the summary as one JSON line for scripts.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cqlstream::protocol::response::ErrorKind;
use cqlstream::protocol::{Compression, Version};
use cqlstream::session::Session;
use cqlstream::testkit::TestNode;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

#[path = "support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Inserts in flight while loading.
const LOAD_CONCURRENCY: usize = 256;

/// How often the stream's progress line re-reads the process's memory.
const RSS_EVERY: Duration = Duration::from_millis(100);

const USAGE: &str = "\
usage: stream_demo [--contact-point HOST:PORT] [--load] [--rows N] [--value-bytes B]
                   [--page-size N] [--prefetch N] [--protocol 4|5] [--compression lz4|none] [--json]

  --contact-point HOST:PORT  use a running cluster instead of an embedded test node
  --load                     with --contact-point: load the rows first (the embedded node is always loaded)
  --rows N                   rows to load (default 1000000)
  --value-bytes B            size of each row's blob, at least 8 (default 100)
  --page-size N              rows per page (default 5000)
  --prefetch N               pages fetched ahead of the consumer, 0 = on demand (default 2)
  --protocol 4|5             pin the protocol version (default: negotiate the highest)
  --compression lz4|none     compress frames (default lz4)
  --json                     no progress bars; print the summary as one JSON line
  -h, --help                 this text

Exit status: 0 when every row checked, 1 on a driver error or a bad row, 2 on bad flags.";

#[derive(Debug, Clone, PartialEq)]
struct Args {
    contact_point: Option<String>,
    load: bool,
    rows: u64,
    value_bytes: usize,
    page_size: i32,
    prefetch: usize,
    protocol: Option<Version>,
    compression: Compression,
    json: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            contact_point: None,
            load: false,
            rows: 1_000_000,
            value_bytes: 100,
            page_size: 5000,
            prefetch: cqlstream::stream::DEFAULT_PREFETCH,
            protocol: None,
            compression: Compression::Lz4,
            json: false,
        }
    }
}

impl Args {
    /// Whether rows `0..rows` are loaded by this run, so each must be read back once.
    fn loads(&self) -> bool {
        self.contact_point.is_none() || self.load
    }
}

/// What parsing the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Run(Args),
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut out = Args::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        let mut value = || inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--contact-point" => {
                let v = value()?;
                // Resolution happens at connect; here only the shape is checked.
                match v.rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                    _ => return Err(format!("--contact-point: `{v}` is not HOST:PORT")),
                }
                out.contact_point = Some(v);
            }
            "--load" | "--json" if inline.is_some() => return Err(format!("{flag} takes no value")),
            "--load" => out.load = true,
            "--json" => out.json = true,
            "--rows" => {
                let v = value()?;
                out.rows = match v.parse::<u64>() {
                    // pk = i / 100 must fit an int.
                    Ok(n) if n <= i32::MAX as u64 * demo::ROWS_PER_PARTITION => n,
                    Ok(_) => return Err(format!("--rows: {v} is too many (pk = i / 100 must fit an int)")),
                    Err(_) => return Err(format!("--rows: `{v}` is not a row count")),
                };
            }
            "--value-bytes" => {
                let v = value()?;
                out.value_bytes = match v.parse::<usize>() {
                    Ok(b) if (demo::MIN_VALUE_BYTES..=16 << 20).contains(&b) => b,
                    _ => return Err(format!("--value-bytes: `{v}` is not a size from 8 to 16777216")),
                };
            }
            "--page-size" => {
                let v = value()?;
                out.page_size = match v.parse::<i32>() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("--page-size: `{v}` is not a positive row count")),
                };
            }
            "--prefetch" => {
                let v = value()?;
                out.prefetch = match v.parse::<usize>() {
                    Ok(n) if n <= 1024 => n,
                    _ => return Err(format!("--prefetch: `{v}` is not a page count from 0 to 1024")),
                };
            }
            "--protocol" => {
                let v = value()?;
                out.protocol = Some(match v.as_str() {
                    "4" | "v4" => Version::V4,
                    "5" | "v5" => Version::V5,
                    _ => return Err(format!("--protocol: `{v}` is not 4 or 5")),
                });
            }
            "--compression" => {
                let v = value()?;
                out.compression = match v.as_str() {
                    "lz4" => Compression::Lz4,
                    "none" => Compression::None,
                    _ => return Err(format!("--compression: `{v}` is not lz4 or none")),
                };
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if out.load && out.contact_point.is_none() {
        return Err("--load needs --contact-point (the embedded node is always loaded)".into());
    }
    Ok(Command::Run(out))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("stream_demo: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(summary) if args.json => {
            println!("{}", summary.json());
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            println!("{}", summary.text());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stream_demo: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<Summary, Error> {
    // The node must outlive the session: it is dropped at the end of `run`.
    let (node, contact_point) = match &args.contact_point {
        Some(cp) => (None, cp.clone()),
        None => {
            let node = TestNode::builder().max_protocol(Version::V5).start().await?;
            let addr = node.addr().to_string();
            (Some(node), addr)
        }
    };
    let mut builder = Session::builder().contact_point(&contact_point).compression(args.compression);
    if let Some(v) = args.protocol {
        builder = builder.protocol(v);
    }
    let session = builder.build().await.map_err(|e| format!("connecting to {contact_point}: {e}"))?;
    if !args.json {
        let whose = if node.is_some() { "embedded test node" } else { "node" };
        eprintln!("connected to {whose} {}", session.node());
    }

    let mut peak_includes_load = false;
    if args.loads() {
        load(&session, args).await?;
        // The peak to report is the stream's: forget the loader's (best effort, Linux).
        peak_includes_load = !Memory::reset_peak();
    }
    let scan = scan(&session, args).await?;
    Ok(Summary { scan, memory: Memory::read(), embedded: node.is_some(), peak_includes_load })
}

/// Loads rows `0..args.rows` with a progress bar.
async fn load(session: &Session, args: &Args) -> Result<(), Error> {
    let bar = if args.json { ProgressBar::hidden() } else { ProgressBar::new(args.rows) };
    bar.set_style(
        ProgressStyle::with_template(
            "loading   [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows {per_sec:0}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    demo::load(session, args.rows, args.value_bytes, LOAD_CONCURRENCY, |written| bar.set_position(written))
        .await
        .map_err(|e| format!("loading bench.rows: {e}"))?;
    bar.finish_and_clear();
    if !args.json {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "loaded {} rows of {} bytes in {secs:.2} s ({:.0} rows/s)",
            args.rows,
            args.value_bytes,
            args.rows as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

/// What the scan saw.
#[derive(Debug, Clone, PartialEq)]
struct Scan {
    rows: u64,
    pages: u64,
    bytes: u64,
    seconds: f64,
    /// Rows `0..n` were loaded by this run and each was seen exactly once.
    exactly_once_of: Option<u64>,
    /// Rows seen that this run did not load (a table loaded earlier with more rows).
    extra: u64,
}

/// Streams `bench.rows`, checking every row.
async fn scan(session: &Session, args: &Args) -> Result<Scan, Error> {
    let expected = args.loads().then_some(args.rows);
    let template = match expected {
        Some(_) => "streaming [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} rows {per_sec:0} {msg}",
        None => "streaming [{elapsed_precise}] {human_pos} rows {per_sec:0} {msg}",
    };
    let bar = match (args.json, expected) {
        (true, _) => ProgressBar::hidden(),
        (false, Some(n)) => ProgressBar::new(n),
        (false, None) => ProgressBar::no_length(),
    };
    bar.set_style(ProgressStyle::with_template(template)?.progress_chars("=> "));
    let mut seen = Seen::with_rows(expected.unwrap_or(0));
    let (mut rss, mut rss_read) = (Memory::read().rss_text(), Instant::now());

    let started = Instant::now();
    let mut pages = session.stream(demo::SELECT, ()).page_size(args.page_size).prefetch(args.prefetch).pages();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| match e.server_kind() {
            // Most likely `bench` does not exist on the cluster we were pointed at.
            Some(ErrorKind::Invalid) if expected.is_none() => {
                format!("{e} (to create and fill bench.rows, add --load, or start testkit_server with --demo-rows N)")
            }
            _ => e.to_string(),
        })?;
        // Borrowed rows: `v` is a slice of the page's buffer, nothing is copied.
        for row in page.rows::<(i32, i32, &[u8])>()? {
            let (pk, ck, v) = row?;
            let i = demo::check_row(pk, ck, v)?;
            if !seen.insert(i) {
                return Err(format!("row {i} ({pk}, {ck}) arrived twice").into());
            }
        }
        bar.inc(page.len() as u64);
        if rss_read.elapsed() >= RSS_EVERY {
            (rss, rss_read) = (Memory::read().rss_text(), Instant::now());
        }
        if !args.json {
            bar.set_message(format!("| pages {} | RSS {rss}", pages.progress().pages));
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let progress = pages.progress();
    let mut extra = 0;
    if let Some(n) = expected {
        if let Some(missing) = seen.first_missing_below(n) {
            return Err(format!("row {missing} of 0..{n} never arrived ({} rows read)", progress.rows).into());
        }
        // Every row of 0..n once, no duplicates: what is left came from an earlier load.
        extra = progress.rows - n;
    }
    Ok(Scan {
        rows: progress.rows,
        pages: progress.pages,
        bytes: progress.bytes,
        seconds,
        exactly_once_of: expected,
        extra,
    })
}

/// Which row numbers have been seen: one bit each, grown on demand (the demo's row
/// numbers are dense, `0..N`).
#[derive(Debug, Default)]
struct Seen {
    words: Vec<u64>,
}

impl Seen {
    fn with_rows(rows: u64) -> Seen {
        Seen { words: vec![0; rows.div_ceil(64) as usize] }
    }

    /// Marks row `i`; false if it was marked already.
    fn insert(&mut self, i: u64) -> bool {
        let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let fresh = self.words[word] & bit == 0;
        self.words[word] |= bit;
        fresh
    }

    /// The first row below `n` not marked.
    fn first_missing_below(&self, n: u64) -> Option<u64> {
        (0..n.div_ceil(64)).find_map(|w| {
            let word = self.words.get(w as usize).copied().unwrap_or(0);
            // Bits past `n` in the last word count as seen.
            let valid = if (w + 1) * 64 <= n { u64::MAX } else { (1u64 << (n % 64)) - 1 };
            let missing = !word & valid;
            (missing != 0).then(|| w * 64 + u64::from(missing.trailing_zeros()))
        })
    }
}

/// The process's resident memory, from `/proc/self/status` (Linux; unknown elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Memory {
    /// `VmRSS`: resident now.
    rss: Option<u64>,
    /// `VmHWM`: the peak resident size so far.
    peak: Option<u64>,
}

impl Memory {
    fn read() -> Memory {
        std::fs::read_to_string("/proc/self/status").map(|s| Memory::parse(&s)).unwrap_or_default()
    }

    fn parse(status: &str) -> Memory {
        // Lines look like `VmRSS:\t  123456 kB`.
        let kb = |key: &str| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(key)?.strip_prefix(':')?;
                let n = rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
                Some(n * 1024)
            })
        };
        Memory { rss: kb("VmRSS"), peak: kb("VmHWM") }
    }

    /// Resets `VmHWM` to the current RSS (Linux 4.0+); false if it could not.
    fn reset_peak() -> bool {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }

    fn rss_text(&self) -> String {
        self.rss.map_or_else(|| "n/a".into(), mb)
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    scan: Scan,
    memory: Memory,
    embedded: bool,
    /// The peak could not be reset after loading, so it covers the load too.
    peak_includes_load: bool,
}

impl Summary {
    fn rows_per_s(&self) -> f64 {
        self.scan.rows as f64 / self.scan.seconds.max(1e-9)
    }

    fn text(&self) -> String {
        let s = &self.scan;
        let mut out = format!(
            "streamed {} rows in {} pages ({}) in {:.2} s: {:.0} rows/s, {:.1} MB/s\n",
            s.rows,
            s.pages,
            mb(s.bytes),
            s.seconds,
            self.rows_per_s(),
            s.bytes as f64 / 1e6 / s.seconds.max(1e-9)
        );
        match s.exactly_once_of {
            Some(n) if s.extra > 0 => out.push_str(&format!(
                "every row checked; each of rows 0..{n} exactly once, plus {} rows from an earlier load, no duplicates\n",
                s.extra
            )),
            Some(n) => out.push_str(&format!("every row checked; each of rows 0..{n} exactly once\n")),
            None => out.push_str("every row checked, no duplicates\n"),
        }
        out.push_str(&format!("peak RSS {}", self.memory.peak.map_or_else(|| "n/a".into(), mb)));
        out.push_str(if self.peak_includes_load { " while loading and streaming" } else { " while streaming" });
        if self.embedded {
            out.push_str(" (includes the embedded test node and its dataset, held in this process)");
        }
        out
    }

    /// One JSON line; every value is a number (or `null`), so no escaping is needed.
    fn json(&self) -> String {
        let s = &self.scan;
        let peak = self.memory.peak.map_or_else(|| "null".to_string(), |b| b.to_string());
        format!(
            r#"{{"rows":{},"pages":{},"bytes":{},"seconds":{:.3},"rows_per_s":{:.1},"peak_rss_bytes":{peak}}}"#,
            s.rows,
            s.pages,
            s.bytes,
            s.seconds,
            self.rows_per_s()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(parse(&[]), Ok(Command::Run(Args::default())));
        assert_eq!(parse(&["--rows", "5", "--help"]), Ok(Command::Help));
        let Ok(Command::Run(a)) = parse(&[
            "--contact-point",
            "db.example:19042",
            "--load",
            "--rows=200000",
            "--value-bytes",
            "8",
            "--page-size",
            "100",
            "--prefetch",
            "0",
            "--protocol",
            "4",
            "--compression",
            "none",
            "--json",
        ]) else {
            panic!("did not parse")
        };
        assert_eq!(a.contact_point.as_deref(), Some("db.example:19042"));
        assert!(a.load && a.json && a.loads());
        assert_eq!((a.rows, a.value_bytes, a.page_size, a.prefetch), (200_000, 8, 100, 0));
        assert_eq!((a.protocol, a.compression), (Some(Version::V4), Compression::None));
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        for bad in [
            &["--rows"][..],
            &["--rows", "-1"],
            &["--rows", "1e6"],
            &["--rows", "999999999999999"],
            &["--value-bytes", "7"],
            &["--page-size", "0"],
            &["--prefetch", "x"],
            &["--protocol", "3"],
            &["--compression", "snappy"],
            &["--contact-point", "localhost"],
            &["--contact-point", ":9042"],
            &["--load"],
            &["--json=yes"],
            &["--bogus"],
            &["stray"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn seen_finds_duplicates_and_gaps() {
        let mut seen = Seen::with_rows(130);
        assert_eq!(seen.first_missing_below(130), Some(0));
        for i in 0..130 {
            assert!(seen.insert(i));
        }
        assert!(!seen.insert(64));
        assert_eq!(seen.first_missing_below(130), None);
        assert!(seen.insert(1000), "grows");
        assert_eq!(seen.first_missing_below(131), Some(130));
        assert_eq!(Seen::default().first_missing_below(0), None);
    }

    #[test]
    fn memory_parses_proc_status() {
        let m = Memory::parse("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n");
        assert_eq!(m, Memory { rss: Some(1024 * 1024), peak: Some(2048 * 1024) });
        assert_eq!(Memory::parse("nothing"), Memory::default());
    }

    #[test]
    fn json_is_one_line_of_numbers() {
        let summary = Summary {
            scan: Scan { rows: 10, pages: 2, bytes: 1000, seconds: 0.5, exactly_once_of: Some(10), extra: 0 },
            memory: Memory { rss: None, peak: Some(4096) },
            embedded: true,
            peak_includes_load: false,
        };
        assert_eq!(
            summary.json(),
            r#"{"rows":10,"pages":2,"bytes":1000,"seconds":0.500,"rows_per_s":20.0,"peak_rss_bytes":4096}"#
        );
        assert!(summary.text().contains("embedded"));
        let unknown = Summary { memory: Memory::default(), ..summary };
        assert!(unknown.json().ends_with(r#""peak_rss_bytes":null}"#));
    }
}
