//! Decode stage: bytes of one submission (a resource or a Bundle) → typed, validated candidates,
//! each with its identity, or rejections with an `OperationOutcome`.
//!
//! Bundles are expanded: every entry becomes its own candidate. `urn:uuid:` references between
//! entries are rewritten to the `Type/id` of the entry they name. A transaction is all or nothing:
//! one bad entry rejects the whole Bundle. In other Bundle types each entry stands alone.
//! Read entries (`GET`, `HEAD`) carry no data and are counted as skipped.

use std::collections::HashMap;

use fhir_json::{JsonKind, JsonReader, JsonWriter};
use fhir_models::validate::{is_fhir_id, IssueType, Severity, Validate, ValidationIssue, Validator};
use fhir_models::{Bundle, BundleEntry, OperationOutcome, Resource};

/// What the source asked for, as far as the decode stage can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedChange {
    /// Store this content (a plain resource, `POST` or `PUT`).
    Upsert,
    /// Delete the resource (`DELETE Type/id`).
    Delete,
}

/// A resource that passed decoding and validation, with its identity.
#[derive(Debug)]
pub struct Candidate {
    /// The resource type.
    pub resource_type: &'static str,
    /// The logical id: the source's, or one the bridge assigned.
    pub id: String,
    /// The resource (absent for deletes).
    pub resource: Option<Resource>,
    /// What to do.
    pub change: RequestedChange,
    /// Where in the submission it was (`Bundle.entry[3]`), for messages.
    pub location: Option<String>,
}

/// A refused submission or entry: the `OperationOutcome` says why and where.
#[derive(Debug)]
pub struct Rejection {
    /// Why, with the FHIR path of the offending element.
    pub outcome: Box<OperationOutcome>,
    /// Where in the submission (`Bundle.entry[3]`), when it is one entry of a Bundle.
    pub location: Option<String>,
}

impl Rejection {
    /// The first issue's diagnostics: the reason in one line, naming the path or field and never
    /// quoting a value.
    pub fn reason(&self) -> Option<&str> {
        self.outcome.issue.first().and_then(|i| i.diagnostics.as_ref()).and_then(|d| d.as_str())
    }
}

/// The decoded form of one submission.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Candidates and rejections, in submission order.
    pub items: Vec<Result<Candidate, Rejection>>,
    /// Entries that carry no data (reads in a batch).
    pub skipped: usize,
    /// Whether it is a transaction: all or nothing, also for what later stages refuse.
    pub transaction: bool,
}

/// Assigns a logical id to a resource that came without one. It must be deterministic in the
/// content, so that sending the same content again is recognised as a duplicate.
pub trait IdAssigner: Sync {
    /// An id for content whose canonical JSON is `canonical`.
    fn assign_id(&self, canonical: &[u8]) -> String;
}

fn outcome(path: String, code: IssueType, message: impl Into<String>) -> Box<OperationOutcome> {
    Box::new(fhir_models::validate::error_outcome(code, path, message))
}

fn reject(location: Option<String>, outcome: Box<OperationOutcome>) -> Rejection {
    Rejection { outcome, location }
}

/// Decodes one submission: parse, validate, expand Bundles, resolve identities.
pub fn decode_submission(bytes: &[u8], ids: &dyn IdAssigner) -> Decoded {
    let resource = match fhir_models::parse_and_validate(bytes) {
        Ok(resource) => resource,
        Err(outcome) => return Decoded { items: vec![Err(reject(None, outcome))], ..Decoded::default() },
    };
    match resource {
        Resource::Bundle(bundle) => expand_bundle(*bundle, ids),
        resource => {
            Decoded { items: vec![identify(resource, None, None, ids).and_then(enforceable)], ..Decoded::default() }
        }
    }
}

