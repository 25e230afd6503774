//! Reading back: a record of the ledger → its sealed blob → the patient key → the decrypted,
//! commitment-checked FHIR resource, with `meta.versionId` and `meta.lastUpdated` set from the
//! ledger.

use ledger_adapter::{LedgerError, LedgerReader};
use record_crypto::{open, Cid, Commitment, Opened, PatientKey, Pseudonym};

use crate::clock::format_instant;
use crate::node::Node;
use crate::patient_keys::PatientKeyError;
use crate::records::{associated_data, record_identity, LedgerRecord, Operation, ResourceVersion};

/// Why a record could not be read. Messages carry seqs and pseudonyms, never content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// No such resource or version.
    #[error("not found")]
    NotFound,
    /// The resource is deleted (in this version).
    #[error("deleted")]
    Deleted,
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
    /// The patient key is missing or does not unwrap.
    #[error(transparent)]
    PatientKey(#[from] PatientKeyError),
    /// What is stored does not check out: a record that does not decode, a missing or altered
    /// blob, a commitment that does not match. `verify` says more.
    #[error("record {seq} is damaged: {what}")]
    Damaged {
        /// The ledger seq.
        seq: u64,
        /// What is wrong.
        what: &'static str,
    },
}

impl ReadError {
    /// Whether trying again later may succeed (storage hiccups), as opposed to what is stored.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Ledger(e) => e.is_retryable(),
            Self::Storage(_) => true,
            Self::NotFound | Self::Deleted | Self::Damaged { .. } | Self::PatientKey(_) => false,
        }
    }
}

/// A decrypted resource version. `Debug` leaves out the content (patient data).
pub struct ReadRecord {
    /// The ledger record.
    pub record: ResourceVersion,
    /// Its seq.
    pub seq: u64,
    /// The canonical JSON as ingested.
    pub canonical: Vec<u8>,
    /// The salt of the record's commitment to `canonical` (with it, anyone can check the content
    /// against the ledger record: `fhir-bridge prove --with-content`).
    pub salt: [u8; 32],
}

impl std::fmt::Debug for ReadRecord {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ReadRecord")
            .field("record", &self.record)
            .field("seq", &self.seq)
            .field("canonical_len", &self.canonical.len())
            .finish_non_exhaustive()
    }
}

impl ReadRecord {
    /// The resource with `meta.versionId` and `meta.lastUpdated` set by the bridge.
    pub fn resource(&self) -> Result<fhir_models::Resource, ReadError> {
        let mut resource = fhir_models::parse_resource(&self.canonical)
            .map_err(|_| ReadError::Damaged { seq: self.seq, what: "stored content does not parse" })?;
        let meta = resource.meta_mut().get_or_insert_with(Default::default);
        meta.version_id = Some(fhir_models::Primitive::new(self.record.version.to_string()));
        meta.last_updated = Some(fhir_models::Primitive::new(format_instant(self.record.time_ms)));
        Ok(resource)
    }
}

/// Decrypts `sealed`, the content of `record`, with the patient key of its epoch, and checks it
/// against the record's commitment; gives the canonical JSON and the commitment's salt. The decryption is bound to the
/// record (its identity derives the key, its metadata is the associated data), so content moved
/// to another record does not open.
pub fn open_sealed(key: &PatientKey, record: &ResourceVersion, sealed: &[u8]) -> Result<Opened, &'static str> {
    let resource: Pseudonym = record.resource.parse().map_err(|_| "bad resource pseudonym")?;
    let record_key = key.record_key(&record_identity(resource.as_bytes(), record.version));
    let opened = open(&record_key, &associated_data(record), sealed).map_err(|_| "content does not decrypt")?;
    let commitment: Commitment =
        record.commitment.as_deref().and_then(|c| c.parse().ok()).ok_or("no valid commitment")?;
    if !commitment.verify(&opened.salt, &opened.plaintext) {
        return Err("content does not match its commitment");
    }
    Ok(opened)
}

pub(crate) fn damaged(seq: u64, what: &'static str) -> ReadError {
    ReadError::Damaged { seq, what }
}

