//! Rejects: each bad input gives an OperationOutcome naming the FHIR path, and is kept verbatim.

use serde_json::Value;

use crate::support::{bridge, ndjson, read, rejected_paths, summary, temp_dir};

/// (file name, content, the expected `issue[0].expression[0]` when a FHIR path applies).
const BAD: [(&str, &str, Option<&str>); 6] = [
    ("a-malformed.json", "{\"resourceType\":\"Patient\",\"id\":\"m1\",", None),
    ("b-wrong-json-type.json", "[{\"resourceType\":\"Patient\"}]", None),
    ("c-no-resource-type.json", "{\"id\":\"nort\",\"gender\":\"male\"}", None),
    (
        "d-invalid-date.json",
        "{\"resourceType\":\"Patient\",\"id\":\"bad-date\",\"birthDate\":\"1970-13-01\"}",
        Some("Patient.birthDate"),
    ),
    ("e-unknown-element.json", "{\"resourceType\":\"Patient\",\"id\":\"unknown-el\",\"foo\":1}", Some("Patient.foo")),
    (
        "f-transaction.json",
        r#"{"resourceType":"Bundle","type":"transaction","entry":[
  {"fullUrl":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Patient","id":"tx-p"},"request":{"method":"POST","url":"Patient"}},
  {"fullUrl":"urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0","resource":{"resourceType":"Observation","id":"tx-o","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:9c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},"request":{"method":"POST","url":"Observation"}}]}"#,
        Some("Bundle.entry[1].resource.subject.reference"),
    ),
];

const VALID: &str = r#"{"resourceType":"Patient","id":"good-one","gender":"female","birthDate":"1980-02-29"}"#;

#[test]
fn every_bad_input_is_rejected_with_its_path_and_kept_verbatim() {
    let input = temp_dir();
    for (name, content, _) in BAD {
        std::fs::write(input.path().join(name), content).expect("write");
    }
    std::fs::write(input.path().join("z-valid.json"), VALID).expect("write");
    let data = temp_dir();
    let rejects = data.path().join("rejects");
    let run =
        bridge(data.path(), ["ingest".as_ref(), input.path().as_os_str(), "--rejects".as_ref(), rejects.as_os_str()])
            .expect_code(1, "ingest with rejects");
    let counts = summary(&run.stderr);
    assert_eq!((counts.accepted, counts.rejected), (1, BAD.len() as u64), "{counts:?}\n{}", run.stderr);

    // stderr names each bad file, in input order.
    let named: Vec<String> = rejected_paths(&run.stderr);
    let want: Vec<String> = BAD.iter().map(|(n, _, _)| input.path().join(n).display().to_string()).collect();
    assert_eq!(named, want, "{}", run.stderr);

    // stdout: one OperationOutcome per reject, with the FHIR path where one applies.
    let outcomes = ndjson(&run.stdout);
    assert_eq!(outcomes.len(), BAD.len(), "{}", run.stdout);
    for ((name, _, path), outcome) in BAD.iter().zip(&outcomes) {
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{name}: {outcome}");
        assert_eq!(outcome["issue"][0]["severity"], "error", "{name}: {outcome}");
        if let Some(path) = path {
            assert_eq!(outcome["issue"][0]["expression"][0].as_str(), Some(*path), "{name}: {outcome}");
        }
    }

    // The rejects folder: the original bytes and the outcome, numbered in order.
    for (i, ((name, content, _), outcome)) in BAD.iter().zip(&outcomes).enumerate() {
        let stem = rejects.join(format!("reject-{:06}", i + 1));
        let kept = std::fs::read(stem.with_extension("input.json")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(kept, content.as_bytes(), "{name}: the kept input differs from the original");
        let saved: Value =
            serde_json::from_slice(&std::fs::read(stem.with_extension("outcome.json")).expect("outcome file"))
                .expect("outcome JSON");
        assert_eq!(&saved, outcome, "{name}: saved outcome differs from stdout");
    }
    assert_eq!(std::fs::read_dir(&rejects).expect("rejects dir").count(), 2 * BAD.len());

    // The valid one is stored; nothing of the rejected transaction is.
    let good = read(data.path(), "Patient/good-one", None);
    assert_eq!(good["birthDate"], "1980-02-29");
    for absent in ["Patient/tx-p", "Observation/tx-o", "Patient/bad-date", "Patient/unknown-el"] {
        bridge(data.path(), ["read", absent]).expect_code(1, &format!("read {absent} (rejected)"));
    }
}
