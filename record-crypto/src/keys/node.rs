//! The node's (institution's) secp256k1 key pair, its public key and its key id.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use secp256k1::{PublicKey, Secp256k1, SecretKey, SignOnly};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{KeyError, RandomnessError};
use crate::hex::{self, impl_hex_32};
use crate::primitives::random_32;

/// How many 32-byte draws key generation makes before it blames the random number generator.
/// A uniform draw is an invalid secret key with probability below 2^-127.
const MAX_KEY_DRAWS: usize = 8;

/// One process-wide signing context (key derivation needs only signing tables), randomized once
/// for side-channel blinding when the random number generator allows.
static SECP256K1: LazyLock<Secp256k1<SignOnly>> = LazyLock::new(|| {
    let mut context = Secp256k1::signing_only();
    if let Ok(seed) = random_32() {
        context.seeded_randomize(&seed);
    }
    context
});

/// The shared secp256k1 signing context.
pub(crate) fn secp256k1_context() -> &'static Secp256k1<SignOnly> {
    &SECP256K1
}

/// Draws a valid secp256k1 secret key from the operating system's random number generator.
pub(crate) fn random_secret_key() -> Result<SecretKey, RandomnessError> {
    for _ in 0..MAX_KEY_DRAWS {
        let bytes = Zeroizing::new(random_32()?);
        if let Ok(secret) = SecretKey::from_byte_array(*bytes) {
            return Ok(secret);
        }
    }
    Err(RandomnessError)
}

/// A node's secp256k1 key pair: it receives wrapped patient keys (ECIES) and is named on the
/// ledger by its [`KeyId`].
///
/// The secret is erased on drop (secp256k1's volatile overwrite, the technique `zeroize` uses);
/// byte copies handed out are `Zeroizing`. `Debug` shows the public key, never the secret.
#[derive(Clone)]
pub struct NodeKeyPair {
    secret: SecretKey,
    public: NodePublicKey,
}

impl NodeKeyPair {
    /// Generates a key pair from the operating system's random number generator.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self::from_secret_key(random_secret_key()?))
    }

    /// Loads a key pair from its 32 secret bytes (big-endian scalar).
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let secret = SecretKey::from_byte_array(*bytes).map_err(|_| KeyError::InvalidSecretKey)?;
        Ok(Self::from_secret_key(secret))
    }

    /// Loads a key pair from 64 hex digits of secret bytes.
    pub fn from_secret_hex(text: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(hex::decode_array::<32>(text)?);
        Self::from_secret_bytes(&bytes)
    }

    /// Takes ownership of `secret`; from here on it is erased on drop.
    fn from_secret_key(secret: SecretKey) -> Self {
        Self { public: NodePublicKey(PublicKey::from_secret_key(secp256k1_context(), &secret)), secret }
    }

    /// The 32 secret bytes, for writing the key file; zeroized when dropped.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.secret_bytes())
    }

    /// The secret as 64 lower-case hex digits; zeroized when dropped.
    pub fn secret_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&*self.secret_bytes()))
    }

    /// The public key.
    pub fn public_key(&self) -> &NodePublicKey {
        &self.public
    }

    /// The key id: SHA-256 of the compressed public key.
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    /// The secret as a library key, for one operation.
    pub(crate) fn secret_key(&self) -> &SecretKey {
        &self.secret
    }
}

impl Drop for NodeKeyPair {
    fn drop(&mut self) {
        self.secret.non_secure_erase();
    }
}

impl fmt::Debug for NodeKeyPair {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_struct("NodeKeyPair").field("public", &self.public).field("secret", &"<redacted>").finish()
    }
}

/// A node's secp256k1 public key. Written as 66 lower-case hex digits of its compressed SEC 1
/// form; parsed from compressed (33 bytes) or uncompressed (65 bytes) SEC 1, in bytes or hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodePublicKey(PublicKey);

impl NodePublicKey {
    /// Length of the compressed SEC 1 encoding.
    pub const COMPRESSED_LEN: usize = 33;

    /// Parses a compressed or uncompressed SEC 1 public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        PublicKey::from_slice(bytes).map(Self).map_err(|_| KeyError::InvalidPublicKey)
    }

    /// The compressed SEC 1 encoding (33 bytes).
    pub fn to_bytes(&self) -> [u8; Self::COMPRESSED_LEN] {
        self.0.serialize()
    }

    /// The key id: SHA-256 of the compressed encoding.
    pub fn key_id(&self) -> KeyId {
        KeyId(Sha256::digest(self.to_bytes()).into())
    }

    /// The library key.
    pub(crate) fn inner(&self) -> &PublicKey {
        &self.0
    }
}

impl fmt::Display for NodePublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(&self.to_bytes()))
    }
}

impl fmt::Debug for NodePublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NodePublicKey({self})")
    }
}

impl FromStr for NodePublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 65];
        let length = if text.len() == 130 { 65 } else { Self::COMPRESSED_LEN };
        hex::decode_into(text, &mut bytes[..length])?;
        Self::from_bytes(&bytes[..length])
    }
}

/// A node key id: SHA-256 of the node's compressed public key, written as 64 lower-case hex
/// digits. This is the `node_key_id` the ledger's block headers carry.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; 32]);

impl KeyId {
    /// Wraps 32 bytes read back from the ledger.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl_hex_32!(KeyId);

#[cfg(test)]
mod tests;
