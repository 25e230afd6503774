//! Patient data keys, stored only wrapped (ECIES) for this node, one per patient and epoch.
//!
//! A key scope is a patient pseudonym, or the institution scope for resources that belong to no
//! patient. Unwrapped keys are cached in memory: unwrapping is an ECDH (~50 µs), sealing a record
//! with a derived key a few µs. So is each scope's current epoch, so that the writer's lookup of a
//! known patient's key touches no storage.
//!
//! Keys may be created from many threads at once (ingest warms them before the single writer
//! needs them, see `Node::warm_patient_keys`): a new key is stored with compare-and-swap, so two
//! threads creating the first key of one patient agree on one, and a creator never moves the
//! current epoch backwards past a rotation.

use std::collections::HashMap;
use std::sync::Mutex;

use record_crypto::{unwrap_patient_key, wrap_patient_key, NodeKeyPair, PatientKey, WrappedKey};

/// Why a patient key could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatientKeyError {
    /// Storage failed.
    #[error("patient key storage: {0}")]
    Storage(#[from] sled::Error),
    /// A stored key does not unwrap with this node's key (wrong key file, or tampering).
    #[error("a stored patient key does not unwrap with this node's key")]
    Unwrap,
    /// The OS random number generator failed.
    #[error("could not generate a patient key")]
    Generate,
}

/// The patient key store (sled tree `patient_keys`).
pub struct PatientKeys {
    tree: sled::Tree,
    cache: Mutex<HashMap<([u8; 32], u32), PatientKey>>,
    /// The current epoch of each scope seen so far (epochs only grow).
    current: Mutex<HashMap<[u8; 32], u32>>,
}

fn wrap_context(scope: &[u8; 32], epoch: u32) -> Vec<u8> {
    let mut context = b"custodian\0".to_vec();
    context.extend_from_slice(scope);
    context.extend_from_slice(&epoch.to_be_bytes());
    context
}

fn epoch_key_of(scope: &[u8; 32]) -> Vec<u8> {
    let mut k = vec![b'E'];
    k.extend_from_slice(scope);
    k
}

fn key_of(scope: &[u8; 32], epoch: u32) -> Vec<u8> {
    let mut k = vec![b'K'];
    k.extend_from_slice(scope);
    k.extend_from_slice(&epoch.to_be_bytes());
    k
}

impl PatientKeys {
    /// The store in `db`.
    pub fn open(db: &sled::Db) -> sled::Result<Self> {
        Ok(Self {
            tree: db.open_tree("patient_keys")?,
            cache: Mutex::new(HashMap::new()),
            current: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, scope: &[u8; 32], epoch: u32) -> Option<PatientKey> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(&(*scope, epoch)).map(|k| PatientKey::from_bytes(k.expose_secret(), k.epoch()))
    }

    fn remember(&self, scope: &[u8; 32], key: &PatientKey) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.insert((*scope, key.epoch()), PatientKey::from_bytes(key.expose_secret(), key.epoch()));
    }

    fn cached_epoch(&self, scope: &[u8; 32]) -> Option<u32> {
        self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(scope).copied()
    }

    fn remember_epoch(&self, scope: &[u8; 32], epoch: u32) {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let known = current.entry(*scope).or_insert(epoch);
        *known = (*known).max(epoch);
    }

    /// The key of `scope` at `epoch`, if stored.
    pub fn get(&self, node: &NodeKeyPair, scope: &[u8; 32], epoch: u32) -> Result<Option<PatientKey>, PatientKeyError> {
        if let Some(key) = self.cached(scope, epoch) {
            return Ok(Some(key));
        }
        let Some(bytes) = self.tree.get(key_of(scope, epoch))? else { return Ok(None) };
        let wrapped = WrappedKey::from_bytes(&bytes).map_err(|_| PatientKeyError::Unwrap)?;
        let key =
            unwrap_patient_key(&wrapped, node, &wrap_context(scope, epoch)).map_err(|_| PatientKeyError::Unwrap)?;
        self.remember(scope, &key);
        Ok(Some(key))
    }

    /// Moves `scope` to a fresh key at the next epoch (after a revocation), stored wrapped for the
    /// node. Records sealed from now on use it; grantees of the old epoch cannot open them.
    ///
    /// Only the ledger writer rotates (one thread), so the epoch it reads is still current.
    pub fn rotate(&self, node: &NodeKeyPair, scope: &[u8; 32]) -> Result<PatientKey, PatientKeyError> {
        let current = self.current_or_create(node, scope)?;
        let next = current.next_epoch().map_err(|_| PatientKeyError::Generate)?;
        let wrapped = self.wrap(node, scope, &next)?;
        let mut batch = sled::Batch::default();
        batch.insert(key_of(scope, next.epoch()), wrapped.as_bytes());
        batch.insert(epoch_key_of(scope), &next.epoch().to_be_bytes()[..]);
        self.tree.apply_batch(batch)?;
        self.remember(scope, &next);
        self.remember_epoch(scope, next.epoch());
        Ok(next)
    }

