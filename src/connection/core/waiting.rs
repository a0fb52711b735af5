//! Requests accepted and not yet on the wire: waiting for a stream id, or for room
//! below the write buffer's high water.
//!
//! Owns the queue (first come, first sent) and a lower bound of its deadlines, so that
//! the [core](super) can wake up for a waiting request's deadline without scanning the
//! queue on every turn. It sends nothing and takes no ids.

use std::collections::VecDeque;
use std::time::Instant;

use super::Command;
use crate::connection::error::RequestError;

#[derive(Debug, Default)]
pub(super) struct Waiting {
    queue: VecDeque<Command>,
    /// A lower bound of the deadlines in `queue` (`None` when it is empty or not yet
    /// computed).
    deadline: Option<Instant>,
}

impl Waiting {
    /// Queues `cmd` last, keeping the deadline bound a lower bound when it is known.
    pub(super) fn push_back(&mut self, cmd: Command) {
        if let Some(at) = self.deadline.as_mut() {
            *at = (*at).min(cmd.deadline);
        }
        self.queue.push_back(cmd);
    }

    /// Puts back a command just popped (its deadline is already under the bound).
    pub(super) fn push_front(&mut self, cmd: Command) {
        self.queue.push_front(cmd);
    }

    pub(super) fn pop_front(&mut self) -> Option<Command> {
        self.queue.pop_front()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    /// The deadline bound, computed if the queue changed since it was cleared.
    pub(super) fn settle(&mut self) {
        if self.queue.is_empty() {
            self.deadline = None;
        } else if self.deadline.is_none() {
            self.deadline = self.queue.iter().map(|c| c.deadline).min();
        }
    }

    /// When the earliest waiting request times out (a lower bound; see [`settle`](Self::settle)).
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Times out the requests past their deadline, drops those whose caller left, and
    /// makes the bound the earliest deadline of the rest.
    pub(super) fn expire(&mut self, now: Instant) {
        let mut next = None;
        for cmd in std::mem::take(&mut self.queue) {
            if cmd.reply.is_closed() {
                continue;
            }
            if cmd.deadline <= now {
                let _ = cmd.reply.send(Err(RequestError::Timeout(cmd.timeout)));
                continue;
            }
            next = super::earliest(next, Some(cmd.deadline));
            self.queue.push_back(cmd);
        }
        self.deadline = next;
    }

    /// Takes every waiting request out (when the connection closes).
    pub(super) fn drain(&mut self) -> impl Iterator<Item = Command> + '_ {
        self.deadline = None;
        self.queue.drain(..)
    }
}
