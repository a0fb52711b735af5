//! ERROR (v4 §4.2.1 and §9, v5 §4.2.1 and §8): an `[int]` code, a `[string]` message, and
//! the extra fields some codes carry.
//!
//! Owns the error codes, their extra fields and the version differences between them
//! (v5 reason maps instead of failure counts, v5 CAS contentions). It does not decide
//! what an error means for a request (retry, reprepare, ...): that is the driver's.
//! Unknown codes are kept as [`ErrorKind::Other`], their extra fields skipped.

use std::fmt;
use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::protocol::consistency::Consistency;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

/// An ERROR body: what went wrong, the server's message, and the code's extra fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code and its extra fields.
    pub kind: ErrorKind,
    /// The server's message.
    pub message: String,
}

/// The error code of an ERROR, with the fields that code carries (spec v5 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 0x0000: a server-side bug.
    ServerError,
    /// 0x000A: the client broke the protocol.
    ProtocolError,
    /// 0x0100: authentication failed.
    AuthenticationError,
    /// 0x1000: not enough replicas are alive for the consistency level.
    Unavailable {
        /// Consistency level of the request.
        consistency: Consistency,
        /// Replicas the level needs.
        required: i32,
        /// Replicas known to be alive.
        alive: i32,
    },
    /// 0x1001: the coordinator is overloaded.
    Overloaded,
    /// 0x1002: the coordinator is bootstrapping.
    IsBootstrapping,
    /// 0x1003: a truncation failed.
    TruncateError,
    /// 0x1100: a write timed out.
    WriteTimeout {
        /// Consistency level of the request.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements the level needs.
        block_for: i32,
        /// What kind of write it was.
        write_type: WriteType,
        /// Contentions during the CAS operation: v5 only, and present exactly when
        /// `write_type` is [`WriteType::Cas`].
        contentions: Option<u16>,
    },
    /// 0x1200: a read timed out.
    ReadTimeout {
        /// Consistency level of the request.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers the level needs.
        block_for: i32,
        /// Whether the replica asked for data answered.
        data_present: bool,
    },
    /// 0x1300: a read failed for a reason other than a timeout.
    ReadFailure {
        /// Consistency level of the request.
        consistency: Consistency,
        /// Replicas that answered.
        received: i32,
        /// Answers the level needs.
        block_for: i32,
        /// The replicas that failed (a count before v5, a reason map in v5).
        failures: Failures,
        /// Whether the replica asked for data answered.
        data_present: bool,
    },
    /// 0x1400: a user-defined function failed.
    FunctionFailure {
        /// Keyspace of the function.
        keyspace: String,
        /// Function name.
        function: String,
        /// The CQL types of its arguments.
        arg_types: Vec<String>,
    },
    /// 0x1500: a write failed for a reason other than a timeout.
    WriteFailure {
        /// Consistency level of the request.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements the level needs.
        block_for: i32,
        /// The replicas that failed (a count before v5, a reason map in v5).
        failures: Failures,
        /// What kind of write it was.
        write_type: WriteType,
    },
    /// 0x1600: a write to CDC-tracked data failed (no extra fields are defined).
    CdcWriteFailure,
    /// 0x1700: a contended CAS write may or may not have been applied.
    CasWriteUnknown {
        /// Consistency level of the request.
        consistency: Consistency,
        /// Replicas that acknowledged.
        received: i32,
        /// Acknowledgements the level needs.
        block_for: i32,
    },
    /// 0x2000: the query has a syntax error.
    SyntaxError,
    /// 0x2100: the user lacks a permission.
    Unauthorized,
    /// 0x2200: the query is well-formed but invalid.
    Invalid,
    /// 0x2300: the query conflicts with the server's configuration.
    ConfigError,
    /// 0x2400: the keyspace or table to create already exists.
    AlreadyExists {
        /// The keyspace (that exists, or that holds the table).
        keyspace: String,
        /// The table, or empty when the keyspace itself exists.
        table: String,
    },
    /// 0x2500: the prepared statement id is unknown to this node; prepare it again.
    Unprepared {
        /// The unknown statement id.
        id: Bytes,
    },
    /// A code this crate does not know. Whatever followed the message was skipped;
    /// encoding writes the code and message only, and refuses known codes.
    Other(i32),
}

