//! Reference target checks: the type named by `Reference.reference` must be one the element
//! allows.

use super::{IssueType, Validator};
use crate::generated::{Reference, Resource};

/// The resource type a literal reference points at, when it names one.
///
/// `Patient/123`, `Patient/123/_history/2` and `https://x.org/fhir/Patient/123` name `Patient`;
/// local (`#p1`), `urn:uuid:`/`urn:oid:` and other URLs name no type and are not checked.
pub(crate) fn target_type(reference: &str) -> Option<&str> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let path = reference.split(['?', '#']).next().unwrap_or(reference);
    let mut segments: Vec<&str> = path.split('/').collect();
    if let Some(pos) = segments.iter().rposition(|s| *s == "_history") {
        segments.truncate(pos);
    }
    let n = segments.len();
    if n < 2 {
        return None;
    }
    let candidate = segments[n - 2];
    Resource::is_resource_type(candidate).then_some(candidate)
}

pub(crate) fn check_target(v: &mut Validator, r: &Reference, targets: &[&str]) {
    if targets.is_empty() || targets.contains(&"Resource") {
        return;
    }
    let Some(reference) = r.reference.as_ref().and_then(|p| p.value.as_deref()) else { return };
    if let Some(found) = target_type(reference) {
        if !targets.contains(&found) {
            v.report_at(
                "reference",
                IssueType::Invalid,
                format!("reference to {found} is not allowed here; expected {}", targets.join(" | ")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::target_type;

    #[test]
    fn finds_the_target_type() {
        assert_eq!(target_type("Patient/123"), Some("Patient"));
        assert_eq!(target_type("Patient/123/_history/2"), Some("Patient"));
        assert_eq!(target_type("https://example.org/fhir/Observation/o1"), Some("Observation"));
        assert_eq!(target_type("#contained"), None);
        assert_eq!(target_type("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"), None);
        assert_eq!(target_type("Unknown/1"), None);
        assert_eq!(target_type("Patient"), None);
    }
}
