//! The walk itself, over a backend's raw storage ([`VerifySource`]).
//!
//! Every storage tree is read in full, in key order, alongside the blocks, so an entry that
//! belongs to no block (a smuggled record, an extra index entry, a node below the chunk level, a
//! malformed key) is reported as well as a missing or changed one.

use super::{VerifyError, VerifyProgress, VerifyReport};
use crate::block::{DecodeError, SignedBlockHeader};
use crate::hasher::{hash_leaf, Hash, HASH_LEN};
use crate::signer::NodePublicKey;
use crate::tree::Frontier;

/// An iterator over raw `(key, value)` pairs of one storage tree, in key order.
pub(crate) type RawEntries<'a, B, E> = Box<dyn Iterator<Item = Result<(B, B), E>> + 'a>;

/// Raw, unchecked access to a backend's storage, for the walk. Integer keys are big-endian.
pub(crate) trait VerifySource {
    /// Bytes as the backend hands them out.
    type Bytes: AsRef<[u8]>;
    /// A storage failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The storage format tag of the layout the walk reads.
    const FORMAT: &'static [u8];
    /// Leaf hashes are stored in chunks of `2^CHUNK_LEVEL`, and nodes from this level up.
    const CHUNK_LEVEL: u8;

    /// The stored format tag.
    fn format(&self) -> Result<Option<Self::Bytes>, Self::Error>;
    /// The compressed public key stored when the ledger was created.
    fn stored_public_key(&self) -> Result<Option<Self::Bytes>, Self::Error>;
    /// Every block: key = height, value = encoded signed header.
    fn blocks(&self) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// The encoded signed header of the last block, if any.
    fn last_block(&self) -> Result<Option<Self::Bytes>, Self::Error>;
    /// Every block index entry: key = first seq of a block, value = its height.
    fn block_starts(&self) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// Every record: key = seq.
    fn records(&self) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// Every leaf hash chunk: key = chunk index, value = concatenated leaf hashes.
    fn leaf_chunks(&self) -> RawEntries<'_, Self::Bytes, Self::Error>;
    /// The stored hash of node `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Option<Self::Bytes>, Self::Error>;
    /// Every stored node: key = level (u8) ‖ index (u64).
    fn nodes(&self) -> RawEntries<'_, Self::Bytes, Self::Error>;
}

fn key_u64(key: &[u8], tree: &'static str) -> Result<u64, VerifyError> {
    <[u8; 8]>::try_from(key).map(u64::from_be_bytes).map_err(|_| VerifyError::MalformedKey { tree })
}

/// The next entry of `entries`, with its key decoded as a u64 (malformed keys are an error).
fn next_u64_entry<B: AsRef<[u8]>, E: std::error::Error + Send + Sync + 'static>(
    entries: &mut RawEntries<'_, B, E>,
    tree: &'static str,
) -> Result<Option<(u64, B)>, VerifyError> {
    match entries.next().transpose().map_err(VerifyError::storage)? {
        Some((key, value)) => Ok(Some((key_u64(key.as_ref(), tree)?, value))),
        None => Ok(None),
    }
}

