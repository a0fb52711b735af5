//! Fault injection for the test server: rules that match requests and make a node
//! misbehave (return an error, delay, stay silent, drop the connection, send garbage,
//! serve a page of an unexpected length), optionally only on one page of a paged SELECT.
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
    /// statement; other pages are served normally. The page is part of the action for
    /// compatibility: [`Fault::close_at_page`] also sets [`Fault::page`].
    CloseAtPage(usize),
    /// Answer with bytes that are not a valid envelope.
    MalformedFrame,
    /// Serve a SELECT's page with exactly this many rows instead of the page size the
    /// client asked for (or the whole result, if it asked for none), continuing from
    /// the request's paging state; fewer rows only when the result ends first. `0` is an
    /// empty page that still carries a paging state, as Cassandra sends when a page
    /// window held only tombstones or filtered-out rows. Other statements and
    /// `SELECT COUNT(*)` execute normally.
    PageRows(usize),
    /// Execute and reply normally, with this warning attached to the reply (v4+), as
    /// Cassandra does for e.g. a page that read many tombstones.
    Warning(String),
    /// Answer with a Void RESULT (spec v4 §4.2.5.1) instead of executing, whatever the
    /// statement: what a confused or hostile server might send to a page request.
    Void,
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
    /// Only requests for this page (0-based) of a SELECT; `None` = any request.
    pub page: Option<usize>,
}

impl Fault {
    /// A fault on every statement, firing every time.
    pub fn new(action: FaultAction) -> Fault {
        Fault { matcher: Matcher::All, action, remaining: None, skip: 0, page: None }
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

    /// Attach a warning to the reply (see [`FaultAction::Warning`]).
    pub fn warning(message: impl Into<String>) -> Fault {
        Fault::new(FaultAction::Warning(message.into()))
    }

    /// Serve the matching page with exactly `n` rows (see [`FaultAction::PageRows`]).
    pub fn page_rows(n: usize) -> Fault {
        Fault::new(FaultAction::PageRows(n))
    }

    /// Answer with a Void RESULT (see [`FaultAction::Void`]).
    pub fn void() -> Fault {
        Fault::new(FaultAction::Void)
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

    /// Only requests for page `page` (0-based) of a SELECT, as the paging state the
    /// client sends encodes it; a SELECT without a paging state asks for page 0. Other
    /// statements (INSERT, BATCH, ...) have no page and never match.
    pub fn at_page(mut self, page: usize) -> Fault {
        self.page = Some(page);
        self
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
        Fault::new(FaultAction::CloseAtPage(page)).at_page(page).once()
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

    /// The action for a request of `statement` about to serve page `page` (`None` for
    /// a statement that is not a SELECT), consuming one firing of the first matching
    /// rule. Rules with a page, and `CloseAtPage` rules, only match their page.
    pub(crate) fn take(&self, statement: &str, page: Option<usize>) -> Option<FaultAction> {
        let mut rules = self.lock();
        let mut found = None;
        for (i, r) in rules.iter_mut().enumerate() {
            let page_ok = r.page.is_none_or(|p| page == Some(p))
                && !matches!(r.action, FaultAction::CloseAtPage(p) if page != Some(p));
            if !page_ok || !r.matcher.matches(statement) {
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
        assert!(matches!(f.take("SELECT 1", Some(0)), Some(FaultAction::Error(_))));
        assert!(matches!(f.take("INSERT", None), Some(FaultAction::Delay(_))));
        assert!(matches!(f.take("SELECT 1", Some(0)), Some(FaultAction::Error(_))));
        assert!(matches!(f.take("SELECT 1", Some(0)), Some(FaultAction::Delay(_))));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn after_skips_matching_requests() {
        let f = Faults::default();
        f.add(Fault::close_after_replies(3).matching("X"));
        assert_eq!(f.take("X", None), None);
        assert_eq!(f.take("Y", None), None);
        assert_eq!(f.take("X", None), None);
        assert_eq!(f.take("X", None), Some(FaultAction::CloseAfterReply));
        assert!(f.is_empty());
    }

    #[test]
    fn close_at_page_matches_only_its_page() {
        let f = Faults::default();
        f.add(Fault::new(FaultAction::CloseAtPage(3)).once());
        assert_eq!(f.take("SELECT", Some(2)), None);
        assert_eq!(f.take("SELECT", Some(3)), Some(FaultAction::CloseAtPage(3)));
        assert!(f.is_empty());
        f.add(Fault::close_at_page(0));
        assert_eq!(f.take("INSERT", None), None, "a statement that is not a SELECT has no page");
        assert_eq!(f.take("SELECT", Some(0)), Some(FaultAction::CloseAtPage(0)));
        assert_eq!(Fault::close_at_page(4).page, Some(4));
    }

    #[test]
    fn at_page_restricts_any_rule_to_its_page() {
        let f = Faults::default();
        f.add(Fault::error(ErrorKind::Overloaded, "busy").matching("SELECT").at_page(3).once());
        f.add(Fault::page_rows(0).at_page(1).times(2));
        assert_eq!(f.take("SELECT", Some(0)), None);
        assert_eq!(f.take("SELECT", Some(2)), None);
        assert_eq!(f.take("INSERT", None), None);
        assert_eq!(f.take("SELECT", Some(1)), Some(FaultAction::PageRows(0)));
        assert!(matches!(f.take("SELECT", Some(3)), Some(FaultAction::Error(_))));
        // Fired once: a retry of page 3 is served normally.
        assert_eq!(f.take("SELECT", Some(3)), None);
        assert_eq!(f.take("SELECT", Some(1)), Some(FaultAction::PageRows(0)));
        assert!(f.is_empty());
    }

    #[test]
    fn at_page_counts_after_only_on_its_page() {
        let f = Faults::default();
        f.add(Fault::no_reply().at_page(2).after(1).once());
        assert_eq!(f.take("SELECT", Some(2)), None, "the first page-2 request is let through");
        assert_eq!(f.take("SELECT", Some(0)), None);
        assert_eq!(f.take("SELECT", Some(2)), Some(FaultAction::NoReply));
        assert_eq!(f.take("SELECT", Some(2)), None);
    }

    #[test]
    fn a_rule_without_a_page_matches_every_request() {
        let f = Faults::default();
        f.add(Fault::page_rows(7));
        assert_eq!(f.take("SELECT", Some(5)), Some(FaultAction::PageRows(7)));
        assert_eq!(f.take("INSERT", None), Some(FaultAction::PageRows(7)));
        assert_eq!(f.len(), 1);
    }
}
