//! The custodian's head against its latest anchor on the chain.
//!
//! A custodian could answer one grantee from a rewritten ledger, signed with its own key: every
//! inclusion proof would hold. What it cannot fake is its anchor on the shared chain. So the
//! grantee looks up the custodian's latest final anchor (through an [`AnchorView`]: this crate
//! knows nothing of chains), asks for it with the records (`anchored_height`), and the custodian
//! adds that block's signed header and a consistency proof from its tree to the served head's.
//! The grantee refuses the answer unless the header is the anchored one (its hash), signed by the
//! custodian, and the served head's tree extends it.

use data_encoding::HEXLOWER;
use ledger_adapter::{Hash, LedgerReader, NodePublicKey, SignedBlockHeader};
use serde::{Deserialize, Serialize};

/// A node's latest anchor at the grantee's finality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchoredHead {
    /// The anchored header's height.
    pub height: u64,
    /// Its tree size.
    pub tree_size: u64,
    /// Its header hash.
    pub header_hash: [u8; 32],
}

/// Where the grantee learns a custodian's latest final anchor (the bridge implements it on its
/// `[chain]`).
pub trait AnchorView: Send + Sync {
    /// The latest final anchor of the node whose key id is `key_id`; `None` when it has none.
    /// An error (chain unreachable, for instance) refuses the read: it cannot be checked.
    fn latest_final(&self, key_id: &[u8; 32]) -> Result<Option<AnchoredHead>, String>;
}

/// What the custodian adds to its answer when asked for an anchored height.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorProof {
    /// The signed header at the anchored height (hex of its encoding).
    pub header: String,
    /// The consistency proof from that header's tree size to the served head's (hex hashes).
    pub consistency: Vec<String>,
}

/// The custodian's proof for `height` against a head of `head_tree_size`; `None` when its ledger
/// has no such block, or the block's tree is larger than the head's (it can prove nothing then,
/// and the grantee refuses).
pub fn anchor_proof(
    ledger: &dyn LedgerReader,
    height: u64,
    head_tree_size: u64,
) -> Result<Option<AnchorProof>, ledger_adapter::LedgerError> {
    let Some(block) = ledger.block(height)? else { return Ok(None) };
    if block.header.tree_size > head_tree_size {
        return Ok(None);
    }
    let proof = ledger.consistency_proof(block.header.tree_size, head_tree_size)?;
    Ok(Some(AnchorProof {
        header: HEXLOWER.encode(&block.encode()),
        consistency: proof.hashes.iter().map(Hash::to_hex).collect(),
    }))
}

/// Checks that `head` (already checked as the custodian's) extends the custodian's anchor.
/// The error says what failed, for the refusal's OperationOutcome.
pub fn verify_anchor(
    head: &SignedBlockHeader,
    proof: Option<&AnchorProof>,
    anchored: &AnchoredHead,
    custodian_key: &NodePublicKey,
) -> Result<(), String> {
    let proof = proof.ok_or_else(|| {
        format!(
            "the custodian gave no proof for its anchored height {}: its ledger may not be the anchored one",
            anchored.height
        )
    })?;
    let bytes = HEXLOWER.decode(proof.header.as_bytes()).map_err(|_| "the anchored header is not hex".to_owned())?;
    let header = SignedBlockHeader::decode(&bytes).map_err(|_| "the anchored header does not decode".to_owned())?;
    if header.hash().as_bytes() != &anchored.header_hash || header.header.height != anchored.height {
        return Err(format!(
            "the custodian's header at height {} is not the one anchored on the chain: its ledger diverges from its anchor",
            anchored.height
        ));
    }
    header
        .verify_signature(custodian_key)
        .map_err(|_| "the anchored header is not signed by the custodian".to_owned())?;
    let hashes = proof
        .consistency
        .iter()
        .map(|hash| Hash::from_hex(hash))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| "the consistency proof is not hex".to_owned())?;
    let (first, second) = (header.header.tree_size, head.header.tree_size);
    ledger_adapter::verify_consistency(first, second, &header.header.tree_root, &head.header.tree_root, &hashes).map_err(
        |_| {
            format!(
                "the served head (tree size {second}) does not extend the anchored tree (size {first}, height {}): the ledger was rewritten after its anchor",
                anchored.height
            )
        },
    )
}
