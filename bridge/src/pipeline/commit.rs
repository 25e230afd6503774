//! Encrypt, store and commit stages: a batch of normalised resources becomes one ledger block.
//!
//! For each resource, in order: its pseudonym and keyed dedup key are computed; content already
//! stored is reported as a duplicate (nothing is written); otherwise it gets the next version, is
//! sealed under a key derived from its patient's key, stored content-addressed, and its
//! `ResourceVersion` record joins the block. The block is appended (atomic and durable) and only
//! then is the private index updated and are receipts returned.
//!
//! **Architecture Invariant:** a receipt is only returned after the ledger append that holds its
//! record returned, i.e. after the record is durable. Sources are acknowledged from receipts.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use ledger_adapter::{LedgerError, LedgerReader, LedgerWriter};
use rayon::prelude::*;
use record_crypto::{random_salt, seal, Cid, Commitment, PatientKey};

use super::decode::RequestedChange;
use super::grants::{GrantChange, GrantsInBatch};
use super::normalise::Normalised;
use crate::records::{LedgerRecord, Operation, ResourceVersion};
use crate::store::{IndexEntry, Latest, Node, PatientKeyError, SeenContent};

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
    Read(#[source] crate::read::ReadError),
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

/// What happened to one resource of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The resource type.
    pub resource_type: &'static str,
    /// The logical id.
    pub id: String,
    /// Pseudonym (hex) of `Type/id`, as on the ledger.
    pub resource_pseudonym: String,
    /// The version this content is (for duplicates: the version that holds it already).
    pub version: u32,
    /// The ledger seq of that version (`None` for a delete of a resource that never existed).
    pub seq: Option<u64>,
    /// The block holding it (for duplicates: `None`, it was committed earlier).
    pub block_height: Option<u64>,
    /// CID of the sealed content (absent for deletes and duplicates).
    pub cid: Option<String>,
    /// Whether the content was stored already (nothing new was written).
    pub duplicate: bool,
    /// What the version did.
    pub operation: Operation,
}

/// One resource planned into the block.
struct Planned {
    index: usize,
    record: ResourceVersion,
    canonical: Option<Vec<u8>>,
    key: Option<PatientKey>,
    resource: [u8; 32],
    latest: Latest,
    dedup: Option<[u8; 32]>,
    dedup_message: Option<[u8; 32]>,
}

/// What `merge`'s message said, merged into `earlier` (canonical JSON of the version before it)
/// when there is one, in canonical form with its content hash; `None` when it does not parse.
fn merged_canonical(earlier: Option<&[u8]>, merge: &super::merge::Merge) -> Option<(Vec<u8>, [u8; 32])> {
    let merged = earlier.and_then(|earlier| super::merge::merge_into_earlier(earlier, merge.said.as_bytes(), merge));
    let canonical = fhir_json::canonicalize(merged.as_deref().unwrap_or(&merge.said).as_bytes()).ok()?;
    let hash = fhir_json::content_hash(&canonical);
    Some((canonical, hash))
}

/// The associated data a sealed record is bound to: its ledger identity.
pub fn associated_data(record: &ResourceVersion) -> Vec<u8> {
    format!(
        "{}\0{}\0{}\0{}\0{}",
        record.resource_type,
        record.resource,
        record.patient.as_deref().unwrap_or(""),
        record.version,
        record.epoch
    )
    .into_bytes()
}

/// The identity a record key is derived from: resource pseudonym (32) and version (u32 BE).
pub fn record_identity(resource: &[u8; 32], version: u32) -> [u8; 36] {
    let mut identity = [0u8; 36];
    identity[..32].copy_from_slice(resource);
    identity[32..].copy_from_slice(&version.to_be_bytes());
    identity
}

