//! Partition tokens of Cassandra's default partitioner, `Murmur3Partitioner`: which
//! point of the ring a partition key hashes to, so a request can go to a replica.
//!
//! Owns the hash and the serialisation of (possibly composite) partition keys into the
//! bytes that are hashed. Values are serialised by [`crate::types`]; this module only
//! sees bytes.
//!
//! ```
//! use cqlstream::token::{murmur3_token, partition_key_token, serialize_partition_key};
//!
//! // A text key is hashed as its UTF-8 bytes (vector from scylla-rust-driver).
//! assert_eq!(murmur3_token(b"test"), -6017608668500074083);
//! // A composite key is hashed in CompositeType form.
//! let key = serialize_partition_key(&[b"a", &7i32.to_be_bytes()]);
//! assert_eq!(key, [0, 1, b'a', 0, 0, 4, 0, 0, 0, 7, 0]);
//! assert_eq!(partition_key_token(&[b"a", &7i32.to_be_bytes()]), murmur3_token(&key));
//! ```

/// The token of a serialised partition key under `Murmur3Partitioner`.
///
/// MurmurHash3 x64_128 with seed 0, as Cassandra implements it
/// (`org.apache.cassandra.utils.MurmurHash.hash3_x64_128`); the token is the first
/// 64-bit half, with `i64::MIN` (the ring's minimum, which no key may have) moved to
/// `i64::MAX`. Cassandra's version differs from the reference MurmurHash3 in one place
/// that matters: it reads the last `len % 16` bytes as Java `byte`s, which are signed, so
/// each tail byte of `0x80` or more is sign-extended before it is shifted into place.
/// An empty key has the minimum token, `i64::MIN`, as in Cassandra's `getToken`.
pub fn murmur3_token(key: &[u8]) -> i64 {
    if key.is_empty() {
        return i64::MIN;
    }
    match hash3_x64_128(key).0 {
        i64::MIN => i64::MAX,
        t => t,
    }
}

/// The bytes Cassandra hashes for a partition key made of `components`, each already
/// serialised ([`crate::types::CqlValue::encode`]): a single component as it is,
/// several in `CompositeType` form, each as a 2-byte big-endian length, the bytes, and
/// a `0x00` end-of-component byte.
///
/// Cassandra refuses key components longer than 65 535 bytes; like its
/// `CompositeType.build`, this writes the length of such a component modulo 2^16, so
/// the result (and its token) is meaningless for a key no server would accept.
pub fn serialize_partition_key(components: &[&[u8]]) -> Vec<u8> {
    if let [single] = components {
        return single.to_vec();
    }
    let mut out = Vec::with_capacity(components.iter().map(|c| c.len() + 3).sum());
    for c in components {
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
        out.push(0);
    }
    out
}

/// The token of a partition key given as serialised components: [`murmur3_token`] of
/// [`serialize_partition_key`].
pub fn partition_key_token(components: &[&[u8]]) -> i64 {
    murmur3_token(&serialize_partition_key(components))
}

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

