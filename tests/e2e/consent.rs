//! Consent → ledger grants, end to end through `serve`: an active Consent naming a peer
//! institution commits a `Grant` that wraps the patient key for the peer's node key (and only the
//! peer can unwrap it); setting the Consent inactive commits a `Revoke` and moves the patient to
//! a new key epoch, so records written afterwards are sealed under a key the peer never gets.

use std::time::Duration;

use record_crypto::{unwrap_patient_key, NodeKeyPair, WrappedKey};
use serde_json::{json, Value};

use crate::server::Bridge;
use crate::support::{temp_dir, verify_ok};

fn post(bridge: &Bridge, method: &str, path: &str, body: &Value) -> (u16, String) {
    bridge.send(method, path, body)
}

/// `serve` with one peer, `Organization/hospital-b`, whose node key is returned.
fn serve_with_peer(data: &std::path::Path) -> (Bridge, NodeKeyPair) {
    let peer = NodeKeyPair::generate().expect("peer key");
    let peers = format!(r#"[{{ organization = "Organization/hospital-b", public_key = "{}" }}]"#, peer.public_key());
    let env = [("FHIR_BRIDGE__PEERS".to_owned(), peers)];
    let mut bridge = Bridge::start(data, &env, &data.join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    (bridge, peer)
}

fn consent(status: &str, organization: &str) -> Value {
    crate::support::permit_consent(status, organization, Some("Observation"))
}

fn observation(id: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "pulse"},
           "subject": {"reference": "Patient/p1"}, "valueQuantity": {"value": 72, "unit": "/min"}})
}

#[test]
fn a_consent_grants_a_peer_the_patient_key_and_its_revocation_rotates_it() {
    let data = temp_dir();
    let (mut bridge, peer) = serve_with_peer(data.path());

    let (status, body) = post(&bridge, "POST", "/fhir/Patient", &json!({"resourceType":"Patient","id":"p1"}));
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(&bridge, "POST", "/fhir/Consent", &consent("active", "Organization/hospital-b"));
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(&bridge, "POST", "/fhir/Observation", &observation("o1"));
    assert_eq!(status, 201, "{body}");

    let records = bridge.ledger_records();
    let grants: Vec<&Value> = records.iter().filter(|r| r["kind"] == "Grant").collect();
    assert_eq!(grants.len(), 1, "{records:#?}");
    let grant = grants[0];
    assert_eq!(grant["grantee"], peer.key_id().to_string());
    assert_eq!(grant["types"], json!(["Observation"]));
    assert_eq!(grant["start"], "2026-01-01");
    assert_eq!(grant["epoch"], 0);
    // The grant carries a pseudonym, not the patient id.
    let patient = grant["patient"].as_str().expect("patient").to_owned();
    assert_eq!(patient.len(), 64);
    assert!(!grant.to_string().contains("p1\""));
    // Only the peer's private key unwraps it, and it is the key the patient's records use.
    let wrapped_hex = grant["wrapped_key"].as_str().expect("wrapped_key");
    let wrapped =
        WrappedKey::from_bytes(&data_encoding::HEXLOWER.decode(wrapped_hex.as_bytes()).expect("hex")).expect("wrapped");
    let context = node_store::records::grant_wrap_context(&patient, 0, &peer.key_id().to_string());
    let key = unwrap_patient_key(&wrapped, &peer, &context).expect("the grantee unwraps the patient key");
    assert_eq!(key.epoch(), 0);
    let stranger = NodeKeyPair::generate().expect("key");
    assert!(unwrap_patient_key(&wrapped, &stranger, &context).is_err(), "another key must not unwrap it");
    let o1 = records.iter().find(|r| r["kind"] == "ResourceVersion" && r["type"] == "Observation").expect("o1");
    assert_eq!((o1["patient"].as_str(), &o1["epoch"]), (Some(patient.as_str()), &json!(0)));

    // A consent naming an organisation that is no peer grants nothing.
    let mut other = consent("active", "Organization/unknown");
    other["id"] = "c2".into();
    assert_eq!(post(&bridge, "POST", "/fhir/Consent", &other).0, 201);

    // Revocation: a Revoke record, a new epoch, and later records sealed under it.
    let (status, body) = post(&bridge, "PUT", "/fhir/Consent/c1", &consent("inactive", "Organization/hospital-b"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&bridge, "POST", "/fhir/Observation", &observation("o2"));
    assert_eq!(status, 201, "{body}");
    let records = bridge.ledger_records();
    assert_eq!(records.iter().filter(|r| r["kind"] == "Grant").count(), 1, "no grant for the unknown organisation");
    let revokes: Vec<&Value> = records.iter().filter(|r| r["kind"] == "Revoke").collect();
    assert_eq!(revokes.len(), 1, "{records:#?}");
    assert_eq!(
        (revokes[0]["grantee"].as_str(), &revokes[0]["epoch"]),
        (Some(peer.key_id().to_string().as_str()), &json!(1))
    );
    let o2 = records.iter().rev().find(|r| r["kind"] == "ResourceVersion" && r["type"] == "Observation").expect("o2");
    assert_eq!(o2["epoch"], 1, "records after the revocation use the new epoch");

    // Sending the same inactive consent again changes nothing.
    assert_eq!(post(&bridge, "PUT", "/fhir/Consent/c1", &consent("inactive", "Organization/hospital-b")).0, 200);
    assert_eq!(bridge.ledger_records().len(), records.len());

    // Deleting a Consent revokes as setting it inactive does: a new consent grants again
    // (the current epoch, 1), and its DELETE commits a Revoke and moves the patient to epoch 2.
    let mut again = consent("active", "Organization/hospital-b");
    again["id"] = "c3".into();
    assert_eq!(post(&bridge, "POST", "/fhir/Consent", &again).0, 201);
    let (status, body) = bridge.delete("/fhir/Consent/c3");
    assert_eq!(status, 200, "{body}");
    let outcome: Value = serde_json::from_str(&body).expect("an OperationOutcome");
    assert_eq!(outcome["issue"][0]["diagnostics"], "deleted Consent/c3: version 2 is a delete", "{body}");
    let (status, _) = post(&bridge, "POST", "/fhir/Observation", &observation("o3"));
    assert_eq!(status, 201);
    let records = bridge.ledger_records();
    let grants: Vec<&Value> = records.iter().filter(|r| r["kind"] == "Grant").collect();
    assert_eq!(grants.len(), 2, "{records:#?}");
    assert_eq!(grants[1]["epoch"], 1);
    let revokes: Vec<&Value> = records.iter().filter(|r| r["kind"] == "Revoke").collect();
    assert_eq!(revokes.len(), 2, "{records:#?}");
    assert_eq!(revokes[1]["epoch"], 2);
    let o3 = records.iter().rev().find(|r| r["kind"] == "ResourceVersion" && r["type"] == "Observation").expect("o3");
    assert_eq!(o3["epoch"], 2, "records after the deletion use the new epoch");
    // The deleted consent reads as gone; deleting it again changes nothing.
    assert_eq!(bridge.get("/fhir/Consent/c3").map(|(status, _)| status), Some(410));
    assert_eq!(bridge.delete("/fhir/Consent/c3").0, 200);
    assert_eq!(bridge.ledger_records().len(), records.len());

    let status = bridge.terminate(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0));
    verify_ok(data.path(), "after consent");
}

