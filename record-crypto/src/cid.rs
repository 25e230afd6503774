//! Content identifiers for ciphertext blobs: CIDv1, codec raw, multihash sha2-256, written in
//! multibase base32 (lower case, no padding), so the same blobs can be pinned to IPFS.

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE32_NOPAD;
use sha2::{Digest, Sha256};

use crate::error::CidError;

/// CID version 1.
const CID_VERSION: u8 = 0x01;
/// Multicodec `raw`: the blob is opaque bytes.
const CODEC_RAW: u8 = 0x55;
/// Multihash code of sha2-256.
const MULTIHASH_SHA2_256: u8 = 0x12;
/// Digest length of sha2-256 in bytes.
const DIGEST_LEN: u8 = 0x20;
/// Multibase prefix of base32 lower case without padding (RFC 4648 alphabet).
const MULTIBASE_BASE32: char = 'b';
/// Length of the binary CID: version, codec, hash code, digest length, digest.
pub const CID_BYTES_LEN: usize = 4 + DIGEST_LEN as usize;

/// A CIDv1 (raw, sha2-256) naming a blob by the SHA-256 of its bytes.
///
/// Its string form is `b` followed by lower-case unpadded base32 of
/// `0x01 0x55 0x12 0x20 || sha256(bytes)`, so every such CID starts with `bafkrei`.
/// Parsing is strict: any other multibase, version, codec or multihash is rejected, and so is
/// upper case or non-canonical base32, so one blob has exactly one CID string.
// INVARIANT: `digest` is a SHA-256 digest; the prefix bytes are implied and never stored.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cid {
    digest: [u8; 32],
}

impl Cid {
    /// The CID of `bytes` (in this system, always ciphertext).
    pub fn of(bytes: &[u8]) -> Self {
        Self { digest: Sha256::digest(bytes).into() }
    }

    /// The CID whose multihash carries this SHA-256 `digest`.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self { digest }
    }

    /// The SHA-256 digest the CID carries.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Whether `bytes` hash to this CID (a blob store check; the digest is public, so the
    /// comparison need not be constant-time).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        *self == Self::of(bytes)
    }

    /// The binary CID: `0x01 0x55 0x12 0x20 || digest`.
    pub fn to_bytes(&self) -> [u8; CID_BYTES_LEN] {
        let mut bytes = [0u8; CID_BYTES_LEN];
        bytes[..4].copy_from_slice(&[CID_VERSION, CODEC_RAW, MULTIHASH_SHA2_256, DIGEST_LEN]);
        bytes[4..].copy_from_slice(&self.digest);
        bytes
    }

    /// Parses a binary CID, accepting only CIDv1 raw sha2-256.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        let [version, codec, hash_code, hash_length, digest @ ..] = bytes else {
            return Err(CidError::InvalidLength { found: bytes.len() });
        };
        if *version != CID_VERSION {
            return Err(CidError::UnsupportedVersion { version: *version });
        }
        if *codec != CODEC_RAW {
            return Err(CidError::UnsupportedCodec { codec: *codec });
        }
        if *hash_code != MULTIHASH_SHA2_256 || *hash_length != DIGEST_LEN {
            return Err(CidError::UnsupportedMultihash { code: *hash_code, length: *hash_length });
        }
        let digest: [u8; 32] = digest.try_into().map_err(|_| CidError::InvalidLength { found: bytes.len() })?;
        Ok(Self { digest })
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = BASE32_NOPAD.encode(&self.to_bytes()).to_ascii_lowercase();
        write!(formatter, "{MULTIBASE_BASE32}{body}")
    }
}

impl fmt::Debug for Cid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Cid({self})")
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let body = text.strip_prefix(MULTIBASE_BASE32).ok_or(CidError::UnsupportedMultibase)?;
        // The multibase `b` is lower case only (`B` is a different multibase), so upper-case
        // letters in the body are rejected rather than folded.
        if body.bytes().any(|byte| byte.is_ascii_uppercase()) {
            return Err(CidError::InvalidBase32);
        }
        // BASE32_NOPAD checks trailing bits, so only the canonical encoding decodes.
        let bytes = BASE32_NOPAD.decode(body.to_ascii_uppercase().as_bytes()).map_err(|_| CidError::InvalidBase32)?;
        Self::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_string_and_bytes() {
        let cid = Cid::of(b"some ciphertext");
        assert_eq!(cid.to_string().parse::<Cid>().unwrap(), cid);
        assert_eq!(Cid::from_bytes(&cid.to_bytes()).unwrap(), cid);
        assert!(cid.to_string().starts_with("bafkrei"));
        assert!(cid.matches(b"some ciphertext"));
        assert!(!cid.matches(b"other ciphertext"));
    }

    #[test]
    fn rejects_binary_cids_of_other_kinds() {
        let good = Cid::of(b"x").to_bytes();
        let mut bytes = good;
        bytes[0] = 0x00;
        assert_eq!(Cid::from_bytes(&bytes), Err(CidError::UnsupportedVersion { version: 0 }));
        let mut bytes = good;
        bytes[1] = 0x70; // dag-pb
        assert_eq!(Cid::from_bytes(&bytes), Err(CidError::UnsupportedCodec { codec: 0x70 }));
        let mut bytes = good;
        bytes[2] = 0x13; // sha2-512
        assert!(matches!(Cid::from_bytes(&bytes), Err(CidError::UnsupportedMultihash { code: 0x13, .. })));
        let mut bytes = good;
        bytes[3] = 0x1f;
        assert!(matches!(Cid::from_bytes(&bytes), Err(CidError::UnsupportedMultihash { length: 0x1f, .. })));
        assert_eq!(Cid::from_bytes(&good[..35]), Err(CidError::InvalidLength { found: 35 }));
        assert_eq!(Cid::from_bytes(&[good.as_slice(), &[0]].concat()), Err(CidError::InvalidLength { found: 37 }));
    }
}
