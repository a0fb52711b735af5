//! Fault injection for the test server: rules that match requests and make a node
//! misbehave (return an error, delay, stay silent, drop the connection, send garbage).
//!
//! Owns the rule list and the matching; the connection task asks it what to do with
//! each request and does it. It does not know how statements execute.

use std::sync::Mutex;
use std::time::Duration;

use crate::protocol::response::{ErrorBody, ErrorKind};

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Every QUERY, EXECUTE and BATCH.
    All,
    /// Requests whose statement text contains this string (case-sensitive). EXECUTE
    /// matches on the text that was prepared.
    Statement(String),
}

impl Matcher {
    fn matches(&self, statement: &str) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Statement(s) => statement.contains(s.as_str()),
        }
    }
}

/// What a matching request gets.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this error instead of executing.
    Error(ErrorBody),
    /// Execute, but send the reply only after this long (other requests on the
    /// connection are not held up).
    Delay(Duration),
    /// Never reply on this request's stream.
    NoReply,
    /// Execute and reply, then close the connection.
    CloseAfterReply,
    /// Close the connection instead of answering page `page` (0-based) of a paged
    /// statement; other pages are served normally.
    CloseAtPage(usize),
    /// Answer with bytes that are not a valid envelope.
    MalformedFrame,
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Which requests.
    pub matcher: Matcher,
    /// What happens to them.
    pub action: FaultAction,
    /// How many more times the rule fires; `None` = every time.
    pub remaining: Option<usize>,
    /// Matching requests to let through untouched before the rule starts firing.
    pub skip: usize,
}

impl Fault {
    /// A fault on every statement, firing every time.
    pub fn new(action: FaultAction) -> Fault {
        Fault { matcher: Matcher::All, action, remaining: None, skip: 0 }
    }

    /// Answer with the given error kind and message.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Fault {
        Fault::new(FaultAction::Error(ErrorBody { kind, message: message.into() }))
    }

    /// Delay replies.
    pub fn delay(by: Duration) -> Fault {
        Fault::new(FaultAction::Delay(by))
    }

    /// Never reply.
    pub fn no_reply() -> Fault {
        Fault::new(FaultAction::NoReply)
    }

    /// Only for statements containing `text`.
    pub fn matching(mut self, text: impl Into<String>) -> Fault {
        self.matcher = Matcher::Statement(text.into());
        self
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: usize) -> Fault {
        self.remaining = Some(n);
        self
    }

    /// Only the next matching request.
    pub fn once(self) -> Fault {
        self.times(1)
    }

    /// Lets the first `n` matching requests through before firing.
    pub fn after(mut self, n: usize) -> Fault {
        self.skip = n;
        self
    }

    /// Closes the connection right after the `n`-th matching reply (1-based).
    pub fn close_after_replies(n: usize) -> Fault {
        Fault::new(FaultAction::CloseAfterReply).after(n.saturating_sub(1)).once()
    }

    /// Closes the connection when page `page` (0-based) of a paged SELECT is
    /// requested, i.e. after pages `0..page` were served.
    pub fn close_at_page(page: usize) -> Fault {
        Fault::new(FaultAction::CloseAtPage(page)).once()
    }
}

/// The fault rules of one node. Cheap to share; rules are checked in the order added.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Fault>>,
}

impl Faults {
    /// Adds a rule.
    pub fn add(&self, fault: Fault) {
        self.lock().push(fault);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many rules are still armed.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no rule is armed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        // A panic while holding this lock cannot leave the list inconsistent.
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The action for a request of `statement` about to serve page `page`, consuming
    /// one firing of the first matching rule. `CloseAtPage` rules only match their page.
    pub(crate) fn take(&self, statement: &str, page: usize) -> Option<FaultAction> {
        let mut rules = self.lock();
        let mut found = None;
        for (i, r) in rules.iter_mut().enumerate() {
            if !r.matcher.matches(statement) || matches!(r.action, FaultAction::CloseAtPage(p) if p != page) {
                continue;
            }
            if r.skip > 0 {
                r.skip -= 1;
                continue;
            }
            found = Some(i);
            break;
        }
        let i = found?;
        let action = rules[i].action.clone();
        if let Some(n) = rules[i].remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(i);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_in_order_and_run_out() {
        let f = Faults::default();
        f.add(Fault::error(ErrorKind::Overloaded, "busy").matching("SELECT").times(2));
        f.add(Fault::delay(Duration::from_millis(5)));
        assert!(matches!(f.take("SELECT 1", 0), Some(FaultAction::Error(_))));
        assert!(matches!(f.take("INSERT", 0), Some(FaultAction::Delay(_))));
        assert!(matches!(f.take("SELECT 1", 0), Some(FaultAction::Error(_))));
        assert!(matches!(f.take("SELECT 1", 0), Some(FaultAction::Delay(_))));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn after_skips_matching_requests() {
        let f = Faults::default();
        f.add(Fault::close_after_replies(3).matching("X"));
        assert_eq!(f.take("X", 0), None);
        assert_eq!(f.take("Y", 0), None);
        assert_eq!(f.take("X", 0), None);
        assert_eq!(f.take("X", 0), Some(FaultAction::CloseAfterReply));
        assert!(f.is_empty());
    }

    #[test]
    fn close_at_page_matches_only_its_page() {
        let f = Faults::default();
        f.add(Fault::new(FaultAction::CloseAtPage(3)).once());
        assert_eq!(f.take("SELECT", 2), None);
        assert_eq!(f.take("SELECT", 3), Some(FaultAction::CloseAtPage(3)));
        assert!(f.is_empty());
    }
}
