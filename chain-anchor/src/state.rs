//! The anchorer's durable state, in a sled tree of the node's database: the anchor in flight (its
//! header, every transaction signed for it, where it was seen included) and every final anchor.
//!
//! Every change is flushed before the anchorer acts on it, so after a crash or SIGKILL the
//! anchorer finds exactly the transactions it may have sent: it never signs a second transaction
//! with a fresh nonce for an anchor whose first may still land, and never forgets a final anchor.

use crate::gas::Fees;
use alloy_primitives::{Bytes, B256};
use serde::{Deserialize, Serialize};

/// The tree's name in the node's sled database.
pub const TREE: &str = "chain_anchor";

const PENDING_KEY: &[u8] = b"pending";
const DIVERGED_KEY: &[u8] = b"diverged";
const FINAL_PREFIX: &[u8] = b"final/";

/// Why the anchor state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// sled failed.
    #[error("anchor state: storage: {0}")]
    Storage(#[from] sled::Error),
    /// A stored value is not what this version writes.
    #[error("anchor state: stored value for {key} is unreadable: {detail}")]
    Corrupt {
        /// The key.
        key: String,
        /// What was wrong.
        detail: String,
    },
}

/// One signed transaction of an anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Its hash.
    pub hash: B256,
    /// Its encoding, to send again.
    pub raw: Bytes,
    /// What it pays.
    pub fees: Fees,
    /// When it was (last) sent, milliseconds since the Unix epoch.
    pub sent_ms: u64,
}

/// Where an anchor transaction was seen in a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inclusion {
    /// The transaction.
    pub tx_hash: B256,
    /// The block's number.
    pub block_number: u64,
    /// The block's hash.
    pub block_hash: B256,
}

/// The anchor in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAnchor {
    /// The anchored header's height.
    pub height: u64,
    /// Its tree size.
    pub tree_size: u64,
    /// Its header hash.
    pub header_hash: B256,
    /// The nonce every attempt uses (replacements share it).
    pub nonce: u64,
    /// The gas limit of every attempt.
    pub gas_limit: u64,
    /// Every transaction signed for it, oldest first (at least one).
    pub attempts: Vec<Attempt>,
    /// Where the latest attempt was seen included, while waiting for finality.
    pub included: Option<Inclusion>,
    /// When the anchor was begun, milliseconds since the Unix epoch.
    pub begun_ms: u64,
    /// The key's latest anchored height on chain when this one was begun, which it extends
    /// (`None`: the key's first anchor).
    #[serde(default)]
    pub previous_height: Option<u64>,
}

/// An anchor at the configured finality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalAnchor {
    /// The anchored header's height.
    pub height: u64,
    /// Its tree size: this anchor covers records `0..tree_size`.
    pub tree_size: u64,
    /// Its header hash.
    pub header_hash: B256,
    /// The chain.
    pub chain_id: u64,
    /// The transaction that anchored it.
    pub tx_hash: B256,
    /// Its block's number.
    pub block_number: u64,
    /// Its block's hash.
    pub block_hash: B256,
    /// When the anchorer saw it final, milliseconds since the Unix epoch.
    pub final_ms: u64,
}

/// The anchorer's state in the node's database.
#[derive(Debug, Clone)]
pub struct AnchorStore {
    tree: sled::Tree,
}

impl AnchorStore {
    /// The state in `db`'s anchor tree.
    pub fn open(db: &sled::Db) -> Result<AnchorStore, StateError> {
        Ok(AnchorStore { tree: db.open_tree(TREE)? })
    }

    /// The anchor in flight.
    pub fn pending(&self) -> Result<Option<PendingAnchor>, StateError> {
        self.tree.get(PENDING_KEY)?.map(|bytes| decode("pending", &bytes)).transpose()
    }

    /// Stores the anchor in flight, durably.
    pub fn set_pending(&self, pending: &PendingAnchor) -> Result<(), StateError> {
        self.tree.insert(PENDING_KEY, encode(pending))?;
        self.tree.flush()?;
        Ok(())
    }

    /// Drops the anchor in flight (it reverted), durably.
    pub fn clear_pending(&self) -> Result<(), StateError> {
        self.tree.remove(PENDING_KEY)?;
        self.tree.flush()?;
        Ok(())
    }

    /// The height at which this ledger was found to differ from the chain's anchors, if ever.
    /// Sticky: the anchorer sends nothing once it is set (the data dir is not the anchored
    /// ledger; restore that one, or move the node to a new key).
    pub fn diverged(&self) -> Result<Option<u64>, StateError> {
        Ok(self
            .tree
            .get(DIVERGED_KEY)?
            .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
            .map(u64::from_be_bytes))
    }

