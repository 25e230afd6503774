//! RFC 6962 / RFC 9162 tree hashing: the [`Hash`] type and the leaf, node and empty-tree hashes.
//!
//! The hash of an empty tree is `SHA-256("")`, a leaf is `SHA-256(0x00 || data)` and an interior
//! node is `SHA-256(0x01 || left || right)`. The one-byte prefixes separate the two domains, so a
//! leaf can never be passed off as a node (second-preimage resistance, RFC 6962 §2.1).

use std::fmt;

use sha2::{Digest, Sha256};

use crate::hex::{self, HexError};

/// Length in bytes of every hash in the ledger (SHA-256).
pub const HASH_LEN: usize = 32;

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1).
const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 hash: a leaf, a node, a tree root or a block header hash.
///
/// Equality runs in constant time (no early exit on the first differing byte), so comparing a
/// computed root against an attacker-chosen one leaks nothing through timing. `Display` and
/// `Debug` show lower-case hex.
#[derive(Clone, Copy)]
pub struct Hash([u8; HASH_LEN]);

impl Hash {
    /// All zero bytes: the `prev_hash` of the genesis block.
    pub const ZERO: Hash = Hash([0; HASH_LEN]);

    /// Wraps 32 raw bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Hash {
        Hash(bytes)
    }

    /// Copies a hash out of a slice; `None` unless the slice is exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; HASH_LEN]>::try_from(bytes).ok().map(Hash)
    }

    /// Parses 64 hex characters (either case).
    pub fn from_hex(text: &str) -> Result<Hash, HexError> {
        hex::decode_array(text).map(Hash)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        let difference = self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (left, right)| acc | (left ^ right));
        // black_box keeps the optimiser from turning the fold back into an early-exit comparison.
        std::hint::black_box(difference) == 0
    }
}

impl Eq for Hash {}

impl fmt::Display for Hash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Hash({})", self.to_hex())
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The leaf hash of one record: `SHA-256(0x00 || record)`.
pub fn hash_leaf(record: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(record);
    Hash(hasher.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    hash_children_bytes(&left.0, &right.0)
}

/// [`hash_children`] over arbitrary byte strings, so the published known-answer vectors (whose
/// children are not 32 bytes long) can be checked against the same code.
pub(crate) fn hash_children_bytes(left: &[u8], right: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    Hash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers from transparency-dev/merkle, rfc6962/rfc6962_test.go (TestRFC6962Hasher).
    #[test]
    fn rfc6962_hasher_known_answers() {
        let want = |text: &str| Hash::from_hex(text).unwrap_or_else(|error| panic!("bad vector {text}: {error}"));
        assert_eq!(empty_root(), want("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        assert_eq!(hash_leaf(b""), want("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
        assert_eq!(hash_leaf(b"L123456"), want("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"));
        assert_eq!(
            hash_children_bytes(b"N123", b"N456"),
            want("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
        );
    }

    #[test]
    fn domains_are_separated_and_order_matters() {
        let (hello, world) = (hash_leaf(b"Hello"), hash_leaf(b"World"));
        assert_ne!(hello, world);
        let node = hash_children(&hello, &world);
        let mut concatenated = hello.as_bytes().to_vec();
        concatenated.extend_from_slice(world.as_bytes());
        assert_ne!(node, hash_leaf(&concatenated));
        assert_ne!(node, hash_children(&world, &hello));
    }

    #[test]
    fn equality_sees_every_byte() {
        let base = hash_leaf(b"x");
        for index in 0..HASH_LEN {
            let mut bytes = *base.as_bytes();
            bytes[index] ^= 0x80;
            assert_ne!(Hash::from_bytes(bytes), base, "byte {index}");
        }
        assert_eq!(Hash::from_bytes(*base.as_bytes()), base);
        assert_eq!(Hash::from_hex(&base.to_string()), Ok(base));
    }
}
