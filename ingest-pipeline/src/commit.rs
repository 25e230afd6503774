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

use ledger_adapter::{LedgerReader, LedgerWriter};
use rayon::prelude::*;
use record_crypto::{random_salt, seal, Cid, Commitment, PatientKey};

use super::decode::RequestedChange;
use super::error::CommitError;
use super::grants::{plan_consent, GrantChange, GrantsInBatch};
use super::normalise::Normalised;
use node_store::clock::now_ms;
use node_store::records::{associated_data, record_identity, LedgerRecord, Operation, ResourceVersion};
use node_store::{IndexEntry, Latest, Node, SeenContent};

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
    /// The item's `if_match` was not the current version: nothing was written, and `version` is
    /// the current one (0: none, or deleted).
    pub precondition_failed: bool,
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

fn record_patient(record: &LedgerRecord) -> Option<String> {
    match record {
        LedgerRecord::Access(a) => a.patient.clone(),
        _ => None,
    }
}

/// Makes sure the patient keys `resources` will be sealed under exist and are in memory.
///
/// Run where resources are prepared, on many threads, so that the single ledger writer finds
/// them there instead of creating and wrapping them (an ECIES wrap and two inserts per new
/// patient) one after another. Best effort: a failure here is met again, and reported, by the
/// writer. Nothing is created for deletes.
pub fn warm_patient_keys(node: &Node, resources: &[Normalised]) {
    let mut done: Vec<Option<&str>> = Vec::new();
    for item in resources.iter().filter(|r| r.change == RequestedChange::Upsert) {
        let patient = item.patient_id.as_deref();
        if done.contains(&patient) {
            continue;
        }
        done.push(patient);
        let scope = patient.map_or_else(|| node.institution_scope(), |p| *node.patient_pseudonym(p).as_bytes());
        if let Err(error) = node.patient_keys.current_or_create(&node.node_key, &scope) {
            tracing::debug!(%error, "Could not prepare a patient key; the writer will try again.");
        }
    }
}

/// Commits `items` as one block when every item's `if_match` holds (0: no current version), and
/// nothing otherwise: then
/// every receipt has `precondition_failed`, with the item's current version (0: none). The
/// caller (the single writer) gives the items a block of their own, so nothing comes between the
/// check and the commit. The items name distinct resources (a transaction's entries do).
pub fn commit_all_or_nothing(node: &Node, items: &[Normalised]) -> Result<Vec<Receipt>, CommitError> {
    let mut current = Vec::with_capacity(items.len());
    let mut holds = true;
    for item in items {
        let resource = node.resource_pseudonym(item.resource_type, &item.id);
        let latest = node.index.latest(resource.as_bytes())?.filter(|l| !l.deleted);
        // Version 0 expects no current version (a create the caller found absent).
        if let Some(expected) = item.if_match {
            holds &= latest.map_or(0, |l| l.version) == expected;
        }
        current.push((resource, latest));
    }
    if holds {
        return commit_batch(node, items, &[]);
    }
    Ok(items
        .iter()
        .zip(current)
        .map(|(item, (resource, latest))| Receipt {
            resource_type: item.resource_type,
            id: item.id.clone(),
            resource_pseudonym: resource.to_string(),
            version: latest.map_or(0, |l| l.version),
            seq: latest.map(|l| l.seq),
            block_height: None,
            cid: None,
            duplicate: false,
            operation: Operation::Update,
            precondition_failed: true,
        })
        .collect())
}

