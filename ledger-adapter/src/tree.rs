//! The Merkle tree over stored node hashes: roots and proofs for any tree size in O(log n) reads,
//! the [`Frontier`] that appends leaves in O(log n) hashes, and the chunked storage layout
//! ([`ChunkedStorage`], [`ChunkedReader`], [`ChunkedFrontier`]).
//!
//! A node is named by its level (0 for leaves) and its index within the level: node `(level,
//! index)` is the root of the complete subtree over leaves `[index << level, (index + 1) << level)`.
//! Such a node never changes once its last leaf exists, so the hashes stored for a tree of size n
//! answer every question about every earlier size too. The algorithms here read nodes through
//! [`NodeSource`] and follow the recursive definitions of RFC 9162 §2.1, walked iteratively.
//!
//! # Chunked storage
//!
//! Storing every node costs about two writes per leaf. Instead, leaf hashes are stored packed in
//! *chunks* of `2^chunk_level` consecutive leaves (chunk `c` holds leaves `[c << chunk_level, …)`,
//! 32 bytes each, in order; only the last chunk of the log is partial), and nodes only from level
//! `chunk_level` up. A node below that level lies inside one chunk, so [`ChunkedReader`] computes
//! it from that chunk's leaf hashes (at most `2^chunk_level - 1` hashes). Appends then write one
//! chunk per `2^chunk_level` leaves plus about two nodes per chunk, besides the records.

use crate::hasher::{empty_root, hash_children, Hash, HASH_LEN};
use crate::proof::largest_power_of_two_below;

/// Read access to the hashes of complete subtrees.
pub(crate) trait NodeSource {
    /// The error a read can fail with.
    type Error;

    /// The hash of node `(level, index)`; level 0 is the leaf hash of sequence number `index`.
    /// Only asked for nodes whose last leaf is inside the tree being read.
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH over leaves `[start, end)`, for a range that arises in the RFC recursion from `[0, n)`.
///
/// Such a range splits, largest first, into complete subtrees whose positions are aligned to their
/// widths (one per set bit of the width), so each is one stored node; folding them from the right
/// is exactly the recursive MTH.
fn range_hash<S: NodeSource>(source: &mut S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let width = end - start;
    let mut subtree_roots = Vec::with_capacity(width.count_ones() as usize);
    let mut position = start;
    for level in (0..u64::BITS as u8).rev() {
        if width & (1u64 << level) != 0 {
            debug_assert!(position.is_multiple_of(1u64 << level), "range [{start}, {end}) is not an RFC 6962 subtree");
            subtree_roots.push(source.node(level, position >> level)?);
            position += 1u64 << level;
        }
    }
    Ok(fold_from_right(&subtree_roots))
}

/// Combines complete-subtree roots given largest (leftmost) first into one root.
fn fold_from_right(subtree_roots: &[Hash]) -> Hash {
    match subtree_roots.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest.iter().rev().fold(*last, |right, left| hash_children(left, &right)),
    }
}

/// The root of the tree of the first `tree_size` leaves.
pub(crate) fn root_at<S: NodeSource>(source: &mut S, tree_size: u64) -> Result<Hash, S::Error> {
    if tree_size == 0 {
        return Ok(empty_root());
    }
    range_hash(source, 0, tree_size)
}

/// The audit path of leaf `leaf_index` in the tree of `tree_size` leaves (RFC 9162 §2.1.3.1),
/// bottom-up. The caller checks `leaf_index < tree_size`.
pub(crate) fn inclusion_path<S: NodeSource>(
    source: &mut S,
    leaf_index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut siblings = Vec::new();
    let (mut start, mut end) = (0, tree_size);
    while end - start > 1 {
        let split = start + largest_power_of_two_below(end - start);
        if leaf_index < split {
            siblings.push(range_hash(source, split, end)?);
            end = split;
        } else {
            siblings.push(range_hash(source, start, split)?);
            start = split;
        }
    }
    siblings.reverse();
    Ok(siblings)
}