#[test]
fn a_consent_that_cannot_be_enforced_is_refused_and_one_that_grants_nothing_says_so() {
    let data = temp_dir();
    let (mut bridge, _peer) = serve_with_peer(data.path());
    assert_eq!(post(&bridge, "POST", "/fhir/Patient", &json!({"resourceType":"Patient","id":"p1"})).0, 201);

    // A consent for one Observation: the bridge cannot share single resources, so it refuses
    // rather than open every type.
    let mut one_record = consent("active", "Organization/hospital-b");
    one_record["provision"]["data"] = json!([{"meaning": "instance", "reference": {"reference": "Observation/o1"}}]);
    let (status, body) = post(&bridge, "POST", "/fhir/Consent", &one_record);
    assert_eq!(status, 422, "{body}");
    let outcome: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(outcome["issue"][0]["expression"][0], "Consent.provision.data", "{outcome:#}");
    // A class code of another system is no resource type.
    let mut loinc = consent("active", "Organization/hospital-b");
    loinc["provision"]["class"] = json!([{"system": "http://loinc.org", "code": "Condition"}]);
    assert_eq!(post(&bridge, "POST", "/fhir/Consent", &loinc).0, 422);

    // An organisation that is no peer: stored, nothing granted, and the answer says why.
    let (status, body) = bridge.send_with(
        "POST",
        "/fhir/Consent",
        &consent("active", "Organization/nobody"),
        &[("Prefer", "return=OperationOutcome")],
    );
    assert_eq!(status, 201, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["resourceType"], "OperationOutcome", "{answer:#}");
    let notes = answer["issue"].as_array().expect("an outcome with issues");
    assert!(
        notes.iter().any(|n| n["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Organization/nobody") && d.contains("no configured peer"))),
        "{answer:#}"
    );
    let records = bridge.ledger_records();
    assert!(!records.iter().any(|r| r["kind"] == "Grant"), "{records:#?}");

    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
    verify_ok(data.path(), "after refused consents");
}