impl Node {
    /// The `ResourceVersion` record at `seq`.
    pub fn record_at(&self, seq: u64) -> Result<ResourceVersion, ReadError> {
        match self.any_record_at(seq)? {
            LedgerRecord::ResourceVersion(r) => Ok(r),
            _ => Err(damaged(seq, "the index points at a record that is no resource version")),
        }
    }

    /// The record at `seq`, of any kind.
    pub fn any_record_at(&self, seq: u64) -> Result<LedgerRecord, ReadError> {
        let bytes = self.ledger.record(seq)?.ok_or(ReadError::NotFound)?;
        LedgerRecord::decode(&bytes).map_err(|_| damaged(seq, "ledger record does not decode"))
    }

    /// Decrypts the content of the record at `seq` and checks its commitment.
    pub fn open_record(&self, seq: u64, record: ResourceVersion) -> Result<ReadRecord, ReadError> {
        if record.operation == Operation::Delete {
            return Err(ReadError::Deleted);
        }
        let cid: Cid =
            record.cid.as_deref().and_then(|c| c.parse().ok()).ok_or_else(|| damaged(seq, "no valid CID"))?;
        let sealed = self.blobs.get(&cid)?.ok_or_else(|| damaged(seq, "blob missing"))?;
        if !cid.matches(&sealed) {
            return Err(damaged(seq, "blob does not match its CID"));
        }
        let scope = match &record.patient {
            Some(p) => *p.parse::<Pseudonym>().map_err(|_| damaged(seq, "bad patient pseudonym"))?.as_bytes(),
            None => self.institution_scope(),
        };
        let key = self
            .patient_keys
            .get(&self.node_key, &scope, record.epoch)?
            .ok_or_else(|| damaged(seq, "patient key missing"))?;
        let opened = open_sealed(&key, &record, &sealed).map_err(|what| damaged(seq, what))?;
        Ok(ReadRecord { record, seq, canonical: opened.plaintext, salt: opened.salt })
    }

    /// Reads `Type/id`, the latest version or `version`.
    pub fn read(&self, resource_type: &str, id: &str, version: Option<u32>) -> Result<ReadRecord, ReadError> {
        let (seq, record) = self.locate(resource_type, id, version)?;
        self.open_record(seq, record)
    }

    /// The ledger record of `Type/id` (latest or `version`) and its seq, without decrypting.
    pub fn locate(
        &self,
        resource_type: &str,
        id: &str,
        version: Option<u32>,
    ) -> Result<(u64, ResourceVersion), ReadError> {
        let rid = self.resource_pseudonym(resource_type, id);
        let seq = match version {
            Some(v) => self.index.version_seq(rid.as_bytes(), v)?.ok_or(ReadError::NotFound)?,
            None => self.index.latest(rid.as_bytes())?.ok_or(ReadError::NotFound)?.seq,
        };
        Ok((seq, self.record_at(seq)?))
    }

    /// The current (latest, not deleted) versions of `patient`'s resources of `resource_type`,
    /// with their seqs, in ledger order. A resource whose latest version belongs to another
    /// patient is not the patient's any more.
    pub fn patient_records(
        &self,
        patient: &[u8; 32],
        resource_type: &str,
    ) -> Result<Vec<(u64, ResourceVersion)>, ReadError> {
        let patient_hex = data_encoding::HEXLOWER.encode(patient);
        let mut out = Vec::new();
        for resource in self.index.resources_of(patient, resource_type)? {
            let Some(latest) = self.index.latest(&resource)? else { continue };
            if latest.deleted {
                continue;
            }
            let record = self.record_at(latest.seq)?;
            if record.patient.as_deref() == Some(patient_hex.as_str()) {
                out.push((latest.seq, record));
            }
        }
        out.sort_unstable_by_key(|(seq, _)| *seq);
        Ok(out)
    }

    /// The seqs of the latest, not deleted, version of every resource, in ledger order.
    pub fn latest_seqs(&self) -> Result<Vec<u64>, ReadError> {
        let mut seqs = Vec::new();
        for item in self.index.all_latest() {
            let (_, latest) = item?;
            if !latest.deleted {
                seqs.push(latest.seq);
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }
}
