//! A self-contained proof of one ledger record, checked with nothing but a chain RPC.
//!
//! The proof carries the record's bytes, its RFC 6962 inclusion proof in the tree of a signed
//! block header, the node's public key, and where that header was anchored (chain id, contract,
//! block, transaction). Whoever holds it can check, without the custodian: the header is signed
//! by the key; the record is in the header's tree; the contract holds that header's hash for that
//! key and height at the chosen finality, in a successful transaction; the key is registered and
//! neither revoked nor equivocated. What it then proves: the record existed, in this node's
//! ledger, no later than the anchoring block's time, and the node cannot rewrite it unseen.
//!
//! The record is opaque bytes here; what it means (a resource version, its commitment) is the
//! caller's to check.

use crate::chain::{AnchorContract, ChainError};
use crate::config::Finality;
use crate::contract;
use crate::rpc::BlockId;
use crate::state::FinalAnchor;
use alloy_primitives::{hex, Address, B256};
use ledger_adapter::{hash_leaf, Hash, LedgerError, LedgerReader, NodePublicKey, SignedBlockHeader};
use serde::{Deserialize, Serialize};

/// The proof of one record (serialised as JSON by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordProof {
    /// The record's sequence number (its leaf index).
    pub seq: u64,
    /// The record's bytes (hex).
    pub record: String,
    /// Its inclusion proof to the header's tree size (hex hashes, leaf to root).
    pub inclusion: Vec<String>,
    /// The anchored signed block header (hex of its encoding).
    pub header: String,
    /// The node's public key (hex, compressed).
    pub node_public_key: String,
    /// Where the header was anchored.
    pub anchor: AnchorLocation,
}

/// Where a header was anchored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorLocation {
    /// The chain.
    pub chain_id: u64,
    /// The anchor contract.
    pub contract: Address,
    /// The block that holds the anchoring transaction.
    pub block_number: u64,
    /// The anchoring transaction.
    pub tx_hash: B256,
}

/// Why a proof could not be made or does not hold.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The ledger could not be read.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// The record is not in the ledger.
    #[error("no record {0} in the ledger")]
    NoRecord(u64),
    /// No final anchor covers the record yet.
    #[error("record {seq} is not anchored to finality yet ({latest}): try again after the next anchor")]
    NotAnchoredYet {
        /// The record.
        seq: u64,
        /// What the latest final anchor is.
        latest: String,
    },
    /// The ledger's header is not the one the anchor state recorded.
    #[error("the ledger's header at height {0} is not the anchored one: the ledger diverges from its anchor")]
    LocalDivergence(u64),
    /// The proof is malformed or a local check fails (signature, inclusion).
    #[error("the proof does not hold: {0}")]
    Invalid(String),
    /// The chain says otherwise.
    #[error("the chain does not confirm the proof: {0}")]
    Refuted(String),
    /// The anchor is on the chain but not yet at the requested finality.
    #[error("the anchor is not final yet: {0}")]
    NotFinal(String),
    /// The chain could not be reached.
    #[error("chain unreachable: {0}")]
    Unreachable(ChainError),
    /// The chain answered something that is not the anchor contract's state.
    #[error(transparent)]
    Chain(ChainError),
}

impl From<crate::rpc::RpcError> for ProofError {
    fn from(error: crate::rpc::RpcError) -> Self {
        ChainError::from(error).into()
    }
}

impl From<ChainError> for ProofError {
    fn from(error: ChainError) -> Self {
        if error.is_unreachable() {
            ProofError::Unreachable(error)
        } else {
            ProofError::Chain(error)
        }
    }
}

/// Builds the proof of record `seq` against `anchor` (a final anchor that covers it, from
/// [`AnchorStore::covering`](crate::AnchorStore::covering)) on `contract`.
pub fn build(
    ledger: &dyn LedgerReader,
    anchor: &FinalAnchor,
    contract: Address,
    seq: u64,
) -> Result<RecordProof, ProofError> {
    let record = ledger.record(seq)?.ok_or(ProofError::NoRecord(seq))?;
    let header = ledger.block(anchor.height)?.ok_or(ProofError::LocalDivergence(anchor.height))?;
    if header.hash().as_bytes() != &anchor.header_hash.0 || header.header.tree_size <= seq {
        return Err(ProofError::LocalDivergence(anchor.height));
    }
    let inclusion = ledger.inclusion_proof(seq, header.header.tree_size)?;
    Ok(RecordProof {
        seq,
        record: hex::encode(&record),
        inclusion: inclusion.hashes.iter().map(Hash::to_hex).collect(),
        header: hex::encode(header.encode()),
        node_public_key: ledger.node_public_key().to_hex(),
        anchor: AnchorLocation {
            chain_id: anchor.chain_id,
            contract,
            block_number: anchor.block_number,
            tx_hash: anchor.tx_hash,
        },
    })
}

/// What a proof that holds shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofReport {
    /// The record's bytes.
    pub record: Vec<u8>,
    /// The node's key.
    pub node_key: NodePublicKey,
    /// The anchored header.
    pub header: SignedBlockHeader,
    /// The block the anchoring transaction is in (from its receipt).
    pub block_number: u64,
    /// That block's time (seconds since the Unix epoch).
    pub block_time: u64,
    /// The block the check was made at (the configured finality).
    pub final_block: u64,
}

