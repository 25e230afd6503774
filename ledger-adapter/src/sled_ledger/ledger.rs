//! [`SledLedger`]: opening, appending, and the read side over [`Store`].

use std::sync::{Mutex, PoisonError, RwLock};

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::IVec;

use super::store::{
    node_key, u64_key, Store, CHUNK_LEVEL, DEFAULT_TREE_PREFIX, FORMAT_V2, META_FORMAT, META_PUBLIC_KEY,
};
use crate::block::{BlockHeader, HeaderVersion, SignedBlockHeader};
use crate::hasher::{hash_leaf, Hash};
use crate::ledger::{BlockReceipt, LedgerError, LedgerReader, LedgerWriter};
use crate::proof::{ConsistencyProof, InclusionProof};
use crate::signer::{BlockSigner, NodePublicKey, SignerError};
use crate::tree::{self, ChunkedAppend, ChunkedFrontier, Frontier, NodeSource};
use crate::verify::{verify_source, VerifyError, VerifyProgress, VerifyReport};

/// What the writer needs to seal the next block.
struct WriterState {
    /// The right edge of the log after the last durable block, with its last leaf chunk.
    frontier: ChunkedFrontier,
    /// Height of the next block.
    next_height: u64,
    /// Header hash of the last block (zero before the genesis block).
    prev_hash: Hash,
}

/// The embedded ledger: an RFC 6962 Merkle log in sled, sealed into signed, hash-chained blocks.
///
/// Open it on a `sled::Db` that the caller owns (it may hold other trees too); share it behind an
/// `Arc`. Reads run concurrently; appends are serialised by an internal mutex.
pub struct SledLedger {
    store: Store,
    signer: Box<dyn BlockSigner>,
    public_key: NodePublicKey,
    // INVARIANT: when `Some`, equal to what storage holds. Set to `None` while an append writes and
    // left `None` if it fails after starting to write, so the next append reloads from storage.
    writer: Mutex<Option<WriterState>>,
    // The last block that is durable; all reads are bounded by it.
    head: RwLock<Option<SignedBlockHeader>>,
}

impl SledLedger {
    /// Opens the ledger in `db` under the default tree prefix, creating it if empty, with the
    /// node key held by `signer`. See [`SledLedger::open_with_prefix`].
    pub fn open(db: &sled::Db, signer: impl BlockSigner + 'static) -> Result<SledLedger, LedgerError> {
        SledLedger::open_with_prefix(db, DEFAULT_TREE_PREFIX, signer)
    }

    /// Opens the ledger in the trees `{prefix}records`, `{prefix}blocks`, … of `db`.
    ///
    /// A new ledger records the storage format and the signer's public key; an existing one must
    /// have this version's format ([`LedgerError::UnsupportedFormat`] otherwise) and have been
    /// created with the same key ([`LedgerError::SignerMismatch`] otherwise). Opening checks, in
    /// O(log n) reads, that the last block decodes, is signed by that key, matches the stored tree,
    /// and that no record or leaf hash lies past it ([`LedgerError::Corrupt`] otherwise: run
    /// [`verify_sled`] to find out more). It does not walk the whole log; [`LedgerReader::verify`]
    /// does.
    pub fn open_with_prefix(
        db: &sled::Db,
        prefix: &str,
        signer: impl BlockSigner + 'static,
    ) -> Result<SledLedger, LedgerError> {
        let store = Store::open(db, prefix).map_err(LedgerError::storage)?;
        let public_key = signer.public_key();
        match store.meta.get(META_FORMAT).map_err(LedgerError::storage)? {
            Some(format) if format.as_ref() != FORMAT_V2.as_bytes() => {
                return Err(LedgerError::UnsupportedFormat {
                    found: String::from_utf8_lossy(&format).into_owned(),
                    expected: FORMAT_V2,
                })
            }
            Some(_) => {}
            None => {
                if !store.blocks.is_empty() || !store.records.is_empty() {
                    return Err(LedgerError::corrupt("the ledger has data but no format tag"));
                }
                store.meta.insert(META_PUBLIC_KEY, &public_key.to_compressed()[..]).map_err(LedgerError::storage)?;
                store.meta.insert(META_FORMAT, FORMAT_V2).map_err(LedgerError::storage)?;
                store.db.flush().map_err(LedgerError::storage)?;
            }
        }
        let stored_key = store
            .meta
            .get(META_PUBLIC_KEY)
            .map_err(LedgerError::storage)?
            .ok_or_else(|| LedgerError::corrupt("the node public key is missing"))?;
        let stored_key = NodePublicKey::from_compressed(&stored_key)
            .map_err(|_| LedgerError::corrupt("the stored node public key is malformed"))?;
        if stored_key != public_key {
            return Err(LedgerError::SignerMismatch { stored: stored_key.key_id(), signer: public_key.key_id() });
        }
        let (state, head) = load_state(&store, &public_key)?;
        Ok(SledLedger {
            store,
            signer: Box::new(signer),
            public_key,
            writer: Mutex::new(Some(state)),
            head: RwLock::new(head),
        })
    }

