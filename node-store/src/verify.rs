//! Full verification of a node's data dir: the ledger (chain links, signatures, block and tree
//! roots, every record's leaf), every record's blob (present, matching its CID), and every blob in
//! the store (matching the CID it is stored under). Names the first bad block, record or blob.
//!
//! It opens the database read-only in spirit: it needs no secret key and does not rebuild the
//! index, so it also works on a store that `Node::open` would refuse.

use ledger_adapter::{verify_sled, NodePublicKey, VerifyError, VerifyProgress, VerifyReport, DEFAULT_TREE_PREFIX};
use record_crypto::Cid;

use crate::blobs::BlobStore;
use crate::records::LedgerRecord;

/// The first problem found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Finding {
    /// The ledger itself is damaged (names the block or record).
    #[error("ledger: {0}")]
    Ledger(#[from] VerifyError),
    /// A record does not decode or names a CID that is not stored intact.
    #[error("record {seq}: {what}")]
    Record {
        /// Its seq.
        seq: u64,
        /// What is wrong.
        what: String,
    },
    /// A stored blob does not match its CID.
    #[error("blob {cid}: {what}")]
    Blob {
        /// The CID it is stored under (or the raw key, hex, when that is no CID).
        cid: String,
        /// What is wrong.
        what: &'static str,
    },
    /// The database could not be read.
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
}

/// What a successful verification covered.
#[derive(Debug)]
pub struct VerifySummary {
    /// The ledger part.
    pub ledger: VerifyReport,
    /// Blobs checked.
    pub blobs: u64,
}

/// Why a data dir could not be verified at all (as opposed to a [`Finding`] in it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyOpenError {
    /// The data dir holds no database.
    #[error("no data in {0}")]
    NoData(String),
    /// The database could not be opened (another process may hold it).
    #[error("cannot open {path}")]
    Open {
        /// The database directory.
        path: String,
        /// The sled error.
        #[source]
        source: sled::Error,
    },
}

/// Opens the database of `data_dir` for [`verify_store`], without keys or index recovery, so
/// also one that [`Node::open`](crate::Node::open) would refuse.
pub fn open_data_dir(data_dir: &std::path::Path) -> Result<sled::Db, VerifyOpenError> {
    let path = crate::node::database_dir(data_dir);
    if !path.is_dir() {
        return Err(VerifyOpenError::NoData(data_dir.display().to_string()));
    }
    sled::Config::new()
        .path(&path)
        .open()
        .map_err(|source| VerifyOpenError::Open { path: path.display().to_string(), source })
}

/// Verifies everything in `db`; `expected_key` is the node's public key when known.
pub fn verify_store(
    db: &sled::Db,
    expected_key: Option<&NodePublicKey>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifySummary, Finding> {
    let ledger = verify_sled(db, DEFAULT_TREE_PREFIX, expected_key, progress)?;
    let records = db.open_tree(format!("{DEFAULT_TREE_PREFIX}{}", ledger_adapter::TREE_RECORDS))?;
    let blobs = BlobStore::open(db)?;
    for item in records.iter() {
        let (key, bytes) = item?;
        let seq = key.as_ref().try_into().map(u64::from_be_bytes).unwrap_or(u64::MAX);
        let record =
            LedgerRecord::decode(&bytes).map_err(|e| Finding::Record { seq, what: format!("does not decode: {e}") })?;
        let LedgerRecord::ResourceVersion(version) = record else { continue };
        if let Some(cid) = version.cid {
            let cid: Cid = cid.parse().map_err(|_| Finding::Record { seq, what: "names an invalid CID".into() })?;
            // Presence only: every blob's content is hashed once, in the walk over all blobs below.
            if !blobs.contains(&cid)? {
                return Err(Finding::Record { seq, what: format!("blob {cid} is missing") });
            }
        }
    }
    let mut count = 0;
    for item in blobs.iter() {
        let (key, content) = item?;
        let hex = || data_encoding::HEXLOWER.encode(&key);
        let cid = Cid::from_bytes(&key)
            .map_err(|_| Finding::Blob { cid: hex(), what: "stored under a key that is no CID" })?;
        if !cid.matches(&content) {
            return Err(Finding::Blob { cid: cid.to_string(), what: "content does not match its CID" });
        }
        count += 1;
    }
    Ok(VerifySummary { ledger, blobs: count })
}
