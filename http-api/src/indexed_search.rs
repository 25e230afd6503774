//! `GET /fhir/{type}?...` by any token, reference, uri, string (`:exact` too) or date parameter
//! of the official definitions, `_id` and `_lastUpdated`, over the node's blind index: a
//! `searchset` Bundle with the total (`_total=none` leaves it out, `_summary=count` gives it
//! alone), sorted by `_lastUpdated` either way, and absolute `self` and `next` links that keep
//! every parameter. The cursor (`_cursor`) is the ledger seq of the last version shown, so a
//! resource created between pages does not shift the next one; a resource updated between pages
//! moves to the newest end (it is shown again oldest-first, or not at all newest-first): the
//! pages are no snapshot. A search is bounded before it runs (parameters, values, index lookups)
//! and while it runs (entries scanned, candidates): past a bound it is refused, `too-costly`.
//!
//! Chained parameters ([`crate::chained_search`]) and `_include`/`_revinclude`
//! ([`crate::include`]) follow references one level. What it cannot honour it refuses by name
//! (other modifiers, a quantity or number parameter, other sorts, deeper chains), rather than
//! match more or fewer resources than asked. A
//! parameter no definition knows is ignored and reported in an OperationOutcome entry, or
//! refused under `Prefer: handling=strict`. Every resource shown is an `Access` record.

use actix_web::{web, HttpRequest, HttpResponse};
use exchange::search::LastUpdated;
use fhir_models::search::{query_groups, search_param, split_or, SearchKind};
use node_store::read::ReadError;
use node_store::search::{SearchError, TermCondition};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::interaction::{self, Prefer};
use crate::state::AppState;
use smart_auth::Principal;

const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;
/// Conditions (parameters) one search may have.
const MAX_CONDITIONS: usize = 32;
/// Comma alternatives one parameter may have.
const MAX_ALTERNATIVES: usize = 64;
/// Index terms one search may look up (a wide date range is a few hundred).
const MAX_TERMS: usize = 4096;

/// A parsed query.
struct IndexedQuery {
    conditions: Vec<TermCondition>,
    ids: Option<Vec<String>>,
    last_updated: Vec<LastUpdated>,
    count: usize,
    cursor: Option<u64>,
    /// `_sort=_lastUpdated`: oldest first (the default is newest first).
    oldest_first: bool,
    /// `_total=none`.
    no_total: bool,
    /// Parameters no definition knows, ignored.
    ignored: Vec<String>,
    /// Chained reference parameters, resolved when the search runs.
    chains: Vec<crate::chained_search::Chain>,
    /// `_include` and `_revinclude`.
    includes: Vec<crate::include::Include>,
}

/// Result-shaping parameters the server does not offer yet: refused, since ignoring them would
/// answer something other than what was asked.
const NOT_OFFERED: [&str; 5] = ["_elements", "_contained", "_has", "_list", "_text"];

