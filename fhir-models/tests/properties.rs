//! Property tests: whatever bytes arrive, parsing and validating never panics, every refusal is
//! an `OperationOutcome` whose issues each name a path and a rule, no message quotes a value,
//! and whatever is accepted encodes, re-parses to the same resource and canonicalises.
//!
//! Inputs are arbitrary bytes, and small valid resources mutated byte by byte and token by token
//! (a value swapped for a hostile one, a member duplicated, a span cut or repeated). The case
//! counts keep the run to a few seconds in a debug build.

use proptest::prelude::*;

/// A value placed in every seed, standing for patient data: it must never reach a message.
const SECRET: &str = "Zebediah";

const SEEDS: &[&str] = &[
    r#"{"resourceType":"Patient","id":"p1","name":[{"family":"Zebediah","given":["A","B"]}],"birthDate":"1970-01-01","_birthDate":{"extension":[{"url":"http://x.org/e","valueString":"Zebediah"}]},"gender":"other"}"#,
    r#"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}],"text":"Zebediah"},"valueQuantity":{"value":71.50,"unit":"kg"},"subject":{"reference":"Patient/p1"}}"#,
    r##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"Zebediah"}],"managingOrganization":{"reference":"#o"},"contact":[{"name":{"text":"Zebediah"}}]}"##,
    r#"{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient","name":[{"text":"Zebediah"}]},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":3,"subject":{"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},"request":{"method":"POST","url":"Observation"}}]}"#,
    r#"{"resourceType":"Parameters","parameter":[{"name":"Zebediah","valueDecimal":1.0e2},{"name":"r","resource":{"resourceType":"Patient","active":true}}]}"#,
];

/// Checks the properties for one input.
fn check(input: &[u8]) -> Result<(), TestCaseError> {
    match fhir_models::parse_and_validate(input) {
        Ok(resource) => {
            let compact = fhir_models::to_json(&resource);
            let again = fhir_models::parse_resource(&compact);
            prop_assert!(again.as_ref() == Ok(&resource), "the encoding does not decode to the same resource");
            let canonical = fhir_models::to_canonical_json(&resource);
            prop_assert_eq!(fhir_json::canonicalize(&canonical).ok(), Some(canonical));
            let _ = fhir_models::to_json_pretty(&resource);
            let _ = fhir_models::content_hash(&resource);
        }
        Err(outcome) => {
            prop_assert!(!outcome.issue.is_empty(), "an outcome without issues");
            for issue in &outcome.issue {
                let severity = issue.severity.as_ref().and_then(|s| s.as_str());
                prop_assert_eq!(severity, Some("error"));
                prop_assert!(issue.code.as_ref().and_then(|c| c.as_str()).is_some_and(|c| !c.is_empty()));
                let path = issue.expression.first().and_then(|e| e.as_str()).unwrap_or_default();
                prop_assert!(!path.is_empty(), "an issue without a path");
                let diagnostics = issue.diagnostics.as_ref().and_then(|d| d.as_str()).unwrap_or_default();
                prop_assert!(!diagnostics.is_empty(), "an issue without a message");
                // Unknown member names are named (structure, not data); values never are.
                prop_assert!(
                    !diagnostics.contains(SECRET) || diagnostics.starts_with("unknown element"),
                    "a message quotes a value: {}",
                    diagnostics
                );
            }
            // The outcome itself encodes as a valid OperationOutcome.
            let json = fhir_models::to_json(outcome.as_ref());
            prop_assert!(fhir_models::parse_and_validate(&json).is_ok(), "the outcome is not valid FHIR");
        }
    }
    Ok(())
}

/// Replacement text for a span: hostile values, JSON punctuation, and ordinary bytes.
fn replacement() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(br#""\u0000""#.to_vec()),
        Just(br#""a\u001fb""#.to_vec()),
        Just(b"1e999999".to_vec()),
        Just(b"-0.0000000000000000000000000000000000001".to_vec()),
        Just(b"2147483648".to_vec()),
        Just(b"null".to_vec()),
        Just(b"{}".to_vec()),
        Just(b"[]".to_vec()),
        Just(br##""#o""##.to_vec()),
        Just(br##""#""##.to_vec()),
        Just(br#"{"resourceType":"Bundle","type":"document"}"#.to_vec()),
        Just(br#""\ud800""#.to_vec()),
        Just(b"\xff".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..4),
        proptest::collection::vec(prop::sample::select(b"{}[]:,\"\\0123456789.eE-+tfnul ".to_vec()), 1..6),
    ]
}

/// One edit of a seed: cut a span, repeat it, or replace it.
#[derive(Debug, Clone)]
enum Edit {
    Cut(usize, usize),
    Repeat(usize, usize),
    Replace(usize, usize, Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0usize..8).prop_map(|(at, len)| Edit::Cut(at, len)),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Repeat(at, len)),
        (any::<usize>(), 0usize..12, replacement()).prop_map(|(at, len, with)| Edit::Replace(at, len, with)),
    ]
}

fn apply(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for e in edits {
        let (at, len) = match e {
            Edit::Cut(at, len) | Edit::Repeat(at, len) | Edit::Replace(at, len, _) => (*at, *len),
        };
        let start = at % (out.len() + 1);
        let end = (start + len).min(out.len());
        match e {
            Edit::Cut(..) => {
                out.drain(start..end);
            }
            Edit::Repeat(..) => {
                let span = out[start..end].to_vec();
                out.splice(start..start, span);
            }
            Edit::Replace(_, _, with) => {
                out.splice(start..end, with.iter().copied());
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_refused_or_accepted_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check(&bytes)?;
    }

    #[test]
    fn json_made_of_json_tokens_is_refused_or_accepted_cleanly(
        tokens in proptest::collection::vec(
            prop::sample::select(vec![
                "{", "}", "[", "]", ":", ",", "\"resourceType\"", "\"Patient\"", "\"Bundle\"", "\"entry\"",
                "\"resource\"", "\"name\"", "\"family\"", "\"contained\"", "\"id\"", "\"x\"", "1.5", "true", "null",
            ]),
            0..48,
        )
    ) {
        check(tokens.concat().as_bytes())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn mutated_resources_are_refused_or_accepted_cleanly(
        seed in prop::sample::select(SEEDS.to_vec()),
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        check(&apply(seed.as_bytes(), &edits))?;
    }
}

#[test]
fn the_seeds_are_valid() {
    for seed in SEEDS {
        assert!(fhir_models::parse_and_validate(seed.as_bytes()).is_ok(), "{seed}");
    }
}

#[test]
fn an_unknown_member_with_control_characters_gives_a_valid_outcome() {
    let long = "n".repeat(10_000);
    for input in
        [r#"{"resourceType":"Patient","a\u0000b":1}"#.to_owned(), format!(r#"{{"resourceType":"Patient","{long}":1}}"#)]
    {
        let outcome = fhir_models::parse_and_validate(input.as_bytes()).expect_err("unknown member");
        let json = fhir_models::to_json(outcome.as_ref());
        assert!(fhir_models::parse_and_validate(&json).is_ok(), "{}", String::from_utf8_lossy(&json));
        assert!(json.len() < 1024, "the outcome repeats a long name: {} bytes", json.len());
    }
}
