//! The sled trees behind [`super::SledLedger`], their key encodings, and raw reads.
//!
//! Every integer key is big-endian, so sled's byte order is numeric order and ranges are cheap.

use sled::{IVec, Tree};

use crate::block::SignedBlockHeader;
use crate::hasher::Hash;
use crate::ledger::LedgerError;
use crate::tree::NodeSource;
use crate::verify::{RawEntries, VerifySource};

/// Tree-name suffix of the records tree: seq (u64 BE) → record bytes.
pub const TREE_RECORDS: &str = "records";
/// Tree-name suffix of the leaf hashes tree: seq (u64 BE) → 32-byte leaf hash.
pub const TREE_LEAVES: &str = "leaves";
/// Tree-name suffix of the subtree hashes tree: level (u8, 1 and up) ‖ index (u64 BE) → 32-byte hash.
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
/// Metadata value of the storage format tag.
pub(crate) const FORMAT_V1: &[u8] = b"fhir-ledger-bridge/ledger-sled/v1";
/// Metadata key of the node's 33-byte compressed public key.
pub(crate) const META_PUBLIC_KEY: &[u8] = b"node_public_key";

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

    fn first_u64_key_from(tree: &Tree, start: u64) -> sled::Result<Option<u64>> {
        // A malformed key still counts as something stored there.
        Ok(tree.range(u64_key(start)..).keys().next().transpose()?.map(|key| decode_u64(&key).unwrap_or(u64::MAX)))
    }
}

impl NodeSource for Store {
    type Error = LedgerError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, LedgerError> {
        let stored = if level == 0 { self.leaves.get(u64_key(index)) } else { self.nodes.get(node_key(level, index)) };
        let bytes = stored.map_err(LedgerError::storage)?.ok_or_else(|| {
            LedgerError::corrupt(format!(
                "node ({level}, {index}) is missing from the {TREE_NODES} or {TREE_LEAVES} tree"
            ))
        })?;
        Hash::from_slice(&bytes).ok_or_else(|| LedgerError::corrupt(format!("node ({level}, {index}) is not 32 bytes")))
    }
}

fn raw_entries(iter: sled::Iter) -> RawEntries<'static, IVec, sled::Error> {
    Box::new(iter)
}

impl VerifySource for Store {
    type Bytes = IVec;
    type Error = sled::Error;

    fn stored_public_key(&self) -> sled::Result<Option<IVec>> {
        self.meta.get(META_PUBLIC_KEY)
    }

    fn blocks(&self) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.blocks.iter())
    }

    fn last_block(&self) -> sled::Result<Option<IVec>> {
        Ok(self.blocks.last()?.map(|(_, value)| value))
    }

    fn records(&self, start: u64, end: u64) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.records.range(u64_key(start)..u64_key(end)))
    }

    fn leaves(&self, start: u64, end: u64) -> RawEntries<'_, IVec, sled::Error> {
        raw_entries(self.leaves.range(u64_key(start)..u64_key(end)))
    }

    fn node(&self, level: u8, index: u64) -> sled::Result<Option<IVec>> {
        self.nodes.get(node_key(level, index))
    }

    fn block_start(&self, first_seq: u64) -> sled::Result<Option<IVec>> {
        self.block_starts.get(u64_key(first_seq))
    }

    fn first_record_from(&self, seq: u64) -> sled::Result<Option<u64>> {
        Store::first_u64_key_from(&self.records, seq)
    }

    fn first_leaf_from(&self, seq: u64) -> sled::Result<Option<u64>> {
        Store::first_u64_key_from(&self.leaves, seq)
    }

    fn first_node_from(&self, level: u8, index: u64) -> sled::Result<Option<u64>> {
        let found = self.nodes.range(node_key(level, index)..=node_key(level, u64::MAX)).keys().next().transpose()?;
        Ok(found.map(|key| key.get(1..).and_then(decode_u64).unwrap_or(u64::MAX)))
    }

    fn first_block_start_from(&self, first_seq: u64) -> sled::Result<Option<u64>> {
        Store::first_u64_key_from(&self.block_starts, first_seq)
    }
}