    fn wrap(&self, node: &NodeKeyPair, scope: &[u8; 32], key: &PatientKey) -> Result<WrappedKey, PatientKeyError> {
        wrap_patient_key(key, node.public_key(), &wrap_context(scope, key.epoch()))
            .map_err(|_| PatientKeyError::Generate)
    }

    /// The current key of `scope`, created (epoch 0) and stored wrapped when it has none.
    ///
    /// The stored key becomes durable with the next flush of the database, which the ledger
    /// append of the records sealed under it performs; so no record is ever durable without its key.
    pub fn current_or_create(&self, node: &NodeKeyPair, scope: &[u8; 32]) -> Result<PatientKey, PatientKeyError> {
        if let Some(epoch) = self.cached_epoch(scope) {
            if let Some(key) = self.get(node, scope, epoch)? {
                return Ok(key);
            }
        }
        let stored =
            self.tree.get(epoch_key_of(scope))?.and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?)));
        if let Some(epoch) = stored {
            if let Some(key) = self.get(node, scope, epoch)? {
                self.remember_epoch(scope, epoch);
                return Ok(key);
            }
        }
        let key = PatientKey::generate(0).map_err(|_| PatientKeyError::Generate)?;
        let wrapped = self.wrap(node, scope, &key)?;
        // Another thread may have created this scope's first key meanwhile: theirs stands.
        if self.tree.compare_and_swap(key_of(scope, 0), None::<&[u8]>, Some(wrapped.as_bytes()))?.is_err() {
            let key = self.get(node, scope, 0)?.ok_or(PatientKeyError::Unwrap)?;
            // The epoch pointer may lag the key by a moment (or be missing for good, when the
            // winner stopped in between): set it where there is none; it is at least 0.
            let _ = self.tree.compare_and_swap(epoch_key_of(scope), None::<&[u8]>, Some(&0u32.to_be_bytes()[..]))?;
            self.remember_epoch(scope, 0);
            return self.current_after_race(node, scope, key);
        }
        // Only set the pointer where there is none: a rotation may already have moved it on.
        let _ = self.tree.compare_and_swap(epoch_key_of(scope), None::<&[u8]>, Some(&0u32.to_be_bytes()[..]))?;
        self.remember(scope, &key);
        self.remember_epoch(scope, 0);
        Ok(key)
    }

    /// After losing the race for a scope's first key: the stored pointer's key if it is set and
    /// newer, else `first`.
    fn current_after_race(
        &self,
        node: &NodeKeyPair,
        scope: &[u8; 32],
        first: PatientKey,
    ) -> Result<PatientKey, PatientKeyError> {
        let stored =
            self.tree.get(epoch_key_of(scope))?.and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?)));
        match stored {
            Some(epoch) if epoch > 0 => {
                self.remember_epoch(scope, epoch);
                self.get(node, scope, epoch)?.ok_or(PatientKeyError::Unwrap)
            }
            _ => Ok(first),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, sled::Db, PatientKeys, NodeKeyPair) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = sled::open(dir.path().join("db")).expect("sled");
        let keys = PatientKeys::open(&db).expect("tree");
        (dir, db, keys, NodeKeyPair::generate().expect("node key"))
    }

    #[test]
    fn threads_creating_one_patients_first_key_agree_on_one() {
        for round in 0..20u8 {
            let (_dir, _db, keys, node) = store();
            let scope = [round; 32];
            let got: Vec<[u8; 32]> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| *keys.current_or_create(&node, &scope).expect("key").expose_secret()))
                    .collect();
                handles.into_iter().map(|h| h.join().expect("thread")).collect()
            });
            assert!(got.iter().all(|k| *k == got[0]), "round {round}: threads got different keys");
            // What is stored is what they got, also for a fresh reader (no cache).
            let fresh = PatientKeys::open(&_db).expect("tree");
            assert_eq!(fresh.current_or_create(&node, &scope).expect("key").expose_secret(), &got[0]);
        }
    }

    #[test]
    fn a_creator_racing_a_rotation_never_moves_the_epoch_back() {
        let (_dir, db, keys, node) = store();
        let scope = [7; 32];
        let first = keys.current_or_create(&node, &scope).expect("key");
        let rotated = keys.rotate(&node, &scope).expect("rotate");
        assert_eq!(rotated.epoch(), first.epoch() + 1);
        // A second handle (another thread that has not seen the rotation) asks for the key.
        let other = PatientKeys::open(&db).expect("tree");
        let current = other.current_or_create(&node, &scope).expect("key");
        assert_eq!(current.epoch(), rotated.epoch());
        assert_eq!(current.expose_secret(), rotated.expose_secret());
        // And the first handle's cache follows the rotation.
        assert_eq!(keys.current_or_create(&node, &scope).expect("key").epoch(), rotated.epoch());
        // The epoch-0 key is still there for records sealed under it.
        assert_eq!(keys.get(&node, &scope, 0).expect("get").expect("stored").expose_secret(), first.expose_secret());
    }
}
