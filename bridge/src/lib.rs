//! FHIR Ledger Bridge: the `fhir-bridge` binary. Its CLI ([`cli`]), its configuration
//! ([`config::BridgeConfig`]: TOML plus environment overrides, one section per crate), the
//! service's metrics registry ([`metrics`]), the files `ingest` and `validate` read ([`input`]),
//! and `serve`, which wires the other crates together.
//!
//! The work is done below, one concern per crate (ARCHITECTURE.md, "Codemap"):
//! `node-store` (the data dir), `ingest-pipeline` (the write path), `exchange` (reads between
//! institutions, search), `smart-auth` (authentication), `http-api` (actix-web),
//! `source-connectors` (Kafka, MLLP), on top of `fhir-models`, `fhir-consent`, `record-crypto`,
//! `ledger-adapter`, `hl7v2` and `hl7v2-fhir`.
//!
//! **Architecture Invariant:** nothing here decides what is stored, read or refused: commands
//! parse their arguments, open what they need and call the crates below. No crate depends on this
//! one.

pub mod anchoring;
pub mod cli;
pub mod config;
pub mod input;
pub mod metrics;
