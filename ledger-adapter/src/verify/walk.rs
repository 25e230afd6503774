//! The walk itself, over a backend's raw storage ([`VerifySource`]).

use super::{VerifyError, VerifyProgress, VerifyReport};
use crate::block::{DecodeError, SignedBlockHeader};
use crate::hasher::{hash_leaf, Hash};
use crate::signer::NodePublicKey;
use crate::tree::Frontier;

/// An iterator over raw `(key, value)` pairs of one storage tree, in key order.
pub(crate) type RawEntries<'a, B, E> = Box<dyn Iterator<Item = Result<(B, B), E>> + 'a>;

/// Raw, unchecked access to a backend's storage, for the walk.
pub(crate) trait VerifySource {
    /// Bytes as the backend hands them out.
    type Bytes: AsRef<[u8]>;
    /// A storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The compressed public key stored when the ledger was created.
    fn stored_public_key(&self) -> Result<Option<Self::Bytes>, Self::Error>;
    /// Every block: key = height (u64 big-endian), value = encoded signed header.
    fn blocks(&self) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// The encoded signed header of the last block, if any.
    fn last_block(&self) -> Result<Option<Self::Bytes>, Self::Error>;
    /// Records with sequence numbers in `[start, end)`: key = seq (u64 big-endian).
    fn records(&self, start: u64, end: u64) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// Leaf hashes with sequence numbers in `[start, end)`: key = seq (u64 big-endian).
    fn leaves(&self, start: u64, end: u64) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// The stored hash of node `(level, index)`, level 1 and up.
    fn node(&self, level: u8, index: u64) -> Result<Option<Self::Bytes>, Self::Error>;
    /// The block height indexed under `first_seq` (u64 big-endian).
    fn block_start(&self, first_seq: u64) -> Result<Option<Self::Bytes>, Self::Error>;
    /// The smallest stored record sequence number at or after `seq`.
    fn first_record_from(&self, seq: u64) -> Result<Option<u64>, Self::Error>;
    /// The smallest stored leaf sequence number at or after `seq`.
    fn first_leaf_from(&self, seq: u64) -> Result<Option<u64>, Self::Error>;
    /// The smallest stored node index at `level` at or after `index`.
    fn first_node_from(&self, level: u8, index: u64) -> Result<Option<u64>, Self::Error>;
    /// The smallest block index key at or after `first_seq`.
    fn first_block_start_from(&self, first_seq: u64) -> Result<Option<u64>, Self::Error>;
}

fn key_u64(key: &[u8], tree: &'static str) -> Result<u64, VerifyError> {
    <[u8; 8]>::try_from(key).map(u64::from_be_bytes).map_err(|_| VerifyError::MalformedKey { tree })
}

