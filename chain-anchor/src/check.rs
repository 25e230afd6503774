//! Checking a ledger against the chain (`verify --chain`), and listing every node key's anchors
//! (`chain status`).
//!
//! A ledger passes when every header anchored for its key is, byte for byte, its own header at
//! that height, each anchor's tree is a prefix of the next one's and of the head's (RFC 6962
//! consistency proofs from the ledger, checked against the anchored roots), and the chain holds
//! no equivocation for the key.

use crate::chain::{AnchorContract, ChainError};
use crate::config::Finality;
use crate::contract::{self, NodeOnChain};
use crate::rpc::BlockId;
use alloy_primitives::B256;
use ledger_adapter::{Hash, LedgerError, LedgerReader, SignedBlockHeader};

/// Why a ledger does not match the chain, or could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The chain could not be reached: nothing is known.
    #[error("chain unreachable: {0}")]
    Unreachable(ChainError),
    /// The chain answered, but not as the anchor contract of the configured chain.
    #[error(transparent)]
    Chain(ChainError),
    /// The ledger could not be read.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The ledger is not the one that was anchored.
    #[error("the ledger diverges from the chain at height {height}: {detail}")]
    Diverged {
        /// The first height found different.
        height: u64,
        /// What differs.
        detail: String,
    },
    /// The node key is not registered on the contract.
    #[error("node key {0} is not registered on the anchor contract (fhir-bridge chain register)")]
    NotRegistered(B256),
}

impl From<ChainError> for CheckError {
    fn from(error: ChainError) -> Self {
        if error.is_unreachable() {
            CheckError::Unreachable(error)
        } else {
            CheckError::Chain(error)
        }
    }
}

/// What a passing check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Anchors compared with the ledger.
    pub anchors: usize,
    /// Of those, anchors at the configured finality.
    pub final_anchors: usize,
    /// The highest anchored height, if any.
    pub latest_height: Option<u64>,
    /// The ledger's head height, if any.
    pub head_height: Option<u64>,
}

/// One anchored header, as the chain's event log has it.
#[derive(Debug, Clone)]
pub struct AnchoredHeader {
    /// Its hash.
    pub header_hash: B256,
    /// Its height.
    pub height: u64,
    /// The block it was anchored in.
    pub block_number: u64,
    /// The transaction.
    pub tx_hash: B256,
}

/// Every header anchored for `key_id`, by height.
pub fn anchored_headers(contract: &AnchorContract, key_id: B256) -> Result<Vec<AnchoredHeader>, ChainError> {
    let mut headers = Vec::new();
    for log in contract.logs(contract::ANCHORED_TOPIC, key_id, BlockId::Latest)? {
        let event = contract::decode_anchored(&log.topics, &log.data)?;
        headers.push(AnchoredHeader {
            header_hash: event.headerHash,
            height: event.height,
            block_number: log.block_number,
            tx_hash: log.transaction_hash,
        });
    }
    headers.sort_by_key(|header| header.height);
    Ok(headers)
}

