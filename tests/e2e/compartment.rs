//! Patient keys by the Patient compartment, end to end through `serve`: a Bundle stored inside a
//! Bundle, and a resource of no patient that holds a patient's record, are sealed under that
//! patient's key (the ledger record names the patient's pseudonym, and a revocation moves them to
//! the new epoch); a Patient contained in an Observation without a subject, and a Bundle holding
//! two patients' records, are refused with an OperationOutcome naming the path, never a value.

use std::time::Duration;

use serde_json::{json, Value};

use crate::server::Bridge;
use crate::support::{temp_dir, verify_ok};

/// The latest ledger record of `Type`.
fn latest<'a>(records: &'a [Value], resource_type: &str) -> &'a Value {
    records
        .iter()
        .rev()
        .find(|r| r["kind"] == "ResourceVersion" && r["type"] == resource_type)
        .unwrap_or_else(|| panic!("no {resource_type} record: {records:#?}"))
}

fn consent(status: &str) -> Value {
    crate::support::permit_consent(status, "Organization/hospital-b", None)
}

fn observation(id: &str, patient: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "pulse"},
           "subject": {"reference": format!("Patient/{patient}")}, "valueQuantity": {"value": 72, "unit": "/min"}})
}

/// A batch whose one entry is a collection Bundle (stored as one resource) of `entries`.
fn bundle_in_bundle(id: &str, entries: Vec<Value>) -> Value {
    let entries: Vec<Value> = entries.into_iter().map(|resource| json!({"resource": resource})).collect();
    json!({"resourceType": "Bundle", "type": "batch", "entry": [{
        "resource": {"resourceType": "Bundle", "id": id, "type": "collection", "entry": entries},
        "request": {"method": "PUT", "url": format!("Bundle/{id}")}
    }]})
}

/// The one issue of a refusal: its path and diagnostics.
fn refusal(status: u16, body: &str) -> (String, String) {
    assert_eq!(status, 422, "{body}");
    let outcome: Value = serde_json::from_str(body).expect("OperationOutcome");
    let issue = &outcome["issue"][0];
    (
        issue["expression"][0].as_str().unwrap_or_default().to_owned(),
        issue["diagnostics"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn nested_and_contained_patient_data_is_sealed_under_the_patient_key_or_refused() {
    let data = temp_dir();
    let peer = record_crypto::NodeKeyPair::generate().expect("peer key");
    let peers = format!(r#"[{{ organization = "Organization/hospital-b", public_key = "{}" }}]"#, peer.public_key());
    let env = [("FHIR_BRIDGE__PEERS".to_owned(), peers)];
    let mut bridge = Bridge::start(data.path(), &env, &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));

    assert_eq!(bridge.send("POST", "/fhir/Patient", &json!({"resourceType":"Patient","id":"p1"})).0, 201);
    assert_eq!(bridge.send("POST", "/fhir/Patient", &json!({"resourceType":"Patient","id":"p2"})).0, 201);
    let (status, body) = bridge.send("POST", "/fhir/Consent", &consent("active"));
    assert_eq!(status, 201, "{body}");
    let records = bridge.ledger_records();
    let grant = records.iter().find(|r| r["kind"] == "Grant").expect("a grant");
    let p1 = grant["patient"].as_str().expect("patient pseudonym").to_owned();

    // A Bundle inside a Bundle belongs to its entries' patient.
    let (status, body) = bridge.send("POST", "/fhir", &bundle_in_bundle("b1", vec![observation("o1", "p1")]));
    assert_eq!(status, 200, "{body}");
    let records = bridge.ledger_records();
    let nested = latest(&records, "Bundle");
    assert_eq!((nested["patient"].as_str(), &nested["epoch"]), (Some(p1.as_str()), &json!(0)), "{nested}");

    // An Organization holding a patient's Observation is that patient's record.
    // (The contained Observation names its container as performer, `#`, as dom-3 asks.)
    let mut contained_observation = observation("o2", "p1");
    contained_observation["performer"] = json!([{"reference": "#"}]);
    let organization = json!({"resourceType": "Organization", "id": "org1", "name": "Ward",
        "contained": [contained_observation]});
    let (status, body) = bridge.send("POST", "/fhir/Organization", &organization);
    assert_eq!(status, 201, "{body}");
    let records = bridge.ledger_records();
    assert_eq!(latest(&records, "Organization")["patient"].as_str(), Some(p1.as_str()));
    let plain = json!({"resourceType": "Organization", "id": "org2", "name": "Lab"});
    assert_eq!(bridge.send("POST", "/fhir/Organization", &plain).0, 201);
    assert_eq!(latest(&bridge.ledger_records(), "Organization")["patient"], Value::Null, "no patient: institution key");

    // A Patient contained in an Observation without a subject: refused, naming the path only.
    let before = bridge.ledger_records().len();
    // (Unreferenced, it breaks dom-3 and is refused as invalid; referenced as a performer, it
    // is valid FHIR, and the refusal is the compartment's.)
    let unreferenced = json!({"resourceType": "Observation", "id": "o3", "status": "final", "code": {"text": "apgar"},
        "contained": [{"resourceType": "Patient", "id": "newborn", "name": [{"family": "Zyxwvut"}]}]});
    let (status, body) = bridge.send("POST", "/fhir/Observation", &unreferenced);
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("Zyxwvut"), "{body}");
    let mut contained = unreferenced.clone();
    contained["performer"] = json!([{"reference": "#newborn"}]);
    let (status, body) = bridge.send("POST", "/fhir/Observation", &contained);
    let (path, diagnostics) = refusal(status, &body);
    assert!(path.starts_with("Observation."), "{path}");
    assert!(!body.contains("Zyxwvut") && !body.contains("newborn"), "{body}");
    assert!(diagnostics.contains("patient"), "{diagnostics}");
    let mut subject_contained = unreferenced.clone();
    subject_contained["subject"] = json!({"reference": "#newborn"});
    let (status, body) = bridge.send("POST", "/fhir/Observation", &subject_contained);
    let (path, _) = refusal(status, &body);
    assert_eq!(path, "Observation.subject.reference");

    // A Bundle holding two patients' records: that batch entry is refused.
    let two = bundle_in_bundle("b2", vec![observation("o4", "p1"), observation("o5", "p2")]);
    let (status, body) = bridge.send("POST", "/fhir", &two);
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("a batch-response");
    let response = &answer["entry"][0]["response"];
    assert_eq!(response["status"], "422 Unprocessable Entity", "{answer:#}");
    let path = &response["outcome"]["issue"][0]["expression"][0];
    assert_eq!(path, "Bundle.entry[0].resource.entry[1].resource.subject.reference");
    assert_eq!(bridge.ledger_records().len(), before, "nothing refused reached the ledger");

    // Revocation reaches the nested Bundle: its next version is sealed under the new epoch.
    let (status, body) = bridge.send("PUT", "/fhir/Consent/c1", &consent("inactive"));
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        bridge.send("POST", "/fhir", &bundle_in_bundle("b1", vec![observation("o1", "p1"), observation("o6", "p1")]));
    assert_eq!(status, 200, "{body}");
    let records = bridge.ledger_records();
    let nested = latest(&records, "Bundle");
    assert_eq!((nested["patient"].as_str(), &nested["epoch"]), (Some(p1.as_str()), &json!(1)), "{nested}");

    bridge.terminate(Duration::from_secs(20));
    verify_ok(data.path(), "after the compartment test");
}
