//! The source connectors that feed the bridge's single writer beyond files and HTTP: the Kafka
//! consumer ([`kafka`]) and the MLLP listener for HL7 v2 ([`mllp`]). One folder per kind; each
//! has its configuration section and its metrics ([`metrics`]).
//!
//! **Architecture Invariants:**
//! - A source acknowledges (an offset commit and a receipt, an `ACK`) only what the writer
//!   answered as durable; what it refuses it keeps as a dead letter with the reason first.
//! - This crate knows nothing of HTTP, of the record format or of how the writer stores: it
//!   hands bytes to `ingest-pipeline` and waits for receipts.

#[cfg(feature = "kafka")]
pub mod kafka;
pub mod metrics;
pub mod mllp;
