//! `POST /fhir`: transaction and batch Bundles, answered as FHIR says (R4 §3.1.0.11): a
//! `transaction-response` or `batch-response` with one entry per request entry, in order, each
//! with its `status`, `location`, `etag` and `lastModified`, and, for a batch entry that failed,
//! its OperationOutcome.
//!
//! A transaction is one atomic commit: every entry is decoded and validated first, and one
//! refusal refuses all of it. Read entries and conditions (`ifMatch`, `ifNoneExist`, conditional
//! URLs) cannot be run inside that one step here, so a transaction holding them is refused by
//! name, before anything is written. A batch runs each entry on its own, through the same code as
//! the REST interaction it names (conditional create, update and delete, `ifMatch`, reads and
//! searches included): a bad entry is that entry's answer, not the batch's. A batch whose
//! entries refer to each other by `urn:uuid` (as Synthea writes them) cannot be split, so it is
//! run as one unit, as a transaction is. A Bundle of another type (`collection`) has its entries
//! stored as a transaction's are.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::fhir::{self, Expect};
use crate::interaction;
use crate::state::AppState;
use ingest_pipeline::Receipt;
use node_store::records::Operation;
use smart_auth::Principal;

/// The longest `request.url` a batch entry may have (as a request line: actix takes 8 KiB).
const MAX_ENTRY_URL: usize = 8 * 1024;
/// The most entries a batch may have: each is a request of its own (and reads and searches each
/// an Access record), so a batch is bounded as a client's requests are.
pub(crate) const MAX_BATCH_ENTRIES: usize = 1000;

/// `POST /fhir`. A caller that may change nothing is refused before the body is decoded.
pub async fn post_bundle(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    caller.require_change_anything()?;
    fhir::require_fhir_json(&request)?;
    fhir::check_type(&body, "Bundle")?;
    let kind = fhir_json::JsonReader::new(&body).peek_object_string_member("type").ok().flatten();
    let answer = match kind.as_deref() {
        Some("batch") => batch(&state, &request, &caller, body).await?,
        _ => transaction(&state, &request, &caller, body).await?,
    };
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(answer))
}

/// Reads and entries without content in a Bundle run as one unit: refused with the entry's
/// path, so each answer entry stands for its request entry. (The decoder refuses conditions
/// itself.)
fn refuse_what_a_transaction_cannot_run(bundle: &Value) -> Result<(), ApiError> {
    for (index, entry) in bundle.get("entry").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let method = entry.pointer("/request/method").and_then(Value::as_str).unwrap_or("");
        let refusal = match method {
            "GET" | "HEAD" => "a read entry in a transaction is not run by this server: send reads in a batch",
            "DELETE" => continue,
            _ if entry.get("resource").is_none() => "an entry without a resource changes nothing",
            _ => continue,
        };
        return Err(fhir::unprocessable(format!("Bundle.entry[{index}].request"), refusal));
    }
    Ok(())
}

/// The whole Bundle as one commit, answered entry by entry.
async fn transaction(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    body: web::Bytes,
) -> Result<Value, ApiError> {
    // Parsed once, on a blocking thread; a body that is not JSON is left to the decoder, whose
    // errors say where.
    let parsed = body.clone();
    let bundle = web::block(move || serde_json::from_slice::<Value>(&parsed).ok())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(bundle) = &bundle {
        refuse_what_a_transaction_cannot_run(bundle)?;
    }
    let entries = match bundle {
        Some(bundle) if bundle["type"] == "transaction" && crate::transaction::has_conditions(&bundle) => {
            crate::transaction::run(state, request, caller, &bundle).await?
        }
        _ => whole(state, request, caller, body).await?,
    };
    Ok(json!({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}))
}

/// The entries of the whole Bundle committed at once, answered entry by entry.
async fn whole(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    body: web::Bytes,
) -> Result<Vec<Value>, ApiError> {
    let done = fhir::ingest(state, caller, body, Expect::Bundle).await?;
    let times = commit_times(state, &done.receipts).await?;
    let base = interaction::base_url(state, request);
    let entries: Vec<Value> = done
        .receipts
        .iter()
        .zip(times)
        .map(|(receipt, time_ms)| {
            let mut entry = receipt_entry(&base, receipt, time_ms);
            // A Consent's notes (what it grants less than it names) go with its own entry.
            let prefix = format!("{}/{}: ", receipt.resource_type, receipt.id);
            let notes: Vec<String> = done.notes.iter().filter(|n| n.starts_with(&prefix)).cloned().collect();
            if let Some(outcome) = fhir::notes_outcome(&notes) {
                entry["response"]["outcome"] = outcome;
            }
            entry
        })
        .collect();
    Ok(entries)
}

