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

/// The Patient with medical record number `mrn` among exported Patients.
fn patient_with_mrn<'a>(patients: &'a [Value], mrn: &str) -> &'a Value {
    let found: Vec<&Value> = patients
        .iter()
        .filter(|p| p["identifier"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == mrn)))
        .collect();
    assert_eq!(found.len(), 1, "one Patient {mrn}: {patients:#?}");
    found[0]
}

#[test]
fn a_sparse_pid_or_a_merge_keeps_what_the_stored_patient_has_and_an_explicit_null_deletes() {
    // Made-up messages: an admission with full demographics, then a lab result whose PID has
    // only the record number and the name (as many lab systems send), then a merge (A40) of that
    // record into another.
    let admission =
        "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|LEDGER|BRIDGE|202611300800||ADT^A01^ADT_A01|MERGE-T-1|P|2.5.1\r\
        EVN|A01|202611300800\r\
        PID|1||MRN-7001^^^GHH^MR||Testperson^Alex^J||19800101|F|||1 Test Street^^Springfield^IL^62701||555-0100\r\
        PV1|1|I|W^389^1\r";
    let lab = "MSH|^~\\&|LAB|GOOD HEALTH HOSPITAL|LEDGER|BRIDGE|202611300900||ORU^R01^ORU_R01|MERGE-T-2|P|2.5.1\r\
        PID|1||MRN-7001^^^GHH^MR||Testperson^Alex\r\
        OBR|1|ORD-1|FIL-1|2345-7^Glucose^LN\r\
        OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-105|N|||F\r";
    let merge = "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|LEDGER|BRIDGE|202611301000||ADT^A40^ADT_A39|MERGE-T-3|P|2.5.1\r\
        EVN|A40|202611301000\r\
        PID|1||MRN-7002^^^GHH^MR||Testperson^Alex||19800101|F\r\
        MRG|MRN-7001^^^GHH^MR\r";
    let mappings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    let env = [("FHIR_BRIDGE__HL7V2__MAPPINGS_DIR".to_owned(), mappings.display().to_string())];
    let patients = |data: &Path| {
        let run = bridge_env(data, &env, &["export", "--type", "Patient"]).expect_code(0, "export");
        ndjson(&run.stdout)
    };
    let check_kept = |patient: &Value| {
        assert_eq!(patient["birthDate"], "1980-01-01", "{patient:#}");
        assert_eq!(patient["address"][0]["city"], "Springfield", "{patient:#}");
        assert_eq!(patient["telecom"][0]["value"], "555-0100", "{patient:#}");
        assert_eq!(patient["gender"], "female", "{patient:#}");
    };

    // Both in one ingest (one block: the writer merges), and in two (preparation merges).
    for together in [true, false] {
        let data = temp_dir();
        let input = temp_dir();
        let ingest = |files: &[(&str, &str)]| {
            for (name, text) in files {
                std::fs::write(input.path().join(name), text).expect("write");
            }
            let run = bridge_env(data.path(), &env, &["ingest", &input.path().display().to_string()])
                .expect_code(0, "ingest");
            summary(&run.stderr)
        };
        if together {
            ingest(&[("1-admission.hl7", admission), ("2-lab.hl7", lab)]);
        } else {
            ingest(&[("1-admission.hl7", admission)]);
            let again = ingest(&[("2-lab.hl7", lab)]);
            assert_eq!(again.duplicates, 2, "the admission again: {again:?}");
        }
        let all = patients(data.path());
        let patient = patient_with_mrn(&all, "MRN-7001");
        check_kept(patient);
        assert_eq!(patient["name"], serde_json::json!([{"family": "Testperson", "given": ["Alex"]}]), "replaced");
        assert_eq!(patient["meta"]["versionId"], "2", "the lab result's name made a new version ({together})");

        // The lab result again (a re-sent message) changes nothing.
        let run = bridge_env(data.path(), &env, &["ingest", &input.path().display().to_string()])
            .expect_code(0, "ingest again");
        assert_eq!(summary(&run.stderr).accepted, 0, "{}", run.stderr);

        if !together {
            std::fs::write(input.path().join("3-merge.hl7"), merge).expect("write");
            bridge_env(data.path(), &env, &["ingest", &input.path().display().to_string()])
                .expect_code(0, "ingest the merge");
            let all = patients(data.path());
            let merged = patient_with_mrn(&all, "MRN-7001");
            assert_eq!(merged["active"], false, "{merged:#}");
            assert!(merged["link"][0]["other"]["reference"].is_string(), "{merged:#}");
            check_kept(merged);
            assert_eq!(merged["name"][0]["family"], "Testperson", "{merged:#}");

            // An update whose PID-13 (home phone) is the explicit null `""` deletes the phone and
            // keeps the rest.
            let update =
                "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|LEDGER|BRIDGE|202611301100||ADT^A08^ADT_A01|MERGE-T-4|P|2.5.1\r\
                EVN|A08|202611301100\r\
                PID|1||MRN-7001^^^GHH^MR||Testperson^Alex||||||||\"\"\r";
            let later = temp_dir();
            std::fs::write(later.path().join("4-update.hl7"), update).expect("write");
            bridge_env(data.path(), &env, &["ingest", &later.path().display().to_string()])
                .expect_code(0, "ingest the update");
            let all = patients(data.path());
            let updated = patient_with_mrn(&all, "MRN-7001");
            assert!(updated.get("telecom").is_none(), "{updated:#}");
            assert_eq!(updated["birthDate"], "1980-01-01", "{updated:#}");
            assert_eq!(updated["address"][0]["city"], "Springfield", "{updated:#}");

            // The earlier messages again, after all that: each is known by what it said, so
            // nothing new (the admission merged into today's Patient would be a new version).
            let run = bridge_env(data.path(), &env, &["ingest", &input.path().display().to_string()])
                .expect_code(0, "ingest the earlier messages again");
            assert_eq!(summary(&run.stderr).accepted, 0, "{}", run.stderr);
        }
        verify_ok(data.path(), "after the merges");
    }
}
