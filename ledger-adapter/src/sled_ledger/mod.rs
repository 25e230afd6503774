//! The embedded backend: the Merkle log and its blocks in trees of one sled database.
//!
//! # On-disk layout
//!
//! All trees are named `{prefix}{suffix}` (prefix [`DEFAULT_TREE_PREFIX`] = `ledger/` unless the
//! caller picks one), so the bridge can keep its own trees in the same database. Integers are
//! big-endian, so key order is numeric order.
//!
//! | tree (suffix)   | key                               | value                                  |
//! |-----------------|-----------------------------------|----------------------------------------|
//! | `records`       | seq (u64)                         | record bytes, as given                 |
//! | `leaves`        | seq (u64)                         | leaf hash, 32 bytes                    |
//! | `nodes`         | level (u8, ≥ 1) ‖ index (u64)     | hash of complete subtree, 32 bytes     |
//! | `blocks`        | height (u64)                      | signed header, 233 bytes (see `block`) |
//! | `block_starts`  | first seq of the block (u64)      | height (u64)                           |
//! | `meta`          | `format`, `node_public_key`       | format tag, 33-byte compressed key     |
//!
//! Node `(level, index)` covers leaves `[index << level, (index + 1) << level)` and is written by
//! the append that completes it; level 0 is the `leaves` tree. Roots and proofs for any tree size
//! therefore take O(log n) point reads, and an append writes about two hashes per record.
//!
//! **Invariant:** one append is one sled transaction over `records`, `leaves`, `nodes`, `blocks`
//! and `block_starts`, followed by a flush of the database, so after a crash the trees hold exactly
//! the records of the blocks in `blocks`.

mod ledger;
mod store;

pub use ledger::{verify_sled, SledLedger};
pub use store::{
    DEFAULT_TREE_PREFIX, TREE_BLOCKS, TREE_BLOCK_STARTS, TREE_LEAVES, TREE_META, TREE_NODES, TREE_RECORDS,
};
