//! One bridge node's storage: the data dir, its sled database (the ledger, the sealed blobs, the
//! wrapped patient keys, the private index, the dead letters) and the key files beside it; the
//! encoding of ledger records; the read path (ledger record → blob → patient key → checked
//! content); the rule of which patient's key a record is sealed under; and `verify`.
//!
//! # Brief overview
//! - [`Node`]: the handles; [`Node::open`] opens a data dir ([`NodeConfig`]) and brings the index
//!   up to date with the ledger.
//! - [`records`]: [`LedgerRecord`](records::LedgerRecord) and its canonical encoding, and the context sealing and key
//!   wrapping bind records to.
//! - [`read`]: [`Node::read`], [`Node::open_record`], [`open_sealed`](read::open_sealed).
//! - [`patient`]: the patient a resource belongs to (the Patient compartment).
//! - [`verify`]: [`verify_store`](verify::verify_store), everything stored checked.
//!
//! Modules, bottom up: `clock`, `config`, `records`, `dedup`, `patient`, `key_files`, the sled
//! trees (`blobs`, `patient_keys`, `index`), `node`, `read`, `dead_letters`, `open`, `verify`; each
//! imports only those before it.
//!
//! **Architecture Invariants:**
//! - Nothing in the data dir is plaintext patient data: blobs are sealed, the ledger and the
//!   index hold pseudonyms and keyed hashes, patient keys are wrapped.
//! - This crate knows nothing of how records arrive (decoding, batching, sources) or leave (HTTP,
//!   peers): it stores and reads what the writer decided, and derives the index the same way the
//!   writer did, so that an index rebuilt after a crash equals the one written.

mod blobs;
pub mod clock;
pub mod config;
mod dead_letters;
pub mod dedup;
pub mod history;
mod index;
pub mod key_files;
mod node;
mod open;
pub mod patient;
mod patient_keys;
pub mod read;
pub mod records;
pub mod search;
pub mod verify;

pub use blobs::BlobStore;
pub use config::{KeysConfig, NodeConfig, PeerConfig};
pub use dead_letters::{DeadLetter, DeadLetterError};
pub use index::{GrantEntry, Index, IndexEntry, Latest, SeenContent};
pub use key_files::KeyFileError;
pub use node::{database_dir, hex32, kinds, Node, Peer};
pub use open::OpenError;
pub use patient_keys::{PatientKeyError, PatientKeys};
pub use read::{ReadError, ReadRecord};
