//! FHIR Ledger Bridge: the service and CLI that ingests FHIR R4 into an encrypted,
//! content-addressed store and commits a signed provenance record for every resource version to
//! a Merkle-tree ledger.
//!
//! Glue that brings the crates together: `fhir-models` (typed FHIR, validation, canonical JSON),
//! `record-crypto` (sealing, key wrapping, pseudonyms, CIDs) and `ledger-adapter` (the ledger).
//! Only this crate knows sled's layout of blobs and keys, actix-web, tokio and the CLI.
//!
//! # Brief overview
//! - [`config::BridgeConfig`]: TOML plus environment overrides.
//! - [`store::Node`]: one node's storage and keys (sled database, ledger, blobs, index).
//! - [`pipeline`]: decode → normalise → commit, one module per stage.
//! - [`read`]: decrypt and check what was committed; [`verify`]: check everything stored.
//! - [`http`]: the FHIR and ledger HTTP API; [`cli`]: the `fhir-bridge` commands.

pub mod auth;
pub mod cli;
pub mod config;
pub mod consent;
pub mod http;
pub mod input;
pub mod metrics;
pub mod peers;
pub mod pipeline;
pub mod read;
pub mod records;
pub mod search;
pub mod sources;
pub mod store;
pub mod verify;