/// Refuses what the bridge stores but could not honour: a Consent in force that holds rules
/// it cannot enforce (see [`fhir_consent`]). The outcome names the element; `not-supported`
/// answers 422 over HTTP.
fn enforceable(candidate: Candidate) -> Result<Candidate, Rejection> {
    let Some(Resource::Consent(consent)) = &candidate.resource else { return Ok(candidate) };
    match fhir_consent::read(consent) {
        Ok(_) => Ok(candidate),
        Err(refusal) => {
            let path = match &candidate.location {
                Some(location) => format!("{location}.resource{}", refusal.path.trim_start_matches("Consent")),
                None => refusal.path.clone(),
            };
            let message = format!("the bridge cannot enforce this element of a Consent: {}", refusal.reason);
            Err(reject(candidate.location.clone(), outcome(path, IssueType::NotSupported, message)))
        }
    }
}

/// Gives a resource its identity (the source's id, the one named by the request, or an assigned one).
/// Every id is checked here, wherever it came from (the resource, a request URL, a `fullUrl`),
/// so that no path stores an id that `POST` would refuse.
fn identify(
    mut resource: Resource,
    id_hint: Option<&str>,
    location: Option<String>,
    ids: &dyn IdAssigner,
) -> Result<Candidate, Rejection> {
    let id = match resource.id().map(str::to_owned).or_else(|| id_hint.map(str::to_owned)) {
        Some(id) => id,
        None => ids.assign_id(&fhir_models::to_canonical_json(&resource)),
    };
    if !is_fhir_id(&id) {
        let path = match &location {
            Some(location) => format!("{location}.resource.id"),
            None => format!("{}.id", resource.resource_type()),
        };
        return Err(reject(
            location,
            outcome(path, IssueType::Value, "not a valid id: 1 to 64 of A-Z, a-z, 0-9, '-' and '.'"),
        ));
    }
    resource.set_id(Some(id.clone()));
    Ok(Candidate {
        resource_type: resource.resource_type(),
        id,
        resource: Some(resource),
        change: RequestedChange::Upsert,
        location,
    })
}

/// `Type/id` of a request URL (`Patient/123`, or an absolute URL ending so); `None` for
/// conditional (`Patient?identifier=...`) and operation URLs.
fn type_and_id(url: &str) -> Option<(&'static str, &str)> {
    if url.contains('?') || url.contains('$') {
        return None;
    }
    let mut segments = url.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    let resource_type = segments.next()?;
    let index = fhir_models::RESOURCE_TYPES.binary_search(&resource_type).ok()?;
    let valid_id =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid_id.then_some((fhir_models::RESOURCE_TYPES[index], id))
}

