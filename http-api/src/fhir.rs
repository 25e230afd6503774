//! FHIR endpoints: create, update, patch, delete, read, version read (Bundles: [`crate::bundle`]). Writes answer as FHIR servers do (see [`crate::interaction`]): the stored resource,
//! with `Location`, `ETag` and `Last-Modified`, and the ledger receipt in headers.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use fhir_models::validate::{error_outcome, IssueType, Severity, ValidationIssue};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::interaction::{self, Prefer, Return};
use crate::state::AppState;
use ingest_pipeline::batcher::SubmitError;
use ingest_pipeline::{self, Normalised, Receipt, RequestedChange};
use node_store::read::ReadError;
use smart_auth::Principal;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Refuses a body declared as anything but FHIR JSON (`text/plain`, XML, a form): FHIR answers
/// 415. A body without a content type is read as FHIR JSON.
pub(crate) fn require_fhir_json(request: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = request.headers().get(actix_web::http::header::CONTENT_TYPE) else { return Ok(()) };
    let mime = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/fhir+json" | "application/json" => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// What a route accepts: a Bundle to run (`POST /fhir`), or exactly one resource of the URL's
/// type (and id, for `PUT`).
#[derive(Clone, Copy)]
pub(crate) enum Expect<'a> {
    Bundle,
    /// A batch entry, as a Bundle of that one entry: one resource (or delete), on `if_match`.
    Entry {
        if_match: Option<u32>,
    },
    /// A transaction whose entries expect these versions (one per entry, in order): written all
    /// or nothing.
    Transaction {
        if_match: &'a [Option<u32>],
    },
    /// One resource; `if_match`: the version the writer must find current.
    One {
        resource_type: &'a str,
        id: Option<&'a str>,
        if_match: Option<u32>,
    },
}

/// What an ingest did: receipts, and notes on Consents that grant less
/// than they name (an organisation that is no peer, an actor in no recipient role).
pub(crate) struct Ingested {
    pub(crate) receipts: Vec<Receipt>,
    pub(crate) notes: Vec<String>,
}

/// Decodes and validates on a blocking thread (CPU work), then waits for the durable commit.
pub(crate) async fn ingest(
    state: &AppState,
    caller: &Principal,
    body: web::Bytes,
    expect: Expect<'_>,
) -> Result<Ingested, ApiError> {
    let node = state.node.clone();
    let mut prepared = web::block(move || ingest_pipeline::prepare(&[&body[..]], node.as_ref()))
        .await
        .map_err(internal)?
        .pop()
        .unwrap_or_default();
    if let Some(rejection) = std::mem::take(&mut prepared.rejections).into_iter().next() {
        state.writer.metrics().resources_rejected.inc();
        return Err(ApiError::refused(rejection.outcome));
    }
    if let Expect::One { resource_type, id, if_match } = expect {
        // A body that expands to several resources (a Bundle) is not one resource of this type.
        let [one] = &prepared.resources[..] else {
            return Err(unprocessable(resource_type.to_owned(), "a Bundle is submitted with POST /fhir"));
        };
        if one.resource_type != resource_type {
            return Err(invalid(format!("{resource_type}.resourceType"), "resourceType does not match the URL"));
        }
        if id.is_some_and(|id| id != one.id) {
            return Err(invalid(format!("{resource_type}.id"), "the resource id must equal the id in the URL"));
        }
        prepared.resources[0].if_match = if_match;
    }
    if let Expect::Entry { if_match } = expect {
        let [_] = &prepared.resources[..] else {
            return Err(ApiError::Internal("a batch entry is one resource".into()));
        };
        prepared.resources[0].if_match = if_match;
    }
    if let Expect::Transaction { if_match } = expect {
        if prepared.resources.len() != if_match.len() {
            return Err(ApiError::Internal("a transaction's entries and resources differ in number".into()));
        }
        for (resource, expected) in prepared.resources.iter_mut().zip(if_match) {
            resource.if_match = *expected;
        }
    }
    // Every resource written needs the caller's write scope for its type, and every delete its
    // delete scope (a Bundle's entries too).
    for resource in &prepared.resources {
        match resource.change {
            RequestedChange::Upsert => caller.require_write(resource.resource_type)?,
            RequestedChange::Delete => caller.require_delete(resource.resource_type)?,
        }
    }
    let notes = consent_notes(state, &prepared.resources);
    let source: std::sync::Arc<str> = std::sync::Arc::from("http");
    let resources: Vec<Normalised> = prepared
        .resources
        .into_iter()
        .map(|mut r| {
            r.source = source.clone();
            r
        })
        .collect();
    if resources.is_empty() {
        return Ok(Ingested { receipts: Vec::new(), notes });
    }
    let submitted = match expect {
        Expect::Transaction { .. } => state.writer.submit_all_or_nothing(resources).await,
        _ => state.writer.submit(resources).await,
    };
    let receipts = submitted.map_err(|e| match e {
        SubmitError::Stopped => ApiError::Internal("the writer has stopped".into()),
        SubmitError::Commit(error) => ApiError::Internal(error.to_string()),
    })?;
    Ok(Ingested { receipts, notes })
}

