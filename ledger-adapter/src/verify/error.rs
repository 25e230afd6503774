//! [`VerifyError`]: the first thing a verification found wrong, naming the block and record.

use crate::block::DecodeError;
use crate::signer::KeyId;

/// The first thing found wrong. Heights and sequence numbers name the block and record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Storage could not be read; nothing was concluded about the data.
    #[error("ledger storage could not be read")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The storage format tag is not the one this version reads (`None`: the ledger has blocks
    /// but no format tag). Nothing else was checked: the layout may differ.
    #[error("the ledger storage format is {}, not the one this version reads", found.as_deref().unwrap_or("missing"))]
    UnsupportedFormat {
        /// The tag found, if any (lossily decoded as UTF-8).
        found: Option<String>,
    },
    /// The ledger has blocks but stores no public key, and none was given.
    #[error("no node public key is stored or given")]
    NoPublicKey,
    /// The stored public key is not a valid compressed secp256k1 key.
    #[error("the stored node public key is malformed")]
    StoredKeyMalformed,
    /// The ledger stores a different public key from the one given.
    #[error("the ledger stores key {stored}, expected {expected}")]
    KeyMismatch {
        /// Key id stored in the ledger.
        stored: KeyId,
        /// Key id of the key given.
        expected: KeyId,
    },
    /// A storage key has the wrong size for its tree.
    #[error("a key in the {tree} tree is malformed")]
    MalformedKey {
        /// The tree (`blocks`, `block_starts`, `records`, `leaves`, `nodes`).
        tree: &'static str,
    },
    /// Block heights are not dense: this height is missing.
    #[error("block {height} is missing")]
    MissingBlock {
        /// The first missing height.
        height: u64,
    },
    /// The stored header bytes do not decode.
    #[error("block {height}: header does not decode")]
    HeaderUndecodable {
        /// Height the header is stored under.
        height: u64,
        /// Why it does not decode.
        #[source]
        source: DecodeError,
    },
    /// The header's version byte names no known layout.
    #[error("block {height}: unknown header version {version}")]
    UnknownVersion {
        /// Height the header is stored under.
        height: u64,
        /// The version byte found.
        version: u8,
    },
    /// The header's height is not the height it is stored under.
    #[error("block {height}: header claims height {found}")]
    HeightMismatch {
        /// Height the header is stored under.
        height: u64,
        /// Height written in the header.
        found: u64,
    },
    /// The header names another signing key.
    #[error("block {height}: signed by key {found}, not the node key")]
    WrongSigningKey {
        /// Block height.
        height: u64,
        /// Key id written in the header.
        found: KeyId,
    },
    /// The signature does not verify under the node key.
    #[error("block {height}: bad signature")]
    BadSignature {
        /// Block height.
        height: u64,
    },
    /// `prev_hash` is not the header hash of the previous block (or not zero for block 0).
    #[error("block {height}: broken hash chain")]
    BrokenChain {
        /// Block height.
        height: u64,
    },
    /// The block does not start where the previous one ended.
    #[error("block {height}: starts at record {first_seq}, expected {expected_first_seq}")]
    NotContiguous {
        /// Block height.
        height: u64,
        /// Where the block should start.
        expected_first_seq: u64,
        /// Where the header says it starts.
        first_seq: u64,
    },
    /// `tree_size` is not `first_seq + record_count`, or the block is empty.
    #[error("block {height}: record count and tree size disagree")]
    BadRecordCount {
        /// Block height.
        height: u64,
    },
    /// The index from first sequence number to block height does not name this block.
    #[error("block {height}: block index entry is missing or wrong")]
    IndexMismatch {
        /// Block height.
        height: u64,
    },
    /// A record of the block is missing.
    #[error("record {seq} (block {height}) is missing")]
    MissingRecord {
        /// Sequence number.
        seq: u64,
        /// Block height.
        height: u64,
    },
    /// The stored leaf hash of a record is missing.
    #[error("leaf hash of record {seq} (block {height}) is missing")]
    MissingLeafHash {
        /// Sequence number.
        seq: u64,
        /// Block height.
        height: u64,
    },
    /// A leaf hash chunk holds more hashes than a chunk has leaves.
    #[error("leaf hash chunk {chunk} is longer than a chunk")]
    MalformedLeafChunk {
        /// The chunk index (its first record is `chunk << 6`).
        chunk: u64,
    },
    /// A record's bytes have changed: they no longer hash to the signed block root.
    #[error("record {seq} (block {height}) has been tampered with")]
    RecordTampered {
        /// Sequence number.
        seq: u64,
        /// Block height.
        height: u64,
    },
    /// A stored leaf hash has changed (the record itself still matches the signed block root).
    #[error("leaf hash of record {seq} (block {height}) has been tampered with")]
    LeafHashTampered {
        /// Sequence number.
        seq: u64,
        /// Block height.
        height: u64,
    },
    /// The records of the block do not hash to its signed block root, and no single record can be
    /// blamed (a record and its stored leaf hash were changed together).
    #[error("block {height}: block root does not match its records")]
    BlockRootMismatch {
        /// Block height.
        height: u64,
    },
    /// The log up to this block does not hash to the signed tree root.
    #[error("block {height}: tree root does not match the log")]
    TreeRootMismatch {
        /// Block height.
        height: u64,
    },
    /// A stored subtree hash that this block completes is missing.
    #[error("node ({level}, {index}) completed by block {height} is missing")]
    MissingNode {
        /// Node level (1 and up).
        level: u8,
        /// Node index within the level.
        index: u64,
        /// Block height.
        height: u64,
    },
    /// A stored subtree hash differs from the hash of its leaves; proofs using it would lie.
    #[error("node ({level}, {index}) completed by block {height} has been tampered with")]
    NodeTampered {
        /// Node level (1 and up).
        level: u8,
        /// Node index within the level.
        index: u64,
        /// Block height.
        height: u64,
    },
    /// A node is stored at a level that the layout never stores (below the chunk level, or
    /// above the top of any tree).
    #[error("node ({level}, {index}) is stored at a level that is never stored")]
    UnexpectedNode {
        /// Node level.
        level: u8,
        /// Node index within the level.
        index: u64,
    },
    /// Records are stored past the last block.
    #[error("record {seq} is stored past the last block")]
    RecordPastHead {
        /// The first such sequence number.
        seq: u64,
    },
    /// Leaf hashes are stored past the last block.
    #[error("leaf hash {seq} is stored past the last block")]
    LeafHashPastHead {
        /// The first such sequence number.
        seq: u64,
    },
    /// Subtree hashes are stored past the last block.
    #[error("node ({level}, {index}) is stored past the last block")]
    NodePastHead {
        /// Node level.
        level: u8,
        /// Node index within the level.
        index: u64,
    },
    /// Block index entries are stored past the last block.
    #[error("block index entry for record {first_seq} is stored past the last block")]
    IndexPastHead {
        /// The first sequence number the entry names.
        first_seq: u64,
    },
}