fn parse(resource_type: &str, pairs: &[(String, String)], prefer: Prefer) -> Result<IndexedQuery, ApiError> {
    let mut query = IndexedQuery {
        conditions: Vec::new(),
        ids: None,
        last_updated: Vec::new(),
        count: DEFAULT_COUNT,
        cursor: None,
        oldest_first: false,
        no_total: false,
        ignored: Vec::new(),
        chains: Vec::new(),
        includes: Vec::new(),
    };
    let mut terms = 0usize;
    let mut summary_count = false;
    for (name, value) in pairs {
        let (code, modifier) = match name.split_once(':') {
            Some((code, modifier)) => (code, Some(modifier)),
            None => (name.as_str(), None),
        };
        if NOT_OFFERED.contains(&code) {
            return Err(ApiError::NotSupported(format!("{code} is not offered by this server yet")));
        }
        if let Some(chain) = crate::chained_search::parse(resource_type, name, value, &mut terms) {
            if query.conditions.len() + query.chains.len() >= MAX_CONDITIONS || terms > MAX_TERMS {
                return Err(ApiError::TooCostly(format!("{name}: the search has too many parameters or lookups")));
            }
            query.chains.push(chain?);
            continue;
        }
        let param = search_param(resource_type, code);
        let exact = match modifier {
            None => false,
            Some("exact") if param.is_some_and(|p| p.kind == SearchKind::String) => true,
            Some(modifier) => {
                return Err(ApiError::NotSupported(format!("the :{modifier} modifier (on {code}) is not offered yet")))
            }
        };
        match code {
            "_format" => {}
            "_include" | "_revinclude" => {
                for value in value.split(',') {
                    let include = crate::include::parse(resource_type, value, code == "_revinclude")?;
                    if !query.includes.contains(&include) {
                        query.includes.push(include);
                    }
                }
                if query.includes.len() > crate::include::MAX_INCLUDES {
                    return Err(ApiError::TooCostly(format!(
                        "at most {} _include and _revinclude values",
                        crate::include::MAX_INCLUDES
                    )));
                }
            }
            "_sort" => match value.as_str() {
                "_lastUpdated" => query.oldest_first = true,
                "-_lastUpdated" => query.oldest_first = false,
                other => {
                    return Err(ApiError::NotSupported(format!(
                        "_sort={other}: this server sorts by _lastUpdated or -_lastUpdated only"
                    )))
                }
            },
            "_total" => match value.as_str() {
                "none" => query.no_total = true,
                "estimate" | "accurate" => query.no_total = false,
                other => return Err(ApiError::BadRequest(format!("_total={other}: none, estimate or accurate"))),
            },
            "_summary" => match value.as_str() {
                "count" => summary_count = true,
                "false" => {}
                other => {
                    return Err(ApiError::NotSupported(format!("_summary={other} is not offered (count and false are)")))
                }
            },
            "_count" => {
                query.count = value
                    .parse::<usize>()
                    .map_err(|_| ApiError::BadRequest("_count is not a whole number".into()))?
                    .min(MAX_COUNT)
            }
            "_cursor" => {
                query.cursor = Some(
                    value.parse().map_err(|_| ApiError::BadRequest("_cursor is not one this server gave".into()))?,
                )
            }
            "_lastUpdated" => query.last_updated.push(
                LastUpdated::parse(value)
                    .ok_or_else(|| ApiError::BadRequest("_lastUpdated is not [prefix]instant".into()))?,
            ),
            "_id" => {
                let ids = split_or(value);
                // Repeats are AND: only ids in every list.
                query.ids = Some(match query.ids.take() {
                    Some(earlier) => earlier.into_iter().filter(|id| ids.contains(id)).collect(),
                    None => ids,
                });
            }
            _ => match param {
                None if prefer.strict => {
                    return Err(ApiError::BadRequest(format!(
                        "{code} is not a search parameter of {resource_type} (Prefer: handling=strict)"
                    )))
                }
                None => query.ignored.push(code.to_owned()),
                Some(param) if param.code == "phonetic" => {
                    return Err(ApiError::NotSupported(
                        "phonetic asks for a sound-alike match, which this server does not make (name= matches by prefix)"
                            .into(),
                    ))
                }
                Some(param) if param.paths.is_none() => {
                    return Err(ApiError::NotSupported(format!(
                        "{code}: its definition's expression is beyond what this server evaluates"
                    )))
                }
                Some(param) if !param.kind.is_indexed() => {
                    return Err(ApiError::NotSupported(format!(
                        "{code} is a {} parameter: this server searches token, reference, uri, string and date parameters so far",
                        param.kind.code()
                    )))
                }
                Some(param) => {
                    let values = split_or(value);
                    if values.len() > MAX_ALTERNATIVES || query.conditions.len() >= MAX_CONDITIONS {
                        return Err(ApiError::TooCostly(format!(
                            "{code}: at most {MAX_CONDITIONS} parameters of {MAX_ALTERNATIVES} values each"
                        )));
                    }
                    let mut alternatives = Vec::new();
                    for alternative in values {
                        let mut groups =
                            query_groups(param, &alternative, exact).map_err(|e| ApiError::BadRequest(e.0))?;
                        for group in &mut groups {
                            group.sort_unstable();
                            group.dedup();
                            terms += group.len();
                        }
                        if terms > MAX_TERMS {
                            return Err(ApiError::TooCostly(format!("{code}: the search needs more than {MAX_TERMS} index lookups")));
                        }
                        alternatives.push(groups);
                    }
                    query.conditions.push(TermCondition { code: code.to_owned(), alternatives });
                }
            },
        }
    }
    // `_summary=count` gives the total alone, whatever `_count` says.
    if summary_count {
        query.count = 0;
    }
    if !query.includes.is_empty() {
        query.count = query.count.min(crate::include::MAX_PAGE_WITH_INCLUDES);
    }
    if query.conditions.is_empty() && query.ids.is_none() && query.chains.is_empty() {
        return Err(ApiError::NotSupported(
            "a search needs _id, or a token, reference, uri, string or date parameter (listing every resource of a type is not offered yet)"
                .into(),
        ));
    }
    Ok(query)
}