/// Why the Consents among `resources` grant less than they name: what their terms say, and
/// organisations that are no configured peer. Names elements and organisations only.
fn consent_notes(state: &AppState, resources: &[Normalised]) -> Vec<String> {
    let mut notes = Vec::new();
    for resource in resources.iter().filter(|r| r.resource_type == "Consent") {
        let Some(terms) = resource.canonical.as_deref().and_then(fhir_consent::terms) else { continue };
        let prefix = format!("Consent/{}: ", resource.id);
        notes.extend(terms.notes.iter().map(|n| format!("{prefix}{n}")));
        for permit in terms
            .permits
            .iter()
            .filter(|p| terms.in_force && !state.node.peers.iter().any(|peer| peer.organization == p.organization))
        {
            notes.push(format!(
                "{prefix}{} is no configured peer of this node, so it is granted nothing",
                permit.organization
            ));
        }
    }
    notes
}

/// The notes as an informational OperationOutcome, when there are any.
pub(crate) fn notes_outcome(notes: &[String]) -> Option<serde_json::Value> {
    if notes.is_empty() {
        return None;
    }
    serde_json::from_slice(&interaction::outcome_json(&interaction::note_issues(notes))).ok()
}

/// The answer to a create or update that the writer committed (or found stored): the stored
/// version as `Prefer` asks, with its `Location`, `ETag`, `Last-Modified` and receipt headers;
/// 412 when its `If-Match` did not hold.
pub(crate) async fn answer_write(
    state: &AppState,
    request: &HttpRequest,
    receipt: &Receipt,
    notes: &[String],
) -> Result<HttpResponse, ApiError> {
    if receipt.precondition_failed {
        return Err(precondition_failed(receipt));
    }
    let prefer = Prefer::of(request);
    let seq = receipt.seq.ok_or_else(|| ApiError::Internal("a write without a seq".into()))?;
    let node = state.node.clone();
    let with_body = prefer.return_ == Return::Representation;
    let (time_ms, body) = web::block(move || {
        let record = node.record_at(seq)?;
        let time_ms = record.time_ms;
        let body = match with_body {
            true => Some(fhir_models::to_json(&node.open_record(seq, record)?.resource()?)),
            false => None,
        };
        Ok::<_, ReadError>((time_ms, body))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let status = if receipt.duplicate || receipt.version > 1 { StatusCode::OK } else { StatusCode::CREATED };
    let location = format!(
        "{}/{}/{}/_history/{}",
        interaction::base_url(state, request),
        receipt.resource_type,
        receipt.id,
        receipt.version
    );
    Ok(interaction::written(status, &location, receipt, time_ms, body, notes, prefer))
}

pub(crate) fn precondition_failed(receipt: &Receipt) -> ApiError {
    ApiError::PreconditionFailed(match receipt.version {
        0 => format!("{}/{} has no current version (If-Match)", receipt.resource_type, receipt.id),
        current => format!(
            "the current version of {}/{} is {} (ETag {}), not the one in If-Match",
            receipt.resource_type,
            receipt.id,
            current,
            interaction::etag(current)
        ),
    })
}

/// `POST /fhir/{type}`: one resource of that type.
pub async fn create(
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
    caller.require_write(&resource_type)?;
    interaction::check_format(&request)?;
    require_fhir_json(&request)?;
    refuse_bundle_as_resource(&resource_type)?;
    check_type(&body, &resource_type)?;
    if let Some(condition) = request.headers().get("if-none-exist") {
        let condition = condition
            .to_str()
            .map_err(|_| ApiError::BadRequest("If-None-Exist is not a search query".into()))?
            .to_owned();
        return crate::conditional::create(&state, &request, &caller, &resource_type, &condition, body).await;
    }
    let expect = Expect::One { resource_type: &resource_type, id: None, if_match: None };
    let done = ingest(&state, &caller, body, expect).await?;
    let receipt = done.receipts.first().ok_or(ApiError::Internal("a create without a receipt".into()))?;
    answer_write(&state, &request, receipt, &done.notes).await
}

/// `PUT /fhir/{type}/{id}`: a resource whose type and id must match the URL.
pub async fn update(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    caller.require_write(&resource_type)?;
    interaction::check_format(&request)?;
    require_fhir_json(&request)?;
    refuse_bundle_as_resource(&resource_type)?;
    let if_match = interaction::if_match(&request)?;
    check_type(&body, &resource_type)?;
    let given = fhir_json::JsonReader::new(&body).peek_object_string_member("id").ok().flatten();
    if given.as_deref() != Some(id.as_str()) {
        return Err(invalid(format!("{resource_type}.id"), "the resource id must equal the id in the URL"));
    }
    let expect = Expect::One { resource_type: &resource_type, id: Some(&id), if_match };
    let done = ingest(&state, &caller, body, expect).await?;
    let receipt = done.receipts.first().ok_or(ApiError::Internal("an update without a receipt".into()))?;
    answer_write(&state, &request, receipt, &done.notes).await
}

/// `PATCH /fhir/{type}/{id}` with a JSON Patch (RFC 6902, `application/json-patch+json`): the
/// current version is read, patched, validated and written as the next version, on condition
/// that no other write came between (and on `If-Match`, when given).
pub async fn patch(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    // The patched version is answered: reading it needs the read scope as well.
    caller.require_write(&resource_type)?;
    caller.require_read(&resource_type)?;
    interaction::check_format(&request)?;
    let mime = request.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match mime.map(|m| m.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).as_deref() {
        Some("application/json-patch+json") => {}
        Some("application/fhir+json") | Some("application/json") => {
            return Err(ApiError::NotSupported(
                "FHIRPath Patch (a Parameters body) is not supported: send a JSON Patch as application/json-patch+json"
                    .into(),
            ))
        }
        _ => return Err(ApiError::UnsupportedMediaType),
    }
    let expected = interaction::if_match(&request)?;
    let operations: json_patch::Patch = serde_json::from_slice(&body)
        .map_err(|_| ApiError::BadRequest("the body is not a JSON Patch (RFC 6902) array of operations".into()))?;
    if operations.0.len() > MAX_PATCH_OPERATIONS {
        return Err(ApiError::BadRequest(format!("a patch has at most {MAX_PATCH_OPERATIONS} operations")));
    }
    if !fhir_models::validate::is_fhir_id(&id) {
        return Err(ApiError::NotFound("no such resource"));
    }
    let node = state.node.clone();
    let (rt, rid) = (resource_type.clone(), id.clone());
    let current = web::block(move || {
        let (seq, record) = node.locate(&rt, &rid, None)?;
        let (version, patient) = (record.version, record.patient.clone());
        let opened = node.open_record(seq, record)?;
        Ok::<_, ReadError>((version, patient, opened.canonical))
    })
    .await
    .map_err(internal)?;
    let (version, patient, canonical) = match current {
        Ok(current) => current,
        Err(ReadError::NotFound) => return Err(ApiError::NotFound("no such resource")),
        Err(ReadError::Deleted) => return Err(ApiError::Gone),
        Err(error) => return Err(internal(error)),
    };
    if expected.is_some_and(|expected| expected != version) {
        return Err(ApiError::PreconditionFailed(format!(
            "the current version of {resource_type}/{id} is {version} (ETag {}), not the one in If-Match",
            interaction::etag(version)
        )));
    }
    let pseudonym = state.node.resource_pseudonym(&resource_type, &id).to_string();
    crate::audit::record(&state, &caller, "patch", true, patient, Some(resource_type.clone()), Some(pseudonym)).await?;
    let rt = resource_type.clone();
    let document = web::block(move || apply_patch(&canonical, &operations, &rt)).await.map_err(internal)??;
    if document["resourceType"] != resource_type.as_str() || document["id"] != id.as_str() {
        return Err(unprocessable(resource_type, "a patch may not change resourceType or id"));
    }
    let patched = web::Bytes::from(serde_json::to_vec(&document).map_err(internal)?);
    let expect = Expect::One { resource_type: &resource_type, id: Some(&id), if_match: Some(version) };
    let done = ingest(&state, &caller, patched, expect).await?;
    let receipt = done.receipts.first().ok_or(ApiError::Internal("a patch without a receipt".into()))?;
    if receipt.precondition_failed && expected.is_none() {
        return Err(ApiError::Conflict(format!(
            "{resource_type}/{id} changed while it was patched (now version {}): read it and patch again",
            receipt.version
        )));
    }
    answer_write(&state, &request, receipt, &done.notes).await
}

/// `DELETE /fhir/{type}/{id}`: a new, deleted version (the history stays on the ledger). Deleting
/// a Consent revokes its grant. Deleting what is absent or deleted already changes nothing.
pub async fn delete(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    caller.require_delete(&resource_type)?;
    interaction::check_format(&request)?;
    let if_match = interaction::if_match(&request)?;
    if !fhir_models::validate::is_fhir_id(&id) {
        return Err(invalid(format!("{resource_type}.id"), "not a valid id: 1 to 64 of A-Z, a-z, 0-9, '-' and '.'"));
    }
    delete_one(&state, &caller, &resource_type, &id, if_match).await
}

/// Deletes `Type/id` (whose scope and id the caller checked): one path for deletes, the same as a
/// transaction Bundle's DELETE entry.
pub(crate) async fn delete_one(
    state: &AppState,
    caller: &Principal,
    resource_type: &str,
    id: &str,
    if_match: Option<u32>,
) -> Result<HttpResponse, ApiError> {
    let bundle = serde_json::json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": format!("{resource_type}/{id}")}}],
    });
    let body = web::Bytes::from(serde_json::to_vec(&bundle).map_err(internal)?);
    let done = ingest(state, caller, body, Expect::One { resource_type, id: Some(id), if_match }).await?;
    let receipt = done.receipts.first().ok_or(ApiError::Internal("a delete without a receipt".into()))?;
    if receipt.precondition_failed {
        return Err(precondition_failed(receipt));
    }
    // 200 with an OperationOutcome (FHIR allows 200 or 204); nothing to delete is no error.
    let message = match (receipt.duplicate, receipt.version) {
        (true, 0) => format!("{resource_type}/{id} does not exist: nothing to delete"),
        (true, _) => format!("{resource_type}/{id} is deleted already (version {})", receipt.version),
        (false, version) => format!("deleted {resource_type}/{id}: version {version} is a delete"),
    };
    let mut response = HttpResponse::Ok();
    if receipt.version > 0 {
        response.insert_header((actix_web::http::header::ETAG, interaction::etag(receipt.version)));
    }
    interaction::receipt_headers(&mut response, receipt);
    Ok(response.content_type(fhir_models::JSON_MIME_TYPE).body(interaction::outcome_json(&[information(message)])))
}

