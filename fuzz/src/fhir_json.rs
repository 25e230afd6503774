//! FHIR JSON: `fhir_models::parse_and_validate` on arbitrary bytes.
//!
//! Invariants:
//! - it never panics;
//! - every `Err` is an `OperationOutcome` with at least one issue;
//! - whatever decodes (`parse_resource`, valid or not) re-encodes: `to_json` decodes again to an equal resource, and so does
//!   `to_canonical_json`; the canonical form is a fixed point (canonicalising it, or encoding
//!   the re-decoded resource canonically, gives the same bytes); `content_hash` is that of the
//!   canonical bytes.

use fhir_models::{parse_and_validate, parse_resource, to_canonical_json, to_json};

/// Runs one input.
pub fn check(data: &[u8]) {
    let resource = match parse_and_validate(data) {
        Ok(resource) => resource,
        Err(outcome) => {
            assert!(!outcome.issue.is_empty(), "an Err OperationOutcome has no issue");
            // Invalid is not undecodable: what decodes must round-trip whether valid or not.
            match parse_resource(data) {
                Ok(resource) => resource,
                Err(_) => return,
            }
        }
    };
    let compact = to_json(&resource);
    let again = parse_resource(&compact).unwrap_or_else(|error| {
        panic!("to_json output does not decode: {error}\n{}", String::from_utf8_lossy(&compact))
    });
    assert!(again == resource, "to_json round trip changed the resource\n{}", String::from_utf8_lossy(&compact));

    let canonical = to_canonical_json(&resource);
    let from_canonical = parse_resource(&canonical).unwrap_or_else(|error| {
        panic!("canonical JSON does not decode: {error}\n{}", String::from_utf8_lossy(&canonical))
    });
    assert!(from_canonical == resource, "canonical round trip changed the resource");
    assert_eq!(to_canonical_json(&from_canonical), canonical, "canonical form is not a fixed point");
    let recanonical = fhir_json::canonicalize(&canonical).expect("canonical JSON canonicalises");
    assert_eq!(recanonical, canonical, "canonicalize is not idempotent");
    assert_eq!(fhir_models::content_hash(&resource), fhir_json::content_hash(&canonical));
}
