//! The demo dataset for the examples and benchmarks: everything of
//! [`cqlstream::testkit::demo`] (schema, values, the row check), plus [`load`], which
//! writes the rows through the driver.
//!
//! The loader lives here, not in the testkit, because the testkit uses the protocol,
//! types and values only, never the driver. Each example or benchmark that needs it
//! includes this file as its own `demo` module:
//!
//! ```ignore
//! #[path = "support/demo.rs"]
//! mod demo;
//! ```
//!
//! Owns the loader; the dataset itself is the testkit's.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::BytesMut;
use cqlstream::session::Session;
pub(crate) use cqlstream::testkit::demo::*;
use tokio::task::JoinSet;

/// Why loading failed: the driver's error, or a loader task that panicked.
pub(crate) type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// Creates the keyspace and table if missing, then writes rows `0..rows` with values of
/// `value_bytes` bytes through `session`: a prepared INSERT, at most `concurrency`
/// in flight. `progress` is called now and then with the rows written so far.
pub(crate) async fn load(
    session: &Session,
    rows: u64,
    value_bytes: usize,
    concurrency: usize,
    progress: impl Fn(u64),
) -> Result<(), LoadError> {
    session.query(CREATE_KEYSPACE, ()).await?;
    session.query(CREATE_TABLE, ()).await?;
    let insert = session.prepare(INSERT).await?;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (session, insert, next, done) = (session.clone(), insert.clone(), next.clone(), done.clone());
        workers.spawn(async move {
            let mut buf = BytesMut::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= rows {
                    return Ok::<_, cqlstream::Error>(());
                }
                let (pk, ck) = key(i);
                buf.clear();
                write_value(i, value_bytes, &mut buf);
                session.execute(&insert, (pk, ck, &buf[..])).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut ticker = tokio::time::interval(std::time::Duration::from_millis(200));
    loop {
        tokio::select! {
            joined = workers.join_next() => match joined {
                None => break,
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => return Err(e.into()),
                Some(Err(e)) => return Err(format!("a loader task failed: {e}").into()),
            },
            _ = ticker.tick() => progress(done.load(Ordering::Relaxed)),
        }
    }
    progress(done.load(Ordering::Relaxed));
    Ok(())
}
