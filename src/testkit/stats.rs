//! Request counters of a test node, so tests can assert what a driver sent: requests
//! per statement text, per page of a paged statement, PREPAREs per statement text, and
//! connections accepted.
//!
//! Owns only counting; the connection task and the engine report to it.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Counts {
    requests: HashMap<String, u64>,
    pages: HashMap<String, Vec<u64>>,
    prepares: HashMap<String, u64>,
    connections: u64,
    options: u64,
}

/// Counters of one node.
#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<Counts>,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record_request(&self, statement: &str) {
        let mut c = self.lock();
        // Looked up by `&str` first: the text is copied only the first time it is seen.
        match c.requests.get_mut(statement) {
            Some(n) => *n += 1,
            None => {
                c.requests.insert(statement.to_owned(), 1);
            }
        }
    }

    pub(crate) fn record_page(&self, statement: &str, page: usize) {
        let mut c = self.lock();
        if !c.pages.contains_key(statement) {
            c.pages.insert(statement.to_owned(), Vec::new());
        }
        let Some(v) = c.pages.get_mut(statement) else { return };
        if v.len() <= page {
            v.resize(page + 1, 0);
        }
        v[page] += 1;
    }

    pub(crate) fn record_prepare(&self, statement: &str) {
        *self.lock().prepares.entry(statement.to_owned()).or_default() += 1;
    }

    /// PREPARE requests received for this exact statement text.
    pub fn prepares(&self, statement: &str) -> u64 {
        self.lock().prepares.get(statement).copied().unwrap_or(0)
    }

    pub(crate) fn record_connection(&self) {
        self.lock().connections += 1;
    }

    pub(crate) fn record_options(&self) {
        self.lock().options += 1;
    }

    /// OPTIONS requests received (handshakes and driver heartbeats).
    pub fn options(&self) -> u64 {
        self.lock().options
    }

    /// QUERY/EXECUTE/BATCH requests received for this exact statement text (EXECUTE
    /// counts under the prepared text; a BATCH under each of its statements).
    pub fn requests(&self, statement: &str) -> u64 {
        self.lock().requests.get(statement).copied().unwrap_or(0)
    }

    /// All statements received, with their counts.
    pub fn all_requests(&self) -> HashMap<String, u64> {
        self.lock().requests.clone()
    }

    /// For a paged SELECT: how many times each page (0-based) was requested.
    pub fn pages(&self, statement: &str) -> Vec<u64> {
        self.lock().pages.get(statement).cloned().unwrap_or_default()
    }

    /// Connections accepted since start.
    pub fn connections(&self) -> u64 {
        self.lock().connections
    }

    /// Forgets every count.
    pub fn reset(&self) {
        *self.lock() = Counts::default();
    }
}