/// When each receipt's version was committed (`None`: nothing was, a delete of nothing).
pub(crate) async fn commit_times(state: &AppState, receipts: &[Receipt]) -> Result<Vec<Option<u64>>, ApiError> {
    let node = state.node.clone();
    let seqs: Vec<Option<u64>> = receipts.iter().map(|r| r.seq).collect();
    web::block(move || {
        seqs.into_iter()
            .map(|seq| seq.map(|seq| node.record_at(seq).map(|r| r.time_ms)).transpose())
            .collect::<Result<Vec<_>, node_store::read::ReadError>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))
}

fn status_line(status: StatusCode) -> String {
    format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or_default()).trim_end().to_owned()
}

/// A response entry for a committed (or already stored) version.
pub(crate) fn receipt_entry(base: &str, receipt: &Receipt, time_ms: Option<u64>) -> Value {
    let created = receipt.operation != Operation::Delete && receipt.version == 1 && !receipt.duplicate;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let mut response = json!({"status": status_line(status)});
    if receipt.version > 0 {
        response["location"] =
            json!(format!("{base}/{}/{}/_history/{}", receipt.resource_type, receipt.id, receipt.version));
        response["etag"] = json!(interaction::etag(receipt.version));
    }
    if let Some(time_ms) = time_ms {
        response["lastModified"] = json!(node_store::clock::format_instant(time_ms));
    }
    json!({"response": response})
}

/// Every entry on its own, in order.
async fn batch(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    body: web::Bytes,
) -> Result<Value, ApiError> {
    // serde_json bounds its own recursion (128 levels): a deeper body is refused here. Parsed on
    // a blocking thread, as a body of many megabytes takes a while.
    let parsed = body.clone();
    let bundle: Value = web::block(move || serde_json::from_slice::<Value>(&parsed))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| {
            ApiError::BadRequest(format!("the batch is not JSON (line {}, column {})", e.line(), e.column()))
        })?;
    let entries = bundle.get("entry").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if entries.len() > MAX_BATCH_ENTRIES {
        return Err(ApiError::TooCostly(format!("a batch has at most {MAX_BATCH_ENTRIES} entries")));
    }
    if entries_refer_to_each_other(entries) {
        refuse_what_a_transaction_cannot_run(&bundle)?;
        let answers = whole(state, request, caller, body.clone()).await?;
        return Ok(json!({"resourceType": "Bundle", "type": "batch-response", "entry": answers}));
    }
    let mut answers = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let answer = match run_entry(state, request, caller, entry).await {
            Ok(answer) => answer,
            Err(error) => EntryAnswer::Response(error.error_response()),
        };
        answers.push(match answer {
            EntryAnswer::Entry(entry) => entry,
            EntryAnswer::Response(response) => response_entry(response, index).await,
        });
    }
    Ok(json!({"resourceType": "Bundle", "type": "batch-response", "entry": answers}))
}

/// Whether an entry's content names another entry's `urn:uuid:` full URL.
fn entries_refer_to_each_other(entries: &[Value]) -> bool {
    let full_urls: std::collections::HashSet<&str> = entries
        .iter()
        .filter_map(|e| e.get("fullUrl").and_then(Value::as_str))
        .filter(|url| url.starts_with("urn:uuid:"))
        .collect();
    if full_urls.is_empty() {
        return false;
    }
    // serde_json's recursion limit bounds the depth; the stack holds what is still to look at.
    let mut stack: Vec<&Value> = entries.iter().filter_map(|e| e.get("resource")).collect();
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) if full_urls.contains(text.as_str()) => return true,
            Value::Array(items) => stack.extend(items),
            Value::Object(members) => stack.extend(members.values()),
            _ => {}
        }
    }
    false
}

/// What one batch entry gave: its response entry, or the HTTP answer of the interaction it ran.
enum EntryAnswer {
    Entry(Value),
    Response(HttpResponse),
}

