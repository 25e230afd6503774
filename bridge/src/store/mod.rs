//! The node's storage: one sled database in the data dir holding the ledger, the encrypted blob
//! store, the patient key store and the private index; plus the key files beside it.
//!
//! **Architecture Invariant:** nothing in the data dir is plaintext patient data: blobs are
//! sealed, the ledger and the index hold pseudonyms and keyed hashes, patient keys are wrapped.

mod blobs;
mod dead_letters;
mod index;
pub mod key_files;
mod patient_keys;

use std::path::Path;
use std::sync::Arc;

use ledger_adapter::{LedgerError, LedgerReader, NodeKey, Secp256k1Signer, SledLedger};
use record_crypto::{NodeKeyPair, Pseudonym, Pseudonymizer};

pub use blobs::BlobStore;
pub use dead_letters::{DeadLetter, DeadLetterError};
pub use index::{GrantEntry, Index, IndexEntry, Latest, SeenContent};
pub use key_files::KeyFileError;
pub use patient_keys::{PatientKeyError, PatientKeys};

use crate::config::BridgeConfig;

/// Why the node could not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A key file is missing, invalid or too open.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The database could not be opened (another process may hold it).
    #[error("cannot open the database in {path}: {source}")]
    Database {
        /// The database directory.
        path: String,
        /// The sled error.
        source: sled::Error,
    },
    /// The ledger could not be opened.
    #[error("cannot open the ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// A peer's public key is not a valid secp256k1 key.
    #[error("peer {0}: invalid public_key")]
    Peer(String),
    /// Rebuilding the index from the ledger failed.
    #[error("cannot bring the index up to date with the ledger: {0}")]
    Recover(String),
}

/// Pseudonym kinds and dedup scopes; each keeps its pseudonyms apart from every other kind's.
pub mod kinds {
    use record_crypto::PseudonymKind;

    /// `Type/id` of a resource.
    pub const RESOURCE: PseudonymKind = PseudonymKind::new("resource");
    /// The logical id of a Patient.
    pub const PATIENT: PseudonymKind = PseudonymKind::new("patient");
    /// Key scopes that are not a patient.
    pub const KEY_SCOPE: PseudonymKind = PseudonymKind::new("key-scope");
    /// The origin of a submission (a file path).
    pub const SOURCE: PseudonymKind = PseudonymKind::new("source");
    /// Ids the bridge assigns, keyed on content.
    pub const ASSIGNED_ID: PseudonymKind = PseudonymKind::new("assigned-id");
    /// An API client (the accessor of Access records).
    pub const CLIENT: PseudonymKind = PseudonymKind::new("client");
    /// Ids of resources made from HL7 v2 messages, keyed on their identity values.
    pub const V2_ID: PseudonymKind = PseudonymKind::new("v2-id");
    /// The dedup scope of a resource's content.
    pub const RESOURCE_CONTENT: PseudonymKind = PseudonymKind::new("resource-content");
}

/// A peer institution's bridge, from the configuration.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The FHIR reference Consents use for it.
    pub organization: String,
    /// Its node public key.
    pub public_key: record_crypto::NodePublicKey,
    /// Its key id, hex.
    pub key_id_hex: String,
    /// Its base URL.
    pub url: Option<String>,
}

/// One bridge node's storage and keys.
pub struct Node {
    /// The sled database.
    pub db: sled::Db,
    /// The ledger.
    pub ledger: Arc<SledLedger>,
    /// Sealed records.
    pub blobs: BlobStore,
    /// The private index.
    pub index: Index,
    /// Wrapped patient keys.
    pub patient_keys: PatientKeys,
    /// Pseudonyms under the deployment secret.
    pub pseudonyms: Pseudonymizer,
    /// The node's key pair.
    pub node_key: NodeKeyPair,
    /// Its key id, hex.
    pub key_id: String,
    /// The peers patients may grant access to.
    pub peers: Vec<Peer>,
}

/// 32 bytes from 64 hex digits (pseudonyms and key ids as the ledger writes them).
pub(crate) fn hex32(text: &str) -> Option<[u8; 32]> {
    data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()).ok()?.try_into().ok()
}

