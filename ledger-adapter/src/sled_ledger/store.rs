//! The sled trees behind [`super::SledLedger`], their key encodings, and raw reads.
//!
//! Every integer key is big-endian, so sled's byte order is numeric order and ranges are cheap.

use sled::{IVec, Tree};

use crate::block::SignedBlockHeader;
use crate::ledger::LedgerError;
use crate::tree::{ChunkedReader, ChunkedStorage};
use crate::verify::{RawEntries, VerifySource};

/// Tree-name suffix of the records tree: seq (u64 BE) → record bytes.
pub const TREE_RECORDS: &str = "records";
/// Tree-name suffix of the leaf hashes tree: chunk (u64 BE, `seq >> 6`) → the 32-byte leaf hashes
/// of the chunk's 64 records (fewer in the last chunk: those in the log), concatenated in order.
pub const TREE_LEAVES: &str = "leaves";
/// Tree-name suffix of the subtree hashes tree: level (u8, 6 and up) ‖ index (u64 BE) → 32-byte hash.
pub const TREE_NODES: &str = "nodes";
/// Tree-name suffix of the blocks tree: height (u64 BE) → encoded signed header.
pub const TREE_BLOCKS: &str = "blocks";
/// Tree-name suffix of the block index: first seq of a block (u64 BE) → height (u64 BE).
pub const TREE_BLOCK_STARTS: &str = "block_starts";
/// Tree-name suffix of the metadata tree (format tag and node public key).
pub const TREE_META: &str = "meta";
/// The tree-name prefix [`super::SledLedger::open`] uses.
pub const DEFAULT_TREE_PREFIX: &str = "ledger/";

/// Metadata key of the storage format tag.
pub(crate) const META_FORMAT: &[u8] = b"format";
/// Metadata value of the storage format tag: the layout described in [`super`].
pub(crate) const FORMAT_V2: &str = "fhir-ledger-bridge/ledger-sled/v2";
/// Metadata key of the node's 33-byte compressed public key.
pub(crate) const META_PUBLIC_KEY: &[u8] = b"node_public_key";
/// Leaf hashes are stored in chunks of `2^CHUNK_LEVEL` = 64, and nodes from this level up.
pub(crate) const CHUNK_LEVEL: u8 = 6;

