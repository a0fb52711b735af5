//! EVENT (v4/v5 §4.2.6): a server push, a `[string]` event type then its fields, and the
//! [`EventType`] names that REGISTER subscribes to.
//!
//! Owns the event layouts and names; the schema change fields are
//! [`super::schema_change`]'s. Routing events (stream -1) and acting on them is the
//! connection and session layers' job.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use bytes::BytesMut;

use super::read_name;
use super::schema_change::SchemaChange;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::wire::{self, Reader};

/// A server-pushed event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Event {
    /// A node joined, left or moved in the ring.
    TopologyChange {
        /// What happened.
        change: TopologyChangeType,
        /// The node's native protocol address.
        addr: SocketAddr,
    },
    /// A node went up or down.
    StatusChange {
        /// What happened.
        change: StatusChangeType,
        /// The node's native protocol address.
        addr: SocketAddr,
    },
    /// The schema changed.
    SchemaChange(SchemaChange),
}

/// An event type, as named in EVENT bodies and REGISTER requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `TOPOLOGY_CHANGE`.
    TopologyChange,
    /// `STATUS_CHANGE`.
    StatusChange,
    /// `SCHEMA_CHANGE`.
    SchemaChange,
}

/// The kind of a topology change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopologyChangeType {
    /// `NEW_NODE`.
    NewNode,
    /// `REMOVED_NODE`.
    RemovedNode,
    /// `MOVED_NODE` (sent by older servers when a node's tokens moved).
    MovedNode,
}

/// The kind of a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusChangeType {
    /// `UP`.
    Up,
    /// `DOWN`.
    Down,
}

/// A string that is not an event type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct ParseEventTypeError(pub String);

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 3] = [EventType::TopologyChange, EventType::StatusChange, EventType::SchemaChange];

    /// The name on the wire, e.g. `STATUS_CHANGE`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TopologyChange => "TOPOLOGY_CHANGE",
            EventType::StatusChange => "STATUS_CHANGE",
            EventType::SchemaChange => "SCHEMA_CHANGE",
        }
    }
}

impl FromStr for EventType {
    type Err = ParseEventTypeError;

    fn from_str(s: &str) -> Result<EventType, ParseEventTypeError> {
        EventType::ALL.into_iter().find(|e| e.as_str() == s).ok_or_else(|| ParseEventTypeError(s.to_owned()))
    }
}

impl TryFrom<&str> for EventType {
    type Error = ParseEventTypeError;

