//! `GET /peer/records?patient=ID&type=T` (or `?identifier=system|value&type=Patient`: the
//! Patient that carries a shared identifier): the custodian's side of a cross-institution read. Only
//! peer nodes (clients registered with a node key) may call it, and only for a patient who has
//! granted them access; every answer and every refusal is an `Access` record, durable before the
//! answer goes out.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use node_store::clock::now_ms;

/// Query of `GET /peer/records`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerRecordsQuery {
    #[serde(default)]
    patient: Option<String>,
    /// `system|value` of the patient's identifier, instead of `patient` (with `type=Patient`).
    #[serde(default)]
    identifier: Option<String>,
    #[serde(rename = "type")]
    resource_type: String,
    /// The height of this node's latest anchor as the caller sees it on the chain: the answer
    /// then proves its head extends that block.
    #[serde(default)]
    anchored_height: Option<u64>,
}

/// Whom a peer read is of.
enum Subject {
    Patient(String),
    Identifier(String, String),
}

/// `GET /peer/records`.
pub async fn records(
    state: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<PeerRecordsQuery>,
) -> Result<HttpResponse, ApiError> {
    let PeerRecordsQuery { patient, identifier, resource_type, anchored_height } = query.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    let subject = match (patient, identifier) {
        (Some(patient), None) => Subject::Patient(patient),
        (None, Some(identifier)) if resource_type == "Patient" => match identifier.split_once('|') {
            Some((system, value)) if !system.is_empty() && !value.is_empty() => {
                Subject::Identifier(system.to_owned(), value.to_owned())
            }
            _ => return Err(ApiError::BadRequest("identifier is system|value".into())),
        },
        (None, Some(_)) => {
            return Err(ApiError::BadRequest("a patient is found by identifier with type=Patient".into()))
        }
        _ => return Err(ApiError::BadRequest("give patient or identifier, one of them".into())),
    };
    let Some(grantee) = caller.node_key_id.clone() else {
        let pseudonym = match &subject {
            Subject::Patient(patient) => Some(state.node.patient_pseudonym(patient).to_string()),
            Subject::Identifier(..) => None,
        };
        crate::audit::record(&state, &caller, "search", false, pseudonym, Some(resource_type), None).await?;
        return Err(ApiError::Forbidden("only peer nodes (clients with a node key) read through grants".into()));
    };
    let node = state.node.clone();
    let rt = resource_type.clone();
    let (pseudonym, answer) = web::block(move || match subject {
        Subject::Patient(patient) => {
            let (pseudonym, answer) =
                exchange::custodian::peer_records(&node, &grantee, &patient, &rt, anchored_height, now_ms());
            (Some(pseudonym), answer)
        }
        Subject::Identifier(system, value) => {
            exchange::custodian::identified_patient(&node, &grantee, &system, &value, anchored_height, now_ms())
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let permitted = answer.is_ok();
    crate::audit::record(&state, &caller, "search", permitted, pseudonym, Some(resource_type), None).await?;
    match answer {
        Ok(records) => Ok(HttpResponse::Ok().json(records)),
        Err(error) if error.is_denial() => Err(ApiError::Forbidden(error.to_string())),
        Err(error) => Err(ApiError::Internal(error.to_string())),
    }
}
