//! Inclusion and consistency proofs and their verification (RFC 9162 §2.1.3.2 and §2.1.4.2).
//!
//! Verification needs nothing but hashes: a client holding a signed tree root checks a proof
//! without trusting the node that produced it. Proof *generation* lives in `tree`, next to the
//! stored node hashes it reads.

use crate::hasher::{empty_root, hash_children, Hash};

/// Proof that the leaf at `leaf_index` is part of the tree of `tree_size` leaves (RFC 9162 §2.1.3).
///
/// `hashes` runs from the leaf's sibling up to the child of the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Index (sequence number) of the proven leaf.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// The audit path, bottom-up.
    pub hashes: Vec<Hash>,
}

impl InclusionProof {
    /// Checks this proof for `leaf_hash` against the root of the tree of `self.tree_size` leaves.
    pub fn verify(&self, leaf_hash: &Hash, root: &Hash) -> Result<(), InclusionProofError> {
        verify_inclusion(self.leaf_index, self.tree_size, leaf_hash, &self.hashes, root)
    }
}

/// Proof that the tree of `second` leaves extends the tree of `first` leaves (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// Size of the older tree.
    pub first: u64,
    /// Size of the newer tree.
    pub second: u64,
    /// The consistency path in RFC 9162 order.
    pub hashes: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks this proof against the roots of the two trees.
    pub fn verify(&self, first_root: &Hash, second_root: &Hash) -> Result<(), ConsistencyProofError> {
        verify_consistency(self.first, self.second, first_root, second_root, &self.hashes)
    }
}

/// Why an inclusion proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InclusionProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {leaf_index} is not below tree size {tree_size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        leaf_index: u64,
        /// The claimed tree size.
        tree_size: u64,
    },
    /// The proof has the wrong number of hashes for this index and tree size.
    #[error("inclusion proof has {got} hashes, expected {expected}")]
    WrongProofSize {
        /// Hashes in the proof.
        got: usize,
        /// Hashes a proof for this index and size must have.
        expected: usize,
    },
    /// The proof does not lead from the leaf hash to the given root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
    },
}

/// Why a consistency proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsistencyProofError {
    /// The first tree is larger than the second: logs only grow.
    #[error("first tree size {first} is larger than second tree size {second}")]
    SizesOutOfOrder {
        /// Size of the claimed older tree.
        first: u64,
        /// Size of the claimed newer tree.
        second: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("consistency proof has {got} hashes, expected {expected}")]
    WrongProofSize {
        /// Hashes in the proof.
        got: usize,
        /// Hashes a proof for these sizes must have.
        expected: usize,
    },
    /// The proof does not reproduce the root of the first tree.
    #[error("consistency proof does not reproduce the first root")]
    FirstRootMismatch,
    /// The proof does not reproduce the root of the second tree.
    #[error("consistency proof does not reproduce the second root")]
    SecondRootMismatch,
}

/// The number of bits needed to write `value` (0 for 0).
fn bit_length(value: u64) -> u32 {
    u64::BITS - value.leading_zeros()
}

/// Splits the audit path of `index` in a tree of `size` leaves into its inner part (below the
/// point where the path to `index` and the path to the last leaf meet) and its border part (the
/// left siblings along the right border above it). Their sum is the proof length.
fn decompose_inclusion_proof(index: u64, size: u64) -> (u32, u32) {
    let inner = bit_length(index ^ (size - 1));
    let border = (index >> inner).count_ones();
    (inner, border)
}

/// Computes the root that an inclusion proof leads to (RFC 9162 §2.1.3.2, steps 1–5).
pub fn root_from_inclusion_proof(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, InclusionProofError> {
    if leaf_index >= tree_size {
        return Err(InclusionProofError::IndexOutOfRange { leaf_index, tree_size });
    }
    let (inner, border) = decompose_inclusion_proof(leaf_index, tree_size);
    let expected = (inner + border) as usize;
    if proof.len() != expected {
        return Err(InclusionProofError::WrongProofSize { got: proof.len(), expected });
    }
    let mut node_index = leaf_index;
    let mut last_index = tree_size - 1;
    let mut running = *leaf_hash;
    for sibling in proof {
        // The length check above guarantees last_index > 0 here.
        if node_index & 1 == 1 || node_index == last_index {
            running = hash_children(sibling, &running);
            if node_index & 1 == 0 {
                // A right-border node without a right sibling: climb until it is a right child.
                while node_index & 1 == 0 && node_index != 0 {
                    node_index >>= 1;
                    last_index >>= 1;
                }
            }
        } else {
            running = hash_children(&running, sibling);
        }
        node_index >>= 1;
        last_index >>= 1;
    }
    Ok(running)
}

/// Verifies that `leaf_hash` is the leaf at `leaf_index` in the tree of `tree_size` leaves whose
/// root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), InclusionProofError> {
    let computed = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, proof)?;
    if computed == *root {
        Ok(())
    } else {
        Err(InclusionProofError::RootMismatch { computed })
    }
}

