//! `_history` of one resource, of a type, and of the whole server: `history` Bundles, newest
//! first, with `_since` and `_count`, and absolute `next` links that keep every parameter and
//! carry a cursor (`_cursor`) that stays right while writes go on. A delete is an entry without
//! a resource. Every version shown is an `Access` record (one for an instance's history).

use actix_web::{web, HttpRequest, HttpResponse};
use node_store::history::{HistoryOf, HistoryPage};
use node_store::read::ReadError;
use node_store::records::{Operation, ResourceVersion};
use serde_json::{json, Value};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::interaction;
use crate::state::AppState;
use smart_auth::Principal;

/// Entries a page holds unless `_count` says otherwise, and at most.
const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;
/// Ledger records one page of a type's or the system's history looks at, at most.
const SCAN_BUDGET: u64 = 100_000;

/// What the query asks.
struct HistoryQuery {
    since_ms: Option<u64>,
    count: usize,
    cursor: Option<u64>,
}

impl HistoryQuery {
    fn parse(pairs: &[(String, String)]) -> Result<HistoryQuery, ApiError> {
        let mut query = HistoryQuery { since_ms: None, count: DEFAULT_COUNT, cursor: None };
        for (name, value) in pairs {
            match name.as_str() {
                "_since" => {
                    let range = exchange::search::time::parse(value)
                        .ok_or_else(|| ApiError::BadRequest("_since is not a FHIR instant or date".into()))?;
                    query.since_ms = Some(u64::try_from(range.start_ms).unwrap_or(0));
                }
                "_count" => {
                    let count: usize =
                        value.parse().map_err(|_| ApiError::BadRequest("_count is not a whole number".into()))?;
                    query.count = count.min(MAX_COUNT);
                }
                "_cursor" => {
                    query.cursor = Some(
                        value
                            .parse()
                            .map_err(|_| ApiError::BadRequest("_cursor is not one this server gave".into()))?,
                    );
                }
                "_format" => {}
                "_at" | "_list" | "_sort" => {
                    return Err(ApiError::NotSupported(format!("{name} on _history is not supported")));
                }
                _ => return Err(ApiError::BadRequest(format!("{name} is not a _history parameter"))),
            }
        }
        Ok(query)
    }
}

/// `GET /fhir/{type}/{id}/_history`.
pub async fn instance(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<(String, String)>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    let of = Owned::Instance(resource_type, id);
    history(&state, &request, &caller, of, &query.into_inner()).await
}

/// `GET /fhir/{type}/_history`.
pub async fn of_type(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    history(&state, &request, &caller, Owned::Type(path.into_inner()), &query.into_inner()).await
}

/// `GET /fhir/_history`.
pub async fn system(
    state: web::Data<AppState>,
    request: HttpRequest,
    Authenticated(caller): Authenticated,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    history(&state, &request, &caller, Owned::System, &query.into_inner()).await
}

/// [`HistoryOf`] with owned strings, to move onto a blocking thread.
#[derive(Clone)]
enum Owned {
    Instance(String, String),
    Type(String),
    System,
}

impl Owned {
    fn borrowed(&self) -> HistoryOf<'_> {
        match self {
            Owned::Instance(resource_type, id) => HistoryOf::Instance { resource_type, id },
            Owned::Type(resource_type) => HistoryOf::Type(resource_type),
            Owned::System => HistoryOf::System,
        }
    }

    fn resource_type(&self) -> Option<&str> {
        match self {
            Owned::Instance(resource_type, _) | Owned::Type(resource_type) => Some(resource_type),
            Owned::System => None,
        }
    }
}

/// One entry, decrypted (outside the async runtime).
struct Entry {
    record: ResourceVersion,
    id: Option<String>,
    resource: Option<Value>,
}

