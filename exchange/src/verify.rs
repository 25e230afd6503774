//! The grantee's checks of a custodian's answer. Nothing is shown unless every check passes; one
//! failure refuses the whole answer, because a custodian that serves one forged record cannot be
//! trusted for the others.

use std::collections::HashMap;

use data_encoding::{BASE64, HEXLOWER};
use ledger_adapter::{hash_leaf, verify_inclusion, Hash, SignedBlockHeader};
use rayon::prelude::*;
use record_crypto::{unwrap_patient_key, Cid, NodeKeyPair, PatientKey, WrappedKey};

use crate::wire::PeerRecords;
use node_store::patient::owning_patient;
use node_store::read::open_sealed;
use node_store::records::grant_wrap_context;
use node_store::records::{LedgerRecord, Operation, ResourceVersion};
use node_store::Peer;

/// Why a custodian's answer is refused. Carries seqs and fixed texts, never content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{what}", seq.map(|s| format!("record {s}: ")).unwrap_or_default())]
pub struct VerifyPeerError {
    /// The custodian's ledger seq of the offending record, when one is to blame.
    pub seq: Option<u64>,
    /// What does not check out.
    pub what: &'static str,
}

fn refuse(seq: Option<u64>, what: &'static str) -> VerifyPeerError {
    VerifyPeerError { seq, what }
}

/// A custodian's record that passed every check.
#[derive(Debug)]
pub struct VerifiedRecord {
    /// Its seq in the custodian's ledger.
    pub seq: u64,
    /// The ledger record.
    pub record: ResourceVersion,
    /// The validated resource, as the custodian ingested it.
    pub resource: fhir_models::Resource,
}

/// What a verified answer holds.
#[derive(Debug)]
pub struct VerifiedAnswer {
    /// The records, in the custodian's ledger order.
    pub records: Vec<VerifiedRecord>,
    /// The tree size of the custodian's signed head they were proven against.
    pub tree_size: u64,
    /// That head (its signature checked).
    pub head: SignedBlockHeader,
    /// The patient's pseudonym at the custodian (hex), from the grants; `None` when it served none.
    pub patient: Option<String>,
    /// Records the custodian withheld (sealed under epochs never granted to this node).
    pub withheld: u64,
}

/// Checks `answer` from `custodian` for a read of `patient_id`'s `resource_type` records by the
/// node `own_key`: the head's signature and signer, every inclusion proof, the grants (to this
/// node, of one patient, unwrapping with `own_key`), and for each record its kind, type,
/// patient, CID, decryption, commitment, FHIR validity, and that its content belongs to
/// `patient_id` (the ledger names patients by pseudonyms the grantee cannot compute, so this
/// is what stops a custodian from answering with another granted patient's records).
pub fn verify_peer_records(
    answer: &PeerRecords,
    custodian: &Peer,
    own_key: &NodeKeyPair,
    resource_type: &str,
    patient_id: &str,
) -> Result<VerifiedAnswer, VerifyPeerError> {
    verify_answer(answer, custodian, own_key, resource_type, Owner::Patient(patient_id))
}

/// Checks the custodian's answer to a read of the Patient that carries the identifier
/// `system|value` (`GET /peer/records?identifier=`) as [`verify_peer_records`] does, and that it
/// holds exactly one Patient, which carries that identifier; gives that Patient's id at the
/// custodian, to read the patient's other records by.
pub fn verify_identified_patient(
    answer: &PeerRecords,
    custodian: &Peer,
    own_key: &NodeKeyPair,
    system: &str,
    value: &str,
) -> Result<(VerifiedAnswer, String), VerifyPeerError> {
    let verified = verify_answer(answer, custodian, own_key, "Patient", Owner::Identified { system, value })?;
    let [one] = &verified.records[..] else {
        return Err(refuse(None, "the answer does not hold exactly one Patient for the identifier"));
    };
    let id = one.resource.id().unwrap_or_default().to_owned();
    Ok((verified, id))
}

/// Whom an answer's records must belong to.
#[derive(Clone, Copy)]
enum Owner<'a> {
    /// The patient of this logical id at the custodian.
    Patient(&'a str),
    /// The Patient that carries this identifier.
    Identified { system: &'a str, value: &'a str },
}

fn carries_identifier(canonical: &[u8], system: &str, value: &str) -> bool {
    let Ok(resource) = serde_json::from_slice::<serde_json::Value>(canonical) else { return false };
    resource["identifier"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|identifier| identifier["system"].as_str() == Some(system) && identifier["value"].as_str() == Some(value))
}

