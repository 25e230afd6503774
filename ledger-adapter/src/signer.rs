//! Node keys and block signatures: secp256k1 ECDSA over SHA-256 digests.
//!
//! A node (institution) signs every block header with its key. [`BlockSigner`] is the seam for
//! other key holders (an HSM, a KMS); [`Secp256k1Signer`] holds the key in memory. A signature is
//! the 64-byte compact form `r || s` (big-endian, normalised to low-S); verification rejects
//! high-S signatures, so a signature cannot be re-shaped into a second valid one. A key is named by
//! its [`KeyId`], the full SHA-256 of its 33-byte compressed public key.

use std::fmt;
use std::sync::OnceLock;

use secp256k1::{ecdsa, Message, PublicKey, Secp256k1, SecretKey, SignOnly, VerifyOnly};
use sha2::{Digest, Sha256};

use crate::hasher::Hash;
use crate::hex::{self, HexError};

/// Length of a compressed secp256k1 public key.
pub const PUBLIC_KEY_LEN: usize = 33;
/// Length of a compact ECDSA signature.
pub const SIGNATURE_LEN: usize = 64;

/// The name of a node key: SHA-256 of its 33-byte compressed public key (all 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 32]);

impl KeyId {
    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> KeyId {
        KeyId(bytes)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<KeyId, HexError> {
        hex::decode_array(text).map(KeyId)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "KeyId({})", self.to_hex())
    }
}

/// A compact ECDSA signature: `r || s`, 32 bytes each, big-endian, low-S.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BlockSignature([u8; SIGNATURE_LEN]);

impl BlockSignature {
    /// Wraps 64 raw bytes (not checked until verification).
    pub const fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> BlockSignature {
        BlockSignature(bytes)
    }

    /// Parses 128 hex characters.
    pub fn from_hex(text: &str) -> Result<BlockSignature, HexError> {
        hex::decode_array(text).map(BlockSignature)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; SIGNATURE_LEN] {
        &self.0
    }

    /// Lower-case hex, 128 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl fmt::Debug for BlockSignature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "BlockSignature({})", self.to_hex())
    }
}

/// A key could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret is zero or not below the curve order.
    #[error("secret key is not a valid secp256k1 scalar")]
    InvalidSecretKey,
    /// The bytes are not a compressed point on the curve.
    #[error("public key is not a valid compressed secp256k1 point")]
    InvalidPublicKey,
    /// The hex text could not be decoded.
    #[error("public key hex is malformed")]
    Hex(#[from] HexError),
}

/// A block signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The header names a different signing key than the one it is checked against.
    #[error("header is signed by key {found}, expected {expected}")]
    WrongKey {
        /// Key id of the key checked against.
        expected: KeyId,
        /// Key id named in the header.
        found: KeyId,
    },
    /// The 64 bytes are not a compact signature (r or s out of range).
    #[error("signature bytes are malformed")]
    Malformed,
    /// The signature is not valid for this digest and key (or is not in low-S form).
    #[error("signature does not verify")]
    Invalid,
}

/// A signer could not produce a signature (for example, a remote key store is unreachable).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignerError {
    /// The key holder failed or is unavailable; retrying later may succeed.
    #[error("block signer is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The signer returned a signature that does not verify under its own public key (a broken
    /// signer or key store); the block was not written.
    #[error("block signer produced a signature that does not verify under its public key")]
    InvalidSignature,
}

fn verification_context() -> &'static Secp256k1<VerifyOnly> {
    static CONTEXT: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    CONTEXT.get_or_init(Secp256k1::verification_only)
}

/// A node's public key (secp256k1), the trust anchor for its blocks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NodePublicKey(PublicKey);

impl NodePublicKey {
    /// Parses a 33-byte compressed public key.
    pub fn from_compressed(bytes: &[u8]) -> Result<NodePublicKey, KeyError> {
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(KeyError::InvalidPublicKey);
        }
        PublicKey::from_slice(bytes).map(NodePublicKey).map_err(|_| KeyError::InvalidPublicKey)
    }

    /// Parses a compressed public key from 66 hex characters.
    pub fn from_hex(text: &str) -> Result<NodePublicKey, KeyError> {
        let bytes: [u8; PUBLIC_KEY_LEN] = hex::decode_array(text)?;
        NodePublicKey::from_compressed(&bytes)
    }

    /// The 33-byte compressed encoding.
    pub fn to_compressed(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0.serialize()
    }

    /// The 65-byte uncompressed encoding (`0x04 || x || y`), as Ethereum derives addresses from.
    pub fn to_uncompressed(&self) -> [u8; 65] {
        self.0.serialize_uncompressed()
    }

    /// The compressed encoding as lower-case hex, 66 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.to_compressed())
    }

    /// The key id: SHA-256 of the compressed encoding.
    pub fn key_id(&self) -> KeyId {
        KeyId(Sha256::digest(self.to_compressed()).into())
    }

    /// Checks an ECDSA signature over a 32-byte digest. High-S signatures are rejected.
    pub fn verify(&self, digest: &Hash, signature: &BlockSignature) -> Result<(), SignatureError> {
        let signature = ecdsa::Signature::from_compact(signature.as_bytes()).map_err(|_| SignatureError::Malformed)?;
        verification_context()
            .verify_ecdsa(Message::from_digest(*digest.as_bytes()), &signature, &self.0)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl fmt::Display for NodePublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl fmt::Debug for NodePublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NodePublicKey({})", self.to_hex())
    }
}

