//! The notations of spec §3 (v4 §3, v5 §3): `[int]`, `[string]`, `[bytes]`, `[value]`, vints,
//! `[inet]`, maps and lists, read from and written to byte buffers.
//!
//! [`Reader`] walks a body held in one [`Bytes`]: it hands out `&[u8]`/`&str` borrowed
//! from it, or `Bytes` slices of it (no copy), and checks every length against what is
//! left before it allocates. The `put_*` functions append to a [`BytesMut`] and refuse
//! values whose length does not fit the field. This module knows nothing of messages.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::error::{DecodeError, EncodeError};
use super::values::Value;

/// A `[string map]`: pairs in wire order.
pub type StringMap = Vec<(String, String)>;
/// A `[string multimap]`: keys with their `[string list]`, in wire order.
pub type StringMultimap = Vec<(String, Vec<String>)>;
/// A `[bytes map]`: keys with their (nullable) `[bytes]`, in wire order (the custom payload).
pub type BytesMap = Vec<(String, Option<Bytes>)>;

type Result<T> = std::result::Result<T, DecodeError>;

/// A cursor over one message body. Offsets in errors are relative to the body start.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    src: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `src`.
    pub fn new(src: &'a Bytes) -> Self {
        Reader { src, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.src.len() - self.pos
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn truncated(&self, what: &'static str, needed: usize) -> DecodeError {
        DecodeError::Truncated { what, at: self.pos, needed, available: self.remaining() }
    }

    /// Error helper: an invalid value at the current position.
    pub fn invalid(&self, what: &'static str, detail: impl Into<String>) -> DecodeError {
        DecodeError::Invalid { what, at: self.pos, detail: detail.into() }
    }

    /// The next `n` bytes, borrowed.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated(what, n));
        }
        let s = &self.src[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `n` bytes as a zero-copy slice of the body.
    pub fn take_bytes(&mut self, n: usize, what: &'static str) -> Result<Bytes> {
        if n > self.remaining() {
            return Err(self.truncated(what, n));
        }
        let b = self.src.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    /// Everything left, as a zero-copy slice.
    pub fn rest(&mut self) -> Bytes {
        let b = self.src.slice(self.pos..);
        self.pos = self.src.len();
        b
    }

    /// A zero-copy slice of the body between two offsets already read.
    pub fn slice(&self, from: usize, to: usize) -> Bytes {
        self.src.slice(from..to)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A `[byte]`.
    pub fn read_u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A `[short]` (unsigned).
    pub fn read_u16(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A 2-byte signed integer (stream ids).
    pub fn read_i16(&mut self, what: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    /// An `[int]`.
    pub fn read_i32(&mut self, what: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// A `[long]`.
    pub fn read_i64(&mut self, what: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    /// An `[int]` that must be a non-negative count or length.
    pub fn read_len(&mut self, what: &'static str) -> Result<usize> {
        let at = self.pos;
        let n = self.read_i32(what)?;
        usize::try_from(n).map_err(|_| DecodeError::InvalidLength { what, at, len: n.into() })
    }

    /// A count of items each at least `min_item` bytes long; rejected before any
    /// allocation when the input cannot hold that many.
    pub fn read_count_i32(&mut self, what: &'static str, min_item: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.read_len(what)?;
        self.check_count(what, at, n, min_item)?;
        Ok(n)
    }

    /// Like [`Reader::read_count_i32`] for a `[short]` count.
    pub fn read_count_u16(&mut self, what: &'static str, min_item: usize) -> Result<usize> {
        let at = self.pos;
        let n = usize::from(self.read_u16(what)?);
        self.check_count(what, at, n, min_item)?;
        Ok(n)
    }

    fn check_count(&self, what: &'static str, at: usize, n: usize, min_item: usize) -> Result<()> {
        if n.saturating_mul(min_item) > self.remaining() {
            return Err(DecodeError::InvalidLength { what, at, len: n as i64 });
        }
        Ok(())
    }

    fn utf8(&self, what: &'static str, at: usize, b: &'a [u8]) -> Result<&'a str> {
        std::str::from_utf8(b).map_err(|_| DecodeError::InvalidUtf8 { what, at })
    }

    /// A `[string]`, borrowed.
    pub fn read_str(&mut self, what: &'static str) -> Result<&'a str> {
        let n = usize::from(self.read_u16(what)?);
        let at = self.pos;
        let b = self.take(n, what)?;
        self.utf8(what, at, b)
    }

    /// A `[string]`, owned.
    pub fn read_string(&mut self, what: &'static str) -> Result<String> {
        self.read_str(what).map(str::to_owned)
    }

    /// A `[long string]`, owned.
    pub fn read_long_string(&mut self, what: &'static str) -> Result<String> {
        let n = self.read_len(what)?;
        let at = self.pos;
        let b = self.take(n, what)?;
        self.utf8(what, at, b).map(str::to_owned)
    }

    /// A `[bytes]`: `None` for a negative length (null).
    pub fn read_bytes(&mut self, what: &'static str) -> Result<Option<Bytes>> {
        let n = self.read_i32(what)?;
        if n < 0 {
            return Ok(None);
        }
        self.take_bytes(n as usize, what).map(Some)
    }

    /// A `[bytes]` as a borrowed slice: `None` for null.
    pub fn read_bytes_ref(&mut self, what: &'static str) -> Result<Option<&'a [u8]>> {
        let n = self.read_i32(what)?;
        if n < 0 {
            return Ok(None);
        }
        self.take(n as usize, what).map(Some)
    }

    /// A `[value]`: length -1 is null, -2 is not set, anything below is an error.
    pub fn read_value(&mut self, what: &'static str) -> Result<Value> {
        let at = self.pos;
        match self.read_i32(what)? {
            -1 => Ok(Value::Null),
            -2 => Ok(Value::NotSet),
            n if n < 0 => Err(DecodeError::InvalidLength { what, at, len: n.into() }),
            n => self.take_bytes(n as usize, what).map(Value::Bytes),
        }
    }

    /// Skips one `[value]`, checking its length.
    pub fn skip_value(&mut self, what: &'static str) -> Result<()> {
        let at = self.pos;
        match self.read_i32(what)? {
            -1 | -2 => Ok(()),
            n if n < 0 => Err(DecodeError::InvalidLength { what, at, len: n.into() }),
            n => self.take(n as usize, what).map(drop),
        }
    }

    /// A `[short bytes]`.
    pub fn read_short_bytes(&mut self, what: &'static str) -> Result<Bytes> {
        let n = usize::from(self.read_u16(what)?);
        self.take_bytes(n, what)
    }

    /// A `[uuid]`.
    pub fn read_uuid(&mut self, what: &'static str) -> Result<Uuid> {
        Ok(Uuid::from_bytes(self.array(what)?))
    }

    /// A `[string list]`.
    pub fn read_string_list(&mut self, what: &'static str) -> Result<Vec<String>> {
        let n = self.read_count_u16(what, 2)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.read_string(what)?);
        }
        Ok(v)
    }

    /// A `[string map]`.
    pub fn read_string_map(&mut self, what: &'static str) -> Result<StringMap> {
        let n = self.read_count_u16(what, 4)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.read_string(what)?;
            v.push((k, self.read_string(what)?));
        }
        Ok(v)
    }

    /// A `[string multimap]`.
    pub fn read_string_multimap(&mut self, what: &'static str) -> Result<StringMultimap> {
        let n = self.read_count_u16(what, 4)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.read_string(what)?;
            v.push((k, self.read_string_list(what)?));
        }
        Ok(v)
    }

    /// A `[bytes map]`.
    pub fn read_bytes_map(&mut self, what: &'static str) -> Result<BytesMap> {
        let n = self.read_count_u16(what, 6)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.read_string(what)?;
            v.push((k, self.read_bytes(what)?));
        }
        Ok(v)
    }

    /// An `[inetaddr]`: a size byte (4 or 16) and the address.
    pub fn read_inetaddr(&mut self, what: &'static str) -> Result<IpAddr> {
        let at = self.pos;
        match self.read_u8(what)? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(self.array::<4>(what)?))),
            16 => Ok(IpAddr::V6(Ipv6Addr::from(self.array::<16>(what)?))),
            n => Err(DecodeError::InvalidLength { what, at, len: n.into() }),
        }
    }

    /// An `[inet]`: an `[inetaddr]` and an `[int]` port.
    pub fn read_inet(&mut self, what: &'static str) -> Result<SocketAddr> {
        let ip = self.read_inetaddr(what)?;
        let at = self.pos;
        let port = self.read_i32(what)?;
        let port = u16::try_from(port).map_err(|_| DecodeError::Invalid {
            what,
            at,
            detail: format!("port {port} out of range"),
        })?;
        Ok(SocketAddr::new(ip, port))
    }

    /// An `[unsigned vint]` (v5 §3): the count of leading one bits in the first byte is the
    /// number of extra bytes.
    pub fn read_unsigned_vint(&mut self, what: &'static str) -> Result<u64> {
        let first = self.read_u8(what)?;
        let extra = first.leading_ones() as usize;
        if extra == 0 {
            return Ok(u64::from(first));
        }
        let rest = self.take(extra, what)?;
        // The first byte keeps 8 - extra - 1 value bits (none when extra >= 7).
        let mut v = if extra >= 7 { 0 } else { u64::from(first & (0xff >> (extra + 1))) };
        for &b in rest {
            v = (v << 8) | u64::from(b);
        }
        Ok(v)
    }

    /// A `[vint]`: zig-zag over an `[unsigned vint]`.
    pub fn read_vint(&mut self, what: &'static str) -> Result<i64> {
        let u = self.read_unsigned_vint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

fn check_len(what: &'static str, len: usize, max: usize) -> std::result::Result<(), EncodeError> {
    if len > max {
        return Err(EncodeError::TooLong { what, len, max });
    }
    Ok(())
}

/// Writes a `[short]` length.
pub fn put_short_len(buf: &mut BytesMut, len: usize, what: &'static str) -> std::result::Result<(), EncodeError> {
    check_len(what, len, u16::MAX as usize)?;
    buf.put_u16(len as u16);
    Ok(())
}

/// Writes an `[int]` length.
pub fn put_int_len(buf: &mut BytesMut, len: usize, what: &'static str) -> std::result::Result<(), EncodeError> {
    check_len(what, len, i32::MAX as usize)?;
    buf.put_i32(len as i32);
    Ok(())
}

/// Writes a `[string]`.
pub fn put_string(buf: &mut BytesMut, s: &str, what: &'static str) -> std::result::Result<(), EncodeError> {
    put_short_len(buf, s.len(), what)?;
    buf.put_slice(s.as_bytes());
    Ok(())
}

/// Writes a `[long string]`.
pub fn put_long_string(buf: &mut BytesMut, s: &str, what: &'static str) -> std::result::Result<(), EncodeError> {
    put_int_len(buf, s.len(), what)?;
    buf.put_slice(s.as_bytes());
    Ok(())
}

/// Writes a `[bytes]`; `None` is null (length -1).
pub fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>, what: &'static str) -> std::result::Result<(), EncodeError> {
    match b {
        None => buf.put_i32(-1),
        Some(b) => {
            put_int_len(buf, b.len(), what)?;
            buf.put_slice(b);
        }
    }
    Ok(())
}

/// Writes a `[value]`.
pub fn put_value(buf: &mut BytesMut, v: &Value, what: &'static str) -> std::result::Result<(), EncodeError> {
    match v {
        Value::Null => buf.put_i32(-1),
        Value::NotSet => buf.put_i32(-2),
        Value::Bytes(b) => put_bytes(buf, Some(b), what)?,
    }
    Ok(())
}

/// Writes a `[short bytes]`.
pub fn put_short_bytes(buf: &mut BytesMut, b: &[u8], what: &'static str) -> std::result::Result<(), EncodeError> {
    put_short_len(buf, b.len(), what)?;
    buf.put_slice(b);
    Ok(())
}

/// Writes a `[uuid]`.
pub fn put_uuid(buf: &mut BytesMut, u: &Uuid) {
    buf.put_slice(u.as_bytes());
}

/// Writes a `[string list]`.
pub fn put_string_list<S: AsRef<str>>(
    buf: &mut BytesMut,
    l: &[S],
    what: &'static str,
) -> std::result::Result<(), EncodeError> {
    put_short_len(buf, l.len(), what)?;
    for s in l {
        put_string(buf, s.as_ref(), what)?;
    }
    Ok(())
}

/// Writes a `[string map]`.
pub fn put_string_map(
    buf: &mut BytesMut,
    m: &[(String, String)],
    what: &'static str,
) -> std::result::Result<(), EncodeError> {
    put_short_len(buf, m.len(), what)?;
    for (k, v) in m {
        put_string(buf, k, what)?;
        put_string(buf, v, what)?;
    }
    Ok(())
}

/// Writes a `[string multimap]`.
pub fn put_string_multimap(
    buf: &mut BytesMut,
    m: &[(String, Vec<String>)],
    what: &'static str,
) -> std::result::Result<(), EncodeError> {
    put_short_len(buf, m.len(), what)?;
    for (k, v) in m {
        put_string(buf, k, what)?;
        put_string_list(buf, v, what)?;
    }
    Ok(())
}

/// Writes a `[bytes map]`.
pub fn put_bytes_map(
    buf: &mut BytesMut,
    m: &[(String, Option<Bytes>)],
    what: &'static str,
) -> std::result::Result<(), EncodeError> {
    put_short_len(buf, m.len(), what)?;
    for (k, v) in m {
        put_string(buf, k, what)?;
        put_bytes(buf, v.as_deref(), what)?;
    }
    Ok(())
}

/// Writes an `[inetaddr]`.
pub fn put_inetaddr(buf: &mut BytesMut, ip: &IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            buf.put_u8(4);
            buf.put_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            buf.put_u8(16);
            buf.put_slice(&a.octets());
        }
    }
}

