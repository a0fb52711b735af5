//! A stream over a fake page source: no session, no connection, no server. It checks
//! that the stream settles its page requests once (statement > stream > session), hands
//! each page's paging state to the next request and nothing else, and passes the
//! stream's retry policy and deadline on to the source.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use super::producer::Gauges;
use super::source::{Fetched, PageRequest, PageSource, Retries, StatementSettings};
use super::{PageStream, RetryPolicy, StreamConfig};
use crate::error::Error;
use crate::protocol::ColumnType;
use crate::protocol::response::{ColumnSpec, RowsMetadata, RowsWriter};
use crate::types::RowsPage;

/// `pages` pages of `rows` rows each (an int column counting from 0); page `i` starts at
/// paging state `[i]`. Records every request and the retry policy it came with.
struct Fake {
    pages: u8,
    rows: i32,
    seen: Mutex<Vec<(PageRequest, RetryPolicy, bool)>>,
}

impl PageSource for Fake {
    fn text(&self) -> &str {
        "SELECT n FROM ks.t"
    }

    async fn fetch(&self, request: &PageRequest, retries: &Retries) -> Result<Fetched, Error> {
        let seen = (request.clone(), retries.policy.clone(), retries.deadline.is_some());
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).push(seen);
        let page = request.paging_state.as_ref().map_or(0, |s| s[0]);
        let columns = vec![ColumnSpec::new("ks", "t", "n", ColumnType::Int)];
        let mut w = RowsWriter::new(1);
        for r in 0..self.rows {
            let n = (i32::from(page) * self.rows + r).to_be_bytes();
            w.push_row([Some(&n[..])])?;
        }
        let rows = RowsPage::new(w.finish(RowsMetadata::new(columns))?)?;
        let next = page + 1;
        Ok(Fetched {
            rows: Some(rows),
            paging_state: (next < self.pages).then(|| Bytes::from(vec![next])),
            node: SocketAddr::from(([127, 0, 0, 1], 9042)),
            latency: Duration::ZERO,
            warnings: Vec::new(),
            retries: 0,
            kind: "Rows",
        })
    }
}

fn settings(page_size: Option<i32>, timeout: Option<Duration>) -> StatementSettings {
    StatementSettings {
        page_size,
        timeout,
        paging_state: None,
        returns_rows: true,
        default_page_size: 5000,
        default_timeout: Duration::from_secs(12),
    }
}

/// Streams everything of `fake` and returns the rows read and the requests sent.
async fn run(
    fake: Arc<Fake>,
    statement: StatementSettings,
    session: StreamConfig,
    stream: impl FnOnce(PageStream) -> PageStream,
) -> (Vec<i32>, Vec<(PageRequest, RetryPolicy, bool)>) {
    let gauges = Arc::new(Gauges::default());
    let mut pages = stream(PageStream::new(fake.clone(), statement, session, gauges.clone(), None));
    let mut rows = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("a page");
        for row in page.rows::<(i32,)>().expect("ints") {
            rows.push(row.expect("an int").0);
        }
    }
    drop(pages);
    tokio::task::yield_now().await;
    assert_eq!(gauges.snapshot().producers, 0, "the read-ahead ended with the stream");
    let seen = std::mem::take(&mut *fake.seen.lock().unwrap_or_else(|e| e.into_inner()));
    (rows, seen)
}

fn state(i: u8) -> Option<Bytes> {
    Some(Bytes::from(vec![i]))
}

#[tokio::test]
async fn requests_are_settled_once_and_only_the_paging_state_moves() {
    for prefetch in [0, 1, 2] {
        let fake = Arc::new(Fake { pages: 4, rows: 3, seen: Mutex::default() });
        let session = StreamConfig::new().page_size(50).first_page_timeout(Duration::from_secs(1));
        let policy = RetryPolicy::new().max_retries(7);
        let (rows, seen) = run(fake, settings(None, None), session, |s| {
            s.prefetch(prefetch).page_size(10).page_timeout(Duration::from_secs(2)).retry(policy.clone())
        })
        .await;
        assert_eq!(rows, (0..12).collect::<Vec<_>>(), "prefetch {prefetch}");
        let requests: Vec<_> = seen.iter().map(|(r, _, _)| r.clone()).collect();
        // The stream's page size over the session's; the session's stream config's first
        // page timeout, the stream's own for the rest.
        let expected = [
            PageRequest { page_size: 10, paging_state: None, timeout: Duration::from_secs(1) },
            PageRequest { page_size: 10, paging_state: state(1), timeout: Duration::from_secs(2) },
            PageRequest { page_size: 10, paging_state: state(2), timeout: Duration::from_secs(2) },
            PageRequest { page_size: 10, paging_state: state(3), timeout: Duration::from_secs(2) },
        ];
        assert_eq!(requests, expected, "prefetch {prefetch}");
        assert!(seen.iter().all(|(_, p, deadline)| *p == policy && !deadline), "prefetch {prefetch}");
    }
}

#[tokio::test]
async fn the_statement_wins_then_the_stream_then_the_session() {
    let fake = Arc::new(Fake { pages: 2, rows: 1, seen: Mutex::default() });
    let statement = settings(Some(3), Some(Duration::from_millis(700)));
    let session = StreamConfig::new().page_size(50).page_timeout(Duration::from_secs(9));
    let (_, seen) = run(fake, statement, session, |s| {
        s.page_size(10).first_page_timeout(Duration::from_secs(1)).deadline(Duration::from_secs(60))
    })
    .await;
    let requests: Vec<_> = seen.iter().map(|(r, _, _)| (r.page_size, r.timeout)).collect();
    assert_eq!(requests, [(3, Duration::from_millis(700)); 2]);
    assert!(seen.iter().all(|(_, p, deadline)| *p == RetryPolicy::new() && *deadline));

    // Nothing set anywhere: the session's page size and request timeout.
    let fake = Arc::new(Fake { pages: 2, rows: 1, seen: Mutex::default() });
    let (_, seen) = run(fake, settings(None, None), StreamConfig::new(), |s| s).await;
    let requests: Vec<_> = seen.iter().map(|(r, _, _)| (r.page_size, r.timeout)).collect();
    assert_eq!(requests, [(5000, Duration::from_secs(12)); 2]);
}

#[tokio::test]
async fn a_values_error_is_the_first_item_and_nothing_is_fetched() {
    let fake = Arc::new(Fake { pages: 2, rows: 1, seen: Mutex::default() });
    let gauges = Arc::new(Gauges::default());
    let pending = Some(Error::Config("values".into()));
    let mut pages = PageStream::new(fake.clone(), settings(None, None), StreamConfig::new(), gauges, pending);
    assert!(matches!(pages.next().await, Some(Err(Error::Config(_)))));
    assert!(pages.next().await.is_none());
    assert!(fake.seen.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
}
