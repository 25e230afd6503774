//! Maps parsed HL7 v2 messages ([`hl7v2::Message`]) to FHIR R4 resources, by the declarative
//! files of `mappings/` that integration engineers read and change without touching Rust.
//!
//! # Brief overview
//! - [`Mappings::load`]: reads `mappings/` (message structures, segment maps, data type maps,
//!   tables, concept maps, coding systems), checks every name and path, and stops at the first
//!   problem with the file, the line and the reason ([`MappingError`]).
//! - [`Mappings::map`]: one message → [`MappedMessage`]: its resources as FHIR JSON, in segment
//!   order, with references between them by role; or a [`MapError`] naming the field (`PID-7`).
//! - [`IdMaker`]: the caller's keyed hash for resource ids, so that the same identifiers (PID-3
//!   with its assigning authority) make the same resource in every message.
//!
//! Original v2 codes are kept beside mapped ones: in a CodeableConcept as another coding, on a
//! `code` element as the [`ORIGINAL_CODE_EXTENSION`] extension.

mod convert;
mod engine;
pub mod files;
mod json;
mod load;

pub use engine::{IdMaker, MapError, MappedMessage, MappedResource, ORIGINAL_CODE_EXTENSION};
pub use load::{MappingError, Mappings};
