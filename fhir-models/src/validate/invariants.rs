//! Hand-written FHIR invariants, called from the generated validators of the types they constrain.
//!
//! Only invariants that need no FHIRPath engine are here; the module doc of
//! [`crate::validate`] lists them.

use std::collections::HashSet;

use super::{IssueType, Validator};
use crate::generated::{Bundle, Extension, Observation, PatientContact, Period, Reference, Resource};

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

/// ref-1 and dom-3 need every local reference of a resource: notes `#...` references for the
/// checks when the validator leaves the resource (see `scope.rs`).
pub(crate) fn reference(r: &Reference, v: &mut Validator) {
    if let Some(target) = r.reference.as_ref().and_then(|p| p.value.as_deref()).and_then(|t| t.strip_prefix('#')) {
        v.note_local_reference(target, Some("reference"), true);
    }
}

/// bdl-3, bdl-4 (request and response by Bundle type), bdl-7 (unique fullUrl), bdl-11 and bdl-12
/// (what a document and a message begin with).
pub(crate) fn bundle(b: &Bundle, v: &mut Validator) {
    let Some(bundle_type) = b.r#type.as_ref().and_then(|t| t.value.as_deref()) else { return };
    let wants_request = matches!(bundle_type, "batch" | "transaction" | "history");
    let wants_response = matches!(bundle_type, "batch-response" | "transaction-response" | "history");
    // (fullUrl, versionId) pairs seen; the same fullUrl twice would make two versions of one
    // resource out of one transaction.
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for (index, entry) in b.entry.iter().enumerate() {
        let mark = v.enter_index("entry", index);
        if entry.request.is_some() != wants_request {
            v.report(
                IssueType::Invariant,
                "bdl-3: entry.request is required in batch, transaction and history Bundles, and not allowed in others",
            );
        }
        if entry.response.is_some() != wants_response {
            v.report(
                IssueType::Invariant,
                "bdl-4: entry.response is required in batch-response, transaction-response and history Bundles, \
                 and not allowed in others",
            );
        }
        let full_url = entry.full_url.as_ref().and_then(|u| u.value.as_deref());
        if let (Some(full_url), false) = (full_url, bundle_type == "history") {
            let version = entry
                .resource
                .as_ref()
                .and_then(Resource::meta)
                .and_then(|m| m.version_id.as_ref())
                .and_then(|p| p.value.as_deref())
                .unwrap_or_default();
            if !seen.insert((full_url, version)) {
                v.report_at(
                    "fullUrl",
                    IssueType::Invariant,
                    "bdl-7: fullUrl shall be unique in a Bundle, unless the entries' meta.versionId differ",
                );
            }
        }
        v.leave(mark);
    }
    let first = b.entry.first().and_then(|e| e.resource.as_ref()).map(Resource::resource_type);
    if bundle_type == "document" && first != Some("Composition") {
        v.report(IssueType::Invariant, "bdl-11: a document Bundle's first entry shall be a Composition");
    }
    if bundle_type == "message" && first != Some("MessageHeader") {
        v.report(IssueType::Invariant, "bdl-12: a message Bundle's first entry shall be a MessageHeader");
    }
}