/// The consistency path from the tree of `first` leaves to the tree of `second` leaves
/// (RFC 9162 §2.1.4.1, SUBPROOF walked top-down then reversed). Empty when `first` is 0 or equal
/// to `second`; the caller checks `first <= second`.
pub(crate) fn consistency_path<S: NodeSource>(source: &mut S, first: u64, second: u64) -> Result<Vec<Hash>, S::Error> {
    let mut path = Vec::new();
    if first == 0 || first >= second {
        return Ok(path);
    }
    let (mut start, mut end) = (0, second);
    // Whether the current subtree is the (so far unsplit) left edge whose root the verifier knows.
    let mut known_to_verifier = true;
    loop {
        if first == end {
            if !known_to_verifier {
                path.push(range_hash(source, start, end)?);
            }
            break;
        }
        let split = start + largest_power_of_two_below(end - start);
        if first <= split {
            path.push(range_hash(source, split, end)?);
            end = split;
        } else {
            path.push(range_hash(source, start, split)?);
            start = split;
            known_to_verifier = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// A node created by appending a leaf: complete subtree `(level, index)` with its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NewNode {
    /// Height above the leaves (at least 1: leaves are not reported).
    pub(crate) level: u8,
    /// Index within the level.
    pub(crate) index: u64,
    /// The subtree root.
    pub(crate) hash: Hash,
}

/// The right edge of a tree: the roots of its complete subtrees, enough to append leaves and to
/// compute the root without reading anything else (the "compact range" `[0, size)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frontier {
    size: u64,
    // INVARIANT: one hash per set bit of `size`, largest subtree first; `subtree_roots[i]` is the
    // root of the complete subtree whose leaves follow those of `subtree_roots[..i]`.
    subtree_roots: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub(crate) fn new() -> Frontier {
        Frontier { size: 0, subtree_roots: Vec::new() }
    }

    /// Reads the frontier of the tree of `size` leaves: one node per set bit of `size`.
    pub(crate) fn load<S: NodeSource>(source: &mut S, size: u64) -> Result<Frontier, S::Error> {
        let mut subtree_roots = Vec::with_capacity(size.count_ones() as usize);
        let mut position = 0u64;
        for level in (0..u64::BITS as u8).rev() {
            if size & (1u64 << level) != 0 {
                subtree_roots.push(source.node(level, position >> level)?);
                position += 1u64 << level;
            }
        }
        Ok(Frontier { size, subtree_roots })
    }

    /// Number of leaves appended so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf and reports every complete subtree (level 1 and up) that it closes.
    pub(crate) fn push(&mut self, leaf_hash: Hash, closed: &mut Vec<NewNode>) {
        let mut running = leaf_hash;
        let mut index = self.size;
        let mut level = 0u8;
        while index & 1 == 1 {
            let Some(left) = self.subtree_roots.pop() else {
                break; // Unreachable by the invariant: every set bit has a subtree root.
            };
            running = hash_children(&left, &running);
            index >>= 1;
            level += 1;
            closed.push(NewNode { level, index, hash: running });
        }
        self.subtree_roots.push(running);
        self.size += 1;
    }

    /// The root of the tree so far.
    pub(crate) fn root(&self) -> Hash {
        fold_from_right(&self.subtree_roots)
    }
}

/// The root of the complete subtree over `leaves`: concatenated 32-byte leaf hashes, a power of
/// two of them. `None` for any other length.
pub(crate) fn packed_subtree_root(leaves: &[u8]) -> Option<Hash> {
    let count = leaves.len() / HASH_LEN;
    if !leaves.len().is_multiple_of(HASH_LEN) || !count.is_power_of_two() {
        return None;
    }
    let mut hashes: Vec<Hash> = leaves.chunks_exact(HASH_LEN).filter_map(Hash::from_slice).collect();
    let mut width = hashes.len();
    while width > 1 {
        for pair in 0..width / 2 {
            hashes[pair] = hash_children(&hashes[2 * pair], &hashes[2 * pair + 1]);
        }
        width /= 2;
    }
    hashes.first().copied()
}

/// Raw access to a log stored in the chunked layout (see the module docs).
pub(crate) trait ChunkedStorage {
    /// Bytes as the backend hands them out.
    type Bytes: AsRef<[u8]>;
    /// A failed or refused read.
    type Error;

    /// The stored value of leaf chunk `chunk` (concatenated leaf hashes), if any.
    fn leaf_chunk(&self, chunk: u64) -> Result<Option<Self::Bytes>, Self::Error>;
    /// The stored hash of node `(level, index)` (level `chunk_level` and up), if any.
    fn stored_node(&self, level: u8, index: u64) -> Result<Option<Self::Bytes>, Self::Error>;
    /// The error for stored data that is missing or malformed; `detail` names what.
    fn corrupt(&self, detail: String) -> Self::Error;
}

/// A [`NodeSource`] over [`ChunkedStorage`]: stored nodes from level `chunk_level` up, and below
/// that computed from one leaf chunk. Create one per query: it keeps the last two chunks it read,
/// since a root or proof needs nodes from at most two chunks (the one at the start of a subtree
/// range and the one at its end), often several times.
pub(crate) struct ChunkedReader<'a, S: ChunkedStorage> {
    storage: &'a S,
    chunk_level: u8,
    // Most recently used first.
    cache: [Option<(u64, S::Bytes)>; 2],
}