/// Writes an `[inet]`.
pub fn put_inet(buf: &mut BytesMut, addr: &SocketAddr) {
    put_inetaddr(buf, &addr.ip());
    buf.put_i32(i32::from(addr.port()));
}

/// Writes an `[unsigned vint]` in the fewest bytes.
pub fn put_unsigned_vint(buf: &mut BytesMut, v: u64) {
    // Value bits needed; each extra byte adds 8 bits and costs one bit of the first byte.
    let bits = 64 - v.leading_zeros() as usize;
    let extra = if bits <= 7 { 0 } else { (bits - 7).div_ceil(7) }.min(8);
    if extra == 0 {
        buf.put_u8(v as u8);
        return;
    }
    let mut tmp = [0u8; 9];
    for i in 0..extra {
        tmp[extra - i] = (v >> (8 * i)) as u8;
    }
    let first_bits = if extra >= 8 { 0 } else { (v >> (8 * extra)) as u8 };
    tmp[0] = (!0u8 << (8 - extra)) | first_bits;
    buf.put_slice(&tmp[..=extra]);
}

/// Writes a `[vint]` (zig-zag, then unsigned vint).
pub fn put_vint(buf: &mut BytesMut, v: i64) {
    put_unsigned_vint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reader_of(b: &[u8]) -> Bytes {
        Bytes::copy_from_slice(b)
    }

    #[test]
    fn unsigned_vint_matches_spec_example() {
        // v5 §3: 256 000 is [110]00011 11101000 00000000.
        let mut b = BytesMut::new();
        put_unsigned_vint(&mut b, 256_000);
        assert_eq!(&b[..], &[0b1100_0011, 0b1110_1000, 0]);
        let src = b.freeze();
        assert_eq!(Reader::new(&src).read_unsigned_vint("v").unwrap(), 256_000);
    }

    #[test]
    fn unsigned_vint_edges() {
        for (v, len) in [(0u64, 1), (127, 1), (128, 2), (u64::MAX, 9), (1 << 56, 9), ((1 << 56) - 1, 8)] {
            let mut b = BytesMut::new();
            put_unsigned_vint(&mut b, v);
            assert_eq!(b.len(), len, "{v}");
            let src = b.freeze();
            let mut r = Reader::new(&src);
            assert_eq!(r.read_unsigned_vint("v").unwrap(), v);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn zigzag_matches_spec_order() {
        for (v, z) in [(0i64, 0u8), (-1, 1), (1, 2), (-2, 3), (2, 4)] {
            let mut b = BytesMut::new();
            put_vint(&mut b, v);
            assert_eq!(&b[..], &[z]);
        }
    }

    #[test]
    fn value_lengths() {
        let src = reader_of(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xfd]);
        let mut r = Reader::new(&src);
        assert_eq!(r.read_value("v").unwrap(), Value::Null);
        assert_eq!(r.read_value("v").unwrap(), Value::NotSet);
        assert!(matches!(r.read_value("v"), Err(DecodeError::InvalidLength { len: -3, at: 8, .. })));
    }

    #[test]
    fn hostile_lengths_fail_before_allocation() {
        // [bytes] of i32::MAX with 2 bytes behind it.
        let src = reader_of(&[0x7f, 0xff, 0xff, 0xff, 1, 2]);
        let err = Reader::new(&src).read_bytes("blob").unwrap_err();
        assert!(matches!(err, DecodeError::Truncated { needed: 0x7fff_ffff, available: 2, .. }));
        // [string list] claiming 65535 entries.
        let src = reader_of(&[0xff, 0xff, 0, 0]);
        assert!(matches!(Reader::new(&src).read_string_list("l"), Err(DecodeError::InvalidLength { .. })));
        // negative [long string].
        let src = reader_of(&[0x80, 0, 0, 0]);
        assert!(matches!(Reader::new(&src).read_long_string("q"), Err(DecodeError::InvalidLength { .. })));
    }

    #[test]
    fn inet_rejects_bad_sizes_and_ports() {
        let src = reader_of(&[5, 1, 2, 3, 4, 5]);
        assert!(Reader::new(&src).read_inetaddr("a").is_err());
        let src = reader_of(&[4, 127, 0, 0, 1, 0, 1, 0, 0]);
        assert!(Reader::new(&src).read_inet("a").is_err());
    }

    proptest! {
        #[test]
        fn vint_roundtrip(v in any::<i64>()) {
            let mut b = BytesMut::new();
            put_vint(&mut b, v);
            let src = b.freeze();
            let mut r = Reader::new(&src);
            prop_assert_eq!(r.read_vint("v").unwrap(), v);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn primitives_roundtrip(s in ".{0,40}", l in proptest::collection::vec(".{0,8}", 0..5),
                                b in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                                ip in any::<std::net::IpAddr>(), port in any::<u16>(), u in any::<u128>()) {
            let mut buf = BytesMut::new();
            put_string(&mut buf, &s, "s").unwrap();
            put_long_string(&mut buf, &s, "s").unwrap();
            put_string_list(&mut buf, &l, "l").unwrap();
            put_bytes(&mut buf, b.as_deref(), "b").unwrap();
            put_inet(&mut buf, &SocketAddr::new(ip, port));
            put_uuid(&mut buf, &Uuid::from_u128(u));
            let src = buf.freeze();
            let mut r = Reader::new(&src);
            prop_assert_eq!(r.read_string("s").unwrap(), s.clone());
            prop_assert_eq!(r.read_long_string("s").unwrap(), s);
            prop_assert_eq!(r.read_string_list("l").unwrap(), l);
            prop_assert_eq!(r.read_bytes("b").unwrap().map(|b| b.to_vec()), b);
            prop_assert_eq!(r.read_inet("i").unwrap(), SocketAddr::new(ip, port));
            prop_assert_eq!(r.read_uuid("u").unwrap(), Uuid::from_u128(u));
            prop_assert!(r.is_empty());
        }
    }
}