/// The checks that need no chain: the header's signature by the key, the record's inclusion in
/// the header's tree. Gives the decoded record, key and header.
pub fn check_offline(proof: &RecordProof) -> Result<(Vec<u8>, NodePublicKey, SignedBlockHeader), ProofError> {
    let invalid = |what: &str| ProofError::Invalid(what.to_owned());
    let record = hex::decode(&proof.record).map_err(|_| invalid("the record is not hex"))?;
    let key = NodePublicKey::from_hex(&proof.node_public_key)
        .map_err(|_| invalid("node_public_key is not a compressed secp256k1 key"))?;
    let header_bytes = hex::decode(&proof.header).map_err(|_| invalid("the header is not hex"))?;
    let header =
        SignedBlockHeader::decode(&header_bytes).map_err(|e| ProofError::Invalid(format!("the header: {e}")))?;
    if header.header.node_key_id != key.key_id() {
        return Err(invalid("the header names another node key than node_public_key"));
    }
    header.verify_signature(&key).map_err(|_| invalid("the header is not signed by node_public_key"))?;
    let hashes = proof
        .inclusion
        .iter()
        .map(|hash| Hash::from_hex(hash))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("the inclusion proof is not hex hashes"))?;
    ledger_adapter::verify_inclusion(
        proof.seq,
        header.header.tree_size,
        &hash_leaf(&record),
        &hashes,
        &header.header.tree_root,
    )
    .map_err(|e| {
        ProofError::Invalid(format!(
            "record {} is not in the tree of the header at height {} ({e})",
            proof.seq, header.header.height
        ))
    })?;
    Ok((record, key, header))
}

/// Checks `proof` against the chain behind `contract` (which must be the contract the proof
/// names: the caller decides which contract it trusts), at `finality`.
pub fn check(proof: &RecordProof, contract: &AnchorContract, finality: Finality) -> Result<ProofReport, ProofError> {
    let (record, node_key, header) = check_offline(proof)?;
    if contract.address != proof.anchor.contract {
        return Err(ProofError::Refuted(format!(
            "the proof names contract {}, not the trusted {}",
            proof.anchor.contract, contract.address
        )));
    }
    contract.check(proof.anchor.chain_id)?;
    let key_id = B256::from(*node_key.key_id().as_bytes());
    let header_hash = B256::from(*header.hash().as_bytes());
    let height = header.header.height;
    let not_final = |what: String| ProofError::NotFinal(what);
    let final_block =
        contract.final_block(finality)?.ok_or_else(|| not_final("the chain has no final block".into()))?;
    let at_final = BlockId::Number(final_block);

    let node = contract.node(key_id, at_final)?;
    if !node.registered() {
        return Err(ProofError::Refuted(format!("node key {key_id} is not registered on the contract")));
    }
    if node.signer != contract::node_address(&node_key) {
        return Err(ProofError::Refuted("the contract's signer for the key is not the key's address".into()));
    }
    // A later revocation or equivocation (up to the latest block) also counts: the key's history
    // is then not to be trusted, whatever this anchor says.
    let latest = contract.node(key_id, BlockId::Latest)?;
    if node.revoked || latest.revoked {
        return Err(ProofError::Refuted(format!("node key {key_id} is revoked")));
    }
    if node.equivocated || latest.equivocated {
        return Err(ProofError::Refuted(format!(
            "node key {key_id} equivocated (signed two different headers for one height): its ledger is not to be trusted"
        )));
    }
    let stored = contract.header_hash_at(key_id, height, at_final)?;
    if stored.is_zero() {
        let later = contract.header_hash_at(key_id, height, BlockId::Latest)?;
        return Err(if later == header_hash {
            not_final(format!("height {height} is anchored after the final block {final_block}"))
        } else {
            ProofError::Refuted(format!("the contract holds no anchor of height {height} for the key"))
        });
    }
    if stored != header_hash {
        return Err(ProofError::Refuted(format!(
            "the contract holds another header for height {height}: this proof is from a ledger that is not the anchored one"
        )));
    }

    // The anchoring transaction gives the time; it must be the one that anchored this header.
    let tx = proof.anchor.tx_hash;
    let receipt =
        contract.rpc.receipt(tx)?.ok_or_else(|| ProofError::Refuted(format!("the chain knows no transaction {tx}")))?;
    let anchors_it = receipt.success
        && receipt.logs.iter().any(|log| {
            log.address == contract.address
                && contract::decode_anchored(&log.topics, &log.data).is_ok_and(|event| {
                    event.keyId == key_id && event.height == height && event.headerHash == header_hash
                })
        });
    if !anchors_it {
        return Err(ProofError::Refuted(format!("transaction {tx} does not anchor this header")));
    }
    if receipt.block_number > final_block {
        return Err(not_final(format!("its block {} is after the final block {final_block}", receipt.block_number)));
    }
    let block = contract
        .rpc
        .block(BlockId::Number(receipt.block_number))?
        .filter(|block| block.hash == receipt.block_hash)
        .ok_or_else(|| ProofError::Refuted(format!("block {} is not the receipt's", receipt.block_number)))?;
    Ok(ProofReport {
        record,
        node_key,
        header,
        block_number: receipt.block_number,
        block_time: block.timestamp,
        final_block,
    })
}