/// Whether the query is the cross-institution patient search of `exchange` (only `patient`,
/// `_lastUpdated`, `_count`, `_offset`, `_format`), which peers answer too.
pub fn is_patient_search(pairs: &[(String, String)]) -> bool {
    const PATIENT: [&str; 4] =
        ["patient", "patient.identifier", "patient:Patient.identifier", "subject:Patient.identifier"];
    pairs.iter().any(|(name, _)| PATIENT.contains(&name.as_str()))
        && pairs.iter().all(|(name, _)| {
            PATIENT.contains(&name.as_str())
                || matches!(name.as_str(), "_lastUpdated" | "_count" | "_offset" | "_format")
        })
}

/// The search: the page, decrypted, audited, as a searchset Bundle.
pub async fn search(
    state: &AppState,
    request: &HttpRequest,
    caller: &Principal,
    resource_type: &str,
    pairs: &[(String, String)],
) -> Result<HttpResponse, ApiError> {
    let query = parse(resource_type, pairs, Prefer::of(request))?;
    for chain in &query.chains {
        for (target, _) in &chain.targets {
            caller.require_search(target)?;
        }
    }
    // Resources that refer to the matches are found by a search of their type, and shown.
    for include in query.includes.iter().filter(|i| i.reverse) {
        caller.require_search(include.source_type)?;
        caller.require_read(include.source_type)?;
    }
    let (includes, reader) = (query.includes.clone(), caller.clone());
    let node = state.node.clone();
    let (rt, mut conditions, ids) = (resource_type.to_owned(), query.conditions.clone(), query.ids.clone());
    let chains = query.chains.clone();
    let filters = query.last_updated.clone();
    let (count, cursor, oldest_first) = (query.count, query.cursor, query.oldest_first);
    let found = web::block(move || {
        for chain in &chains {
            conditions.push(crate::chained_search::resolve(&node, chain)?);
        }
        let mut seqs = node.search_index(&rt, &conditions, ids.as_deref())?;
        // Records are read for the time filter only when there is one.
        if !filters.is_empty() {
            let mut kept = Vec::with_capacity(seqs.len());
            for seq in seqs {
                let record = node.record_at(seq)?;
                if filters.iter().all(|filter| filter.matches(record.time_ms)) {
                    kept.push(seq);
                }
            }
            seqs = kept;
        }
        let total = seqs.len();
        if oldest_first {
            seqs.reverse();
        }
        // The cursor is the last seq shown: the next page starts past it, in the sort's order.
        let past_cursor = |seq: &u64| cursor.is_none_or(|c| if oldest_first { *seq > c } else { *seq < c });
        let page: Vec<u64> = seqs.into_iter().filter(past_cursor).take(count + 1).collect();
        // `_count=0` asks for the total alone.
        let next = (count > 0 && page.len() > count).then(|| page[count - 1]);
        let mut entries = Vec::new();
        for seq in page.into_iter().take(count) {
            let record = node.record_at(seq)?;
            let opened = node.open_record(seq, record)?;
            let resource = opened.resource()?;
            entries.push((
                opened.record,
                resource.id().unwrap_or_default().to_owned(),
                fhir_models::to_json(&resource),
            ));
        }
        let (included, withheld) = crate::include::gather(&node, &reader, &rt, &includes, &entries)?;
        Ok::<_, SearchError>((total, next, entries, included, withheld))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let (total, next, entries, included, withheld) = match found {
        Ok(found) => found,
        Err(SearchError::TooCostly(code)) => return Err(too_costly(&code)),
        Err(SearchError::Read(ReadError::NotFound)) => (0, None, Vec::new(), Vec::new(), 0),
        Err(error) => return Err(ApiError::Internal(error.to_string())),
    };
    let accesses: Vec<_> = entries
        .iter()
        .chain(&included)
        .map(|(record, _, _)| (record.patient.clone(), record.resource_type.clone(), record.resource.clone()))
        .collect();
    if accesses.is_empty() {
        crate::audit::record(state, caller, "search", true, None, Some(resource_type.to_owned()), None).await?;
    } else {
        crate::audit::record_many(state, caller, "search", accesses).await?;
    }

    let base = interaction::base_url(state, request);
    let mut bundle_entries: Vec<Value> = entries
        .iter()
        .map(|(_, id, json)| {
            json!({
                "fullUrl": format!("{base}/{resource_type}/{id}"),
                "resource": serde_json::from_slice::<Value>(json).unwrap_or(Value::Null),
                "search": {"mode": "match"},
            })
        })
        .collect();
    bundle_entries.extend(included.iter().map(|(record, id, json)| {
        json!({
            "fullUrl": format!("{base}/{}/{id}", record.resource_type),
            "resource": serde_json::from_slice::<Value>(json).unwrap_or(Value::Null),
            "search": {"mode": "include"},
        })
    }));
    if withheld > 0 {
        bundle_entries.push(json!({
            "resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "information", "code": "suppressed",
                "diagnostics": format!("{withheld} referenced resources are left out: the token may not read their types")}]},
            "search": {"mode": "outcome"},
        }));
    }
    if !query.ignored.is_empty() {
        bundle_entries.push(json!({
            "resource": {"resourceType": "OperationOutcome", "issue": query.ignored.iter().map(|code| json!({
                "severity": "warning", "code": "not-supported",
                "diagnostics": format!("{code} is not a search parameter of {resource_type}: ignored")})).collect::<Vec<_>>()},
            "search": {"mode": "outcome"},
        }));
    }
    let path = format!("/{resource_type}");
    let mut links = vec![json!({"relation": "self", "url": link(&base, &path, pairs, None)})];
    if let Some(next) = next {
        links.push(json!({"relation": "next", "url": link(&base, &path, pairs, Some(next))}));
    }
    let mut bundle = json!({"resourceType": "Bundle", "type": "searchset", "link": links, "entry": bundle_entries});
    if !query.no_total {
        bundle["total"] = json!(total);
    }
    Ok(HttpResponse::Ok().content_type(fhir_models::JSON_MIME_TYPE).json(bundle))
}