/// Verifies that the tree of `second` leaves with root `second_root` is an append-only extension of
/// the tree of `first` leaves with root `first_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. A first size of 0 needs an empty proof and the
/// empty-tree root as `first_root` (RFC 9162 defines no proof for it; every tree extends the empty
/// one).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ConsistencyProofError> {
    if first > second {
        return Err(ConsistencyProofError::SizesOutOfOrder { first, second });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ConsistencyProofError::WrongProofSize { got: proof.len(), expected: 0 });
        }
        if first == 0 {
            return if *first_root == empty_root() { Ok(()) } else { Err(ConsistencyProofError::FirstRootMismatch) };
        }
        return if first_root == second_root { Ok(()) } else { Err(ConsistencyProofError::SecondRootMismatch) };
    }

    // Step 1: when `first` is a power of two its root is the first node of the path and is not
    // sent; the proof starts with the root of the largest complete subtree ending at `first` otherwise.
    let (inner, border) = decompose_inclusion_proof(first - 1, second);
    let shift = first.trailing_zeros();
    let inner = inner - shift;
    let first_is_subtree = first == 1u64 << shift;
    let expected = usize::from(!first_is_subtree) + (inner + border) as usize;
    if proof.len() != expected {
        return Err(ConsistencyProofError::WrongProofSize { got: proof.len(), expected });
    }
    let (seed, rest) = match (first_is_subtree, proof.split_first()) {
        (true, _) => (*first_root, proof),
        (false, Some((seed, rest))) => (*seed, rest),
        (false, None) => return Err(ConsistencyProofError::WrongProofSize { got: 0, expected }),
    };

    // Steps 2–3.
    let mut first_index = first - 1;
    let mut second_index = second - 1;
    while first_index & 1 == 1 {
        first_index >>= 1;
        second_index >>= 1;
    }
    // Step 4.
    let mut first_running = seed;
    let mut second_running = seed;
    // Step 5.
    for node in rest {
        // The length check above guarantees second_index > 0 here.
        if first_index & 1 == 1 || first_index == second_index {
            first_running = hash_children(node, &first_running);
            second_running = hash_children(node, &second_running);
            if first_index & 1 == 0 {
                while first_index & 1 == 0 && first_index != 0 {
                    first_index >>= 1;
                    second_index >>= 1;
                }
            }
        } else {
            second_running = hash_children(&second_running, node);
        }
        first_index >>= 1;
        second_index >>= 1;
    }
    // Step 6.
    if first_running != *first_root {
        return Err(ConsistencyProofError::FirstRootMismatch);
    }
    if second_running != *second_root {
        return Err(ConsistencyProofError::SecondRootMismatch);
    }
    Ok(())
}

/// The root of the tree over `leaf_hashes`, straight from the recursive definition of MTH in
/// RFC 9162 §2.1.1.
///
/// A reference for tests and for small inputs: it is O(n) in time and recursion depth O(log n);
/// the ledger computes roots from stored subtree hashes instead.
pub fn root_from_leaves(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => empty_root(),
        [single] => *single,
        _ => {
            let split = largest_power_of_two_below(leaf_hashes.len() as u64) as usize;
            let (left, right) = leaf_hashes.split_at(split);
            hash_children(&root_from_leaves(left), &root_from_leaves(right))
        }
    }
}

/// The largest power of two strictly less than `value` (which must be at least 2).
pub(crate) fn largest_power_of_two_below(value: u64) -> u64 {
    debug_assert!(value >= 2, "no power of two below {value}");
    1u64 << (bit_length(value - 1) - 1)
}
