//! The end-to-end benchmark binary: one workload, one driver, against a running server
//! (usually `testkit_server`). Every value read is checked.
//!
//! ```sh
//! cargo run --release --features testkit --example testkit_server -- --addr 127.0.0.1:9042 &
//! cargo run --release --features testkit --example bench -- --contact-point 127.0.0.1:9042 --driver cqlstream point [--json]
//! ```
//!
//! Workloads (so far): `point`: `--requests` (200,000) prepared `SELECT v FROM bench.kv
//! WHERE k = ?` at `--concurrency` (256) on one connection; reports requests/s and
//! p50/p99/p999 latency. `--setup` creates and fills `bench.kv` first. The other
//! workloads of issue 6 (scan, insert, raw) come with the performance work.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

const KEYS: i32 = 10_000;

#[derive(Debug, Clone)]
struct Args {
    contact: String,
    driver: String,
    workload: String,
    requests: usize,
    concurrency: usize,
    setup: bool,
    json: bool,
}

fn parse_args() -> Result<Args, Error> {
    let mut a = Args {
        contact: "127.0.0.1:9042".into(),
        driver: "cqlstream".into(),
        workload: String::new(),
        requests: 200_000,
        concurrency: 256,
        setup: false,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let mut v = || it.next().ok_or_else(|| format!("{f} needs a value"));
        match f.as_str() {
            "--contact-point" => a.contact = v()?,
            "--driver" => a.driver = v()?,
            "--requests" => a.requests = v()?.parse()?,
            "--concurrency" => a.concurrency = v()?.parse()?,
            "--setup" => a.setup = true,
            "--json" => a.json = true,
            w if !w.starts_with('-') => a.workload = w.to_string(),
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    if a.workload != "point" {
        return Err(format!("unknown workload {:?}; available: point", a.workload).into());
    }
    Ok(a)
}

fn value_of(k: i32) -> Vec<u8> {
    let mut v = vec![0u8; 100];
    v[..8].copy_from_slice(&(k as u64).to_be_bytes());
    v
}

struct Report {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

fn print(args: &Args, r: &mut Report) {
    r.latencies.sort_unstable();
    let pct = |p: f64| r.latencies[((r.latencies.len() as f64 * p) as usize).min(r.latencies.len() - 1)].as_micros();
    let rps = r.requests as f64 / r.elapsed.as_secs_f64();
    if args.json {
        println!(
            r#"{{"driver":"{}","workload":"{}","requests":{},"seconds":{:.3},"requests_per_s":{:.0},"p50_us":{},"p99_us":{},"p999_us":{}}}"#,
            args.driver,
            args.workload,
            r.requests,
            r.elapsed.as_secs_f64(),
            rps,
            pct(0.5),
            pct(0.99),
            pct(0.999)
        );
    } else {
        println!(
            "{} {}: {} requests in {:.2?}: {:.0} req/s, p50 {} µs, p99 {} µs, p999 {} µs",
            args.driver,
            args.workload,
            r.requests,
            r.elapsed,
            rps,
            pct(0.5),
            pct(0.99),
            pct(0.999)
        );
    }
}

/// Runs `requests` calls of `op(key)` with `concurrency` in flight; returns the timings.
async fn drive<F, Fut>(requests: usize, concurrency: usize, op: F) -> Result<Report, Error>
where
    F: Fn(i32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), Error>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let op = Arc::new(op);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (next, op) = (next.clone(), op.clone());
        workers.spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return Ok::<_, Error>(lat);
                }
                let t = Instant::now();
                op((i as i32).wrapping_mul(7919).rem_euclid(KEYS)).await?;
                lat.push(t.elapsed());
            }
        });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(r) = workers.join_next().await {
        latencies.extend(r??);
    }
    Ok(Report { requests, elapsed: started.elapsed(), latencies })
}

async fn cqlstream_point(args: &Args) -> Result<Report, Error> {
    use cqlstream::session::Session;
    let s = Session::builder().contact_point(args.contact.clone()).pool_size(1).build().await?;
    if args.setup {
        s.query("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", ()).await?;
        s.query("CREATE TABLE IF NOT EXISTS bench.kv (k int PRIMARY KEY, v blob)", ()).await?;
        let ins = s.prepare("INSERT INTO bench.kv (k, v) VALUES (?, ?)").await?;
        let s2 = s.clone();
        drive(KEYS as usize, 256, move |k| {
            let (s, ins) = (s2.clone(), ins.clone());
            async move {
                s.execute(&ins, (k, value_of(k))).await?;
                Ok(())
            }
        })
        .await?;
    }
    let select = s.prepare("SELECT v FROM bench.kv WHERE k = ?").await?;
    drive(args.requests, args.concurrency, move |k| {
        let (s, select) = (s.clone(), select.clone());
        async move {
            let r = s.execute(&select, (k,)).await?;
            let (v,): (&[u8],) = r.rows_typed()?.next().ok_or("no row")??;
            if v.get(..8) != Some(&(k as u64).to_be_bytes()[..]) {
                return Err(format!("wrong value for key {k}").into());
            }
            Ok(())
        }
    })
    .await
}

async fn scylla_point(args: &Args) -> Result<Report, Error> {
    use scylla::client::session_builder::SessionBuilder;
    let s = Arc::new(SessionBuilder::new().known_node(&args.contact).build().await?);
    let select = s.prepare("SELECT v FROM bench.kv WHERE k = ?").await?;
    drive(args.requests, args.concurrency, move |k| {
        let (s, select) = (s.clone(), select.clone());
        async move {
            let r = s.execute_unpaged(&select, (k,)).await?.into_rows_result()?;
            let (v,): (Vec<u8>,) = r.first_row()?;
            if v.get(..8) != Some(&(k as u64).to_be_bytes()[..]) {
                return Err(format!("wrong value for key {k}").into());
            }
            Ok(())
        }
    })
    .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let mut report = match args.driver.as_str() {
        "cqlstream" => cqlstream_point(&args).await?,
        "scylla" => scylla_point(&args).await?,
        other => return Err(format!("unknown driver {other}; use cqlstream or scylla").into()),
    };
    print(&args, &mut report);
    Ok(())
}
