//! Audit: every read and denial becomes an `Access` ledger record, and `GET /fhir/AuditEvent?
//! patient=` gives them back to the patient as FHIR AuditEvents (who saw what, when, allowed or not).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use ingest_pipeline::batcher::SubmitError;
use node_store::clock::format_instant;
use node_store::clock::now_ms;
use node_store::kinds;
use node_store::records::{Access, LedgerRecord};
use smart_auth::Principal;

/// Who asked, as the ledger names it: a peer's node key id, or the pseudonym of a client id.
pub fn accessor(state: &AppState, caller: &Principal) -> String {
    caller
        .node_key_id
        .clone()
        .unwrap_or_else(|| state.node.pseudonyms.pseudonym(kinds::CLIENT, &caller.client_id).to_string())
}

/// Commits an `Access` record and waits until it is durable (audit before answer).
pub async fn record(
    state: &AppState,
    caller: &Principal,
    action: &str,
    permitted: bool,
    patient: Option<String>,
    resource_type: Option<String>,
    resource: Option<String>,
) -> Result<(), ApiError> {
    let access = Access {
        time_ms: now_ms(),
        node: state.node.key_id.clone(),
        accessor: accessor(state, caller),
        action: action.to_owned(),
        outcome: if permitted { "permit" } else { "deny" }.to_owned(),
        patient,
        resource_type,
        resource,
    };
    state.writer.record(vec![LedgerRecord::Access(access)]).await.map_err(|e| match e {
        SubmitError::Stopped => ApiError::Internal("the writer has stopped".into()),
        SubmitError::Commit(error) => ApiError::Internal(error.to_string()),
    })
}

/// Commits one `Access` record per `(patient, type, resource pseudonym)`, in one call to the
/// writer (a page of history shows versions of many patients: each sees its own).
pub async fn record_many(
    state: &AppState,
    caller: &Principal,
    action: &str,
    accesses: Vec<(Option<String>, String, String)>,
) -> Result<(), ApiError> {
    if accesses.is_empty() {
        return Ok(());
    }
    let accessor = accessor(state, caller);
    let records = accesses
        .into_iter()
        .map(|(patient, resource_type, resource)| {
            LedgerRecord::Access(Access {
                time_ms: now_ms(),
                node: state.node.key_id.clone(),
                accessor: accessor.clone(),
                action: action.to_owned(),
                outcome: "permit".to_owned(),
                patient,
                resource_type: Some(resource_type),
                resource: Some(resource),
            })
        })
        .collect();
    state.writer.record(records).await.map_err(|e| match e {
        SubmitError::Stopped => ApiError::Internal("the writer has stopped".into()),
        SubmitError::Commit(error) => ApiError::Internal(error.to_string()),
    })
}

/// Query of `GET /fhir/AuditEvent`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    patient: Option<String>,
}

/// `GET /fhir/AuditEvent?patient=ID`: the patient's Access records as a searchset Bundle.
pub async fn audit_events(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let Some(patient_id) = query.patient.clone() else {
        return Err(ApiError::BadRequest("AuditEvent search needs patient=ID".into()));
    };
    // Who looked at the patient's audit trail is itself on it.
    let pseudonym = state.node.patient_pseudonym(&patient_id).to_string();
    let audit_type = Some("AuditEvent".to_owned());
    if let Err(denied) = caller.require_search("AuditEvent") {
        record(&state, &caller, "search", false, Some(pseudonym), audit_type, None).await?;
        return Err(denied.into());
    }
    let node = state.node.clone();
    let id = patient_id.clone();
    let accesses = web::block(move || -> Result<Vec<(u64, Access)>, node_store::read::ReadError> {
        let patient = node.patient_pseudonym(&id);
        let mut out = Vec::new();
        for seq in node.index.accesses_of(patient.as_bytes())? {
            if let LedgerRecord::Access(access) = node.any_record_at(seq)? {
                out.push((seq, access));
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let entries: Vec<Value> = accesses
        .iter()
        .map(|(seq, a)| json!({"resource": audit_event(*seq, a, &patient_id), "search": {"mode": "match"}}))
        .collect();
    record(&state, &caller, "search", true, Some(pseudonym), audit_type, None).await?;
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries});
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(bundle))
}

/// One Access record as a FHIR AuditEvent.
fn audit_event(seq: u64, access: &Access, patient_id: &str) -> Value {
    let permitted = access.outcome == "permit";
    let mut entity = vec![json!({
        "what": {"reference": format!("Patient/{patient_id}")},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
        "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}
    })];
    let system_object = json!({"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"});
    match (&access.resource, &access.resource_type) {
        (Some(resource), _) => entity.push(json!({
            "what": {"identifier": {"system": "urn:fhir-ledger-bridge:resource", "value": resource}},
            "type": system_object,
            "name": access.resource_type,
        })),
        // A search names the type it searched.
        (None, Some(resource_type)) => entity.push(json!({"type": system_object, "name": resource_type})),
        (None, None) => {}
    }
    json!({
        "resourceType": "AuditEvent",
        "id": format!("ledger-{seq}"),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": access.action}],
        "action": "R",
        "recorded": format_instant(access.time_ms),
        "outcome": if permitted { "0" } else { "4" },
        "outcomeDesc": if permitted { "permitted" } else { "denied: the caller lacks the scope, or holds no grant in force" },
        "agent": [{"requestor": true, "who": {"identifier": {"system": "urn:fhir-ledger-bridge:accessor", "value": access.accessor}}}],
        "source": {"observer": {"identifier": {"system": "urn:fhir-ledger-bridge:node", "value": access.node}}},
        "entity": entity,
    })
}