impl<'a, S: ChunkedStorage> ChunkedReader<'a, S> {
    /// A reader over `storage` laid out with chunks of `2^chunk_level` leaves (`chunk_level` ≥ 1).
    pub(crate) fn new(storage: &'a S, chunk_level: u8) -> ChunkedReader<'a, S> {
        debug_assert!((1..64).contains(&chunk_level), "chunk level {chunk_level} out of range");
        ChunkedReader { storage, chunk_level, cache: [None, None] }
    }

    /// The stored bytes of leaf chunk `chunk`, from the cache when possible.
    fn chunk(&mut self, chunk: u64) -> Result<&[u8], S::Error> {
        let cached = |slot: &Option<(u64, S::Bytes)>| matches!(slot, Some((index, _)) if *index == chunk);
        if !cached(&self.cache[0]) {
            if cached(&self.cache[1]) {
                self.cache.swap(0, 1);
            } else {
                let Some(bytes) = self.storage.leaf_chunk(chunk)? else {
                    return Err(self.storage.corrupt(format!("leaf hash chunk {chunk} is missing")));
                };
                self.cache[1] = self.cache[0].take();
                self.cache[0] = Some((chunk, bytes));
            }
        }
        match &self.cache[0] {
            Some((_, bytes)) => Ok(bytes.as_ref()),
            None => Err(self.storage.corrupt(format!("leaf hash chunk {chunk} is missing"))),
        }
    }
}

impl<S: ChunkedStorage> NodeSource for ChunkedReader<'_, S> {
    type Error = S::Error;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, S::Error> {
        if level >= self.chunk_level {
            let stored = self.storage.stored_node(level, index)?;
            return match stored.as_ref().map(|bytes| Hash::from_slice(bytes.as_ref())) {
                Some(Some(hash)) => Ok(hash),
                Some(None) => Err(self.storage.corrupt(format!("node ({level}, {index}) is not 32 bytes"))),
                None => Err(self.storage.corrupt(format!("node ({level}, {index}) is missing"))),
            };
        }
        let storage = self.storage;
        let first_leaf = index << level;
        let chunk = first_leaf >> self.chunk_level;
        let offset = (first_leaf - (chunk << self.chunk_level)) as usize;
        let bytes = self.chunk(chunk)?;
        let leaves = bytes.get(offset * HASH_LEN..(offset + (1 << level)) * HASH_LEN);
        match leaves.and_then(packed_subtree_root) {
            Some(hash) => Ok(hash),
            None => Err(storage.corrupt(format!(
                "leaf hash chunk {chunk} is too short for node ({level}, {index}): {} bytes",
                bytes.len()
            ))),
        }
    }
}

/// One leaf chunk an append writes: its new value, and the value it must replace (the partial
/// chunk the previous append left, or nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkWrite {
    /// Chunk index.
    pub(crate) chunk: u64,
    /// The stored value this write extends; `None` when the chunk must not exist yet.
    pub(crate) previous: Option<Vec<u8>>,
    /// The new value: the chunk's leaf hashes so far, concatenated.
    pub(crate) value: Vec<u8>,
}

