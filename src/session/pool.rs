//! A session's connection pool: a fixed number of slots, each holding a connection of
//! its own; the least busy live one serves each request; a background keeper replaces
//! dead ones with backoff while the others serve; and the session's keyspace, which
//! every connection, present and future, is switched to.
//!
//! A connection is dead once [`Connection::closed`] says why: the peer closed it, the
//! socket failed, or the connection task declared it defunct. Requests never wait for
//! a reconnect while a live connection exists; only when none is left does a request
//! connect a slot itself (and fail with the connect error if it cannot).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::connection::{Connection, ConnectionConfig, ConnectionError};
use crate::error::Error;

/// How long the keeper sleeps when nothing wakes it: an idle session notices a dead
/// connection within this long even when no request picks it.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The shortest wait between two reconnect attempts of one slot, whatever the policy
/// says: a policy of zero delays must not make the keeper spin against a node that
/// refuses connections.
const MIN_RECONNECT_DELAY: Duration = Duration::from_millis(10);

/// How soon the pool tries again to replace a dead connection: exponential backoff
/// from `base`, doubling per failed attempt up to `max`, with jitter (each wait is
/// drawn from its upper half, so sessions that lost a node together do not reconnect
/// in lockstep). The default waits 100 ms, 200 ms, 400 ms, ... up to 10 s.
///
/// ```
/// use std::time::Duration;
/// use cqlstream::session::ReconnectPolicy;
///
/// let p = ReconnectPolicy::exponential(Duration::from_millis(50), Duration::from_secs(2));
/// assert!(p.delay(0) <= Duration::from_millis(50));
/// assert!(p.delay(30) <= Duration::from_secs(2));
/// assert!(p.delay(30) >= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectPolicy {
    base: Duration,
    max: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy { base: Duration::from_millis(100), max: Duration::from_secs(10) }
    }
}

impl ReconnectPolicy {
    /// The default: from 100 ms, doubling up to 10 s.
    pub fn new() -> Self {
        Self::default()
    }

    /// From `base`, doubling per failed attempt up to `max` (at least `base`). The pool
    /// waits at least 10 ms between two attempts of one connection, even with `base`
    /// zero.
    pub fn exponential(base: Duration, max: Duration) -> Self {
        ReconnectPolicy { base, max: max.max(base) }
    }

    /// The wait after `failures + 1` failed attempts in a row: `base * 2^failures`, at
    /// most `max`, of which a random part of the lower half is left out (jitter).
    pub fn delay(&self, failures: u32) -> Duration {
        let full = self.base.saturating_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX)).min(self.max);
        let half = full / 2;
        let jitter_ns = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let cut = if jitter_ns == 0 { 0 } else { random() % jitter_ns };
        full - Duration::from_nanos(cut)
    }
}

/// A random `u64` from the standard library's per-instance hash keys (no rand crate
/// for a jitter).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// One connection of the pool.
#[derive(Debug, Default)]
struct Slot {
    /// The connection, live or dead; `None` before the first connect succeeded, or
    /// once the connection was retired (it could not follow a `USE`). The lock is never
    /// held across an await.
    current: Mutex<Option<Connection>>,
    /// Held while this slot connects, so one connect per slot runs at a time.
    connecting: tokio::sync::Mutex<()>,
    /// Whether the keeper was told this slot's connection died (told once per death).
    reported: AtomicBool,
}

impl Slot {
    fn current(&self) -> MutexGuard<'_, Option<Connection>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot's connection if it is live.
    fn live(&self) -> Option<Connection> {
        self.current().as_ref().filter(|c| c.closed().is_none()).cloned()
    }
}

/// The pool; see the module documentation.
#[derive(Debug)]
pub(crate) struct Pool {
    addr: std::net::SocketAddr,
    /// How connections are opened; the keyspace is `keyspace`'s, not this one's.
    config: ConnectionConfig,
    slots: Vec<Slot>,
    /// The session's keyspace: opened with, and `USE`d on every live connection when a
    /// statement changes it. Locked before any slot's `current`.
    keyspace: Mutex<Option<String>>,
    /// Held while a `USE` is applied to the connections, so that concurrent `USE`s
    /// are applied one after the other and the last one is every connection's.
    using: tokio::sync::Mutex<()>,
    reconnect: ReconnectPolicy,
    wake: Arc<Notify>,
    keeper: Mutex<Option<AbortHandle>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        // The keeper holds only a Weak between looks and would stop at its next one
        // anyway; this stops it at once, mid-sleep.
        self.stop_keeper();
    }
}

