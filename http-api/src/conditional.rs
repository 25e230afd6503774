//! Conditional interactions (FHIR R4 §3.1.0.8.1, .10.2, .12.1): create with `If-None-Exist`,
//! update and delete on a search URL (`PUT /fhir/Patient?identifier=...`). The condition is a
//! search over the blind index ([`crate::indexed_search::matches`]); unknown parameters in it are
//! refused, since ignoring one would widen the condition.
//!
//! A conditional write holds one lock from its search to its durable commit, so two of them
//! cannot both find nothing and both create (HAPI FHIR #3141, Microsoft fhir-server #1382); an
//! update of the one match is committed on condition that its version is still current.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use crate::fhir::{self, Expect};
use crate::interaction;
use crate::state::AppState;
use smart_auth::Principal;

use crate::auth::Authenticated;

/// `POST /fhir/{type}` with `If-None-Exist`: no match creates (201), one match answers it (200,
/// nothing written), more are refused (412).
pub async fn create(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: &str,
    condition: &str,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_search(resource_type)?;
    let _serialised = state.conditional.lock().await;
    let found = crate::indexed_search::matches(state, resource_type, condition).await?;
    match found.as_slice() {
        [] => {
            let expect = Expect::One { resource_type, id: None, if_match: None };
            let done = fhir::ingest(state, caller, body, expect).await?;
            let receipt = done.receipts.first().ok_or(ApiError::Internal("a create without a receipt".into()))?;
            fhir::answer_write(state, request, receipt, &done.notes).await
        }
        [(id, record)] => existing(state, request, caller, resource_type, id, record).await,
        many => Err(ApiError::PreconditionFailed(format!(
            "If-None-Exist matches {} resources: nothing was created",
            many.len()
        ))),
    }
}