fn record_patient(record: &LedgerRecord) -> Option<String> {
    match record {
        LedgerRecord::Access(a) => a.patient.clone(),
        _ => None,
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Node {
    /// Makes sure the patient keys `resources` will be sealed under exist and are in memory.
    ///
    /// Run where resources are prepared, on many threads, so that the single ledger writer finds
    /// them there instead of creating and wrapping them (an ECIES wrap and two inserts per new
    /// patient) one after another. Best effort: a failure here is met again, and reported, by the
    /// writer. Nothing is created for deletes.
    pub fn warm_patient_keys(&self, resources: &[Normalised]) {
        let mut done: Vec<Option<&str>> = Vec::new();
        for item in resources.iter().filter(|r| r.change == RequestedChange::Upsert) {
            let patient = item.patient_id.as_deref();
            if done.contains(&patient) {
                continue;
            }
            done.push(patient);
            let scope = patient.map_or_else(|| self.institution_scope(), |p| *self.patient_pseudonym(p).as_bytes());
            if let Err(error) = self.patient_keys.current_or_create(&self.node_key, &scope) {
                tracing::debug!(%error, "Could not prepare a patient key; the writer will try again.");
            }
        }
    }

    /// Commits `items` (in order) and the `extra` records (accesses) as one block; gives one
    /// receipt per item.
    pub fn commit_batch(&self, items: &[Normalised], extra: &[LedgerRecord]) -> Result<Vec<Receipt>, CommitError> {
        let time_ms = now_ms();
        let mut receipts: Vec<Option<Receipt>> = vec![None; items.len()];
        let mut planned: Vec<Planned> = Vec::new();
        // Within the batch: what the index will say once the block is committed.
        let mut latest_in_batch: HashMap<[u8; 32], Latest> = HashMap::new();
        let mut seen_in_batch: HashMap<[u8; 32], usize> = HashMap::new();
        // Grant and revoke records that stored Consents make; they follow the block's versions.
        let mut grants_in_batch = GrantsInBatch::default();
        let mut consent_records: Vec<(LedgerRecord, GrantChange)> = Vec::new();
        let next_seq = self.ledger.tree_size()?;

        // Where in `planned` each resource's latest version in this block is.
        let mut planned_of: HashMap<[u8; 32], usize> = HashMap::new();
        // Messages whose resource was a duplicate, to be known as seen all the same.
        let mut seen_entries: Vec<IndexEntry> = Vec::new();

        for (index, item) in items.iter().enumerate() {
            let resource = self.resource_pseudonym(item.resource_type, &item.id);
            let rid = *resource.as_bytes();
            let latest = match latest_in_batch.get(&rid) {
                Some(latest) => Some(*latest),
                None => self.index.latest(&rid)?,
            };
            // Preparation merged the item into the stored version it saw. One earlier in this
            // block, or one committed since, it could not see: then what the message said is
            // merged into that here.
            let merged = match (&item.merge, planned_of.get(&rid), &item.canonical) {
                // (A delete earlier in this block has no content: the message stands alone.)
                (Some(merge), Some(&earlier), Some(_)) => {
                    merged_canonical(planned[earlier].canonical.as_deref(), merge)
                }
                (Some(merge), None, Some(_)) if latest.map(|l| l.seq) != merge.based_on => {
                    // Deleted since, or unreadable (the read path reports that): it stands alone.
                    let stored = latest
                        .filter(|l| !l.deleted)
                        .and_then(|l| self.open_record(l.seq, self.record_at(l.seq).ok()?).ok());
                    merged_canonical(stored.as_ref().map(|s| s.canonical.as_slice()), merge)
                }
                _ => None,
            };
            let (canonical, content_hash) = match merged {
                Some((canonical, hash)) => (Some(canonical), Some(hash)),
                None => (item.canonical.clone(), item.content_hash),
            };
            let duplicate_of = |version: u32, seq: u64| Receipt {
                resource_type: item.resource_type,
                id: item.id.clone(),
                resource_pseudonym: resource.to_string(),
                version,
                seq: Some(seq),
                block_height: None,
                cid: None,
                duplicate: true,
                operation: if version == 1 { Operation::Create } else { Operation::Update },
            };
            // A merged resource is also known by the message that wrote it: a re-sent message is
            // a duplicate even when what it merged into has changed since.
            let dedup_message = match (&item.change, &item.merge) {
                (RequestedChange::Upsert, Some(_)) => {
                    super::merge::message_identity(&item.source).map(|identity| self.dedup_key(&rid, &identity))
                }
                _ => None,
            };
            // Content stored before is a duplicate (a redelivery stores nothing twice), but for a
            // Consent only when it is the latest version: a patient who reinstates an earlier
            // deny must have it in force again, so an older version's content is a new version.
            let only_latest_counts = item.resource_type == "Consent";
            let is_duplicate_of =
                |version: u32| !only_latest_counts || latest.is_some_and(|l| !l.deleted && l.version == version);
            let dedup = match (&item.change, content_hash) {
                (RequestedChange::Upsert, Some(hash)) => {
                    let key = self.dedup_key(&rid, &hash);
                    let keys = dedup_message.iter().chain(std::iter::once(&key));
                    if let Some((i, &earlier)) = keys
                        .clone()
                        .enumerate()
                        .find_map(|(i, k)| Some((i, seen_in_batch.get(k)?)))
                        .filter(|(_, earlier)| is_duplicate_of(planned[**earlier].record.version))
                    {
                        let p = &planned[earlier];
                        let seen = SeenContent { seq: next_seq + earlier as u64, version: p.record.version };
                        if let Some(message) = dedup_message.filter(|_| i > 0) {
                            seen_entries.push(IndexEntry::Seen { dedup: message, seen });
                        }
                        receipts[index] = Some(duplicate_of(seen.version, seen.seq));
                        continue;
                    }
                    let mut seen = None;
                    for (i, k) in keys.enumerate() {
                        if let Some(found) = self.index.seen(k)?.filter(|found| is_duplicate_of(found.version)) {
                            seen = Some((i, found));
                            break;
                        }
                    }
                    if let Some((i, seen)) = seen {
                        // Same content, but this message was not recorded yet: record it, so a
                        // re-send after later changes is still known (see `dedup_message`).
                        if let Some(message) = dedup_message.filter(|_| i > 0) {
                            seen_entries.push(IndexEntry::Seen { dedup: message, seen });
                        }
                        receipts[index] = Some(duplicate_of(seen.version, seen.seq));
                        continue;
                    }
                    Some(key)
                }
                _ => {
                    // A delete of something absent or deleted already changes nothing.
                    match latest {
                        Some(l) if !l.deleted => None,
                        absent_or_deleted => {
                            let mut r = duplicate_of(absent_or_deleted.map_or(0, |l| l.version), 0);
                            r.seq = absent_or_deleted.map(|l| l.seq);
                            r.operation = Operation::Delete;
                            receipts[index] = Some(r);
                            continue;
                        }
                    }
                }
            };
            let version = latest.map_or(1, |l| l.version + 1);
            let operation = match (&item.change, version) {
                (RequestedChange::Delete, _) => Operation::Delete,
                (_, 1) => Operation::Create,
                _ => Operation::Update,
            };
            let patient = item.patient_id.as_deref().map(|p| self.patient_pseudonym(p));
            let scope = patient.map_or_else(|| self.institution_scope(), |p| *p.as_bytes());
            // Usually in memory already: `warm_patient_keys` ran where the item was prepared.
            let key = match operation {
                Operation::Delete => None,
                _ => Some(self.patient_keys.current_or_create(&self.node_key, &scope)?),
            };
            let seq = next_seq + planned.len() as u64;
            let new_latest = Latest { version, seq, deleted: operation == Operation::Delete };
            latest_in_batch.insert(rid, new_latest);
            let planned_of_before = planned_of.insert(rid, planned.len());
            for key in dedup.iter().chain(&dedup_message) {
                seen_in_batch.insert(*key, planned.len());
            }
            planned.push(Planned {
                index,
                record: ResourceVersion {
                    time_ms,
                    node: self.key_id.clone(),
                    source: item.source.to_string(),
                    resource_type: item.resource_type.to_owned(),
                    resource: resource.to_string(),
                    patient: patient.map(|p| p.to_string()),
                    version,
                    operation,
                    epoch: key.as_ref().map_or(0, PatientKey::epoch),
                    cid: None,
                    commitment: None,
                },
                canonical,
                key,
                resource: rid,
                latest: new_latest,
                dedup,
                dedup_message,
            });
            if item.resource_type == "Consent" {
                // Every version counts: one that names no patient any more ends what it granted,
                // and the patient of the version it replaces is recomputed too (a deny moved or
                // deleted narrows that patient's permits no longer).
                let terms = planned.last().and_then(|p| p.canonical.as_deref()).and_then(crate::consent::terms);
                let previous = match planned_of_before {
                    Some(earlier) => planned[earlier].record.patient.as_deref().and_then(crate::store::hex32),
                    None => latest
                        .filter(|l| !l.deleted)
                        .and_then(|l| self.record_at(l.seq).ok())
                        .and_then(|r| r.patient)
                        .and_then(|p| crate::store::hex32(&p)),
                };
                consent_records.extend(self.plan_consent(
                    &rid,
                    terms.as_ref(),
                    previous,
                    time_ms,
                    &mut grants_in_batch,
                )?);
            }
        }

        if planned.is_empty() && consent_records.is_empty() && extra.is_empty() {
            if !seen_entries.is_empty() {
                self.index.apply(&seen_entries, next_seq)?;
            }
            return Ok(receipts.into_iter().flatten().collect());
        }

        // Seal and store in parallel: each record's key, salt and nonce are its own, and a blob
        // is only reachable once the ledger record naming its CID is durable.
        let sealed: Vec<Option<(Cid, Commitment)>> = planned
            .par_iter()
            .map(|p| -> Result<Option<(Cid, Commitment)>, CommitError> {
                let (Some(key), Some(canonical)) = (&p.key, &p.canonical) else { return Ok(None) };
                let record_key = key.record_key(&record_identity(&p.resource, p.record.version));
                let salt = random_salt().map_err(|_| CommitError::Seal)?;
                let bytes =
                    seal(&record_key, &associated_data(&p.record), canonical, &salt).map_err(|_| CommitError::Seal)?;
                Ok(Some((self.blobs.put(&bytes)?, Commitment::commit(&salt, canonical))))
            })
            .collect::<Result<_, _>>()?;

        let mut records = Vec::with_capacity(planned.len());
        for (p, sealed) in planned.iter_mut().zip(sealed) {
            if let Some((cid, commitment)) = sealed {
                p.record.cid = Some(cid.to_string());
                p.record.commitment = Some(commitment.to_string());
            }
            records.push(LedgerRecord::ResourceVersion(p.record.clone()).encode());
        }
        let mut entries: Vec<IndexEntry> = planned
            .iter()
            .map(|p| IndexEntry::Version {
                resource: p.resource,
                resource_type: p.record.resource_type.clone(),
                patient: p.record.patient.as_deref().and_then(crate::store::hex32),
                latest: p.latest,
                dedup: p.dedup,
                dedup_message: p.dedup_message,
            })
            .collect();
        for (record, change) in consent_records {
            entries.push(change.index_entry(next_seq + records.len() as u64));
            records.push(record.encode());
        }
        for record in extra {
            let seq = next_seq + records.len() as u64;
            if let Some(patient) = record_patient(record).and_then(|p| crate::store::hex32(&p)) {
                entries.push(IndexEntry::Access { patient, seq });
            }
            records.push(record.encode());
        }
        entries.append(&mut seen_entries);
        let block = self.ledger.append_block(&records, time_ms)?;
        debug_assert_eq!(block.first_seq, next_seq);
        self.index.apply(&entries, block.seqs.end)?;

        for p in planned {
            let latest = p.latest;
            receipts[p.index] = Some(Receipt {
                resource_type: items[p.index].resource_type,
                id: items[p.index].id.clone(),
                resource_pseudonym: p.record.resource,
                version: p.record.version,
                seq: Some(latest.seq),
                block_height: Some(block.height),
                cid: p.record.cid,
                duplicate: false,
                operation: p.record.operation,
            });
        }
        Ok(receipts.into_iter().flatten().collect())
    }
}
