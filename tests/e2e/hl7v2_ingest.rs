//! `fhir-bridge ingest` of a folder of `.hl7` files: every shared sample message is mapped with
//! `mappings/` and stored; a second run stores nothing new; a message with a bad field is
//! rejected naming the field, and kept verbatim in the rejects folder with its OperationOutcome.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::server::bridge_env;
use crate::support::{hl7v2_root, ndjson, rejected_paths, summary, temp_dir, verify_ok};

#[test]
fn a_folder_of_hl7_files_is_ingested_once_and_a_bad_field_is_rejected() {
    let Some(root) = hl7v2_root() else { return };
    // The top-level samples only (the sub-folders hold parser test suites, malformed on purpose).
    let input = temp_dir();
    let mut samples: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    samples.sort();
    assert!(samples.len() > 50, "the shared samples are there");
    for sample in &samples {
        std::fs::copy(sample, input.path().join(sample.file_name().expect("name"))).expect("copy");
    }
    // The admission sample with an impossible birth date (PID-7), named to come last.
    let a01 = std::fs::read_to_string(root.join("ADT-A01-02.hl7")).expect("sample");
    let bad = a01.replacen("|MSG00001|", "|MSG-BAD-I|", 1).replacen("|198808181126+0215|", "|198813181126+0215|", 1);
    assert!(bad.contains("198813181126") && bad.contains("MSG-BAD-I"), "the sample is as the test expects");
    let bad_path = input.path().join("zz-bad-birth-date.hl7");
    std::fs::write(&bad_path, &bad).expect("write");

    let data = temp_dir();
    let rejects = data.path().join("rejects");
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    let env = [("FHIR_BRIDGE__HL7V2__MAPPINGS_DIR".to_owned(), mappings.display().to_string())];
    let ingest = |rejects: &Path| {
        bridge_env(
            data.path(),
            &env,
            &["ingest", &input.path().display().to_string(), "--rejects", &rejects.display().to_string()],
        )
    };

    let run = ingest(&rejects).expect_code(1, "ingest with one bad message");
    let first = summary(&run.stderr);
    assert_eq!(first.rejected, 1, "{first:?}\n{}", run.stderr);
    assert!(first.accepted > 300, "the samples made resources: {first:?}");
    // The reject names its file, the message in it (#1) and the field.
    assert_eq!(rejected_paths(&run.stderr), vec![format!("{}#1", bad_path.display())], "{}", run.stderr);
    assert!(run.stderr.contains(&format!("rejected: {}#1 (PID-7)", bad_path.display())), "{}", run.stderr);
    let outcomes = ndjson(&run.stdout);
    assert_eq!(outcomes.len(), 1, "{}", run.stdout);
    assert_eq!(outcomes[0]["issue"][0]["expression"][0], "PID-7", "{}", outcomes[0]);
    assert!(outcomes[0]["issue"][0]["diagnostics"].as_str().is_some_and(|d| d.starts_with("PID-7")), "{}", outcomes[0]);
    // Kept verbatim, with its outcome.
    let kept = std::fs::read_to_string(rejects.join("reject-000001.input.hl7")).expect("the kept message");
    assert_eq!(
        kept.replace("\r\n", "\r").replace('\n', "\r").trim_end(),
        bad.replace("\r\n", "\r").replace('\n', "\r").trim_end()
    );
    let saved: Value =
        serde_json::from_slice(&std::fs::read(rejects.join("reject-000001.outcome.json")).expect("outcome"))
            .expect("JSON");
    assert_eq!(saved, outcomes[0]);

    // The resources are stored: the admission's Patient, by its MRN, with the good birth date.
    let run = bridge_env(data.path(), &env, &["export", "--type", "Patient"]).expect_code(0, "export");
    let patients = ndjson(&run.stdout);
    let admitted: Vec<&Value> = patients
        .iter()
        .filter(|p| p["identifier"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == "PATID1234")))
        .collect();
    assert!(!admitted.is_empty(), "{patients:#?}");
    assert!(admitted.iter().all(|p| p["birthDate"] != "1988-13-18"), "nothing of the rejected message is stored");
    for resource_type in ["Encounter", "Observation", "DiagnosticReport", "Immunization", "AllergyIntolerance"] {
        let run = bridge_env(data.path(), &env, &["export", "--type", resource_type]).expect_code(0, "export");
        assert!(!ndjson(&run.stdout).is_empty(), "no {resource_type} from the samples");
    }
    verify_ok(data.path(), "after ingesting v2");

    // Again: every resource is a duplicate, the bad message is rejected again.
    let again_rejects = data.path().join("rejects-again");
    let run = ingest(&again_rejects).expect_code(1, "ingest again");
    let second = summary(&run.stderr);
    assert_eq!(second.accepted, 0, "a second run stores nothing new: {second:?}");
    assert_eq!(second.duplicates, first.accepted + first.duplicates, "{first:?} then {second:?}");
    assert_eq!(second.rejected, 1, "{second:?}");
}