/// Runs one batch entry as the REST interaction its `request` names.
async fn run_entry(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    entry: &Value,
) -> Result<EntryAnswer, ApiError> {
    let text = |pointer: &str| entry.pointer(pointer).and_then(Value::as_str);
    let (Some(method), Some(url)) = (text("/request/method"), text("/request/url")) else {
        return Err(ApiError::BadRequest("a batch entry needs request.method and request.url".into()));
    };
    if url.len() > MAX_ENTRY_URL {
        return Err(ApiError::BadRequest(format!("request.url is longer than {MAX_ENTRY_URL} bytes")));
    }
    if url.contains("://") {
        return Err(ApiError::NotSupported("batch entries name resources by relative URL (Type/id)".into()));
    }
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url, None),
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let if_match = match entry.pointer("/request/ifMatch") {
        None => None,
        Some(tag) => Some(
            tag.as_str()
                .and_then(interaction::parse_etag)
                .ok_or_else(|| ApiError::BadRequest("ifMatch is not an ETag (W/\"n\")".into()))?,
        ),
    };
    if matches!(method, "POST" | "PUT") && !entry.get("resource").is_some_and(Value::is_object) {
        return Err(ApiError::BadRequest(format!("a {method} entry needs a resource")));
    }
    let resource_body = || -> Result<web::Bytes, ApiError> {
        let resource = entry.get("resource").ok_or_else(|| ApiError::BadRequest("the entry has no resource".into()))?;
        Ok(web::Bytes::from(serde_json::to_vec(resource).map_err(|e| ApiError::Internal(e.to_string()))?))
    };
    let response = match (method, segments.as_slice(), query) {
        ("GET" | "HEAD", [ty], query) => {
            let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
            crate::search::run_search(state, request, caller, (*ty).to_owned(), pairs).await?
        }
        ("GET" | "HEAD", [ty, id], None) => {
            fhir::read_resource(state, request, caller, (*ty).to_owned(), (*id).to_owned(), None).await?
        }
        ("GET" | "HEAD", [ty, id, "_history", version], None) => {
            let version = version.parse().map_err(|_| ApiError::NotFound("no such version"))?;
            fhir::read_resource(state, request, caller, (*ty).to_owned(), (*id).to_owned(), Some(version)).await?
        }
        ("POST", [ty], None) if entry.pointer("/request/ifNoneExist").is_some() => {
            let condition = text("/request/ifNoneExist").unwrap_or_default();
            let body = checked_body(caller, ty, resource_body()?)?;
            crate::conditional::create(state, request, caller, ty, condition, body).await?
        }
        ("PUT", [ty], Some(condition)) => {
            let body = checked_body(caller, ty, resource_body()?)?;
            crate::conditional::update(state, request, caller, ty, condition, body, if_match).await?
        }
        ("DELETE", [ty], Some(condition)) => {
            known_type(ty)?;
            crate::conditional::delete(state, request, caller, ty, condition, if_match).await?
        }
        ("POST", [_], None) | ("PUT" | "DELETE", [_, _], None) => {
            return single_entry(state, request, caller, entry, if_match).await.map(EntryAnswer::Entry)
        }
        ("PATCH", ..) => {
            return Err(ApiError::NotSupported("PATCH entries are not run in a batch: send PATCH /fhir/Type/id".into()))
        }
        _ => return Err(ApiError::NotSupported(format!("{method} {path} is not an interaction a batch entry runs"))),
    };
    Ok(EntryAnswer::Response(response))
}

fn known_type(ty: &str) -> Result<(), ApiError> {
    match fhir_models::Resource::is_resource_type(ty) {
        true => Ok(()),
        false => Err(ApiError::NotFound("not an R4 resource type")),
    }
}

/// The checks a `POST /fhir/{type}` makes before it decodes anything.
fn checked_body(caller: &Principal, ty: &str, body: web::Bytes) -> Result<web::Bytes, ApiError> {
    known_type(ty)?;
    caller.require_write(ty)?;
    fhir::refuse_bundle_as_resource(ty)?;
    fhir::check_type(&body, ty)?;
    Ok(body)
}

/// A plain create, update or delete: the entry as a Bundle of its own, so it is decoded exactly
/// as a transaction's entry is (its `ifMatch` checked in the writer's commit).
async fn single_entry(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    entry: &Value,
    if_match: Option<u32>,
) -> Result<Value, ApiError> {
    let mut entry = entry.clone();
    if let Some(request) = entry.get_mut("request").and_then(Value::as_object_mut) {
        request.remove("ifMatch");
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [entry]});
    let body = web::Bytes::from(serde_json::to_vec(&bundle).map_err(|e| ApiError::Internal(e.to_string()))?);
    let done = fhir::ingest(state, caller, body, Expect::Entry { if_match }).await?;
    let receipt = done.receipts.first().ok_or_else(|| ApiError::Internal("an entry without a receipt".into()))?;
    if receipt.precondition_failed {
        return Err(fhir::precondition_failed(receipt));
    }
    let time_ms = commit_times(state, std::slice::from_ref(receipt)).await?.pop().flatten();
    let mut answer = receipt_entry(&interaction::base_url(state, request), receipt, time_ms);
    if let Some(outcome) = fhir::notes_outcome(&done.notes) {
        answer["response"]["outcome"] = outcome;
    }
    Ok(answer)
}

