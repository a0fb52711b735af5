//! Bound values of QUERY, EXECUTE and BATCH: the `[value]` notation (spec §3) and the
//! `<n><value_1>...<value_n>` list, optionally with names (flag 0x40, v4 §4.1.4).
//!
//! [`Values`] keeps the encoded list as one [`Bytes`]: decoding slices it out of the
//! body without copying, and the session layer writes values straight into a
//! [`ValuesWriter`]. The list is validated once when built or decoded, so iterating
//! it cannot fail. Converting Rust types to value bytes is not this module's job.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{DecodeError, EncodeError};
use super::wire::{self, Reader};

/// One `[value]`: bytes, null, or "not set" (leave the column unchanged; v4+).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// Length -1.
    Null,
    /// Length -2 (v4+): the bound variable is left unset.
    NotSet,
    /// The serialised value.
    Bytes(Bytes),
}

/// A borrowed `[value]`, as yielded by [`Values::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueRef<'a> {
    /// Length -1.
    Null,
    /// Length -2.
    NotSet,
    /// The serialised value.
    Bytes(&'a [u8]),
}

/// An encoded list of bound values, positional or named.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Values {
    count: u16,
    named: bool,
    raw: Bytes,
}

impl Values {
    /// No values.
    pub fn empty() -> Values {
        Values::default()
    }

    /// Positional values from an iterator.
    pub fn positional<I: IntoIterator<Item = Value>>(values: I) -> Result<Values, EncodeError> {
        let mut w = ValuesWriter::positional();
        for v in values {
            w.push(&v)?;
        }
        Ok(w.finish())
    }

    /// Named values from an iterator of `(name, value)`.
    pub fn named<'n, I: IntoIterator<Item = (&'n str, Value)>>(values: I) -> Result<Values, EncodeError> {
        let mut w = ValuesWriter::named();
        for (n, v) in values {
            w.push_named(n, &v)?;
        }
        Ok(w.finish())
    }

    /// How many values.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether each value carries a name.
    pub fn is_named(&self) -> bool {
        self.named
    }

    /// The encoded values, without the leading `[short]` count.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The values with their names (`None` for positional values).
    pub fn iter(&self) -> ValuesIter<'_> {
        ValuesIter { r: Reader::new(&self.raw), left: self.count, named: self.named }
    }

    /// Reads `<n>` and n (`[string]` name)? `[value]` entries, slicing them from the body.
    pub(crate) fn read(r: &mut Reader<'_>, named: bool) -> Result<Values, DecodeError> {
        let count = r.read_count_u16("values count", 4)?;
        let start = r.position();
        for _ in 0..count {
            if named {
                r.read_str("value name")?;
            }
            r.skip_value("bound value")?;
        }
        Ok(Values { count: count as u16, named, raw: r.slice(start, r.position()) })
    }

    /// Writes `<n>` then the entries.
    pub(crate) fn write(&self, buf: &mut BytesMut) {
        buf.put_u16(self.count);
        buf.put_slice(&self.raw);
    }
}

/// Iterator over [`Values`]: `(name, value)`.
#[derive(Debug, Clone)]
pub struct ValuesIter<'a> {
    r: Reader<'a>,
    left: u16,
    named: bool,
}

impl<'a> Iterator for ValuesIter<'a> {
    type Item = (Option<&'a str>, ValueRef<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // The list was validated when built or decoded; a failure here cannot happen,
        // and ends the iteration rather than panicking.
        let name = if self.named { Some(self.r.read_str("value name").ok()?) } else { None };
        let v = match self.r.read_i32("bound value").ok()? {
            -1 => ValueRef::Null,
            -2 => ValueRef::NotSet,
            n => ValueRef::Bytes(self.r.take(usize::try_from(n).ok()?, "bound value").ok()?),
        };
        Some((name, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.left)))
    }
}

