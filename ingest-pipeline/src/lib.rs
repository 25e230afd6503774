//! The ingest pipeline, the bridge's write path, one small stage per module:
//! [`decode`] (bytes → typed, validated candidates; Bundles expanded) → [`normalise`] (canonical
//! JSON, content hash, patient by the Patient compartment: [`node_store::patient`]) → [`commit`] (dedup, version, seal, store, ledger append, index).
//!
//! Decode and normalise are pure and run in parallel over a batch ([`prepare`]); commit runs once
//! per batch and makes one ledger block, with the grants the batch's Consents make ([`grants`]).
//! [`batcher`] is the service's single writer that every source submits to; [`hl7v2`] turns a
//! v2 message into resources before they join the pipeline; [`merge`] folds a v2 message's
//! Patient into the version before it.
//!
//! Modules, bottom up: `metrics`, `error`, `decode`, `merge`, `normalise`, `prepare`, `grants`,
//! `commit`, `hl7v2`, `batcher`; each imports only those before it.
//!
//! **Architecture Invariant:** this crate knows nothing of where submissions come from (files,
//! HTTP, Kafka, MLLP: they hand it bytes and wait for receipts) nor of who reads what it wrote.
//! Storage, the record format and the patient rule are `node-store`'s; what a Consent grants is
//! `fhir-consent`'s.

pub mod batcher;
pub mod commit;
pub mod decode;
mod error;
pub mod grants;
pub mod hl7v2;
pub mod merge;
pub mod metrics;
pub mod normalise;
mod prepare;

pub use commit::{commit_batch, warm_patient_keys, Receipt};
pub use decode::{Candidate, Decoded, IdAssigner, Rejection, RequestedChange};
pub use error::CommitError;
pub use grants::reconcile_grants;
pub use metrics::WriterMetrics;
pub use normalise::Normalised;
pub use prepare::{prepare, prepare_one, Prepared};
