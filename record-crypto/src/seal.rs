//! Sealing and opening records: XChaCha20-Poly1305 under the record key, with a random nonce and
//! the caller's associated data (the record's ledger metadata) bound in.
//!
//! Format, version 1:
//! `0x01 || nonce (24) || ciphertext of (salt (32) || plaintext) || tag (16)`,
//! AEAD associated data `0x01 || associated_data`.

use std::fmt;

use crate::error::{OpenError, SealError};
use crate::keys::RecordKey;
use crate::primitives::{aead_decrypt, aead_encrypt, fill_random, NONCE_LEN, TAG_LEN};

/// Version byte of the sealed format this crate writes.
pub const SEALED_VERSION: u8 = 0x01;
/// Length of the commitment salt carried inside the ciphertext.
const SALT_LEN: usize = 32;
/// Version byte and nonce.
const HEADER_LEN: usize = 1 + NONCE_LEN;
/// Bytes a sealed record adds to its plaintext (version, nonce, salt, tag): 73.
pub const SEALED_OVERHEAD: usize = HEADER_LEN + SALT_LEN + TAG_LEN;

/// What [`open`] returns: the plaintext and the commitment salt that was sealed with it.
///
/// `Debug` shows only the plaintext length, since the plaintext is patient data.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The record's canonical plaintext.
    pub plaintext: Vec<u8>,
    /// The salt of the record's commitment on the ledger.
    pub salt: [u8; 32],
}

impl fmt::Debug for Opened {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("Opened").field("plaintext_len", &self.plaintext.len()).finish_non_exhaustive()
    }
}

/// Seals `plaintext` and its commitment `salt` under `record_key`, binding `associated_data`.
///
/// The nonce is 24 random bytes from the operating system, so sealing the same input twice gives
/// different bytes. The same `associated_data` must be given to [`open`].
pub fn seal(
    record_key: &RecordKey,
    associated_data: &[u8],
    plaintext: &[u8],
    salt: &[u8; 32],
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    seal_with_nonce(record_key, associated_data, plaintext, salt, &nonce)
}

/// [`seal`] with a given nonce; separate so the format has a known-answer test.
fn seal_with_nonce(
    record_key: &RecordKey,
    associated_data: &[u8],
    plaintext: &[u8],
    salt: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>, SealError> {
    let mut sealed = Vec::with_capacity(SEALED_OVERHEAD + plaintext.len());
    sealed.push(SEALED_VERSION);
    sealed.extend_from_slice(nonce);
    sealed.extend_from_slice(salt);
    sealed.extend_from_slice(plaintext);
    let tag =
        aead_encrypt(record_key.as_bytes(), nonce, &aead_associated_data(associated_data), &mut sealed[HEADER_LEN..])
            .ok_or(SealError::TooLarge)?;
    sealed.extend_from_slice(&tag);
    Ok(sealed)
}

/// Opens a record sealed by [`seal`] under `record_key` with the same `associated_data`.
///
/// Fails with [`OpenError::Truncated`] or [`OpenError::UnknownVersion`] for malformed input and
/// with [`OpenError::Authentication`] for a wrong key or altered ciphertext or associated data.
pub fn open(record_key: &RecordKey, associated_data: &[u8], sealed: &[u8]) -> Result<Opened, OpenError> {
    let truncated = OpenError::Truncated { minimum: SEALED_OVERHEAD, found: sealed.len() };
    let Some(&version) = sealed.first() else {
        return Err(truncated);
    };
    if version != SEALED_VERSION {
        return Err(OpenError::UnknownVersion { version });
    }
    if sealed.len() < SEALED_OVERHEAD {
        return Err(truncated);
    }
    let (header, rest) = sealed.split_at(HEADER_LEN);
    let (body, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce: &[u8; NONCE_LEN] = header[1..].try_into().map_err(|_| truncated.clone())?;
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| truncated)?;
    let mut buffer = body.to_vec();
    if !aead_decrypt(record_key.as_bytes(), nonce, &aead_associated_data(associated_data), &mut buffer, tag) {
        return Err(OpenError::Authentication);
    }
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&buffer[..SALT_LEN]);
    buffer.drain(..SALT_LEN);
    Ok(Opened { plaintext: buffer, salt })
}

/// The AEAD's associated data: the version byte, then the caller's, so a future format cannot be
/// confused with this one under the same key.
fn aead_associated_data(associated_data: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + associated_data.len());
    aad.push(SEALED_VERSION);
    aad.extend_from_slice(associated_data);
    aad
}

#[cfg(test)]
mod tests;