/// The replicas that failed, in ReadFailure and WriteFailure errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failures {
    /// v3/v4 `<numfailures>`: how many replicas failed.
    Count(i32),
    /// v5 `<reasonmap>`: each failed replica with its failure reason code.
    ReasonMap(Vec<(IpAddr, u16)>),
}

/// The kind of write in WriteTimeout and WriteFailure errors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WriteType {
    /// `SIMPLE`: a single, non-counter write.
    Simple,
    /// `BATCH`: a logged batch, whose batch log was written.
    Batch,
    /// `UNLOGGED_BATCH`: an unlogged batch.
    UnloggedBatch,
    /// `COUNTER`: a counter write.
    Counter,
    /// `BATCH_LOG`: the write to the batch log itself.
    BatchLog,
    /// `CAS`: a compare-and-set (lightweight transaction).
    Cas,
    /// `VIEW`: a materialized view update.
    View,
    /// `CDC`: a write to CDC-tracked data.
    Cdc,
    /// A name this crate does not know (never one of the names above).
    Other(String),
}

impl ErrorBody {
    /// An error with this kind and message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ErrorBody {
        ErrorBody { kind, message: message.into() }
    }

    /// The error code.
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if let ErrorKind::Other(code) = self.kind
            && ErrorKind::is_known_code(code)
        {
            return Err(EncodeError::Invalid {
                what: "ERROR code",
                detail: format!("code {code:#06x} has its own ErrorKind variant"),
            });
        }
        buf.put_i32(self.code());
        wire::put_string(buf, &self.message, "ERROR message")?;
        self.kind.encode_fields(version, buf)
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<ErrorBody, DecodeError> {
        let code = r.read_i32("ERROR code")?;
        let message = r.read_string("ERROR message")?;
        let kind = ErrorKind::decode_fields(code, version, r)?;
        Ok(ErrorBody { kind, message })
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {:#06x}): {}", self.kind.name(), self.code(), self.message)
    }
}

impl std::error::Error for ErrorBody {}

/// Every code with its own variant; `Other` must not carry one of these.
const KNOWN_CODES: [i32; 20] = [
    0x0000, 0x000A, 0x0100, 0x1000, 0x1001, 0x1002, 0x1003, 0x1100, 0x1200, 0x1300, 0x1400, 0x1500, 0x1600, 0x1700,
    0x2000, 0x2100, 0x2200, 0x2300, 0x2400, 0x2500,
];

impl ErrorKind {
    /// The error code (spec v5 §8, v4 §9).
    pub fn code(&self) -> i32 {
        use ErrorKind::*;
        match self {
            ServerError => 0x0000,
            ProtocolError => 0x000A,
            AuthenticationError => 0x0100,
            Unavailable { .. } => 0x1000,
            Overloaded => 0x1001,
            IsBootstrapping => 0x1002,
            TruncateError => 0x1003,
            WriteTimeout { .. } => 0x1100,
            ReadTimeout { .. } => 0x1200,
            ReadFailure { .. } => 0x1300,
            FunctionFailure { .. } => 0x1400,
            WriteFailure { .. } => 0x1500,
            CdcWriteFailure => 0x1600,
            CasWriteUnknown { .. } => 0x1700,
            SyntaxError => 0x2000,
            Unauthorized => 0x2100,
            Invalid => 0x2200,
            ConfigError => 0x2300,
            AlreadyExists { .. } => 0x2400,
            Unprepared { .. } => 0x2500,
            Other(code) => *code,
        }
    }

