//! Block headers: the signed, hash-chained seal over a run of records.
//!
//! # Encoding
//!
//! A header is encoded in a fixed binary layout, written here in the notation of RFC 5246 §4
//! (integers big-endian, `opaque x[n]` is n raw bytes). The version byte comes first and selects
//! the layout; only version 1 exists:
//!
//! ```text
//! enum { v1(1), (255) } HeaderVersion;
//!
//! struct {
//!     uint64 height;            // 0 for the genesis block, then +1 per block
//!     opaque prev_hash[32];     // header hash of block height-1; 32 zero bytes at genesis
//!     uint64 first_seq;         // sequence number of the block's first record
//!     uint64 record_count;      // number of records in the block (at least 1)
//!     opaque block_root[32];    // RFC 6962 root over the leaf hashes of this block's records
//!     uint64 tree_size;         // size of the whole log after this block (first_seq + record_count)
//!     opaque tree_root[32];     // RFC 6962 root of the whole log at tree_size
//!     uint64 time_ms;           // sealing time, milliseconds since the Unix epoch
//!     opaque node_key_id[32];   // SHA-256 of the signer's 33-byte compressed public key
//! } BlockHeaderV1;              // 168 bytes
//!
//! struct {
//!     HeaderVersion version;
//!     select (version) { case v1: BlockHeaderV1; } header;
//! } BlockHeader;                // 169 bytes for v1
//!
//! struct {
//!     BlockHeader header;
//!     opaque signature[64];     // secp256k1 ECDSA, compact r || s, low-S
//! } SignedBlockHeader;          // 233 bytes for v1
//! ```
//!
//! The header hash, which the next block links to and which the signature covers, is
//! `SHA-256("fhir-ledger-bridge/block-header/v1" || 0x00 || BlockHeader)`: the domain prefix keeps a
//! header hash from ever equalling a Merkle leaf or node hash or any other hash the system signs.

use crate::hasher::{Hash, HASH_LEN};
use crate::signer::{BlockSignature, BlockSigner, KeyId, NodePublicKey, SignatureError, SignerError, SIGNATURE_LEN};
use sha2::{Digest, Sha256};

/// Domain-separation prefix of the header hash.
pub const HEADER_HASH_DOMAIN: &[u8] = b"fhir-ledger-bridge/block-header/v1\0";

/// Encoded length of a version 1 header, version byte included.
pub const HEADER_V1_LEN: usize = 1 + 8 + HASH_LEN + 8 + 8 + HASH_LEN + 8 + HASH_LEN + 8 + HASH_LEN;

/// Encoded length of a version 1 signed header.
pub const SIGNED_HEADER_V1_LEN: usize = HEADER_V1_LEN + SIGNATURE_LEN;

/// The layout version of a block header; the first encoded byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderVersion {
    /// Layout `BlockHeaderV1`, byte value 1.
    V1,
}

impl HeaderVersion {
    /// The byte written for this version.
    pub const fn as_byte(self) -> u8 {
        match self {
            HeaderVersion::V1 => 1,
        }
    }

    /// The version a byte names, if known.
    pub const fn from_byte(byte: u8) -> Option<HeaderVersion> {
        match byte {
            1 => Some(HeaderVersion::V1),
            _ => None,
        }
    }
}

/// Why stored or received header bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// There are no bytes at all.
    #[error("block header is empty")]
    Empty,
    /// The version byte names no known layout.
    #[error("unknown block header version {version}")]
    UnknownVersion {
        /// The version byte found.
        version: u8,
    },
    /// The byte count does not match the layout of the version.
    #[error("block header has {got} bytes, expected {expected}")]
    WrongLength {
        /// Bytes found.
        got: usize,
        /// Bytes the layout needs.
        expected: usize,
    },
}

