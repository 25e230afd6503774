//! `ledger-adapter`: the ledger traits and the embedded backend, an append-only RFC 6962 / RFC 9162
//! Merkle log on sled, sealed into signed, hash-chained blocks.
//!
//! # Brief overview
//!
//! - [`LedgerReader`] and [`LedgerWriter`] are the API boundary the bridge programs against. A
//!   writer appends a *block* of records at a time; each append is atomic and durable before it
//!   returns a [`BlockReceipt`].
//! - [`SledLedger`] implements both on a caller-owned `sled::Db`: records one per key, leaf hashes
//!   packed 64 to a key, and the hashes of complete subtrees of 64 leaves and more, so an append
//!   writes little more than one key per record, and roots, [`InclusionProof`]s and
//!   [`ConsistencyProof`]s for any tree size take O(log n) reads (plus at most two leaf chunks).
//! - Every block has a [`BlockHeader`] (height, previous header hash, record range, block root,
//!   tree size and root, time, key id) with a fixed, versioned binary encoding, signed by a
//!   [`BlockSigner`] ([`Secp256k1Signer`]: secp256k1 ECDSA over a domain-separated SHA-256 header
//!   hash) into a [`SignedBlockHeader`].
//! - [`verify_inclusion`] and [`verify_consistency`] check proofs with nothing but hashes;
//!   [`LedgerReader::verify`] (and [`verify_sled`]) walk the whole ledger, every entry of every
//!   tree, and name the first bad block, record, leaf hash or node in a [`VerifyError`].
//! - [`hash_leaf`], [`hash_children`] and [`empty_root`] are the RFC 6962 hashes; [`Hash`](struct@Hash)
//!   compares in constant time.
//!
//! # What it deliberately does not know
//!
//! Nothing about FHIR, encryption, patients or record kinds: a record is opaque bytes that the
//! caller has already encoded canonically, with its own version tag. De-duplication, admission
//! and the meaning of records belong to the caller, as with a Trillian personality. It does not
//! store the node's secret key either: the caller loads a [`NodeKey`] and keeps its key file.

#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod block;
mod hasher;
mod hex;
mod ledger;
mod proof;
mod signer;
mod sled_ledger;
mod tree;
mod verify;

pub use block::{
    BlockHeader, DecodeError, HeaderVersion, SignedBlockHeader, HEADER_HASH_DOMAIN, HEADER_V1_LEN, SIGNED_HEADER_V1_LEN,
};
pub use hasher::{empty_root, hash_children, hash_leaf, Hash, HASH_LEN};
pub use hex::HexError;
pub use ledger::{BlockReceipt, LedgerError, LedgerReader, LedgerWriter};
pub use proof::{
    root_from_inclusion_proof, root_from_leaves, verify_consistency, verify_inclusion, ConsistencyProof,
    ConsistencyProofError, InclusionProof, InclusionProofError,
};
pub use signer::{
    BlockSignature, BlockSigner, KeyError, KeyId, NodeKey, NodePublicKey, Secp256k1Signer, SignatureError, SignerError,
    PUBLIC_KEY_LEN, SIGNATURE_LEN,
};
pub use sled_ledger::{
    verify_sled, SledLedger, DEFAULT_TREE_PREFIX, TREE_BLOCKS, TREE_BLOCK_STARTS, TREE_LEAVES, TREE_META, TREE_NODES,
    TREE_RECORDS,
};
pub use verify::{VerifyError, VerifyProgress, VerifyReport};