/// What appending leaves adds to chunked storage.
#[derive(Debug, Default)]
pub(crate) struct ChunkedAppend {
    /// Leaf chunks to write, in chunk order.
    pub(crate) chunks: Vec<ChunkWrite>,
    /// Nodes to store: those the leaves complete, from level `chunk_level` up.
    pub(crate) nodes: Vec<NewNode>,
}

/// The writer's view of a chunked log: its [`Frontier`] and the leaf hashes of its last, partial
/// chunk (which the next append extends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkedFrontier {
    frontier: Frontier,
    chunk_level: u8,
    // INVARIANT: the leaves `[size - size % 2^chunk_level, size)`, as stored in their chunk.
    tail: Vec<Hash>,
}

impl ChunkedFrontier {
    /// The empty log, with chunks of `2^chunk_level` leaves (`chunk_level` ≥ 1).
    pub(crate) fn new(chunk_level: u8) -> ChunkedFrontier {
        debug_assert!((1..64).contains(&chunk_level), "chunk level {chunk_level} out of range");
        ChunkedFrontier { frontier: Frontier::new(), chunk_level, tail: Vec::new() }
    }

    /// Reads the state of the stored log of `size` leaves, checking that its last chunk holds
    /// exactly the leaves of the log.
    pub(crate) fn load<S: ChunkedStorage>(
        storage: &S,
        chunk_level: u8,
        size: u64,
    ) -> Result<ChunkedFrontier, S::Error> {
        let frontier = Frontier::load(&mut ChunkedReader::new(storage, chunk_level), size)?;
        let chunk = size >> chunk_level;
        let tail_len = (size - (chunk << chunk_level)) as usize;
        let tail = match storage.leaf_chunk(chunk)? {
            None if tail_len == 0 => Vec::new(),
            None => return Err(storage.corrupt(format!("leaf hash chunk {chunk} is missing"))),
            Some(bytes) if bytes.as_ref().len() == tail_len * HASH_LEN => {
                bytes.as_ref().chunks_exact(HASH_LEN).filter_map(Hash::from_slice).collect()
            }
            Some(bytes) => {
                return Err(storage.corrupt(format!(
                    "leaf hash chunk {chunk} holds {} bytes, but the log has {tail_len} leaves in it",
                    bytes.as_ref().len()
                )))
            }
        };
        Ok(ChunkedFrontier { frontier, chunk_level, tail })
    }

    /// Number of leaves in the log.
    pub(crate) fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The root of the log.
    pub(crate) fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Appends `leaves` and returns the chunks and nodes to store for them.
    pub(crate) fn append(&mut self, leaves: &[Hash]) -> ChunkedAppend {
        let chunk_width = 1usize << self.chunk_level;
        let mut append = ChunkedAppend::default();
        let mut closed = Vec::new();
        let mut chunk = self.size() >> self.chunk_level;
        let mut previous = (!self.tail.is_empty()).then(|| concatenate(&self.tail));
        for leaf in leaves {
            closed.clear();
            self.frontier.push(*leaf, &mut closed);
            append.nodes.extend(closed.iter().filter(|node| node.level >= self.chunk_level));
            self.tail.push(*leaf);
            if self.tail.len() == chunk_width {
                append.chunks.push(ChunkWrite { chunk, previous: previous.take(), value: concatenate(&self.tail) });
                self.tail.clear();
                chunk += 1;
            }
        }
        if !self.tail.is_empty() && !leaves.is_empty() {
            append.chunks.push(ChunkWrite { chunk, previous, value: concatenate(&self.tail) });
        }
        append
    }
}

