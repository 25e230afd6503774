//! Running a search: the node's own records of the patient, and the records that peer custodians
//! hold for the patient under a grant to this node, each verified; then one FHIR searchset Bundle.

use rayon::prelude::*;
use serde_json::{json, Value};

use super::SearchQuery;
use crate::client::{PeerClient, PeerFetchError};
use crate::verify::{verify_identified_patient, verify_peer_records};
use node_store::clock::format_instant;
use node_store::read::ReadError;
use node_store::{Node, Peer};

/// One match, local or from a peer.
#[derive(Debug)]
pub struct Match {
    /// The resource, with `meta.versionId` and `meta.lastUpdated` from the ledger that holds it
    /// (and `meta.source` naming the custodian for a peer's record).
    pub resource: Value,
    /// When its ledger accepted it (ms since the Unix epoch).
    pub time_ms: u64,
    /// Where it can be read: `{type}/{id}` here, or the custodian's URL.
    pub full_url: String,
    /// The custodian's key id, for a peer's record.
    pub custodian: Option<String>,
    /// The logical id, at its custodian, of the patient it was found through.
    pub patient_id: String,
}

/// Why a peer contributed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// It refused by consent: no grant in force, type not granted, outside the grant's period.
    Denied,
    /// It refused this node's authentication (it does not know this node's key).
    Unauthenticated,
    /// What it served failed verification (a security event).
    Forged,
    /// It could not be reached, or failed.
    Unavailable,
}

impl ProblemKind {
    /// Whether the peer refused this node, rather than failed or lied.
    pub fn is_refusal(self) -> bool {
        matches!(self, Self::Denied | Self::Unauthenticated)
    }

    /// The OperationOutcome severity and issue type that report it.
    fn severity_and_code(self) -> (&'static str, &'static str) {
        match self {
            Self::Denied => ("information", "forbidden"),
            Self::Unauthenticated => ("warning", "login"),
            Self::Forged => ("error", "security"),
            Self::Unavailable => ("warning", "transient"),
        }
    }
}

/// A peer that contributed nothing, and why.
#[derive(Debug)]
pub struct PeerProblem {
    /// Its organisation.
    pub organization: String,
    /// Its key id.
    pub key_id: String,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What happened (no PHI: fixed texts, seqs, the peer's own OperationOutcome text).
    pub message: String,
}

impl std::fmt::Display for PeerProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "custodian {} ({}): {}", self.organization, self.key_id, self.message)
    }
}

/// The result of a search over this node and its peers.
#[derive(Debug, Default)]
pub struct SearchResults {
    /// Everything that matched, local first then per peer, in ledger order.
    pub matches: Vec<Match>,
    /// Peers that contributed nothing.
    pub problems: Vec<PeerProblem>,
    /// Records peers withheld (sealed under epochs never granted to this node).
    pub withheld: u64,
}

fn resource_json(resource: &fhir_models::Resource) -> Value {
    serde_json::from_slice(&fhir_models::to_json(resource)).unwrap_or(Value::Null)
}

fn set_meta(resource: &mut Value, version: u32, time_ms: u64) {
    let meta = &mut resource["meta"];
    if !meta.is_object() {
        *meta = json!({});
    }
    meta["versionId"] = version.to_string().into();
    meta["lastUpdated"] = format_instant(time_ms).into();
}

/// The node's own matches.
fn local(node: &Node, resource_type: &str, query: &SearchQuery) -> Result<Vec<Match>, ReadError> {
    let mut out = Vec::new();
    for patient_id in local_patients(node, query)? {
        local_of(node, resource_type, query, &patient_id, &mut out)?;
    }
    Ok(out)
}

/// The patients the query names here: its `patient`, or those whose Patient carries its
/// identifier (through this node's blind index).
fn local_patients(node: &Node, query: &SearchQuery) -> Result<Vec<String>, ReadError> {
    let Some((system, value)) = &query.identifier else { return Ok(vec![query.patient.clone()]) };
    let seqs = match node.patients_with_identifier(system, value) {
        Ok(seqs) => seqs,
        Err(node_store::search::SearchError::Read(error)) => return Err(error),
        // As many Patients as that share one identifier name no one patient.
        Err(node_store::search::SearchError::TooCostly(_)) => Vec::new(),
    };
    let mut ids = Vec::new();
    for seq in seqs {
        let record = node.record_at(seq)?;
        ids.extend(node.logical_id_of(seq, &record)?);
    }
    Ok(ids)
}

