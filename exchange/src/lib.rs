//! The exchange, the fourth model (BRIEF §5): a grantee node reads a patient's records from the
//! custodian node that holds them, through the patient's grant, and checks everything against
//! the custodian's signed ledger before it shows a byte.
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
//! - [`search`]: a FHIR search of this node's records of a patient and of those its peers hold
//!   under a grant to it (each verified), as one searchset Bundle.
//!
//! The wire format ([`PeerRecords`]) carries ledger records and ciphertext as the custodian
//! stores them, so the grantee verifies the exact bytes the ledger hashed.
//!
//! - [`anchor`]: the custodian's head against its latest anchor on the chain, as an
//!   [`AnchorView`] (implemented by the binary on its `[chain]`) gives it: the custodian proves its
//!   served head extends the anchored block, and the grantee refuses the answer otherwise.
//!
//! Modules, bottom up: [`anchor`], `wire` (the answer's format), [`search::time`], [`custodian`],
//! [`verify`], [`client`], [`search`].
//!
//! **Architecture Invariant:** this crate knows nothing of HTTP servers (`http-api` routes
//! [`RECORDS_PATH`] to [`custodian`]) nor of the write path: what a grant covers comes from the
//! ledger's Grant records as the writer planned them (`Grant::covers`); the grantee
//! records its own Access through the caller.

pub mod anchor;
pub mod client;
pub mod custodian;
pub mod search;
pub mod verify;
mod wire;

pub use anchor::{AnchorProof, AnchorView, AnchoredHead};
pub use client::{PeerClient, PeerFetchError};
pub use custodian::PeerServeError;
pub use verify::{verify_identified_patient, verify_peer_records, VerifiedRecord, VerifyPeerError};
pub use wire::{PeerRecords, ProvenRecord, RECORDS_PATH};

#[cfg(test)]
mod tests;
