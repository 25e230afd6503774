//! Golden tests: representative shared samples, mapped with `mappings/`, give exactly the
//! resources in `tests/golden/<name>.json` (reviewed against the HL7 v2-to-FHIR IG). After an
//! intended mapping change, `UPDATE_GOLDEN=1 cargo test -p hl7v2-fhir --test golden` rewrites
//! the files; review their diff before committing it.
//!
//! The files are serde_json's pretty print of one array of the message's resources: members
//! sorted by name, numbers as serde_json reads them (the engine's own tests cover decimal
//! precision).
//!
//! Also targeted checks of identity, merges, report results and errors.

mod common;

use std::path::Path;

use common::{mappings, shared_hl7v2, HashIds};
use hl7v2_fhir::{MapError, MappedMessage};
use serde_json::Value;

/// Maps `input` (a file of the shared `hl7v2/` folder) and compares the result with
/// `tests/golden/<expected>`; with `UPDATE_GOLDEN=1` writes it instead.
fn check(input: &str, expected: &str) {
    let Some(dir) = shared_hl7v2() else { return };
    let mapped = map_file(&dir.join(input)).unwrap_or_else(|e| panic!("{input}: {e}"));
    let resources: Vec<Value> = mapped
        .resources
        .iter()
        .map(|r| serde_json::from_str(&r.json).unwrap_or_else(|e| panic!("{input}: not JSON: {e}")))
        .collect();
    let actual = serde_json::to_string_pretty(&resources).expect("serializable") + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(expected);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (UPDATE_GOLDEN=1 cargo test -p hl7v2-fhir --test golden writes it)", path.display())
    });
    if actual != golden {
        let line = actual
            .lines()
            .zip(golden.lines())
            .position(|(a, g)| a != g)
            .unwrap_or_else(|| actual.lines().count().min(golden.lines().count()));
        let show = |text: &str| text.lines().skip(line.saturating_sub(3)).take(7).collect::<Vec<_>>().join("\n");
        panic!(
            "{input} no longer maps to {expected}; first difference at line {}:\n--- expected\n{}\n--- actual\n{}\n\
             (after an intended change: UPDATE_GOLDEN=1 cargo test -p hl7v2-fhir --test golden, then review the diff)",
            line + 1,
            show(&golden),
            show(&actual)
        );
    }
}

fn map_file(path: &Path) -> Result<MappedMessage, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    map_text(&text)
}

fn map_text(text: &str) -> Result<MappedMessage, String> {
    let message = hl7v2::Message::parse(text).map_err(|e| format!("parse: {e}"))?;
    mappings().map(&message, &HashIds).map_err(|e| e.to_string())
}

#[test]
fn adt_a01_admit() {
    check("ADT-A01-02.hl7", "adt_a01.json");
}

#[test]
fn adt_a08_update() {
    check("ADT-A08-01.hl7", "adt_a08.json");
}

#[test]
fn adt_a40_merge() {
    check("ADT-A40-01.hl7", "adt_a40.json");
}

#[test]
fn oru_r01_lab_results() {
    check("LAB-ORU-1.hl7", "oru_r01.json");
}

#[test]
fn vxu_v04_immunization() {
    check("VXU-V04-01.hl7", "vxu_v04.json");
}

#[test]
fn mdm_t02_document() {
    check("MDM-T02-01.hl7", "mdm_t02.json");
}

#[test]
fn siu_s12_appointment() {
    check("SIU-S12-01.hl7", "siu_s12.json");
}

#[test]
fn dft_p03_charges() {
    check("DFT-P03-01.hl7", "dft_p03.json");
}

#[test]
fn rde_o11_pharmacy_order() {
    check("RDE-O11-01.hl7", "rde_o11.json");
}

#[test]
fn ppr_pc1_problem() {
    check("PC1-Problem-Add-v2.3.1.hl7", "ppr_pc1.json");
}

#[test]
fn orm_o01_order() {
    check("ORM-O01-02.hl7", "orm_o01.json");
}

fn resources_of(mapped: &MappedMessage, resource_type: &str) -> Vec<Value> {
    mapped
        .resources
        .iter()
        .filter(|r| r.resource_type == resource_type)
        .map(|r| serde_json::from_str(&r.json).expect("JSON"))
        .collect()
}

