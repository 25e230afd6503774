//! Anchors a bridge node's signed ledger heads to an Ethereum-compatible chain, and checks a
//! ledger against its anchors.
//!
//! A node's ledger is a hash chain of signed block headers; whoever holds the node key and the
//! data dir could rebuild and re-sign all of it. Anchoring the latest header to a shared chain now
//! and then makes that visible: the chain's contract keeps every anchored header's hash per node
//! key, and `verify --chain`, `chain status` and every reader compare the ledger with it. The
//! contract checks the node's signature itself, so a gas account (or a peer relaying) can submit
//! but not forge.
//!
//! # Architecture Invariants
//! - Knows nothing of FHIR, patients or HTTP: it sees the ledger only through
//!   [`ledger_adapter::LedgerReader`] (headers, roots, consistency proofs), and stores its own
//!   state in a sled tree it is given.
//! - The chain never blocks ingest: the [`Anchorer`] runs on its own thread, reads the ledger and
//!   never writes it.
//! - What reaches the chain is a signed header (heights, record counts, Merkle roots, a time and
//!   the node key id): never a record, a pseudonym or a patient key.
//! - Every transaction is signed here, with the gas key (never the node key), and recorded
//!   durably before it is sent.
//!
//! Modules, bottom-up: [`rpc`] (JSON-RPC), [`contract`] (ABI and bytecode), [`gas`] (the gas
//! account and transaction signing), [`config`], [`state`] (durable anchor state), [`metrics`],
//! [`chain`] (the contract on a chain: checks, reads, admin transactions), [`anchorer`] (the
//! loop), [`check`] (a ledger against the chain), [`proof`] (one record's self-contained proof,
//! checked with a chain RPC alone).

pub mod anchorer;
pub mod chain;
pub mod check;
pub mod config;
pub mod contract;
pub mod gas;
pub mod metrics;
pub mod proof;
pub mod rpc;
pub mod state;
#[cfg(feature = "test-support")]
pub mod testing;

pub use anchorer::{AnchorError, AnchorHealth, Anchorer, AnchorerHandle, SharedHealth};
pub use chain::{AnchorContract, ChainError};
pub use check::{check_ledger, CheckError, CheckReport};
pub use config::{ChainConfig, Finality};
pub use gas::GasAccount;
pub use metrics::AnchorMetrics;
pub use state::{AnchorStore, FinalAnchor};