/// An informational issue.
pub(crate) fn information(message: String) -> ValidationIssue {
    ValidationIssue { severity: Severity::Information, code: IssueType::Informational, path: String::new(), message }
}

/// Operations a PATCH may have.
const MAX_PATCH_OPERATIONS: usize = 256;
/// The largest resource a patch may make (a `copy` can double a document each time).
const MAX_PATCHED_BYTES: usize = 32 * 1024 * 1024;

/// Applies `operations` to the stored version's JSON one at a time, refusing a result larger
/// than [`MAX_PATCHED_BYTES`] as soon as a `copy` makes it so (before the next one can double it).
fn apply_patch(
    canonical: &[u8],
    operations: &json_patch::Patch,
    resource_type: &str,
) -> Result<serde_json::Value, ApiError> {
    let mut document: serde_json::Value = serde_json::from_slice(canonical).map_err(internal)?;
    for (index, operation) in operations.0.iter().enumerate() {
        json_patch::patch(&mut document, std::slice::from_ref(operation)).map_err(|error| {
            // The operation's index and JSON Pointer name elements, never values.
            unprocessable(
                resource_type.to_owned(),
                &format!("operation {index} of the patch (at {}) cannot be applied", error.path),
            )
        })?;
        if matches!(operation, json_patch::PatchOperation::Copy(_))
            && serde_json::to_vec(&document).map_or(usize::MAX, |bytes| bytes.len()) > MAX_PATCHED_BYTES
        {
            return Err(unprocessable(
                resource_type.to_owned(),
                &format!("operation {index} of the patch makes the resource larger than {MAX_PATCHED_BYTES} bytes"),
            ));
        }
    }
    Ok(document)
}

