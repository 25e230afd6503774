//! Keyed pseudonyms for identifiers and keyed duplicate-detection keys, both HMAC-SHA256 under
//! the deployment secret with separate domain-separation labels.

use std::fmt;

use crate::error::PseudonymError;
use crate::hex::impl_hex_32;
use crate::primitives::{random_32, HmacKey};
use zeroize::Zeroizing;

/// Domain-separation label of pseudonyms; the trailing NUL separates it from the kind.
pub const PSEUDONYM_LABEL: &[u8] = b"fhir-ledger-bridge/pseudonym/v1\0";
/// Domain-separation label of duplicate-detection keys; the trailing NUL separates it from the
/// scope.
pub const DEDUP_LABEL: &[u8] = b"fhir-ledger-bridge/dedup/v1\0";
/// Minimum length of the deployment secret in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Computes pseudonyms and duplicate-detection keys under one deployment secret.
///
/// Every node of one deployment must share the secret so that the same identifier gets the same
/// pseudonym everywhere; anyone without it cannot recompute or test a pseudonym, even for a
/// guessed identifier. `Debug` does not show the secret; it is zeroized on drop.
pub struct Pseudonymizer {
    key: HmacKey,
}

impl Pseudonymizer {
    /// Builds a pseudonymizer from the deployment secret (at least [`MIN_SECRET_LEN`] bytes,
    /// which should be uniformly random).
    pub fn new(secret: &[u8]) -> Result<Self, PseudonymError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(PseudonymError::SecretTooShort { minimum: MIN_SECRET_LEN, found: secret.len() });
        }
        Ok(Self { key: HmacKey::new(secret) })
    }

    /// Draws a fresh 32-byte deployment secret from the operating system.
    pub fn generate_secret() -> Result<Zeroizing<[u8; 32]>, PseudonymError> {
        Ok(Zeroizing::new(random_32()?))
    }

    /// The pseudonym of `value` of the given `kind` (for example `"patient"` or `"resource"`):
    /// `HMAC-SHA256(secret, PSEUDONYM_LABEL || kind || 0x00 || value)`.
    ///
    /// `kind` must be non-empty and free of NUL so the input splits one way only; `value` is last
    /// and may contain anything.
    pub fn pseudonym(&self, kind: &str, value: &str) -> Result<Pseudonym, PseudonymError> {
        check_kind(kind)?;
        Ok(Pseudonym(self.key.mac(&[PSEUDONYM_LABEL, kind.as_bytes(), &[0x00], value.as_bytes()])))
    }

    /// The private duplicate-detection key of `content` within `scope`:
    /// `HMAC-SHA256(secret, DEDUP_LABEL || scope || 0x00 || content)`.
    ///
    /// Equal content in the same scope gives equal keys, so a node can find duplicates in a
    /// private index; the key must never be written to the ledger, which carries only salted
    /// commitments. `scope` follows the rules of a pseudonym kind.
    pub fn dedup_key(&self, scope: &str, content: &[u8]) -> Result<DedupKey, PseudonymError> {
        check_kind(scope)?;
        Ok(DedupKey(self.key.mac(&[DEDUP_LABEL, scope.as_bytes(), &[0x00], content])))
    }
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Pseudonymizer { secret: <redacted> }")
    }
}

fn check_kind(kind: &str) -> Result<(), PseudonymError> {
    if kind.is_empty() || kind.contains('\0') {
        return Err(PseudonymError::InvalidKind);
    }
    Ok(())
}

/// A 32-byte pseudonym, written as 64 lower-case hex digits.
///
/// Hex rather than base32 because it is what operators already grep for and it matches how the
/// ledger prints its other 32-byte values (key ids, commitments).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pseudonym([u8; 32]);

impl Pseudonym {
    /// Wraps 32 bytes read back from the ledger or a grant.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl_hex_32!(Pseudonym);

/// A 32-byte keyed duplicate-detection key, written as 64 lower-case hex digits. Private to the
/// node: never put it on the ledger.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DedupKey([u8; 32]);

impl DedupKey {
    /// Wraps 32 bytes read back from the private index.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl_hex_32!(DedupKey);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::hmac_sha256;

    const SECRET: [u8; 32] = [0x42; 32];

    #[test]
    fn pseudonym_is_hmac_of_the_documented_input() {
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        let expected = hmac_sha256(&SECRET, &[b"fhir-ledger-bridge/pseudonym/v1\0patient\x00123"]);
        assert_eq!(*pseudonymizer.pseudonym("patient", "123").unwrap().as_bytes(), expected);
        let expected = hmac_sha256(&SECRET, &[b"fhir-ledger-bridge/dedup/v1\0Patient\0{}"]);
        assert_eq!(*pseudonymizer.dedup_key("Patient", b"{}").unwrap().as_bytes(), expected);
    }

    #[test]
    fn kinds_secrets_and_functions_are_separated() {
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        let patient = pseudonymizer.pseudonym("patient", "123").unwrap();
        assert_eq!(patient, pseudonymizer.pseudonym("patient", "123").unwrap());
        assert_ne!(patient, pseudonymizer.pseudonym("resource", "123").unwrap());
        assert_ne!(patient, pseudonymizer.pseudonym("patient", "124").unwrap());
        let other = Pseudonymizer::new(&[0x43; 32]).unwrap();
        assert_ne!(patient, other.pseudonym("patient", "123").unwrap());
        let dedup = pseudonymizer.dedup_key("patient", b"123").unwrap();
        assert_ne!(patient.as_bytes(), dedup.as_bytes());
    }

    #[test]
    fn rejects_short_secrets_and_ambiguous_kinds() {
        assert!(matches!(Pseudonymizer::new(&[0; 31]), Err(PseudonymError::SecretTooShort { minimum: 32, found: 31 })));
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        assert!(matches!(pseudonymizer.pseudonym("pat\0ient", "1"), Err(PseudonymError::InvalidKind)));
        assert!(matches!(pseudonymizer.pseudonym("", "1"), Err(PseudonymError::InvalidKind)));
        assert!(matches!(pseudonymizer.dedup_key("a\0", b"1"), Err(PseudonymError::InvalidKind)));
    }

    #[test]
    fn hex_round_trip_and_redacted_debug() {
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        let pseudonym = pseudonymizer.pseudonym("patient", "123").unwrap();
        let text = pseudonym.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<Pseudonym>().unwrap(), pseudonym);
        assert!(!format!("{pseudonymizer:?}").contains("42"));
        let generated = Pseudonymizer::generate_secret().unwrap();
        assert!(Pseudonymizer::new(&*generated).is_ok());
    }
}
