//! The custodian's side of a peer read: who may read what, and the proven answer.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use data_encoding::BASE64;
use ledger_adapter::{LedgerError, LedgerReader};
use rayon::prelude::*;

use crate::search::time;
use crate::wire::{PeerRecords, ProvenRecord};
use node_store::read::ReadError;
use node_store::records::{Grant, LedgerRecord};
use node_store::{hex32, Node};

/// Why a peer read is refused or fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerServeError {
    /// The caller holds no grant in force for this patient (never granted, or revoked).
    #[error("no grant in force for this patient and this node")]
    NoGrant,
    /// The grant does not cover this resource type.
    #[error("the grant does not cover resource type {0}")]
    TypeNotGranted(String),
    /// Now is outside the grant's period.
    #[error("the grant's period does not include now")]
    OutsidePeriod,
    /// Reading the store failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
}

impl PeerServeError {
    /// Whether this is a refusal (403) rather than a failure (500).
    pub fn is_denial(&self) -> bool {
        matches!(self, Self::NoGrant | Self::TypeNotGranted(_) | Self::OutsidePeriod)
    }
}

/// Whether `grant` covers `resource_type` at `now_ms`.
pub fn check_grant(grant: &Grant, resource_type: &str, now_ms: u64) -> Result<(), PeerServeError> {
    if !grant.covers(resource_type) {
        return Err(PeerServeError::TypeNotGranted(resource_type.to_owned()));
    }
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    // A bound that does not parse was validated as a FHIR dateTime at ingest; refuse rather than widen.
    let started = grant.start.as_deref().is_none_or(|s| time::parse(s).is_some_and(|r| r.start_ms <= now));
    let not_ended = grant.end.as_deref().is_none_or(|e| time::parse(e).is_some_and(|r| now < r.end_ms));
    if started && not_ended {
        Ok(())
    } else {
        Err(PeerServeError::OutsidePeriod)
    }
}

/// The Grant record at `seq`, read and decoded once per answer (`read` holds those read).
fn grant_at<'g>(node: &Node, read: &'g mut HashMap<u64, Grant>, seq: u64) -> Result<&'g Grant, PeerServeError> {
    Ok(match read.entry(seq) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(slot) => match node.any_record_at(seq)? {
            LedgerRecord::Grant(grant) => slot.insert(grant),
            _ => return Err(ReadError::Damaged { seq, what: "the grant index points at no Grant" }.into()),
        },
    })
}

/// The answer to a peer read by the node `grantee` (key id, hex) of `patient`'s
/// `resource_type` records, after the grant check. Also returns the patient's pseudonym (hex)
/// for the Access record, whatever the outcome. With `anchored_height` (the grantee's view of this
/// node's latest anchor), the answer also proves the served head extends that block.
pub fn peer_records(
    node: &Node,
    grantee: &str,
    patient_id: &str,
    resource_type: &str,
    anchored_height: Option<u64>,
    now_ms: u64,
) -> (String, Result<PeerRecords, PeerServeError>) {
    let patient = node.patient_pseudonym(patient_id);
    (patient.to_string(), peer_records_of(node, grantee, patient.as_bytes(), resource_type, anchored_height, now_ms))
}

/// The answer to a peer read of the Patient that carries `system|value`: the identifier is
/// looked up in this node's blind index (`Patient?identifier=`), and when exactly one Patient
/// carries it, that patient's Patient record is served as [`peer_records`] serves it, grant check
/// first and nothing decrypted. No match, several matches, a grant that does not cover Patient or
/// is out of its period, and a Patient sealed under an epoch never granted are all refused alike
/// ("no grant"), so the answer says nothing of who is registered here to a node that was not
/// granted that patient's Patient. Also returns the patient's pseudonym (hex) for the Access
/// record, when one patient matched.
pub fn identified_patient(
    node: &Node,
    grantee: &str,
    system: &str,
    value: &str,
    anchored_height: Option<u64>,
    now_ms: u64,
) -> (Option<String>, Result<PeerRecords, PeerServeError>) {
    let seqs = match node.patients_with_identifier(system, value) {
        Ok(seqs) => seqs,
        Err(node_store::search::SearchError::Read(error)) => return (None, Err(error.into())),
        Err(node_store::search::SearchError::TooCostly(_)) => return (None, Err(PeerServeError::NoGrant)),
    };
    let [seq] = seqs[..] else { return (None, Err(PeerServeError::NoGrant)) };
    let pseudonym = match node.record_at(seq) {
        Ok(record) => record.patient,
        Err(error) => return (None, Err(error.into())),
    };
    let Some(patient) = pseudonym.as_deref().and_then(hex32) else { return (None, Err(PeerServeError::NoGrant)) };
    let answer = match peer_records_of(node, grantee, &patient, "Patient", anchored_height, now_ms) {
        Ok(answer) if answer.records.is_empty() => Err(PeerServeError::NoGrant),
        Err(error) if error.is_denial() => Err(PeerServeError::NoGrant),
        other => other,
    };
    (pseudonym, answer)
}

