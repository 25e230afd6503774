//! A fast pull reader and writer for JSON, the canonical form used for hashing and signing, and
//! the content hash over it.
//!
//! # Brief overview
//! - [`JsonReader`] pulls values from JSON text: strings are borrowed where they have no escapes,
//!   numbers are kept as their exact source text (so FHIR decimals keep their precision), nesting
//!   is bounded ([`MAX_DEPTH`]), and every error is a [`DecodeError`] with a byte offset and a
//!   path that the caller's decoders extend as the error bubbles up ([`DecodeError::at_field`]).
//!   A caller can bound a nesting of its own over the JSON as well
//!   ([`JsonReader::enter_nested`]; `fhir-models` bounds resources within resources so).
//! - [`JsonWriter`] writes compact or indented JSON with RFC 8785 string escaping.
//! - [`canonicalize`] gives the canonical form (RFC 8785 member order, no whitespace, no empty
//!   elements, numbers as written) and [`content_hash`] its domain-separated SHA-256.
//!
//! # Limits
//! Every recursion over input is bounded by [`MAX_DEPTH`] (64 levels of objects and arrays): the
//! reader's skipping and peeking, [`canonicalize`], and the decoders built on the reader. The
//! writer does not recurse. Its reason, with measured stack costs, is on [`MAX_DEPTH`].
//!
//! This crate knows nothing of FHIR types; it is JSON only. Error messages never quote values
//! from the document, which may be patient data.
//!
//! # Example
//! ```
//! let canonical = fhir_json::canonicalize(br#"{ "b": 1.50, "a": {} }"#).unwrap();
//! assert_eq!(canonical, br#"{"b":1.50}"#);
//! ```

mod canonical;
mod error;
mod reader;
mod writer;

pub use canonical::{canonicalize, content_hash, CONTENT_HASH_DOMAIN};
pub use error::{DecodeError, DecodeErrorKind, PathSegment, MAX_PATH_NAME_CHARS};
pub use reader::{JsonKind, JsonReader, MAX_DEPTH};
pub use writer::JsonWriter;

/// Whether the bytes hold `token` anywhere (in a string or a member name): a cheap pre-scan that
/// lets a reader skip a walk that would find nothing.
pub fn mentions(json: &[u8], token: &[u8]) -> bool {
    token.is_empty() || json.windows(token.len()).any(|window| window == token)
}
