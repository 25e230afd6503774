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
    /// The kind is checked when it is made ([`PseudonymKind::new`]), so the input splits one way
    /// only; `value` is last and may contain anything.
    pub fn pseudonym(&self, kind: PseudonymKind, value: &str) -> Pseudonym {
        Pseudonym(self.key.mac(&[PSEUDONYM_LABEL, kind.0.as_bytes(), &[0x00], value.as_bytes()]))
    }

    /// The private duplicate-detection key of `content` within `scope`:
    /// `HMAC-SHA256(secret, DEDUP_LABEL || scope || 0x00 || content)`.
    ///
    /// Equal content in the same scope gives equal keys, so a node can find duplicates in a
    /// private index; the key must never be written to the ledger, which carries only salted
    /// commitments. `scope` is a [`PseudonymKind`] like the kind of a pseudonym.
    pub fn dedup_key(&self, scope: PseudonymKind, content: &[u8]) -> DedupKey {
        DedupKey(self.key.mac(&[DEDUP_LABEL, scope.0.as_bytes(), &[0x00], content]))
    }
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Pseudonymizer { secret: <redacted> }")
    }
}

/// The kind of a pseudonym (or the scope of a dedup key): non-empty and free of NUL, so that
/// `kind || 0x00 || value` splits one way only.
///
/// Kinds are fixed labels of the caller's design, so they are checked when made: at compile time
/// for constants (`const PATIENT: PseudonymKind = PseudonymKind::new("patient");`), which makes
/// computing a pseudonym infallible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PseudonymKind(&'static str);

impl PseudonymKind {
    /// The kind `kind`; panics (at compile time in a `const`) when it is empty or contains NUL.
    #[allow(clippy::panic, reason = "a bad label is a programming error, caught at compile time in a const")]
    pub const fn new(kind: &'static str) -> Self {
        match Self::try_new(kind) {
            Some(kind) => kind,
            None => panic!("a pseudonym kind must be non-empty and must not contain NUL"),
        }
    }

    /// The kind `kind`, or `None` when it is empty or contains NUL.
    pub const fn try_new(kind: &'static str) -> Option<Self> {
        let bytes = kind.as_bytes();
        if bytes.is_empty() {
            return None;
        }
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == 0 {
                return None;
            }
            index += 1;
        }
        Some(Self(kind))
    }

    /// The label.
    pub const fn as_str(&self) -> &'static str {
        self.0
    }
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
    const PATIENT: PseudonymKind = PseudonymKind::new("patient");

    #[test]
    fn pseudonym_is_hmac_of_the_documented_input() {
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        let expected = hmac_sha256(&SECRET, &[b"fhir-ledger-bridge/pseudonym/v1\0patient\x00123"]);
        assert_eq!(*pseudonymizer.pseudonym(PATIENT, "123").as_bytes(), expected);
        let expected = hmac_sha256(&SECRET, &[b"fhir-ledger-bridge/dedup/v1\0Patient\0{}"]);
        assert_eq!(*pseudonymizer.dedup_key(PseudonymKind::new("Patient"), b"{}").as_bytes(), expected);
    }

    #[test]
    fn kinds_secrets_and_functions_are_separated() {
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        let patient = pseudonymizer.pseudonym(PATIENT, "123");
        assert_eq!(patient, pseudonymizer.pseudonym(PATIENT, "123"));
        assert_ne!(patient, pseudonymizer.pseudonym(PseudonymKind::new("resource"), "123"));
        assert_ne!(patient, pseudonymizer.pseudonym(PATIENT, "124"));
        let other = Pseudonymizer::new(&[0x43; 32]).unwrap();
        assert_ne!(patient, other.pseudonym(PATIENT, "123"));
        let dedup = pseudonymizer.dedup_key(PATIENT, b"123");
        assert_ne!(patient.as_bytes(), dedup.as_bytes());
    }

    #[test]
    fn rejects_short_secrets_and_ambiguous_kinds() {
        assert!(matches!(Pseudonymizer::new(&[0; 31]), Err(PseudonymError::SecretTooShort { minimum: 32, found: 31 })));
        assert_eq!(PseudonymKind::try_new("pat\0ient"), None);
        assert_eq!(PseudonymKind::try_new(""), None);
        assert_eq!(PseudonymKind::try_new("patient").map(|k| k.as_str()), Some("patient"));
    }

    #[test]
    fn hex_round_trip_and_redacted_debug() {
        let pseudonymizer = Pseudonymizer::new(&SECRET).unwrap();
        let pseudonym = pseudonymizer.pseudonym(PATIENT, "123");
        let text = pseudonym.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<Pseudonym>().unwrap(), pseudonym);
        assert!(!format!("{pseudonymizer:?}").contains("42"));
        let generated = Pseudonymizer::generate_secret().unwrap();
        assert!(Pseudonymizer::new(&*generated).is_ok());
    }
}
