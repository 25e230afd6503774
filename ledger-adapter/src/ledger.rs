//! The ledger traits: [`LedgerReader`] for the read side, [`LedgerWriter`] for appending blocks.
//!
//! The ledger is content-blind: a record is an opaque byte string that the caller has already
//! encoded canonically (with its own version tag). The ledger numbers records, hashes them into
//! the Merkle log, seals them into signed blocks and proves things about them; it never looks
//! inside.

use std::ops::Range;

use crate::block::SignedBlockHeader;
use crate::hasher::Hash;
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::signer::{KeyId, NodePublicKey, SignerError};
use crate::verify::{VerifyError, VerifyProgress, VerifyReport};

/// A storage, append or proof request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The storage engine failed to read, write or flush. For an append, the block may or may not
    /// have become durable: do not acknowledge its records, and read [`LedgerReader::head`] again.
    #[error("ledger storage failed")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An append was given no records; a block holds at least one.
    #[error("a block needs at least one record")]
    EmptyBlock,
    /// A tree size beyond the current size of the log was asked for.
    #[error("tree size {requested} is beyond the size of the log, {tree_size}")]
    TreeSizeOutOfRange {
        /// The size asked for.
        requested: u64,
        /// The current size of the log.
        tree_size: u64,
    },
    /// An inclusion proof was asked for a sequence number not inside the tree size given.
    #[error("sequence number {seq} is not inside a tree of size {tree_size}")]
    SeqOutOfRange {
        /// The sequence number asked for.
        seq: u64,
        /// The tree size given.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger to a smaller tree.
    #[error("first tree size {first} is larger than second tree size {second}")]
    SizesOutOfOrder {
        /// The first (older) size given.
        first: u64,
        /// The second (newer) size given.
        second: u64,
    },
    /// Stored data is missing or malformed. Nothing is written until an operator runs a full
    /// verification to find out what happened.
    #[error("ledger storage is corrupt: {detail}")]
    Corrupt {
        /// What was found (names trees and positions, never record contents).
        detail: String,
    },
    /// The ledger trees carry a storage format tag that this version does not read (an older or
    /// newer layout). Nothing was read or written; there is no migration: recreate the ledger
    /// with the version that wrote it, or from its source data.
    #[error("the ledger is stored in format {found:?}; this version reads only {expected:?}")]
    UnsupportedFormat {
        /// The format tag found (lossily decoded as UTF-8).
        found: String,
        /// The format tag this version reads.
        expected: &'static str,
    },
    /// The ledger was created with another node key than the one the signer holds.
    #[error("ledger is signed by key {stored}, but the signer holds key {signer}")]
    SignerMismatch {
        /// Key id stored in the ledger.
        stored: KeyId,
        /// Key id of the signer given.
        signer: KeyId,
    },
    /// The signer could not sign the block header; nothing was written.
    #[error("block signer failed")]
    Signer(#[from] SignerError),
}

impl LedgerError {
    /// Whether retrying the same call later may succeed (storage failures, an unavailable signer),
    /// as opposed to a bad request, a broken signer or corrupt data, which fail again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LedgerError::Storage(_) | LedgerError::Signer(SignerError::Unavailable(_)))
    }

    pub(crate) fn storage(error: impl std::error::Error + Send + Sync + 'static) -> LedgerError {
        LedgerError::Storage(Box::new(error))
    }

    pub(crate) fn corrupt(detail: impl Into<String>) -> LedgerError {
        LedgerError::Corrupt { detail: detail.into() }
    }
}

/// What an append committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReceipt {
    /// Height of the new block.
    pub height: u64,
    /// Sequence number of its first record.
    pub first_seq: u64,
    /// Sequence numbers of its records, in the order given to the append.
    pub seqs: Range<u64>,
    /// The signed header as stored.
    pub header: SignedBlockHeader,
}

/// The read side of a ledger.
///
/// Sequence numbers are dense from 0; blocks are numbered from 0 (the genesis block has height 0
/// and a `prev_hash` of 32 zero bytes). Reads only ever see whole, durable blocks: a record, leaf,
/// node or block becomes visible when the append that wrote it has returned `Ok`, never before.
/// Implementations are `Send + Sync` and every method may be called from many threads while one
/// writer appends.
pub trait LedgerReader: Send + Sync {
    /// The public key that signs this ledger's blocks.
    fn node_public_key(&self) -> NodePublicKey;

    /// The latest block, or `None` while the ledger is empty.
    fn head(&self) -> Result<Option<SignedBlockHeader>, LedgerError>;

    /// The number of records in the log (`head().tree_size`, 0 while empty).
    fn tree_size(&self) -> Result<u64, LedgerError>;

    /// The bytes of record `seq`, or `None` if `seq` is not below the tree size.
    fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, LedgerError>;

    /// The RFC 6962 leaf hash of record `seq`, or `None` if `seq` is not below the tree size.
    fn leaf_hash(&self, seq: u64) -> Result<Option<Hash>, LedgerError>;

    /// The block at `height`, or `None` if there is no such block yet.
    fn block(&self, height: u64) -> Result<Option<SignedBlockHeader>, LedgerError>;

    /// The height of the block holding record `seq`, or `None` if `seq` is not below the tree size.
    fn block_of(&self, seq: u64) -> Result<Option<u64>, LedgerError>;

    /// An inclusion proof for record `seq` in the tree of `tree_size` records, which may be any
    /// size up to the current one (usually a block's `tree_size`). O(log n) reads.
    fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<InclusionProof, LedgerError>;

    /// A consistency proof from the tree of `first` records to the tree of `second` records
    /// (`first <= second <= tree_size()`). O(log n) reads.
    fn consistency_proof(&self, first: u64, second: u64) -> Result<ConsistencyProof, LedgerError>;

    /// The root of the tree of the first `tree_size` records. O(log n) reads.
    fn root_at(&self, tree_size: u64) -> Result<Hash, LedgerError>;

    /// Checks everything stored, block by block, against `expected_key` (when `None`, against the
    /// key the backend trusts: for [`crate::SledLedger`], its signer's key, which opening checked
    /// against the stored one), and names the first thing that is wrong. `progress` is called
    /// after each block. Reads storage directly, so it also sees changes made behind the ledger's
    /// back. O(n) in the number of records.
    fn verify(
        &self,
        expected_key: Option<&NodePublicKey>,
        progress: &mut dyn FnMut(VerifyProgress),
    ) -> Result<VerifyReport, VerifyError>;
}

/// The write side of a ledger: appends whole blocks.
///
/// Appends are serialised (one at a time; concurrent callers wait) and each is:
/// - **ordered**: the records get the next sequence numbers in the order given, and the block the
///   next height, chained to the previous head;
/// - **atomic**: after a crash either all records of the block and its header are present, or
///   none of them;
/// - **durable** before it returns `Ok`: the caller may acknowledge the records' sources then, and
///   only then.
///
/// After `Ok(receipt)`, `head()` returns `receipt.header` (until the next append), and
/// `tree_size()` is `receipt.seqs.end`.
pub trait LedgerWriter: LedgerReader {
    /// Appends `records` (opaque, already canonical bytes; at least one) as one block sealed at
    /// `time_ms` (milliseconds since the Unix epoch; not required to increase), signs its header and
    /// makes it durable.
    fn append_block(&self, records: &[Vec<u8>], time_ms: u64) -> Result<BlockReceipt, LedgerError>;
}