impl Pool {
    /// A pool of `size` slots (at least one) to `addr`, slot 0 holding `first` (opened
    /// with `config`), the others connected now; those that fail to connect are left
    /// to the keeper, which starts now.
    pub(crate) async fn start(
        addr: std::net::SocketAddr,
        mut config: ConnectionConfig,
        size: usize,
        first: Connection,
        reconnect: ReconnectPolicy,
    ) -> Arc<Pool> {
        let keyspace = config.keyspace.take();
        let slots: Vec<Slot> = (0..size.max(1)).map(|_| Slot::default()).collect();
        *slots[0].current() = Some(first);
        let pool = Arc::new(Pool {
            addr,
            config,
            slots,
            keyspace: Mutex::new(keyspace),
            using: tokio::sync::Mutex::new(()),
            reconnect,
            wake: Arc::new(Notify::new()),
            keeper: Mutex::new(None),
        });
        for i in 1..pool.slots.len() {
            if let Err(e) = pool.connect_slot(i).await {
                tracing::debug!(slot = i, error = %e, "pool connection failed; the keeper will retry");
            }
        }
        let task = tokio::spawn(keep(Arc::downgrade(&pool), pool.wake.clone()));
        *pool.keeper.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
        pool
    }

    /// Stops the keeper now. The session calls it when it is dropped: while the keeper
    /// connects a slot it holds the pool, which would otherwise outlive the session
    /// (its connections open) until that connect ends, a handshake timeout later.
    pub(crate) fn stop_keeper(&self) {
        if let Some(k) = self.keeper.lock().unwrap_or_else(|e| e.into_inner()).take() {
            k.abort();
        }
    }