    /// A short name for messages, e.g. `Write_timeout`.
    pub fn name(&self) -> &'static str {
        use ErrorKind::*;
        match self {
            ServerError => "Server_error",
            ProtocolError => "Protocol_error",
            AuthenticationError => "Authentication_error",
            Unavailable { .. } => "Unavailable",
            Overloaded => "Overloaded",
            IsBootstrapping => "Is_bootstrapping",
            TruncateError => "Truncate_error",
            WriteTimeout { .. } => "Write_timeout",
            ReadTimeout { .. } => "Read_timeout",
            ReadFailure { .. } => "Read_failure",
            FunctionFailure { .. } => "Function_failure",
            WriteFailure { .. } => "Write_failure",
            CdcWriteFailure => "CDC_write_failure",
            CasWriteUnknown { .. } => "CAS_write_unknown",
            SyntaxError => "Syntax_error",
            Unauthorized => "Unauthorized",
            Invalid => "Invalid",
            ConfigError => "Config_error",
            AlreadyExists { .. } => "Already_exists",
            Unprepared { .. } => "Unprepared",
            Other(_) => "Unknown_error",
        }
    }

    pub(crate) fn is_known_code(code: i32) -> bool {
        KNOWN_CODES.contains(&code)
    }

    fn encode_fields(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        use ErrorKind::*;
        let head = |buf: &mut BytesMut, cl: &Consistency, a: i32, b: i32| {
            cl.write(buf);
            buf.put_i32(a);
            buf.put_i32(b);
        };
        match self {
            Unavailable { consistency, required, alive } => head(buf, consistency, *required, *alive),
            WriteTimeout { consistency, received, block_for, write_type, contentions } => {
                head(buf, consistency, *received, *block_for);
                write_type.encode(buf)?;
                // spec v5 §8 (0x1100): contentions follow a CAS write type, and only in v5.
                match (version >= Version::V5, *write_type == WriteType::Cas, contentions) {
                    (true, true, Some(c)) => buf.put_u16(*c),
                    (false, _, None) | (true, false, None) => {}
                    (false, _, Some(_)) => return Err(EncodeError::NotInVersion { what: "CAS contentions", version }),
                    (true, false, Some(_)) => {
                        return Err(EncodeError::Invalid {
                            what: "CAS contentions",
                            detail: format!("only a CAS write carries contentions, not {}", write_type.as_str()),
                        });
                    }
                    (true, true, None) => {
                        return Err(EncodeError::Invalid {
                            what: "CAS contentions",
                            detail: "a v5 CAS write timeout must carry contentions".into(),
                        });
                    }
                }
            }
            ReadTimeout { consistency, received, block_for, data_present } => {
                head(buf, consistency, *received, *block_for);
                buf.put_u8(u8::from(*data_present));
            }
            ReadFailure { consistency, received, block_for, failures, data_present } => {
                head(buf, consistency, *received, *block_for);
                failures.encode(version, buf)?;
                buf.put_u8(u8::from(*data_present));
            }
            FunctionFailure { keyspace, function, arg_types } => {
                wire::put_string(buf, keyspace, "Function_failure keyspace")?;
                wire::put_string(buf, function, "Function_failure function")?;
                wire::put_string_list(buf, arg_types, "Function_failure argument types")?;
            }
            WriteFailure { consistency, received, block_for, failures, write_type } => {
                head(buf, consistency, *received, *block_for);
                failures.encode(version, buf)?;
                write_type.encode(buf)?;
            }
            CasWriteUnknown { consistency, received, block_for } => head(buf, consistency, *received, *block_for),
            AlreadyExists { keyspace, table } => {
                wire::put_string(buf, keyspace, "Already_exists keyspace")?;
                wire::put_string(buf, table, "Already_exists table")?;
            }
            Unprepared { id } => wire::put_short_bytes(buf, id, "Unprepared statement id")?,
            ServerError | ProtocolError | AuthenticationError | Overloaded | IsBootstrapping | TruncateError
            | CdcWriteFailure | SyntaxError | Unauthorized | Invalid | ConfigError | Other(_) => {}
        }
        Ok(())
    }

    fn decode_fields(code: i32, version: Version, r: &mut Reader<'_>) -> Result<ErrorKind, DecodeError> {
        use ErrorKind::*;
        let cl = |r: &mut Reader<'_>| Consistency::read(r, "error consistency");
        Ok(match code {
            0x0000 => ServerError,
            0x000A => ProtocolError,
            0x0100 => AuthenticationError,
            0x1000 => Unavailable {
                consistency: cl(r)?,
                required: r.read_i32("Unavailable required")?,
                alive: r.read_i32("Unavailable alive")?,
            },
            0x1001 => Overloaded,
            0x1002 => IsBootstrapping,
            0x1003 => TruncateError,
            0x1100 => {
                let consistency = cl(r)?;
                let received = r.read_i32("Write_timeout received")?;
                let block_for = r.read_i32("Write_timeout blockfor")?;
                let write_type = WriteType::decode(r)?;
                let contentions = if version >= Version::V5 && write_type == WriteType::Cas {
                    Some(r.read_u16("Write_timeout contentions")?)
                } else {
                    None
                };
                WriteTimeout { consistency, received, block_for, write_type, contentions }
            }
            0x1200 => ReadTimeout {
                consistency: cl(r)?,
                received: r.read_i32("Read_timeout received")?,
                block_for: r.read_i32("Read_timeout blockfor")?,
                data_present: r.read_u8("Read_timeout data_present")? != 0,
            },
            0x1300 => ReadFailure {
                consistency: cl(r)?,
                received: r.read_i32("Read_failure received")?,
                block_for: r.read_i32("Read_failure blockfor")?,
                failures: Failures::decode(version, r)?,
                data_present: r.read_u8("Read_failure data_present")? != 0,
            },
            0x1400 => FunctionFailure {
                keyspace: r.read_string("Function_failure keyspace")?,
                function: r.read_string("Function_failure function")?,
                arg_types: r.read_string_list("Function_failure argument types")?,
            },
            0x1500 => WriteFailure {
                consistency: cl(r)?,
                received: r.read_i32("Write_failure received")?,
                block_for: r.read_i32("Write_failure blockfor")?,
                failures: Failures::decode(version, r)?,
                write_type: WriteType::decode(r)?,
            },
            0x1600 => CdcWriteFailure,
            0x1700 => CasWriteUnknown {
                consistency: cl(r)?,
                received: r.read_i32("CAS_write_unknown received")?,
                block_for: r.read_i32("CAS_write_unknown blockfor")?,
            },
            0x2000 => SyntaxError,
            0x2100 => Unauthorized,
            0x2200 => Invalid,
            0x2300 => ConfigError,
            0x2400 => AlreadyExists {
                keyspace: r.read_string("Already_exists keyspace")?,
                table: r.read_string("Already_exists table")?,
            },
            0x2500 => Unprepared { id: r.read_short_bytes("Unprepared statement id")? },
            other => Other(other),
        })
    }
}