/// A block header: what a block commits to. See the module docs for its encoding.
///
/// INVARIANT (checked by verification, not by construction): `tree_size == first_seq +
/// record_count` and `first_seq` equals the previous block's `tree_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    /// Layout version.
    pub version: HeaderVersion,
    /// Block number, from 0.
    pub height: u64,
    /// Header hash of the previous block; [`Hash::ZERO`] for block 0.
    pub prev_hash: Hash,
    /// Sequence number of the first record in the block.
    pub first_seq: u64,
    /// Number of records in the block.
    pub record_count: u64,
    /// RFC 6962 root over the leaf hashes of this block's records only.
    pub block_root: Hash,
    /// Size of the whole log after this block.
    pub tree_size: u64,
    /// RFC 6962 root of the whole log at `tree_size`.
    pub tree_root: Hash,
    /// Sealing time in milliseconds since the Unix epoch, as given by the writer.
    pub time_ms: u64,
    /// Id of the key that signs this header.
    pub node_key_id: KeyId,
}

impl BlockHeader {
    /// The canonical encoding (169 bytes for version 1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_V1_LEN);
        out.push(self.version.as_byte());
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(self.prev_hash.as_bytes());
        out.extend_from_slice(&self.first_seq.to_be_bytes());
        out.extend_from_slice(&self.record_count.to_be_bytes());
        out.extend_from_slice(self.block_root.as_bytes());
        out.extend_from_slice(&self.tree_size.to_be_bytes());
        out.extend_from_slice(self.tree_root.as_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(self.node_key_id.as_bytes());
        out
    }

    /// Decodes exactly one encoded header.
    pub fn decode(bytes: &[u8]) -> Result<BlockHeader, DecodeError> {
        let version = header_version(bytes)?;
        if bytes.len() != HEADER_V1_LEN {
            return Err(DecodeError::WrongLength { got: bytes.len(), expected: HEADER_V1_LEN });
        }
        let mut reader = FieldReader { rest: &bytes[1..] };
        Ok(BlockHeader {
            version,
            height: reader.u64(),
            prev_hash: Hash::from_bytes(reader.array()),
            first_seq: reader.u64(),
            record_count: reader.u64(),
            block_root: Hash::from_bytes(reader.array()),
            tree_size: reader.u64(),
            tree_root: Hash::from_bytes(reader.array()),
            time_ms: reader.u64(),
            node_key_id: KeyId::from_bytes(reader.array()),
        })
    }

    /// The header hash: `SHA-256(HEADER_HASH_DOMAIN || encode())`. The next block's `prev_hash`
    /// and the signature both cover this digest.
    pub fn hash(&self) -> Hash {
        let mut hasher = Sha256::new();
        hasher.update(HEADER_HASH_DOMAIN);
        hasher.update(self.encode());
        Hash::from_bytes(hasher.finalize().into())
    }

    /// Signs the header hash.
    pub fn sign(self, signer: &dyn BlockSigner) -> Result<SignedBlockHeader, SignerError> {
        let signature = signer.sign(&self.hash())?;
        Ok(SignedBlockHeader { header: self, signature })
    }
}

/// Reads the version byte and checks it is known.
fn header_version(bytes: &[u8]) -> Result<HeaderVersion, DecodeError> {
    let first = *bytes.first().ok_or(DecodeError::Empty)?;
    HeaderVersion::from_byte(first).ok_or(DecodeError::UnknownVersion { version: first })
}

/// Reads fixed-size fields front to back from a slice whose length was checked up front.
struct FieldReader<'a> {
    rest: &'a [u8],
}

impl FieldReader<'_> {
    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let (field, rest) = self.rest.split_at(N.min(self.rest.len()));
        out[..field.len()].copy_from_slice(field);
        self.rest = rest;
        out
    }

    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }
}

/// A header with its signature, as stored and as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBlockHeader {
    /// The signed header.
    pub header: BlockHeader,
    /// Signature over `header.hash()` by the key `header.node_key_id`.
    pub signature: BlockSignature,
}