/// The current versions that match `query` (a search URL's query string, as in `If-None-Exist`
/// or a conditional `PUT`/`DELETE`), newest first, with their logical ids. Unknown parameters are
/// refused here (as under `handling=strict`): ignoring one would match more than the condition
/// says, and a conditional write would then change the wrong resource.
pub async fn matches(
    state: &AppState,
    resource_type: &str,
    query: &str,
) -> Result<Vec<(String, node_store::records::ResourceVersion)>, ApiError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let strict = Prefer { return_: crate::interaction::Return::Representation, strict: true, respond_async: false };
    let parsed = parse(resource_type, &pairs, strict)?;
    if !parsed.chains.is_empty() || !parsed.includes.is_empty() {
        return Err(ApiError::NotSupported("chained parameters are not offered in a condition".into()));
    }
    let node = state.node.clone();
    let rt = resource_type.to_owned();
    let found = web::block(move || {
        let mut found = Vec::new();
        for seq in node.search_index(&rt, &parsed.conditions, parsed.ids.as_deref())? {
            let record = node.record_at(seq)?;
            if parsed.last_updated.iter().all(|filter| filter.matches(record.time_ms)) {
                found.push((seq, record));
            }
        }
        // Only a single match needs its id (the others are counted): one decryption at most.
        let mut resolved = Vec::with_capacity(found.len());
        let single = found.len() == 1;
        for (seq, record) in found {
            let id = if single { node.logical_id_of(seq, &record)?.unwrap_or_default() } else { String::new() };
            resolved.push((id, record));
        }
        Ok::<_, SearchError>(resolved)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    match found {
        Ok(found) => Ok(found),
        Err(SearchError::TooCostly(code)) => Err(too_costly(&code)),
        Err(error) => Err(ApiError::Internal(error.to_string())),
    }
}

fn too_costly(code: &str) -> ApiError {
    ApiError::TooCostly(format!(
        "{code} matches more than {} resources, or the search looks at more than {} index entries: narrow the search",
        node_store::search::MAX_CANDIDATES,
        node_store::search::MAX_SCANNED
    ))
}

/// The absolute URL of this search with every parameter kept, and the cursor of `next`.
fn link(base: &str, path: &str, pairs: &[(String, String)], next: Option<u64>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs.iter().filter(|(name, _)| name != "_cursor") {
        query.append_pair(name, value);
    }
    if let Some(next) = next {
        query.append_pair("_cursor", &next.to_string());
    }
    format!("{base}{path}?{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const LENIENT: Prefer =
        Prefer { return_: crate::interaction::Return::Representation, strict: false, respond_async: false };

    #[test]
    fn known_parameters_become_terms_and_unknown_ones_are_reported_or_refused() {
        let query =
            parse("Patient", &pairs(&[("identifier", "urn:mrn|1,urn:mrn|2"), ("nickname", "x")]), LENIENT).unwrap();
        assert_eq!(query.conditions[0].alternatives, [[["tsc|urn:mrn|1"]], [["tsc|urn:mrn|2"]]]);
        assert_eq!(query.ignored, ["nickname"]);
        let query = parse(
            "Patient",
            &pairs(&[
                ("family:exact", "Smith"),
                ("birthdate", "ge1970,1960"),
                ("_sort", "_lastUpdated"),
                ("_summary", "count"),
            ]),
            LENIENT,
        )
        .unwrap();
        assert_eq!(query.conditions[0].alternatives, [[["sx|Smith"]]]);
        assert_eq!(query.conditions[1].alternatives.len(), 2, "two OR-ed dates");
        assert!(query.oldest_first && query.count == 0);
        let tagged = parse("Patient", &pairs(&[("_tag", "urn:t|x")]), LENIENT).unwrap();
        assert_eq!(tagged.conditions[0].alternatives, [[["tsc|urn:t|x"]]], "_tag is every resource's parameter");
        let strict = Prefer { strict: true, ..LENIENT };
        assert!(parse("Patient", &pairs(&[("identifier", "1"), ("nickname", "x")]), strict).is_err());
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        for refused in [
            ("general-practitioner.name.family", "x"),
            ("general-practitioner:Patient.name", "x"),
            ("birthdate", "2020-01-01T10:00:00Z"),
            ("birthdate:missing", "true"),
            ("identifier:not", "1"),
            ("family:contains", "sm"),
            ("identifier:exact", "1"),
            ("_sort", "name"),
            ("_summary", "text"),
            ("_include", "Patient:*"),
            ("_include:iterate", "Patient:organization"),
            ("_include", "Observation:subject"),
            ("_count", "5"),
        ] {
            let error = parse("Patient", &pairs(&[refused]), LENIENT).err();
            assert!(error.is_some(), "{refused:?} was accepted");
        }
    }

    #[test]
    fn chained_parameters_are_searched_on_their_targets() {
        let query = parse("Observation", &pairs(&[("subject:Patient.identifier", "urn:mrn|1")]), LENIENT).unwrap();
        let chain = &query.chains[0];
        assert_eq!(chain.code, "subject");
        assert_eq!(chain.targets.len(), 1);
        assert_eq!(chain.targets[0].0, "Patient");
        assert_eq!(chain.targets[0].1.alternatives, [[["tsc|urn:mrn|1"]]]);
        // Without a type, every target type that has the parameter.
        let any = parse("Observation", &pairs(&[("subject.identifier", "x")]), LENIENT).unwrap();
        assert!(any.chains[0].targets.len() > 3, "{:?}", any.chains[0].targets.len());
        let named = parse("Observation", &pairs(&[("patient.name", "smi")]), LENIENT).unwrap();
        assert_eq!(named.chains[0].targets[0].1.alternatives, [[["sp|smi"]]]);
        assert!(parse("Observation", &pairs(&[("status.code", "x")]), LENIENT).is_err(), "status is no reference");
    }

    #[test]
    fn a_search_is_bounded_before_it_runs() {
        let many = vec!["ge0001-01-02"; MAX_ALTERNATIVES + 1].join(",");
        assert!(matches!(parse("Patient", &pairs(&[("birthdate", &many)]), LENIENT), Err(ApiError::TooCostly(_))));
        let wide = vec!["ge0001-01-02"; 40].join(",");
        assert!(matches!(parse("Patient", &pairs(&[("birthdate", &wide)]), LENIENT), Err(ApiError::TooCostly(_))));
        let repeated: Vec<(String, String)> =
            (0..=MAX_CONDITIONS).map(|_| ("name".to_owned(), "a".to_owned())).collect();
        assert!(matches!(parse("Patient", &repeated, LENIENT), Err(ApiError::TooCostly(_))));
        let counted =
            parse("Patient", &pairs(&[("name", "a"), ("_summary", "count"), ("_count", "10")]), LENIENT).unwrap();
        assert_eq!(counted.count, 0, "_summary=count is the total alone, whatever _count says");
        assert!(matches!(parse("Patient", &pairs(&[("phonetic", "smyth")]), LENIENT), Err(ApiError::NotSupported(_))));
    }

    #[test]
    fn patient_searches_go_to_the_cross_institution_path() {
        assert!(is_patient_search(&pairs(&[("patient", "p1"), ("_count", "5")])));
        assert!(!is_patient_search(&pairs(&[("patient", "p1"), ("code", "x")])));
        assert!(!is_patient_search(&pairs(&[("identifier", "x")])));
        assert!(!is_patient_search(&pairs(&[("subject", "Patient/p1")])), "subject is a reference parameter");
    }
}
