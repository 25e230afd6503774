//! Opening a node: its key files, its sled database and ledger, its configured peers; then the
//! index brought up to date with the ledger (after a crash, the last block may not be indexed
//! yet), each missing entry derived from its ledger record as the writer derived it.

use std::sync::Arc;

use ledger_adapter::{LedgerError, LedgerReader, NodeKey, Secp256k1Signer, SledLedger};
use record_crypto::Pseudonym;

use crate::blobs::BlobStore;
use crate::config::NodeConfig;
use crate::dedup::{message_identity, MERGED_TYPES};
use crate::index::{GrantEntry, Index, IndexEntry, Latest};
use crate::key_files::{self, KeyFileError};
use crate::node::{database_dir, hex32, Node, Peer};
use crate::patient_keys::PatientKeys;
use crate::read::{damaged, ReadError};
use crate::records::{LedgerRecord, Operation};

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

impl Node {
    /// Opens (or creates) the node in `config.data_dir`, and brings the index up to date with the
    /// ledger (after a crash, the last block may not be indexed yet).
    pub fn open(config: &NodeConfig) -> Result<Node, OpenError> {
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

    /// Re-derives the index for ledger records it does not cover yet.
    pub(crate) fn recover_index(&self) -> Result<(), ReadError> {
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
        // In chunks, each applied with how far it reaches: memory stays bounded however long the
        // ledger, and a rebuild cut short goes on from the last chunk applied.
        const CHUNK: u64 = 10_000;
        let mut start = from;
        while start < to {
            let end = (start + CHUNK).min(to);
            let mut entries = Vec::new();
            for seq in start..end {
                if let Some(entry) = index_entry_for(self, seq)? {
                    entries.push(entry);
                }
            }
            self.index.apply(&entries, end)?;
            start = end;
        }
        Ok(())
    }
}

/// The index entry that the record at `seq` makes (used to rebuild the index after a crash).
fn index_entry_for(node: &Node, seq: u64) -> Result<Option<IndexEntry>, ReadError> {
    let record = match node.any_record_at(seq)? {
        LedgerRecord::ResourceVersion(record) => record,
        LedgerRecord::Grant(grant) => {
            let (Some(patient), Some(grantee), Some(consent)) =
                (hex32(&grant.patient), hex32(&grant.grantee), hex32(&grant.consent))
            else {
                return Err(damaged(seq, "grant with a malformed pseudonym"));
            };
            let grant_entry = GrantEntry { grantee, consent, seq };
            return Ok(Some(IndexEntry::Grant { patient, grant: grant_entry, epoch: grant.epoch }));
        }
        LedgerRecord::Revoke(revoke) => {
            let (Some(patient), Some(grantee), Some(consent)) =
                (hex32(&revoke.patient), hex32(&revoke.grantee), hex32(&revoke.consent))
            else {
                return Err(damaged(seq, "revoke with a malformed pseudonym"));
            };
            return Ok(Some(IndexEntry::Revoke { patient, grantee, consent }));
        }
        LedgerRecord::Access(access) => {
            return Ok(access.patient.as_deref().and_then(hex32).map(|patient| IndexEntry::Access { patient, seq }));
        }
    };
    let resource: Pseudonym = record.resource.parse().map_err(|_| damaged(seq, "bad resource pseudonym"))?;
    let latest = Latest { version: record.version, seq, deleted: record.operation == Operation::Delete };
    let patient = record.patient.as_deref().and_then(hex32);
    let resource_type = record.resource_type.clone();
    let source = record.source.clone();
    let (dedup, search_terms) = if record.operation == Operation::Delete {
        (None, Vec::new())
    } else {
        let opened = node.open_record(seq, record)?;
        let terms = node.search_terms(&resource_type, &opened.canonical);
        (Some(node.dedup_key(resource.as_bytes(), &fhir_json::content_hash(&opened.canonical))), terms)
    };
    // As the writer keys it: a merged v2 resource is also known by the message that wrote it.
    let dedup_message = match (&dedup, MERGED_TYPES.contains(&resource_type.as_str())) {
        (Some(_), true) => message_identity(&source).map(|identity| node.dedup_key(resource.as_bytes(), &identity)),
        _ => None,
    };
    Ok(Some(IndexEntry::Version {
        resource: *resource.as_bytes(),
        resource_type,
        patient,
        latest,
        dedup,
        dedup_message,
        search_terms,
    }))
}
