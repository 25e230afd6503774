//! Typed decoding from and encoding to FHIR JSON, used by the generated code.
//!
//! The generated `decode` of each struct matches member names and calls the helpers in [`de`];
//! `encode` calls those in [`en`]. Errors carry the path of the offending element, built as they
//! bubble up (no cost on the success path).

pub(crate) mod de;
pub(crate) mod en;

use fhir_json::{DecodeError, DecodeErrorKind, JsonReader, JsonWriter};

use crate::primitive::Decimal;
use crate::validate::{format, PrimitiveKind};

/// How deep resources may nest inside resources (`Bundle.entry.resource`,
/// `Parameters.parameter.resource`, `contained`, any element of type Resource), the outermost
/// resource counting as the first level.
///
/// Each level of resource nesting costs far more stack than a level of JSON nesting (a resource's
/// decoder and validator frames), so [`fhir_json::MAX_DEPTH`] alone lets a small document of
/// nested Bundles overflow a thread's stack. Real content nests 3 deep at most (a message Bundle
/// holding a document Bundle holding a Composition, or a Bundle entry with contained resources;
/// the official examples and Synthea bundles nest at most 3); deeper input is refused with a
/// decode error at the path of the first resource too deep.
pub const MAX_RESOURCE_DEPTH: u32 = 8;

/// Decodes a value of this type from FHIR JSON.
pub trait FhirDecode: Sized {
    /// Reads one value (an object for structs) at the reader's position.
    fn decode(r: &mut JsonReader<'_>) -> Result<Self, DecodeError>;
}

/// Encodes a value of this type as FHIR JSON.
pub trait FhirEncode {
    /// Writes one value (an object for structs).
    fn encode(&self, w: &mut JsonWriter);
}

/// The Rust value types of FHIR primitives: `String`, `bool`, `i32`, `u32` and [`Decimal`].
pub trait PrimitiveValue: Sized {
    /// Reads the JSON value of a primitive (a string, boolean or number).
    fn decode_value(r: &mut JsonReader<'_>) -> Result<Self, DecodeError>;
    /// Writes the JSON value.
    fn encode_value(&self, w: &mut JsonWriter);
    /// Checks the lexical rules of `kind`; the reason never contains the value.
    fn check(&self, kind: PrimitiveKind) -> Result<(), &'static str>;
    /// The value as text, for the string-based types.
    fn as_text(&self) -> Option<&str> {
        None
    }
}

impl PrimitiveValue for String {
    fn decode_value(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {
        r.read_string()
    }
    fn encode_value(&self, w: &mut JsonWriter) {
        w.string(self);
    }
    fn check(&self, kind: PrimitiveKind) -> Result<(), &'static str> {
        format::check(kind, self)
    }
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl PrimitiveValue for bool {
    fn decode_value(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {
        r.read_bool()
    }
    fn encode_value(&self, w: &mut JsonWriter) {
        w.bool(*self);
    }
    fn check(&self, _kind: PrimitiveKind) -> Result<(), &'static str> {
        Ok(())
    }
}

fn integer_text<'a>(r: &mut JsonReader<'a>) -> Result<(&'a str, usize), DecodeError> {
    let offset = r.offset();
    let text = r.read_number_raw()?;
    if text.contains(['.', 'e', 'E']) {
        return Err(DecodeError::new(DecodeErrorKind::InvalidValue("expected an integer".into()), offset));
    }
    Ok((text, offset))
}

impl PrimitiveValue for i32 {
    fn decode_value(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {
        let (text, offset) = integer_text(r)?;
        text.parse().map_err(|_| {
            DecodeError::new(DecodeErrorKind::InvalidValue("integer out of the 32-bit range".into()), offset)
        })
    }
    fn encode_value(&self, w: &mut JsonWriter) {
        w.number_i64(i64::from(*self));
    }
    fn check(&self, _kind: PrimitiveKind) -> Result<(), &'static str> {
        Ok(())
    }
}

impl PrimitiveValue for u32 {
    fn decode_value(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {
        let (text, offset) = integer_text(r)?;
        match text.parse::<u32>() {
            Ok(v) if i32::try_from(v).is_ok() => Ok(v),
            _ => Err(DecodeError::new(
                DecodeErrorKind::InvalidValue("expected a non-negative 32-bit integer".into()),
                offset,
            )),
        }
    }
    fn encode_value(&self, w: &mut JsonWriter) {
        w.number_u64(u64::from(*self));
    }
    fn check(&self, kind: PrimitiveKind) -> Result<(), &'static str> {
        match kind {
            PrimitiveKind::PositiveInt if *self == 0 => Err("not a valid positiveInt: must be at least 1"),
            _ => Ok(()),
        }
    }
}

impl PrimitiveValue for Decimal {
    fn decode_value(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {
        let offset = r.offset();
        let text = r.read_number_raw()?;
        Decimal::from_raw(text).map_err(|why| DecodeError::new(DecodeErrorKind::InvalidValue(why.into()), offset))
    }
    fn encode_value(&self, w: &mut JsonWriter) {
        w.number_raw(self.as_str());
    }
    fn check(&self, _kind: PrimitiveKind) -> Result<(), &'static str> {
        Ok(())
    }
}
