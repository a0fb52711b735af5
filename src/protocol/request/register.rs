//! REGISTER (v4 §4.1.8, v5 §4.1.8): the `[string list]` of event types to receive.

use bytes::BytesMut;

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::response::EventType;
use crate::protocol::wire::{self, Reader};

/// REGISTER: subscribes the connection to server-pushed events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Register {
    /// Event types to receive.
    pub events: Vec<EventType>,
}

impl Register {
    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let names: Vec<&str> = self.events.iter().map(|e| e.as_str()).collect();
        wire::put_string_list(buf, &names, "REGISTER event types")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Register, DecodeError> {
        let at = r.position();
        let names = r.read_string_list("REGISTER event types")?;
        let events = names
            .iter()
            .map(|n| {
                EventType::try_from(n.as_str()).map_err(|_| DecodeError::Invalid {
                    what: "REGISTER event type",
                    at,
                    detail: format!("unknown event type {n:?}"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Register { events })
    }
}
