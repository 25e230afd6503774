//! A transaction whose entries have conditions (`ifNoneExist`, `ifMatch`, `PUT` and `DELETE` on
//! a search URL), run all or nothing (FHIR R4 §3.1.0.11.2).
//!
//! Every condition is searched first, under the lock conditional writes hold from search to
//! commit ([`AppState::conditional`]), and turns into a plain entry: a create that matched an
//! existing resource is answered with it (and the transaction's references to the entry's
//! `fullUrl` now point at it), a conditional update or delete names the one resource it matched
//! and expects its version, a conditional delete that matched nothing does nothing. The plain
//! entries are committed in a block of their own, and only when every expected version still
//! holds ([`ingest_pipeline::commit::commit_all_or_nothing`]): a plain write that came between is
//! a 412 for the whole transaction, never a partial one.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::fhir::{self, Expect};
use crate::interaction;
use crate::state::AppState;
use smart_auth::Principal;

/// Whether any entry of `bundle` has a condition.
pub fn has_conditions(bundle: &Value) -> bool {
    bundle["entry"].as_array().into_iter().flatten().any(|entry| {
        let request = &entry["request"];
        ["ifNoneExist", "ifMatch", "ifNoneMatch", "ifModifiedSince"].iter().any(|k| request.get(k).is_some())
            || request["url"].as_str().is_some_and(|url| url.contains('?'))
    })
}

/// What an entry becomes once its condition is searched.
enum Plan {
    /// A plain entry to commit, on the version it expects.
    Write { entry: Value, if_match: Option<u32> },
    /// Answered already: a conditional create that found its resource.
    Answered(Value),
}

/// Runs the transaction; answers its `transaction-response` entries, in order.
pub async fn run(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    bundle: &Value,
) -> Result<Vec<Value>, ApiError> {
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    // Each condition is a search under the lock every conditional write waits for: bounded as a
    // batch is.
    if entries.len() > crate::bundle::MAX_BATCH_ENTRIES {
        return Err(ApiError::TooCostly(format!(
            "a transaction with conditions has at most {} entries",
            crate::bundle::MAX_BATCH_ENTRIES
        )));
    }
    let base = interaction::base_url(state, request);
    let _serialised = state.conditional.lock().await;
    let mut plans = Vec::with_capacity(entries.len());
    // `fullUrl`s of creates answered by an existing resource, and what they now name.
    let mut found_as: HashMap<String, String> = HashMap::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let plan = plan(state, caller, &base, entry, &mut found_as).await.map_err(|error| at_entry(error, index))?;
        plans.push(plan);
    }
    let (mut kept, mut expected) = (Vec::new(), Vec::new());
    for plan in &mut plans {
        if let Plan::Write { entry, if_match } = plan {
            refer_to_found(entry, &found_as);
            kept.push(entry.clone());
            expected.push(*if_match);
        }
    }
    let done = match kept.is_empty() {
        true => None,
        false => {
            let body = json!({"resourceType": "Bundle", "type": "transaction", "entry": kept});
            let body = web::Bytes::from(serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.to_string()))?);
            Some(fhir::ingest(state, caller, body, Expect::Transaction { if_match: &expected }).await?)
        }
    };
    let receipts = done.as_ref().map(|d| d.receipts.as_slice()).unwrap_or_default();
    // The entry whose expectation failed (absent: version 0 expected, one found).
    if let Some((receipt, _)) = receipts
        .iter()
        .zip(&expected)
        .find(|(r, expected)| r.precondition_failed && expected.is_some_and(|e| e != r.version))
    {
        return Err(ApiError::PreconditionFailed(format!(
            "{}/{} is at version {} now, not the one the transaction expected: nothing was written",
            receipt.resource_type, receipt.id, receipt.version
        )));
    }
    let times = crate::bundle::commit_times(state, receipts).await?;
    let mut written = receipts.iter().zip(times);
    Ok(plans
        .into_iter()
        .map(|plan| match plan {
            Plan::Answered(entry) => entry,
            Plan::Write { .. } => match written.next() {
                Some((receipt, time_ms)) => crate::bundle::receipt_entry(&base, receipt, time_ms),
                None => json!({"response": {"status": "500 Internal Server Error"}}),
            },
        })
        .collect())
}