impl SignedBlockHeader {
    /// The encoding: the encoded header followed by the 64 signature bytes (233 bytes for v1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header.encode();
        out.extend_from_slice(self.signature.as_bytes());
        out
    }

    /// Decodes exactly one encoded signed header. The signature is not checked here.
    pub fn decode(bytes: &[u8]) -> Result<SignedBlockHeader, DecodeError> {
        header_version(bytes)?;
        if bytes.len() != SIGNED_HEADER_V1_LEN {
            return Err(DecodeError::WrongLength { got: bytes.len(), expected: SIGNED_HEADER_V1_LEN });
        }
        let (header_bytes, signature_bytes) = bytes.split_at(HEADER_V1_LEN);
        let header = BlockHeader::decode(header_bytes)?;
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(signature_bytes);
        Ok(SignedBlockHeader { header, signature: BlockSignature::from_bytes(signature) })
    }

    /// The header hash (see [`BlockHeader::hash`]).
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Checks that the header names `key` and that the signature is valid under it.
    pub fn verify_signature(&self, key: &NodePublicKey) -> Result<(), SignatureError> {
        let expected = key.key_id();
        if self.header.node_key_id != expected {
            return Err(SignatureError::WrongKey { expected, found: self.header.node_key_id });
        }
        key.verify(&self.hash(), &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hasher::hash_leaf;
    use crate::signer::Secp256k1Signer;

    fn sample(signer: &dyn BlockSigner) -> BlockHeader {
        BlockHeader {
            version: HeaderVersion::V1,
            height: 0x0102_0304_0506_0708,
            prev_hash: hash_leaf(b"prev"),
            first_seq: 10,
            record_count: 5,
            block_root: hash_leaf(b"block"),
            tree_size: 15,
            tree_root: hash_leaf(b"tree"),
            time_ms: 1_700_000_000_000,
            node_key_id: signer.key_id(),
        }
    }

    #[test]
    fn layout_is_as_documented() {
        let signer = Secp256k1Signer::generate();
        let header = sample(&signer);
        let bytes = header.encode();
        assert_eq!(bytes.len(), 169);
        assert_eq!(bytes[0], 1);
        assert_eq!(bytes[1..9], [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(bytes[9..41], *hash_leaf(b"prev").as_bytes());
        assert_eq!(bytes[41..49], 10u64.to_be_bytes());
        assert_eq!(bytes[49..57], 5u64.to_be_bytes());
        assert_eq!(bytes[57..89], *hash_leaf(b"block").as_bytes());
        assert_eq!(bytes[89..97], 15u64.to_be_bytes());
        assert_eq!(bytes[97..129], *hash_leaf(b"tree").as_bytes());
        assert_eq!(bytes[129..137], 1_700_000_000_000u64.to_be_bytes());
        assert_eq!(bytes[137..169], *signer.key_id().as_bytes());
        let mut domain_separated = HEADER_HASH_DOMAIN.to_vec();
        domain_separated.extend_from_slice(&bytes);
        assert_eq!(header.hash(), Hash::from_bytes(Sha256::digest(&domain_separated).into()));
        assert_ne!(header.hash(), Hash::from_bytes(Sha256::digest(&bytes).into()));
    }

    #[test]
    fn signed_headers_round_trip_and_verify() {
        let signer = Secp256k1Signer::generate();
        let signed = sample(&signer).sign(&signer).expect("sign");
        let bytes = signed.encode();
        assert_eq!(bytes.len(), SIGNED_HEADER_V1_LEN);
        let decoded = SignedBlockHeader::decode(&bytes).expect("decode");
        assert_eq!(decoded, signed);
        assert_eq!(decoded.verify_signature(&signer.public_key()), Ok(()));
    }

    #[test]
    fn every_header_byte_is_covered_by_the_signature() {
        let signer = Secp256k1Signer::generate();
        let bytes = sample(&signer).sign(&signer).expect("sign").encode();
        for index in 1..SIGNED_HEADER_V1_LEN {
            let mut tampered = bytes.clone();
            tampered[index] ^= 0x01;
            let decoded = SignedBlockHeader::decode(&tampered).expect("same length decodes");
            assert!(decoded.verify_signature(&signer.public_key()).is_err(), "byte {index}");
        }
    }

    #[test]
    fn malformed_bytes_are_rejected() {
        assert_eq!(SignedBlockHeader::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(SignedBlockHeader::decode(&[2; 233]), Err(DecodeError::UnknownVersion { version: 2 }));
        assert_eq!(
            SignedBlockHeader::decode(&[1; 232]),
            Err(DecodeError::WrongLength { got: 232, expected: SIGNED_HEADER_V1_LEN })
        );
        assert_eq!(BlockHeader::decode(&[1; 170]), Err(DecodeError::WrongLength { got: 170, expected: 169 }));
    }
}