/// Walks the whole ledger; see [`crate::LedgerReader::verify`].
pub(crate) fn verify_source<S: VerifySource>(
    source: &S,
    expected_key: Option<&NodePublicKey>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport, VerifyError> {
    let stored_key = match source.stored_public_key().map_err(VerifyError::storage)? {
        Some(bytes) => {
            Some(NodePublicKey::from_compressed(bytes.as_ref()).map_err(|_| VerifyError::StoredKeyMalformed)?)
        }
        None => None,
    };
    let key = match (expected_key, stored_key) {
        (Some(expected), Some(stored)) if expected != &stored => {
            return Err(VerifyError::KeyMismatch { stored: stored.key_id(), expected: expected.key_id() })
        }
        (Some(expected), _) => Some(*expected),
        (None, stored) => stored,
    };
    let records_total = match source.last_block().map_err(VerifyError::storage)? {
        Some(value) => SignedBlockHeader::decode(value.as_ref()).map(|signed| signed.header.tree_size).unwrap_or(0),
        None => 0,
    };

    let mut frontier = Frontier::new();
    let mut previous_hash = Hash::ZERO;
    let mut blocks = 0u64;
    let mut computed_leaves = Vec::new();
    let mut stored_leaves = Vec::new();
    let mut closed_nodes = Vec::new();
    for entry in source.blocks() {
        let (key_bytes, value) = entry.map_err(VerifyError::storage)?;
        let height = blocks;
        let stored_height = key_u64(key_bytes.as_ref(), "blocks")?;
        if stored_height != height {
            return Err(VerifyError::MissingBlock { height });
        }
        let signed = SignedBlockHeader::decode(value.as_ref()).map_err(|source| match source {
            DecodeError::UnknownVersion { version } => VerifyError::UnknownVersion { height, version },
            source => VerifyError::HeaderUndecodable { height, source },
        })?;
        let header = &signed.header;
        if header.height != height {
            return Err(VerifyError::HeightMismatch { height, found: header.height });
        }
        let key = key.ok_or(VerifyError::NoPublicKey)?;
        if header.node_key_id != key.key_id() {
            return Err(VerifyError::WrongSigningKey { height, found: header.node_key_id });
        }
        if signed.verify_signature(&key).is_err() {
            return Err(VerifyError::BadSignature { height });
        }
        if header.prev_hash != previous_hash {
            return Err(VerifyError::BrokenChain { height });
        }
        if header.first_seq != frontier.size() {
            return Err(VerifyError::NotContiguous {
                height,
                expected_first_seq: frontier.size(),
                first_seq: header.first_seq,
            });
        }
        if header.record_count == 0 || header.first_seq.checked_add(header.record_count) != Some(header.tree_size) {
            return Err(VerifyError::BadRecordCount { height });
        }
        let indexed = source.block_start(header.first_seq).map_err(VerifyError::storage)?;
        if indexed.map(|bytes| key_u64(bytes.as_ref(), "block index")).transpose()? != Some(height) {
            return Err(VerifyError::IndexMismatch { height });
        }

        read_block_leaves(
            source,
            header.first_seq,
            header.tree_size,
            height,
            &mut computed_leaves,
            &mut stored_leaves,
        )?;
        check_block_root(header.first_seq, height, &header.block_root, &computed_leaves, &stored_leaves)?;

        for leaf in &computed_leaves {
            closed_nodes.clear();
            frontier.push(*leaf, &mut closed_nodes);
            for node in &closed_nodes {
                let stored = source.node(node.level, node.index).map_err(VerifyError::storage)?;
                match stored {
                    None => return Err(VerifyError::MissingNode { level: node.level, index: node.index, height }),
                    Some(bytes) if Hash::from_slice(bytes.as_ref()) != Some(node.hash) => {
                        return Err(VerifyError::NodeTampered { level: node.level, index: node.index, height })
                    }
                    Some(_) => {}
                }
            }
        }
        if frontier.root() != header.tree_root {
            return Err(VerifyError::TreeRootMismatch { height });
        }

        previous_hash = signed.hash();
        blocks += 1;
        progress(VerifyProgress { blocks_verified: blocks, records_verified: frontier.size(), records_total });
    }

    check_nothing_past(source, frontier.size())?;
    Ok(VerifyReport {
        blocks,
        tree_size: frontier.size(),
        tree_root: frontier.root(),
        head_hash: (blocks > 0).then_some(previous_hash),
        key_id: key.map(|key| key.key_id()),
    })
}

/// Reads the records and stored leaf hashes of `[start, end)`, checking that none is missing, and
/// hashes the records.
fn read_block_leaves<S: VerifySource>(
    source: &S,
    start: u64,
    end: u64,
    height: u64,
    computed_leaves: &mut Vec<Hash>,
    stored_leaves: &mut Vec<Option<Hash>>,
) -> Result<(), VerifyError> {
    computed_leaves.clear();
    stored_leaves.clear();
    let mut expected_seq = start;
    for entry in source.records(start, end) {
        let (key, record) = entry.map_err(VerifyError::storage)?;
        let seq = key_u64(key.as_ref(), "records")?;
        if seq != expected_seq {
            return Err(VerifyError::MissingRecord { seq: expected_seq, height });
        }
        computed_leaves.push(hash_leaf(record.as_ref()));
        expected_seq += 1;
    }
    if expected_seq != end {
        return Err(VerifyError::MissingRecord { seq: expected_seq, height });
    }
    let mut expected_seq = start;
    for entry in source.leaves(start, end) {
        let (key, leaf) = entry.map_err(VerifyError::storage)?;
        let seq = key_u64(key.as_ref(), "leaves")?;
        if seq != expected_seq {
            return Err(VerifyError::MissingLeafHash { seq: expected_seq, height });
        }
        // A malformed stored hash counts as a changed one.
        stored_leaves.push(Hash::from_slice(leaf.as_ref()));
        expected_seq += 1;
    }
    if expected_seq != end {
        return Err(VerifyError::MissingLeafHash { seq: expected_seq, height });
    }
    Ok(())
}

/// Checks the recomputed leaves against the signed block root and the stored leaf hashes, blaming
/// the record when the root does not match and the stored leaf hash when only it differs.
fn check_block_root(
    first_seq: u64,
    height: u64,
    block_root: &Hash,
    computed_leaves: &[Hash],
    stored_leaves: &[Option<Hash>],
) -> Result<(), VerifyError> {
    let mut block_frontier = Frontier::new();
    let mut ignored = Vec::new();
    for leaf in computed_leaves {
        block_frontier.push(*leaf, &mut ignored);
        ignored.clear();
    }
    let first_difference =
        computed_leaves.iter().zip(stored_leaves).position(|(computed, stored)| Some(*computed) != *stored);
    let seq_of = |offset: usize| first_seq + offset as u64;
    if block_frontier.root() != *block_root {
        return Err(match first_difference {
            Some(offset) => VerifyError::RecordTampered { seq: seq_of(offset), height },
            None => VerifyError::BlockRootMismatch { height },
        });
    }
    match first_difference {
        Some(offset) => Err(VerifyError::LeafHashTampered { seq: seq_of(offset), height }),
        None => Ok(()),
    }
}

/// Checks that no record, leaf, node or index entry is stored beyond the last block.
fn check_nothing_past<S: VerifySource>(source: &S, tree_size: u64) -> Result<(), VerifyError> {
    if let Some(seq) = source.first_record_from(tree_size).map_err(VerifyError::storage)? {
        return Err(VerifyError::RecordPastHead { seq });
    }
    if let Some(seq) = source.first_leaf_from(tree_size).map_err(VerifyError::storage)? {
        return Err(VerifyError::LeafHashPastHead { seq });
    }
    for level in 1..u64::BITS as u8 {
        if let Some(index) = source.first_node_from(level, tree_size >> level).map_err(VerifyError::storage)? {
            return Err(VerifyError::NodePastHead { level, index });
        }
    }
    if let Some(first_seq) = source.first_block_start_from(tree_size).map_err(VerifyError::storage)? {
        return Err(VerifyError::IndexPastHead { first_seq });
    }
    Ok(())
}
