//! Typed FHIR R4 (4.0.1) models, generated from the official StructureDefinitions, with a
//! validator derived from the same definitions, canonical JSON and content hashing.
//!
//! # Brief overview
//! - [`Resource`] is any R4 resource; every resource, backbone element and datatype is a typed
//!   struct ([`Patient`], [`PatientContact`], [`HumanName`], ...). Choice elements (`value[x]`) are
//!   enums ([`ObservationValue`]); primitives are [`Primitive`] values that keep their `_element`
//!   extensions; decimals keep their exact text ([`Decimal`]).
//! - [`parse_resource`] reads FHIR JSON into a [`Resource`]. Unknown elements, wrong JSON types,
//!   duplicate members and malformed values are errors with the path of the offending element
//!   ([`DecodeError`]); nothing is silently dropped, and [`to_json`] writes back the same content.
//! - [`validate()`] checks cardinality, required bindings, primitive formats, reference targets and
//!   a documented subset of invariants (see [`validate`]); [`OperationOutcome`]s report errors with
//!   FHIRPath-like locations (`Patient.contact[0].name.family`).
//! - [`compartment`] is the Patient compartment: which elements of a resource name the patients
//!   whose compartment it is in.
//! - [`to_canonical_json`] gives the canonical form used for hashing and signing, and
//!   [`content_hash`] its domain-separated SHA-256.
//!
//! # Limits
//! Input is bounded so that no document, however small, can exhaust a thread's stack (a stack
//! overflow aborts the process; nothing can catch it):
//! - [`MAX_RESOURCE_DEPTH`] (8): resources within resources (`Bundle.entry.resource`,
//!   `Parameters.parameter.resource`, `contained`); deeper input is a decode error at the path of
//!   the first resource too deep, and the [`Validator`](validate::Validator) stops there too.
//! - [`fhir_json::MAX_DEPTH`] (64): JSON objects and arrays, which bounds every other recursion of
//!   decoding, validation, encoding and canonical JSON over a decoded resource.
//!
//! At both limits together a debug build needs well under 1 MiB of stack (the tests in
//! `tests/limits.rs` run on 256 KiB to 1 MiB threads). Encoding recurses as deep as the value it
//! is given: every decoded value is within the limits, a value built in code is its builder's
//! responsibility.
//!
//! This crate knows nothing of ledgers, message buses or HTTP.
//!
//! # Example
//! ```
//! let json = br#"{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01","gender":"other"}"#;
//! let patient = fhir_models::parse_resource(json).unwrap();
//! assert!(fhir_models::validate(&patient).is_empty());
//! assert_eq!(patient.resource_type(), "Patient");
//! ```

mod api;
mod codec;
pub mod compartment;
#[rustfmt::skip]
#[allow(missing_docs, reason = "generated code documents items from the spec where the spec has text")]
#[allow(clippy::all, reason = "generated code")]
mod generated;
mod primitive;
pub mod search;
pub mod validate;

pub use api::{
    content_hash, outcome_for_decode_error, parse_and_validate, parse_resource, to_canonical_json, to_json,
    to_json_pretty, validate,
};
pub use codec::{FhirDecode, FhirEncode, PrimitiveValue, MAX_RESOURCE_DEPTH};
pub use fhir_json::{DecodeError, DecodeErrorKind, PathSegment};
pub use generated::valuesets;
pub use generated::*;
pub use primitive::{Decimal, Primitive, PrimitiveExtension, MAX_DECIMAL_DIGITS, MAX_DECIMAL_EXPONENT};

/// The FHIR version the models are generated from.
pub const FHIR_VERSION: &str = "4.0.1";
/// MIME type of FHIR JSON.
pub const JSON_MIME_TYPE: &str = "application/fhir+json";