impl Failures {
    /// How many replicas failed.
    pub fn count(&self) -> i32 {
        match self {
            Failures::Count(n) => *n,
            Failures::ReasonMap(m) => i32::try_from(m.len()).unwrap_or(i32::MAX),
        }
    }

    fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        // spec v5 §9: v5 replaced <numfailures> with <reasonmap>.
        match self {
            Failures::Count(n) if version < Version::V5 => buf.put_i32(*n),
            Failures::Count(_) => return Err(EncodeError::NotInVersion { what: "numfailures", version }),
            Failures::ReasonMap(_) if version < Version::V5 => {
                return Err(EncodeError::NotInVersion { what: "failure reason map", version });
            }
            Failures::ReasonMap(m) => {
                wire::put_int_len(buf, m.len(), "failure reason map")?;
                for (ip, reason) in m {
                    wire::put_inetaddr(buf, ip);
                    buf.put_u16(*reason);
                }
            }
        }
        Ok(())
    }

    fn decode(version: Version, r: &mut Reader<'_>) -> Result<Failures, DecodeError> {
        if version < Version::V5 {
            return Ok(Failures::Count(r.read_i32("numfailures")?));
        }
        // Each entry is at least a 5-byte `[inetaddr]` and a `[short]`.
        let n = r.read_count_i32("failure reason map", 7)?;
        let mut m = Vec::with_capacity(n);
        for _ in 0..n {
            let ip = r.read_inetaddr("failure reason endpoint")?;
            m.push((ip, r.read_u16("failure reason code")?));
        }
        Ok(Failures::ReasonMap(m))
    }
}