fn verify_answer(
    answer: &PeerRecords,
    custodian: &Peer,
    own_key: &NodeKeyPair,
    resource_type: &str,
    owner: Owner<'_>,
) -> Result<VerifiedAnswer, VerifyPeerError> {
    let head_bytes = HEXLOWER.decode(answer.head.as_bytes()).map_err(|_| refuse(None, "the head is not hex"))?;
    let head = SignedBlockHeader::decode(&head_bytes).map_err(|_| refuse(None, "the head does not decode"))?;
    let custodian_key = ledger_adapter::NodePublicKey::from_compressed(&custodian.public_key.to_bytes())
        .map_err(|_| refuse(None, "the custodian's configured key is invalid"))?;
    if head.header.node_key_id != custodian_key.key_id() {
        return Err(refuse(None, "the head is signed by another node than the custodian"));
    }
    head.verify_signature(&custodian_key).map_err(|_| refuse(None, "the head's signature does not verify"))?;
    let (tree_size, root) = (head.header.tree_size, head.header.tree_root);
    let included = |proven: &super::ProvenRecord| -> Result<Vec<u8>, VerifyPeerError> {
        let seq = Some(proven.seq);
        let bytes = BASE64.decode(proven.record.as_bytes()).map_err(|_| refuse(seq, "record is not base64"))?;
        let path = proven
            .audit_path
            .iter()
            .map(|h| Hash::from_hex(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| refuse(seq, "audit path is not hex"))?;
        verify_inclusion(proven.seq, tree_size, &hash_leaf(&bytes), &path, &root)
            .map_err(|_| refuse(seq, "record is not in the custodian's signed ledger"))?;
        Ok(bytes)
    };

    let own_id = own_key.key_id().to_string();
    let mut patient: Option<String> = None;
    let mut keys: HashMap<u32, PatientKey> = HashMap::new();
    for proven in &answer.grants {
        let seq = Some(proven.seq);
        let bytes = included(proven)?;
        let Ok(LedgerRecord::Grant(grant)) = LedgerRecord::decode(&bytes) else {
            return Err(refuse(seq, "a grant that is no Grant record"));
        };
        if grant.grantee != own_id {
            return Err(refuse(seq, "a grant to another node"));
        }
        if grant.node != custodian.key_id_hex {
            return Err(refuse(seq, "a grant recorded by another node"));
        }
        if patient.get_or_insert_with(|| grant.patient.clone()) != &grant.patient {
            return Err(refuse(seq, "grants of different patients"));
        }
        if !grant.covers(resource_type) {
            return Err(refuse(seq, "a grant that does not cover the resource type"));
        }
        let wrapped = HEXLOWER
            .decode(grant.wrapped_key.as_bytes())
            .ok()
            .and_then(|bytes| WrappedKey::from_bytes(&bytes).ok())
            .ok_or_else(|| refuse(seq, "the wrapped key does not decode"))?;
        let context = grant_wrap_context(&grant.patient, grant.epoch, &grant.grantee);
        let key = unwrap_patient_key(&wrapped, own_key, &context)
            .map_err(|_| refuse(seq, "the patient key does not unwrap with this node's key"))?;
        keys.insert(grant.epoch, key);
    }

    // Each record's checks are independent of the others': run them in parallel.
    let records = answer
        .records
        .par_iter()
        .map(|proven| -> Result<VerifiedRecord, VerifyPeerError> {
            let seq = Some(proven.seq);
            let bytes = included(proven)?;
            let Ok(LedgerRecord::ResourceVersion(record)) = LedgerRecord::decode(&bytes) else {
                return Err(refuse(seq, "a record that is no resource version"));
            };
            if record.resource_type != resource_type {
                return Err(refuse(seq, "a record of another resource type"));
            }
            if record.node != custodian.key_id_hex {
                return Err(refuse(seq, "a record committed by another node"));
            }
            if record.patient.is_none() || record.patient != patient {
                return Err(refuse(seq, "a record of another patient"));
            }
            if record.operation == Operation::Delete {
                return Err(refuse(seq, "a deleted version"));
            }
            let sealed = proven
                .ciphertext
                .as_deref()
                .and_then(|c| BASE64.decode(c.as_bytes()).ok())
                .ok_or_else(|| refuse(seq, "no ciphertext"))?;
            let cid: Cid =
                record.cid.as_deref().and_then(|c| c.parse().ok()).ok_or_else(|| refuse(seq, "no valid CID"))?;
            if !cid.matches(&sealed) {
                return Err(refuse(seq, "the ciphertext does not match the record's CID"));
            }
            let key = keys.get(&record.epoch).ok_or_else(|| refuse(seq, "no grant for the record's key epoch"))?;
            let canonical = open_sealed(key, &record, &sealed).map_err(|what| refuse(seq, what))?.plaintext;
            let resource = fhir_models::parse_and_validate(&canonical)
                .map_err(|_| refuse(seq, "the content is no valid resource"))?;
            if resource.resource_type() != resource_type {
                return Err(refuse(seq, "the content is of another resource type"));
            }
            let belongs = match owner {
                Owner::Patient(patient_id) => owning_patient(resource_type, &canonical).as_deref() == Some(patient_id),
                Owner::Identified { system, value } => carries_identifier(&canonical, system, value),
            };
            if !belongs {
                return Err(refuse(seq, "the content belongs to another patient than the one asked for"));
            }
            Ok(VerifiedRecord { seq: proven.seq, record, resource })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VerifiedAnswer { records, tree_size, head, patient, withheld: answer.withheld })
}
