//! [`RetryPolicy`]: which failed requests are tried again, how often, and how long to
//! wait between attempts. Today only page fetches are retried (with the stream's
//! policy): a page is a read addressed by its paging state, so retrying it can neither
//! lose nor repeat a row, and the only question is whether trying again can help.
//!
//! Owns the decision and the backoff arithmetic only, on [`crate::Error`]; the attempt
//! loop that applies them is the session's request path (`session::request`). It
//! uses no other module of the driver, so both session and stream may use it (the
//! stream's configuration holds one); it is re-exported as
//! `cqlstream::stream::RetryPolicy`.

use std::time::Duration;

use crate::error::Error;
use crate::protocol::response::ErrorKind;

/// The retry policy for page fetches.
///
/// Retried by default: a lost or refused connection, a client-side page timeout,
/// `Overloaded`, `IsBootstrapping`, `ReadTimeout` and `Unavailable`; each retry goes to
/// another connection of the pool when there is one, after an exponential backoff
/// (50 ms, 100 ms, 200 ms, ... up to 2 s), at most 3 times per page. Never retried:
/// syntax and invalid-request errors, authorization errors, `ReadFailure`, decode
/// errors, anything a second try would get the same answer to.
///
/// ```
/// use std::time::Duration;
/// use cqlstream::stream::RetryPolicy;
///
/// let policy = RetryPolicy::new()
///     .max_retries(5)
///     .backoff(Duration::from_millis(20), Duration::from_secs(1))
///     .retry_unavailable(false);
/// assert_eq!(policy.backoff_before(1), Duration::from_millis(20));
/// assert_eq!(policy.backoff_before(3), Duration::from_millis(80));
/// assert_eq!(policy.backoff_before(30), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_backoff: Duration,
    max_backoff: Duration,
    read_timeout: bool,
    unavailable: bool,
    client_timeout: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            read_timeout: true,
            unavailable: true,
            client_timeout: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy (see the type's docs).
    pub fn new() -> RetryPolicy {
        RetryPolicy::default()
    }

    /// A policy that never retries: the first failure ends the stream.
    pub fn never() -> RetryPolicy {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// Retries per page at most (default 3).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The wait before the first retry, doubled for each further one up to `max`.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base;
        self.max_backoff = max.max(base);
        self
    }

    /// Whether a server-side `ReadTimeout` is retried (default yes).
    pub fn retry_read_timeout(mut self, on: bool) -> Self {
        self.read_timeout = on;
        self
    }

    /// Whether `Unavailable` is retried (default yes: on another connection, after the
    /// backoff, replicas may be back).
    pub fn retry_unavailable(mut self, on: bool) -> Self {
        self.unavailable = on;
        self
    }

    /// Whether a page the server did not answer within the page timeout is asked for
    /// again (default yes; its stream id stays taken until the late reply).
    pub fn retry_client_timeout(mut self, on: bool) -> Self {
        self.client_timeout = on;
        self
    }

    /// The most retries of one page.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// Whether a fetch that failed with `error` may succeed if tried again.
    pub fn is_retryable(&self, error: &Error) -> bool {
        match error {
            Error::Connection(_) | Error::NoNodeAvailable(_) => true,
            Error::Timeout(_) => self.client_timeout,
            Error::Server(body) => match body.kind {
                ErrorKind::Overloaded | ErrorKind::IsBootstrapping => true,
                ErrorKind::ReadTimeout { .. } => self.read_timeout,
                ErrorKind::Unavailable { .. } => self.unavailable,
                _ => false,
            },
            _ => false,
        }
    }

    /// Whether retry number `retry` (1-based) of a fetch that failed with `error` is
    /// allowed.
    pub fn should_retry(&self, error: &Error, retry: u32) -> bool {
        retry <= self.max_retries && self.is_retryable(error)
    }

    /// The wait before retry number `retry` (1-based).
    pub fn backoff_before(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.base_backoff.saturating_mul(1 << doublings).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ConnectionError;
    use crate::protocol::Consistency;
    use crate::protocol::response::ErrorBody;

    fn server(kind: ErrorKind) -> Error {
        Error::from(ErrorBody { kind, message: "x".into() })
    }

    #[test]
    fn decisions() {
        let p = RetryPolicy::new();
        let read_timeout = server(ErrorKind::ReadTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            data_present: false,
        });
        let unavailable = server(ErrorKind::Unavailable { consistency: Consistency::One, required: 1, alive: 0 });
        for e in [
            Error::Connection(ConnectionError::Closed),
            Error::Timeout(Duration::from_secs(1)),
            server(ErrorKind::Overloaded),
            server(ErrorKind::IsBootstrapping),
            read_timeout.clone(),
            unavailable.clone(),
        ] {
            assert!(p.should_retry(&e, 1), "{e}");
            assert!(p.should_retry(&e, 3), "{e}");
            assert!(!p.should_retry(&e, 4), "{e}");
            assert!(!RetryPolicy::never().should_retry(&e, 1), "{e}");
        }
        for e in [server(ErrorKind::SyntaxError), server(ErrorKind::ServerError), Error::Config("x".into())] {
            assert!(!p.should_retry(&e, 1), "{e}");
        }
        let strict = RetryPolicy::new().retry_read_timeout(false).retry_unavailable(false).retry_client_timeout(false);
        assert!(!strict.is_retryable(&read_timeout));
        assert!(!strict.is_retryable(&unavailable));
        assert!(!strict.is_retryable(&Error::Timeout(Duration::from_secs(1))));
    }

    #[test]
    fn backoff_doubles_and_saturates() {
        let p = RetryPolicy::new();
        let waits: Vec<_> = (1..=7).map(|r| p.backoff_before(r).as_millis()).collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1600, 2000]);
        assert_eq!(p.backoff_before(u32::MAX), Duration::from_secs(2));
        assert_eq!(p.backoff_before(0), Duration::from_millis(50));
    }
}
