//! HL7 v2: the bridge's decoding of v2 bytes (`v2_text`: UTF-8, else Latin-1), `split_messages`,
//! `Message::parse`, every accessor down to subcomponents, and `Mappings::map` with the shipped
//! `mappings/` (loaded once), as `ingest-pipeline/src/hl7v2.rs` runs them.
//!
//! Invariants:
//! - nothing panics;
//! - a parsed message has MSH first; `escape` is reversed by `unescape` for every field value
//!   (the documented property of `escape`);
//! - a mapped message makes at least one resource, and each resource's JSON is well-formed JSON
//!   of its type with a FHIR id (`[A-Za-z0-9.-]{1,64}`); its decoding by `fhir_models` may refuse
//!   it, but only with an `OperationOutcome` that has issues.

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::OnceLock;

use hl7v2::{escape, unescape, Message};
use hl7v2_fhir::{IdMaker, Mappings};

/// Ids as the bridge makes them in shape (a hash of the parts), without its secret.
struct HashIds;

impl IdMaker for HashIds {
    fn make_id(&self, resource_type: &str, parts: &[&str]) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (resource_type, parts).hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }
}

fn mappings() -> &'static Mappings {
    static MAPPINGS: OnceLock<Mappings> = OnceLock::new();
    MAPPINGS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
        Mappings::load(&dir).unwrap_or_else(|error| panic!("the shipped mappings do not load: {error}"))
    })
}

fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Reads everything a mapping could read, and checks the escaping of every value.
fn walk(message: &Message<'_>) {
    let delimiters = message.delimiters();
    let check_value = |value: &str| {
        let escaped = escape(value, delimiters);
        assert_eq!(unescape(&escaped, delimiters), value, "unescape(escape(v)) != v");
    };
    for segment in message.segments() {
        let _ = (segment.id(), segment.raw(), segment.index(), segment.field_count());
        for field in segment.fields() {
            let _ = (field.is_empty(), field.is_null(), field.raw());
            check_value(&field.value());
            for repetition in field.repetitions() {
                let _ = repetition.value();
                for component in repetition.components() {
                    let _ = component.value();
                    for (n, sub) in component.subcomponents().enumerate() {
                        let _ = (sub, component.subcomponent(n + 1));
                    }
                }
            }
        }
        for n in [0, 1, 2, 3, 9, 100] {
            if let Some(field) = segment.field(n) {
                let _ = (field.repetition(1), field.component(1), field.component(0));
            }
        }
    }
    for path in [
        "MSH-1",
        "MSH-2",
        "MSH-9.2",
        "PID-3",
        "PID-3[2].1.2",
        "PID-3[0]",
        "OBX-5.1.1",
        "PID-0",
        "PID-3.0",
        "PID-99999999999999999999",
    ] {
        let _ = message.get(path);
    }
}

/// Runs one input.
pub fn check(data: &[u8]) {
    let text = ingest_pipeline::hl7v2::v2_text(data);
    let whole = text.as_bytes().as_ptr_range();
    for part in hl7v2::split_messages(&text) {
        let range = part.as_bytes().as_ptr_range();
        assert!(whole.start <= range.start && range.end <= whole.end, "split_messages gave text not of its input");
    }
    let message = match Message::parse(&text) {
        Ok(message) => message,
        Err(error) => {
            let _ = (error.location(), error.to_string());
            return;
        }
    };
    assert_eq!(message.segments().first().map(|s| s.id()), Some("MSH"), "a message starts with MSH");
    let _ = message.header();
    walk(&message);
    let mapped = match mappings().map(&message, &HashIds) {
        Ok(mapped) => mapped,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert!(!mapped.resources.is_empty(), "a mapped message made no resources");
    for resource in &mapped.resources {
        assert!(is_fhir_id(&resource.id), "not a FHIR id: {:?}", resource.id);
        let json: serde_json::Value = serde_json::from_str(&resource.json)
            .unwrap_or_else(|error| panic!("mapped JSON is malformed: {error}\n{}", resource.json));
        assert_eq!(json["resourceType"].as_str(), Some(resource.resource_type.as_str()));
        if let Err(outcome) = fhir_models::parse_and_validate(resource.json.as_bytes()) {
            assert!(!outcome.issue.is_empty(), "an Err OperationOutcome has no issue");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped mappings load and map a real message, so the mapper's invariants are reached.
    #[test]
    fn an_admission_maps_to_resources() {
        let text = "MSH|^~\\&|ADT1|GHH|LEDGER|BRIDGE|202611300800||ADT^A01^ADT_A01|RACE-1|P|2.5.1\r\
            PID|1||MRN-9001^^^GHH^MR||Racer^Ada||19700101|F|||1 Main St^^Springfield\r";
        let message = Message::parse(text).expect("parses");
        let mapped = mappings().map(&message, &HashIds).expect("maps");
        assert!(mapped.resources.iter().any(|r| r.resource_type == "Patient"));
        check(text.as_bytes());
    }
}
