//! The two checksums of v5 framing: CRC24 over a segment header and CRC32 over a
//! segment payload (spec v5 §2.1, §2.2).
//!
//! Owns only the checksum arithmetic. It knows nothing about where the checksummed
//! bytes sit in a segment, nor about byte order on the wire: [`super::segment`] decides
//! what is covered and writes the results little-endian.

/// Starting register of the header CRC24 (spec v5 §2.1).
const CRC24_INIT: u32 = 0x0087_5060;

/// Generator polynomial of the header CRC24, written with its x^24 term (spec v5 §2.1),
/// so XOR-ing it in after a shift also clears the bit that was shifted out.
const CRC24_POLY: u32 = 0x0197_4F0B;

/// Four bytes Cassandra feeds the payload CRC32 before the payload itself. The spec
/// leaves them out; servers and drivers all use them (see the framing notes, §4).
/// Only the tests hash them: [`crc32`] starts from [`CRC32_AFTER_PREFIX`] instead.
#[cfg(test)]
const CRC32_PREFIX: [u8; 4] = [0xFA, 0x2D, 0x55, 0xCA];

/// The running CRC-32 after the bytes `FA 2D 55 CA`, so the prefix costs nothing per
/// segment. A test checks it against hashing the prefix.
const CRC32_AFTER_PREFIX: u32 = 0x4477_7ED3;

/// One entry per value of the top register byte: what eight shift-and-reduce steps
/// turn it into. CRC24 here is MSB-first with no reflection, so a byte at a time is
/// `crc = (crc << 8) ^ TABLE[(crc >> 16) ^ byte]`, masked to 24 bits.
const CRC24_TABLE: [u32; 256] = crc24_table();

const fn crc24_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut reg = (i as u32) << 16;
        let mut bit = 0;
        while bit < 8 {
            reg <<= 1;
            if reg & 0x0100_0000 != 0 {
                reg ^= CRC24_POLY;
            }
            bit += 1;
        }
        table[i] = reg & 0x00FF_FFFF;
        i += 1;
    }
    table
}

/// CRC24 of a segment header's data bytes (3 uncompressed, 5 with LZ4), as used by
/// v5 framing: initial value 0x875060, polynomial 0x1974F0B, no reflection, no final
/// XOR (spec v5 §2.1). The result is in the low 24 bits.
///
/// ```
/// use cqlstream::protocol::crc::crc24;
/// assert_eq!(crc24(b"123456789"), 0x4B3F02);
/// assert_eq!(crc24(&[0x04, 0x00, 0x02]), 0xF2F901);
/// ```
pub fn crc24(data: &[u8]) -> u32 {
    data.iter().fold(CRC24_INIT, |crc, &byte| {
        let index = ((crc >> 16) ^ u32::from(byte)) & 0xFF;
        ((crc << 8) ^ CRC24_TABLE[index as usize]) & 0x00FF_FFFF
    })
}

/// CRC-32 of a segment payload as v5 framing computes it: the standard (zlib) CRC-32
/// over the bytes `FA 2D 55 CA` followed by the payload (spec v5 §2.1, framing notes
/// §4).
///
/// ```
/// use cqlstream::protocol::crc::crc32;
/// assert_eq!(crc32(&[0, 0, 0, 1]), 0x2D02D61F);
/// ```
pub fn crc32(payload: &[u8]) -> u32 {
    // Resuming from the CRC of the prefix is the same as hashing prefix ‖ payload
    // (zlib-style running state), without re-hashing four bytes every segment.
    let mut hasher = crc32fast::Hasher::new_with_initial(CRC32_AFTER_PREFIX);
    hasher.update(payload);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition in words (framing notes §3), one bit at a time.
    fn crc24_bitwise(data: &[u8]) -> u32 {
        let mut crc = CRC24_INIT;
        for &b in data {
            crc ^= u32::from(b) << 16;
            for _ in 0..8 {
                crc <<= 1;
                if crc & 0x0100_0000 != 0 {
                    crc ^= CRC24_POLY;
                }
            }
        }
        crc & 0x00FF_FFFF
    }

    fn crc32_with_prefix(payload: &[u8]) -> u32 {
        let mut h = crc32fast::Hasher::new();
        h.update(&CRC32_PREFIX);
        h.update(payload);
        h.finalize()
    }

    #[test]
    fn crc24_catalogue_check_value() {
        assert_eq!(crc24(b"123456789"), 0x4B3F02);
        assert_eq!(crc24_bitwise(b"123456789"), 0x4B3F02);
        assert_eq!(crc24(&[]), CRC24_INIT);
    }

    #[test]
    fn crc24_header_vectors() {
        // Framing notes §7: header data bytes → CRC24.
        let cases: [(&[u8], u32); 8] = [
            (&[0x04, 0x00, 0x02], 0xF2F901),             // A
            (&[0xff, 0xff, 0x03], 0x474025),             // B
            (&[0x12, 0x00, 0x20, 0x00, 0x04], 0x4FC991), // C
            (&[0x00, 0x00, 0x02], 0xC4366A),             // D
            (&[0x32, 0x00, 0x02], 0xEEFFA5),             // E, self-contained
            (&[0x32, 0x00, 0x00], 0x572EB8),             // E, not self-contained
            (&[0x01, 0x00, 0x00, 0x00, 0x04], 0x87A506), // F
            (&[0x09, 0x00, 0x02], 0xC1C8A4),             // G
        ];
        for (data, want) in cases {
            assert_eq!(crc24(data), want, "{data:02x?}");
            assert_eq!(crc24_bitwise(data), want, "{data:02x?}");
        }
    }

    #[test]
    fn crc24_table_matches_bitwise() {
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for n in 0..data.len() {
            assert_eq!(crc24(&data[..n]), crc24_bitwise(&data[..n]));
        }
    }

    #[test]
    fn crc32_seed_is_the_prefix_crc() {
        assert_eq!(crc32fast::hash(&CRC32_PREFIX), CRC32_AFTER_PREFIX);
        assert_eq!(crc32(&[]), CRC32_AFTER_PREFIX); // vector D's trailer
    }

    #[test]
    fn crc32_vectors() {
        assert_eq!(crc32(&[0, 0, 0, 1]), 0x2D02D61F); // A
        assert_eq!(crc32(&vec![1u8; 131_071]), 0x132F5CA0); // B
        let mut c = vec![0xf0, 0x01];
        c.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(crc32(&c), 0x907FD62B); // C
        assert_eq!(crc32(&[b'b'; 50]), 0x7CEBAE7A); // E
        assert_eq!(crc32(b"b"), 0x6E201BE9); // F
        assert_eq!(crc32(&[0x05, 0, 0, 0, 0x05, 0, 0, 0, 0]), u32::from_le_bytes([0x10, 0x86, 0x28, 0x4d])); // G
    }

    #[test]
    fn crc32_resumed_equals_prefixed() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(31) >> 3) as u8).collect();
        for n in [0, 1, 3, 4, 15, 16, 17, 64, 1000, 5000] {
            assert_eq!(crc32(&data[..n]), crc32_with_prefix(&data[..n]));
        }
    }
}
