//! An ETL job that survives being killed: it saves the stream's resume point to a
//! checkpoint file after each batch, and a restarted job continues from it, so every row
//! is processed exactly once however often the job dies.
//!
//! ```text
//! cargo run --release --features testkit --example stream_resumable_etl
//! ```
//!
//! The parent process starts an embedded test node (it must outlive the jobs), loads
//! 50,000 rows into `bench.rows`, and runs the job as a child process (this same
//! executable with `--child`) three times:
//!
//! 1. the job crashes on purpose (`std::process::exit`) mid-batch, after writing output
//!    that no checkpoint covers yet, the worst moment;
//! 2. the job runs slowly and the parent kills it (SIGKILL) once it has made progress;
//! 3. the job runs to the end.
//!
//! The job's output is a file with one processed row number per line. At the end the
//! parent checks that it holds each of the 50,000 rows exactly once; otherwise it exits
//! with an error. The files live in a temporary directory, removed on success.
//!
//! # Why exactly once
//!
//! A resume point says which rows the stream has yielded; the output file says which
//! rows were processed. The two must be committed together, so the checkpoint holds
//! both: the resume token and the output file's length at that moment. Per batch:
//!
//! 1. append the batch's rows to the output and flush it (and fsync, for power loss);
//! 2. then write the checkpoint (token + output length) to a temporary file and rename
//!    it over the old one (a rename is atomic: a reader sees the old or the new one).
//!
//! On start, the job truncates the output to the checkpoint's length, dropping rows
//! written after the last checkpoint, and resumes the stream from the checkpoint's token,
//! which yields exactly those rows again. A crash before step 2 completes leaves the old
//! checkpoint, whose length cuts the extra rows off; a crash after leaves the new one,
//! which the output fully covers. Writing the checkpoint *before* the output would lose
//! rows after a crash; keeping no length would write some rows twice.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use cqlstream::session::Session;
use cqlstream::stream::ResumePoint;
use cqlstream::testkit::TestNode;
use futures_util::StreamExt;

#[path = "support/demo.rs"]
mod demo;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ROWS: u64 = 50_000;
const VALUE_BYTES: usize = 100;
const PAGE_SIZE: i32 = 1_000;
/// Rows per checkpoint. Not a multiple of the page size: checkpoints fall mid-page, and
/// the resume point is exact to the row.
const BATCH: u64 = 700;
/// Where run 1 dies: mid-batch, mid-page.
const CRASH_AFTER: u64 = 12_345;
/// Run 1's exit code, so the parent can tell the planned crash from a failure.
const CRASH_EXIT: i32 = 42;
/// Run 2 sleeps this long after each batch, giving the parent time to kill it.
const SLOW_BATCH_DELAY_MS: u64 = 10;
/// Run 2 is killed once its checkpoint covers this many more rows than run 1's.
const KILL_AFTER_MORE_ROWS: u64 = 10_000;

const CHECKPOINT: &str = "checkpoint";
const OUTPUT: &str = "output";

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match args.first().map(String::as_str) {
        None => runtime.block_on(parent()),
        Some("--child") => runtime.block_on(job(JobArgs::parse(&args[1..])?)),
        Some(other) => Err(format!("unknown argument `{other}`; run with no arguments").into()),
    }
}

// ----- the parent: a test node, three runs of the job, the check ----------------------

