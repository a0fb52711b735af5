//! SUPPORTED (v4/v5 §4.2.4): the `[string multimap]` of STARTUP options the server
//! accepts, with helpers to read the well-known keys.
//!
//! Owns the body and the parsing of `PROTOCOL_VERSIONS` entries; negotiating a version
//! or a compression from them is the connection layer's job.

use bytes::BytesMut;

use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader, StringMultimap};

/// SUPPORTED: each STARTUP option the server knows, with its accepted values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Supported {
    /// Options in wire order.
    pub options: StringMultimap,
}

/// One `PROTOCOL_VERSIONS` entry, such as `5/v5-beta`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SupportedVersion {
    /// The version number before the slash.
    pub number: u8,
    /// The description after the slash, e.g. `v5-beta`.
    pub description: String,
    /// Whether the description marks the version as beta.
    pub beta: bool,
}

impl SupportedVersion {
    /// The version, when this crate speaks it.
    pub fn version(&self) -> Option<Version> {
        Version::try_from(self.number).ok()
    }
}

impl Supported {
    /// Key of the supported CQL versions.
    pub const CQL_VERSION: &'static str = "CQL_VERSION";
    /// Key of the supported compression algorithms.
    pub const COMPRESSION: &'static str = "COMPRESSION";
    /// Key of the supported protocol versions (spec v5 §4.2.4).
    pub const PROTOCOL_VERSIONS: &'static str = "PROTOCOL_VERSIONS";

    /// The values of the first option named `key` (names are case-sensitive).
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }

    /// The parsed `PROTOCOL_VERSIONS` entries; entries that are not `<number>/<text>`
    /// are skipped. Empty when the server does not list them (before v5 servers).
    pub fn protocol_versions(&self) -> Vec<SupportedVersion> {
        self.get(Self::PROTOCOL_VERSIONS)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| {
                let (number, description) = entry.split_once('/')?;
                Some(SupportedVersion {
                    number: number.trim().parse().ok()?,
                    description: description.to_owned(),
                    // spec v5 §4.2.4: a beta version says "beta" in its description.
                    beta: description.to_ascii_lowercase().contains("beta"),
                })
            })
            .collect()
    }

    pub(crate) fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        wire::put_string_multimap(buf, &self.options, "SUPPORTED options")
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Supported, DecodeError> {
        Ok(Supported { options: r.read_string_multimap("SUPPORTED options")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response::Response;
    use crate::protocol::response::testing::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn vector_and_helpers() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x02,                                       // 2 options
            0x00, 0x0b, b'C', b'O', b'M', b'P', b'R', b'E', b'S', b'S', b'I', b'O', b'N',
            0x00, 0x01, 0x00, 0x03, b'l', b'z', b'4',         // ["lz4"]
            0x00, 0x11, b'P', b'R', b'O', b'T', b'O', b'C', b'O', b'L', b'_',
                        b'V', b'E', b'R', b'S', b'I', b'O', b'N', b'S',
            0x00, 0x03,                                       // 3 versions
            0x00, 0x04, b'3', b'/', b'v', b'3',
            0x00, 0x09, b'5', b'/', b'v', b'5', b'-', b'b', b'e', b't', b'a',
            0x00, 0x04, b'x', b'/', b'v', b'x',               // unparsable: skipped
        ];
        let sup = Supported {
            options: vec![
                ("COMPRESSION".into(), s(&["lz4"])),
                ("PROTOCOL_VERSIONS".into(), s(&["3/v3", "5/v5-beta", "x/vx"])),
            ],
        };
        check_vector(Version::V4, &body, &Response::Supported(sup.clone()));
        assert_eq!(sup.get(Supported::COMPRESSION), Some(&s(&["lz4"])[..]));
        assert_eq!(sup.get("compression"), None);
        let versions = sup.protocol_versions();
        assert_eq!(
            versions,
            vec![
                SupportedVersion { number: 3, description: "v3".into(), beta: false },
                SupportedVersion { number: 5, description: "v5-beta".into(), beta: true },
            ]
        );
        assert_eq!(versions[1].version(), Some(Version::V5));
        assert!(Supported::default().protocol_versions().is_empty());
    }
}
