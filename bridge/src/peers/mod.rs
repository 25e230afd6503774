//! Cross-institution reads, the fourth model (BRIEF §5): a grantee node reads a patient's records
//! from the custodian node that holds them, through the patient's grant, and checks everything
//! against the custodian's signed ledger before it shows a byte.
//!
//! - [`custodian`]: what the custodian serves at `GET /peer/records`: the grant check (grantee,
//!   resource type, period), then the signed tree head, the grantee's Grant records, the
//!   patient's current records, each with its inclusion proof, and their ciphertext.
//! - [`verify`]: what the grantee checks: the head's signature by the custodian's configured key,
//!   every inclusion proof, the CIDs, the unwrap of the patient key with its own node key, the
//!   decryption bound to the ledger record, the commitment, and the resource's validity.
//! - [`client`]: the grantee's HTTP client: a SMART Backend Services token from the custodian,
//!   signed ES256K with the node key, cached until shortly before it expires.
//!
//! The wire format ([`PeerRecords`]) carries ledger records and ciphertext as the custodian
//! stores them, so the grantee verifies the exact bytes the ledger hashed.

pub mod client;
pub mod custodian;
pub mod verify;

use serde::{Deserialize, Serialize};

pub use client::{PeerClient, PeerFetchError};
pub use custodian::PeerServeError;
pub use verify::{verify_peer_records, VerifiedRecord, VerifyPeerError};

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
}

#[cfg(test)]
mod tests;