fn references(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(|r| r["reference"].as_str().map(str::to_owned)).collect()
}

#[test]
fn the_same_patient_identifier_makes_the_same_patient_across_messages() {
    let Some(dir) = shared_hl7v2() else { return };
    // Both carry PID-3 PATID1234 of assigning authority test1: the A08 is a new version of the
    // Patient the A01 made.
    let admit = map_file(&dir.join("ADT-A01-02.hl7")).expect("maps");
    let update = map_file(&dir.join("ADT-A08-01.hl7")).expect("maps");
    let (admit, update) = (&resources_of(&admit, "Patient")[0], &resources_of(&update, "Patient")[0]);
    assert_eq!(admit["id"], update["id"]);
    assert_eq!(admit["identifier"][0]["value"], "PATID1234");
    // Another patient (PID-3 12345 of BCBS) gets another id.
    let other = map_file(&dir.join("ADT-A40-01.hl7")).expect("maps");
    assert_ne!(resources_of(&other, "Patient")[0]["id"], admit["id"]);
}

/// The Patient id of an ADT message from `sender` (MSH-3^MSH-4) with PID-3 `identifiers`.
fn patient_id(sender: (&str, &str), event: &str, control_id: &str, identifiers: &str) -> String {
    let text = format!(
        "MSH|^~\\&|{}|{}|BRIDGE|HOSP|20240101||ADT^{event}^ADT_A01|{control_id}|P|2.5.1\r\
         PID|1||{identifiers}||DOE^JANE||19700101|F\r",
        sender.0, sender.1
    );
    let mapped = map_text(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let patients = resources_of(&mapped, "Patient");
    assert_eq!(patients.len(), 1, "{text}");
    patients[0]["id"].as_str().expect("id").to_owned()
}

#[test]
fn an_identifier_without_an_assigning_authority_is_the_same_patient_only_at_its_facility() {
    let admit = patient_id(("ADT", "NORTH"), "A01", "N-1", "4711^^^^MR");
    // The same facility, a later update and a re-sent admit: the same Patient, also when the
    // facility's lab system sends it.
    assert_eq!(patient_id(("ADT", "NORTH"), "A08", "N-2", "4711^^^^MR"), admit);
    assert_eq!(patient_id(("ADT", "NORTH"), "A01", "N-1", "4711^^^^MR"), admit);
    assert_eq!(patient_id(("LAB", "NORTH"), "A08", "L-1", "4711^^^^MR"), admit);
    // The same number from another facility is another patient.
    assert_ne!(patient_id(("ADT", "SOUTH"), "A01", "S-1", "4711^^^^MR"), admit);
    // With an assigning authority the number is global: the same Patient from any sender.
    let global = patient_id(("ADT", "NORTH"), "A01", "N-3", "4711^^^HOSP&1.2.3&ISO^MR");
    assert_eq!(patient_id(("LAB", "SOUTH"), "A08", "S-2", "4711^^^HOSP&1.2.3&ISO^MR"), global);
    assert_ne!(global, admit);
}

#[test]
fn the_medical_record_number_is_the_identity_whichever_repetition_carries_it() {
    let mrn_only = patient_id(("ADT", "NORTH"), "A01", "N-1", "MRN7^^^HOSP^MR");
    // Before it a social security number, after it a visit-independent patient id: still the MRN.
    assert_eq!(patient_id(("ADT", "NORTH"), "A08", "N-2", "123-45-6789^^^SSA^SS~MRN7^^^HOSP^MR"), mrn_only);
    assert_eq!(patient_id(("ADT", "NORTH"), "A08", "N-3", "MRN7^^^HOSP^MR~P-99^^^HOSP^PI"), mrn_only);
    // Another MRN behind the same first identifier is another patient.
    assert_ne!(patient_id(("ADT", "NORTH"), "A08", "N-4", "123-45-6789^^^SSA^SS~MRN8^^^HOSP^MR"), mrn_only);
    // Without an MR repetition the first one counts.
    let first = patient_id(("ADT", "NORTH"), "A01", "N-5", "P-99^^^HOSP^PI");
    assert_eq!(patient_id(("ADT", "NORTH"), "A08", "N-6", "P-99^^^HOSP^PI~123-45-6789^^^SSA^SS"), first);
}

#[test]
fn a_merge_links_the_surviving_and_the_merged_patient() {
    let Some(dir) = shared_hl7v2() else { return };
    let mapped = map_file(&dir.join("ADT-A40-01.hl7")).expect("maps");
    let patients = resources_of(&mapped, "Patient");
    assert_eq!(patients.len(), 2, "the surviving (PID) and the merged (MRG) patient");
    let (survivor, merged) = (&patients[0], &patients[1]);
    assert_eq!(survivor["identifier"][0]["value"], "12345");
    assert_eq!(merged["identifier"][0]["value"], "56789");
    let reference = |p: &Value| format!("Patient/{}", p["id"].as_str().expect("id"));
    assert_eq!(survivor["link"][0]["type"], "replaces");
    assert_eq!(survivor["link"][0]["other"]["reference"], reference(merged).as_str());
    assert_eq!(merged["link"][0]["type"], "replaced-by");
    assert_eq!(merged["link"][0]["other"]["reference"], reference(survivor).as_str());
    assert_eq!(merged["active"], false);
    assert!(survivor.get("active").is_none(), "the survivor is not marked inactive");
}

#[test]
fn a_report_lists_exactly_the_observations_of_its_obx_segments() {
    let Some(dir) = shared_hl7v2() else { return };
    for file in ["LAB-ORU-1.hl7", "ORU-R01-RMGEAD.hl7"] {
        let mapped = map_file(&dir.join(file)).expect("maps");
        let reports: Vec<(usize, Value)> = mapped
            .resources
            .iter()
            .filter(|r| r.resource_type == "DiagnosticReport")
            .map(|r| (r.segment.1, serde_json::from_str(&r.json).expect("JSON")))
            .collect();
        assert!(!reports.is_empty(), "{file}: no DiagnosticReport");
        for (i, (at, report)) in reports.iter().enumerate() {
            let end = reports.get(i + 1).map_or(usize::MAX, |(next, _)| *next);
            let expected: Vec<String> = mapped
                .resources
                .iter()
                .filter(|r| r.segment.0 == "OBX" && r.segment.1 > *at && r.segment.1 < end)
                .map(|r| format!("Observation/{}", r.id))
                .collect();
            assert!(!expected.is_empty(), "{file}: OBR at {at} has no OBX");
            assert_eq!(references(&report["result"]), expected, "{file}: OBR at {at}");
        }
    }
}

#[test]
fn only_observations_after_an_immunization_are_part_of_it() {
    let Some(dir) = shared_hl7v2() else { return };
    let mapped = map_file(&dir.join("VXU-V04-01.hl7")).expect("maps");
    let rxa = mapped.resources.iter().find(|r| r.segment.0 == "RXA").expect("an Immunization");
    for obx in mapped.resources.iter().filter(|r| r.segment.0 == "OBX") {
        let json: Value = serde_json::from_str(&obx.json).expect("JSON");
        let expected = if obx.segment.1 > rxa.segment.1 { vec![format!("Immunization/{}", rxa.id)] } else { vec![] };
        assert_eq!(references(&json["partOf"]), expected, "OBX at segment {}", obx.segment.1);
    }
}

#[test]
fn a_local_code_gets_its_loinc_coding_from_the_concept_map() {
    let Some(dir) = shared_hl7v2() else { return };
    let mapped = map_file(&dir.join("ORM-O01-02.hl7")).expect("maps");
    let observation = &resources_of(&mapped, "Observation")[0];
    let codings = &observation["code"]["coding"];
    assert_eq!(codings[0]["system"], "http://loinc.org", "{codings}");
    assert_eq!(codings[0]["code"], "625-4");
    // The original coding is kept, its system named from the message's "XYZ".
    assert_eq!(codings[1]["system"], "urn:fhir-ledger-bridge:v2:XYZ");
    assert_eq!(codings[1]["code"], "625-4");
}

#[test]
fn an_unmapped_message_is_unsupported_naming_msh_9() {
    let Some(dir) = shared_hl7v2() else { return };
    let path = dir.join("test-suites/izgateway-v2tofhir/msg57-QBP_Q11_QBP_Q11.hl7");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let message = hl7v2::Message::parse(&text).expect("parses");
    let error = mappings().map(&message, &HashIds).expect_err("QBP is not mapped");
    assert_eq!(error, MapError::Unsupported { event: "QBP^Q11".into() });
    assert!(error.to_string().starts_with("MSH-9"), "{error}");
}

#[test]
fn a_bad_birth_date_refuses_the_message_naming_pid_7() {
    let Some(dir) = shared_hl7v2() else { return };
    // python-hl7's ORU^R01 sample has PID-7 196203520 (March 52nd).
    let path = dir.join("test-suites/python-hl7/oru_r01_glucose.hl7");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let error = map_text(&text).expect_err("PID-7 is no date");
    assert!(error.starts_with("PID-7"), "{error}");
    // A made-up one, in an otherwise good ADT^A01: the error names the field, not the value.
    let good = std::fs::read_to_string(dir.join("ADT-A40-01.hl7")).expect("readable");
    let bad = good.replace("|20180205|", "|20181305|");
    assert_ne!(good, bad);
    let error = map_text(&bad).expect_err("month 13");
    assert!(error.starts_with("PID-7: ") && !error.contains("20181305"), "{error}");
}

#[test]
fn encapsulated_data_that_is_not_base64_refuses_the_message() {
    let Some(dir) = shared_hl7v2() else { return };
    // The IG's MDM^T02 sample has `<Base64 encoded>` where the PDF would be.
    let path = dir.join("test-suites/hl7-v2-to-fhir-ig/mdm_t02.hl7");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let error = map_text(&text).expect_err("a placeholder is no base64");
    assert!(error.starts_with("OBX-5.5"), "{error}");
    // With real base64 in its place, the message maps, and the data is kept.
    let fixed = text.replace("<Base64 encoded>", "JVBERi0xLjQK");
    let mapped = map_text(&fixed).expect("maps");
    let document = &resources_of(&mapped, "DocumentReference")[0];
    let data: Vec<&str> = document["content"]
        .as_array()
        .expect("content")
        .iter()
        .filter_map(|c| c["attachment"]["data"].as_str())
        .collect();
    assert!(data.contains(&"JVBERi0xLjQK"), "{document}");
}

#[test]
fn an_explicit_null_field_makes_no_value_and_is_reported_as_cleared() {
    let text = "MSH|^~\\&|ADT1|GHH|LEDGER|BRIDGE|202611301100||ADT^A08^ADT_A01|NULL-1|P|2.5.1\r\
                PID|1||MRN-7001^^^GHH^MR||Testperson^Alex||\"\"||||||\"\"\r";
    let mapped = map_text(text).expect("maps");
    let patient = mapped.resources.iter().find(|r| r.resource_type == "Patient").expect("a Patient");
    let json: Value = serde_json::from_str(&patient.json).expect("JSON");
    assert!(json.get("telecom").is_none(), "no ContactPoint made of a null: {json:#}");
    assert!(json.get("birthDate").is_none(), "{json:#}");
    assert_eq!(patient.cleared, vec!["birthDate".to_owned(), "telecom".to_owned()]);
    // An empty field clears nothing.
    let text = text.replace("\"\"", "");
    let mapped = map_text(&text).expect("maps");
    assert!(mapped.resources.iter().all(|r| r.cleared.is_empty()));
}

#[test]
fn a_charge_without_a_transaction_code_keeps_its_description_or_says_not_coded() {
    let text = "MSH|^~\\&|BILL|GHH|LEDGER|BRIDGE|202611301200||DFT^P03^DFT_P03|FT1-1|P|2.5.1\r\
                EVN|P03|202611301200\r\
                PID|1||MRN-7001^^^GHH^MR||Testperson^Alex\r\
                FT1|1|T-1||20261130||CG||Bed day|||1\r\
                FT1|2|T-2||20261130||CD|||||1\r";
    let mapped = map_text(text).expect("maps: a missing FT1-7 does not refuse the message");
    let charges: Vec<Value> = mapped
        .resources
        .iter()
        .filter(|r| r.resource_type == "ChargeItem")
        .map(|r| serde_json::from_str(&r.json).expect("JSON"))
        .collect();
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[0]["code"]["text"], "Bed day");
    assert_eq!(charges[0]["status"], "billable");
    assert_eq!(charges[1]["code"]["text"], "not coded");
    assert_eq!(charges[1]["status"], "unknown", "a credit is not a billable charge");
}
