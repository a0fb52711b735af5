//! Table contents: partitions in token order, rows in clustering order, each row kept
//! as its encoded cells so a page is mostly a copy of stored bytes.
//!
//! Owns ordering (Murmur3 token, then key bytes; clustering columns by Cassandra's
//! comparators, DESC reversed) and the row encoding. It does not evaluate statements.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use crate::types::CqlValue;

/// A partition's position on the ring: Cassandra orders partitions by token, then by
/// the serialised key (for token collisions).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct PartitionKey {
    pub(crate) token: i64,
    pub(crate) key: Bytes,
}

/// By token alone: equal keys have equal tokens, and the token is a hash already.
impl Hash for PartitionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_i64(self.token);
    }
}

impl PartitionKey {
    /// The key of a partition whose key columns encode to `components`.
    pub(crate) fn new(components: &[&[u8]]) -> PartitionKey {
        let key = Bytes::from(crate::token::serialize_partition_key(components));
        PartitionKey { token: crate::token::murmur3_token(&key), key }
    }

    /// The key of a partition whose key columns encoded to `cells`; a single column's
    /// cell is the key itself, shared rather than copied.
    pub(crate) fn of_cells(cells: &[Bytes]) -> PartitionKey {
        match cells {
            [single] => PartitionKey { token: crate::token::murmur3_token(single), key: single.clone() },
            _ => PartitionKey::new(&cells.iter().map(|c| &c[..]).collect::<Vec<_>>()),
        }
    }
}

/// A clustering key, ordered column by column with each column's direction.
#[derive(Debug, Clone)]
pub(crate) struct ClusteringKey {
    pub(crate) values: Vec<CqlValue>,
    pub(crate) desc: Arc<[bool]>,
}

impl PartialEq for ClusteringKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ClusteringKey {}

impl PartialOrd for ClusteringKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClusteringKey {
    fn cmp(&self, other: &Self) -> Ordering {
        for (i, (a, b)) in self.values.iter().zip(&other.values).enumerate() {
            let o = a.cql_cmp(b);
            let o = if self.desc.get(i).copied().unwrap_or(false) { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        self.values.len().cmp(&other.values.len())
    }
}

/// One partition: its static cells and its rows.
#[derive(Debug, Default)]
pub(crate) struct Partition {
    /// Static column cells by column index (only for tables with static columns).
    pub(crate) statics: BTreeMap<usize, Bytes>,
    /// Rows by clustering key; each row is every column's cell in schema order.
    pub(crate) rows: BTreeMap<ClusteringKey, Bytes>,
}

/// A table's contents: the partitions by key for point access (a hash lookup costs a
/// cache miss or two, where a B-tree of 200,000 keys costs dozens), and their keys in
/// ring order for scans.
#[derive(Debug, Default)]
pub(crate) struct TableData {
    partitions: HashMap<PartitionKey, Partition, BuildTokenHasher>,
    order: BTreeSet<PartitionKey>,
}

impl TableData {
    pub(crate) fn get(&self, key: &PartitionKey) -> Option<&Partition> {
        self.partitions.get(key)
    }

    pub(crate) fn get_key_value(&self, key: &PartitionKey) -> Option<(&PartitionKey, &Partition)> {
        self.partitions.get_key_value(key)
    }

    pub(crate) fn get_mut(&mut self, key: &PartitionKey) -> Option<&mut Partition> {
        self.partitions.get_mut(key)
    }

    /// The partition at `key`, created empty if missing.
    pub(crate) fn entry(&mut self, key: &PartitionKey) -> &mut Partition {
        let order = &mut self.order;
        self.partitions.entry(key.clone()).or_insert_with(|| {
            order.insert(key.clone());
            Partition::default()
        })
    }

    pub(crate) fn remove(&mut self, key: &PartitionKey) {
        if self.partitions.remove(key).is_some() {
            self.order.remove(key);
        }
    }

    /// Every partition, in ring order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PartitionKey, &Partition)> {
        self.order.iter().filter_map(|k| self.partitions.get_key_value(k))
    }

    /// The partitions from `from` on (inclusive), in ring order.
    pub(crate) fn range_from(&self, from: &PartitionKey) -> impl Iterator<Item = (&PartitionKey, &Partition)> {
        self.order.range(from..).filter_map(|k| self.partitions.get_key_value(k))
    }
}

/// Hashes a [`PartitionKey`] by its token, which is already a Murmur3 hash of the key:
/// nothing is gained by hashing it again.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BuildTokenHasher;

impl BuildHasher for BuildTokenHasher {
    type Hasher = TokenHasher;

    fn build_hasher(&self) -> TokenHasher {
        TokenHasher(0)
    }
}

/// See [`BuildTokenHasher`]; other writes (there are none for a partition key) are
/// folded in with FNV-1a so it is still a hasher for any input.
#[derive(Debug)]
pub(crate) struct TokenHasher(u64);

impl Hasher for TokenHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_i64(&mut self, i: i64) {
        self.0 ^= i as u64;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Encodes cells as back-to-back `[bytes]` (null = length -1).
pub(crate) fn encode_row<'a>(cells: impl IntoIterator<Item = Option<&'a [u8]>, IntoIter: Clone>) -> Bytes {
    let cells = cells.into_iter();
    let len = cells.clone().map(|c| 4 + c.map_or(0, <[u8]>::len)).sum();
    let mut b = BytesMut::with_capacity(len);
    for c in cells {
        match c {
            Some(v) => {
                b.put_i32(v.len() as i32);
                b.put_slice(v);
            }
            None => b.put_i32(-1),
        }
    }
    b.freeze()
}

/// The cells of a stored row (which this module encoded, so it is well formed).
pub(crate) fn row_cells(row: &[u8], n: usize) -> Vec<Option<&[u8]>> {
    let mut out = Vec::with_capacity(n);
    let mut pos = 0;
    for _ in 0..n {
        let Some(len) = row.get(pos..pos + 4) else { break };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        pos += 4;
        if len < 0 {
            out.push(None);
        } else {
            let end = pos + len as usize;
            out.push(row.get(pos..end));
            pos = end;
        }
    }
    out.resize(n, None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clustering_order_honours_desc() {
        let desc: Arc<[bool]> = vec![false, true].into();
        let k = |a: i32, b: i32| ClusteringKey { values: vec![CqlValue::Int(a), CqlValue::Int(b)], desc: desc.clone() };
        let mut keys = [k(1, 1), k(0, 5), k(1, 3), k(-1, 0)];
        keys.sort();
        let flat: Vec<_> = keys.iter().map(|k| (k.values[0].clone(), k.values[1].clone())).collect();
        assert_eq!(
            flat,
            vec![
                (CqlValue::Int(-1), CqlValue::Int(0)),
                (CqlValue::Int(0), CqlValue::Int(5)),
                (CqlValue::Int(1), CqlValue::Int(3)),
                (CqlValue::Int(1), CqlValue::Int(1)),
            ]
        );
    }

    #[test]
    fn rows_encode_and_split() {
        let row = encode_row([Some(&b"ab"[..]), None, Some(&b""[..])]);
        assert_eq!(row_cells(&row, 3), vec![Some(&b"ab"[..]), None, Some(&b""[..])]);
    }
}
