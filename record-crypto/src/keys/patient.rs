//! Patient data keys per epoch and the per-record keys derived from them.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::primitives::{hkdf_sha256_32, random_32};

/// HKDF-SHA256 salt of every key derivation in this crate (record keys and ECIES), NUL-terminated.
pub const HKDF_SALT: &[u8] = b"fhir-ledger-bridge/hkdf-salt/v1\0";
/// Prefix of the HKDF info of record keys; the caller's record identity follows it.
pub const RECORD_KEY_LABEL: &[u8] = b"fhir-ledger-bridge/record-key/v1\0";

/// A patient's data key for one epoch: 32 random bytes.
///
/// Stored only wrapped (see [`crate::wrap_patient_key`]); a revoke rotates to a new key at the
/// next epoch so records sealed afterwards are closed to the revoked party. Zeroized on drop;
/// `Debug` shows only the epoch. Equality is constant-time.
#[derive(Clone)]
pub struct PatientKey {
    key: Zeroizing<[u8; 32]>,
    epoch: u32,
}

impl PatientKey {
    /// Generates a fresh key for `epoch` from the operating system's random number generator.
    pub fn generate(epoch: u32) -> Result<Self, KeyError> {
        Ok(Self { key: Zeroizing::new(random_32()?), epoch })
    }

    /// Rebuilds a key from its bytes and epoch (for example after unwrapping).
    pub fn from_bytes(key: &[u8; 32], epoch: u32) -> Self {
        Self { key: Zeroizing::new(*key), epoch }
    }

    /// A fresh, independent key for the next epoch (the rotation that follows a revoke).
    pub fn next_epoch(&self) -> Result<Self, KeyError> {
        let epoch = self.epoch.checked_add(1).ok_or(KeyError::EpochExhausted { epoch: self.epoch })?;
        Self::generate(epoch)
    }

    /// The epoch this key belongs to.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The secret key bytes. Handle with care: only for wrapping and tests.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.key
    }

    /// Derives the data key of one record:
    /// `HKDF-SHA256(salt = HKDF_SALT, ikm = patient key, info = RECORD_KEY_LABEL || record_identity)`,
    /// 32 bytes.
    ///
    /// The caller chooses `record_identity` and must encode it unambiguously (fixed-length fields
    /// or length prefixes), for example type pseudonym (32) || id pseudonym (32) || version (u32
    /// big-endian).
    pub fn record_key(&self, record_identity: &[u8]) -> RecordKey {
        RecordKey(hkdf_sha256_32(HKDF_SALT, &*self.key, &[RECORD_KEY_LABEL, record_identity]))
    }
}

impl PartialEq for PatientKey {
    fn eq(&self, other: &Self) -> bool {
        (self.key.ct_eq(&*other.key) & self.epoch.ct_eq(&other.epoch)).into()
    }
}

impl Eq for PatientKey {}

impl fmt::Debug for PatientKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("PatientKey").field("epoch", &self.epoch).field("key", &"<redacted>").finish()
    }
}

/// The data key of one record, derived from a [`PatientKey`]; used by [`crate::seal`] and
/// [`crate::open`]. Zeroized on drop; `Debug` does not show it.
pub struct RecordKey(Zeroizing<[u8; 32]>);

impl RecordKey {
    /// The key bytes, for the AEAD.
    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("RecordKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::hmac_sha256;

    #[test]
    fn record_key_is_the_documented_hkdf() {
        let patient = PatientKey::from_bytes(&[0x11; 32], 3);
        let identity = b"type-pseudonym|id-pseudonym|v1";
        // Independent single-block HKDF: PRK = HMAC(salt, ikm); OKM = HMAC(PRK, info || 1).
        let prk = hmac_sha256(b"fhir-ledger-bridge/hkdf-salt/v1\0", &[&[0x11; 32]]);
        let expected = hmac_sha256(&prk, &[b"fhir-ledger-bridge/record-key/v1\0", identity, &[1]]);
        assert_eq!(patient.record_key(identity).as_bytes(), &expected);
    }

    #[test]
    fn record_keys_differ_by_identity_and_patient_key() {
        let patient = PatientKey::generate(0).unwrap();
        let first = patient.record_key(b"a");
        assert_eq!(first.as_bytes(), patient.record_key(b"a").as_bytes());
        assert_ne!(first.as_bytes(), patient.record_key(b"b").as_bytes());
        let rotated = patient.next_epoch().unwrap();
        assert_eq!(rotated.epoch(), 1);
        assert_ne!(first.as_bytes(), rotated.record_key(b"a").as_bytes());
    }

    #[test]
    fn epoch_cannot_overflow() {
        let last = PatientKey::from_bytes(&[0; 32], u32::MAX);
        assert!(matches!(last.next_epoch(), Err(KeyError::EpochExhausted { epoch: u32::MAX })));
    }

    #[test]
    fn equality_and_redacted_debug() {
        let key = PatientKey::from_bytes(&[0xab; 32], 7);
        assert_eq!(key, PatientKey::from_bytes(&[0xab; 32], 7));
        assert_ne!(key, PatientKey::from_bytes(&[0xab; 32], 8));
        assert_ne!(key, PatientKey::from_bytes(&[0xac; 32], 7));
        let debug = format!("{key:?} {:?}", key.record_key(b"x"));
        assert!(!debug.contains("ab") && !debug.contains("171"));
        assert!(debug.contains("epoch: 7"));
    }
}
