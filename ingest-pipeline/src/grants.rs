//! Consent → ledger grants, planned inside the block that stores the Consent (so the Consent
//! and its grants are committed atomically).
//!
//! The grants in force for a patient are a function of all the patient's consents in force
//! ([`fhir_consent::effective_grants`]: each permit, less every other consent's denies).
//! When a Consent is stored or deleted, that function is computed again for every patient the
//! Consent names now or granted for before (a Consent moved to another patient leaves nothing
//! behind) and compared with the grants in force:
//! - a grant that no longer holds exactly as it stands (its grantee, types or period changed, its
//!   consent withdrawn, moved or narrowed by a deny) is ended by a `Revoke`, and the patient
//!   moves to a new key epoch: the node's own copy is re-wrapped, the grants that still hold get
//!   the new epoch, and the revoked grant never does;
//! - a grant that newly holds is wrapped for its grantee (`Grant`).
//!
//! Records sealed later in the same batch already use the new epoch, because this runs while the
//! batch is planned.

use std::collections::HashMap;

use ledger_adapter::{LedgerReader, LedgerWriter};
use record_crypto::{wrap_patient_key, PatientKey};

use super::error::CommitError;
use fhir_consent::{effective_grants, ConsentTerms, EffectiveGrant};
use node_store::records::{grant_wrap_context, Grant, LedgerRecord, Revoke};
use node_store::{hex32, GrantEntry, IndexEntry, Node};

/// A change to the grant index that a planned record makes; its seq is known once it is placed.
#[derive(Debug, Clone)]
pub(crate) enum GrantChange {
    /// A grant in force from this record on.
    Grant { patient: [u8; 32], grantee: [u8; 32], consent: [u8; 32], epoch: u32 },
    /// A consent's grant ended by this record.
    Revoke { patient: [u8; 32], grantee: [u8; 32], consent: [u8; 32] },
}

impl GrantChange {
    /// The index entry this change makes once its record is at `seq`.
    pub(crate) fn index_entry(self, seq: u64) -> IndexEntry {
        match self {
            GrantChange::Grant { patient, grantee, consent, epoch } => {
                IndexEntry::Grant { patient, grant: GrantEntry { grantee, consent, seq }, epoch }
            }
            GrantChange::Revoke { patient, grantee, consent } => IndexEntry::Revoke { patient, grantee, consent },
        }
    }
}

/// Grants and consents of the patients touched in this batch, as the index and store will hold
/// them after it.
#[derive(Default)]
pub(crate) struct GrantsInBatch {
    by_patient: HashMap<[u8; 32], Vec<Grant>>,
    /// Consents stored (`Some`) or deleted (`None`) earlier in this batch, by pseudonym.
    consents: HashMap<[u8; 32], Option<ConsentTerms>>,
}

impl GrantsInBatch {
    fn current(&mut self, node: &Node, patient: &[u8; 32]) -> Result<&mut Vec<Grant>, CommitError> {
        if !self.by_patient.contains_key(patient) {
            let mut grants = Vec::new();
            // A grant that cannot be read fails the commit: planning without it would miss
            // the Revoke its consent's withdrawal needs (fail closed, and retried).
            for GrantEntry { seq, .. } in node.index.grants_of(patient)? {
                match node.any_record_at(seq).map_err(CommitError::Read)? {
                    LedgerRecord::Grant(grant) => grants.push(grant),
                    _ => {
                        return Err(CommitError::Read(node_store::read::ReadError::Damaged {
                            seq,
                            what: "the grant index points at no Grant",
                        }))
                    }
                }
            }
            self.by_patient.insert(*patient, grants);
        }
        Ok(self.by_patient.entry(*patient).or_default())
    }
}

/// Whether grant `g` is exactly what `wanted` asks of the grantee `grantee` (key id hex).
fn same_grant(g: &Grant, wanted: &EffectiveGrant, grantee: &str) -> bool {
    let (types, except) = wanted.types.to_grant_lists();
    g.consent == wanted.consent
        && g.grantee == grantee
        && g.types == types
        && g.except == except
        && g.start == wanted.start
        && g.end == wanted.end
}

