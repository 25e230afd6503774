//! Normalise stage: a decoded candidate → canonical JSON, its content hash and the patient it
//! belongs to ([`node_store::patient`], by the FHIR Patient compartment), or a rejection when no one
//! patient's key can hold it. Pure and independent per resource, so callers run it in parallel.

use fhir_models::validate::{IssueType, Severity, ValidationIssue};

use super::decode::{Candidate, Rejection, RequestedChange};
use node_store::patient::find_patient;

/// A candidate in canonical form.
#[derive(Debug, Clone)]
pub struct Normalised {
    /// The resource type.
    pub resource_type: &'static str,
    /// The logical id.
    pub id: String,
    /// What to do.
    pub change: RequestedChange,
    /// Canonical JSON (absent for deletes).
    pub canonical: Option<Vec<u8>>,
    /// The domain-separated content hash of `canonical`.
    pub content_hash: Option<[u8; 32]>,
    /// The logical id of the patient the resource belongs to.
    pub patient_id: Option<String>,
    /// Where in its submission it was.
    pub location: Option<String>,
    /// The ledger source it came from (`file:<pseudonym>`, `http`, ...); set by the caller.
    pub source: std::sync::Arc<str>,
    /// How it merges into an earlier version of it in the same block (v2's "no change" rule,
    /// see [`super::merge`]); `None`: it replaces. Set by the caller.
    pub merge: Option<super::merge::Merge>,
    /// The version the writer must find as the resource's current one (an HTTP `If-Match`);
    /// otherwise nothing is written and the receipt says `precondition_failed`. Checked in the
    /// commit, where no other write can come between. Set by the caller.
    pub if_match: Option<u32>,
    /// Its search terms in clear (parameter code, term), for the writer to key: computed here,
    /// off the writer thread (`None` for deletes).
    pub search_terms: Option<Vec<(&'static str, String)>>,
}

/// Normalises one candidate. Refuses a resource that no one patient's key can hold: one that
/// names two patients, or whose only patient has no id (see [`node_store::patient`]); the outcome
/// names the path, never a value, and answers 422 over HTTP (`not-supported`).
pub fn normalise(candidate: Candidate) -> Result<Normalised, Rejection> {
    let canonical = candidate.resource.as_ref().map(fhir_models::to_canonical_json);
    let content_hash = canonical.as_deref().map(fhir_json::content_hash);
    let patient_id = match (&candidate.change, canonical.as_deref()) {
        (RequestedChange::Upsert, Some(canonical)) => {
            let root = match &candidate.location {
                Some(location) => format!("{location}.resource"),
                None => candidate.resource_type.to_owned(),
            };
            match find_patient(canonical, &root, Some(&candidate.id)) {
                Ok(patient) => patient,
                Err(refusal) => {
                    let message = format!("the bridge cannot seal this under one patient's key: {}", refusal.reason);
                    let issue = ValidationIssue {
                        severity: Severity::Error,
                        code: IssueType::NotSupported,
                        path: refusal.path,
                        message,
                    };
                    let outcome = Box::new(fhir_models::validate::to_operation_outcome(std::slice::from_ref(&issue)));
                    return Err(Rejection { outcome, location: candidate.location });
                }
            }
        }
        _ => None,
    };
    let search_terms = match canonical.as_deref() {
        Some(canonical) => Some(indexable_terms(canonical, &candidate)?),
        None => None,
    };
    Ok(Normalised {
        resource_type: candidate.resource_type,
        id: candidate.id,
        change: candidate.change,
        canonical,
        content_hash,
        patient_id,
        location: candidate.location,
        source: std::sync::Arc::from(""),
        merge: None,
        if_match: None,
        search_terms,
    })
}

/// The resource's search terms, computed here (off the writer thread) for the index. A resource
/// with more than [`fhir_models::search::MAX_TERMS_PER_RESOURCE`] is refused (422): one write must
/// not grow the index, and every later rebuild of it, without bound.
fn indexable_terms(canonical: &[u8], candidate: &Candidate) -> Result<Vec<(&'static str, String)>, Rejection> {
    let Ok(resource) = serde_json::from_slice::<serde_json::Value>(canonical) else { return Ok(Vec::new()) };
    let terms = fhir_models::search::resource_terms(candidate.resource_type, &resource);
    let count = terms.len();
    if count <= fhir_models::search::MAX_TERMS_PER_RESOURCE {
        return Ok(terms);
    }
    let issue = ValidationIssue {
        severity: Severity::Error,
        code: IssueType::TooCostly,
        path: candidate
            .location
            .as_ref()
            .map_or_else(|| candidate.resource_type.to_owned(), |l| format!("{l}.resource")),
        message: format!(
            "the resource has {count} searchable values, more than the {} this server indexes for one resource",
            fhir_models::search::MAX_TERMS_PER_RESOURCE
        ),
    };
    let outcome = Box::new(fhir_models::validate::to_operation_outcome(std::slice::from_ref(&issue)));
    Err(Rejection { outcome, location: candidate.location.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedIds;
    impl super::super::IdAssigner for FixedIds {
        fn assign_id(&self, canonical: &[u8]) -> String {
            format!("assigned-{}", canonical.len())
        }
    }

    fn normalised(json: &str) -> Vec<Result<Normalised, Rejection>> {
        let decoded = super::super::decode::decode_submission(json.as_bytes(), &FixedIds);
        decoded.items.into_iter().map(|item| item.and_then(normalise)).collect()
    }

    #[test]
    fn a_resource_gets_its_patient_and_a_patient_itself() {
        let items = normalised(
            r#"{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}"#,
        );
        assert_eq!(items[0].as_ref().unwrap().patient_id.as_deref(), Some("p1"));
        let items = normalised(
            r#"{"resourceType":"Patient","id":"p9","link":[{"other":{"reference":"Patient/p8"},"type":"seealso"}]}"#,
        );
        assert_eq!(items[0].as_ref().unwrap().patient_id.as_deref(), Some("p9"));
        let items = normalised(r#"{"resourceType":"Organization","id":"org","name":"x"}"#);
        assert_eq!(items[0].as_ref().unwrap().patient_id, None);
    }

    #[test]
    fn a_contained_patient_without_a_subject_is_refused_with_its_path() {
        let items = normalised(
            r##"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Observation","id":"o1","contained":[{"resourceType":"Patient","id":"baby","name":[{"family":"Secret"}]}],"status":"final","code":{"text":"x"},"subject":{"reference":"#baby"}}}]}"##,
        );
        let rejection = items[0].as_ref().unwrap_err();
        let issue = &rejection.outcome.issue[0];
        assert_eq!(issue.expression[0].as_str(), Some("Bundle.entry[0].resource.subject.reference"));
        assert_eq!(issue.code.as_ref().and_then(|c| c.as_str()), Some("not-supported"));
        let text = issue.diagnostics.as_ref().and_then(|d| d.as_str()).unwrap_or_default();
        assert!(!text.contains("Secret") && !text.contains("baby"), "{text}");
        assert_eq!(rejection.location.as_deref(), Some("Bundle.entry[0]"));
    }
}