/// The sled database directory inside a data dir.
pub fn database_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("db")
}

impl Node {
    /// Opens (or creates) the node in `config.data_dir`, and brings the index up to date with the
    /// ledger (after a crash, the last block may not be indexed yet).
    pub fn open(config: &BridgeConfig) -> Result<Node, OpenError> {
        let node_key = key_files::load_or_create_node_key(&config.node_key_file())?;
        let pseudonyms = key_files::load_or_create_pseudonymizer(&config.deployment_secret_file())?;
        let path = database_dir(&config.data_dir);
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(256 * 1024 * 1024)
            .open()
            .map_err(|source| OpenError::Database { path: path.display().to_string(), source })?;
        let signing_key = NodeKey::from_secret_bytes(*node_key.secret_bytes()).map_err(|_| {
            OpenError::KeyFile(KeyFileError::Invalid { path: config.node_key_file().display().to_string() })
        })?;
        let ledger = Arc::new(SledLedger::open(&db, Secp256k1Signer::new(signing_key))?);
        let database = |source| OpenError::Database { path: path.display().to_string(), source };
        let mut peers = Vec::new();
        for peer in &config.peers {
            let public_key: record_crypto::NodePublicKey =
                peer.public_key.parse().map_err(|_| OpenError::Peer(peer.organization.clone()))?;
            peers.push(Peer {
                organization: peer.organization.clone(),
                key_id_hex: public_key.key_id().to_string(),
                public_key,
                url: peer.url.clone(),
            });
        }
        let node = Node {
            blobs: BlobStore::open(&db).map_err(database)?,
            index: Index::open(&db).map_err(database)?,
            patient_keys: PatientKeys::open(&db).map_err(database)?,
            key_id: node_key.key_id().to_string(),
            ledger,
            peers,
            pseudonyms,
            node_key,
            db,
        };
        node.recover_index().map_err(|e| OpenError::Recover(e.to_string()))?;
        Ok(node)
    }

    /// The pseudonym of a resource (`Type/id`).
    pub fn resource_pseudonym(&self, resource_type: &str, id: &str) -> Pseudonym {
        self.pseudonyms.pseudonym(kinds::RESOURCE, &format!("{resource_type}/{id}"))
    }

    /// The pseudonym of a patient (by the Patient's logical id).
    pub fn patient_pseudonym(&self, patient_id: &str) -> Pseudonym {
        self.pseudonyms.pseudonym(kinds::PATIENT, patient_id)
    }

    /// The dedup key of content with `content_hash` (of its canonical JSON) for the resource with
    /// pseudonym `resource`, the same for all its versions. Private to this node: never on the ledger.
    pub fn dedup_key(&self, resource: &[u8; 32], content_hash: &[u8; 32]) -> [u8; 32] {
        let mut content = resource.to_vec();
        content.extend_from_slice(content_hash);
        *self.pseudonyms.dedup_key(kinds::RESOURCE_CONTENT, &content).as_bytes()
    }

    /// The key scope of records that belong to no patient.
    pub fn institution_scope(&self) -> [u8; 32] {
        *self.pseudonyms.pseudonym(kinds::KEY_SCOPE, "institution").as_bytes()
    }

    /// Re-derives the index for ledger records it does not cover yet.
    fn recover_index(&self) -> Result<(), crate::read::ReadError> {
        if !self.index.format_is_current()? {
            tracing::info!("The index is of an older format; rebuilding it from the ledger.");
            self.index.reset()?;
        }
        let from = self.index.indexed_through()?;
        let to = self.ledger.tree_size()?;
        if from >= to {
            return Ok(());
        }
        tracing::info!(from, to, "Indexing ledger records left unindexed by an interrupted run.");
        let mut entries = Vec::new();
        for seq in from..to {
            if let Some(entry) = crate::read::index_entry_for(self, seq)? {
                entries.push(entry);
            }
        }
        self.index.apply(&entries, to)?;
        Ok(())
    }
}
