//! Bad input gets a clear error naming the FHIR path of the offending element, as an
//! `OperationOutcome` issue; and canonical JSON keeps decimals and drops nothing but whitespace.
//! One `check` helper drives the table.

/// Parses and validates `json`; asserts it is refused with an issue at `path` with `code`.
fn check(json: &str, path: &str, code: &str) {
    let outcome = fhir_models::parse_and_validate(json.as_bytes()).expect_err(json);
    let found: Vec<(String, String)> = outcome
        .issue
        .iter()
        .map(|i| {
            let at = i.expression.first().and_then(|e| e.as_str()).unwrap_or_default().to_owned();
            let code = i.code.as_ref().and_then(|c| c.as_str()).unwrap_or_default().to_owned();
            (at, code)
        })
        .collect();
    assert!(found.iter().any(|(p, c)| p == path && c == code), "{json}: expected {code} at {path}, got {found:?}");
    let text = String::from_utf8(fhir_models::to_json(outcome.as_ref())).expect("UTF-8");
    assert!(text.starts_with(r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error""#), "{text}");
}

#[test]
fn decode_errors_name_the_path() {
    check(r#"{"resourceType":"Patient","foo":1}"#, "Patient.foo", "structure");
    // Not R4: Medplum's extension of Meta.
    check(r#"{"resourceType":"Patient","meta":{"project":"x"}}"#, "Patient.meta.project", "structure");
    check(
        r#"{"resourceType":"Patient","name":[{"family":"X","given":["A",7]}]}"#,
        "Patient.name[0].given[1]",
        "structure",
    );
    check(r#"{"resourceType":"Patient","active":"yes"}"#, "Patient.active", "structure");
    check(r#"{"resourceType":"Patient","name":[{}]}"#, "Patient.name[0]", "structure");
    check(r#"{"resourceType":"Patient","name":[]}"#, "Patient.name", "structure");
    check(r#"{"resourceType":"Patient","gender":"male","gender":"female"}"#, "Patient.gender", "structure");
    check(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.5,"unit":"mg","bogus":true}}"#,
        "Observation.valueQuantity.bogus",
        "structure",
    );
    check(
        r#"{"resourceType":"Patient","contained":[{"resourceType":"Nope"}]}"#,
        "Patient.contained[0].resourceType",
        "value",
    );
    check(r#"{"resourceType":"Patient","multipleBirthInteger":1.5}"#, "Patient.multipleBirthInteger", "value");
    check(r#"{"id":"x"}"#, "Resource", "value");
    // Decimals out of range or with absurd precision.
    let observation = |value: &str| {
        format!(
            r#"{{"resourceType":"Observation","status":"final","code":{{"text":"x"}},"valueQuantity":{{"value":{value}}}}}"#
        )
    };
    for value in ["1e999999".to_owned(), "-1E+308".to_owned(), "1e-400".to_owned(), "1".repeat(100_000)] {
        check(&observation(&value), "Observation.valueQuantity.value", "value");
    }
    check(r#"{"resourceType":"Patient","multipleBirthInteger":2147483648}"#, "Patient.multipleBirthInteger", "value");
    check(r#"{"resourceType":"Patient","id":"x""#, "Patient", "structure");
}

#[test]
fn validation_errors_name_the_path() {
    check(r#"{"resourceType":"Patient","birthDate":"1970-13-01"}"#, "Patient.birthDate", "value");
    check(r#"{"resourceType":"Patient","gender":"x"}"#, "Patient.gender", "code-invalid");
    check(r#"{"resourceType":"Patient","contact":[{"gender":"male"}]}"#, "Patient.contact[0]", "invariant");
    check(r#"{"resourceType":"Observation","code":{"text":"x"}}"#, "Observation.status", "required");
    check(
        r#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"Practitioner/1"}}"#,
        "Observation.subject.reference",
        "invalid",
    );
    check(r#"{"resourceType":"Patient","id":"not valid!"}"#, "Patient.id", "value");
    // Control characters other than tab, CR and LF, in any string type.
    check(r#"{"resourceType":"Patient","name":[{"family":"a\u0000b"}]}"#, "Patient.name[0].family", "value");
    check(r#"{"resourceType":"Patient","gender":"male\u0007"}"#, "Patient.gender", "value");
    check(
        r#"{"resourceType":"Patient","extension":[{"url":"http://x\u001f","valueCode":"a"}]}"#,
        "Patient.extension[0].url",
        "value",
    );
    check(r#"{"resourceType":"Patient","_active":{"id":"a\u0001"}}"#, "Patient.active.id", "value");
    check(r#"{"resourceType":"Patient","extension":[{"url":"http://x.org/e"}]}"#, "Patient.extension[0]", "invariant");
    check(
        r#"{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-02-02","end":"2020-01-01"}}"#,
        "Encounter.period",
        "invariant",
    );
}

/// Asserts `json` parses and validates.
fn valid(json: &str) {
    if let Err(outcome) = fhir_models::parse_and_validate(json.as_bytes()) {
        panic!("{json}: {}", String::from_utf8_lossy(&fhir_models::to_json(outcome.as_ref())));
    }
}

#[test]
fn contained_resources_and_local_references() {
    // dom-3: a contained resource nothing refers to, or without an id.
    check(
        r##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}]}"##,
        "Patient.contained[0]",
        "invariant",
    );
    check(
        r##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","name":"x"}],"managingOrganization":{"reference":"#"}}"##,
        "Patient.contained[0]",
        "invariant",
    );
    // ref-1: a local reference that names no contained resource.
    check(
        r##"{"resourceType":"Patient","managingOrganization":{"reference":"#nope"}}"##,
        "Patient.managingOrganization.reference",
        "invariant",
    );
    check(
        r##"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#p"}}}]}"##,
        "Bundle.entry[0].resource.managingOrganization.reference",
        "invariant",
    );
    // Referenced from the container, from another contained resource, by a canonical, or
    // referring to the container: all valid.
    valid(
        r##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}"##,
    );
    valid(
        r##"{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"a","name":"x"},{"resourceType":"Organization","id":"b","partOf":{"reference":"#a"}}],"managingOrganization":{"reference":"#b"}}"##,
    );
    valid(
        r##"{"resourceType":"Questionnaire","status":"draft","contained":[{"resourceType":"ValueSet","id":"vs","status":"draft"}],"item":[{"linkId":"1","type":"choice","answerValueSet":"#vs"}]}"##,
    );
    valid(
        r##"{"resourceType":"Patient","contained":[{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#"}}]}"##,
    );
    // A reference inside one Bundle entry cannot name what another entry contains.
    check(
        r##"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"o","name":"x"}],"managingOrganization":{"reference":"#o"}}},{"resource":{"resourceType":"Patient","managingOrganization":{"reference":"#o"}}}]}"##,
        "Bundle.entry[1].resource.managingOrganization.reference",
        "invariant",
    );
}

#[test]
fn bundle_invariants() {
    let patient = r#"{"resourceType":"Patient"}"#;
    let post = r#"{"method":"POST","url":"Patient"}"#;
    // bdl-3: a transaction or batch entry without a request, a collection entry with one.
    for bundle_type in ["transaction", "batch"] {
        check(
            &format!(r#"{{"resourceType":"Bundle","type":"{bundle_type}","entry":[{{"resource":{patient}}}]}}"#),
            "Bundle.entry[0]",
            "invariant",
        );
    }
    check(
        &format!(
            r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{patient},"request":{post}}}]}}"#
        ),
        "Bundle.entry[0]",
        "invariant",
    );
    // bdl-7: the same fullUrl twice, which would store two versions of one resource.
    let url = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0";
    let entry = format!(r#"{{"fullUrl":"{url}","resource":{patient},"request":{post}}}"#);
    check(
        &format!(r#"{{"resourceType":"Bundle","type":"transaction","entry":[{entry},{entry}]}}"#),
        "Bundle.entry[1].fullUrl",
        "invariant",
    );
    valid(&format!(
        r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"fullUrl":"{url}","resource":{{"resourceType":"Patient","meta":{{"versionId":"1"}}}}}},{{"fullUrl":"{url}","resource":{{"resourceType":"Patient","meta":{{"versionId":"2"}}}}}}]}}"#
    ));
    valid(&format!(r#"{{"resourceType":"Bundle","type":"transaction","entry":[{entry}]}}"#));
    // bdl-11, bdl-12: what a document and a message begin with.
    check(
        &format!(r#"{{"resourceType":"Bundle","type":"document","entry":[{{"resource":{patient}}}]}}"#),
        "Bundle",
        "invariant",
    );
    check(
        &format!(r#"{{"resourceType":"Bundle","type":"message","entry":[{{"resource":{patient}}}]}}"#),
        "Bundle",
        "invariant",
    );
}

#[test]
fn messages_never_quote_values() {
    let secret = "Zebediah-Quux";
    let cases = [
        format!(r#"{{"resourceType":"Patient","{secret}":1}}"#),
        format!(r#"{{"resourceType":"Patient","birthDate":"{secret}"}}"#),
        format!(r#"{{"resourceType":"Patient","gender":"{secret}"}}"#),
        format!(r#"{{"resourceType":"Patient","active":"{secret}"}}"#),
        format!(r#"{{"resourceType":"Patient","name":[{{"family":"{secret}\u0000"}}]}}"#),
    ];
    for case in &cases {
        let outcome = fhir_models::parse_and_validate(case.as_bytes()).expect_err("invalid");
        let diagnostics: Vec<&str> =
            outcome.issue.iter().filter_map(|i| i.diagnostics.as_ref().and_then(|d| d.as_str())).collect();
        // An unknown member name is named (it is structure, not data), but values never are.
        if !case.contains(&format!("\"{secret}\":1")) {
            assert!(diagnostics.iter().all(|d| !d.contains(secret)), "{diagnostics:?}");
        }
    }
}

#[test]
fn round_trip_keeps_primitive_extensions_and_decimal_text() {
    let json = r#"{"resourceType":"Observation","status":"final","_status":{"extension":[{"url":"http://x.org/e","valueString":"v"}]},"code":{"text":"x"},"valueQuantity":{"value":1.50,"unit":"mg"}}"#;
    let resource = fhir_models::parse_resource(json.as_bytes()).expect("parses");
    assert!(fhir_models::validate(&resource).is_empty());
    let written = String::from_utf8(fhir_models::to_json(&resource)).expect("UTF-8");
    assert!(written.contains(r#""value":1.50"#), "{written}");
    assert!(written.contains(r#""_status":{"extension""#), "{written}");
}

#[test]
fn canonical_json_known_answer() {
    let json = r#"{ "resourceType": "Observation", "status": "final", "code": { "text": "x" }, "valueQuantity": { "value": 1.50, "unit": "mg" } }"#;
    let resource = fhir_models::parse_resource(json.as_bytes()).expect("parses");
    let canonical = String::from_utf8(fhir_models::to_canonical_json(&resource)).expect("UTF-8");
    assert_eq!(
        canonical,
        r#"{"code":{"text":"x"},"resourceType":"Observation","status":"final","valueQuantity":{"unit":"mg","value":1.50}}"#
    );
    // sha256("fhir-ledger-bridge/content/v1\0" || canonical), computed with sha256sum.
    let hex: String = fhir_models::content_hash(&resource).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "9d94f1dc8e37825c9fb957162bfd47c0ec114d7f2288417f2433ddec7d93cd4f");
}

#[test]
fn every_resource_type_decodes_as_itself() {
    // Resources decode through a table in the order of RESOURCE_TYPES; a slip there would decode
    // one type as another.
    for name in fhir_models::RESOURCE_TYPES {
        let json = format!(r#"{{"resourceType":"{name}","id":"a"}}"#);
        let resource = fhir_models::parse_resource(json.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(resource.resource_type(), *name);
    }
}