fn peer_records_of(
    node: &Node,
    grantee: &str,
    patient: &[u8; 32],
    resource_type: &str,
    anchored_height: Option<u64>,
    now_ms: u64,
) -> Result<PeerRecords, PeerServeError> {
    let grantee_id = hex32(grantee).ok_or(PeerServeError::NoGrant)?;
    // The patient may have several consents naming this grantee: one in force for this type
    // and now opens the read. Otherwise the refusal names the closest miss.
    let mut grants: HashMap<u64, Grant> = HashMap::new();
    let mut refusal = PeerServeError::NoGrant;
    let mut opened = false;
    for entry in node.index.grants_of(patient)?.into_iter().filter(|g| g.grantee == grantee_id) {
        match check_grant(grant_at(node, &mut grants, entry.seq)?, resource_type, now_ms) {
            Ok(()) => {
                opened = true;
                break;
            }
            Err(e @ PeerServeError::OutsidePeriod) => refusal = e,
            Err(e) if matches!(refusal, PeerServeError::NoGrant) => refusal = e,
            Err(_) => {}
        }
    }
    if !opened {
        return Err(refusal);
    }

    // The index first, then the head: every record listed is below the head's tree size.
    // A record is served with a grant of its key epoch that covers its type (the grantee
    // checks that); records of epochs without one stay closed.
    let mut chosen = Vec::new();
    let mut grant_seqs = Vec::new();
    let mut grant_of_epoch: HashMap<u32, Option<u64>> = HashMap::new();
    let mut withheld = 0;
    for (seq, record) in node.patient_records(patient, resource_type)? {
        let grant_seq = match grant_of_epoch.get(&record.epoch) {
            Some(found) => *found,
            None => {
                let mut found = None;
                for candidate in node.index.grants_of_epoch(patient, &grantee_id, record.epoch)? {
                    if grant_at(node, &mut grants, candidate)?.covers(resource_type) {
                        found = Some(candidate);
                        break;
                    }
                }
                grant_of_epoch.insert(record.epoch, found);
                found
            }
        };
        match grant_seq {
            Some(grant_seq) => {
                if !grant_seqs.contains(&grant_seq) {
                    grant_seqs.push(grant_seq);
                }
                chosen.push((seq, record));
            }
            None => withheld += 1,
        }
    }
    let head = node.ledger.head()?.ok_or(ReadError::NotFound)?;
    let tree_size = head.header.tree_size;
    let prove = |seq: u64| -> Result<ProvenRecord, PeerServeError> {
        let bytes = node.ledger.record(seq)?.ok_or(ReadError::NotFound)?;
        let proof = node.ledger.inclusion_proof(seq, tree_size)?;
        Ok(ProvenRecord {
            seq,
            record: BASE64.encode(&bytes),
            audit_path: proof.hashes.iter().map(|h| h.to_hex()).collect(),
            ciphertext: None,
        })
    };
    let grants = grant_seqs.into_iter().map(prove).collect::<Result<Vec<_>, _>>()?;
    let records = chosen
        .into_par_iter()
        .map(|(seq, record)| {
            let mut proven = prove(seq)?;
            let cid = record.cid.as_deref().and_then(|c| c.parse().ok());
            let damaged = || ReadError::Damaged { seq, what: "blob missing" };
            let blob = node.blobs.get(&cid.ok_or_else(damaged)?)?.ok_or_else(damaged)?;
            proven.ciphertext = Some(BASE64.encode(&blob));
            Ok(proven)
        })
        .collect::<Result<Vec<_>, PeerServeError>>()?;
    let anchor = match anchored_height {
        Some(height) => crate::anchor::anchor_proof(node.ledger.as_ref(), height, tree_size)?,
        None => None,
    };
    Ok(PeerRecords { head: data_encoding::HEXLOWER.encode(&head.encode()), grants, records, withheld, anchor })
}

#[cfg(test)]
mod tests {
    use super::{check_grant, PeerServeError};
    use node_store::records::Grant;

    fn grant(types: &[&str], start: Option<&str>, end: Option<&str>) -> Grant {
        Grant {
            time_ms: 0,
            node: String::new(),
            patient: String::new(),
            grantee: String::new(),
            consent: String::new(),
            types: types.iter().map(|t| (*t).to_owned()).collect(),
            except: Vec::new(),
            start: start.map(str::to_owned),
            end: end.map(str::to_owned),
            epoch: 0,
            wrapped_key: String::new(),
        }
    }

    const JAN_15_2026: u64 = 1_768_435_200_000;

    #[test]
    fn a_grant_covers_its_types_and_its_period_only() {
        assert!(check_grant(&grant(&["*"], None, None), "Observation", JAN_15_2026).is_ok());
        assert!(check_grant(
            &grant(&["Observation"], Some("2026-01-01"), Some("2026-01-15")),
            "Observation",
            JAN_15_2026
        )
        .is_ok());
        assert!(matches!(
            check_grant(&grant(&["Condition"], None, None), "Observation", JAN_15_2026),
            Err(PeerServeError::TypeNotGranted(_))
        ));
        let mut all_but_observations = grant(&["*"], None, None);
        all_but_observations.except = vec!["Observation".into()];
        assert!(matches!(
            check_grant(&all_but_observations, "Observation", JAN_15_2026),
            Err(PeerServeError::TypeNotGranted(_))
        ));
        assert!(check_grant(&all_but_observations, "Condition", JAN_15_2026).is_ok());
        assert!(matches!(
            check_grant(&grant(&["*"], Some("2026-01-16"), None), "Observation", JAN_15_2026),
            Err(PeerServeError::OutsidePeriod)
        ));
        assert!(matches!(
            check_grant(&grant(&["*"], None, Some("2026-01-14T23:59:59Z")), "Observation", JAN_15_2026),
            Err(PeerServeError::OutsidePeriod)
        ));
    }
}