/// A node's secret key. Storing it (a 0600 key file, an environment variable) is the caller's job;
/// this type only creates and parses it. `Debug` never shows the secret.
#[derive(Clone)]
pub struct NodeKey(SecretKey);

impl NodeKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> NodeKey {
        NodeKey(SecretKey::new(&mut secp256k1::rand::rng()))
    }

    /// Loads a key from its 32 secret bytes (big-endian scalar).
    pub fn from_secret_bytes(bytes: [u8; 32]) -> Result<NodeKey, KeyError> {
        SecretKey::from_byte_array(bytes).map(NodeKey).map_err(|_| KeyError::InvalidSecretKey)
    }

    /// The 32 secret bytes, for the caller to store.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.secret_bytes()
    }

    /// The matching public key.
    pub fn public_key(&self) -> NodePublicKey {
        NodePublicKey(PublicKey::from_secret_key(&Secp256k1::signing_only(), &self.0))
    }
}

impl fmt::Debug for NodeKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "NodeKey(public: {})", self.public_key())
    }
}

/// Something that signs block header digests with a node key.
///
/// Implementations must be deterministic in their key: `public_key()` and `key_id()` never change
/// for the lifetime of the signer, and every signature verifies under `public_key()`.
pub trait BlockSigner: Send + Sync {
    /// The id of the signing key (SHA-256 of the compressed public key).
    fn key_id(&self) -> KeyId;
    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> NodePublicKey;
    /// Signs a 32-byte digest (a block header hash): secp256k1 ECDSA, compact, low-S.
    fn sign(&self, digest: &Hash) -> Result<BlockSignature, SignerError>;
}

impl<T: BlockSigner + ?Sized> BlockSigner for std::sync::Arc<T> {
    fn key_id(&self) -> KeyId {
        (**self).key_id()
    }

    fn public_key(&self) -> NodePublicKey {
        (**self).public_key()
    }

    fn sign(&self, digest: &Hash) -> Result<BlockSignature, SignerError> {
        (**self).sign(digest)
    }
}

/// A [`BlockSigner`] holding a secp256k1 key in memory (RFC 6979 deterministic nonces).
pub struct Secp256k1Signer {
    secret: SecretKey,
    public: NodePublicKey,
    key_id: KeyId,
    context: Secp256k1<SignOnly>,
}

impl Secp256k1Signer {
    /// A signer for `key`.
    pub fn new(key: NodeKey) -> Secp256k1Signer {
        let public = key.public_key();
        Secp256k1Signer { secret: key.0, public, key_id: public.key_id(), context: Secp256k1::signing_only() }
    }

    /// A signer with a freshly generated key.
    pub fn generate() -> Secp256k1Signer {
        Secp256k1Signer::new(NodeKey::generate())
    }
}

impl fmt::Debug for Secp256k1Signer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Secp256k1Signer(key_id: {})", self.key_id)
    }
}

impl BlockSigner for Secp256k1Signer {
    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn public_key(&self) -> NodePublicKey {
        self.public
    }

    fn sign(&self, digest: &Hash) -> Result<BlockSignature, SignerError> {
        let mut signature = self.context.sign_ecdsa(Message::from_digest(*digest.as_bytes()), &self.secret);
        // libsecp256k1 already signs low-S; normalising again keeps the promise explicit.
        signature.normalize_s();
        Ok(BlockSignature(signature.serialize_compact()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hasher::hash_leaf;

    #[test]
    fn signatures_verify_only_under_their_own_key_and_digest() {
        let signer_a = Secp256k1Signer::generate();
        let signer_b = Secp256k1Signer::generate();
        let digest = hash_leaf(b"header");
        let signature = signer_a.sign(&digest).expect("sign");
        assert_eq!(signer_a.public_key().verify(&digest, &signature), Ok(()));
        assert_eq!(signer_b.public_key().verify(&digest, &signature), Err(SignatureError::Invalid));
        assert_eq!(signer_a.public_key().verify(&hash_leaf(b"other"), &signature), Err(SignatureError::Invalid));
    }

    #[test]
    fn high_s_twin_is_rejected() {
        let signer = Secp256k1Signer::generate();
        let digest = hash_leaf(b"header");
        let signature = signer.sign(&digest).expect("sign");
        // s' = n - s is the malleated twin of a valid signature.
        const ORDER: [u8; 32] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae,
            0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
        ];
        let mut twin = *signature.as_bytes();
        let mut borrow = 0i16;
        for index in (0..32).rev() {
            let difference = i16::from(ORDER[index]) - i16::from(twin[32 + index]) - borrow;
            borrow = i16::from(difference < 0);
            twin[32 + index] = difference.rem_euclid(256) as u8;
        }
        assert_eq!(signer.public_key().verify(&digest, &BlockSignature(twin)), Err(SignatureError::Invalid));
    }

    #[test]
    fn keys_round_trip() {
        let key = NodeKey::generate();
        let loaded = NodeKey::from_secret_bytes(key.secret_bytes()).expect("load");
        assert_eq!(loaded.public_key(), key.public_key());
        let public = key.public_key();
        assert_eq!(NodePublicKey::from_hex(&public.to_hex()), Ok(public));
        assert_eq!(NodeKey::from_secret_bytes([0; 32]).map(|_| ()), Err(KeyError::InvalidSecretKey));
        assert!(!format!("{key:?}").contains(&hex::encode(&key.secret_bytes())));
    }
}