fn local_of(
    node: &Node,
    resource_type: &str,
    query: &SearchQuery,
    patient_id: &str,
    out: &mut Vec<Match>,
) -> Result<(), ReadError> {
    let patient = node.patient_pseudonym(patient_id);
    for (seq, record) in node.patient_records(patient.as_bytes(), resource_type)? {
        if !query.matches_time(record.time_ms) {
            continue;
        }
        let opened = node.open_record(seq, record)?;
        let resource = resource_json(&opened.resource()?);
        let id = resource["id"].as_str().unwrap_or_default().to_owned();
        out.push(Match {
            resource,
            time_ms: opened.record.time_ms,
            full_url: format!("{resource_type}/{id}"),
            custodian: None,
            patient_id: patient_id.to_owned(),
        });
    }
    Ok(())
}

/// One peer's verified matches, or why there are none.
fn remote(
    node: &Node,
    client: &PeerClient,
    peer: &Peer,
    resource_type: &str,
    query: &SearchQuery,
) -> Result<(Vec<Match>, u64), PeerProblem> {
    let problem = |kind: ProblemKind, message: String| PeerProblem {
        organization: peer.organization.clone(),
        key_id: peer.key_id_hex.clone(),
        kind,
        message,
    };
    // The custodian's latest anchor, looked up first: the answer must extend it.
    let anchored = match client.anchors() {
        Some(view) => {
            let key_id = node_store::hex32(&peer.key_id_hex)
                .ok_or_else(|| problem(ProblemKind::Forged, "the custodian's key id is not hex".into()))?;
            view.latest_final(&key_id).map_err(|e| {
                problem(
                    ProblemKind::Unavailable,
                    format!("the custodian's anchor could not be read from the chain: {e}"),
                )
            })?
        }
        None => None,
    };
    let fetched = |e| match e {
        PeerFetchError::Denied(why) => problem(ProblemKind::Denied, why),
        e @ PeerFetchError::Unauthorized(_) => problem(ProblemKind::Unauthenticated, e.to_string()),
        other => problem(ProblemKind::Unavailable, other.to_string()),
    };
    let forged = |e: crate::VerifyPeerError| {
        tracing::warn!(custodian = %peer.key_id_hex, error = %e, "A custodian's answer failed verification; refused whole.");
        problem(ProblemKind::Forged, format!("the custodian's answer failed verification: {e}"))
    };
    let check_anchor = |verified: &crate::verify::VerifiedAnswer, answer: &crate::PeerRecords| {
        let Some(anchored) = &anchored else { return Ok(()) };
        let custodian_key = ledger_adapter::NodePublicKey::from_compressed(&peer.public_key.to_bytes())
            .map_err(|_| problem(ProblemKind::Forged, "the custodian's configured key is invalid".into()))?;
        crate::anchor::verify_anchor(&verified.head, answer.anchor.as_ref(), anchored, &custodian_key).map_err(|why| {
            tracing::warn!(custodian = %peer.key_id_hex, error = %why, "A custodian's head does not extend its anchor; answer refused whole.");
            problem(ProblemKind::Forged, format!("the custodian's answer does not match its anchor on the chain: {why}"))
        })
    };
    let height = anchored.as_ref().map(|a| a.height);
    // Named by identifier, the patient is first found at the custodian (its Patient, which must
    // carry the identifier), then read by the id it has there.
    let (patient_id, identified) = match &query.identifier {
        None => (query.patient.clone(), None),
        Some((system, value)) => {
            let answer = client.fetch_identified(peer, &format!("{system}|{value}"), height).map_err(fetched)?;
            let (verified, id) =
                verify_identified_patient(&answer, peer, &node.node_key, system, value).map_err(forged)?;
            check_anchor(&verified, &answer)?;
            (id, Some(verified))
        }
    };
    let verified = match identified {
        Some(verified) if resource_type == "Patient" => verified,
        _ => {
            let answer = client.fetch(peer, &patient_id, resource_type, height).map_err(fetched)?;
            let verified =
                verify_peer_records(&answer, peer, &node.node_key, resource_type, &patient_id).map_err(forged)?;
            check_anchor(&verified, &answer)?;
            verified
        }
    };
    let base = peer.url.as_deref().unwrap_or_default().trim_end_matches('/');
    let out = verified
        .records
        .into_par_iter()
        .filter(|record| query.matches_time(record.record.time_ms))
        .map(|record| {
            let mut resource = resource_json(&record.resource);
            set_meta(&mut resource, record.record.version, record.record.time_ms);
            let id = resource["id"].as_str().unwrap_or_default().to_owned();
            let full_url = format!("{base}/fhir/{resource_type}/{id}");
            resource["meta"]["source"] = format!("{full_url}/_history/{}", record.record.version).into();
            let tag =
                json!({"system": "urn:fhir-ledger-bridge:custodian", "code": peer.key_id_hex, "display": peer.organization});
            match resource["meta"]["tag"].as_array_mut() {
                Some(tags) => tags.push(tag),
                None => resource["meta"]["tag"] = json!([tag]),
            }
            Match {
                resource,
                time_ms: record.record.time_ms,
                full_url,
                custodian: Some(peer.key_id_hex.clone()),
                patient_id: patient_id.clone(),
            }
        })
        .collect();
    Ok((out, verified.withheld))
}

