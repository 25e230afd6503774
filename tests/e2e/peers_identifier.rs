//! Institutions share no logical ids: a grantee finds a patient's records at a custodian by a
//! shared identifier (`Observation?patient.identifier=system|value`). The custodian resolves it
//! through its blind index to its own patient, and serves the Patient (which the grantee checks
//! carries the identifier) and then the records, each within the grants in force; the grantee
//! verifies both answers as for `patient=`, and shows its own records of that identifier beside.

use std::time::Duration;

use serde_json::{json, Value};

use crate::peers::{created, node_key, observation, peers_env};
use crate::server::Bridge;
use crate::support::{permit_consent, temp_dir};

const NATIONAL: &str = "urn:oid:2.16.840.1.113883.2.4.6.3";

fn patient(id: &str, national: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "identifier": [{"system": NATIONAL, "value": national}]})
}

fn consent(id: &str, patient: &str, class: Option<&str>) -> Value {
    let mut consent = permit_consent("active", "Organization/hospital-b", class);
    consent["id"] = json!(id);
    consent["patient"]["reference"] = json!(format!("Patient/{patient}"));
    consent
}

#[test]
fn a_grantee_finds_a_patients_records_at_a_custodian_by_a_shared_identifier() {
    let (a_dir, b_dir) = (temp_dir(), temp_dir());
    let (a_public, _, _) = node_key(a_dir.path());
    let (b_public, _, _) = node_key(b_dir.path());
    let mut a = Bridge::start(
        a_dir.path(),
        &[peers_env(&[("Organization/hospital-b", &b_public, None)])],
        &a_dir.path().join("serve.log"),
    );
    a.wait_healthy(Duration::from_secs(20));
    let b_env = vec![peers_env(&[("Organization/hospital-a", &a_public, Some(a.base()))])];
    let mut b = Bridge::start(b_dir.path(), &b_env, &b_dir.path().join("serve.log"));
    b.wait_healthy(Duration::from_secs(20));

    // At A: the patient (A's id a-p1), granted whole to B; another granted only Observations;
    // one not granted at all.
    created(&a, "PUT", "/fhir/Patient/a-p1", &patient("a-p1", "NAT-1"));
    created(&a, "PUT", "/fhir/Consent/c-a1", &consent("c-a1", "a-p1", None));
    created(&a, "PUT", "/fhir/Observation/a-o1", &observation("a-o1", "a-p1", 71));
    created(&a, "PUT", "/fhir/Observation/a-o2", &observation("a-o2", "a-p1", 72));
    created(&a, "PUT", "/fhir/Patient/a-p4", &patient("a-p4", "NAT-4"));
    created(&a, "PUT", "/fhir/Consent/c-a4", &consent("c-a4", "a-p4", Some("Observation")));
    created(&a, "PUT", "/fhir/Observation/a-o4", &observation("a-o4", "a-p4", 74));
    created(&a, "PUT", "/fhir/Patient/a-p3", &patient("a-p3", "NAT-3"));
    created(&a, "PUT", "/fhir/Observation/a-o3", &observation("a-o3", "a-p3", 73));
    // At B: the same person under B's own id.
    created(&b, "PUT", "/fhir/Patient/b-p9", &patient("b-p9", "NAT-1"));
    created(&b, "PUT", "/fhir/Observation/b-o9", &observation("b-o9", "b-p9", 60));

    let search = |query: &str| -> (u16, Value) {
        let (status, body) = b.get(query).expect("search");
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    };
    let ids = |bundle: &Value| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["search"]["mode"] == "match")
            .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    for query in [
        format!("/fhir/Observation?patient.identifier={NATIONAL}|NAT-1"),
        format!("/fhir/Observation?subject:Patient.identifier={NATIONAL}|NAT-1"),
    ] {
        let (status, bundle) = search(&query);
        assert_eq!(status, 200, "{bundle:#}");
        let mut found = ids(&bundle);
        found.sort();
        assert_eq!(found, ["a-o1", "a-o2", "b-o9"], "{query}: {bundle:#}");
    }
    // The Patient itself, by identifier, from both.
    let (_, patients) = search(&format!("/fhir/Patient?patient.identifier={NATIONAL}|NAT-1"));
    let mut found = ids(&patients);
    found.sort();
    assert_eq!(found, ["a-p1", "b-p9"], "{patients:#}");

    // Within the grants only: a grant that does not cover Patient cannot resolve an identifier,
    // and is refused as a patient who granted nothing, or one who does not exist, is.
    for national in ["NAT-4", "NAT-3", "NAT-nobody"] {
        let (status, refused) = search(&format!("/fhir/Observation?patient.identifier={NATIONAL}|{national}"));
        assert_eq!(status, 403, "{national}: {refused:#}");
        assert!(refused.to_string().contains("no grant in force"), "{national}: {refused:#}");
    }
    // An identifier two of B's own Patients carry names no one patient here.
    created(&b, "PUT", "/fhir/Patient/b-p8", &patient("b-p8", "NAT-1"));
    let (status, _) = search(&format!("/fhir/Observation?patient.identifier={NATIONAL}|NAT-1"));
    assert_eq!(status, 412);
    let (status, _) = search("/fhir/Observation?patient.identifier=NAT-1");
    assert_eq!(status, 400, "an identifier without its system names nobody");

    // A's audit trail shows the peer's reads of a-p1.
    let (_, audit) = a.get("/fhir/AuditEvent?patient=a-p1").expect("audit");
    let audit: Value = serde_json::from_str(&audit).expect("JSON");
    assert!(audit["total"].as_u64().is_some_and(|n| n >= 2), "{audit:#}");
    a.terminate(Duration::from_secs(20));
    b.terminate(Duration::from_secs(20));
}
