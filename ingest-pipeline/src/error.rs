//! Why a commit failed, for the writer and the grant planning it runs.

use ledger_adapter::LedgerError;
use node_store::PatientKeyError;

/// Why a batch could not be committed. Nothing of it is acknowledged; the caller retries or
/// fails, and re-submitting is safe (duplicates are recognised).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommitError {
    /// The ledger append failed.
    #[error("ledger append failed: {0}")]
    Ledger(#[from] LedgerError),
    /// Storage of blobs or the index failed.
    #[error("storage failed: {0}")]
    Storage(#[from] sled::Error),
    /// A patient key could not be had.
    #[error(transparent)]
    PatientKey(#[from] PatientKeyError),
    /// Sealing failed (the OS random number generator).
    #[error("sealing failed")]
    Seal,
    /// A stored record this batch depends on (a patient's other consents) could not be read.
    #[error("reading a stored record failed: {0}")]
    Read(#[source] node_store::read::ReadError),
}

impl CommitError {
    /// Whether trying again later may succeed (storage and randomness hiccups), as opposed to a
    /// node that cannot work (wrong key).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Ledger(e) => e.is_retryable(),
            Self::Storage(_) | Self::Seal => true,
            Self::PatientKey(PatientKeyError::Unwrap) => false,
            Self::PatientKey(_) => true,
            Self::Read(error) => error.is_retryable(),
        }
    }
}