/// Runs `query` over this node's records of `resource_type` and those of every peer with a URL
/// (asked in parallel).
pub fn run(
    node: &Node,
    client: &PeerClient,
    resource_type: &str,
    query: &SearchQuery,
) -> Result<SearchResults, ReadError> {
    let mut results = SearchResults { matches: local(node, resource_type, query)?, ..SearchResults::default() };
    let peers: Vec<&Peer> = node.peers.iter().filter(|p| p.url.is_some()).collect();
    let answers: Vec<Result<(Vec<Match>, u64), PeerProblem>> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            peers.iter().map(|peer| scope.spawn(move || remote(node, client, peer, resource_type, query))).collect();
        handles
            .into_iter()
            .zip(&peers)
            .map(|(handle, peer)| {
                handle.join().unwrap_or_else(|_| {
                    Err(PeerProblem {
                        organization: peer.organization.clone(),
                        key_id: peer.key_id_hex.clone(),
                        kind: ProblemKind::Unavailable,
                        message: "the peer read panicked".into(),
                    })
                })
            })
            .collect()
    });
    for answer in answers {
        match answer {
            Ok((matches, withheld)) => {
                results.matches.extend(matches);
                results.withheld += withheld;
            }
            Err(problem) => results.problems.push(problem),
        }
    }
    Ok(results)
}

impl SearchResults {
    /// Whether the search is refused as a whole: nothing matched, and every peer asked refused
    /// this node (no grant in force, or not this node's key). A search that found nothing
    /// anywhere because nothing exists is not refused: no peer refused it.
    pub fn refused(&self) -> bool {
        self.matches.is_empty()
            && self.withheld == 0
            && !self.problems.is_empty()
            && self.problems.iter().all(|p| p.kind.is_refusal())
    }

    /// The problems as OperationOutcome issues.
    fn outcome_issues(&self) -> Vec<Value> {
        let mut issues: Vec<Value> = self
            .problems
            .iter()
            .map(|p| {
                let (severity, code) = p.kind.severity_and_code();
                json!({"severity": severity, "code": code, "diagnostics": p.to_string()})
            })
            .collect();
        if self.withheld > 0 {
            issues.push(json!({"severity": "information", "code": "suppressed",
                "diagnostics": format!("{} record(s) are sealed under key epochs never granted to this node", self.withheld)}));
        }
        issues
    }

    /// The page `query` asks for, as a FHIR searchset Bundle. Peers that contributed nothing
    /// appear as an OperationOutcome entry (`search.mode = outcome`).
    pub fn to_bundle(&self, query: &SearchQuery) -> Value {
        let mut entries: Vec<Value> = self
            .matches
            .iter()
            .skip(query.offset)
            .take(query.count)
            .map(|m| json!({"fullUrl": m.full_url, "resource": m.resource, "search": {"mode": "match"}}))
            .collect();
        if !self.problems.is_empty() || self.withheld > 0 {
            entries.push(json!({"resource": {"resourceType": "OperationOutcome", "issue": self.outcome_issues()},
                                "search": {"mode": "outcome"}}));
        }
        json!({"resourceType": "Bundle", "type": "searchset", "total": self.matches.len(), "entry": entries})
    }
}
