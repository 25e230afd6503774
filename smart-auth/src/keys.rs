//! Client public keys and the two JWS algorithms accepted: ES384 (P-384, SHA-384) and ES256K
//! (secp256k1, SHA-256, RFC 8812). A key accepts exactly one algorithm.
//!
//! Signatures are the JWS form `r || s` (96 bytes for ES384, 64 for ES256K). ES256K signatures in
//! high-S form are refused (libsecp256k1 verifies low-S only), as the ledger's block signatures
//! are: a signature has one valid encoding, and our own signer only produces low-S.

use std::sync::OnceLock;

use p384::ecdsa::signature::Verifier;
use p384::pkcs8::DecodePublicKey;
use secp256k1::{Message, Secp256k1, VerifyOnly};

use super::error::AuthError;
use super::store::sha256;

/// A JWS algorithm accepted in client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// ECDSA on secp256k1 with SHA-256.
    Es256k,
}

impl Algorithm {
    /// The JWS `alg` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Es384 => "ES384",
            Self::Es256k => "ES256K",
        }
    }

    /// Parses an `alg` (case-sensitive, as JWS requires); anything else is refused.
    pub fn parse(alg: &str) -> Result<Algorithm, AuthError> {
        match alg {
            "ES384" => Ok(Self::Es384),
            "ES256K" => Ok(Self::Es256k),
            _ => Err(AuthError::UnsupportedAlgorithm),
        }
    }
}

/// A registered client's public key.
#[derive(Debug, Clone)]
pub enum ClientKey {
    /// A P-384 key; assertions are signed ES384.
    P384(p384::ecdsa::VerifyingKey),
    /// A secp256k1 key; assertions are signed ES256K.
    Secp256k1(secp256k1::PublicKey),
}

fn verification_context() -> &'static Secp256k1<VerifyOnly> {
    static CONTEXT: OnceLock<Secp256k1<VerifyOnly>> = OnceLock::new();
    CONTEXT.get_or_init(Secp256k1::verification_only)
}

impl ClientKey {
    /// Parses a P-384 SubjectPublicKeyInfo PEM, or a secp256k1 SEC1 key in hex (33 or 65 bytes).
    pub fn parse(text: &str) -> Option<ClientKey> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return p384::ecdsa::VerifyingKey::from_public_key_pem(text).ok().map(ClientKey::P384);
        }
        let bytes = data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()).ok()?;
        if bytes.len() != 33 && bytes.len() != 65 {
            return None;
        }
        secp256k1::PublicKey::from_slice(&bytes).ok().map(ClientKey::Secp256k1)
    }

    /// The one algorithm this key verifies.
    pub const fn algorithm(&self) -> Algorithm {
        match self {
            Self::P384(_) => Algorithm::Es384,
            Self::Secp256k1(_) => Algorithm::Es256k,
        }
    }

    /// For a secp256k1 key: its node key id (as the ledger names node keys), in lower-case hex.
    pub fn node_key_id(&self) -> Option<String> {
        match self {
            Self::P384(_) => None,
            Self::Secp256k1(key) => Some(node_key_id(key)),
        }
    }

    /// Checks a JWS signature over `signing_input` (`header.payload`) made with `algorithm`.
    pub fn verify(&self, algorithm: Algorithm, signing_input: &[u8], signature: &[u8]) -> Result<(), AuthError> {
        if algorithm != self.algorithm() {
            return Err(AuthError::AlgorithmMismatch);
        }
        match self {
            Self::P384(key) => {
                let signature = p384::ecdsa::Signature::from_slice(signature).map_err(|_| AuthError::BadSignature)?;
                key.verify(signing_input, &signature).map_err(|_| AuthError::BadSignature)
            }
            Self::Secp256k1(key) => {
                if signature.len() != 64 {
                    return Err(AuthError::BadSignature);
                }
                let signature =
                    secp256k1::ecdsa::Signature::from_compact(signature).map_err(|_| AuthError::BadSignature)?;
                let digest = Message::from_digest(sha256(signing_input));
                // libsecp256k1 refuses high-S signatures here; we deliberately do not normalise.
                verification_context().verify_ecdsa(digest, &signature, key).map_err(|_| AuthError::BadSignature)
            }
        }
    }
}

/// The ledger's name for a node key: SHA-256 of its 33-byte compressed form, lower-case hex.
pub fn node_key_id(key: &secp256k1::PublicKey) -> String {
    data_encoding::HEXLOWER.encode(&sha256(&key.serialize()))
}