/// Commits `items` (in order) and the `extra` records (accesses) as one block; gives one
/// receipt per item.
pub fn commit_batch(node: &Node, items: &[Normalised], extra: &[LedgerRecord]) -> Result<Vec<Receipt>, CommitError> {
    let time_ms = now_ms();
    let mut receipts: Vec<Option<Receipt>> = vec![None; items.len()];
    let mut planned: Vec<Planned> = Vec::new();
    // Within the batch: what the index will say once the block is committed.
    let mut latest_in_batch: HashMap<[u8; 32], Latest> = HashMap::new();
    let mut seen_in_batch: HashMap<[u8; 32], usize> = HashMap::new();
    // Grant and revoke records that stored Consents make; they follow the block's versions.
    let mut grants_in_batch = GrantsInBatch::default();
    let mut consent_records: Vec<(LedgerRecord, GrantChange)> = Vec::new();
    let next_seq = node.ledger.tree_size()?;

    // Where in `planned` each resource's latest version in this block is.
    let mut planned_of: HashMap<[u8; 32], usize> = HashMap::new();
    // Messages whose resource was a duplicate, to be known as seen all the same.
    let mut seen_entries: Vec<IndexEntry> = Vec::new();

    for (index, item) in items.iter().enumerate() {
        let resource = node.resource_pseudonym(item.resource_type, &item.id);
        let rid = *resource.as_bytes();
        let latest = match latest_in_batch.get(&rid) {
            Some(latest) => Some(*latest),
            None => node.index.latest(&rid)?,
        };
        // Preparation merged the item into the stored version it saw. One earlier in this
        // block, or one committed since, it could not see: then what the message said is
        // merged into that here.
        let merged = match (&item.merge, planned_of.get(&rid), &item.canonical) {
            // (A delete earlier in this block has no content: the message stands alone.)
            (Some(merge), Some(&earlier), Some(_)) => merged_canonical(planned[earlier].canonical.as_deref(), merge),
            (Some(merge), None, Some(_)) if latest.map(|l| l.seq) != merge.based_on => {
                // Deleted since, or unreadable (the read path reports that): it stands alone.
                let stored = latest
                    .filter(|l| !l.deleted)
                    .and_then(|l| node.open_record(l.seq, node.record_at(l.seq).ok()?).ok());
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
            precondition_failed: false,
        };
        if let Some(expected) = item.if_match {
            let current = latest.filter(|l| !l.deleted);
            if current.map(|l| l.version) != Some(expected) {
                let mut r = duplicate_of(current.map_or(0, |l| l.version), 0);
                r.seq = current.map(|l| l.seq);
                r.duplicate = false;
                r.precondition_failed = true;
                receipts[index] = Some(r);
                continue;
            }
        }
        // A merged resource is also known by the message that wrote it: a re-sent message is
        // a duplicate even when what it merged into has changed since.
        let dedup_message = match (&item.change, &item.merge) {
            (RequestedChange::Upsert, Some(_)) => {
                node_store::dedup::message_identity(&item.source).map(|identity| node.dedup_key(&rid, &identity))
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
                let key = node.dedup_key(&rid, &hash);
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
                    if let Some(found) = node.index.seen(k)?.filter(|found| is_duplicate_of(found.version)) {
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
        let patient = item.patient_id.as_deref().map(|p| node.patient_pseudonym(p));
        let scope = patient.map_or_else(|| node.institution_scope(), |p| *p.as_bytes());
        // Usually in memory already: `warm_patient_keys` ran where the item was prepared.
        let key = match operation {
            Operation::Delete => None,
            _ => Some(node.patient_keys.current_or_create(&node.node_key, &scope)?),
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
                node: node.key_id.clone(),
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
            let terms = planned.last().and_then(|p| p.canonical.as_deref()).and_then(fhir_consent::terms);
            let previous = match planned_of_before {
                Some(earlier) => planned[earlier].record.patient.as_deref().and_then(node_store::hex32),
                // A previous version that cannot be read fails the commit, rather than leave
                // the grants of the patient it named in force.
                None => match latest.filter(|l| !l.deleted) {
                    Some(l) => {
                        node.record_at(l.seq).map_err(CommitError::Read)?.patient.and_then(|p| node_store::hex32(&p))
                    }
                    None => None,
                },
            };
            consent_records.extend(plan_consent(node, &rid, terms.as_ref(), previous, time_ms, &mut grants_in_batch)?);
        }
    }

    if planned.is_empty() && consent_records.is_empty() && extra.is_empty() {
        if !seen_entries.is_empty() {
            node.index.apply(&seen_entries, next_seq)?;
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
            Ok(Some((node.blobs.put(&bytes)?, Commitment::commit(&salt, canonical))))
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
            patient: p.record.patient.as_deref().and_then(node_store::hex32),
            latest: p.latest,
            dedup: p.dedup,
            dedup_message: p.dedup_message,
            // Terms computed where the item was validated, unless the writer merged its content
            // (a v2 update into the stored version): then from what is stored.
            search_terms: match (&items[p.index].search_terms, &items[p.index].merge) {
                (Some(terms), None) if p.canonical.is_some() => node.keyed_terms(&p.record.resource_type, terms),
                _ => p.canonical.as_deref().map_or_else(Vec::new, |c| node.search_terms(&p.record.resource_type, c)),
            },
        })
        .collect();
    for (record, change) in consent_records {
        entries.push(change.index_entry(next_seq + records.len() as u64));
        records.push(record.encode());
    }
    for record in extra {
        let seq = next_seq + records.len() as u64;
        if let Some(patient) = record_patient(record).and_then(|p| node_store::hex32(&p)) {
            entries.push(IndexEntry::Access { patient, seq });
        }
        records.push(record.encode());
    }
    entries.append(&mut seen_entries);
    let block = node.ledger.append_block(&records, time_ms)?;
    debug_assert_eq!(block.first_seq, next_seq);
    node.index.apply(&entries, block.seqs.end)?;

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
            precondition_failed: false,
        });
    }
    Ok(receipts.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patient(node: &Node, family: &str, if_match: Option<u32>) -> Normalised {
        let body = format!(r#"{{"resourceType":"Patient","id":"p1","name":[{{"family":"{family}"}}]}}"#);
        let mut resource = crate::prepare(&[body.as_bytes()], node).pop().unwrap().resources.pop().unwrap();
        resource.source = std::sync::Arc::from("http");
        resource.if_match = if_match;
        resource
    }

    #[test]
    fn if_match_writes_only_on_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::open(&node_store::NodeConfig::in_dir(dir.path())).unwrap();
        // No resource yet: If-Match fails, and nothing is written.
        let refused = commit_batch(&node, &[patient(&node, "A", Some(1))], &[]).unwrap();
        assert!(refused[0].precondition_failed && refused[0].version == 0 && refused[0].seq.is_none());
        assert_eq!(node.ledger.tree_size().unwrap(), 0);
        let created = commit_batch(&node, &[patient(&node, "A", None)], &[]).unwrap();
        assert_eq!((created[0].version, created[0].precondition_failed), (1, false));
        let updated = commit_batch(&node, &[patient(&node, "B", Some(1))], &[]).unwrap();
        assert_eq!((updated[0].version, updated[0].precondition_failed), (2, false));
        // A second writer that read version 1 loses: nothing written, the current version named.
        let stale = commit_batch(&node, &[patient(&node, "C", Some(1))], &[]).unwrap();
        assert!(stale[0].precondition_failed, "{:?}", stale[0]);
        assert_eq!((stale[0].version, stale[0].seq), (2, updated[0].seq));
        assert_eq!(node.ledger.tree_size().unwrap(), 2);
        // In one block: the first write moves the version, so the second with the same If-Match fails.
        let both = commit_batch(&node, &[patient(&node, "D", Some(2)), patient(&node, "E", Some(2))], &[]).unwrap();
        assert_eq!((both[0].version, both[0].precondition_failed), (3, false));
        assert_eq!((both[1].version, both[1].precondition_failed), (3, true));
    }

    #[test]
    fn all_or_nothing_writes_nothing_when_one_precondition_fails() {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::open(&node_store::NodeConfig::in_dir(dir.path())).unwrap();
        commit_batch(&node, &[patient(&node, "A", None)], &[]).unwrap();
        let size = node.ledger.tree_size().unwrap();
        let other = |if_match| {
            let body = r#"{"resourceType":"Patient","id":"p2","name":[{"family":"Z"}]}"#;
            let mut resource = crate::prepare(&[body.as_bytes()], &node).pop().unwrap().resources.pop().unwrap();
            resource.if_match = if_match;
            resource
        };
        // p1 is at version 1, not 2: neither p1's update nor p2's create is written.
        let refused = commit_all_or_nothing(&node, &[other(None), patient(&node, "B", Some(2))]).unwrap();
        assert!(refused.iter().all(|r| r.precondition_failed), "{refused:?}");
        assert_eq!((refused[0].version, refused[1].version), (0, 1));
        assert_eq!(node.ledger.tree_size().unwrap(), size, "nothing was written");
        let written = commit_all_or_nothing(&node, &[other(None), patient(&node, "B", Some(1))]).unwrap();
        assert!(written.iter().all(|r| !r.precondition_failed));
        assert_eq!((written[0].version, written[1].version), (1, 2));
    }
}