/// An error of entry `index`, named so.
fn at_entry(error: ApiError, index: usize) -> ApiError {
    match error {
        ApiError::PreconditionFailed(why) => ApiError::PreconditionFailed(format!("Bundle.entry[{index}]: {why}")),
        ApiError::Conflict(why) => ApiError::Conflict(format!("Bundle.entry[{index}]: {why}")),
        ApiError::BadRequest(why) => ApiError::BadRequest(format!("Bundle.entry[{index}]: {why}")),
        ApiError::NotSupported(why) => ApiError::NotSupported(format!("Bundle.entry[{index}]: {why}")),
        other => other,
    }
}

fn text<'a>(entry: &'a Value, pointer: &str) -> Option<&'a str> {
    entry.pointer(pointer).and_then(Value::as_str)
}

async fn plan(
    state: &AppState,
    caller: &Principal,
    base: &str,
    mut entry: Value,
    found_as: &mut HashMap<String, String>,
) -> Result<Plan, ApiError> {
    let method = text(&entry, "/request/method").unwrap_or_default().to_owned();
    let url = text(&entry, "/request/url").unwrap_or_default().to_owned();
    if entry["request"].get("ifNoneMatch").is_some() || entry["request"].get("ifModifiedSince").is_some() {
        return Err(ApiError::NotSupported("ifNoneMatch and ifModifiedSince are read conditions".into()));
    }
    let if_match = match entry.pointer("/request/ifMatch") {
        None => None,
        Some(tag) => Some(
            tag.as_str()
                .and_then(interaction::parse_etag)
                .ok_or_else(|| ApiError::BadRequest("ifMatch is not an ETag (W/\"n\")".into()))?,
        ),
    };
    let if_none_exist = text(&entry, "/request/ifNoneExist").map(str::to_owned);
    if let Some(request) = entry.get_mut("request").and_then(Value::as_object_mut) {
        for condition in ["ifMatch", "ifNoneExist"] {
            request.remove(condition);
        }
    }
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path.trim_matches('/').to_owned(), Some(query.to_owned())),
        None => (url.trim_matches('/').to_owned(), None),
    };
    let known = |ty: &str| match fhir_models::Resource::is_resource_type(ty) {
        true => Ok(()),
        false => Err(ApiError::NotFound("not an R4 resource type")),
    };
    // The scopes of the write itself first, before anything is searched.
    let target = path.split('/').next().unwrap_or_default().to_owned();
    match method.as_str() {
        "POST" | "PUT" if fhir_models::Resource::is_resource_type(&target) => caller.require_write(&target)?,
        "DELETE" if fhir_models::Resource::is_resource_type(&target) => caller.require_delete(&target)?,
        _ => {}
    }
    match (method.as_str(), query, if_none_exist) {
        ("POST", None, Some(condition)) => {
            known(&path)?;
            caller.require_search(&path)?;
            let found = crate::indexed_search::matches(state, &path, &condition).await?;
            match found.as_slice() {
                [] => Ok(Plan::Write { entry, if_match: None }),
                [(id, record)] => {
                    caller.require_read(&path)?;
                    crate::audit::record(
                        state,
                        caller,
                        "read",
                        true,
                        record.patient.clone(),
                        Some(path.clone()),
                        Some(record.resource.clone()),
                    )
                    .await?;
                    if let Some(full_url) = text(&entry, "/fullUrl") {
                        found_as.insert(full_url.to_owned(), format!("{path}/{id}"));
                    }
                    Ok(Plan::Answered(json!({"response": {
                        "status": "200 OK",
                        "location": format!("{base}/{path}/{id}/_history/{}", record.version),
                        "etag": interaction::etag(record.version),
                        "lastModified": node_store::clock::format_instant(record.time_ms),
                    }})))
                }
                many => Err(ApiError::PreconditionFailed(format!("ifNoneExist matches {} resources", many.len()))),
            }
        }
        ("PUT", Some(condition), None) => {
            known(&path)?;
            caller.require_search(&path)?;
            let found = crate::indexed_search::matches(state, &path, &condition).await?;
            let given = entry.pointer("/resource/id").and_then(Value::as_str).map(str::to_owned);
            let (id, expected) = match found.as_slice() {
                [] => match given {
                    Some(id) => {
                        if crate::conditional::exists(state, &path, &id).await? {
                            return Err(ApiError::Conflict(format!(
                                "{path}/{id} exists but does not match the condition"
                            )));
                        }
                        // Expected absent at the commit too (version 0): a write in between is a 412.
                        (id, Some(0))
                    }
                    None => (data_encoding::HEXLOWER.encode(&rand::random::<[u8; 16]>()), Some(0)),
                },
                [(id, record)] => {
                    if given.as_deref().is_some_and(|given| given != id) {
                        return Err(ApiError::BadRequest(
                            "the resource id is not the id of the resource the condition matches".into(),
                        ));
                    }
                    if if_match.is_some_and(|expected| expected != record.version) {
                        return Err(ApiError::PreconditionFailed(format!(
                            "the matched resource is at version {}, not the one in ifMatch",
                            record.version
                        )));
                    }
                    (id.clone(), Some(record.version))
                }
                many => {
                    return Err(ApiError::PreconditionFailed(format!("the condition matches {} resources", many.len())))
                }
            };
            entry["request"]["url"] = json!(format!("{path}/{id}"));
            if entry["resource"].is_object() {
                entry["resource"]["id"] = json!(id);
            }
            Ok(Plan::Write { entry, if_match: expected })
        }
        ("DELETE", Some(condition), None) => {
            known(&path)?;
            caller.require_search(&path)?;
            let found = crate::indexed_search::matches(state, &path, &condition).await?;
            match found.as_slice() {
                [] => Ok(Plan::Answered(json!({"response": {"status": "204 No Content"}}))),
                [(id, record)] => {
                    entry["request"]["url"] = json!(format!("{path}/{id}"));
                    Ok(Plan::Write { entry, if_match: if_match.or(Some(record.version)) })
                }
                many => Err(ApiError::PreconditionFailed(format!(
                    "the condition matches {} resources: this server deletes one at a time",
                    many.len()
                ))),
            }
        }
        (_, Some(_), _) | ("PUT" | "DELETE", _, Some(_)) => {
            Err(ApiError::NotSupported(format!("{method} with this condition is not an interaction FHIR has")))
        }
        _ => Ok(Plan::Write { entry, if_match }),
    }
}