fn concatenate(hashes: &[Hash]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(hashes.len() * HASH_LEN);
    for hash in hashes {
        bytes.extend_from_slice(hash.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;

    use super::*;
    use crate::hasher::hash_leaf;
    use crate::proof::{root_from_leaves, verify_consistency, verify_inclusion};

    /// Nodes in a map, filled by a frontier, so the algorithms are checked without storage.
    struct MapSource(HashMap<(u8, u64), Hash>);

    impl NodeSource for MapSource {
        type Error = Infallible;
        fn node(&mut self, level: u8, index: u64) -> Result<Hash, Infallible> {
            Ok(*self.0.get(&(level, index)).unwrap_or_else(|| panic!("node ({level}, {index}) not stored")))
        }
    }

    fn leaves(count: u64) -> Vec<Hash> {
        (0..count).map(|seq| hash_leaf(&seq.to_be_bytes())).collect()
    }

    fn build(count: u64) -> (Vec<Hash>, MapSource, Vec<Hash>) {
        let leaves = leaves(count);
        let mut frontier = Frontier::new();
        let mut nodes = HashMap::new();
        let mut roots = vec![frontier.root()];
        for (seq, leaf) in leaves.iter().enumerate() {
            nodes.insert((0, seq as u64), *leaf);
            let mut closed = Vec::new();
            frontier.push(*leaf, &mut closed);
            for node in closed {
                assert!(nodes.insert((node.level, node.index), node.hash).is_none());
            }
            roots.push(frontier.root());
        }
        (leaves, MapSource(nodes), roots)
    }

    #[test]
    fn frontier_roots_and_stored_roots_match_the_reference() {
        let (leaves, mut source, roots) = build(70);
        for size in 0..=70u64 {
            let reference = root_from_leaves(&leaves[..size as usize]);
            assert_eq!(roots[size as usize], reference, "frontier root at {size}");
            let Ok(stored) = root_at(&mut source, size);
            assert_eq!(stored, reference, "stored root at {size}");
            let Ok(loaded) = Frontier::load(&mut source, size);
            assert_eq!(loaded.root(), reference, "loaded frontier at {size}");
            assert_eq!(loaded.size(), size);
        }
    }

    #[test]
    fn every_proof_up_to_40_leaves_verifies() {
        let (leaves, mut source, roots) = build(40);
        for second in 1..=40u64 {
            for index in 0..second {
                let Ok(path) = inclusion_path(&mut source, index, second);
                verify_inclusion(index, second, &leaves[index as usize], &path, &roots[second as usize])
                    .unwrap_or_else(|error| panic!("inclusion {index} in {second}: {error}"));
            }
            for first in 0..=second {
                let Ok(path) = consistency_path(&mut source, first, second);
                verify_consistency(first, second, &roots[first as usize], &roots[second as usize], &path)
                    .unwrap_or_else(|error| panic!("consistency {first} -> {second}: {error}"));
            }
        }
    }

    /// Chunked storage in maps, written only through [`ChunkedFrontier::append`], holding it to the
    /// compare-and-extend rule of the sled backend.
    #[derive(Default)]
    struct MapChunks {
        chunks: HashMap<u64, Vec<u8>>,
        nodes: HashMap<(u8, u64), Vec<u8>>,
    }

    impl MapChunks {
        fn apply(&mut self, append: ChunkedAppend, chunk_level: u8) {
            for write in append.chunks {
                let previous = self.chunks.insert(write.chunk, write.value);
                assert_eq!(previous, write.previous, "chunk {} was not extended", write.chunk);
            }
            for node in append.nodes {
                assert!(node.level >= chunk_level, "node below the chunk level stored");
                let previous = self.nodes.insert((node.level, node.index), node.hash.as_bytes().to_vec());
                assert!(previous.is_none(), "node ({}, {}) overwritten", node.level, node.index);
            }
        }
    }

    impl ChunkedStorage for MapChunks {
        type Bytes = Vec<u8>;
        type Error = String;
        fn leaf_chunk(&self, chunk: u64) -> Result<Option<Vec<u8>>, String> {
            Ok(self.chunks.get(&chunk).cloned())
        }
        fn stored_node(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, String> {
            Ok(self.nodes.get(&(level, index)).cloned())
        }
        fn corrupt(&self, detail: String) -> String {
            detail
        }
    }

    #[test]
    fn packed_subtree_roots_match_the_reference() {
        let leaves = leaves(16);
        for count in [1usize, 2, 4, 8, 16] {
            let packed = concatenate(&leaves[..count]);
            assert_eq!(packed_subtree_root(&packed), Some(root_from_leaves(&leaves[..count])), "{count} leaves");
        }
        for count in [0usize, 3, 5, 6, 7, 12] {
            assert_eq!(packed_subtree_root(&concatenate(&leaves[..count])), None, "{count} leaves");
        }
        assert_eq!(packed_subtree_root(&[0u8; 33]), None);
    }

    /// Every root and every proof of every size up to 70 leaves, appended in blocks of varying
    /// sizes, for chunks of 2 to 16 leaves: the same as with every node stored, and the state
    /// loaded back at each block boundary is the state the writer had.
    #[test]
    fn chunked_storage_gives_the_same_roots_and_proofs() {
        const COUNT: u64 = 70;
        let (leaves, mut full, roots) = build(COUNT);
        for chunk_level in 1..=4u8 {
            let mut storage = MapChunks::default();
            let mut writer = ChunkedFrontier::new(chunk_level);
            let mut appended = 0usize;
            let mut block = 1usize;
            while appended < COUNT as usize {
                let end = (appended + block).min(COUNT as usize);
                let append = writer.append(&leaves[appended..end]);
                storage.apply(append, chunk_level);
                appended = end;
                block = block % 7 + 1;
                assert_eq!(writer.root(), roots[appended], "writer root at {appended}, level {chunk_level}");
                let loaded = ChunkedFrontier::load(&storage, chunk_level, appended as u64)
                    .unwrap_or_else(|error| panic!("load at {appended}, level {chunk_level}: {error}"));
                assert_eq!(loaded, writer, "loaded state at {appended}, level {chunk_level}");
            }
            let stored = storage.nodes.len() + storage.chunks.len();
            assert!(stored < full.0.len() / (1 << (chunk_level - 1)), "{stored} entries at level {chunk_level}");

            let mut reader = ChunkedReader::new(&storage, chunk_level);
            for second in 0..=COUNT {
                let root = root_at(&mut reader, second).unwrap_or_else(|error| panic!("{error}"));
                assert_eq!(root, roots[second as usize], "root at {second}, level {chunk_level}");
                for index in 0..second {
                    let path = inclusion_path(&mut reader, index, second).unwrap_or_else(|error| panic!("{error}"));
                    let Ok(expected) = inclusion_path(&mut full, index, second);
                    assert_eq!(path, expected, "inclusion {index} in {second}, level {chunk_level}");
                    let leaf = reader.node(0, index).unwrap_or_else(|error| panic!("{error}"));
                    assert_eq!(leaf, leaves[index as usize]);
                }
                for first in 0..=second {
                    let path = consistency_path(&mut reader, first, second).unwrap_or_else(|error| panic!("{error}"));
                    let Ok(expected) = consistency_path(&mut full, first, second);
                    assert_eq!(path, expected, "consistency {first} -> {second}, level {chunk_level}");
                }
            }
        }
    }

    #[test]
    fn a_wrong_tail_chunk_is_refused_on_load() {
        let leaves = leaves(6);
        let mut storage = MapChunks::default();
        let mut writer = ChunkedFrontier::new(2);
        storage.apply(writer.append(&leaves), 2);
        assert!(ChunkedFrontier::load(&storage, 2, 6).is_ok());
        // Chunk 1 holds leaves 4 and 5: one more or one fewer does not match a log of 6 leaves.
        storage.chunks.get_mut(&1).expect("chunk 1").extend_from_slice(leaves[0].as_bytes());
        assert!(ChunkedFrontier::load(&storage, 2, 6).is_err());
        storage.chunks.get_mut(&1).expect("chunk 1").truncate(HASH_LEN);
        assert!(ChunkedFrontier::load(&storage, 2, 6).is_err());
        storage.chunks.remove(&1);
        assert!(ChunkedFrontier::load(&storage, 2, 6).is_err());
        assert!(ChunkedFrontier::load(&storage, 2, 4).is_ok());
    }
}
