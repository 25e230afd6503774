//! `GET /fhir/{type}?...`: by any token, reference or uri parameter over the blind index
//! (`crate::indexed_search`), or, for `patient=` alone (with `_lastUpdated`, `_count`,
//! `_offset`), the patient's records of a type, this node's own and those
//! peer custodians hold under a grant to this node (each verified against the custodian's
//! signed ledger; see [`exchange`]). The search itself is an `Access` record. A search that
//! finds nothing because every custodian asked refused this node is a 403 (and a denied `Access`).

use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::state::AppState;
use exchange::search::run::run;
use exchange::search::SearchQuery;
use smart_auth::Principal;

/// An identifier that several Patients here carry names no one patient: refused, rather than
/// merge different people's records into one answer (a custodian refuses it too).
async fn one_local_patient(state: &AppState, system: &str, value: &str) -> Result<(), ApiError> {
    let node = state.node.clone();
    let (system, value) = (system.to_owned(), value.to_owned());
    let found = web::block(move || node.patients_with_identifier(&system, &value))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match found {
        Ok(seqs) if seqs.len() > 1 => Err(ApiError::PreconditionFailed(format!(
            "{} Patients here carry the identifier: it names no one patient",
            seqs.len()
        ))),
        Ok(_) => Ok(()),
        Err(node_store::search::SearchError::TooCostly(_)) => {
            Err(ApiError::TooCostly("too many Patients here carry the identifier".into()))
        }
        Err(error) => Err(ApiError::Internal(error.to_string())),
    }
}

/// `GET /fhir/{type}`.
pub async fn search(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    run_search(&state, &request, &caller, path.into_inner(), query.into_inner()).await
}

/// A search of `resource_type` by `pairs` (a request's query, or a batch entry's URL).
pub(crate) async fn run_search(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: String,
    pairs: Vec<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    crate::interaction::check_format(request)?;
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(name, _)| name != "_format").collect();
    if !crate::indexed_search::is_patient_search(&pairs) {
        if let Err(denied) = caller.require_search(&resource_type) {
            crate::audit::record(state, caller, "search", false, None, Some(resource_type), None).await?;
            return Err(denied.into());
        }
        return crate::indexed_search::search(state, request, caller, &resource_type, &pairs).await;
    }
    let query = SearchQuery::parse(&pairs).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // Named by identifier, the patient is known here only if a local record matched.
    let patient = (query.identifier.is_none()).then(|| state.node.patient_pseudonym(&query.patient).to_string());
    // Resolving an identifier is a search of Patients as well.
    let permitted = caller.require_search(&resource_type).and_then(|()| {
        if query.identifier.is_some() {
            caller.require_search("Patient")
        } else {
            Ok(())
        }
    });
    if let Err(denied) = permitted {
        crate::audit::record(state, caller, "search", false, patient, Some(resource_type), None).await?;
        return Err(denied.into());
    }
    if let Some((system, value)) = &query.identifier {
        one_local_patient(state, system, value).await?;
    }
    let (node, client, rt, q) = (state.node.clone(), state.peer_client.clone(), resource_type.clone(), query.clone());
    let results = web::block(move || run(&node, &client, &rt, &q))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // `patient=` means what the type's `patient` parameter says (`Observation.subject` a
    // Patient), which is narrower than the patient's compartment the records are found by (a
    // performer is in it too): matches are kept only when the parameter holds for them.
    let mut results = results;
    if let Some(param) = fhir_models::search::search_param(&resource_type, "patient").filter(|p| p.paths.is_some()) {
        results.matches.retain(|m| {
            let relative = format!("r|Patient/{}", m.patient_id);
            let absolute = format!("/Patient/{}", m.patient_id);
            fhir_models::search::index_terms(param, &m.resource)
                .iter()
                .any(|term| *term == relative || (term.contains("://") && term.ends_with(&absolute)))
        });
    }
    let refused = results.refused();
    // Every local patient shown is audited under its own pseudonym (by identifier, there may be
    // none here, and the records shown are then the custodians').
    let mut local: Vec<&str> =
        results.matches.iter().filter(|m| m.custodian.is_none()).map(|m| m.patient_id.as_str()).collect();
    local.sort_unstable();
    local.dedup();
    if patient.is_some() || local.is_empty() {
        crate::audit::record(state, caller, "search", !refused, patient, Some(resource_type.clone()), None).await?;
    }
    if query.identifier.is_some() {
        for id in local {
            let pseudonym = state.node.patient_pseudonym(id).to_string();
            crate::audit::record(state, caller, "search", true, Some(pseudonym), Some(resource_type.clone()), None)
                .await?;
        }
    }
    if refused {
        let why: Vec<String> = results.problems.iter().map(ToString::to_string).collect();
        return Err(ApiError::Forbidden(why.join("; ")));
    }
    // Entries of this node's own records are relative: FHIR wants them absolute.
    let mut bundle = results.to_bundle(&query);
    let base = crate::interaction::base_url(state, request);
    for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
        if let Some(relative) = entry["fullUrl"].as_str().filter(|url| !url.contains("://")).map(str::to_owned) {
            entry["fullUrl"] = serde_json::Value::String(format!("{base}/{relative}"));
        }
    }
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(bundle))
}