    /// Records that the ledger diverges from the chain at `height` and drops the anchor in
    /// flight, durably.
    pub fn set_diverged(&self, height: u64) -> Result<(), StateError> {
        let mut batch = sled::Batch::default();
        batch.insert(DIVERGED_KEY, &height.to_be_bytes()[..]);
        batch.remove(PENDING_KEY);
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    /// Records `anchor` as final and drops the anchor in flight, in one durable step.
    pub fn finish(&self, anchor: &FinalAnchor) -> Result<(), StateError> {
        let mut batch = sled::Batch::default();
        batch.insert(final_key(anchor.tree_size).to_vec(), encode(anchor));
        batch.remove(PENDING_KEY);
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    /// The final anchor of the highest height (finals are keyed by tree size, which grows with
    /// the height).
    pub fn latest_final(&self) -> Result<Option<FinalAnchor>, StateError> {
        match self.tree.scan_prefix(FINAL_PREFIX).next_back() {
            Some(entry) => {
                let (key, value) = entry?;
                Ok(Some(decode(&String::from_utf8_lossy(&key), &value)?))
            }
            None => Ok(None),
        }
    }

    /// Every final anchor, by height.
    pub fn finals(&self) -> Result<Vec<FinalAnchor>, StateError> {
        self.tree
            .scan_prefix(FINAL_PREFIX)
            .map(|entry| {
                let (key, value) = entry?;
                decode(&String::from_utf8_lossy(&key), &value)
            })
            .collect()
    }

    /// The first final anchor that covers record `seq` (its tree size is above `seq`): one
    /// range lookup, however many anchors there are.
    pub fn covering(&self, seq: u64) -> Result<Option<FinalAnchor>, StateError> {
        let Some(above) = seq.checked_add(1) else { return Ok(None) };
        match self.tree.range(final_key(above)..final_key(u64::MAX)).next() {
            Some(entry) => {
                let (key, value) = entry?;
                Ok(Some(decode(&String::from_utf8_lossy(&key), &value)?))
            }
            None => Ok(None),
        }
    }
}

/// Final anchors are keyed by their tree size, big-endian.
fn final_key(tree_size: u64) -> [u8; 14] {
    let mut key = [0u8; 14];
    key[..6].copy_from_slice(FINAL_PREFIX);
    key[6..].copy_from_slice(&tree_size.to_be_bytes());
    key
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, StateError> {
    serde_json::from_slice(bytes)
        .map_err(|error| StateError::Corrupt { key: key.to_string(), detail: error.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(height: u64, tree_size: u64) -> FinalAnchor {
        FinalAnchor {
            height,
            tree_size,
            header_hash: B256::repeat_byte(height as u8),
            chain_id: 31337,
            tx_hash: B256::repeat_byte(0xaa),
            block_number: 10 + height,
            block_hash: B256::repeat_byte(0xbb),
            final_ms: 1,
        }
    }

    #[test]
    fn state_survives_reopening_and_finals_are_ordered_by_height() {
        let dir = tempfile::tempdir().unwrap();
        let pending = PendingAnchor {
            height: 300,
            tree_size: 900,
            header_hash: B256::repeat_byte(3),
            nonce: 7,
            gas_limit: 80_000,
            attempts: vec![Attempt {
                hash: B256::repeat_byte(1),
                raw: Bytes::from(vec![1, 2, 3]),
                fees: Fees::Legacy { gas_price: 5 },
                sent_ms: 2,
            }],
            included: None,
            begun_ms: 1,
            previous_height: Some(256),
        };
        {
            let db = sled::open(dir.path()).unwrap();
            let store = AnchorStore::open(&db).unwrap();
            assert_eq!(store.latest_final().unwrap(), None);
            // Tree size 600 sorts after 10 only as big-endian bytes, not as text.
            store.finish(&anchor(2, 10)).unwrap();
            store.finish(&anchor(256, 600)).unwrap();
            store.set_pending(&pending).unwrap();
        }
        let db = sled::open(dir.path()).unwrap();
        let store = AnchorStore::open(&db).unwrap();
        assert_eq!(store.pending().unwrap(), Some(pending.clone()));
        assert_eq!(store.latest_final().unwrap().map(|a| a.height), Some(256));
        assert_eq!(store.covering(9).unwrap().map(|a| a.height), Some(2));
        assert_eq!(store.covering(10).unwrap().map(|a| a.height), Some(256));
        assert_eq!(store.covering(600).unwrap(), None);
        store.finish(&anchor(300, 900)).unwrap();
        assert_eq!(store.pending().unwrap(), None, "finishing drops the anchor in flight");
        assert_eq!(store.finals().unwrap().iter().map(|a| a.height).collect::<Vec<_>>(), vec![2, 256, 300]);
    }
}
