//! The demo dataset: `bench.rows (pk int, ck int, v blob, PRIMARY KEY (pk, ck))`, row
//! `i` being `pk = i / 100`, `ck = i % 100` and a `v` of `B` bytes that starts with `i`
//! as a big-endian u64 followed by a pseudo-random pattern seeded by `i` (so LZ4 cannot
//! shrink it to nothing, and every row can be checked on its own).
//!
//! What the `testkit_server --demo-rows` flag, the streaming demo, the examples and the
//! benchmarks share: the schema, the values and a check of a row read back. Owns nothing
//! else, and writes nothing: the rows are loaded by whoever needs them, through the
//! protocol (`testkit_server`'s scripted client) or through the driver (the loader the
//! examples and benchmarks share, `examples/support/demo.rs`), never from here, since
//! the testkit does not use the driver.
//!
//! ```
//! use cqlstream::testkit::demo;
//!
//! let v = demo::value(12_345, 100);
//! assert_eq!(v.len(), 100);
//! assert_eq!(&v[..8], &12_345u64.to_be_bytes());
//! let (pk, ck) = demo::key(12_345);
//! assert_eq!((pk, ck), (123, 45));
//! assert_eq!(demo::check_row(pk, ck, &v), Ok(12_345));
//! ```

use bytes::{BufMut, BytesMut};

/// `CREATE KEYSPACE IF NOT EXISTS bench` (SimpleStrategy, RF 1).
pub const CREATE_KEYSPACE: &str =
    "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
/// `CREATE TABLE IF NOT EXISTS bench.rows ...`.
pub const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS bench.rows (pk int, ck int, v blob, PRIMARY KEY (pk, ck))";
/// The insert a loader prepares: `(pk, ck, v)` as markers.
pub const INSERT: &str = "INSERT INTO bench.rows (pk, ck, v) VALUES (?, ?, ?)";
/// The full scan.
pub const SELECT: &str = "SELECT pk, ck, v FROM bench.rows";
/// Rows per partition.
pub const ROWS_PER_PARTITION: u64 = 100;
/// The smallest value size: the row number takes 8 bytes.
pub const MIN_VALUE_BYTES: usize = 8;

/// The key of row `i`: `(pk, ck)`. `i` must be below `i32::MAX as u64 * 100`.
pub fn key(i: u64) -> (i32, i32) {
    ((i / ROWS_PER_PARTITION) as i32, (i % ROWS_PER_PARTITION) as i32)
}

/// The pattern after a value's first 8 bytes: 8 bytes at a time from a xorshift
/// generator seeded by the row number (so LZ4 cannot shrink it to nothing).
struct Pattern(u64);

impl Pattern {
    fn new(i: u64) -> Pattern {
        Pattern(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next_chunk(&mut self) -> [u8; 8] {
        let x = &mut self.0;
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        x.to_le_bytes()
    }
}

/// Appends the value of row `i`, `len` bytes (at least [`MIN_VALUE_BYTES`]), to `buf`.
pub fn write_value(i: u64, len: usize, buf: &mut BytesMut) {
    let len = len.max(MIN_VALUE_BYTES);
    buf.reserve(len);
    buf.put_u64(i);
    let mut pattern = Pattern::new(i);
    let mut left = len - 8;
    while left > 0 {
        let chunk = left.min(8);
        buf.put_slice(&pattern.next_chunk()[..chunk]);
        left -= chunk;
    }
}

/// The value of row `i`, `len` bytes.
pub fn value(i: u64, len: usize) -> Vec<u8> {
    let mut b = BytesMut::new();
    write_value(i, len, &mut b);
    b.to_vec()
}

/// Checks a row read back: its key and its whole value must be row `i`'s, where `i`
/// is read from the value's first 8 bytes. Returns `i`. Allocates nothing, so that a
/// benchmark checking every row measures the driver more than the check.
pub fn check_row(pk: i32, ck: i32, v: &[u8]) -> Result<u64, String> {
    let Some((head, rest)) = v.split_first_chunk::<8>() else {
        return Err(format!("row ({pk}, {ck}): value of {} bytes, too short", v.len()));
    };
    let i = u64::from_be_bytes(*head);
    if key(i) != (pk, ck) {
        return Err(format!("row ({pk}, {ck}) holds the value of row {i}"));
    }
    let mut pattern = Pattern::new(i);
    if !rest.chunks(8).all(|chunk| chunk == &pattern.next_chunk()[..chunk.len()]) {
        return Err(format!("row ({pk}, {ck}): the value's bytes are wrong"));
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_start_with_the_row_number_and_check() {
        let v = value(0x0102_0304_0506_0708, 21);
        assert_eq!(v.len(), 21);
        assert_eq!(&v[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let (pk, ck) = key(0x0102_0304_0506_0708);
        assert_eq!(check_row(pk, ck, &v), Ok(0x0102_0304_0506_0708));
        let mut bad = v.clone();
        bad[20] ^= 1;
        assert!(check_row(pk, ck, &bad).is_err());
        let mut bad = v.clone();
        bad[9] ^= 0x80;
        assert!(check_row(pk, ck, &bad).is_err());
        assert!(check_row(pk, ck + 1, &v).unwrap_err().contains("holds the value of row"));
        assert!(check_row(0, 0, &[1, 2]).is_err());
        assert_eq!(value(5, 3).len(), MIN_VALUE_BYTES);
    }
}