/// Builds a [`Values`] list by appending encoded values.
#[derive(Debug, Default)]
pub struct ValuesWriter {
    buf: BytesMut,
    count: u16,
    named: bool,
}

impl ValuesWriter {
    /// A writer for positional values.
    pub fn positional() -> Self {
        ValuesWriter::default()
    }

    /// A writer for named values.
    pub fn named() -> Self {
        ValuesWriter { named: true, ..Default::default() }
    }

    /// A writer whose buffer starts with room for `capacity` bytes.
    pub(crate) fn with_capacity(named: bool, capacity: usize) -> Self {
        ValuesWriter { buf: BytesMut::with_capacity(capacity), count: 0, named }
    }

    /// The list's buffer, for a caller that writes one entry (the name of a named
    /// value, then the `[value]`) in place and then calls [`ValuesWriter::counted`].
    /// The caller is responsible for the entry being well formed.
    pub(crate) fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Counts an entry written through [`ValuesWriter::buf_mut`].
    pub(crate) fn counted(&mut self) -> Result<(), EncodeError> {
        self.bump()
    }

    fn bump(&mut self) -> Result<(), EncodeError> {
        self.count =
            self.count.checked_add(1).ok_or(EncodeError::TooLong { what: "bound values", len: 65536, max: 65535 })?;
        Ok(())
    }

    /// Appends a positional value.
    pub fn push(&mut self, v: &Value) -> Result<(), EncodeError> {
        if self.named {
            return Err(EncodeError::Invalid {
                what: "bound values",
                detail: "positional value in a named list".into(),
            });
        }
        self.bump()?;
        wire::put_value(&mut self.buf, v, "bound value")
    }

    /// Appends a positional value from its serialised bytes (`None` = null).
    pub fn push_bytes(&mut self, v: Option<&[u8]>) -> Result<(), EncodeError> {
        if self.named {
            return Err(EncodeError::Invalid {
                what: "bound values",
                detail: "positional value in a named list".into(),
            });
        }
        self.bump()?;
        wire::put_bytes(&mut self.buf, v, "bound value")
    }

    /// Appends a named value.
    pub fn push_named(&mut self, name: &str, v: &Value) -> Result<(), EncodeError> {
        if !self.named {
            return Err(EncodeError::Invalid {
                what: "bound values",
                detail: "named value in a positional list".into(),
            });
        }
        self.bump()?;
        wire::put_string(&mut self.buf, name, "value name")?;
        wire::put_value(&mut self.buf, v, "bound value")
    }

    /// The finished list.
    pub fn finish(self) -> Values {
        Values { count: self.count, named: self.named, raw: self.buf.freeze() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_and_named_roundtrip() {
        let v = Values::positional([Value::Bytes(Bytes::from_static(b"ab")), Value::Null, Value::NotSet]).unwrap();
        let mut buf = BytesMut::new();
        v.write(&mut buf);
        assert_eq!(&buf[..], &[0, 3, 0, 0, 0, 2, b'a', b'b', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        let src = buf.freeze();
        let back = Values::read(&mut Reader::new(&src), false).unwrap();
        assert_eq!(back, v);
        let items: Vec<_> = back.iter().collect();
        assert_eq!(items, vec![(None, ValueRef::Bytes(b"ab")), (None, ValueRef::Null), (None, ValueRef::NotSet)]);

        let n = Values::named([("k", Value::Null)]).unwrap();
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![(Some("k"), ValueRef::Null)]);
    }

    #[test]
    fn mixing_kinds_is_an_error() {
        assert!(ValuesWriter::positional().push_named("a", &Value::Null).is_err());
        assert!(ValuesWriter::named().push(&Value::Null).is_err());
    }

    #[test]
    fn hostile_count_is_rejected() {
        let src = Bytes::from_static(&[0xff, 0xff, 0, 0, 0, 0]);
        assert!(Values::read(&mut Reader::new(&src), false).is_err());
    }
}
