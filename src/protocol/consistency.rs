//! The `[consistency]` notation (spec §3): a `[short]` naming a consistency level.

use std::fmt;

use bytes::{BufMut, BytesMut};

use super::error::DecodeError;
use super::wire::Reader;

/// A consistency level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u16)]
pub enum Consistency {
    /// ANY (writes only).
    Any = 0x0000,
    /// ONE.
    One = 0x0001,
    /// TWO.
    Two = 0x0002,
    /// THREE.
    Three = 0x0003,
    /// QUORUM.
    Quorum = 0x0004,
    /// ALL.
    All = 0x0005,
    /// LOCAL_QUORUM.
    LocalQuorum = 0x0006,
    /// EACH_QUORUM.
    EachQuorum = 0x0007,
    /// SERIAL (serial phase of conditional updates).
    Serial = 0x0008,
    /// LOCAL_SERIAL.
    LocalSerial = 0x0009,
    /// LOCAL_ONE, the driver's default.
    #[default]
    LocalOne = 0x000A,
}

impl Consistency {
    /// Every level, in code order.
    pub const ALL: [Consistency; 11] = [
        Consistency::Any,
        Consistency::One,
        Consistency::Two,
        Consistency::Three,
        Consistency::Quorum,
        Consistency::All,
        Consistency::LocalQuorum,
        Consistency::EachQuorum,
        Consistency::Serial,
        Consistency::LocalSerial,
        Consistency::LocalOne,
    ];

    /// The CQL name, e.g. `LOCAL_QUORUM`.
    pub fn name(self) -> &'static str {
        use Consistency::*;
        match self {
            Any => "ANY",
            One => "ONE",
            Two => "TWO",
            Three => "THREE",
            Quorum => "QUORUM",
            All => "ALL",
            LocalQuorum => "LOCAL_QUORUM",
            EachQuorum => "EACH_QUORUM",
            Serial => "SERIAL",
            LocalSerial => "LOCAL_SERIAL",
            LocalOne => "LOCAL_ONE",
        }
    }

    /// Whether this is a serial level (valid as serial consistency).
    pub fn is_serial(self) -> bool {
        matches!(self, Consistency::Serial | Consistency::LocalSerial)
    }

    pub(crate) fn read(r: &mut Reader<'_>, what: &'static str) -> Result<Consistency, DecodeError> {
        let at = r.position();
        let code = r.read_u16(what)?;
        Consistency::try_from(code).map_err(|c| DecodeError::Invalid {
            what,
            at,
            detail: format!("unknown consistency {c:#06x}"),
        })
    }

    pub(crate) fn write(self, buf: &mut BytesMut) {
        buf.put_u16(self as u16);
    }
}

impl TryFrom<u16> for Consistency {
    type Error = u16;
    fn try_from(c: u16) -> Result<Self, u16> {
        Consistency::ALL.get(usize::from(c)).copied().ok_or(c)
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_spec_table() {
        for (i, c) in Consistency::ALL.iter().enumerate() {
            assert_eq!(*c as u16, i as u16);
            assert_eq!(Consistency::try_from(i as u16), Ok(*c));
        }
        assert_eq!(Consistency::try_from(0x0b), Err(0x0b));
        assert_eq!(Consistency::default().name(), "LOCAL_ONE");
    }
}