    fn try_from(s: &str) -> Result<EventType, ParseEventTypeError> {
        s.parse()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TopologyChangeType {
    /// The name on the wire, e.g. `NEW_NODE`.
    pub fn as_str(self) -> &'static str {
        match self {
            TopologyChangeType::NewNode => "NEW_NODE",
            TopologyChangeType::RemovedNode => "REMOVED_NODE",
            TopologyChangeType::MovedNode => "MOVED_NODE",
        }
    }

    fn from_name(s: &str) -> Option<TopologyChangeType> {
        [TopologyChangeType::NewNode, TopologyChangeType::RemovedNode, TopologyChangeType::MovedNode]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl StatusChangeType {
    /// The name on the wire, e.g. `UP`.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusChangeType::Up => "UP",
            StatusChangeType::Down => "DOWN",
        }
    }

    fn from_name(s: &str) -> Option<StatusChangeType> {
        [StatusChangeType::Up, StatusChangeType::Down].into_iter().find(|c| c.as_str() == s)
    }
}

impl Event {
    /// The type REGISTER must name to receive this event.
    pub fn event_type(&self) -> EventType {
        match self {
            Event::TopologyChange { .. } => EventType::TopologyChange,
            Event::StatusChange { .. } => EventType::StatusChange,
            Event::SchemaChange(_) => EventType::SchemaChange,
        }
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_string(buf, self.event_type().as_str(), "event type")?;
        match self {
            Event::TopologyChange { change, addr } => {
                wire::put_string(buf, change.as_str(), "topology change type")?;
                wire::put_inet(buf, addr);
            }
            Event::StatusChange { change, addr } => {
                wire::put_string(buf, change.as_str(), "status change type")?;
                wire::put_inet(buf, addr);
            }
            Event::SchemaChange(sc) => sc.encode(buf)?,
        }
        Ok(())
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Event, DecodeError> {
        let event_type = read_name(r, "event type", |s| s.parse::<EventType>().ok())?;
        Ok(match event_type {
            EventType::TopologyChange => Event::TopologyChange {
                change: read_name(r, "topology change type", TopologyChangeType::from_name)?,
                addr: r.read_inet("topology change address")?,
            },
            EventType::StatusChange => Event::StatusChange {
                change: read_name(r, "status change type", StatusChangeType::from_name)?,
                addr: r.read_inet("status change address")?,
            },
            EventType::SchemaChange => Event::SchemaChange(SchemaChange::decode(r)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::protocol::header::{Opcode, Version};
    use crate::protocol::response::testing::*;
    use crate::protocol::response::{Response, SchemaChangeTarget, SchemaChangeType};

    #[test]
    fn status_change_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x0d, b'S', b'T', b'A', b'T', b'U', b'S', b'_', b'C', b'H', b'A', b'N', b'G', b'E',
            0x00, 0x04, b'D', b'O', b'W', b'N',
            0x04, 192, 168, 1, 7,                 // [inetaddr] IPv4
            0x00, 0x00, 0x23, 0x52,               // port 9042
        ];
        let ev = Event::StatusChange {
            change: StatusChangeType::Down,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 7)), 9042),
        };
        for v in Version::ALL {
            check_vector(v, &body, &Response::Event(ev.clone()));
        }
        assert_eq!(ev.event_type(), EventType::StatusChange);
    }

    #[test]
    fn schema_change_event_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x0d, b'S', b'C', b'H', b'E', b'M', b'A', b'_', b'C', b'H', b'A', b'N', b'G', b'E',
            0x00, 0x07, b'C', b'R', b'E', b'A', b'T', b'E', b'D',
            0x00, 0x08, b'K', b'E', b'Y', b'S', b'P', b'A', b'C', b'E',
            0x00, 0x02, b'k', b's',
        ];
        let ev = Event::SchemaChange(SchemaChange {
            change: SchemaChangeType::Created,
            target: SchemaChangeTarget::Keyspace { keyspace: "ks".into() },
        });
        check_vector(Version::V5, &body, &Response::Event(ev));
    }

    #[test]
    fn unknown_names_are_errors() {
        let mut body = vec![0x00, 0x05];
        body.extend_from_slice(b"OTHER");
        assert!(matches!(
            decode(Opcode::Event, Version::V4, &body),
            Err(DecodeError::Invalid { what: "event type", at: 0, .. })
        ));
        let mut body = vec![0x00, 0x0d];
        body.extend_from_slice(b"STATUS_CHANGE");
        body.extend_from_slice(&[0x00, 0x02, b'U', b'p', 0x04, 1, 2, 3, 4, 0, 0, 0, 1]);
        assert!(matches!(
            decode(Opcode::Event, Version::V4, &body),
            Err(DecodeError::Invalid { what: "status change type", at: 15, .. })
        ));
        // A port over 65535 is rejected by the `[inet]` reader.
        let mut body = vec![0x00, 0x0f];
        body.extend_from_slice(b"TOPOLOGY_CHANGE");
        body.extend_from_slice(&[0x00, 0x08]);
        body.extend_from_slice(b"NEW_NODE");
        body.extend_from_slice(&[0x04, 1, 2, 3, 4, 0, 1, 0, 0]);
        assert!(decode(Opcode::Event, Version::V4, &body).is_err());
    }

    #[test]
    fn event_type_names() {
        for e in EventType::ALL {
            assert_eq!(EventType::try_from(e.as_str()), Ok(e));
            assert_eq!(e.to_string(), e.as_str());
        }
        assert_eq!("status_change".parse::<EventType>(), Err(ParseEventTypeError("status_change".into())));
    }
}
