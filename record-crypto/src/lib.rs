//! Envelope encryption for ledger records.
//!
//! `record-crypto` turns bytes and identities into sealed bytes, wrapped keys, pseudonyms,
//! commitments and content identifiers.
//! It is the only crate of the bridge that touches key material or ciphers.
//!
//! # Brief overview
//! - [`Cid`]: CIDv1 (raw, sha2-256, base32) of a ciphertext blob.
//! - [`Pseudonymizer`] → [`Pseudonym`] and [`DedupKey`]: keyed identifiers under the deployment
//!   secret.
//! - [`Commitment`]: salted SHA-256 commitment to canonical plaintext.
//! - [`NodeKeyPair`], [`NodePublicKey`], [`KeyId`]: a node's secp256k1 keys.
//! - [`PatientKey`] (per epoch) → [`RecordKey`] (per record) via [`PatientKey::record_key`].
//! - [`seal`] / [`open`] → [`Opened`]: AEAD sealing of one record with its ledger metadata bound.
//! - [`wrap_patient_key`] / [`unwrap_patient_key`] ↔ [`WrappedKey`]: ECIES for a recipient node.
//!
//! **Architecture Invariant:** this crate knows nothing of FHIR, sled, HTTP, Kafka or the ledger's
//! storage and record format.
//! Callers choose what the record identity, associated data and wrap context are; this crate only
//! fixes how they are bound.
//! It does not sign anything either (the ledger signs its blocks) and does no I/O besides reading
//! the operating system's random number generator.
//!
//! **Architecture Invariant:** secret-bearing types (`NodeKeyPair`, `PatientKey`, `RecordKey`,
//! `Pseudonymizer`) are erased on drop and their `Debug` shows no secret; error messages never
//! include key material, plaintext or associated data.
//! Intermediate states inside the hash and cipher implementations are erased only where those
//! crates do it.
//!
//! # Constructions
//! Every domain-separation label is ASCII ending in one NUL byte (`\0`); `||` is concatenation.
//!
//! | What | Construction |
//! | --- | --- |
//! | CID | `"b" || base32_lower_nopad(0x01 0x55 0x12 0x20 || SHA-256(ciphertext))`, so `bafkrei…` |
//! | Pseudonym | `HMAC-SHA256(secret, "fhir-ledger-bridge/pseudonym/v1\0" || kind || 0x00 || value)` |
//! | Dedup key | `HMAC-SHA256(secret, "fhir-ledger-bridge/dedup/v1\0" || scope || 0x00 || content)` |
//! | Commitment | `SHA-256("fhir-ledger-bridge/commitment/v1\0" || salt(32) || plaintext)` |
//! | Key id | `SHA-256(compressed SEC 1 public key (33))` |
//! | Record key | `HKDF-SHA256(salt = "fhir-ledger-bridge/hkdf-salt/v1\0", ikm = patient key, info = "fhir-ledger-bridge/record-key/v1\0" || identity)`, 32 bytes |
//! | Sealed record v1 | `0x01 || nonce(24) || XChaCha20-Poly1305(record key, nonce, aad = 0x01 || associated data, salt(32) || plaintext)` (ciphertext then 16-byte tag) |
//! | Wrapping key | `HKDF-SHA256(salt = "fhir-ledger-bridge/hkdf-salt/v1\0", ikm = x(e·R), info = "fhir-ledger-bridge/ecies/v1\0" || E(33) || R(33) || context)` |
//! | Wrapped key v1 | `0x01 || E(33) || nonce(24) || XChaCha20-Poly1305(wrapping key, nonce, aad = 0x01 || E, patient key(32) || epoch(u32 BE))`, 110 bytes |
//!
//! Pseudonym kinds and dedup scopes must be non-empty and free of NUL so each input splits one way.
//! The deployment secret is at least 32 bytes; pseudonyms, dedup keys, commitments and key ids
//! are written as 64 lower-case hex digits (what operators grep for), public keys as 66.
//! HMAC and HKDF are RFC 2104 and RFC 5869 exactly (tested against RFC 4231 and RFC 5869
//! vectors); HKDF output is one 32-byte block.
//!
//! ECDH: `e` is a fresh ephemeral secret per wrap, `E` its compressed public key, `R` the
//! recipient's compressed public key, and `x(e·R)` the raw 32-byte x coordinate of the shared
//! point (as in SEC 1 ECIES), not libsecp256k1's default hashed output.
//! Any secp256k1 library can reproduce it, and HKDF does the extraction, with both public keys
//! and the caller's context in `info`.
//!
//! # Why XChaCha20-Poly1305
//! Nonces are drawn at random for every seal and every wrap, so nonce size decides safety.
//! XChaCha20-Poly1305's 192-bit nonce makes random nonces safe for practically unlimited messages
//! per key, where AES-256-GCM's 96-bit nonce reaches the 2^-32 collision bound after about 2^32
//! messages under one key.
//! Record keys are per record, so that bound is unlikely to bite, but a record re-sealed many
//! times or a future change of key scope would not silently become unsafe.
//! It is also constant-time in software on any CPU, without relying on AES-NI.
//!
//! # Errors
//! One error enum per operation, each with `is_retryable()`: only a failure of the operating
//! system's random number generator is transient.
//! A failed `open` or unwrap does not say which of wrong key, altered bytes or altered
//! associated data/context it was: the AEAD cannot tell, by design.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cid;
mod commitment;
mod ecies;
mod error;
mod hex;
mod keys;
mod primitives;
mod pseudonym;
mod seal;

pub use cid::{Cid, CID_BYTES_LEN};
pub use commitment::{random_salt, Commitment, COMMITMENT_LABEL};
pub use ecies::{unwrap_patient_key, wrap_patient_key, WrappedKey, ECIES_LABEL, WRAPPED_KEY_LEN, WRAPPED_KEY_VERSION};
pub use error::{
    CidError, HexError, KeyError, OpenError, PseudonymError, RandomnessError, SealError, UnwrapError, WrapError,
};
pub use keys::{KeyId, NodeKeyPair, NodePublicKey, PatientKey, RecordKey, HKDF_SALT, RECORD_KEY_LABEL};
pub use pseudonym::{DedupKey, Pseudonym, PseudonymKind, Pseudonymizer, DEDUP_LABEL, MIN_SECRET_LEN, PSEUDONYM_LABEL};
pub use seal::{open, seal, Opened, SEALED_OVERHEAD, SEALED_VERSION};
pub use zeroize::Zeroizing;
