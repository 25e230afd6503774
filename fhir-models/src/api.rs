//! The crate's entry points: parse, validate, serialise, canonicalise, hash.

use fhir_json::{DecodeError, DecodeErrorKind, JsonReader, JsonWriter};

use crate::codec::{FhirDecode, FhirEncode};
use crate::generated::{OperationOutcome, Resource};
use crate::validate::{self as validation, IssueType, Severity, Validate, ValidationIssue, Validator};

/// Parses one FHIR JSON resource (a Bundle is one resource too).
///
/// Errors name the path of the offending element (see [`DecodeError::path_string`]).
pub fn parse_resource(json: &[u8]) -> Result<Resource, DecodeError> {
    let mut r = JsonReader::new(json);
    let resource = Resource::decode(&mut r)?;
    r.finish()?;
    Ok(resource)
}

/// Validates a resource against the R4 definitions; empty when valid.
pub fn validate(resource: &Resource) -> Vec<ValidationIssue> {
    let mut v = Validator::new(resource.resource_type());
    resource.validate(&mut v);
    v.into_issues()
}

/// Parses and validates; on failure gives the `OperationOutcome` to report.
pub fn parse_and_validate(json: &[u8]) -> Result<Resource, Box<OperationOutcome>> {
    let resource = parse_resource(json).map_err(|e| Box::new(outcome_for_decode_error(&e, root_hint(json))))?;
    let issues = validate(&resource);
    if issues.iter().any(|i| i.severity == Severity::Error) {
        return Err(Box::new(validation::outcome::to_operation_outcome(&issues)));
    }
    Ok(resource)
}

/// The resource type to name at the root of a decode error's path, when the input says it.
fn root_hint(json: &[u8]) -> &'static str {
    let r = JsonReader::new(json);
    match r.peek_object_string_member("resourceType") {
        Ok(Some(name)) => crate::generated::RESOURCE_TYPES
            .binary_search(&&*name)
            .map(|i| crate::generated::RESOURCE_TYPES[i])
            .unwrap_or("Resource"),
        _ => "Resource",
    }
}

/// An `OperationOutcome` for a decode error, located at the FHIRPath-like path of the element.
pub fn outcome_for_decode_error(error: &DecodeError, root: &str) -> OperationOutcome {
    let code = match error.kind {
        DecodeErrorKind::InvalidValue(_) => IssueType::Value,
        _ => IssueType::Structure,
    };
    let issue =
        ValidationIssue { severity: Severity::Error, code, path: error.path_string(root), message: error.to_string() };
    validation::outcome::to_operation_outcome(std::slice::from_ref(&issue))
}

/// Compact FHIR JSON, members in definition order.
pub fn to_json(value: &impl FhirEncode) -> Vec<u8> {
    let mut w = JsonWriter::new();
    value.encode(&mut w);
    w.into_bytes()
}

/// Indented FHIR JSON, members in definition order.
pub fn to_json_pretty(value: &impl FhirEncode) -> String {
    let mut w = JsonWriter::pretty();
    value.encode(&mut w);
    w.into_string()
}

/// The canonical form for hashing and signing (see [`fhir_json::canonicalize`]): RFC 8785 member
/// order, no insignificant whitespace, no empty elements, decimals as written.
pub fn to_canonical_json(value: &impl FhirEncode) -> Vec<u8> {
    let compact = to_json(value);
    // INVARIANT: our own encoder writes well-formed JSON without duplicate members, so
    // canonicalisation cannot fail; fall back to the compact form rather than panic.
    fhir_json::canonicalize(&compact).unwrap_or(compact)
}

/// Domain-separated SHA-256 of the canonical form.
pub fn content_hash(value: &impl FhirEncode) -> [u8; 32] {
    fhir_json::content_hash(&to_canonical_json(value))
}
