//! The checks behind the fuzz targets in `fuzz_targets/`, one module per target, each with one
//! entry point `check(data)` that panics when an invariant fails.
//!
//! They live in a library, not in the targets, so that `cargo test` in this crate can replay the
//! committed seeds and every crash found (`regressions/`) on a plain build, without libFuzzer.
//!
//! - [`fhir_json`]: FHIR JSON decode + validate, and the round trips of what decodes.
//! - [`hl7v2_parse_map`]: the HL7 v2 parser, its accessors and escaping, and the mapper with the
//!   shipped `mappings/`.
//! - [`mllp_framing`]: the MLLP framer against a reference, over arbitrary read splits.
//! - [`jwt`]: the token request form, client assertion decoding and claim checks, the
//!   `Authorization` header.
//! - [`search_params`]: search parameters and FHIR date/time ranges.

pub mod fhir_json;
pub mod hl7v2_parse_map;
pub mod jwt;
pub mod mllp_framing;
pub mod search_params;