async fn parent() -> Result<(), Error> {
    let node = TestNode::builder().start().await?;
    let session = Session::builder().contact_point(node.addr().to_string()).build().await?;
    demo::load(&session, ROWS, VALUE_BYTES, 256, |_| {}).await?;
    println!("parent: loaded {ROWS} rows into bench.rows on {}", node.addr());

    let dir = std::env::temp_dir().join(format!("cqlstream_etl_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let addr = node.addr().to_string();

    // Run 1: dies on its own, between writing output and checkpointing it.
    let status = wait(spawn_job(&addr, &dir, &["--crash-after", &CRASH_AFTER.to_string()])?).await?;
    if status.code() != Some(CRASH_EXIT) {
        return Err(format!("run 1 should have crashed with code {CRASH_EXIT}, it ended with {status}").into());
    }
    let written = count_lines(&dir.join(OUTPUT))?;
    let covered = Checkpoint::load(&dir)?.map_or(0, |c| c.rows);
    println!(
        "parent: run 1 crashed with {written} rows in the output, the checkpoint covers {covered}: \
         the other {} will be cut off and redone",
        written - covered
    );

    // Run 2: killed from outside once it has checkpointed enough.
    let mut child = spawn_job(&addr, &dir, &["--batch-delay-ms", &SLOW_BATCH_DELAY_MS.to_string()])?;
    let killed = loop {
        if let Some(status) = child.try_wait()? {
            break Err(status);
        }
        if Checkpoint::load(&dir)?.is_some_and(|c| c.rows >= covered + KILL_AFTER_MORE_ROWS) {
            child.kill()?;
            break Ok(wait(child).await?);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    match killed {
        Ok(status) => println!(
            "parent: killed run 2 ({status}) with {} rows in the output, the checkpoint covers {}",
            count_lines(&dir.join(OUTPUT))?,
            Checkpoint::load(&dir)?.map_or(0, |c| c.rows)
        ),
        Err(status) if status.success() => println!("parent: run 2 finished before it could be killed"),
        Err(status) => return Err(format!("run 2 failed: {status}").into()),
    }

    // Run 3: to the end.
    let status = wait(spawn_job(&addr, &dir, &[])?).await?;
    if !status.success() {
        return Err(format!("run 3 failed: {status}").into());
    }
    verify(&dir)?;
    std::fs::remove_dir_all(&dir)?;
    println!("parent: the output holds each of the {ROWS} rows exactly once across three runs");
    Ok(())
}

fn spawn_job(addr: &str, dir: &Path, extra: &[&str]) -> Result<Child, Error> {
    let exe = std::env::current_exe()?;
    let child = Command::new(exe).arg("--child").arg("--addr").arg(addr).arg("--dir").arg(dir).args(extra).spawn()?;
    Ok(child)
}

/// Waits for a child without blocking the runtime (the test node runs on it).
async fn wait(mut child: Child) -> Result<ExitStatus, Error> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn count_lines(path: &Path) -> Result<u64, Error> {
    Ok(std::fs::read(path)?.iter().filter(|&&b| b == b'\n').count() as u64)
}

/// The output holds each row exactly once, and the checkpoint says the job is done.
fn verify(dir: &Path) -> Result<(), Error> {
    let checkpoint = Checkpoint::load(dir)?.ok_or("no checkpoint after the last run")?;
    if !checkpoint.point.is_finished() {
        return Err("the last checkpoint is not at the end of the stream".into());
    }
    let output = std::fs::read_to_string(dir.join(OUTPUT))?;
    let mut seen = vec![false; ROWS as usize];
    let mut lines = 0;
    for line in output.lines() {
        lines += 1;
        let i: usize = line.parse().map_err(|_| format!("output line {lines}: `{line}` is not a row number"))?;
        let slot = seen.get_mut(i).ok_or_else(|| format!("output line {lines}: row {i} was never loaded"))?;
        if std::mem::replace(slot, true) {
            return Err(format!("row {i} was processed twice").into());
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(format!("row {i} was never processed ({lines} lines)").into());
    }
    Ok(())
}

// ----- the job: stream, process, checkpoint ------------------------------------------

#[derive(Debug)]
struct JobArgs {
    addr: String,
    dir: PathBuf,
    crash_after: Option<u64>,
    batch_delay: Duration,
}

impl JobArgs {
    fn parse(args: &[String]) -> Result<JobArgs, Error> {
        let (mut addr, mut dir, mut crash_after, mut batch_delay) = (None, None, None, Duration::ZERO);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse::<u64>().map_err(|_| format!("{flag}: `{value}` is not a number"));
            match flag.as_str() {
                "--addr" => addr = Some(value.clone()),
                "--dir" => dir = Some(PathBuf::from(value)),
                "--crash-after" => crash_after = Some(number()?),
                "--batch-delay-ms" => batch_delay = Duration::from_millis(number()?),
                other => return Err(format!("unknown job argument `{other}`").into()),
            }
        }
        Ok(JobArgs {
            addr: addr.ok_or("--child needs --addr")?,
            dir: dir.ok_or("--child needs --dir")?,
            crash_after,
            batch_delay,
        })
    }
}

/// What a checkpoint file holds: where the stream stands, and how much of the output
/// that covers.
struct Checkpoint {
    point: ResumePoint,
    /// Bytes of the output file the point covers.
    output_len: u64,
    /// Rows those bytes hold (for the parent's messages).
    rows: u64,
}

impl Checkpoint {
    fn load(dir: &Path) -> Result<Option<Checkpoint>, Error> {
        let text = match std::fs::read_to_string(dir.join(CHECKPOINT)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut fields = text.split_whitespace();
        let (Some(point), Some(output_len), Some(rows)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("checkpoint `{text}` is not `TOKEN LENGTH ROWS`").into());
        };
        Ok(Some(Checkpoint { point: point.parse()?, output_len: output_len.parse()?, rows: rows.parse()? }))
    }

    /// Replaces the checkpoint atomically: a new file, synced, renamed over the old one.
    fn save(&self, dir: &Path) -> Result<(), Error> {
        let tmp = dir.join(format!("{CHECKPOINT}.tmp"));
        let mut f = File::create(&tmp)?;
        writeln!(f, "{} {} {}", self.point, self.output_len, self.rows)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(CHECKPOINT))?;
        Ok(())
    }
}

/// The job: every row of `bench.rows` checked and its number appended to the output.
/// (File writes here are small and this process runs nothing else, so they are done
/// in place rather than on a blocking thread.)
async fn job(args: JobArgs) -> Result<(), Error> {
    let checkpoint = Checkpoint::load(&args.dir)?;
    let output = OpenOptions::new().create(true).write(true).truncate(false).open(args.dir.join(OUTPUT))?;
    let (mut output_len, mut done) = checkpoint.as_ref().map_or((0, 0), |c| (c.output_len, c.rows));
    // Drop what was written after the last checkpoint: the resumed stream yields it again.
    output.set_len(output_len)?;
    let mut output = BufWriter::new(output);
    output.seek(SeekFrom::End(0))?;

    let session = Session::builder().contact_point(&args.addr).build().await?;
    let mut rows = session.stream(demo::SELECT, ()).page_size(PAGE_SIZE).typed::<(i32, i32, Vec<u8>)>();
    match checkpoint {
        Some(c) if c.point.is_finished() => {
            println!("job: the checkpoint says everything was processed");
            return Ok(());
        }
        Some(c) => {
            println!(
                "job: resuming after {} rows (page {}, row {} of it)",
                c.rows,
                c.point.page(),
                c.point.rows_consumed()
            );
            rows = rows.resume_from(c.point);
        }
        None => println!("job: starting from the beginning"),
    }

    let mut processed = 0u64;
    let mut in_batch = 0u64;
    while let Some(row) = rows.next().await {
        let (pk, ck, v) = row?;
        let i = demo::check_row(pk, ck, &v)?;
        let line = format!("{i}\n");
        output.write_all(line.as_bytes())?;
        output_len += line.len() as u64;
        processed += 1;
        in_batch += 1;
        if args.crash_after == Some(processed) {
            // The worst moment: output written, no checkpoint for it. `exit` runs no
            // destructors, as in a crash; flush first so the uncovered rows are really
            // in the file.
            output.flush()?;
            println!("job: crashing after {processed} rows");
            std::process::exit(CRASH_EXIT);
        }
        if in_batch == BATCH {
            done += in_batch;
            in_batch = 0;
            commit(&mut output, &args.dir, rows.resume_point(), output_len, done)?;
            if !args.batch_delay.is_zero() {
                tokio::time::sleep(args.batch_delay).await;
            }
        }
    }
    done += in_batch;
    commit(&mut output, &args.dir, rows.resume_point(), output_len, done)?;
    println!("job: finished, {processed} rows processed in this run, {done} in all");
    Ok(())
}

/// The per-batch commit: output first, then the checkpoint that covers it.
fn commit(
    output: &mut BufWriter<File>,
    dir: &Path,
    point: ResumePoint,
    output_len: u64,
    rows: u64,
) -> Result<(), Error> {
    output.flush()?;
    output.get_ref().sync_data()?;
    Checkpoint { point, output_len, rows }.save(dir)
}
