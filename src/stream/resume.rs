//! Resume points: where a stream stands, as a token that outlives the process.
//!
//! A token is the paging state that fetched the page being read (none for the first
//! page), how many rows of that page were consumed, the page's number, and a
//! fingerprint of the statement text so a token is not applied to another query by
//! mistake. The paging state alone cannot say "the middle of a page"; with the row
//! count, a resumed stream asks for that page again and drops the rows already
//! consumed, so every row is seen exactly once across a crash.
//!
//! Owns the token and its encodings (bytes, and hex for text); the streams decide what
//! to put in it. Decoding is defensive: a token is user input, so any `u64` is read as
//! it is and the streams do no unchecked arithmetic on its fields (page numbers stop at
//! `u64::MAX`; a row count past the result's end resumes to an empty, finished stream).

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, Bytes, BytesMut};

/// A token at which a stream can be resumed: see [`RowStream::resume_point`].
///
/// It serialises to bytes ([`to_bytes`](ResumePoint::to_bytes)) and to a string
/// (`Display`, hex), and parses back from either:
///
/// ```
/// use cqlstream::stream::ResumePoint;
///
/// let start = ResumePoint::start("SELECT * FROM ks.t");
/// let text = start.to_string();
/// assert_eq!(text.parse::<ResumePoint>()?, start);
/// assert_eq!(ResumePoint::from_bytes(&start.to_bytes())?, start);
/// assert_eq!(start.rows_consumed(), 0);
/// assert!("not a token".parse::<ResumePoint>().is_err());
/// # Ok::<(), cqlstream::stream::InvalidResumePoint>(())
/// ```
///
/// [`RowStream::resume_point`]: super::RowStream::resume_point
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResumePoint {
    pub(crate) paging_state: Option<Bytes>,
    pub(crate) rows_consumed: u64,
    pub(crate) page: u64,
    pub(crate) finished: bool,
    pub(crate) statement: u64,
}

/// A resume token that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid resume point: {0}")]
pub struct InvalidResumePoint(pub(crate) &'static str);

const MAGIC: &[u8; 3] = b"CQR";
const FORMAT: u8 = 1;
const FINISHED: u8 = 0x01;
const HAS_STATE: u8 = 0x02;
/// Magic, format, flags, fingerprint, page, rows.
const FIXED: usize = 3 + 1 + 1 + 8 + 8 + 8;

/// FNV-1a over the statement text: stable across processes and Rust versions.
pub(crate) fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl ResumePoint {
    /// The start of `statement`: resuming from it reads everything.
    pub fn start(statement: &str) -> ResumePoint {
        ResumePoint {
            paging_state: None,
            rows_consumed: 0,
            page: 0,
            finished: false,
            statement: fingerprint(statement),
        }
    }

    /// The paging state of the page to ask for when resuming (`None`: the first page).
    pub fn paging_state(&self) -> Option<&Bytes> {
        self.paging_state.as_ref()
    }

    /// Rows already consumed from that page on, dropped when resuming. Usually fewer
    /// than a page; more when the token was taken while a resumed stream was still
    /// dropping the rows consumed before it (they are then dropped across as many pages
    /// as it takes).
    pub fn rows_consumed(&self) -> u64 {
        self.rows_consumed
    }

    /// The number (0-based) of the page to resume in.
    pub fn page(&self) -> u64 {
        self.page
    }

    /// Whether the stream had delivered everything: resuming yields nothing.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the token was taken from a stream of this statement text.
    pub fn is_for(&self, statement: &str) -> bool {
        self.statement == fingerprint(statement)
    }

    /// The token as bytes.
    pub fn to_bytes(&self) -> Bytes {
        let state = self.paging_state.as_deref().unwrap_or_default();
        let mut b = BytesMut::with_capacity(FIXED + state.len());
        b.put_slice(MAGIC);
        b.put_u8(FORMAT);
        let mut flags = 0;
        if self.finished {
            flags |= FINISHED;
        }
        if self.paging_state.is_some() {
            flags |= HAS_STATE;
        }
        b.put_u8(flags);
        b.put_u64(self.statement);
        b.put_u64(self.page);
        b.put_u64(self.rows_consumed);
        b.put_slice(state);
        b.freeze()
    }

    /// Reads a token written by [`to_bytes`](ResumePoint::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<ResumePoint, InvalidResumePoint> {
        if bytes.len() < FIXED {
            return Err(InvalidResumePoint("too short"));
        }
        if &bytes[..3] != MAGIC {
            return Err(InvalidResumePoint("not a cqlstream resume token"));
        }
        if bytes[3] != FORMAT {
            return Err(InvalidResumePoint("unknown token format"));
        }
        let flags = bytes[4];
        if flags & !(FINISHED | HAS_STATE) != 0 {
            return Err(InvalidResumePoint("unknown flags"));
        }
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(a)
        };
        let state = &bytes[FIXED..];
        let paging_state = if flags & HAS_STATE != 0 {
            Some(Bytes::copy_from_slice(state))
        } else if state.is_empty() {
            None
        } else {
            return Err(InvalidResumePoint("trailing bytes"));
        };
        Ok(ResumePoint {
            paging_state,
            rows_consumed: u64_at(21),
            page: u64_at(13),
            finished: flags & FINISHED != 0,
            statement: u64_at(5),
        })
    }
}

