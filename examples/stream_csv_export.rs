//! Exporting a table to CSV with bounded memory: pages are streamed, formatted, and
//! handed to a writer thread over a bounded channel, so neither the table nor the file
//! is ever held in memory, and file IO never blocks the async runtime.
//!
//! ```text
//! cargo run --release --features testkit --example stream_csv_export [-- OUTPUT.csv]
//! ```
//!
//! It starts an embedded test node, loads 100,000 rows into `bench.rows`, and exports
//! `pk,ck,v` (the blob hex-encoded, `0x...` as cqlsh prints it) to `OUTPUT.csv`, or to a
//! temporary file that is removed afterwards. Then it reads the file back: the line
//! count must be the header plus one line per row, and every line must decode to a row
//! that checks, each row exactly once; otherwise it exits with an error.
//!
//! Memory: at most `prefetch + 1` pages on the driver's side, plus [`CHUNKS_QUEUED`]
//! formatted pages waiting for the writer.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use cqlstream::session::Session;
use cqlstream::testkit::TestNode;
use futures_util::StreamExt;
use tokio::sync::mpsc;

#[path = "support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ROWS: u64 = 100_000;
const VALUE_BYTES: usize = 100;
const PAGE_SIZE: i32 = 5_000;
/// Formatted pages waiting for the writer thread; the stream waits when it is full.
const CHUNKS_QUEUED: usize = 2;
const HEADER: &str = "pk,ck,v";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (path, temporary) = match std::env::args().nth(1) {
        Some(p) if p.starts_with('-') => {
            return Err(format!("usage: stream_csv_export [OUTPUT.csv]  (got `{p}`)").into());
        }
        Some(p) => (PathBuf::from(p), false),
        None => (std::env::temp_dir().join(format!("cqlstream_export_{}.csv", std::process::id())), true),
    };

    let node = TestNode::builder().start().await?;
    let session = Session::builder().contact_point(node.addr().to_string()).build().await?;
    demo::load(&session, ROWS, VALUE_BYTES, 256, |_| {}).await?;
    println!("loaded {ROWS} rows into bench.rows on {}", node.addr());

    let result = async {
        let (rows, bytes) = export(&session, &path).await?;
        println!("exported {rows} rows ({bytes} bytes) to {}", path.display());
        let lines = verify(&path)?;
        println!("read back {lines} lines: the header and {ROWS} rows, each exactly once, every row checked");
        Ok::<_, Error>(())
    }
    .await;
    if temporary {
        // Best effort: the file may not exist if the export failed early.
        let _ = std::fs::remove_file(&path);
    }
    result
}

/// Streams `bench.rows` into `path` as CSV; returns the rows and bytes written.
async fn export(session: &Session, path: &Path) -> Result<(u64, u64), Error> {
    let file = File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(CHUNKS_QUEUED);
    // Blocking file IO belongs on its own thread, not on the runtime's workers.
    let writer = std::thread::spawn(move || -> std::io::Result<u64> {
        let mut out = BufWriter::new(file);
        let mut bytes = 0;
        writeln!(out, "{HEADER}")?;
        while let Some(chunk) = rx.blocking_recv() {
            out.write_all(&chunk)?;
            bytes += chunk.len() as u64;
        }
        out.flush()?;
        out.get_ref().sync_all()?;
        Ok(bytes + HEADER.len() as u64 + 1)
    });

    let mut pages = session.stream(demo::SELECT, ()).page_size(PAGE_SIZE).pages();
    let mut rows = 0;
    while let Some(page) = pages.next().await {
        let page = page?;
        // One buffer per page, sized for it: `pk,ck,0x` + two hex digits per byte.
        let mut chunk = Vec::with_capacity(page.len() * (24 + 2 * VALUE_BYTES));
        for row in page.rows::<(i32, i32, &[u8])>()? {
            let (pk, ck, v) = row?;
            write!(chunk, "{pk},{ck},0x")?;
            push_hex(&mut chunk, v);
            chunk.push(b'\n');
            rows += 1;
        }
        // Waits while the writer is CHUNKS_QUEUED pages behind: backpressure on the scan.
        if tx.send(chunk).await.is_err() {
            break; // the writer failed; its error is reported below
        }
    }
    drop(tx);
    let bytes = writer.join().map_err(|_| "the writer thread panicked")??;
    Ok((rows, bytes))
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits = s.strip_prefix("0x")?.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    digits.chunks_exact(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect()
}

/// Reads the file back a line at a time; returns the number of lines.
fn verify(path: &Path) -> Result<u64, Error> {
    let mut lines = BufReader::new(File::open(path)?).lines();
    match lines.next().transpose()? {
        Some(h) if h == HEADER => {}
        other => return Err(format!("expected the header `{HEADER}`, found {other:?}").into()),
    }
    let mut seen = vec![false; ROWS as usize];
    let mut count = 1;
    for line in lines {
        let line = line?;
        count += 1;
        let bad = || format!("line {count}: `{line}` is not pk,ck,0xHEX");
        let mut fields = line.split(',');
        let (Some(pk), Some(ck), Some(v), None) = (fields.next(), fields.next(), fields.next(), fields.next()) else {
            return Err(bad().into());
        };
        let (Ok(pk), Ok(ck), Some(v)) = (pk.parse(), ck.parse(), parse_hex(v)) else {
            return Err(bad().into());
        };
        let i = demo::check_row(pk, ck, &v).map_err(|e| format!("line {count}: {e}"))?;
        let slot = seen.get_mut(i as usize).ok_or_else(|| format!("line {count}: row {i} was never loaded"))?;
        if std::mem::replace(slot, true) {
            return Err(format!("line {count}: row {i} appears twice").into());
        }
    }
    if count != ROWS + 1 {
        return Err(format!("{count} lines, expected {} (the header and {ROWS} rows)", ROWS + 1).into());
    }
    Ok(count)
}