/// The terms of every consent of `patient` as they stand after what this batch did so far,
/// in ledger order (consents of this batch last), each with its pseudonym (hex).
fn consents_of(
    node: &Node,
    patient: &[u8; 32],
    batch: &GrantsInBatch,
) -> Result<Vec<(String, ConsentTerms)>, CommitError> {
    let mut out = Vec::new();
    for (seq, record) in node.patient_records(patient, "Consent").map_err(CommitError::Read)? {
        let Some(id) = hex32(&record.resource) else { continue };
        if batch.consents.contains_key(&id) {
            continue;
        }
        let opened = node.open_record(seq, record).map_err(CommitError::Read)?;
        if let Some(terms) = fhir_consent::terms(&opened.canonical) {
            out.push((data_encoding::HEXLOWER.encode(&id), terms));
        }
    }
    for (id, terms) in &batch.consents {
        if let Some(terms) = terms.as_ref().filter(|t| node.patient_pseudonym(&t.patient_id).as_bytes() == patient) {
            out.push((data_encoding::HEXLOWER.encode(id), terms.clone()));
        }
    }
    Ok(out)
}

/// Plans the grant records a stored Consent makes. `consent` is its resource pseudonym;
/// `terms` is `None` for a deleted Consent (which then counts for nothing); `previous` is the
/// patient of the version it replaces.
pub(crate) fn plan_consent(
    node: &Node,
    consent: &[u8; 32],
    terms: Option<&ConsentTerms>,
    previous: Option<[u8; 32]>,
    time_ms: u64,
    batch: &mut GrantsInBatch,
) -> Result<Vec<(LedgerRecord, GrantChange)>, CommitError> {
    let consent_hex = data_encoding::HEXLOWER.encode(consent);
    // The patients whose grants this consent may touch: the one it names now, the one its
    // previous version named, and every one it granted for before (in the index, or earlier
    // in this batch).
    let mut patients: Vec<[u8; 32]> = Vec::new();
    if let Some(terms) = terms {
        patients.push(*node.patient_pseudonym(&terms.patient_id).as_bytes());
    }
    if let Some(previous) = previous.filter(|p| !patients.contains(p)) {
        patients.push(previous);
    }
    for (patient, entry) in node.index.grants_by_consent(consent)? {
        if entry.consent == *consent && !patients.contains(&patient) {
            patients.push(patient);
        }
    }
    for (patient, grants) in &batch.by_patient {
        if grants.iter().any(|g| g.consent == consent_hex) && !patients.contains(patient) {
            patients.push(*patient);
        }
    }
    batch.consents.insert(*consent, terms.cloned());

    let mut out = Vec::new();
    for patient in patients {
        out.extend(plan_patient_grants(node, &patient, time_ms, batch)?);
    }
    Ok(out)
}

/// Brings every patient's grants in line with the consent rules this build enforces, before
/// the node serves: a grant committed by an earlier version, which read Consents more loosely
/// (any actor role, any class system, ignored `data` or `purpose`), is revoked with a key
/// rotation when the patient's consents, read now, do not make it. One block, or none when
/// every grant holds. Gives the number of records committed.
pub fn reconcile_grants(node: &Node) -> Result<usize, CommitError> {
    let time_ms = node_store::clock::now_ms();
    let mut batch = GrantsInBatch::default();
    let mut planned = Vec::new();
    for patient in node.index.patients_with_grants()? {
        planned.extend(plan_patient_grants(node, &patient, time_ms, &mut batch)?);
    }
    if planned.is_empty() {
        return Ok(0);
    }
    let next_seq = node.ledger.tree_size()?;
    let mut records = Vec::with_capacity(planned.len());
    let mut entries = Vec::with_capacity(planned.len());
    for (record, change) in planned {
        entries.push(change.index_entry(next_seq + records.len() as u64));
        records.push(record.encode());
    }
    let block = node.ledger.append_block(&records, time_ms)?;
    node.index.apply(&entries, block.seqs.end)?;
    Ok(records.len())
}

