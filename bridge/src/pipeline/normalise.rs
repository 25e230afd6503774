//! Normalise stage: a decoded candidate → canonical JSON, its content hash and the patient it
//! belongs to. Pure and independent per resource, so callers run it in parallel.

use fhir_json::JsonReader;

use super::decode::{Candidate, RequestedChange};

/// Top-level elements that name the patient a resource belongs to, in the order tried. They
/// cover the Patient compartment of the resources hospitals send most (`Observation.subject`,
/// `Claim.patient`, `Coverage.beneficiary`, ...); a resource without one belongs to no patient
/// and is sealed under the institution's key.
const PATIENT_ELEMENTS: &[&str] = &["patient", "subject", "beneficiary", "individual"];

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
}

/// Normalises one candidate.
pub fn normalise(candidate: Candidate) -> Normalised {
    let canonical = candidate.resource.as_ref().map(fhir_models::to_canonical_json);
    let content_hash = canonical.as_deref().map(fhir_json::content_hash);
    let patient_id = match (&candidate.change, candidate.resource_type) {
        (_, "Patient") => Some(candidate.id.clone()),
        (RequestedChange::Upsert, _) => canonical.as_deref().and_then(patient_of),
        (RequestedChange::Delete, _) => None,
    };
    Normalised {
        resource_type: candidate.resource_type,
        id: candidate.id,
        change: candidate.change,
        canonical,
        content_hash,
        patient_id,
        location: candidate.location,
        source: std::sync::Arc::from(""),
        merge: None,
    }
}

/// The patient a resource in canonical form belongs to, by the rule [`normalise`] applies when
/// it stores it: a Patient is its own, anything else the one [`patient_of`] finds. A reader that
/// has only the content (a grantee checking a custodian's answer) calls this.
pub fn owning_patient(resource_type: &str, canonical: &[u8]) -> Option<String> {
    if resource_type == "Patient" {
        JsonReader::new(canonical).peek_object_string_member("id").ok().flatten().map(String::from)
    } else {
        patient_of(canonical)
    }
}

/// The id of the patient named by the first of [`PATIENT_ELEMENTS`] that references a Patient.
pub fn patient_of(canonical: &[u8]) -> Option<String> {
    let mut found: Option<(usize, String)> = None;
    let mut r = JsonReader::new(canonical);
    r.begin_object().ok()?;
    while let Some(key) = r.next_key().ok()? {
        let rank = PATIENT_ELEMENTS.iter().position(|e| *e == key);
        match rank {
            Some(rank) if found.as_ref().is_none_or(|(best, _)| rank < *best) => match reference_of(&mut r)? {
                Some(id) => found = Some((rank, id)),
                None => continue,
            },
            _ => r.skip_value().ok()?,
        }
    }
    found.map(|(_, id)| id)
}

/// Reads a Reference object and gives the id when it is `Patient/{id}`.
fn reference_of(r: &mut JsonReader<'_>) -> Option<Option<String>> {
    if r.peek_kind().ok()? != fhir_json::JsonKind::Object {
        r.skip_value().ok()?;
        return Some(None);
    }
    let mut id = None;
    r.begin_object().ok()?;
    while let Some(key) = r.next_key().ok()? {
        if key == "reference" {
            let text = r.read_str().ok()?;
            id = text.strip_prefix("Patient/").map(|rest| rest.split('/').next().unwrap_or(rest).to_owned());
        } else {
            r.skip_value().ok()?;
        }
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_patient_of_a_resource() {
        assert_eq!(patient_of(br#"{"code":{},"subject":{"reference":"Patient/p1"}}"#), Some("p1".into()));
        assert_eq!(
            patient_of(br#"{"patient":{"reference":"Patient/p2/_history/3"},"subject":{"reference":"Patient/p1"}}"#),
            Some("p2".into())
        );
        assert_eq!(patient_of(br#"{"subject":{"reference":"Group/g"}}"#), None);
        assert_eq!(patient_of(br#"{"name":[{"family":"x"}]}"#), None);
    }
}
