//! Salted SHA-256 commitments to canonical plaintext.
//!
//! The ledger carries the commitment; the 32-byte salt travels inside the ciphertext, so a reader
//! who can decrypt can check the plaintext against the ledger, while equal content committed
//! under different salts stays unlinkable to everyone else.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::RandomnessError;
use crate::hex::impl_hex_32;
use crate::primitives::random_32;

/// Domain-separation label of commitments, NUL-terminated.
pub const COMMITMENT_LABEL: &[u8] = b"fhir-ledger-bridge/commitment/v1\0";

/// Draws a fresh 32-byte commitment salt from the operating system.
pub fn random_salt() -> Result<[u8; 32], RandomnessError> {
    random_32()
}

/// `SHA-256(COMMITMENT_LABEL || salt || plaintext)`, written as 64 lower-case hex digits.
///
/// Equality (`==` and [`Commitment::verify`]) is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct Commitment([u8; 32]);

impl Commitment {
    /// Commits to `plaintext` (the canonical bytes of the record) under `salt`.
    pub fn commit(salt: &[u8; 32], plaintext: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(COMMITMENT_LABEL);
        hasher.update(salt);
        hasher.update(plaintext);
        Self(hasher.finalize().into())
    }

    /// Whether this commitment was made to `plaintext` under `salt`, compared in constant time.
    pub fn verify(&self, salt: &[u8; 32], plaintext: &[u8]) -> bool {
        *self == Self::commit(salt, plaintext)
    }

    /// Wraps 32 bytes read back from the ledger.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for Commitment {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl_hex_32!(Commitment);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Python: sha256(b"fhir-ledger-bridge/commitment/v1\0" + bytes([0x22]) * 32 + plaintext)
        let commitment = Commitment::commit(&[0x22; 32], b"{\"resourceType\":\"Patient\"}");
        assert_eq!(commitment.to_string(), "b3223ecbd8a3ca95f2cba7d700a47d412073268c058dfd3a68fb52a3e46f6da3");
    }

    #[test]
    fn verifies_only_the_committed_plaintext_and_salt() {
        let salt = random_salt().unwrap();
        let commitment = Commitment::commit(&salt, b"{\"resourceType\":\"Patient\"}");
        assert!(commitment.verify(&salt, b"{\"resourceType\":\"Patient\"}"));
        assert!(!commitment.verify(&salt, b"{\"resourceType\":\"Patient\" }"));
        let mut other_salt = salt;
        other_salt[31] ^= 1;
        assert!(!commitment.verify(&other_salt, b"{\"resourceType\":\"Patient\"}"));
    }

    #[test]
    fn equal_content_under_different_salts_is_unlinkable() {
        let first = Commitment::commit(&[1; 32], b"same");
        let second = Commitment::commit(&[2; 32], b"same");
        assert_ne!(first, second);
    }

    #[test]
    fn hex_round_trip() {
        let commitment = Commitment::commit(&[0; 32], b"");
        assert_eq!(commitment.to_string().parse::<Commitment>().unwrap(), commitment);
    }
}
