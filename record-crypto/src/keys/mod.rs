//! Key types: the node's secp256k1 key pair and its public half, key ids, patient keys per epoch
//! and the per-record data keys derived from them.

mod node;
mod patient;

pub(crate) use node::{random_secret_key, secp256k1_context};
pub use node::{KeyId, NodeKeyPair, NodePublicKey};
pub use patient::{PatientKey, RecordKey, HKDF_SALT, RECORD_KEY_LABEL};
