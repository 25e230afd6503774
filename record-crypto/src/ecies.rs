//! ECIES wrapping of patient keys for a node: secp256k1 ECDH with an ephemeral key, HKDF-SHA256
//! and XChaCha20-Poly1305.
//!
//! Wrapped key, version 1 (110 bytes):
//! `0x01 || ephemeral public key (33, compressed) || nonce (24) || ciphertext of
//! (patient key (32) || epoch (u32 big-endian)) || tag (16)`.

use std::fmt;

use secp256k1::ecdh::shared_secret_point;
use secp256k1::{PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::error::{UnwrapError, WrapError};
use crate::keys::{random_secret_key, secp256k1_context, NodeKeyPair, NodePublicKey, PatientKey, HKDF_SALT};
use crate::primitives::{aead_decrypt, aead_encrypt, fill_random, hkdf_sha256_32, NONCE_LEN, TAG_LEN};

/// Prefix of the HKDF info of wrapping keys; ephemeral public key, recipient public key and the
/// caller's context follow it.
pub const ECIES_LABEL: &[u8] = b"fhir-ledger-bridge/ecies/v1\0";
/// Version byte of the wrapped key format this crate writes.
pub const WRAPPED_KEY_VERSION: u8 = 0x01;
const PUBLIC_KEY_LEN: usize = NodePublicKey::COMPRESSED_LEN;
/// Version byte and ephemeral public key: the AEAD's associated data.
const HEADER_LEN: usize = 1 + PUBLIC_KEY_LEN;
/// Patient key and epoch.
const PAYLOAD_LEN: usize = 32 + 4;
/// Length of a version 1 wrapped key: 110 bytes.
pub const WRAPPED_KEY_LEN: usize = HEADER_LEN + NONCE_LEN + PAYLOAD_LEN + TAG_LEN;

/// A patient key wrapped for one recipient node. Holds only ciphertext; safe to store and send.
// INVARIANT: `bytes` has version 1 and a valid compressed ephemeral public key at [1..34].
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    bytes: [u8; WRAPPED_KEY_LEN],
}

impl WrappedKey {
    /// The versioned encoding.
    pub fn to_bytes(&self) -> [u8; WRAPPED_KEY_LEN] {
        self.bytes
    }

    /// The versioned encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Parses the versioned encoding, checking length, version and the ephemeral public key.
    /// Whether it opens is known only at [`unwrap_patient_key`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UnwrapError> {
        if let Some(&version) = bytes.first() {
            if version != WRAPPED_KEY_VERSION {
                return Err(UnwrapError::UnknownVersion { version });
            }
        }
        let bytes: [u8; WRAPPED_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| UnwrapError::InvalidLength { expected: WRAPPED_KEY_LEN, found: bytes.len() })?;
        PublicKey::from_slice(&bytes[1..HEADER_LEN]).map_err(|_| UnwrapError::InvalidEphemeralKey)?;
        Ok(Self { bytes })
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("WrappedKey(..)")
    }
}

/// Wraps `patient_key` (key and epoch) for `recipient`, bound to `context`.
///
/// A fresh ephemeral key pair `(e, E)` is drawn; the wrapping key is
/// `HKDF-SHA256(salt = HKDF_SALT, ikm = x(e·R), info = ECIES_LABEL || E || R || context)` with
/// `E` and `R` compressed (33 bytes each) and `x(·)` the 32-byte x coordinate of the shared point.
/// The same `context` must be given to [`unwrap_patient_key`]; the bridge passes patient
/// pseudonym, epoch and grantee key id so a wrap cannot be replayed for another grant.
pub fn wrap_patient_key(
    patient_key: &PatientKey,
    recipient: &NodePublicKey,
    context: &[u8],
) -> Result<WrappedKey, WrapError> {
    let mut ephemeral = random_secret_key()?;
    let mut nonce = [0u8; NONCE_LEN];
    let result = fill_random(&mut nonce)
        .map_err(WrapError::from)
        .and_then(|()| wrap_with(patient_key, recipient, context, &ephemeral, &nonce));
    ephemeral.non_secure_erase();
    result
}