impl VerifyError {
    /// The height of the block the error names, if it names one.
    pub fn height(&self) -> Option<u64> {
        use VerifyError::*;
        match self {
            MissingBlock { height }
            | HeaderUndecodable { height, .. }
            | UnknownVersion { height, .. }
            | HeightMismatch { height, .. }
            | WrongSigningKey { height, .. }
            | BadSignature { height }
            | BrokenChain { height }
            | NotContiguous { height, .. }
            | BadRecordCount { height }
            | IndexMismatch { height }
            | MissingRecord { height, .. }
            | MissingLeafHash { height, .. }
            | RecordTampered { height, .. }
            | LeafHashTampered { height, .. }
            | BlockRootMismatch { height }
            | TreeRootMismatch { height }
            | MissingNode { height, .. }
            | NodeTampered { height, .. } => Some(*height),
            _ => None,
        }
    }

    /// The sequence number of the record the error names, if it names one.
    pub fn seq(&self) -> Option<u64> {
        use VerifyError::*;
        match self {
            MissingRecord { seq, .. }
            | MissingLeafHash { seq, .. }
            | RecordTampered { seq, .. }
            | LeafHashTampered { seq, .. }
            | RecordPastHead { seq }
            | LeafHashPastHead { seq } => Some(*seq),
            _ => None,
        }
    }

    pub(super) fn storage(error: impl std::error::Error + Send + Sync + 'static) -> VerifyError {
        VerifyError::Storage(Box::new(error))
    }
}