/// References (`reference` of a Reference) to a `fullUrl` whose create found an existing
/// resource now name that resource; no other string is touched (a canonical URL, an identifier
/// value or a narrative that equals a fullUrl stays as written).
fn refer_to_found(entry: &mut Value, found_as: &HashMap<String, String>) {
    if found_as.is_empty() {
        return;
    }
    let mut stack: Vec<&mut Value> = entry.get_mut("resource").into_iter().collect();
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(members) => {
                for (key, member) in members.iter_mut() {
                    match member {
                        Value::String(text) if key == "reference" => {
                            if let Some(reference) = found_as.get(text.as_str()) {
                                *text = reference.clone();
                            }
                        }
                        _ => stack.push(member),
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_references_are_pointed_at_the_found_resource() {
        let found: HashMap<String, String> = [("urn:uuid:a".to_owned(), "Patient/p1".to_owned())].into();
        let mut entry = json!({"resource": {"resourceType": "Observation",
            "subject": {"reference": "urn:uuid:a"}, "identifier": [{"value": "urn:uuid:a"}],
            "hasMember": [{"reference": "urn:uuid:a"}]}});
        refer_to_found(&mut entry, &found);
        assert_eq!(entry["resource"]["subject"]["reference"], "Patient/p1");
        assert_eq!(entry["resource"]["hasMember"][0]["reference"], "Patient/p1");
        assert_eq!(entry["resource"]["identifier"][0]["value"], "urn:uuid:a", "no reference: left as written");
    }
}