/// Brings `patient`'s grants in line with the patient's consents.
fn plan_patient_grants(
    node: &Node,
    patient: &[u8; 32],
    time_ms: u64,
    batch: &mut GrantsInBatch,
) -> Result<Vec<(LedgerRecord, GrantChange)>, CommitError> {
    let patient_hex = data_encoding::HEXLOWER.encode(patient);
    let consents = consents_of(node, patient, batch)?;
    // Organisations that are no configured peer get nothing; the submitter was told so.
    let wanted: Vec<(EffectiveGrant, &node_store::Peer)> = effective_grants(&consents)
        .into_iter()
        .filter_map(|g| {
            let peer = node.peers.iter().find(|p| p.organization == g.organization)?;
            Some((g, peer))
        })
        .collect();
    let current = batch.current(node, patient)?.clone();
    let revoked: Vec<&Grant> =
        current.iter().filter(|g| !wanted.iter().any(|(w, peer)| same_grant(g, w, &peer.key_id_hex))).collect();
    let added: Vec<&(EffectiveGrant, &node_store::Peer)> =
        wanted.iter().filter(|(w, peer)| !current.iter().any(|g| same_grant(g, w, &peer.key_id_hex))).collect();
    if revoked.is_empty() && added.is_empty() {
        return Ok(Vec::new());
    }
    let key: PatientKey = if revoked.is_empty() {
        node.patient_keys.current_or_create(&node.node_key, patient)?
    } else {
        node.patient_keys.rotate(&node.node_key, patient)?
    };
    let mut out = Vec::new();
    for grant in &revoked {
        out.push((
            LedgerRecord::Revoke(Revoke {
                time_ms,
                node: node.key_id.clone(),
                patient: patient_hex.clone(),
                grantee: grant.grantee.clone(),
                consent: grant.consent.clone(),
                epoch: key.epoch(),
            }),
            GrantChange::Revoke {
                patient: *patient,
                grantee: hex32(&grant.grantee).unwrap_or([0; 32]),
                consent: hex32(&grant.consent).unwrap_or([0; 32]),
            },
        ));
    }
    // After a rotation every grant that stays needs the new epoch; otherwise only new ones.
    let mut after: Vec<Grant> = Vec::new();
    let mut to_wrap: Vec<usize> = Vec::new();
    for grant in current.iter().filter(|g| !revoked.contains(g)) {
        if !revoked.is_empty() {
            to_wrap.push(after.len());
        }
        after.push(grant.clone());
    }
    for (wanted, peer) in added {
        let (types, except) = wanted.types.to_grant_lists();
        to_wrap.push(after.len());
        after.push(Grant {
            time_ms,
            node: node.key_id.clone(),
            patient: patient_hex.clone(),
            grantee: peer.key_id_hex.clone(),
            consent: wanted.consent.clone(),
            types,
            except,
            start: wanted.start.clone(),
            end: wanted.end.clone(),
            epoch: key.epoch(),
            wrapped_key: String::new(),
        });
    }
    for index in to_wrap {
        let grant = &mut after[index];
        let Some(peer) = node.peers.iter().find(|p| p.key_id_hex == grant.grantee) else { continue };
        let context = grant_wrap_context(&patient_hex, key.epoch(), &grant.grantee);
        let wrapped = wrap_patient_key(&key, &peer.public_key, &context).map_err(|_| CommitError::Seal)?;
        grant.epoch = key.epoch();
        grant.time_ms = time_ms;
        grant.wrapped_key = data_encoding::HEXLOWER.encode(wrapped.as_bytes());
        out.push((
            LedgerRecord::Grant(grant.clone()),
            GrantChange::Grant {
                patient: *patient,
                grantee: hex32(&grant.grantee).unwrap_or([0; 32]),
                consent: hex32(&grant.consent).unwrap_or([0; 32]),
                epoch: key.epoch(),
            },
        ));
    }
    batch.by_patient.insert(*patient, after);
    Ok(out)
}
