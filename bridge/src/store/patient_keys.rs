//! Patient data keys, stored only wrapped (ECIES) for this node, one per patient and epoch.
//!
//! A key scope is a patient pseudonym, or the institution scope for resources that belong to no
//! patient. Unwrapped keys are cached in memory: unwrapping is an ECDH (~50 µs), sealing a record
//! with a derived key a few µs.

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
}

fn wrap_context(scope: &[u8; 32], epoch: u32) -> Vec<u8> {
    let mut context = b"custodian\0".to_vec();
    context.extend_from_slice(scope);
    context.extend_from_slice(&epoch.to_be_bytes());
    context
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
        Ok(Self { tree: db.open_tree("patient_keys")?, cache: Mutex::new(HashMap::new()) })
    }

    fn cached(&self, scope: &[u8; 32], epoch: u32) -> Option<PatientKey> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(&(*scope, epoch)).map(|k| PatientKey::from_bytes(k.expose_secret(), k.epoch()))
    }

    fn remember(&self, scope: &[u8; 32], key: &PatientKey) {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.insert((*scope, key.epoch()), PatientKey::from_bytes(key.expose_secret(), key.epoch()));
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
    pub fn rotate(&self, node: &NodeKeyPair, scope: &[u8; 32]) -> Result<PatientKey, PatientKeyError> {
        let current = self.current_or_create(node, scope)?;
        let next = current.next_epoch().map_err(|_| PatientKeyError::Generate)?;
        self.store(node, scope, &next)?;
        Ok(next)
    }

    fn store(&self, node: &NodeKeyPair, scope: &[u8; 32], key: &PatientKey) -> Result<(), PatientKeyError> {
        let wrapped = wrap_patient_key(key, node.public_key(), &wrap_context(scope, key.epoch()))
            .map_err(|_| PatientKeyError::Generate)?;
        let mut epoch_key = vec![b'E'];
        epoch_key.extend_from_slice(scope);
        let mut batch = sled::Batch::default();
        batch.insert(key_of(scope, key.epoch()), wrapped.as_bytes());
        batch.insert(epoch_key, &key.epoch().to_be_bytes()[..]);
        self.tree.apply_batch(batch)?;
        self.remember(scope, key);
        Ok(())
    }

    /// The current key of `scope`, created (epoch 0) and stored wrapped when it has none.
    ///
    /// The stored key becomes durable with the next flush of the database, which the ledger
    /// append of the records sealed under it performs; so no record is ever durable without its key.
    pub fn current_or_create(&self, node: &NodeKeyPair, scope: &[u8; 32]) -> Result<PatientKey, PatientKeyError> {
        let mut epoch_key = vec![b'E'];
        epoch_key.extend_from_slice(scope);
        let epoch = self.tree.get(&epoch_key)?.and_then(|v| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?)));
        if let Some(epoch) = epoch {
            if let Some(key) = self.get(node, scope, epoch)? {
                return Ok(key);
            }
        }
        let key = PatientKey::generate(0).map_err(|_| PatientKeyError::Generate)?;
        self.store(node, scope, &key)?;
        Ok(key)
    }
}