/// Walks the whole ledger; see [`crate::LedgerReader::verify`].
pub(crate) fn verify_source<S: VerifySource>(
    source: &S,
    expected_key: Option<&NodePublicKey>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport, VerifyError> {
    let last_block = source.last_block().map_err(VerifyError::storage)?;
    match source.format().map_err(VerifyError::storage)? {
        Some(tag) if tag.as_ref() == S::FORMAT => {}
        Some(tag) => {
            return Err(VerifyError::UnsupportedFormat { found: Some(String::from_utf8_lossy(tag.as_ref()).into()) })
        }
        None if last_block.is_some() => return Err(VerifyError::UnsupportedFormat { found: None }),
        None => {}
    }
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
    let records_total = match last_block {
        Some(value) => SignedBlockHeader::decode(value.as_ref()).map(|signed| signed.header.tree_size).unwrap_or(0),
        None => 0,
    };

    let mut records = source.records();
    let mut leaf_chunks = LeafChunks::<S>::new(source.leaf_chunks());
    let mut block_starts = source.block_starts();
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
        match next_u64_entry(&mut block_starts, "block_starts")? {
            Some((first_seq, indexed)) if first_seq == header.first_seq && indexed.as_ref() == height.to_be_bytes() => {
            }
            _ => return Err(VerifyError::IndexMismatch { height }),
        }

        computed_leaves.clear();
        for seq in header.first_seq..header.tree_size {
            match next_u64_entry(&mut records, "records")? {
                Some((stored_seq, record)) if stored_seq == seq => computed_leaves.push(hash_leaf(record.as_ref())),
                _ => return Err(VerifyError::MissingRecord { seq, height }),
            }
        }
        stored_leaves.clear();
        for seq in header.first_seq..header.tree_size {
            stored_leaves.push(leaf_chunks.leaf(seq, height)?);
        }
        check_block_root(header.first_seq, height, &header.block_root, &computed_leaves, &stored_leaves)?;

        for leaf in &computed_leaves {
            closed_nodes.clear();
            frontier.push(*leaf, &mut closed_nodes);
            for node in closed_nodes.iter().filter(|node| node.level >= S::CHUNK_LEVEL) {
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

    let tree_size = frontier.size();
    if let Some((seq, _)) = next_u64_entry(&mut records, "records")? {
        return Err(VerifyError::RecordPastHead { seq });
    }
    leaf_chunks.check_nothing_past(tree_size)?;
    check_stored_nodes::<S>(source.nodes(), tree_size)?;
    if let Some((first_seq, _)) = next_u64_entry(&mut block_starts, "block_starts")? {
        return Err(VerifyError::IndexPastHead { first_seq });
    }
    Ok(VerifyReport {
        blocks,
        tree_size,
        tree_root: frontier.root(),
        head_hash: (blocks > 0).then_some(previous_hash),
        key_id: key.map(|key| key.key_id()),
    })
}

/// Reads the leaf hash chunks in step with the walk, which asks for every sequence number in order.
struct LeafChunks<'a, S: VerifySource + 'a> {
    entries: RawEntries<'a, S::Bytes, S::Error>,
    // The chunk holding the last leaf asked for.
    current: Option<(u64, S::Bytes)>,
}

impl<'a, S: VerifySource + 'a> LeafChunks<'a, S> {
    const CHUNK_BYTES: usize = HASH_LEN << S::CHUNK_LEVEL;

    fn new(entries: RawEntries<'a, S::Bytes, S::Error>) -> LeafChunks<'a, S> {
        LeafChunks { entries, current: None }
    }

    /// The stored leaf hash of record `seq` of block `height`, `None` if it is malformed (a
    /// truncated hash, which counts as a changed one).
    fn leaf(&mut self, seq: u64, height: u64) -> Result<Option<Hash>, VerifyError> {
        let chunk = seq >> S::CHUNK_LEVEL;
        if !matches!(&self.current, Some((index, _)) if *index == chunk) {
            // Every leaf of the current chunk has been read (sequence numbers come in order), and
            // no chunk is longer than 2^CHUNK_LEVEL hashes, so it held exactly those leaves.
            match next_u64_entry(&mut self.entries, "leaves")? {
                Some((index, bytes)) if index == chunk => {
                    if bytes.as_ref().len() > Self::CHUNK_BYTES {
                        return Err(VerifyError::MalformedLeafChunk { chunk });
                    }
                    self.current = Some((chunk, bytes));
                }
                _ => return Err(VerifyError::MissingLeafHash { seq, height }),
            }
        }
        let bytes = match &self.current {
            Some((_, bytes)) => bytes.as_ref(),
            None => return Err(VerifyError::MissingLeafHash { seq, height }),
        };
        let start = (seq - (chunk << S::CHUNK_LEVEL)) as usize * HASH_LEN;
        if start >= bytes.len() {
            return Err(VerifyError::MissingLeafHash { seq, height });
        }
        Ok(bytes.get(start..start + HASH_LEN).and_then(Hash::from_slice))
    }

    /// Checks that the chunks hold nothing for records at or past `tree_size`.
    fn check_nothing_past(&mut self, tree_size: u64) -> Result<(), VerifyError> {
        if let Some((chunk, bytes)) = &self.current {
            let leaves_in_log = (tree_size - (chunk << S::CHUNK_LEVEL)) as usize;
            if bytes.as_ref().len() > leaves_in_log * HASH_LEN {
                return Err(VerifyError::LeafHashPastHead { seq: tree_size });
            }
        }
        match next_u64_entry(&mut self.entries, "leaves")? {
            Some((chunk, _)) => {
                let seq = chunk.checked_shl(S::CHUNK_LEVEL.into()).filter(|seq| seq >> S::CHUNK_LEVEL == chunk);
                Err(VerifyError::LeafHashPastHead { seq: seq.unwrap_or(u64::MAX) })
            }
            None => Ok(()),
        }
    }
}

/// Checks that every stored node is one of a tree of `tree_size` leaves at level `CHUNK_LEVEL` or
/// up (the walk compared each of those with its recomputed hash).
fn check_stored_nodes<S: VerifySource>(
    mut nodes: RawEntries<'_, S::Bytes, S::Error>,
    tree_size: u64,
) -> Result<(), VerifyError> {
    while let Some((key, _)) = nodes.next().transpose().map_err(VerifyError::storage)? {
        let Some((&level, index)) = key.as_ref().split_first() else {
            return Err(VerifyError::MalformedKey { tree: "nodes" });
        };
        let index = key_u64(index, "nodes")?;
        if !(S::CHUNK_LEVEL..u64::BITS as u8).contains(&level) {
            return Err(VerifyError::UnexpectedNode { level, index });
        }
        if index >= tree_size >> level {
            return Err(VerifyError::NodePastHead { level, index });
        }
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
