//! Dead letters of sources without a broker (MLLP): refused input kept with its reason, sealed
//! like records (it is plaintext PHI), so that nothing refused is lost and nothing is stored in
//! clear. `fhir-bridge dead-letters` reads them back.
//!
//! sled tree `dead_letters`: key = id (u64 BE, increasing), value = sealed JSON
//! `{"time_ms", "source", "reason", "outcome", "message"}` under a key derived from the
//! institution key with the id (the id is the associated data).

use record_crypto::{open, seal, PatientKey};

use crate::node::Node;
use crate::patient_keys::PatientKeyError;

/// Why a dead letter could not be kept or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeadLetterError {
    /// Storage failed.
    #[error("dead letter storage: {0}")]
    Storage(#[from] sled::Error),
    /// The institution key is unavailable.
    #[error(transparent)]
    Key(#[from] PatientKeyError),
    /// Sealing or opening failed (a damaged entry).
    #[error("dead letter {0} does not open")]
    Damaged(u64),
}

/// One dead letter, opened.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeadLetter {
    /// When it was refused (ms since the Unix epoch).
    pub time_ms: u64,
    /// Where it came from (`mllp:ADDRESS`).
    pub source: String,
    /// Why it was refused.
    pub reason: String,
    /// The OperationOutcome, JSON.
    pub outcome: String,
    /// The original message (text).
    pub message: String,
}

fn identity(id: u64) -> Vec<u8> {
    let mut identity = b"dead-letter\0".to_vec();
    identity.extend_from_slice(&id.to_be_bytes());
    identity
}

impl Node {
    fn dead_letter_key(&self) -> Result<PatientKey, PatientKeyError> {
        self.patient_keys.current_or_create(&self.node_key, &self.institution_scope())
    }

    /// Keeps `letter`, sealed, and flushes it to disk before returning its id.
    pub fn keep_dead_letter(&self, letter: &DeadLetter) -> Result<u64, DeadLetterError> {
        let tree = self.db.open_tree("dead_letters")?;
        let id = self.db.generate_id()?;
        let key = self.dead_letter_key()?;
        let plaintext = serde_json::to_vec(letter).map_err(|_| DeadLetterError::Damaged(id))?;
        let mut salt = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
        let sealed = seal(&key.record_key(&identity(id)), &identity(id), &plaintext, &salt)
            .map_err(|_| DeadLetterError::Damaged(id))?;
        let mut value = key.epoch().to_be_bytes().to_vec();
        value.extend_from_slice(&sealed);
        tree.insert(id.to_be_bytes(), value)?;
        tree.flush()?;
        Ok(id)
    }

    /// Every dead letter, opened, in the order kept.
    pub fn dead_letters(&self) -> Result<Vec<(u64, DeadLetter)>, DeadLetterError> {
        let tree = self.db.open_tree("dead_letters")?;
        let mut out = Vec::new();
        for item in tree.iter() {
            let (k, v) = item?;
            let id = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| DeadLetterError::Damaged(0))?);
            let (epoch, sealed) = v.split_at(4.min(v.len()));
            let epoch = u32::from_be_bytes(epoch.try_into().map_err(|_| DeadLetterError::Damaged(id))?);
            let key = self
                .patient_keys
                .get(&self.node_key, &self.institution_scope(), epoch)?
                .ok_or(DeadLetterError::Damaged(id))?;
            let opened = open(&key.record_key(&identity(id)), &identity(id), sealed)
                .map_err(|_| DeadLetterError::Damaged(id))?;
            let letter = serde_json::from_slice(&opened.plaintext).map_err(|_| DeadLetterError::Damaged(id))?;
            out.push((id, letter));
        }
        Ok(out)
    }
}
