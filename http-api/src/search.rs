//! `GET /fhir/{type}?patient=...`: the patient's records of a type, this node's own and those
//! peer custodians hold under a grant to this node (each verified against the custodian's
//! signed ledger; see [`exchange`]). The search itself is an `Access` record. A search that
//! finds nothing because every custodian asked refused this node is a 403 (and a denied `Access`).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use exchange::search::run::run;
use exchange::search::SearchQuery;

/// `GET /fhir/{type}`.
pub async fn search(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let resource_type = path.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    crate::interaction::check_format(&request)?;
    let pairs: Vec<(String, String)> = query.into_inner().into_iter().filter(|(name, _)| name != "_format").collect();
    let query = SearchQuery::parse(&pairs).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let patient = state.node.patient_pseudonym(&query.patient).to_string();
    let permitted = caller.require_search(&resource_type);
    if let Err(denied) = permitted {
        crate::audit::record(&state, &caller, "search", false, Some(patient), Some(resource_type), None).await?;
        return Err(denied.into());
    }
    let (node, client, rt, q) = (state.node.clone(), state.peer_client.clone(), resource_type.clone(), query.clone());
    let results = web::block(move || run(&node, &client, &rt, &q))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let refused = results.refused();
    crate::audit::record(&state, &caller, "search", !refused, Some(patient), Some(resource_type), None).await?;
    if refused {
        let why: Vec<String> = results.problems.iter().map(ToString::to_string).collect();
        return Err(ApiError::Forbidden(why.join("; ")));
    }
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(results.to_bundle(&query)))
}