async fn history(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    of: Owned,
    pairs: &[(String, String)],
) -> Result<HttpResponse, ApiError> {
    if let Some(resource_type) = of.resource_type() {
        if !fhir_models::Resource::is_resource_type(resource_type) {
            return Err(ApiError::NotFound("not an R4 resource type"));
        }
        // A type's history lists every resource of it: that is a search as well as reads.
        let permitted = match &of {
            Owned::Instance(..) => caller.require_read(resource_type),
            _ => caller.require_read(resource_type).and_then(|()| caller.require_search(resource_type)),
        };
        if let Err(denied) = permitted {
            let pseudonym = match &of {
                Owned::Instance(t, id) => Some(state.node.resource_pseudonym(t, id).to_string()),
                _ => None,
            };
            crate::audit::record(state, caller, "history", false, None, Some(resource_type.to_owned()), pseudonym)
                .await?;
            return Err(denied.into());
        }
    }
    interaction::check_format(request)?;
    let query = HistoryQuery::parse(pairs)?;
    if let Owned::Instance(_, id) = &of {
        if !fhir_models::validate::is_fhir_id(id) {
            return Err(ApiError::NotFound("no such resource"));
        }
    }
    // The system's history shows only the types the caller may read.
    let readable: Vec<&'static str> = fhir_models::RESOURCE_TYPES
        .iter()
        .copied()
        .filter(|t| matches!(of, Owned::System) && caller.require_read(t).is_ok() && caller.require_search(t).is_ok())
        .collect();
    if matches!(of, Owned::System) && readable.is_empty() {
        return Err(ApiError::Auth(caller.require_read("Patient").unwrap_err()));
    }
    let page =
        HistoryPage { before: query.cursor, since_ms: query.since_ms, count: query.count, scan_budget: SCAN_BUDGET };
    let node = state.node.clone();
    let scope = of.clone();
    let found = web::block(move || {
        let mut history = node.history(scope.borrowed(), page)?;
        if matches!(scope, Owned::System) {
            history.versions.retain(|(_, record)| readable.contains(&record.resource_type.as_str()));
        }
        let mut entries = Vec::with_capacity(history.versions.len());
        for (seq, record) in history.versions {
            let (id, resource) = match record.operation {
                Operation::Delete => (node.logical_id_of(seq, &record)?, None),
                _ => {
                    let opened = node.open_record(seq, record.clone())?;
                    let resource = opened.resource()?;
                    let id = resource.id().map(str::to_owned);
                    (id, serde_json::from_slice(&fhir_models::to_json(&resource)).ok())
                }
            };
            entries.push(Entry { record, id, resource });
        }
        Ok::<_, ReadError>((entries, history.next, history.total))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (entries, next, total) = match found {
        Ok(found) => found,
        Err(ReadError::NotFound) => return Err(ApiError::NotFound("no such resource")),
        Err(error) => return Err(ApiError::Internal(error.to_string())),
    };
    audit(state, caller, &of, &entries).await?;

    let base = interaction::base_url(state, request);
    let path = request.path().strip_prefix("/fhir").unwrap_or(request.path());
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "history",
        "link": [{"relation": "self", "url": link(&base, path, pairs, None)}],
        "entry": entries.iter().map(|entry| entry_json(&base, entry)).collect::<Vec<_>>(),
    });
    if let Some(total) = total.filter(|_| query.since_ms.is_none() && query.cursor.is_none()) {
        bundle["total"] = json!(total);
    }
    // `_count=0` asks for the total alone: no page follows.
    if let Some(next) = next.filter(|_| query.count > 0) {
        if let Some(links) = bundle["link"].as_array_mut() {
            links.push(json!({"relation": "next", "url": link(&base, path, pairs, Some(next))}));
        }
    }
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(bundle))
}

/// Every version shown is an access: one record for an instance's history, one per version for
/// a type's or the system's (each names its own patient).
async fn audit(state: &AppState, caller: &Principal, of: &Owned, entries: &[Entry]) -> Result<(), ApiError> {
    match of {
        Owned::Instance(resource_type, id) => {
            // A resource can move between patients: each patient whose version is shown sees it.
            let mut patients: Vec<Option<String>> = entries.iter().map(|e| e.record.patient.clone()).collect();
            patients.sort();
            patients.dedup();
            let pseudonym = state.node.resource_pseudonym(resource_type, id).to_string();
            let accesses = patients.into_iter().map(|p| (p, resource_type.clone(), pseudonym.clone())).collect();
            crate::audit::record_many(state, caller, "history", accesses).await
        }
        _ => {
            let accesses = entries
                .iter()
                .map(|e| (e.record.patient.clone(), e.record.resource_type.clone(), e.record.resource.clone()))
                .collect();
            crate::audit::record_many(state, caller, "history", accesses).await
        }
    }
}

fn entry_json(base: &str, entry: &Entry) -> Value {
    let record = &entry.record;
    let id = entry.id.as_deref().unwrap_or("");
    let (method, status) = match record.operation {
        Operation::Create => ("POST", "201 Created"),
        Operation::Update => ("PUT", "200 OK"),
        Operation::Delete => ("DELETE", "204 No Content"),
    };
    let url = match record.operation {
        Operation::Create => record.resource_type.clone(),
        _ => format!("{}/{id}", record.resource_type),
    };
    let mut value = json!({
        "fullUrl": format!("{base}/{}/{id}", record.resource_type),
        "request": {"method": method, "url": url},
        "response": {
            "status": status,
            "etag": interaction::etag(record.version),
            "lastModified": node_store::clock::format_instant(record.time_ms),
        },
    });
    if let Some(resource) = &entry.resource {
        value["resource"] = resource.clone();
    }
    value
}

/// The absolute URL of this history with every parameter kept, and the cursor of `next`.
fn link(base: &str, path: &str, pairs: &[(String, String)], next: Option<u64>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs.iter().filter(|(name, _)| next.is_none() || name != "_cursor") {
        query.append_pair(name, value);
    }
    if let Some(next) = next {
        query.append_pair("_cursor", &next.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn next_links_keep_every_parameter_and_replace_the_cursor() {
        let given = pairs(&[("_since", "2026-01-01T00:00:00+01:00"), ("_count", "2"), ("_cursor", "9")]);
        assert_eq!(
            link("https://b.example/fhir", "/Patient/_history", &given, Some(4)),
            "https://b.example/fhir/Patient/_history?_since=2026-01-01T00%3A00%3A00%2B01%3A00&_count=2&_cursor=4"
        );
        assert_eq!(link("http://h/fhir", "/_history", &[], None), "http://h/fhir/_history");
    }

    #[test]
    fn queries_parse_clamp_and_refuse_what_they_cannot_honour() {
        let query = HistoryQuery::parse(&pairs(&[("_count", "5000"), ("_since", "2026-02-03")])).unwrap();
        assert_eq!(query.count, MAX_COUNT);
        assert_eq!(query.since_ms, Some(1_770_076_800_000));
        assert!(HistoryQuery::parse(&pairs(&[("_at", "2026")])).is_err());
        assert!(HistoryQuery::parse(&pairs(&[("name", "x")])).is_err());
        assert!(HistoryQuery::parse(&pairs(&[("_since", "yesterday")])).is_err());
    }
}
