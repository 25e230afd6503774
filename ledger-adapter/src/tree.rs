//! The Merkle tree over stored node hashes: roots and proofs for any tree size in O(log n) reads,
//! and the [`Frontier`] that appends leaves in O(log n) hashes.
//!
//! A node is named by its level (0 for leaves) and its index within the level: node `(level,
//! index)` is the root of the complete subtree over leaves `[index << level, (index + 1) << level)`.
//! Such a node never changes once its last leaf exists, so the hashes stored for a tree of size n
//! answer every question about every earlier size too. Backends implement [`NodeSource`]; the
//! algorithms here follow the recursive definitions of RFC 9162 §2.1, walked iteratively.

use crate::hasher::{empty_root, hash_children, Hash};
use crate::proof::largest_power_of_two_below;

/// Read access to the hashes of complete subtrees.
pub(crate) trait NodeSource {
    /// The error a read can fail with.
    type Error;

    /// The hash of node `(level, index)`; level 0 is the leaf hash of sequence number `index`.
    /// Only asked for nodes whose last leaf is inside the tree being read.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH over leaves `[start, end)`, for a range that arises in the RFC recursion from `[0, n)`.
///
/// Such a range splits, largest first, into complete subtrees whose positions are aligned to their
/// widths (one per set bit of the width), so each is one stored node; folding them from the right
/// is exactly the recursive MTH.
fn range_hash<S: NodeSource>(source: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let width = end - start;
    let mut subtree_roots = Vec::with_capacity(width.count_ones() as usize);
    let mut position = start;
    for level in (0..u64::BITS as u8).rev() {
        if width & (1u64 << level) != 0 {
            debug_assert!(position % (1u64 << level) == 0, "range [{start}, {end}) is not an RFC 6962 subtree");
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
pub(crate) fn root_at<S: NodeSource>(source: &S, tree_size: u64) -> Result<Hash, S::Error> {
    if tree_size == 0 {
        return Ok(empty_root());
    }
    range_hash(source, 0, tree_size)
}

/// The audit path of leaf `leaf_index` in the tree of `tree_size` leaves (RFC 9162 §2.1.3.1),
/// bottom-up. The caller checks `leaf_index < tree_size`.
pub(crate) fn inclusion_path<S: NodeSource>(
    source: &S,
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
pub(crate) fn consistency_path<S: NodeSource>(source: &S, first: u64, second: u64) -> Result<Vec<Hash>, S::Error> {
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
    pub(crate) fn load<S: NodeSource>(source: &S, size: u64) -> Result<Frontier, S::Error> {
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
        fn node(&self, level: u8, index: u64) -> Result<Hash, Infallible> {
            Ok(*self.0.get(&(level, index)).unwrap_or_else(|| panic!("node ({level}, {index}) not stored")))
        }
    }

    fn build(count: u64) -> (Vec<Hash>, MapSource, Vec<Hash>) {
        let leaves: Vec<Hash> = (0..count).map(|seq| hash_leaf(&seq.to_be_bytes())).collect();
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
        let (leaves, source, roots) = build(70);
        for size in 0..=70u64 {
            let reference = root_from_leaves(&leaves[..size as usize]);
            assert_eq!(roots[size as usize], reference, "frontier root at {size}");
            let Ok(stored) = root_at(&source, size);
            assert_eq!(stored, reference, "stored root at {size}");
            let Ok(loaded) = Frontier::load(&source, size);
            assert_eq!(loaded.root(), reference, "loaded frontier at {size}");
            assert_eq!(loaded.size(), size);
        }
    }

    #[test]
    fn every_proof_up_to_40_leaves_verifies() {
        let (leaves, source, roots) = build(40);
        for second in 1..=40u64 {
            for index in 0..second {
                let Ok(path) = inclusion_path(&source, index, second);
                verify_inclusion(index, second, &leaves[index as usize], &path, &roots[second as usize])
                    .unwrap_or_else(|error| panic!("inclusion {index} in {second}: {error}"));
            }
            for first in 0..=second {
                let Ok(path) = consistency_path(&source, first, second);
                verify_consistency(first, second, &roots[first as usize], &roots[second as usize], &path)
                    .unwrap_or_else(|error| panic!("consistency {first} -> {second}: {error}"));
            }
        }
    }
}
