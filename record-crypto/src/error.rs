//! Error types, one enum per operation.
//!
//! Messages name what went wrong and never include key material, plaintext or associated data.
//! Each enum answers "retry or fail?" through `is_retryable()`: only a failure of the operating
//! system's random number generator is worth retrying; everything else is a property of the input
//! and fails the same way every time (dead-letter or reject).

use thiserror::Error;

/// The operating system's random number generator failed.
///
/// This is the only transient failure in the crate; retrying later may succeed.
#[derive(Debug, Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessError;

/// A hexadecimal string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string does not have the number of hex digits the value needs.
    #[error("expected {expected} hex digits, found {found}")]
    InvalidLength {
        /// Number of hex digits expected.
        expected: usize,
        /// Number of characters found.
        found: usize,
    },
    /// A character is not a hexadecimal digit.
    #[error("invalid hex digit at position {position}")]
    InvalidDigit {
        /// Zero-based byte position of the offending character.
        position: usize,
    },
}

/// A CID string or byte string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CidError {
    /// The string does not start with the multibase prefix `b` (base32 lower case, no padding).
    #[error("unsupported multibase prefix (only 'b', base32 lower case, is accepted)")]
    UnsupportedMultibase,
    /// The base32 body is not canonical lower-case base32 without padding.
    #[error("invalid base32 body")]
    InvalidBase32,
    /// The decoded CID does not have the 36 bytes of a CIDv1 raw sha2-256 CID.
    #[error("expected 36 CID bytes, found {found}")]
    InvalidLength {
        /// Number of bytes found.
        found: usize,
    },
    /// The CID version is not 1.
    #[error("unsupported CID version {version:#04x} (only CIDv1 is accepted)")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The content codec is not raw (0x55).
    #[error("unsupported codec {codec:#04x} (only raw, 0x55, is accepted)")]
    UnsupportedCodec {
        /// The codec found.
        codec: u8,
    },
    /// The multihash is not sha2-256 (0x12) with a 32-byte digest.
    #[error("unsupported multihash {code:#04x}/{length} (only sha2-256, 0x12/32, is accepted)")]
    UnsupportedMultihash {
        /// The multihash code found.
        code: u8,
        /// The digest length found.
        length: u8,
    },
}

/// A key could not be created, parsed or rotated.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The 32 bytes are not a valid secp256k1 secret key (zero or not below the group order).
    #[error("invalid secp256k1 secret key")]
    InvalidSecretKey,
    /// The bytes are not a valid SEC 1 encoded secp256k1 public key.
    #[error("invalid secp256k1 public key")]
    InvalidPublicKey,
    /// A hex string could not be decoded.
    #[error("invalid hex encoding")]
    Hex(#[from] HexError),
    /// The patient key is at epoch `u32::MAX` and cannot be rotated further.
    #[error("patient key epoch cannot be incremented past {epoch}")]
    EpochExhausted {
        /// The current epoch.
        epoch: u32,
    },
    /// The random number generator failed while generating a key.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

impl KeyError {
    /// Whether trying again later may succeed (only for a random number generator failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Randomness(_))
    }
}

/// A pseudonymizer could not be built or a pseudonym could not be computed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PseudonymError {
    /// The deployment secret is shorter than the 32 bytes required.
    #[error("deployment secret must be at least {minimum} bytes, found {found}")]
    SecretTooShort {
        /// Minimum length in bytes.
        minimum: usize,
        /// Length found.
        found: usize,
    },
    /// The random number generator failed while generating a secret.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
}

/// A record could not be sealed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The random number generator failed while drawing the nonce.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// The AEAD refused the input (it exceeds the cipher's maximum message length).
    #[error("record is too large to seal")]
    TooLarge,
}

impl SealError {
    /// Whether trying again later may succeed (only for a random number generator failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Randomness(_))
    }
}

/// A sealed record could not be opened. Never retryable: the input is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The input is shorter than the smallest possible sealed record.
    #[error("sealed record is truncated: {found} bytes, at least {minimum} expected")]
    Truncated {
        /// Minimum length in bytes.
        minimum: usize,
        /// Length found.
        found: usize,
    },
    /// The version byte names a format this crate does not know.
    #[error("unknown sealed record version {version:#04x}")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// Authentication failed: wrong record key, altered ciphertext or altered associated data.
    /// The AEAD cannot tell these apart, by design.
    #[error("sealed record failed authentication (wrong key, or altered ciphertext or metadata)")]
    Authentication,
}

impl OpenError {
    /// Whether trying again later may succeed: never, the input itself is wrong.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// A patient key could not be wrapped for a recipient.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The random number generator failed while drawing the ephemeral key or nonce.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// The AEAD refused to encrypt (not expected for a 36-byte payload).
    #[error("key wrapping encryption failed")]
    Encryption,
}

impl WrapError {
    /// Whether trying again later may succeed (only for a random number generator failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Randomness(_))
    }
}

/// A wrapped key could not be decoded or unwrapped. Never retryable: the input is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UnwrapError {
    /// The encoding does not have the fixed length of a version 1 wrapped key.
    #[error("wrapped key must be {expected} bytes, found {found}")]
    InvalidLength {
        /// Expected length in bytes.
        expected: usize,
        /// Length found.
        found: usize,
    },
    /// The version byte names a format this crate does not know.
    #[error("unknown wrapped key version {version:#04x}")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The ephemeral public key in the encoding is not a valid compressed secp256k1 point.
    #[error("wrapped key carries an invalid ephemeral public key")]
    InvalidEphemeralKey,
    /// Authentication failed: wrong recipient private key, different context, or altered bytes.
    #[error("wrapped key failed authentication (wrong recipient key or context, or altered bytes)")]
    Authentication,
}

impl UnwrapError {
    /// Whether trying again later may succeed: never, the input itself is wrong.
    pub fn is_retryable(&self) -> bool {
        false
    }
}
