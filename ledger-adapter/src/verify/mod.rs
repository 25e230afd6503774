//! The full verification walk: the format tag and key, every block, signature, chain link, index
//! entry, record, leaf hash, stored subtree node and root, in order, stopping at the first thing
//! that is wrong; then that nothing is stored past the last block.
//!
//! The walk recomputes everything from the record bytes and carries the tree's right edge (a
//! `Frontier`) from block to block, so each record is hashed once and each stored node is compared
//! once: O(n) overall, never a whole-tree recomputation per block.
//! Backends give it raw access to their storage through [`VerifySource`], so it sees exactly what
//! is on disk, and it reads every entry of every tree, so nothing stored escapes it.

mod error;
mod walk;

pub use error::VerifyError;
pub(crate) use walk::{verify_source, RawEntries, VerifySource};

use crate::hasher::Hash;
use crate::signer::KeyId;

/// How far a verification has got; passed to the progress callback after each block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyProgress {
    /// Blocks checked so far.
    pub blocks_verified: u64,
    /// Records checked so far.
    pub records_verified: u64,
    /// Records in the ledger according to its last stored block (0 if that cannot be read).
    pub records_total: u64,
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Number of blocks checked.
    pub blocks: u64,
    /// Number of records checked (the tree size).
    pub tree_size: u64,
    /// Root of the whole log.
    pub tree_root: Hash,
    /// Header hash of the last block, `None` for an empty ledger.
    pub head_hash: Option<Hash>,
    /// Id of the key every block is signed with (`None` for an empty ledger without a stored key).
    pub key_id: Option<KeyId>,
}
