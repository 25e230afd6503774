//! The custodian's side of a cross-institution read: `GET /peer/records?patient=ID&type=T`, and
//! `POST /peer/records` with `{"identifier": "system|value", "type": "Patient"}` (the Patient that
//! carries a shared identifier; in a body, since an identifier is PHI and URLs are logged). Only
//! peer nodes (clients registered with a node key) may call them, and only for a patient who has
//! granted them access; every answer and every refusal is an `Access` record, durable before the
//! answer goes out.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use node_store::clock::now_ms;
use smart_auth::Principal;

/// Query of `GET /peer/records`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerRecordsQuery {
    patient: String,
    #[serde(rename = "type")]
    resource_type: String,
    /// The height of this node's latest anchor as the caller sees it on the chain: the answer
    /// then proves its head extends that block.
    #[serde(default)]
    anchored_height: Option<u64>,
}

/// Body of `POST /peer/records`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifiedQuery {
    /// `system|value`.
    identifier: String,
    /// `Patient`: the read is of the Patient that carries the identifier.
    #[serde(rename = "type")]
    resource_type: String,
    #[serde(default)]
    anchored_height: Option<u64>,
}

/// `GET /peer/records`.
pub async fn records(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<PeerRecordsQuery>,
) -> Result<HttpResponse, ApiError> {
    let PeerRecordsQuery { patient, resource_type, anchored_height } = query.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    let pseudonym = state.node.patient_pseudonym(&patient).to_string();
    let grantee = peer_node(&state, &caller, Some(pseudonym), &resource_type).await?;
    let node = state.node.clone();
    let rt = resource_type.clone();
    let (pseudonym, answer) = web::block(move || {
        exchange::custodian::peer_records(&node, &grantee, &patient, &rt, anchored_height, now_ms())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    answer_with(&state, &caller, Some(pseudonym), resource_type, answer).await
}

/// `POST /peer/records`: the Patient that carries an identifier, resolved here.
pub async fn identified(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: web::Json<IdentifiedQuery>,
) -> Result<HttpResponse, ApiError> {
    let IdentifiedQuery { identifier, resource_type, anchored_height } = body.into_inner();
    if resource_type != "Patient" {
        return Err(ApiError::BadRequest("a patient is found by identifier with type Patient".into()));
    }
    // `system|value`, each non-empty, no second `|` (the index term would be ambiguous).
    let (system, value) = identifier
        .split_once('|')
        .filter(|(s, v)| !s.is_empty() && !v.is_empty() && !v.contains('|'))
        .map(|(s, v)| (s.to_owned(), v.to_owned()))
        .ok_or_else(|| ApiError::BadRequest("identifier is system|value".into()))?;
    let grantee = peer_node(&state, &caller, None, &resource_type).await?;
    let node = state.node.clone();
    let (pseudonym, answer) = web::block(move || {
        exchange::custodian::identified_patient(&node, &grantee, &system, &value, anchored_height, now_ms())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    answer_with(&state, &caller, pseudonym, resource_type, answer).await
}

/// The caller's node key id; a caller that is no peer node is refused (and that is audited).
async fn peer_node(
    state: &AppState,
    caller: &Principal,
    pseudonym: Option<String>,
    resource_type: &str,
) -> Result<String, ApiError> {
    match caller.node_key_id.clone() {
        Some(grantee) => Ok(grantee),
        None => {
            crate::audit::record(state, caller, "search", false, pseudonym, Some(resource_type.to_owned()), None)
                .await?;
            Err(ApiError::Forbidden("only peer nodes (clients with a node key) read through grants".into()))
        }
    }
}

async fn answer_with(
    state: &AppState,
    caller: &Principal,
    pseudonym: Option<String>,
    resource_type: String,
    answer: Result<exchange::PeerRecords, exchange::PeerServeError>,
) -> Result<HttpResponse, ApiError> {
    let permitted = answer.is_ok();
    crate::audit::record(state, caller, "search", permitted, pseudonym, Some(resource_type), None).await?;
    match answer {
        Ok(records) => Ok(HttpResponse::Ok().json(records)),
        Err(error) if error.is_denial() => Err(ApiError::Forbidden(error.to_string())),
        Err(error) => Err(ApiError::Internal(error.to_string())),
    }
}
