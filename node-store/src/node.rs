//! [`Node`]: one node's storage and keys, the handles every other module works through; and
//! the pseudonym kinds that keep its keyed hashes apart.

use std::path::Path;
use std::sync::Arc;

use ledger_adapter::SledLedger;
use record_crypto::{NodeKeyPair, Pseudonym, Pseudonymizer};

use crate::blobs::BlobStore;
use crate::index::Index;
use crate::patient_keys::PatientKeys;

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
    /// A search term of a resource type's parameter (the blind index).
    pub const SEARCH_TERM: PseudonymKind = PseudonymKind::new("search-term");
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
pub fn hex32(text: &str) -> Option<[u8; 32]> {
    data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()).ok()?.try_into().ok()
}

/// The sled database directory inside a data dir.
pub fn database_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("db")
}

impl Node {
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
}