/// A big-endian u64 key.
pub(crate) fn u64_key(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

/// The key of node `(level, index)`.
pub(crate) fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

fn decode_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// The ledger's trees in one sled database.
#[derive(Clone)]
pub(crate) struct Store {
    pub(crate) db: sled::Db,
    pub(crate) records: Tree,
    pub(crate) leaves: Tree,
    pub(crate) nodes: Tree,
    pub(crate) blocks: Tree,
    pub(crate) block_starts: Tree,
    pub(crate) meta: Tree,
}

impl Store {
    /// Opens (creating if needed) the trees named `{prefix}{suffix}`.
    pub(crate) fn open(db: &sled::Db, prefix: &str) -> sled::Result<Store> {
        let tree = |suffix: &str| db.open_tree(format!("{prefix}{suffix}"));
        Ok(Store {
            db: db.clone(),
            records: tree(TREE_RECORDS)?,
            leaves: tree(TREE_LEAVES)?,
            nodes: tree(TREE_NODES)?,
            blocks: tree(TREE_BLOCKS)?,
            block_starts: tree(TREE_BLOCK_STARTS)?,
            meta: tree(TREE_META)?,
        })
    }

    /// The stored block at `height`, decoded.
    pub(crate) fn block(&self, height: u64) -> Result<Option<SignedBlockHeader>, LedgerError> {
        let Some(bytes) = self.blocks.get(u64_key(height)).map_err(LedgerError::storage)? else {
            return Ok(None);
        };
        SignedBlockHeader::decode(&bytes)
            .map(Some)
            .map_err(|error| LedgerError::corrupt(format!("block {height} does not decode: {error}")))
    }

    /// The last stored block, decoded, checking that it is stored under its own height.
    pub(crate) fn last_block(&self) -> Result<Option<SignedBlockHeader>, LedgerError> {
        let Some((key, bytes)) = self.blocks.last().map_err(LedgerError::storage)? else {
            return Ok(None);
        };
        let signed = SignedBlockHeader::decode(&bytes)
            .map_err(|error| LedgerError::corrupt(format!("the last block does not decode: {error}")))?;
        if decode_u64(&key) != Some(signed.header.height) {
            return Err(LedgerError::corrupt("the last block is not stored under its height"));
        }
        Ok(Some(signed))
    }

    /// The height of the block whose first record is the last one at or before `seq`.
    pub(crate) fn block_start_at_or_before(&self, seq: u64) -> Result<Option<u64>, LedgerError> {
        let Some((_, height)) =
            self.block_starts.range(..=u64_key(seq)).next_back().transpose().map_err(LedgerError::storage)?
        else {
            return Ok(None);
        };
        decode_u64(&height).map(Some).ok_or_else(|| LedgerError::corrupt("a block index entry is malformed"))
    }

    /// A reader for roots, proofs and leaf hashes (one per query: it caches leaf chunks).
    pub(crate) fn reader(&self) -> ChunkedReader<'_, Store> {
        ChunkedReader::new(self, CHUNK_LEVEL)
    }

    /// The first record stored at or after `seq` (a malformed key counts as `u64::MAX`).
    pub(crate) fn first_record_from(&self, seq: u64) -> Result<Option<u64>, LedgerError> {
        first_u64_key_from(&self.records, seq).map_err(LedgerError::storage)
    }

    /// The first leaf chunk stored at or after `chunk` (a malformed key counts as `u64::MAX`).
    pub(crate) fn first_leaf_chunk_from(&self, chunk: u64) -> Result<Option<u64>, LedgerError> {
        first_u64_key_from(&self.leaves, chunk).map_err(LedgerError::storage)
    }
}

fn first_u64_key_from(tree: &Tree, start: u64) -> sled::Result<Option<u64>> {
    // A malformed key still counts as something stored there.
    Ok(tree.range(u64_key(start)..).keys().next().transpose()?.map(|key| decode_u64(&key).unwrap_or(u64::MAX)))
}

impl ChunkedStorage for Store {
    type Bytes = IVec;
    type Error = LedgerError;

    fn leaf_chunk(&self, chunk: u64) -> Result<Option<IVec>, LedgerError> {
        self.leaves.get(u64_key(chunk)).map_err(LedgerError::storage)
    }

    fn stored_node(&self, level: u8, index: u64) -> Result<Option<IVec>, LedgerError> {
        self.nodes.get(node_key(level, index)).map_err(LedgerError::storage)
    }

    fn corrupt(&self, detail: String) -> LedgerError {
        LedgerError::corrupt(detail)
    }
}

fn raw_entries(iter: sled::Iter) -> RawEntries<'static, IVec, sled::Error> {
    Box::new(iter)
}

impl VerifySource for Store {
    type Bytes = IVec;
    type Error = sled::Error;

    const FORMAT: &'static [u8] = FORMAT_V2.as_bytes();
    const CHUNK_LEVEL: u8 = CHUNK_LEVEL;

    fn format(&self) -> sled::Result<Option<IVec>> {
        self.meta.get(META_FORMAT)
    }

    fn stored_public_key(&self) -> sled::Result<Option<IVec>> {
        self.meta.get(META_PUBLIC_KEY)
    }

    fn blocks(&self) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.blocks.iter())
    }

    fn last_block(&self) -> sled::Result<Option<IVec>> {
        Ok(self.blocks.last()?.map(|(_, value)| value))
    }

    fn block_starts(&self) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.block_starts.iter())
    }

    fn records(&self) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.records.iter())
    }

    fn leaf_chunks(&self) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.leaves.iter())
    }

    fn node(&self, level: u8, index: u64) -> sled::Result<Option<IVec>> {
        self.nodes.get(node_key(level, index))
    }

    fn nodes(&self) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.nodes.iter())
    }
}
