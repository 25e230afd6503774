//! Hand-written FHIR invariants, called from the generated validators of the types they constrain.
//!
//! Only invariants that need no FHIRPath engine are here; the module doc of
//! [`crate::validate`] lists them.

use super::{IssueType, Validator};
use crate::generated::{Extension, Observation, PatientContact, Period, Resource};

/// ext-1: an extension has either nested extensions or a value, not both.
pub(crate) fn extension(e: &Extension, v: &mut Validator) {
    if e.extension.is_empty() == e.value.is_none() {
        v.report(IssueType::Invariant, "ext-1: an extension must have either extensions or value[x], not both");
    }
}

/// obs-6: `dataAbsentReason` only when there is no value.
pub(crate) fn observation(o: &Observation, v: &mut Validator) {
    if o.data_absent_reason.is_some() && o.value.is_some() {
        v.report(IssueType::Invariant, "obs-6: dataAbsentReason shall only be present if value[x] is not present");
    }
}

/// pat-1: a contact has a name, telecom, address or organization.
pub(crate) fn patient_contact(c: &PatientContact, v: &mut Validator) {
    if c.name.is_none() && c.telecom.is_empty() && c.address.is_none() && c.organization.is_none() {
        v.report(IssueType::Invariant, "pat-1: a contact shall contain a name, telecom, address or organization");
    }
}

/// per-1: start is not after end. Compared only when both have the same precision and, for
/// date-times, the same zone designator, where text order is time order.
pub(crate) fn period(p: &Period, v: &mut Validator) {
    let (Some(start), Some(end)) =
        (p.start.as_ref().and_then(|s| s.value.as_deref()), p.end.as_ref().and_then(|e| e.value.as_deref()))
    else {
        return;
    };
    let comparable =
        start.len() == end.len() && (start.len() <= 10 || start.get(19..).map(zone) == end.get(19..).map(zone));
    if comparable && start > end {
        v.report(IssueType::Invariant, "per-1: if present, start shall have a lower value than end");
    }
}

/// The zone designator of the part of a dateTime after the seconds.
fn zone(rest: &str) -> &str {
    rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit())
}

/// dom-2, dom-4, dom-5 on one contained resource.
pub(crate) fn contained(r: &Resource, v: &mut Validator) {
    if !r.contained().is_empty() {
        v.report(IssueType::Invariant, "dom-2: a contained resource shall not contain additional contained resources");
    }
    if let Some(meta) = r.meta() {
        if meta.version_id.is_some() || meta.last_updated.is_some() {
            v.report(
                IssueType::Invariant,
                "dom-4: a contained resource shall not have a meta.versionId or meta.lastUpdated",
            );
        }
        if !meta.security.is_empty() {
            v.report(IssueType::Invariant, "dom-5: a contained resource shall not have a security label");
        }
    }
}