pub(crate) fn unprocessable(path: String, message: &str) -> ApiError {
    ApiError::Unprocessable(Box::new(error_outcome(IssueType::NotSupported, path, message)))
}

pub(crate) fn invalid(path: String, message: &str) -> ApiError {
    ApiError::Invalid(Box::new(error_outcome(IssueType::Invalid, path, message)))
}

/// Checks the URL's type, and the body's `resourceType` against it when a cheap scan of the top
/// level finds one. Never decodes: that happens on a blocking thread after the scope check, and
/// its precise errors cover bodies this scan cannot read.
pub(crate) fn check_type(body: &[u8], expected: &str) -> Result<(), ApiError> {
    if !fhir_models::Resource::is_resource_type(expected) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    let found = fhir_json::JsonReader::new(body).peek_object_string_member("resourceType").ok().flatten();
    match found.as_deref() {
        Some(t) if t != expected => {
            Err(invalid(format!("{expected}.resourceType"), "resourceType does not match the URL"))
        }
        _ => Ok(()),
    }
}

/// `POST` and `PUT` of `/fhir/Bundle`: a batch or transaction goes to `POST /fhir`, and the
/// bridge stores the entries of other Bundles, not the Bundle itself; refused, rather than run.
pub(crate) fn refuse_bundle_as_resource(resource_type: &str) -> Result<(), ApiError> {
    if resource_type == "Bundle" {
        return Err(unprocessable(
            "Bundle".to_owned(),
            "a Bundle is not stored as one resource: submit it with POST /fhir, which stores its entries",
        ));
    }
    Ok(())
}