/// The one resource a conditional create matched: 200 with it, as a read (audited).
async fn existing(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: &str,
    id: &str,
    record: &node_store::records::ResourceVersion,
) -> Result<HttpResponse, ApiError> {
    caller.require_read(resource_type)?;
    let node = state.node.clone();
    let (rt, rid) = (resource_type.to_owned(), id.to_owned());
    let resource = web::block(move || {
        let (seq, record) = node.locate(&rt, &rid, None)?;
        node.open_record(seq, record).and_then(|opened| opened.resource())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    crate::audit::record(
        state,
        caller,
        "read",
        true,
        record.patient.clone(),
        Some(resource_type.to_owned()),
        Some(record.resource.clone()),
    )
    .await?;
    let location =
        format!("{}/{resource_type}/{id}/_history/{}", interaction::base_url(state, request), record.version);
    let mut response = HttpResponse::Ok();
    response
        .insert_header((actix_web::http::header::LOCATION, location))
        .insert_header((actix_web::http::header::ETAG, interaction::etag(record.version)))
        .insert_header((actix_web::http::header::LAST_MODIFIED, interaction::http_date(record.time_ms)));
    Ok(match interaction::Prefer::of(request).return_ {
        interaction::Return::Minimal => response.finish(),
        _ => response.content_type(fhir_models::JSON_MIME_TYPE).body(fhir_models::to_json(&resource)),
    })
}

/// `PUT` and `DELETE` of `/fhir/{type}?search`.
pub async fn on_type(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let resource_type = path.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    let condition: String = url::form_urlencoded::parse(request.query_string().as_bytes())
        .filter(|(name, _)| name != "_format")
        .map(|(name, value)| format!("{}={}", urlencode(&name), urlencode(&value)))
        .collect::<Vec<_>>()
        .join("&");
    let if_match = interaction::if_match(&request)?;
    match *request.method() {
        actix_web::http::Method::DELETE => {
            delete(&state, &request, &caller, &resource_type, &condition, if_match).await
        }
        _ => update(&state, &request, &caller, &resource_type, &condition, body, if_match).await,
    }
}

/// Whether `Type/id` has a version (a conditional update that matched nothing may create it only
/// when it has none).
pub(crate) async fn exists(state: &AppState, resource_type: &str, id: &str) -> Result<bool, ApiError> {
    let node = state.node.clone();
    let (rt, rid) = (resource_type.to_owned(), id.to_owned());
    web::block(move || node.locate(&rt, &rid, None).is_ok()).await.map_err(|e| ApiError::Internal(e.to_string()))
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Conditional update: no match creates (with the body's id, unless that id exists: 409), one
/// match is updated (the body's id, if any, must be its id), more are refused (412).
pub(crate) async fn update(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: &str,
    condition: &str,
    body: web::Bytes,
    if_match: Option<u32>,
) -> Result<HttpResponse, ApiError> {
    caller.require_write(resource_type)?;
    caller.require_search(resource_type)?;
    interaction::check_format(request)?;
    fhir::require_fhir_json(request)?;
    fhir::refuse_bundle_as_resource(resource_type)?;
    fhir::check_type(&body, resource_type)?;
    if condition.is_empty() {
        return Err(ApiError::BadRequest("PUT needs an id in the URL, or a search (conditional update)".into()));
    }
    let given =
        fhir_json::JsonReader::new(&body).peek_object_string_member("id").ok().flatten().map(|id| id.into_owned());
    let _serialised = state.conditional.lock().await;
    let found = crate::indexed_search::matches(state, resource_type, condition).await?;
    let body_has_id = given.is_some();
    let (id, version) = match found.as_slice() {
        [] => match given {
            Some(id) => {
                if exists(state, resource_type, &id).await? {
                    return Err(ApiError::Conflict(format!(
                        "{resource_type}/{id} exists but does not match the condition: not updated"
                    )));
                }
                (Some(id), None)
            }
            None => (None, None),
        },
        [(id, record)] => {
            if given.as_deref().is_some_and(|given| given != id) {
                return Err(fhir::invalid(
                    format!("{resource_type}.id"),
                    "the resource id is not the id of the resource the condition matches",
                ));
            }
            if if_match.is_some_and(|expected| expected != record.version) {
                return Err(ApiError::PreconditionFailed(format!(
                    "the matched resource's current version is {}, not the one in If-Match",
                    record.version
                )));
            }
            (Some(id.clone()), Some(record.version))
        }
        many => {
            return Err(ApiError::PreconditionFailed(format!(
                "the condition matches {} resources: nothing was updated",
                many.len()
            )))
        }
    };
    // The matched id goes into a body that has none.
    let body = match (&id, body_has_id) {
        (Some(id), false) => {
            let mut resource: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|_| fhir::invalid(resource_type.to_owned(), "the body is not a JSON object"))?;
            resource["id"] = serde_json::Value::String(id.clone());
            web::Bytes::from(serde_json::to_vec(&resource).map_err(|e| ApiError::Internal(e.to_string()))?)
        }
        _ => body,
    };
    let expect = Expect::One { resource_type, id: id.as_deref(), if_match: version };
    let done = fhir::ingest(state, caller, body, expect).await?;
    let receipt = done.receipts.first().ok_or(ApiError::Internal("an update without a receipt".into()))?;
    fhir::answer_write(state, request, receipt, &done.notes).await
}

/// Conditional delete: no match deletes nothing (200), one match is deleted, more are refused
/// (412: this server deletes one at a time).
pub(crate) async fn delete(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: &str,
    condition: &str,
    if_match: Option<u32>,
) -> Result<HttpResponse, ApiError> {
    caller.require_delete(resource_type)?;
    caller.require_search(resource_type)?;
    interaction::check_format(request)?;
    if condition.is_empty() {
        return Err(ApiError::BadRequest("DELETE needs an id in the URL, or a search (conditional delete)".into()));
    }
    let _serialised = state.conditional.lock().await;
    let found = crate::indexed_search::matches(state, resource_type, condition).await?;
    match found.as_slice() {
        [] => Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).body(interaction::outcome_json(&[
            fhir::information(format!("no {resource_type} matches the condition: nothing to delete")),
        ]))),
        // The version the condition matched is the one deleted: a write in between is a 412.
        [(id, record)] => fhir::delete_one(state, caller, resource_type, id, if_match.or(Some(record.version))).await,
        many => Err(ApiError::PreconditionFailed(format!(
            "the condition matches {} resources: this server deletes one at a time",
            many.len()
        ))),
    }
}