/// A batch-response entry from an interaction's HTTP answer: its status, `Location`, `ETag` and
/// `Last-Modified`; its body as the entry's resource, or, for a failure, as the outcome (with
/// paths that name this entry, not the one-entry Bundle it ran as).
async fn response_entry(response: HttpResponse, index: usize) -> Value {
    let status = response.status();
    let header = |name: actix_web::http::header::HeaderName| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    let mut answer = json!({"status": status_line(status)});
    if let Some(location) = header(actix_web::http::header::LOCATION) {
        answer["location"] = json!(location);
    }
    if let Some(etag) = header(actix_web::http::header::ETAG) {
        answer["etag"] = json!(etag);
    }
    if let Some(modified) =
        header(actix_web::http::header::LAST_MODIFIED).and_then(|d| httpdate::parse_http_date(&d).ok())
    {
        let ms = modified.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        answer["lastModified"] = json!(node_store::clock::format_instant(ms));
    }
    let body = actix_web::body::to_bytes(response.into_body()).await.unwrap_or_default();
    let mut entry = json!({"response": answer});
    if let Ok(mut content) = serde_json::from_slice::<Value>(&body) {
        if status.is_success() && content["resourceType"] != "OperationOutcome" {
            entry["resource"] = content;
        } else {
            renumber_paths(&mut content, index);
            entry["response"]["outcome"] = content;
        }
    }
    entry
}

/// Paths of a one-entry Bundle (`Bundle.entry[0]...`) made this entry's, and a resource's own
/// paths (`Patient.name`) placed under it.
fn renumber_paths(outcome: &mut Value, index: usize) {
    for issue in outcome.get_mut("issue").and_then(Value::as_array_mut).into_iter().flatten() {
        for path in issue.get_mut("expression").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(text) = path.as_str() {
                let renumbered = match text.strip_prefix("Bundle.entry[0]") {
                    Some(rest) => format!("Bundle.entry[{index}]{rest}"),
                    // `Patient.birthDate` is the entry's resource's `birthDate`.
                    None => match text.split_once('.') {
                        Some((ty, rest)) if fhir_models::Resource::is_resource_type(ty) => {
                            format!("Bundle.entry[{index}].resource.{rest}")
                        }
                        _ if fhir_models::Resource::is_resource_type(text) => format!("Bundle.entry[{index}].resource"),
                        _ => continue,
                    },
                };
                *path = Value::String(renumbered);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_paths_name_the_batch_entry() {
        let mut outcome = json!({"resourceType": "OperationOutcome", "issue": [
            {"expression": ["Bundle.entry[0].resource.subject"]}, {"expression": ["Patient.birthDate"]}, {}]});
        renumber_paths(&mut outcome, 3);
        assert_eq!(outcome["issue"][0]["expression"][0], "Bundle.entry[3].resource.subject");
        assert_eq!(outcome["issue"][1]["expression"][0], "Bundle.entry[3].resource.birthDate");
    }

    #[test]
    fn entries_that_name_each_other_are_found() {
        let entries = json!([
            {"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Observation", "subject": {"reference": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}}}]);
        assert!(entries_refer_to_each_other(entries.as_array().unwrap()));
        let apart = json!([
            {"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient"}},
            {"resource": {"resourceType": "Observation", "subject": {"reference": "Patient/p1"}}}]);
        assert!(!entries_refer_to_each_other(apart.as_array().unwrap()));
    }

    #[test]
    fn reads_and_empty_entries_are_refused_in_a_transaction() {
        let with_read = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/p1"}}]});
        let refused = refuse_what_a_transaction_cannot_run(&with_read).unwrap_err();
        assert!(matches!(refused, ApiError::Unprocessable(_)));
        let deletes = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "DELETE", "url": "Patient/p1"}}]});
        assert!(refuse_what_a_transaction_cannot_run(&deletes).is_ok());
        let empty = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"request": {"method": "PUT", "url": "Patient/p1"}}]});
        assert!(refuse_what_a_transaction_cannot_run(&empty).is_err());
    }
}