/// Checks `ledger` against the anchors of its key on `contract`.
pub fn check_ledger(
    contract: &AnchorContract,
    chain_id: u64,
    finality: Finality,
    ledger: &dyn LedgerReader,
) -> Result<CheckReport, CheckError> {
    contract.check(chain_id)?;
    let key_id = B256::from(*ledger.node_public_key().key_id().as_bytes());
    let state = contract.node(key_id, BlockId::Latest)?;
    if !state.registered() {
        return Err(CheckError::NotRegistered(key_id));
    }
    let equivocations = contract.logs(contract::EQUIVOCATION_TOPIC, key_id, BlockId::Latest)?;
    if let Some(log) = equivocations.first() {
        let event = contract::decode_equivocation(&log.topics, &log.data).map_err(ChainError::from)?;
        return Err(CheckError::Diverged {
            height: event.height,
            detail: format!(
                "the chain recorded an equivocation: two different headers signed by this key for height {} (block {}, transaction {})",
                event.height, log.block_number, log.transaction_hash
            ),
        });
    }
    let anchored = anchored_headers(contract, key_id)?;
    let final_block = contract.final_block(finality)?;
    let head = ledger.head()?;
    // The contract's own state, not only its events: its latest anchor must be this ledger's
    // block, and an anchored key must have its Anchored events (else the log query saw nothing:
    // a pruned log index, a node that limits ranges).
    if state.anchored() {
        let local = ledger.block(state.height)?;
        if local.map(|block| B256::from(*block.hash().as_bytes())) != Some(state.header_hash) {
            return Err(CheckError::Diverged {
                height: state.height,
                detail: "the contract's latest anchored header is not this ledger's block at that height".into(),
            });
        }
        // `any`, not the last: an anchor mined between the state read and the log query is fine.
        if !anchored.iter().any(|anchor| anchor.height == state.height) {
            return Err(CheckError::Chain(ChainError::Incomplete(
                "the chain's Anchored events do not reach its latest anchor: the node's log index is incomplete".into(),
            )));
        }
    }
    let mut previous: Option<SignedBlockHeader> = None;
    for anchor in &anchored {
        let local = ledger.block(anchor.height)?.ok_or_else(|| CheckError::Diverged {
            height: anchor.height,
            detail: format!(
                "the chain anchored a header at height {} (transaction {}), but the ledger has only {} blocks",
                anchor.height,
                anchor.tx_hash,
                head.as_ref().map_or(0, |head| head.header.height + 1)
            ),
        })?;
        if anchor.header_hash.0 != *local.hash().as_bytes() {
            return Err(CheckError::Diverged {
                height: anchor.height,
                detail: format!(
                    "the anchored header (transaction {}) is not the ledger's{}",
                    anchor.tx_hash,
                    first_difference(contract, anchor, &local)
                ),
            });
        }
        let stored = contract.header_hash_at(key_id, anchor.height, BlockId::Latest)?;
        if stored != anchor.header_hash {
            return Err(CheckError::Diverged {
                height: anchor.height,
                detail: "the contract's header hash for this height is not its Anchored event's".into(),
            });
        }
        if let Some(earlier) = &previous {
            consistent(ledger, earlier, &local)?;
        }
        previous = Some(local);
    }
    if let (Some(last), Some(head)) = (&previous, &head) {
        consistent(ledger, last, head)?;
    }
    Ok(CheckReport {
        anchors: anchored.len(),
        final_anchors: anchored
            .iter()
            .filter(|anchor| final_block.is_some_and(|final_block| anchor.block_number <= final_block))
            .count(),
        latest_height: anchored.last().map(|anchor| anchor.height),
        head_height: head.map(|head| head.header.height),
    })
}

/// Where the anchored header's bytes first differ from the local header's, read from the
/// anchoring transaction's input (empty when it is not a direct `anchor` call, e.g. relayed
/// through another contract: the hashes differ all the same).
fn first_difference(contract: &AnchorContract, anchor: &AnchoredHeader, local: &SignedBlockHeader) -> String {
    let Ok(Some(input)) = contract.rpc.transaction_input(anchor.tx_hash) else { return String::new() };
    let Some(anchored) = contract::signed_header_of_anchor_input(&input) else { return String::new() };
    let local = local.header.encode();
    match anchored.iter().zip(&local).position(|(a, b)| a != b) {
        Some(offset) => format!(": they first differ at byte {offset}"),
        None => String::new(),
    }
}

/// Checks with a consistency proof from the ledger that `earlier`'s tree is a prefix of `later`'s.
fn consistent(
    ledger: &dyn LedgerReader,
    earlier: &SignedBlockHeader,
    later: &SignedBlockHeader,
) -> Result<(), CheckError> {
    let (first, second) = (earlier.header.tree_size, later.header.tree_size);
    let diverged = |detail: String| CheckError::Diverged { height: later.header.height, detail };
    if second < first {
        return Err(diverged(format!("tree size {second} is below the earlier anchor's {first}")));
    }
    let proof = ledger.consistency_proof(first, second)?;
    let roots: (&Hash, &Hash) = (&earlier.header.tree_root, &later.header.tree_root);
    proof.verify(roots.0, roots.1).map_err(|error| {
        diverged(format!(
            "the tree at height {} is not an extension of the anchored tree at height {}: {error}",
            later.header.height, earlier.header.height
        ))
    })
}

/// One registered node key, for `chain status`.
#[derive(Debug, Clone)]
pub struct KeyStatus {
    /// The key id.
    pub key_id: B256,
    /// Its state at the configured finality (`None`: no final block yet).
    pub at_finality: Option<NodeOnChain>,
    /// Its state at the latest block.
    pub latest: NodeOnChain,
}

/// Every registered key's state, at the latest block and at the configured finality.
pub fn key_statuses(contract: &AnchorContract, finality: Finality) -> Result<Vec<KeyStatus>, ChainError> {
    let final_block = contract.final_block(finality)?;
    contract
        .node_keys(BlockId::Latest)?
        .into_iter()
        .map(|key_id| {
            Ok(KeyStatus {
                key_id,
                latest: contract.node(key_id, BlockId::Latest)?,
                at_finality: match final_block {
                    Some(block) => Some(contract.node(key_id, BlockId::Number(block))?),
                    None => None,
                },
            })
        })
        .collect()
}