const WRITE_TYPES: [(&str, WriteType); 8] = [
    ("SIMPLE", WriteType::Simple),
    ("BATCH", WriteType::Batch),
    ("UNLOGGED_BATCH", WriteType::UnloggedBatch),
    ("COUNTER", WriteType::Counter),
    ("BATCH_LOG", WriteType::BatchLog),
    ("CAS", WriteType::Cas),
    ("VIEW", WriteType::View),
    ("CDC", WriteType::Cdc),
];

impl WriteType {
    /// The name on the wire, e.g. `UNLOGGED_BATCH`.
    pub fn as_str(&self) -> &str {
        match self {
            WriteType::Other(s) => s,
            known => WRITE_TYPES.iter().find(|(_, t)| t == known).map_or("", |(n, _)| n),
        }
    }

    /// The write type with this wire name; unknown names become [`WriteType::Other`].
    pub fn from_name(name: &str) -> WriteType {
        WRITE_TYPES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| WriteType::Other(name.to_owned()), |(_, t)| t.clone())
    }

    fn encode(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if let WriteType::Other(s) = self
            && WRITE_TYPES.iter().any(|(n, _)| n == s)
        {
            return Err(EncodeError::Invalid {
                what: "write type",
                detail: format!("{s:?} has its own WriteType variant"),
            });
        }
        wire::put_string(buf, self.as_str(), "write type")
    }

    fn decode(r: &mut Reader<'_>) -> Result<WriteType, DecodeError> {
        r.read_str("write type").map(WriteType::from_name)
    }
}

