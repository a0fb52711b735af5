//! The connections of a node that REGISTERed for events, and pushing events to them.
//!
//! Owns the subscriber list only; events are produced by node lifecycle changes and
//! schema changes elsewhere.

use std::sync::Mutex;

use tokio::sync::mpsc;

use super::serve::Outgoing;
use crate::protocol::response::{Event, EventType};
use crate::protocol::{Response, ResponseMessage, Version};

#[derive(Debug)]
struct Subscriber {
    version: Version,
    types: Vec<EventType>,
    tx: mpsc::UnboundedSender<Outgoing>,
}

/// Registered connections of one node.
#[derive(Debug, Default)]
pub(crate) struct Subscribers {
    list: Mutex<Vec<Subscriber>>,
}

impl Subscribers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add(&self, version: Version, types: Vec<EventType>, tx: mpsc::UnboundedSender<Outgoing>) {
        self.lock().push(Subscriber { version, types, tx });
    }

    /// Sends `event` (on stream -1, spec §4.2.6) to every connection registered for its
    /// type, forgetting connections that have closed.
    pub(crate) fn push(&self, event: &Event) {
        let kind = event.event_type();
        self.lock().retain(|s| {
            if !s.types.contains(&kind) {
                return !s.tx.is_closed();
            }
            match ResponseMessage::new(-1, Response::Event(event.clone())).to_envelope(s.version) {
                Ok(env) => s.tx.send(Outgoing::Envelope(env)).is_ok(),
                Err(_) => true,
            }
        });
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}
