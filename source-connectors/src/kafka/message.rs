//! What a Kafka message holds, by its `content-type` header: FHIR JSON (a resource or a Bundle),
//! FHIR NDJSON (one resource per line), or HL7 v2 in ER7 (one message, or a batch). Pure: no
//! broker here, so every rule is unit-tested.

/// The `content-type` header names.
pub const FHIR_JSON: &str = "application/fhir+json";
/// NDJSON of FHIR resources.
pub const FHIR_NDJSON: &str = "application/fhir+ndjson";
/// HL7 v2 in ER7 encoding.
pub const HL7_V2_ER7: &str = "x-application/hl7-v2+er7";

/// The units of a message, or why it cannot be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum MessageUnits<'a> {
    /// JSON texts to decode, each with its line (1-based) for NDJSON.
    Fhir(Vec<(Option<usize>, &'a [u8])>),
    /// HL7 v2 text: one message or a batch of them.
    Hl7v2(&'a [u8]),
    /// The message is refused as a whole (it goes to the dead-letter topic with this reason).
    Unsupported(&'static str),
}

/// Splits a message's payload by its content type. A missing content type is taken as FHIR JSON
/// (what most producers send); parameters (`; charset=utf-8`, `; fhirVersion=4.0`) are ignored.
pub fn units<'a>(content_type: Option<&str>, payload: &'a [u8]) -> MessageUnits<'a> {
    let media_type = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match media_type.as_deref() {
        None | Some(FHIR_JSON | "application/json" | "application/json+fhir") => {
            if payload.iter().all(u8::is_ascii_whitespace) {
                return MessageUnits::Unsupported("empty message");
            }
            MessageUnits::Fhir(vec![(None, payload)])
        }
        Some(FHIR_NDJSON | "application/x-ndjson" | "application/ndjson") => {
            let lines: Vec<(Option<usize>, &[u8])> = payload
                .split(|b| *b == b'\n')
                .enumerate()
                .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
                .map(|(i, line)| (Some(i + 1), line))
                .collect();
            if lines.is_empty() {
                return MessageUnits::Unsupported("empty message");
            }
            MessageUnits::Fhir(lines)
        }
        Some(HL7_V2_ER7 | "application/hl7-v2" | "x-application/hl7-v2") => {
            if payload.iter().all(u8::is_ascii_whitespace) {
                return MessageUnits::Unsupported("empty message");
            }
            MessageUnits::Hl7v2(payload)
        }
        Some(_) => MessageUnits::Unsupported(
            "unsupported content-type: expected application/fhir+json, application/fhir+ndjson or x-application/hl7-v2+er7",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_one_unit_and_ndjson_one_per_line() {
        assert_eq!(units(None, b"{}"), MessageUnits::Fhir(vec![(None, &b"{}"[..])]));
        assert_eq!(
            units(Some("application/fhir+json; fhirVersion=4.0"), b"{}"),
            MessageUnits::Fhir(vec![(None, &b"{}"[..])])
        );
        assert_eq!(
            units(Some(FHIR_NDJSON), b"{\"a\":1}\n\n{\"b\":2}\n"),
            MessageUnits::Fhir(vec![(Some(1), &b"{\"a\":1}"[..]), (Some(3), &b"{\"b\":2}"[..])])
        );
    }

    #[test]
    fn hl7_v2_is_taken_and_empty_and_unknown_types_are_refused_with_a_reason() {
        assert_eq!(units(Some(HL7_V2_ER7), b"MSH|^~\\&|"), MessageUnits::Hl7v2(b"MSH|^~\\&|"));
        assert_eq!(units(Some(HL7_V2_ER7), b"\r\n"), MessageUnits::Unsupported("empty message"));
        assert_eq!(units(None, b"  "), MessageUnits::Unsupported("empty message"));
        assert!(matches!(units(Some("text/csv"), b"a,b"), MessageUnits::Unsupported(r) if r.contains("content-type")));
    }
}