    /// The node.
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// How connections are opened (the keyspace aside).
    pub(crate) fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// The session's keyspace now.
    pub(crate) fn keyspace(&self) -> Option<String> {
        self.keyspace.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Live connections.
    pub(crate) fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.live().is_some()).count()
    }

    /// Requests in flight over every connection.
    pub(crate) fn in_flight(&self) -> usize {
        self.slots.iter().filter_map(|s| s.current().as_ref().map(Connection::in_flight)).sum()
    }

    /// The least busy live connection other than `avoid`; else `avoid` if it is live;
    /// else, when no connection is live, a slot connected now. A dead slot seen on the
    /// way wakes the keeper.
    pub(crate) async fn pick(&self, avoid: Option<&Connection>) -> Result<Connection, Error> {
        let mut best: Option<(Connection, usize)> = None;
        let mut fallback = None;
        let mut dead = None;
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(c) = slot.live() else {
                if !slot.reported.swap(true, Ordering::Relaxed) {
                    self.wake.notify_one();
                }
                dead = dead.or(Some(i));
                continue;
            };
            if avoid.is_some_and(|a| a.same(&c)) {
                fallback = Some(c);
                continue;
            }
            let load = c.in_flight();
            if best.as_ref().is_none_or(|(_, l)| load < *l) {
                best = Some((c, load));
            }
        }
        match (best, fallback) {
            (Some((c, _)), _) | (None, Some(c)) => Ok(c),
            (None, None) => self.connect_slot(dead.unwrap_or(0)).await,
        }
    }

    /// Connects slot `i` unless it is live (a concurrent connect may have finished
    /// first), with the session's keyspace.
    async fn connect_slot(&self, i: usize) -> Result<Connection, Error> {
        let slot = &self.slots[i];
        let _connecting = slot.connecting.lock().await;
        if let Some(c) = slot.live() {
            return Ok(c);
        }
        let mut config = self.config.clone();
        let mut used = self.keyspace();
        config.keyspace = used.clone();
        let conn = Connection::open(self.addr, &config).await.map_err(|e| Error::connecting(self.addr, e))?;
        // Install it only with the session's keyspace: a USE that ran while this
        // connection opened is applied to it first.
        loop {
            let wanted = {
                let keyspace = self.keyspace.lock().unwrap_or_else(|e| e.into_inner());
                if *keyspace == used {
                    *slot.current() = Some(conn.clone());
                    slot.reported.store(false, Ordering::Relaxed);
                    return Ok(conn);
                }
                keyspace.clone()
            };
            if let Some(ks) = &wanted {
                conn.use_keyspace(ks).await.map_err(Error::Connection)?;
            }
            used = wanted;
        }
    }

    /// Makes `keyspace` the session's: `USE` on every live connection, and on every
    /// connection opened from now on; the one whose statement was the `USE` too,
    /// since a concurrent `USE` of another keyspace may have been applied to it since. Concurrent calls run one after the other, so the last one wins on
    /// every connection.
    pub(crate) async fn use_everywhere(&self, keyspace: &str) -> Result<(), Error> {
        let _using = self.using.lock().await;
        let live: Vec<Connection> = {
            let mut current = self.keyspace.lock().unwrap_or_else(|e| e.into_inner());
            *current = Some(keyspace.to_owned());
            self.slots.iter().filter_map(Slot::live).collect()
        };
        let mut first_error = None;
        for c in live {
            match c.use_keyspace(keyspace).await {
                Ok(()) => {}
                // A connection that died meanwhile is replaced with the keyspace.
                Err(_) if c.closed().is_some() => {}
                // Live but still in the old keyspace: no request may go to it again;
                // the keeper replaces it with one in the session's keyspace.
                Err(e) => {
                    self.retire(&c);
                    first_error.get_or_insert(match e {
                        ConnectionError::Refused(e) => Error::from(e),
                        e => Error::Connection(e),
                    });
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Takes `conn` out of its slot (no request is sent on it from now on) and wakes
    /// the keeper to replace it.
    fn retire(&self, conn: &Connection) {
        for slot in &self.slots {
            let mut current = slot.current();
            if current.as_ref().is_some_and(|c| c.same(conn)) {
                *current = None;
                drop(current);
                slot.reported.store(true, Ordering::Relaxed);
                self.wake.notify_one();
            }
        }
    }
}

/// The keeper: replaces dead connections, each slot with its own backoff, until the
/// pool is dropped. Woken by a request that saw a dead slot, and every
/// [`CHECK_EVERY`] otherwise.
async fn keep(pool: Weak<Pool>, wake: Arc<Notify>) {
    // Per slot: failed attempts in a row, and when the next attempt is due.
    let mut failures: Vec<u32> = Vec::new();
    let mut due: Vec<Option<Instant>> = Vec::new();
    loop {
        let mut next_look = Instant::now() + CHECK_EVERY;
        let Some(p) = pool.upgrade() else { return };
        failures.resize(p.slots.len(), 0);
        due.resize(p.slots.len(), None);
        let dead: Vec<usize> = (0..p.slots.len()).filter(|&i| p.slots[i].live().is_none()).collect();
        for i in 0..p.slots.len() {
            if !dead.contains(&i) {
                failures[i] = 0;
                due[i] = None;
            }
        }
        for i in dead {
            let now = Instant::now();
            if let Some(at) = due[i].filter(|at| *at > now) {
                next_look = next_look.min(at);
                continue;
            }
            match p.connect_slot(i).await {
                Ok(_) => {
                    tracing::debug!(slot = i, addr = %p.addr, "replaced a dead pool connection");
                    failures[i] = 0;
                    due[i] = None;
                }
                Err(e) => {
                    let wait = p.reconnect.delay(failures[i]).max(MIN_RECONNECT_DELAY);
                    tracing::debug!(slot = i, addr = %p.addr, error = %e, ?wait, "reconnect failed");
                    failures[i] = failures[i].saturating_add(1);
                    let at = Instant::now() + wait;
                    due[i] = Some(at);
                    next_look = next_look.min(at);
                }
            }
        }
        // Sleep without holding the pool, so that dropping the session frees it.
        drop(p);
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep_until(next_look) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let p = ReconnectPolicy::default();
        for (failures, full) in [(0, 100), (1, 200), (2, 400), (6, 6400), (7, 10_000), (40, 10_000)] {
            let full = Duration::from_millis(full);
            for _ in 0..50 {
                let d = p.delay(failures);
                assert!(d <= full && d >= full / 2, "{failures}: {d:?} not in [{:?}, {full:?}]", full / 2);
            }
        }
        let zero = ReconnectPolicy::exponential(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.delay(u32::MAX), Duration::ZERO);
        let capped = ReconnectPolicy::exponential(Duration::from_secs(1), Duration::from_millis(1));
        assert!(capped.delay(3) <= Duration::from_secs(1), "max is at least base");
    }
}
