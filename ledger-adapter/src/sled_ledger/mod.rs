//! The embedded backend: the Merkle log and its blocks in trees of one sled database.
//!
//! # On-disk layout
//!
//! All trees are named `{prefix}{suffix}` (prefix [`DEFAULT_TREE_PREFIX`] = `ledger/` unless the
//! caller picks one), so the bridge can keep its own trees in the same database. Integers are
//! big-endian, so key order is numeric order.
//!
//! | tree (suffix)  | key                           | value                                              |
//! |----------------|-------------------------------|----------------------------------------------------|
//! | `records`      | seq (u64)                     | record bytes, as given                             |
//! | `leaves`       | chunk (u64) = seq >> 6        | leaf hashes of seqs `chunk·64..`, 32 bytes each (1)|
//! | `nodes`        | level (u8, ≥ 6) ‖ index (u64) | hash of complete subtree, 32 bytes                 |
//! | `blocks`       | height (u64)                  | signed header, 233 bytes (see `block`)             |
//! | `block_starts` | first seq of the block (u64)  | height (u64)                                       |
//! | `meta`         | `format`, `node_public_key`   | format tag (2), 33-byte compressed key             |
//!
//! (1) Concatenated in seq order: 64 of them in every chunk but the last, which holds exactly the
//! leaves of the log in it. (2) `fhir-ledger-bridge/ledger-sled/v2`.
//!
//! Node `(level, index)` covers leaves `[index << level, (index + 1) << level)`; it is written by
//! the append that completes it, and only from level 6 up: a lower node lies inside one leaf chunk
//! and is computed from its (at most 64) leaf hashes. So one record costs one sled key (its own),
//! plus 1/64 of a chunk and about 1/32 of a node, and the leaf hash of a record is one point read.
//! Roots and proofs for any tree size take O(log n) point reads of nodes plus at most two leaf
//! chunks, and at most about 2 × 64 hashes besides.
//!
//! The `records` tree holds nothing but the records, one per key, exactly as given, so callers may
//! read it directly (the bridge's `verify` decodes every value in it).
//!
//! The last chunk is the one value an append rewrites (it extends it); the append checks, inside
//! its transaction, that the chunk still holds exactly what the writer expects, and refuses to
//! overwrite any other existing key, so storage stays append-only even if the writer were wrong.
//!
//! **Invariant:** one append is one sled transaction over `records`, `leaves`, `nodes`, `blocks`
//! and `block_starts`, followed by a flush of the database, so after a crash the trees hold exactly
//! the records of the blocks in `blocks`.
//!
//! **Format:** the `format` tag names this layout (v2). A ledger with another tag (v1 stored one
//! key per leaf hash and nodes at every level) is refused by [`SledLedger::open`] with
//! [`crate::LedgerError::UnsupportedFormat`] and by [`verify_sled`] with
//! [`crate::VerifyError::UnsupportedFormat`]; there is no migration.

mod ledger;
mod store;

pub use ledger::{verify_sled, SledLedger};
pub use store::{
    DEFAULT_TREE_PREFIX, TREE_BLOCKS, TREE_BLOCK_STARTS, TREE_LEAVES, TREE_META, TREE_NODES, TREE_RECORDS,
};
