//! FHIR primitive values: a value plus the optional `_element` extension data, and decimals that
//! keep their exact text.

use fhir_json::{DecodeError, DecodeErrorKind, JsonReader, JsonWriter};

use crate::codec::{de, en, FhirDecode, FhirEncode};
use crate::generated::Extension;
use crate::validate::{PrimitiveKind, Validate, Validator};

/// A primitive element: its value and, from the `_name` member, its id and extensions.
///
/// In FHIR JSON a primitive `birthDate` may come with `_birthDate: {"extension": [...]}`; both are
/// kept here so nothing is lost on a round trip. Either part may be absent, but not both
/// (invariant ele-1, checked by the validator).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Primitive<T> {
    /// The value, if any.
    pub value: Option<T>,
    /// The id and extensions of the `_name` member, if any.
    pub extension: Option<Box<PrimitiveExtension>>,
}

impl<T> Primitive<T> {
    /// A primitive with a value and no extension.
    pub fn new(value: T) -> Self {
        Self { value: Some(value), extension: None }
    }

    /// The value, if any.
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref()
    }
}

impl<T> From<T> for Primitive<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl Primitive<String> {
    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// The `_name` member of a primitive: an element id and extensions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrimitiveExtension {
    /// `id`: unique id for inter-element referencing.
    pub id: Option<String>,
    /// `extension`: additional content defined by implementations.
    pub extension: Vec<Extension>,
}

impl FhirDecode for PrimitiveExtension {
    fn decode(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {
        let mut s = Self::default();
        r.begin_object()?;
        let mut members = 0usize;
        while let Some(key) = r.next_key()? {
            members += 1;
            match &*key {
                "id" => de::plain(r, &mut s.id, "id")?,
                "extension" => de::many(r, &mut s.extension, "extension")?,
                _ => return Err(de::unknown(r, &key)),
            }
        }
        de::not_empty(r, members)?;
        Ok(s)
    }
}

impl FhirEncode for PrimitiveExtension {
    fn encode(&self, w: &mut JsonWriter) {
        w.begin_object();
        en::plain(w, "id", &self.id);
        en::many(w, "extension", &self.extension);
        w.end_object();
    }
}

impl Validate for PrimitiveExtension {
    fn validate(&self, v: &mut Validator) {
        v.plain(&self.id, "id", PrimitiveKind::String);
        v.many(&self.extension, "extension");
    }
}

/// A FHIR decimal, kept as its exact JSON text so precision survives (`1.50` stays `1.50`).
// INVARIANT: the text matches the JSON number grammar (which is the FHIR decimal grammar).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Parses decimal text; `None` when it is not a valid FHIR decimal.
    pub fn parse(text: &str) -> Option<Self> {
        let mut r = JsonReader::new(text.as_bytes());
        let raw = r.read_number_raw().ok()?;
        r.finish().ok()?;
        (raw.len() == text.len()).then(|| Self(text.to_owned()))
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as a float (loses precision; for arithmetic only).
    pub fn to_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }

    pub(crate) fn from_raw(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Decimal {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| DecodeError::new(DecodeErrorKind::InvalidValue("not a valid decimal".into()), 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_keeps_its_text() {
        assert_eq!(Decimal::parse("1.50").map(|d| d.to_string()), Some("1.50".to_owned()));
        assert_eq!(Decimal::parse("-0.0001e5").map(|d| d.as_str().to_owned()), Some("-0.0001e5".to_owned()));
        assert!(Decimal::parse("01").is_none());
        assert!(Decimal::parse("1.").is_none());
        assert!(Decimal::parse("1.5 ").is_none());
    }
}
