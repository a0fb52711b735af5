//! Scans `bench.rows` (the schema `testkit_server --demo-rows N` creates) with the
//! `scylla` crate and reports rows/s: how fast the test server serves a driver we did
//! not write. Every row is checked (v's first 8 bytes are the row's index).
//!
//! ```sh
//! cargo run --release --features testkit --example testkit_server -- --addr 127.0.0.1:9042 --demo-rows 1000000 &
//! cargo run --release --example scylla_scan -- --contact-point 127.0.0.1:9042 [--page-size 5000]
//! ```
//! It prints one JSON line: `{"rows":..,"pages":..,"seconds":..,"rows_per_s":..}`.

use std::time::Instant;

use futures_util::TryStreamExt;
use scylla::client::session_builder::SessionBuilder;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut contact = "127.0.0.1:9042".to_string();
    let mut page_size = 5000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--contact-point" => contact = args.next().ok_or("--contact-point needs HOST:PORT")?,
            "--page-size" => page_size = args.next().ok_or("--page-size needs a number")?.parse()?,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    let session = SessionBuilder::new().known_node(&contact).build().await?;
    let mut select = session.prepare("SELECT pk, ck, v FROM bench.rows").await?;
    select.set_page_size(page_size);
    let started = Instant::now();
    let mut rows = session.execute_iter(select, ()).await?.rows_stream::<(i32, i32, Vec<u8>)>()?;
    let mut n: u64 = 0;
    while let Some((pk, ck, v)) = rows.try_next().await? {
        let i = u64::from_be_bytes(v.get(..8).ok_or("v shorter than 8 bytes")?.try_into()?);
        if i != (pk as u64) * 100 + ck as u64 {
            return Err(format!("row ({pk}, {ck}) carries index {i}").into());
        }
        n += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let pages = n.div_ceil(u64::from(page_size.max(1) as u32));
    println!(r#"{{"rows":{n},"pages":{pages},"seconds":{secs:.3},"rows_per_s":{:.0}}}"#, n as f64 / secs);
    Ok(())
}