/// MurmurHash3 x64_128, seed 0, with Cassandra's signed tail bytes. Returns both halves
/// as Java `long`s.
fn hash3_x64_128(key: &[u8]) -> (i64, i64) {
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = key.chunks_exact(16);
    for block in blocks.by_ref() {
        // Blocks are read little-endian, byte by byte masked to 0..=255: no sign quirk.
        let (lo, hi) = block.split_at(8);
        let k1 = u64::from_le_bytes(lo.try_into().unwrap_or_default());
        let k2 = u64::from_le_bytes(hi.try_into().unwrap_or_default());
        h1 ^= mix_k1(k1);
        h1 = h1.rotate_left(27).wrapping_add(h2).wrapping_mul(5).wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(k2);
        h2 = h2.rotate_left(31).wrapping_add(h1).wrapping_mul(5).wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    // `(long) key.get(i) << shift` in Java: the byte is sign-extended to 64 bits first,
    // so a byte >= 0x80 sets every bit above its own position.
    let byte = |i: usize| (tail[i] as i8) as i64 as u64;
    let (mut k1, mut k2) = (0u64, 0u64);
    for i in (8..tail.len()).rev() {
        k2 ^= byte(i) << ((i - 8) * 8);
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    for i in (0..tail.len().min(8)).rev() {
        k1 ^= byte(i) << (i * 8);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }
    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    (h1 as i64, h2 as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_driver_vectors() {
        // datastax/python-driver, tests/unit/test_metadata.py, `_verify_hash`, run
        // against both its pure-Python and C murmur3. The 50-byte key ends in a 2-byte
        // tail 0x00 0xff and `\xfe * 8` is all tail: both exercise sign extension.
        assert_eq!(murmur3_token(b"123"), -7468325962851647638);
        assert_eq!(murmur3_token(&b"\x00\xff\x10\xfa\x99".repeat(10)), 5837342703291459765);
        assert_eq!(murmur3_token(&[0xfe; 8]), -8927430733708461935);
        assert_eq!(murmur3_token(&[0x10; 8]), 1446172840243228796);
        assert_eq!(murmur3_token(i64::MAX.to_string().as_bytes()), 7162290910810015547);
    }

    #[test]
    fn nodejs_driver_vectors() {
        // datastax/nodejs-driver, test/unit/token-tests.js, `Murmur3Tokenizer #hash()`.
        // 17 x 0xfe has a one-byte tail 0xfe; 0xfe x 4 and 0xe2 0xe7 ... have tails of
        // high bytes; the last key has 0x80 as the top byte of k1.
        let cases: &[(&[u8], i64)] = &[
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], -5563837382979743776),
            (&[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], -1513403162740402161),
            (&[255; 16], -2824192546314762522),
            (&[0, 1, 2, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255], 6463632673159404390),
            (&[254; 17], -1672437813826982685),
            (&[254, 254, 254, 254], 4566408979886474012),
            (&[0, 0, 0, 0], -3485513579396041028),
            (&[0, 1, 127, 127], 6573459401642635627),
            (&[226, 231, 226, 231, 226, 231, 1], 2222373981930033306),
            (&[0, 0, 0, 0, 0, 0, 0, 0x80], 78142285821850151),
        ];
        for &(key, token) in cases {
            assert_eq!(murmur3_token(key), token, "{key:?}");
        }
    }

    #[test]
    fn scylla_rust_driver_vectors() {
        // scylladb/scylla-rust-driver, scylla/src/routing/partitioner.rs,
        // `test_murmur3_partitioner`. "kremówki" is 9 bytes whose 8-byte k1 tail holds
        // the UTF-8 bytes 0xc3 0xb3.
        for (key, token) in [
            ("test", -6017608668500074083),
            ("xd", 4507812186440344727),
            ("primary_key", -1632642444691073360),
            ("kremówki", 4354931215268080151),
        ] {
            assert_eq!(murmur3_token(key.as_bytes()), token, "{key}");
        }
    }

    #[test]
    fn sign_extension_matters() {
        // The same tail hashed with unsigned bytes (the reference MurmurHash3) would give
        // another token; make sure the quirk is not a no-op for high bytes.
        let key = [0xfeu8; 3];
        let mut k1 = 0u64;
        for (i, b) in key.iter().enumerate() {
            k1 ^= u64::from(*b) << (i * 8);
        }
        let unsigned_h1 = {
            let mut h1 = mix_k1(k1);
            let mut h2 = 0u64;
            h1 ^= 3;
            h2 ^= 3;
            h1 = h1.wrapping_add(h2);
            h2 = h2.wrapping_add(h1);
            fmix(h1).wrapping_add(fmix(h2)) as i64
        };
        assert_ne!(murmur3_token(&key), unsigned_h1);
    }

    #[test]
    fn composite_keys_and_edges() {
        assert_eq!(serialize_partition_key(&[b"abc"]), b"abc");
        assert_eq!(serialize_partition_key(&[b"a", b""]), [0, 1, b'a', 0, 0, 0, 0]);
        assert_eq!(serialize_partition_key(&[]), Vec::<u8>::new());
        assert_eq!(murmur3_token(b""), i64::MIN);
        assert_eq!(partition_key_token(&[b"123"]), -7468325962851647638);
        let long = vec![1u8; 70_000];
        assert_eq!(&serialize_partition_key(&[&long, b"x"])[..2], &(70_000u32 as u16).to_be_bytes());
    }
}