impl fmt::Display for ResumePoint {
    /// Lower-case hex of [`to_bytes`](ResumePoint::to_bytes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.to_bytes().iter() {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for ResumePoint {
    type Err = InvalidResumePoint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.len().is_multiple_of(2) {
            return Err(InvalidResumePoint("odd number of hex digits"));
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(InvalidResumePoint("not hex")),
        };
        let bytes = s
            .as_bytes()
            .chunks_exact(2)
            .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
            .collect::<Result<Vec<u8>, _>>()?;
        ResumePoint::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point() -> impl Strategy<Value = ResumePoint> {
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(|(state, rows_consumed, page, finished, statement)| ResumePoint {
                paging_state: state.map(Bytes::from),
                rows_consumed,
                page,
                finished,
                statement,
            })
    }

    proptest! {
        #[test]
        fn roundtrips(p in point()) {
            prop_assert_eq!(ResumePoint::from_bytes(&p.to_bytes()).unwrap(), p.clone());
            prop_assert_eq!(p.to_string().parse::<ResumePoint>().unwrap(), p.clone());
            prop_assert_eq!(p.to_string().to_uppercase().parse::<ResumePoint>().unwrap(), p);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), text in ".{0,80}") {
            let _ = ResumePoint::from_bytes(&bytes);
            let _ = text.parse::<ResumePoint>();
        }
    }

    #[test]
    fn errors_say_why() {
        let good = ResumePoint::start("q").to_bytes();
        assert_eq!(ResumePoint::from_bytes(&good[..10]).unwrap_err().to_string(), "invalid resume point: too short");
        let mut bad = good.to_vec();
        bad[0] = b'X';
        assert!(ResumePoint::from_bytes(&bad).unwrap_err().to_string().contains("not a cqlstream resume token"));
        let mut bad = good.to_vec();
        bad.push(1);
        assert_eq!(ResumePoint::from_bytes(&bad).unwrap_err().0, "trailing bytes");
        assert_eq!("abc".parse::<ResumePoint>().unwrap_err().0, "odd number of hex digits");
        assert_eq!("zz".parse::<ResumePoint>().unwrap_err().0, "not hex");
    }

    #[test]
    fn numbers_at_the_top_of_u64_are_read_as_they_are() {
        let p = ResumePoint { page: u64::MAX, rows_consumed: u64::MAX, ..ResumePoint::start("q") };
        let back = ResumePoint::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!((back.page(), back.rows_consumed()), (u64::MAX, u64::MAX));
    }

    #[test]
    fn fingerprints_tell_statements_apart() {
        let p = ResumePoint::start("SELECT * FROM ks.a");
        assert!(p.is_for("SELECT * FROM ks.a"));
        assert!(!p.is_for("SELECT * FROM ks.b"));
        assert_eq!(fingerprint(""), 0xcbf2_9ce4_8422_2325);
    }
}