fn expand_bundle(bundle: Bundle, ids: &dyn IdAssigner) -> Decoded {
    let transaction = bundle.r#type.as_ref().and_then(|t| t.as_str()) == Some("transaction");
    let mut decoded = Decoded { transaction, ..Decoded::default() };

    // First pass: the identity of every entry, so references between entries can be resolved.
    let mut resolved: HashMap<String, String> = HashMap::new();
    let mut planned: Vec<Option<Result<PlannedEntry, Rejection>>> = Vec::with_capacity(bundle.entry.len());
    for (index, entry) in bundle.entry.into_iter().enumerate() {
        let location = format!("Bundle.entry[{index}]");
        match plan_entry(entry, &location, ids) {
            EntryPlan::Skip => {
                decoded.skipped += 1;
                planned.push(None);
            }
            EntryPlan::Reject(rejection) => planned.push(Some(Err(rejection))),
            EntryPlan::Keep { resource, change, id, full_url } => {
                if let (Some(full_url), Some(id)) = (full_url, &id) {
                    let resource_type = resource.as_ref().map(Resource::resource_type).unwrap_or_default();
                    resolved.insert(full_url, format!("{resource_type}/{id}"));
                }
                planned.push(Some(Ok((resource, change, id))));
            }
        }
    }

    // Second pass: rewrite `urn:uuid:` references and finish each candidate.
    for (index, plan) in planned.into_iter().enumerate() {
        let location = format!("Bundle.entry[{index}]");
        let Some(plan) = plan else { continue };
        let item = plan.and_then(|(resource, change, id)| {
            let Some(resource) = resource else {
                // A delete: its identity came from the request URL.
                let (resource_type, id) = id
                    .as_deref()
                    .and_then(|id| id.split_once('/'))
                    .and_then(|(t, i)| type_and_id(&format!("{t}/{i}")).map(|(t, i)| (t, i.to_owned())))
                    .ok_or_else(|| {
                        reject(
                            Some(location.clone()),
                            outcome(
                                format!("{location}.request.url"),
                                IssueType::NotSupported,
                                "unsupported request URL",
                            ),
                        )
                    })?;
                return Ok(Candidate { resource_type, id, resource: None, change, location: Some(location.clone()) });
            };
            let resource = resolve_references(resource, &resolved, &location)?;
            let mut candidate = identify(resource, id.as_deref(), Some(location.clone()), ids)?;
            candidate.change = change;
            enforceable(candidate)
        });
        decoded.items.push(item);
    }

    if transaction {
        // FHIR: a transaction whose entries overlap in the resources they change fails; two
        // entries for one resource would otherwise become two versions in one atomic step.
        let mut seen: HashMap<(&'static str, String), usize> = HashMap::new();
        let mut overlap = None;
        for (index, item) in decoded.items.iter().enumerate() {
            let Ok(candidate) = item else { continue };
            if let Some(first) = seen.insert((candidate.resource_type, candidate.id.clone()), index) {
                overlap = Some((first, index));
                break;
            }
        }
        if let Some((first, second)) = overlap {
            let location = decoded.items[second].as_ref().ok().and_then(|c| c.location.clone());
            let message = format!("this entry changes the same resource as an earlier one (entry {first})");
            let path = location.as_deref().map_or_else(String::new, |l| format!("{l}.fullUrl"));
            decoded.items = vec![Err(reject(location, outcome(path, IssueType::Invalid, message)))];
            decoded.skipped = 0;
            return decoded;
        }
    }

    if transaction {
        if let Some(position) = decoded.items.iter().position(Result::is_err) {
            // All or nothing: the first rejection stands for the whole Bundle.
            let first = decoded.items.swap_remove(position);
            decoded.items = vec![first];
            decoded.skipped = 0;
        }
    }
    decoded
}

/// An entry kept for the second pass: its resource (absent for deletes), change and id.
type PlannedEntry = (Option<Resource>, RequestedChange, Option<String>);

enum EntryPlan {
    Skip,
    Reject(Rejection),
    Keep {
        resource: Option<Resource>,
        change: RequestedChange,
        /// The id (for deletes `Type/id`), when known before assignment.
        id: Option<String>,
        full_url: Option<String>,
    },
}

fn plan_entry(entry: BundleEntry, location: &str, ids: &dyn IdAssigner) -> EntryPlan {
    let method = entry.request.as_ref().and_then(|r| r.method.as_ref()).and_then(|m| m.as_str()).map(str::to_owned);
    let url = entry.request.as_ref().and_then(|r| r.url.as_ref()).and_then(|u| u.as_str()).map(str::to_owned);
    let full_url = entry.full_url.as_ref().and_then(|u| u.as_str()).map(str::to_owned);
    let not_supported = |what: &str| {
        EntryPlan::Reject(reject(
            Some(location.to_owned()),
            outcome(format!("{location}.request"), IssueType::NotSupported, what.to_owned()),
        ))
    };
    let invalid = |element: &str, what: &str| {
        EntryPlan::Reject(reject(
            Some(location.to_owned()),
            outcome(format!("{location}.{element}"), IssueType::Invalid, what.to_owned()),
        ))
    };
    // A `urn:uuid:` full URL gives the entry its id when the resource has none: it must be a UUID.
    if let Some(uuid) = full_url.as_deref().and_then(|u| u.strip_prefix("urn:uuid:")) {
        if fhir_models::validate::format::check(fhir_models::validate::PrimitiveKind::Uuid, &format!("urn:uuid:{uuid}"))
            .is_err()
        {
            return invalid("fullUrl", "not a valid urn:uuid: expected urn:uuid:<lower-case UUID>");
        }
    }
    // Conditions on an entry would be ignored here: refused instead, as doing the write without
    // them is more than the sender asked.
    if let Some(request) = &entry.request {
        let conditional =
            [&request.if_match, &request.if_none_exist, &request.if_none_match, &request.if_modified_since]
                .iter()
                .any(|condition| condition.is_some());
        if conditional && !matches!(method.as_deref(), Some("GET" | "HEAD")) {
            return not_supported(
                "conditional entries (ifMatch, ifNoneExist) are not supported in Bundles yet: send them one at a time (If-Match, If-None-Exist)",
            );
        }
    }
    match method.as_deref() {
        Some("GET" | "HEAD") => return EntryPlan::Skip,
        Some("PATCH") => return not_supported("PATCH is not supported"),
        Some("DELETE") => {
            return match url.as_deref().and_then(type_and_id) {
                Some((t, i)) => EntryPlan::Keep {
                    resource: None,
                    change: RequestedChange::Delete,
                    id: Some(format!("{t}/{i}")),
                    full_url: None,
                },
                None => not_supported("conditional DELETE is not supported; name the resource as Type/id"),
            };
        }
        Some("PUT") if url.as_deref().and_then(type_and_id).is_none() => {
            return not_supported("conditional PUT is not supported; name the resource as Type/id");
        }
        _ => {}
    }
    let Some(resource) = entry.resource else {
        // Responses and links without content carry nothing to store.
        return EntryPlan::Skip;
    };
    // The request URL and the resource must agree: FHIR refuses an update whose URL names
    // another type or id than the body, and a create whose URL names another type.
    let from_url = match method.as_deref() {
        Some("PUT") => {
            let Some((url_type, url_id)) = url.as_deref().and_then(type_and_id) else {
                return not_supported("conditional PUT is not supported; name the resource as Type/id");
            };
            if url_type != resource.resource_type() {
                return invalid("request.url", "the URL names another resource type than the entry's resource");
            }
            if resource.id().is_some_and(|id| id != url_id) {
                return invalid("resource.id", "the resource id must equal the id in the request URL");
            }
            Some(url_id.to_owned())
        }
        Some("POST") => {
            let url_type = url.as_deref().and_then(|u| u.split('?').next()?.trim_end_matches('/').rsplit('/').next());
            if url_type.is_some_and(|t| t != resource.resource_type()) {
                return invalid("request.url", "the URL names another resource type than the entry's resource");
            }
            None
        }
        _ => None,
    };
    let from_full_url = full_url.as_deref().and_then(|u| u.strip_prefix("urn:uuid:")).map(str::to_owned);
    let id = resource.id().map(str::to_owned).or(from_url).or(from_full_url).or_else(|| {
        // Assign now, so that other entries can refer to it.
        full_url.as_ref().map(|_| ids.assign_id(&fhir_models::to_canonical_json(&resource)))
    });
    let full_url = full_url.filter(|u| u.starts_with("urn:uuid:") || u.starts_with("urn:oid:"));
    EntryPlan::Keep { resource: Some(resource), change: RequestedChange::Upsert, id, full_url }
}

/// Rewrites every `reference` member whose value is a `urn:` full URL of an entry to that entry's
/// `Type/id`; a `urn:uuid:` reference that names no entry is an error.
fn resolve_references(
    resource: Resource,
    resolved: &HashMap<String, String>,
    location: &str,
) -> Result<Resource, Rejection> {
    let json = fhir_models::to_json(&resource);
    if !fhir_json::mentions(&json, b"\"urn:") {
        return Ok(resource);
    }
    let mut out = JsonWriter::new();
    let mut path = format!("{location}.resource");
    let mut r = JsonReader::new(&json);
    let mut changed = false;
    copy_rewriting(&mut r, &mut out, resolved, &mut path, false, &mut changed).map_err(|bad_path| {
        reject(
            Some(location.to_owned()),
            outcome(bad_path, IssueType::NotFound, "urn:uuid reference names no entry of the Bundle"),
        )
    })?;
    if !changed {
        return Ok(resource);
    }
    let rewritten = out.into_bytes();
    // Our own writer's output of a model that decoded once decodes again.
    let resource = fhir_models::parse_resource(&rewritten).map_err(|e| {
        reject(Some(location.to_owned()), outcome(e.path_string(location), IssueType::Structure, e.to_string()))
    })?;
    // The Bundle was validated with `urn:uuid:` references, whose target type is unknown; now that
    // they name `Type/id`, check the resource again (an Observation.subject resolving to a
    // Practitioner is refused here).
    let root = format!("{location}.resource");
    let issues: Vec<ValidationIssue> =
        validate_at(&resource, &root).into_iter().filter(|i| i.severity == Severity::Error).collect();
    if !issues.is_empty() {
        return Err(reject(Some(location.to_owned()), Box::new(fhir_models::validate::to_operation_outcome(&issues))));
    }
    Ok(resource)
}

/// Copies one JSON value, rewriting reference strings; the error is the path of a bad reference.
fn copy_rewriting(
    r: &mut JsonReader<'_>,
    w: &mut JsonWriter,
    resolved: &HashMap<String, String>,
    path: &mut String,
    is_reference: bool,
    changed: &mut bool,
) -> Result<(), String> {
    // The input is our own encoder's output, so reader errors cannot happen; map them anyway.
    let fail = |path: &str| path.to_owned();
    match r.peek_kind().map_err(|_| fail(path))? {
        JsonKind::Object => {
            r.begin_object().map_err(|_| fail(path))?;
            w.begin_object();
            while let Some(key) = r.next_key().map_err(|_| fail(path))? {
                let mark = path.len();
                path.push('.');
                path.push_str(&key);
                w.key(&key);
                copy_rewriting(r, w, resolved, path, key == "reference", changed)?;
                path.truncate(mark);
            }
            w.end_object();
        }
        JsonKind::Array => {
            r.begin_array().map_err(|_| fail(path))?;
            w.begin_array();
            let mut index = 0;
            while r.next_element().map_err(|_| fail(path))? {
                let mark = path.len();
                path.push_str(&format!("[{index}]"));
                copy_rewriting(r, w, resolved, path, false, changed)?;
                path.truncate(mark);
                index += 1;
            }
            w.end_array();
        }
        JsonKind::String => {
            let text = r.read_str().map_err(|_| fail(path))?;
            if is_reference && text.starts_with("urn:") {
                match resolved.get(&*text) {
                    Some(target) => {
                        w.string(target);
                        *changed = true;
                    }
                    None if text.starts_with("urn:uuid:") => return Err(path.clone()),
                    None => w.string(&text),
                }
            } else {
                w.string(&text);
            }
        }
        JsonKind::Number => w.number_raw(r.read_number_raw().map_err(|_| fail(path))?),
        JsonKind::Bool => w.bool(r.read_bool().map_err(|_| fail(path))?),
        JsonKind::Null => {
            r.try_null().map_err(|_| fail(path))?;
            w.null();
        }
    }
    Ok(())
}

/// Validates `resource` with paths rooted at `location`.
fn validate_at(resource: &Resource, location: &str) -> Vec<ValidationIssue> {
    let mut v = Validator::new(location);
    resource.validate(&mut v);
    v.into_issues()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedIds;
    impl IdAssigner for FixedIds {
        fn assign_id(&self, canonical: &[u8]) -> String {
            format!("assigned-{}", canonical.len())
        }
    }

    fn decode(json: &str) -> Decoded {
        decode_submission(json.as_bytes(), &FixedIds)
    }

    #[test]
    fn a_consent_the_bridge_cannot_enforce_is_refused_naming_the_element() {
        let json = r#"{"resourceType":"Consent","id":"c-one","status":"active",
            "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
            "category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
            "patient":{"reference":"Patient/p1"},
            "provision":{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}]},"reference":{"reference":"Organization/hospital-b"}}],
                         "data":[{"meaning":"instance","reference":{"reference":"Observation/o1"}}]}}"#;
        let decoded = decode(json);
        let Some(Err(rejection)) = decoded.items.first() else { panic!("refused: {:?}", decoded.items) };
        assert_eq!(rejection.outcome.issue[0].expression[0].as_str(), Some("Consent.provision.data"));
        assert_eq!(rejection.outcome.issue[0].code.as_ref().and_then(|c| c.as_str()), Some("not-supported"));
    }

    #[test]
    fn a_plain_resource_keeps_its_id_or_gets_one() {
        let d = decode(r#"{"resourceType":"Patient","id":"p1"}"#);
        let c = d.items[0].as_ref().unwrap();
        assert_eq!((c.resource_type, c.id.as_str()), ("Patient", "p1"));
        let d = decode(r#"{"resourceType":"Patient","active":true}"#);
        assert!(d.items[0].as_ref().unwrap().id.starts_with("assigned-"));
    }

    #[test]
    fn transaction_references_are_resolved_to_entry_ids() {
        let d = decode(
            r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
            {"fullUrl":"urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},"request":{"method":"POST","url":"Observation"}},
            {"request":{"method":"DELETE","url":"Patient/old"}},
            {"request":{"method":"GET","url":"Patient/x"}}]}"#,
        );
        assert_eq!(d.skipped, 1);
        let items: Vec<&Candidate> = d.items.iter().map(|i| i.as_ref().unwrap()).collect();
        assert_eq!(items[0].id, "0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0");
        let json = String::from_utf8(fhir_models::to_json(items[1].resource.as_ref().unwrap())).unwrap();
        assert!(json.contains(r#""reference":"Patient/0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0""#), "{json}");
        assert_eq!(
            (items[2].resource_type, items[2].id.as_str(), items[2].change),
            ("Patient", "old", RequestedChange::Delete)
        );
    }

    #[test]
    fn conditional_entries_are_refused_rather_than_run_unconditionally() {
        for condition in [r#""ifNoneExist":"identifier=x|1""#, r#""ifMatch":"W/\"1\"""#] {
            let bundle = format!(
                r#"{{"resourceType":"Bundle","type":"batch","entry":[
                {{"resource":{{"resourceType":"Patient","id":"c1"}},"request":{{"method":"PUT","url":"Patient/c1",{condition}}}}}]}}"#
            );
            let decoded = decode_submission(bundle.as_bytes(), &FixedIds);
            let Err(rejection) = &decoded.items[0] else { panic!("{condition} was accepted") };
            assert!(format!("{:?}", rejection.outcome).contains("not supported in Bundles"), "{condition}");
        }
    }

    #[test]
    fn an_unresolvable_reference_rejects_a_transaction_with_its_path() {
        let d = decode(
            r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
            {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:9c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},"request":{"method":"POST","url":"Observation"}}]}"#,
        );
        assert_eq!(d.items.len(), 1);
        let rejection = d.items[0].as_ref().unwrap_err();
        let path = rejection.outcome.issue[0].expression[0].as_str().unwrap();
        assert_eq!(path, "Bundle.entry[1].resource.subject.reference");
    }

    #[test]
    fn a_resolved_reference_to_a_wrong_target_type_is_rejected() {
        let d = decode(
            r#"{"resourceType":"Bundle","type":"batch","entry":[
            {"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Practitioner"},"request":{"method":"POST","url":"Practitioner"}},
            {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},"request":{"method":"POST","url":"Observation"}}]}"#,
        );
        assert!(d.items[0].is_ok());
        let rejection = d.items[1].as_ref().unwrap_err();
        assert_eq!(
            rejection.outcome.issue[0].expression[0].as_str(),
            Some("Bundle.entry[1].resource.subject.reference")
        );
    }

    #[test]
    fn invalid_input_is_rejected_with_the_fhir_path() {
        let d = decode(r#"{"resourceType":"Patient","birthDate":"1970-13-01"}"#);
        let rejection = d.items[0].as_ref().unwrap_err();
        assert_eq!(rejection.outcome.issue[0].expression[0].as_str(), Some("Patient.birthDate"));
        let d = decode(
            r#"{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","gender":"x"},"request":{"method":"POST","url":"Patient"}}]}"#,
        );
        let rejection = d.items[0].as_ref().unwrap_err();
        assert_eq!(rejection.outcome.issue[0].expression[0].as_str(), Some("Bundle.entry[0].resource.gender"));
    }

    #[test]
    fn request_urls_name_type_and_id() {
        assert_eq!(type_and_id("Patient/123"), Some(("Patient", "123")));
        assert_eq!(type_and_id("http://x.org/fhir/Patient/123"), Some(("Patient", "123")));
        assert_eq!(type_and_id("Patient?identifier=1"), None);
        assert_eq!(type_and_id("Nope/1"), None);
    }
}