/// [`wrap_patient_key`] with a given ephemeral key and nonce; separate for a known-answer test.
fn wrap_with(
    patient_key: &PatientKey,
    recipient: &NodePublicKey,
    context: &[u8],
    ephemeral: &SecretKey,
    nonce: &[u8; NONCE_LEN],
) -> Result<WrappedKey, WrapError> {
    let ephemeral_public = PublicKey::from_secret_key(secp256k1_context(), ephemeral).serialize();
    let wrapping_key = wrapping_key(ephemeral, recipient.inner(), &ephemeral_public, &recipient.to_bytes(), context);

    let mut bytes = [0u8; WRAPPED_KEY_LEN];
    bytes[0] = WRAPPED_KEY_VERSION;
    bytes[1..HEADER_LEN].copy_from_slice(&ephemeral_public);
    bytes[HEADER_LEN..HEADER_LEN + NONCE_LEN].copy_from_slice(nonce);
    let (header, rest) = bytes.split_at_mut(HEADER_LEN + NONCE_LEN);
    let (payload, tag_slot) = rest.split_at_mut(PAYLOAD_LEN);
    payload[..32].copy_from_slice(patient_key.expose_secret());
    payload[32..].copy_from_slice(&patient_key.epoch().to_be_bytes());
    let tag = aead_encrypt(&wrapping_key, nonce, &header[..HEADER_LEN], payload).ok_or(WrapError::Encryption)?;
    tag_slot.copy_from_slice(&tag);
    Ok(WrappedKey { bytes })
}

/// Unwraps a patient key wrapped for `recipient` under `context`.
///
/// Fails with [`UnwrapError::Authentication`] for another recipient's private key, a different
/// context, or altered bytes.
pub fn unwrap_patient_key(
    wrapped: &WrappedKey,
    recipient: &NodeKeyPair,
    context: &[u8],
) -> Result<PatientKey, UnwrapError> {
    let bytes = &wrapped.bytes;
    let ephemeral_public_bytes = &bytes[1..HEADER_LEN];
    // INVARIANT of `WrappedKey`: checked in `from_bytes`, so this cannot fail in practice.
    let ephemeral_public =
        PublicKey::from_slice(ephemeral_public_bytes).map_err(|_| UnwrapError::InvalidEphemeralKey)?;
    let wrapping_key = wrapping_key(
        recipient.secret_key(),
        &ephemeral_public,
        ephemeral_public_bytes,
        &recipient.public_key().to_bytes(),
        context,
    );
    let (header, rest) = bytes.split_at(HEADER_LEN + NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(PAYLOAD_LEN);
    let nonce: &[u8; NONCE_LEN] = header[HEADER_LEN..].try_into().map_err(|_| UnwrapError::Authentication)?;
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| UnwrapError::Authentication)?;
    let mut payload = Zeroizing::new([0u8; PAYLOAD_LEN]);
    payload.copy_from_slice(ciphertext);
    if !aead_decrypt(&wrapping_key, nonce, &header[..HEADER_LEN], &mut payload[..], tag) {
        return Err(UnwrapError::Authentication);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&payload[..32]);
    let epoch = u32::from_be_bytes([payload[32], payload[33], payload[34], payload[35]]);
    Ok(PatientKey::from_bytes(&key, epoch))
}

/// The AEAD key of one wrap: HKDF over the x coordinate of `secret · point`.
fn wrapping_key(
    secret: &SecretKey,
    point: &PublicKey,
    ephemeral_public: &[u8],
    recipient_public: &[u8],
    context: &[u8],
) -> Zeroizing<[u8; 32]> {
    let shared_point = Zeroizing::new(shared_secret_point(point, secret));
    hkdf_sha256_32(HKDF_SALT, &shared_point[..32], &[ECIES_LABEL, ephemeral_public, recipient_public, context])
}

#[cfg(test)]
mod tests;
