//! The raw primitives every construction is built from: OS randomness, HMAC-SHA256,
//! single-block HKDF-SHA256 and XChaCha20-Poly1305.
//!
//! HMAC and HKDF are written over `hmac::Hmac`'s infallible fixed-block constructor so that no
//! code path has an `unwrap` on an error that cannot happen (the slice constructors of `hmac` and
//! `hkdf` return `Result`s for lengths that are impossible here). Both are checked against their
//! RFC test vectors below and HKDF also against the `hkdf` crate.

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::RandomnessError;

/// Length of an XChaCha20-Poly1305 nonce in bytes.
pub(crate) const NONCE_LEN: usize = 24;
/// Length of a Poly1305 tag in bytes.
pub(crate) const TAG_LEN: usize = 16;
/// SHA-256 block size, which is also the HMAC-SHA256 key block size.
const BLOCK_LEN: usize = 64;

/// Fills `buffer` from the operating system's random number generator.
pub(crate) fn fill_random(buffer: &mut [u8]) -> Result<(), RandomnessError> {
    OsRng.try_fill_bytes(buffer).map_err(|_| RandomnessError)
}

/// Returns 32 fresh random bytes.
pub(crate) fn random_32() -> Result<[u8; 32], RandomnessError> {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes)?;
    Ok(bytes)
}

/// An HMAC-SHA256 key normalised to one SHA-256 block exactly as RFC 2104 does: keys longer than
/// the block are hashed first, shorter ones are zero-padded. Zeroized on drop.
pub(crate) struct HmacKey(Zeroizing<[u8; BLOCK_LEN]>);

impl HmacKey {
    /// Normalises `key` (any length) into an HMAC-SHA256 key block.
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
        if key.len() > BLOCK_LEN {
            let digest = Sha256::digest(key);
            block[..digest.len()].copy_from_slice(&digest);
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        Self(block)
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*self.0).into());
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    HmacKey::new(key).mac(parts)
}

/// HKDF-SHA256 (RFC 5869) producing one 32-byte block:
/// `PRK = HMAC(salt, ikm)`, `OKM = HMAC(PRK, info || 0x01)`, where `info` is the concatenation of
/// `info_parts`.
pub(crate) fn hkdf_sha256_32(salt: &[u8], ikm: &[u8], info_parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let prk = Zeroizing::new(hmac_sha256(salt, &[ikm]));
    let prk_key = HmacKey::new(&*prk);
    let mut parts: Vec<&[u8]> = Vec::with_capacity(info_parts.len() + 1);
    parts.extend_from_slice(info_parts);
    parts.push(&[0x01]);
    Zeroizing::new(prk_key.mac(&parts))
}

/// Encrypts `buffer` in place under `key` and `nonce` with associated data `aad`, returning the tag.
pub(crate) fn aead_encrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> Option<[u8; TAG_LEN]> {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher.encrypt_in_place_detached(XNonce::from_slice(nonce), aad, buffer).ok().map(Into::into)
}

/// Verifies `tag` and decrypts `buffer` in place; on failure `buffer` is left as ciphertext.
pub(crate) fn aead_decrypt(
    key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    let cipher = XChaCha20Poly1305::new(Key::from_slice(key));
    cipher.decrypt_in_place_detached(XNonce::from_slice(nonce), aad, buffer, Tag::from_slice(tag)).is_ok()
}

#[cfg(test)]
mod tests;
