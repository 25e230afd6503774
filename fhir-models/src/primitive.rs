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

/// The most digits a decimal may have before its exponent (`1.50` has 3).
///
/// FHIR decimals must be representable (R4 follows XML Schema, whose processors must support 18
/// digits); 32 covers every real measurement with room to spare (the official examples and
/// Synthea have at most 20), and every accepted decimal fits IEEE 754 decimal128 (34 digits)
/// exactly. Refusing more keeps 100,000-digit "decimals" out of storage and arithmetic.
pub const MAX_DECIMAL_DIGITS: usize = 32;

/// The largest decimal exponent of a decimal's magnitude: a non-zero decimal lies between
/// `1e-307` and `1e308` (exclusive), and a zero's exponent is at most 307 either way.
///
/// That is the normal range of an IEEE 754 double, so every accepted decimal converts to a
/// finite, non-zero double ([`Decimal::to_f64`]) instead of `inf` or 0 (`1e999999`). The official
/// example `Observation-decimal` uses `1.0E-245` and `-1.0E+245`, which stay valid.
pub const MAX_DECIMAL_EXPONENT: i64 = 307;

/// Checks decimal text (already known to match the JSON number grammar) against
/// [`MAX_DECIMAL_DIGITS`] and [`MAX_DECIMAL_EXPONENT`]; the reason never quotes the value.
fn check_decimal_bounds(text: &str) -> Result<(), &'static str> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], &unsigned[at + 1..]),
        None => (unsigned, "0"),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if integer.len() + fraction.len() > MAX_DECIMAL_DIGITS {
        return Err("decimal has more than 32 digits before its exponent");
    }
    let out_of_range = "decimal is out of range: its magnitude must lie between 1e-307 and 1e308";
    let (negative, digits) = match exponent.as_bytes().first() {
        Some(b'-') => (true, &exponent[1..]),
        Some(b'+') => (false, &exponent[1..]),
        _ => (false, exponent),
    };
    let digits = digits.trim_start_matches('0');
    // More than 4 exponent digits is out of range whatever the mantissa (it shifts by at most 32).
    if digits.len() > 4 {
        return Err(out_of_range);
    }
    let magnitude: i64 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| out_of_range)? };
    let written = if negative { -magnitude } else { magnitude };
    // The exponent of the leading non-zero digit: 123.4 is 1.234e2, 0.0012 is 1.2e-3.
    let leading = integer.bytes().chain(fraction.bytes()).position(|b| b != b'0');
    let adjusted = match leading {
        Some(position) => written + integer.len() as i64 - 1 - position as i64,
        None => written,
    };
    if adjusted.abs() > MAX_DECIMAL_EXPONENT {
        return Err(out_of_range);
    }
    Ok(())
}

/// A FHIR decimal, kept as its exact JSON text so precision survives (`1.50` stays `1.50`).
// INVARIANT: the text matches the JSON number grammar (which is the FHIR decimal grammar) and
// the bounds of `check_decimal_bounds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Parses decimal text; `None` when it is not a valid FHIR decimal.
    pub fn parse(text: &str) -> Option<Self> {
        let mut r = JsonReader::new(text.as_bytes());
        let raw = r.read_number_raw().ok()?;
        r.finish().ok()?;
        (raw.len() == text.len() && check_decimal_bounds(text).is_ok()).then(|| Self(text.to_owned()))
    }

    /// The exact text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as a float (loses precision; for arithmetic only).
    pub fn to_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }

    /// Decimal text read by the JSON reader (so of the number grammar), checked against the bounds.
    pub(crate) fn from_raw(text: &str) -> Result<Self, &'static str> {
        check_decimal_bounds(text)?;
        Ok(Self(text.to_owned()))
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

    #[test]
    fn decimals_are_bounded_in_digits_and_magnitude() {
        let good = [
            "0",
            "-0.0",
            "1.000000000000000000E-245",
            "-1.000000000000000000E+245",
            "1e307",
            "9.99e307",
            "1e-307",
            "0.001e-304",
            "0e307",
            "1e+0000000000000000000000001",
            &"9".repeat(MAX_DECIMAL_DIGITS),
            &format!("0.{}", "1".repeat(MAX_DECIMAL_DIGITS - 1)),
        ];
        for text in good {
            assert!(Decimal::parse(text).is_some(), "{text}");
            // Within the bounds, a double neither overflows nor loses a non-zero value.
            let value = Decimal::parse(text).map(|d| d.to_f64()).unwrap_or(f64::NAN);
            let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
            let non_zero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
            assert!(value.is_finite() && (value != 0.0) == non_zero, "{text}");
        }
        let bad = [
            "1e999999",
            "1e308",
            "10e307",
            "1e-308",
            "0.01e-306",
            "0e308",
            "1e12345678901234567890",
            &"1".repeat(MAX_DECIMAL_DIGITS + 1),
            &"1".repeat(100_000),
            &format!("0.{}", "1".repeat(MAX_DECIMAL_DIGITS)),
        ];
        for text in bad {
            assert!(Decimal::parse(text).is_none(), "{}", &text[..text.len().min(40)]);
        }
    }
}