/// A read, audited: every read of an existing resource, and every denial, is an `Access` record
/// on the ledger before the answer goes out. `If-None-Match` naming the version answers 304
/// (audited as a read all the same: it tells the client its copy is current).
///
/// Authorization is decided before existence: a caller without the read scope for the type gets
/// the same 403 and the same one Access record whether `Type/id` exists or not, and the record
/// names no patient, so neither the answer, the ledger's growth nor the record's content tells
/// anyone what exists.
pub(crate) async fn read_resource(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: String,
    id: String,
    version: Option<u32>,
) -> Result<HttpResponse, ApiError> {
    if !fhir_models::Resource::is_resource_type(&resource_type) {
        return Err(ApiError::NotFound("not an R4 resource type"));
    }
    let resource = state.node.resource_pseudonym(&resource_type, &id).to_string();
    if let Err(denied) = caller.require_read(&resource_type) {
        // Nothing is looked up: the record names the type and the (keyed, existence-blind)
        // pseudonym of `Type/id`, never a patient, so no reader of it learns what exists.
        crate::audit::record(state, caller, "read", false, None, Some(resource_type), Some(resource)).await?;
        return Err(denied.into());
    }
    interaction::check_format(request)?;
    if !fhir_models::validate::is_fhir_id(&id) {
        return Err(ApiError::NotFound("no such resource"));
    }
    let node = state.node.clone();
    let rt = resource_type.clone();
    let located = web::block(move || node.locate(&rt, &id, version)).await.map_err(internal)?;
    let (seq, record) = match located {
        Ok(found) => found,
        Err(ReadError::NotFound) => return Err(ApiError::NotFound("no such resource")),
        Err(error) => return Err(internal(error)),
    };
    let (found_version, time_ms, patient) = (record.version, record.time_ms, record.patient.clone());
    if record.operation == node_store::records::Operation::Delete {
        let mut gone = actix_web::ResponseError::error_response(&ApiError::Gone);
        if let Ok(value) = interaction::etag(found_version).parse() {
            gone.headers_mut().insert(actix_web::http::header::ETAG, value);
        }
        return Ok(gone);
    }
    let not_modified = interaction::if_none_match(request, found_version);
    let node = state.node.clone();
    let opened = match not_modified {
        true => None,
        false => Some(
            web::block(move || node.open_record(seq, record).and_then(|opened| opened.resource()))
                .await
                .map_err(internal)?
                .map_err(internal)?,
        ),
    };
    crate::audit::record(state, caller, "read", true, patient, Some(resource_type), Some(resource)).await?;
    let mut response = match opened {
        None => HttpResponse::NotModified(),
        Some(_) => HttpResponse::Ok(),
    };
    response
        .insert_header((actix_web::http::header::ETAG, interaction::etag(found_version)))
        .insert_header((actix_web::http::header::LAST_MODIFIED, interaction::http_date(time_ms)));
    Ok(match opened {
        None => response.finish(),
        Some(found) => response.content_type(fhir_models::JSON_MIME_TYPE).body(fhir_models::to_json(&found)),
    })
}

/// `GET /fhir/{type}/{id}`.
pub async fn read(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    read_resource(&state, &request, &caller, resource_type, id, None).await
}

/// `GET /fhir/{type}/{id}/_history/{version}`.
pub async fn read_version(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, String, u32)>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id, version) = path.into_inner();
    read_resource(&state, &request, &caller, resource_type, id, Some(version)).await
}