    fn committed_head(&self) -> Option<SignedBlockHeader> {
        self.head.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn committed_tree_size(&self) -> u64 {
        self.head.read().unwrap_or_else(PoisonError::into_inner).as_ref().map_or(0, |head| head.header.tree_size)
    }

    fn check_tree_size(&self, requested: u64) -> Result<(), LedgerError> {
        let tree_size = self.committed_tree_size();
        if requested > tree_size {
            return Err(LedgerError::TreeSizeOutOfRange { requested, tree_size });
        }
        Ok(())
    }
}

/// Reads the writer state and the head from storage, checking the head against the stored tree.
fn load_state(store: &Store, key: &NodePublicKey) -> Result<(WriterState, Option<SignedBlockHeader>), LedgerError> {
    let head = store.last_block()?;
    let (state, tree_size) = match &head {
        None => {
            let frontier = ChunkedFrontier::new(CHUNK_LEVEL);
            (WriterState { frontier, next_height: 0, prev_hash: Hash::ZERO }, 0)
        }
        Some(signed) => {
            let header = &signed.header;
            signed
                .verify_signature(key)
                .map_err(|error| LedgerError::corrupt(format!("the last block ({}) fails: {error}", header.height)))?;
            let frontier = ChunkedFrontier::load(store, CHUNK_LEVEL, header.tree_size)?;
            if frontier.root() != header.tree_root {
                return Err(LedgerError::corrupt(format!(
                    "the stored tree does not match the root of the last block ({})",
                    header.height
                )));
            }
            let next_height =
                header.height.checked_add(1).ok_or_else(|| LedgerError::corrupt("block height overflow"))?;
            (WriterState { frontier, next_height, prev_hash: signed.hash() }, header.tree_size)
        }
    };
    if let Some(seq) = store.first_record_from(tree_size)? {
        return Err(LedgerError::corrupt(format!("record {seq} is stored past the last block")));
    }
    let chunks_in_log = tree_size.div_ceil(1 << CHUNK_LEVEL);
    if let Some(chunk) = store.first_leaf_chunk_from(chunks_in_log)? {
        return Err(LedgerError::corrupt(format!("leaf hash chunk {chunk} is stored past the last block")));
    }
    Ok((state, head))
}

/// A leaf chunk to write: its new value, and the value it must replace (`None`: no value).
struct PreparedChunk {
    chunk: u64,
    key: IVec,
    previous: Option<IVec>,
    value: IVec,
}

/// Everything one append writes, prepared outside the transaction (which sled may run more than
/// once).
struct PreparedBlock {
    records: Vec<(IVec, IVec)>,
    chunks: Vec<PreparedChunk>,
    nodes: Vec<(IVec, IVec)>,
    block: (IVec, IVec),
    block_start: (IVec, IVec),
}

impl PreparedBlock {
    fn new(records: &[Vec<u8>], append: &ChunkedAppend, signed: &SignedBlockHeader) -> PreparedBlock {
        let first_seq = signed.header.first_seq;
        PreparedBlock {
            records: (first_seq..)
                .zip(records)
                .map(|(seq, record)| (IVec::from(&u64_key(seq)[..]), IVec::from(&record[..])))
                .collect(),
            chunks: append
                .chunks
                .iter()
                .map(|write| PreparedChunk {
                    chunk: write.chunk,
                    key: IVec::from(&u64_key(write.chunk)[..]),
                    previous: write.previous.as_deref().map(IVec::from),
                    value: IVec::from(&write.value[..]),
                })
                .collect(),
            nodes: append
                .nodes
                .iter()
                .map(|node| (IVec::from(&node_key(node.level, node.index)[..]), IVec::from(&node.hash.as_bytes()[..])))
                .collect(),
            block: (IVec::from(&u64_key(signed.header.height)[..]), IVec::from(signed.encode())),
            block_start: (IVec::from(&u64_key(first_seq)[..]), IVec::from(&u64_key(signed.header.height)[..])),
        }
    }

