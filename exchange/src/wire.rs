//! The custodian's answer on the wire, as both sides read it.

use serde::{Deserialize, Serialize};

/// The path of the custodian's endpoint.
pub const RECORDS_PATH: &str = "/peer/records";

/// A ledger record with its inclusion proof against [`PeerRecords::head`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenRecord {
    /// Its seq (leaf index).
    pub seq: u64,
    /// The record's bytes (base64), as hashed into the tree.
    pub record: String,
    /// The audit path (hex hashes, bottom-up).
    pub audit_path: Vec<String>,
    /// The sealed content (base64), for resource versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
}

/// The custodian's answer to `GET /peer/records?patient=&type=`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerRecords {
    /// The custodian's signed block header (hex of its encoding) that the proofs are against.
    pub head: String,
    /// The Grant records that wrap the patient key for the caller, one per epoch served.
    pub grants: Vec<ProvenRecord>,
    /// The patient's current resource versions of the type.
    pub records: Vec<ProvenRecord>,
    /// Records left out because they are sealed under an epoch the caller was never granted.
    pub withheld: u64,
    /// With `anchored_height` asked: that block's header and its consistency with `head`
    /// (absent when the custodian's ledger cannot give them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<crate::anchor::AnchorProof>,
}
