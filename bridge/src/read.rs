//! Reading back: a record of the ledger → its sealed blob → the patient key → the decrypted,
//! commitment-checked FHIR resource, with `meta.versionId` and `meta.lastUpdated` set from the
//! ledger.

use ledger_adapter::{LedgerError, LedgerReader};
use record_crypto::{open, Cid, Commitment, PatientKey, Pseudonym};

use crate::pipeline::commit::{associated_data, record_identity};
use crate::records::{LedgerRecord, Operation, ResourceVersion};
use crate::store::{hex32, IndexEntry, Latest, Node, PatientKeyError};

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

/// A decrypted resource version.
#[derive(Debug)]
pub struct ReadRecord {
    /// The ledger record.
    pub record: ResourceVersion,
    /// Its seq.
    pub seq: u64,
    /// The canonical JSON as ingested.
    pub canonical: Vec<u8>,
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

/// An instant (`2024-05-01T12:00:00.123Z`) from milliseconds since the Unix epoch.
pub fn format_instant(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant's algorithm), valid for every date after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

/// Decrypts `sealed`, the content of `record`, with the patient key of its epoch, and checks it
/// against the record's commitment; gives the canonical JSON. The decryption is bound to the
/// record (its identity derives the key, its metadata is the associated data), so content moved
/// to another record does not open.
pub fn open_sealed(key: &PatientKey, record: &ResourceVersion, sealed: &[u8]) -> Result<Vec<u8>, &'static str> {
    let resource: Pseudonym = record.resource.parse().map_err(|_| "bad resource pseudonym")?;
    let record_key = key.record_key(&record_identity(resource.as_bytes(), record.version));
    let opened = open(&record_key, &associated_data(record), sealed).map_err(|_| "content does not decrypt")?;
    let commitment: Commitment =
        record.commitment.as_deref().and_then(|c| c.parse().ok()).ok_or("no valid commitment")?;
    if !commitment.verify(&opened.salt, &opened.plaintext) {
        return Err("content does not match its commitment");
    }
    Ok(opened.plaintext)
}

fn damaged(seq: u64, what: &'static str) -> ReadError {
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
        let canonical = open_sealed(&key, &record, &sealed).map_err(|what| damaged(seq, what))?;
        Ok(ReadRecord { record, seq, canonical })
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

/// The index entry that the record at `seq` makes (used to rebuild the index after a crash).
pub(crate) fn index_entry_for(node: &Node, seq: u64) -> Result<Option<IndexEntry>, ReadError> {
    let record = match node.any_record_at(seq)? {
        LedgerRecord::ResourceVersion(record) => record,
        LedgerRecord::Grant(grant) => {
            let (Some(patient), Some(grantee), Some(consent)) =
                (hex32(&grant.patient), hex32(&grant.grantee), hex32(&grant.consent))
            else {
                return Err(damaged(seq, "grant with a malformed pseudonym"));
            };
            let grant_entry = crate::store::GrantEntry { grantee, consent, seq };
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
    let dedup = if record.operation == Operation::Delete {
        None
    } else {
        let opened = node.open_record(seq, record)?;
        Some(node.dedup_key(resource.as_bytes(), &fhir_json::content_hash(&opened.canonical)))
    };
    // As the writer keys it: a merged v2 resource is also known by the message that wrote it.
    let dedup_message = match (&dedup, crate::pipeline::merge::MERGED_TYPES.contains(&resource_type.as_str())) {
        (Some(_), true) => crate::pipeline::merge::message_identity(&source)
            .map(|identity| node.dedup_key(resource.as_bytes(), &identity)),
        _ => None,
    };
    Ok(Some(IndexEntry::Version {
        resource: *resource.as_bytes(),
        resource_type,
        patient,
        latest,
        dedup,
        dedup_message,
    }))
}

#[cfg(test)]
mod tests {
    use super::format_instant;

    #[test]
    fn instants_are_utc_with_milliseconds() {
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_instant(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(format_instant(1_767_225_599_999), "2025-12-31T23:59:59.999Z");
    }
}