    /// Writes the block in one transaction. Refuses (without writing anything) to overwrite a key,
    /// or to extend a leaf chunk that does not hold what the writer expects, so storage stays
    /// append-only even if the writer state were wrong.
    fn commit(&self, store: &Store) -> Result<(), LedgerError> {
        type Abort = ConflictableTransactionError<String>;
        let result = (&store.records, &store.leaves, &store.nodes, &store.blocks, &store.block_starts).transaction(
            |(records, leaves, nodes, blocks, block_starts)| {
                let insert_new =
                    |tree: &sled::transaction::TransactionalTree, (key, value): &(IVec, IVec), what| match tree
                        .insert(key.clone(), value.clone())?
                    {
                        Some(_) => Err(Abort::Abort(format!("an append would overwrite an existing {what}"))),
                        None => Ok(()),
                    };
                insert_new(blocks, &self.block, "block")?;
                insert_new(block_starts, &self.block_start, "block index entry")?;
                for entry in &self.records {
                    insert_new(records, entry, "record")?;
                }
                for chunk in &self.chunks {
                    if leaves.insert(chunk.key.clone(), chunk.value.clone())? != chunk.previous {
                        return Err(Abort::Abort(format!(
                            "an append found leaf hash chunk {} not as the last append left it",
                            chunk.chunk
                        )));
                    }
                }
                for entry in &self.nodes {
                    insert_new(nodes, entry, "node")?;
                }
                Ok(())
            },
        );
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Storage(error)) => Err(LedgerError::storage(error)),
            Err(TransactionError::Abort(detail)) => Err(LedgerError::corrupt(detail)),
        }
    }
}

impl LedgerWriter for SledLedger {
    fn append_block(&self, records: &[Vec<u8>], time_ms: u64) -> Result<BlockReceipt, LedgerError> {
        if records.is_empty() {
            return Err(LedgerError::EmptyBlock);
        }
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let state = match writer.take() {
            Some(state) => state,
            None => {
                let (state, head) = load_state(&self.store, &self.public_key)?;
                *self.head.write().unwrap_or_else(PoisonError::into_inner) = head;
                state
            }
        };

        let leaf_hashes: Vec<Hash> = records.iter().map(|record| hash_leaf(record)).collect();
        let mut frontier = state.frontier.clone();
        let append = frontier.append(&leaf_hashes);
        let mut block_frontier = Frontier::new();
        let mut ignored = Vec::new();
        for leaf in &leaf_hashes {
            block_frontier.push(*leaf, &mut ignored);
            ignored.clear();
        }
        let header = BlockHeader {
            version: HeaderVersion::V1,
            height: state.next_height,
            prev_hash: state.prev_hash,
            first_seq: state.frontier.size(),
            record_count: records.len() as u64,
            block_root: block_frontier.root(),
            tree_size: frontier.size(),
            tree_root: frontier.root(),
            time_ms,
            node_key_id: self.public_key.key_id(),
        };
        // A signature that does not verify would make the ledger fail verification forever, so a
        // signer's output is checked before anything is written (about 50 µs per block).
        let signed =
            header.sign(self.signer.as_ref()).and_then(|signed| match signed.verify_signature(&self.public_key) {
                Ok(()) => Ok(signed),
                Err(_) => Err(SignerError::InvalidSignature),
            });
        let signed = match signed {
            Ok(signed) => signed,
            Err(error) => {
                // Nothing was written: keep the state.
                *writer = Some(state);
                return Err(error.into());
            }
        };

        // From here on storage may get ahead of `state`; `writer` stays `None` until it is durable.
        PreparedBlock::new(records, &append, &signed).commit(&self.store)?;
        self.store.db.flush().map_err(LedgerError::storage)?;

        *writer = Some(WriterState { frontier, next_height: state.next_height + 1, prev_hash: signed.hash() });
        *self.head.write().unwrap_or_else(PoisonError::into_inner) = Some(signed.clone());
        let first_seq = signed.header.first_seq;
        Ok(BlockReceipt {
            height: signed.header.height,
            first_seq,
            seqs: first_seq..signed.header.tree_size,
            header: signed,
        })
    }
}