impl fmt::Display for WriteType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::protocol::header::Opcode;
    use crate::protocol::response::Response;
    use crate::protocol::response::testing::*;

    fn err(kind: ErrorKind, message: &str) -> Response {
        Response::Error(ErrorBody::new(kind, message))
    }

    #[test]
    fn unavailable_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x00, 0x10, 0x00,             // code: Unavailable
            0x00, 0x02, b'n', b'o',             // message "no"
            0x00, 0x04,                         // consistency QUORUM
            0x00, 0x00, 0x00, 0x03,             // required 3
            0x00, 0x00, 0x00, 0x01,             // alive 1
        ];
        let expected = err(ErrorKind::Unavailable { consistency: Consistency::Quorum, required: 3, alive: 1 }, "no");
        for v in Version::ALL {
            check_vector(v, &body, &expected);
        }
    }

    #[test]
    fn read_failure_v4_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x00, 0x13, 0x00,             // code: Read_failure
            0x00, 0x01, b'x',                   // message "x"
            0x00, 0x06,                         // LOCAL_QUORUM
            0x00, 0x00, 0x00, 0x01,             // received 1
            0x00, 0x00, 0x00, 0x02,             // blockfor 2
            0x00, 0x00, 0x00, 0x01,             // numfailures 1
            0x00,                               // data_present false
        ];
        let expected = err(
            ErrorKind::ReadFailure {
                consistency: Consistency::LocalQuorum,
                received: 1,
                block_for: 2,
                failures: Failures::Count(1),
                data_present: false,
            },
            "x",
        );
        check_vector(Version::V4, &body, &expected);
        check_vector(Version::V3, &body, &expected);
        assert!(matches!(encode(&expected, Version::V5), Err(EncodeError::NotInVersion { .. })));
    }

    #[test]
    fn read_failure_v5_vector() {
        #[rustfmt::skip]
        let body = [
            0x00, 0x00, 0x13, 0x00,             // code: Read_failure
            0x00, 0x00,                         // empty message
            0x00, 0x01,                         // ONE
            0x00, 0x00, 0x00, 0x00,             // received 0
            0x00, 0x00, 0x00, 0x01,             // blockfor 1
            0x00, 0x00, 0x00, 0x02,             // reasonmap: 2 entries
            0x04, 10, 0, 0, 1, 0x00, 0x00,      //   10.0.0.1 -> 0
            0x10, 0, 0, 0, 0, 0, 0, 0, 0,       //   ::1 -> 1
                  0, 0, 0, 0, 0, 0, 0, 1,
                  0x00, 0x01,
            0x01,                               // data_present true
        ];
        let expected = err(
            ErrorKind::ReadFailure {
                consistency: Consistency::One,
                received: 0,
                block_for: 1,
                failures: Failures::ReasonMap(vec![
                    (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 0),
                    (IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 1),
                ]),
                data_present: true,
            },
            "",
        );
        check_vector(Version::V5, &body, &expected);
        assert!(matches!(encode(&expected, Version::V4), Err(EncodeError::NotInVersion { .. })));
        // Any nonzero data_present byte is true.
        let mut other = body;
        *other.last_mut().unwrap() = 0x7f;
        assert_eq!(decode(Opcode::Error, Version::V5, &other), Ok(expected));
    }

    #[test]
    fn write_timeout_cas_contentions_are_v5_only() {
        #[rustfmt::skip]
        let v5 = [
            0x00, 0x00, 0x11, 0x00,             // code: Write_timeout
            0x00, 0x00,                         // message ""
            0x00, 0x08,                         // SERIAL
            0x00, 0x00, 0x00, 0x00,             // received
            0x00, 0x00, 0x00, 0x02,             // blockfor
            0x00, 0x03, b'C', b'A', b'S',       // write type
            0x00, 0x07,                         // contentions 7
        ];
        let cas = |contentions| ErrorKind::WriteTimeout {
            consistency: Consistency::Serial,
            received: 0,
            block_for: 2,
            write_type: WriteType::Cas,
            contentions,
        };
        check_vector(Version::V5, &v5, &err(cas(Some(7)), ""));
        check_vector(Version::V4, &v5[..v5.len() - 2], &err(cas(None), ""));
        assert!(matches!(encode(&err(cas(Some(7)), ""), Version::V4), Err(EncodeError::NotInVersion { .. })));
        assert!(matches!(encode(&err(cas(None), ""), Version::V5), Err(EncodeError::Invalid { .. })));
        let simple = ErrorKind::WriteTimeout {
            consistency: Consistency::One,
            received: 0,
            block_for: 1,
            write_type: WriteType::Simple,
            contentions: Some(1),
        };
        assert!(matches!(encode(&err(simple, ""), Version::V5), Err(EncodeError::Invalid { .. })));
    }

    #[test]
    fn unknown_codes_and_write_types() {
        // An unknown code keeps the message and skips whatever follows.
        let body = [0x00, 0x00, 0x77, 0x77, 0x00, 0x01, b'?', 1, 2, 3];
        assert_eq!(decode(Opcode::Error, Version::V4, &body), Ok(err(ErrorKind::Other(0x7777), "?")));
        assert_eq!(encode(&err(ErrorKind::Other(0x7777), "?"), Version::V4).unwrap(), &body[..7]);
        // Other must not hide a known code.
        assert!(encode(&err(ErrorKind::Other(0x1000), ""), Version::V4).is_err());
        assert_eq!(WriteType::from_name("FANCY"), WriteType::Other("FANCY".into()));
        assert_eq!(WriteType::from_name("BATCH_LOG"), WriteType::BatchLog);
        let wf = |write_type| ErrorKind::WriteFailure {
            consistency: Consistency::All,
            received: 1,
            block_for: 3,
            failures: Failures::Count(2),
            write_type,
        };
        assert!(encode(&err(wf(WriteType::Other("CAS".into())), ""), Version::V4).is_err());
        let ok = err(wf(WriteType::Other("FANCY".into())), "");
        assert_eq!(decode(Opcode::Error, Version::V4, &encode(&ok, Version::V4).unwrap()), Ok(ok));
    }

    #[test]
    fn hostile_reason_map_counts() {
        let head = [0, 0, 0x15, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
        for count in [i32::MAX, -1, i32::MIN, 3] {
            let mut body = head.to_vec();
            body.extend_from_slice(&count.to_be_bytes());
            body.extend_from_slice(&[4, 1, 2, 3, 4, 0, 0]);
            assert!(decode(Opcode::Error, Version::V5, &body).is_err(), "count {count}");
        }
    }

    #[test]
    fn display_names_the_error() {
        let e = ErrorBody::new(ErrorKind::SyntaxError, "line 1:0 no viable alternative");
        assert_eq!(e.to_string(), "Syntax_error (code 0x2000): line 1:0 no viable alternative");
        assert_eq!(e.code(), 0x2000);
    }
}
