//! Consent → ledger grants, planned inside the block that stores the Consent (so the Consent
//! and its grants are committed atomically).
//!
//! A Consent in force wraps the patient's current key for each grantee peer named in it
//! (`Grant`). A Consent no longer in force (or deleted) ends its grants (`Revoke`) and moves the
//! patient to a new key epoch: the node's own copy is re-wrapped, the grants of other consents
//! that stay in force get the new epoch, and the revoked grantee never does. Records sealed later
//! in the same batch already use the new epoch, because this runs while the batch is planned.

use std::collections::HashMap;

use record_crypto::{wrap_patient_key, PatientKey};

use super::commit::CommitError;
use crate::consent::ConsentTerms;
use crate::records::{Grant, LedgerRecord, Revoke};
use crate::store::{hex32, GrantEntry, Node};

/// A change to the grant index that a planned record makes; its seq is known once it is placed.
#[derive(Debug, Clone)]
pub(crate) enum GrantChange {
    /// A grant in force from this record on.
    Grant { patient: [u8; 32], grantee: [u8; 32], consent: [u8; 32], epoch: u32 },
    /// A consent's grant ended by this record.
    Revoke { patient: [u8; 32], grantee: [u8; 32], consent: [u8; 32] },
}

/// Grants of the patients touched in this batch, as the index will hold them after it.
#[derive(Default)]
pub(crate) struct GrantsInBatch {
    by_patient: HashMap<[u8; 32], Vec<Grant>>,
}

/// The context a grantee's wrap of a patient key is bound to.
pub fn grant_wrap_context(patient: &str, epoch: u32, grantee: &str) -> Vec<u8> {
    format!("grant\0{patient}\0{epoch}\0{grantee}").into_bytes()
}

impl GrantsInBatch {
    fn current(&mut self, node: &Node, patient: &[u8; 32]) -> Result<&mut Vec<Grant>, CommitError> {
        if !self.by_patient.contains_key(patient) {
            let mut grants = Vec::new();
            for GrantEntry { seq, .. } in node.index.grants_of(patient)? {
                if let Ok(LedgerRecord::Grant(grant)) = node.any_record_at(seq) {
                    grants.push(grant);
                }
            }
            self.by_patient.insert(*patient, grants);
        }
        Ok(self.by_patient.entry(*patient).or_default())
    }
}

impl Node {
    /// Plans the grant records a stored Consent makes. `consent` is its resource pseudonym;
    /// `terms` is `None` for a deleted Consent (which ends all its grants).
    pub(crate) fn plan_consent(
        &self,
        consent: &[u8; 32],
        terms: Option<&ConsentTerms>,
        time_ms: u64,
        grants: &mut GrantsInBatch,
    ) -> Result<Vec<(LedgerRecord, GrantChange)>, CommitError> {
        let consent_hex = data_encoding::HEXLOWER.encode(consent);
        // The patients whose grants this consent may touch.
        let patients: Vec<[u8; 32]> = match terms {
            Some(terms) => vec![*self.patient_pseudonym(&terms.patient_id).as_bytes()],
            None => {
                let mut patients = Vec::new();
                for (patient, entry) in self.index.grants_by_consent(consent)? {
                    if !patients.contains(&patient) && entry.consent == *consent {
                        patients.push(patient);
                    }
                }
                patients
            }
        };
        let mut out = Vec::new();
        for patient in patients {
            let patient_hex = data_encoding::HEXLOWER.encode(&patient);
            let wanted: Vec<&crate::store::Peer> = match terms {
                Some(terms) if terms.in_force => {
                    let peers: Vec<_> = terms
                        .grantees
                        .iter()
                        .filter_map(|org| self.peers.iter().find(|p| &p.organization == org))
                        .collect();
                    let unknown =
                        terms.grantees.iter().filter(|org| !self.peers.iter().any(|p| &p.organization == *org));
                    for org in unknown {
                        // Organisations are institutions, not patients: naming them in a log is fine.
                        if self.peers.is_empty() {
                            tracing::debug!(organization = %org, "A Consent names an organisation; no peers are configured.");
                        } else {
                            tracing::warn!(organization = %org, "A Consent names an organisation that is no configured peer; no grant for it.");
                        }
                    }
                    peers
                }
                _ => Vec::new(),
            };
            let current = grants.current(self, &patient)?.clone();
            let revoked: Vec<&Grant> = current
                .iter()
                .filter(|g| g.consent == consent_hex && !wanted.iter().any(|p| p.key_id_hex == g.grantee))
                .collect();
            let key: PatientKey = if revoked.is_empty() {
                self.patient_keys.current_or_create(&self.node_key, &patient)?
            } else {
                self.patient_keys.rotate(&self.node_key, &patient)?
            };
            let mut after: Vec<Grant> = current.iter().filter(|g| !revoked.contains(g)).cloned().collect();
            for grant in &revoked {
                let grantee = hex32(&grant.grantee).unwrap_or([0; 32]);
                out.push((
                    LedgerRecord::Revoke(Revoke {
                        time_ms,
                        node: self.key_id.clone(),
                        patient: patient_hex.clone(),
                        grantee: grant.grantee.clone(),
                        consent: consent_hex.clone(),
                        epoch: key.epoch(),
                    }),
                    GrantChange::Revoke { patient, grantee, consent: *consent },
                ));
            }
            // This consent's grants, with its current terms.
            after.retain(|g| g.consent != consent_hex);
            if let Some(terms) = terms.filter(|t| t.in_force) {
                for peer in &wanted {
                    after.push(Grant {
                        time_ms,
                        node: self.key_id.clone(),
                        patient: patient_hex.clone(),
                        grantee: peer.key_id_hex.clone(),
                        consent: consent_hex.clone(),
                        types: terms.types.clone(),
                        start: terms.start.clone(),
                        end: terms.end.clone(),
                        epoch: key.epoch(),
                        wrapped_key: String::new(),
                    });
                }
            }
            // Wrap for every grantee that needs this epoch: new grants, and after a rotation all.
            for grant in &mut after {
                // This consent's grants were all just made; others need wrapping only after a rotation.
                if grant.consent != consent_hex && revoked.is_empty() {
                    continue;
                }
                let Some(peer) = self.peers.iter().find(|p| p.key_id_hex == grant.grantee) else { continue };
                let context = grant_wrap_context(&patient_hex, key.epoch(), &grant.grantee);
                let wrapped = wrap_patient_key(&key, &peer.public_key, &context).map_err(|_| CommitError::Seal)?;
                grant.epoch = key.epoch();
                grant.time_ms = time_ms;
                grant.wrapped_key = data_encoding::HEXLOWER.encode(wrapped.as_bytes());
                let grantee = hex32(&grant.grantee).unwrap_or([0; 32]);
                let consent_of = hex32(&grant.consent).unwrap_or([0; 32]);
                out.push((
                    LedgerRecord::Grant(grant.clone()),
                    GrantChange::Grant { patient, grantee, consent: consent_of, epoch: key.epoch() },
                ));
            }
            grants.by_patient.insert(patient, after);
        }
        Ok(out)
    }
}