impl LedgerReader for SledLedger {
    fn node_public_key(&self) -> NodePublicKey {
        self.public_key
    }

    fn head(&self) -> Result<Option<SignedBlockHeader>, LedgerError> {
        Ok(self.committed_head())
    }

    fn tree_size(&self) -> Result<u64, LedgerError> {
        Ok(self.committed_tree_size())
    }

    fn record(&self, seq: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        if seq >= self.committed_tree_size() {
            return Ok(None);
        }
        let bytes = self.store.records.get(u64_key(seq)).map_err(LedgerError::storage)?;
        bytes.map(|bytes| Some(bytes.to_vec())).ok_or_else(|| LedgerError::corrupt(format!("record {seq} is missing")))
    }

    fn leaf_hash(&self, seq: u64) -> Result<Option<Hash>, LedgerError> {
        if seq >= self.committed_tree_size() {
            return Ok(None);
        }
        self.store.reader().node(0, seq).map(Some)
    }

    fn block(&self, height: u64) -> Result<Option<SignedBlockHeader>, LedgerError> {
        let Some(head) = self.committed_head() else {
            return Ok(None);
        };
        if height > head.header.height {
            return Ok(None);
        }
        if height == head.header.height {
            return Ok(Some(head));
        }
        let block =
            self.store.block(height)?.ok_or_else(|| LedgerError::corrupt(format!("block {height} is missing")))?;
        Ok(Some(block))
    }

    fn block_of(&self, seq: u64) -> Result<Option<u64>, LedgerError> {
        if seq >= self.committed_tree_size() {
            return Ok(None);
        }
        let height = self.store.block_start_at_or_before(seq)?;
        height.map(Some).ok_or_else(|| LedgerError::corrupt(format!("no block index entry covers record {seq}")))
    }

    fn inclusion_proof(&self, seq: u64, tree_size: u64) -> Result<InclusionProof, LedgerError> {
        self.check_tree_size(tree_size)?;
        if seq >= tree_size {
            return Err(LedgerError::SeqOutOfRange { seq, tree_size });
        }
        let hashes = tree::inclusion_path(&mut self.store.reader(), seq, tree_size)?;
        Ok(InclusionProof { leaf_index: seq, tree_size, hashes })
    }

    fn consistency_proof(&self, first: u64, second: u64) -> Result<ConsistencyProof, LedgerError> {
        if first > second {
            return Err(LedgerError::SizesOutOfOrder { first, second });
        }
        self.check_tree_size(second)?;
        let hashes = tree::consistency_path(&mut self.store.reader(), first, second)?;
        Ok(ConsistencyProof { first, second, hashes })
    }

    fn root_at(&self, tree_size: u64) -> Result<Hash, LedgerError> {
        self.check_tree_size(tree_size)?;
        tree::root_at(&mut self.store.reader(), tree_size)
    }

    /// Verifies against `expected_key`, or against the signer's key when `None`.
    fn verify(
        &self,
        expected_key: Option<&NodePublicKey>,
        progress: &mut dyn FnMut(VerifyProgress),
    ) -> Result<VerifyReport, VerifyError> {
        verify_source(&self.store, Some(expected_key.unwrap_or(&self.public_key)), progress)
    }
}

/// Verifies the ledger in `db` under `prefix` without opening it for writing (so it also works
/// when [`SledLedger::open`] refuses a damaged ledger, and needs no secret key). With
/// `expected_key` `None` it trusts the key stored in the ledger, which only proves internal
/// consistency; pass the node's known public key to prove who signed.
pub fn verify_sled(
    db: &sled::Db,
    prefix: &str,
    expected_key: Option<&NodePublicKey>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport, VerifyError> {
    let store = Store::open(db, prefix).map_err(|error| VerifyError::Storage(Box::new(error)))?;
    verify_source(&store, expected_key, progress)
}
