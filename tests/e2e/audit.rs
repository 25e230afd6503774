//! Audit end to end: every read and every denial of a patient's resource is an `Access` record
//! on the ledger, and `GET /fhir/AuditEvent?patient=` shows them to the patient as valid FHIR
//! AuditEvents naming who asked, what, when, and whether it was allowed.

use std::time::Duration;

use serde_json::{json, Value};

use crate::server::Bridge;
use crate::support::{temp_dir, verify_ok, DEV_TOKEN};

const READ_PATIENTS_ONLY: &str = "e2e-patient-reader-token-0123456789";

fn call(bridge: &Bridge, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, String) {
    let request = ureq::request(method, &format!("{}{path}", bridge.base()))
        .timeout(Duration::from_secs(30))
        .set("Authorization", &format!("Bearer {token}"));
    let result = match body {
        Some(body) => request.set("Content-Type", "application/fhir+json").send_string(&body.to_string()),
        None => request.call(),
    };
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

#[test]
fn reads_and_denials_are_on_the_ledger_and_shown_as_audit_events() {
    let data = temp_dir();
    let tokens = format!(
        r#"[{{ token = "{DEV_TOKEN}", client_id = "e2e", scopes = ["system/*.cruds", "bridge/ledger.read", "bridge/metrics.read"] }}, {{ token = "{READ_PATIENTS_ONLY}", client_id = "reader", scopes = ["system/Patient.rs"] }}]"#
    );
    let env = [("FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS".to_owned(), tokens)];
    let mut bridge = Bridge::start_with(data.path(), &[], &env, &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));

    let patient = json!({"resourceType": "Patient", "id": "a1"});
    let observation = json!({"resourceType": "Observation", "id": "ao1", "status": "final", "code": {"text": "x"},
                             "subject": {"reference": "Patient/a1"}});
    assert_eq!(call(&bridge, "POST", "/fhir/Patient", DEV_TOKEN, Some(&patient)).0, 201);
    assert_eq!(call(&bridge, "POST", "/fhir/Observation", DEV_TOKEN, Some(&observation)).0, 201);

    // One permitted read by each client, one denial.
    assert_eq!(call(&bridge, "GET", "/fhir/Observation/ao1", DEV_TOKEN, None).0, 200);
    assert_eq!(call(&bridge, "GET", "/fhir/Patient/a1", READ_PATIENTS_ONLY, None).0, 200);
    let (status, body) = call(&bridge, "GET", "/fhir/Observation/ao1", READ_PATIENTS_ONLY, None);
    assert_eq!(status, 403, "{body}");
    // A resource that does not exist makes no Access record for a caller who may read it.
    assert_eq!(call(&bridge, "GET", "/fhir/Observation/none", DEV_TOKEN, None).0, 404);

    let (status, body) = call(&bridge, "GET", "/fhir/AuditEvent?patient=a1", DEV_TOKEN, None);
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).expect("JSON");
    let events: Vec<&Value> = bundle["entry"].as_array().expect("entries").iter().map(|e| &e["resource"]).collect();
    // The denied read is on the ledger, but names no patient: it is decided before the resource
    // is looked up, so its record cannot tell anyone that Observation/ao1 exists.
    assert_eq!(events.len(), 2, "{bundle:#}");
    for event in &events {
        let json = serde_json::to_vec(event).expect("JSON");
        fhir_models::parse_and_validate(&json).unwrap_or_else(|o| panic!("invalid AuditEvent: {:?}", o.issue));
        assert_eq!(event["entity"][0]["what"]["reference"], "Patient/a1");
    }
    let outcomes: Vec<&str> = events.iter().map(|e| e["outcome"].as_str().unwrap_or_default()).collect();
    assert_eq!(outcomes, ["0", "0"], "two reads allowed");
    let who: Vec<&str> =
        events.iter().map(|e| e["agent"][0]["who"]["identifier"]["value"].as_str().unwrap_or_default()).collect();
    assert_ne!(who[0], who[1], "two different clients");
    assert!(!body.contains("\"reader\""), "clients are named by pseudonym");
    // Another patient sees none of these.
    let (_, other) = call(&bridge, "GET", "/fhir/AuditEvent?patient=someone-else", DEV_TOKEN, None);
    assert_eq!(serde_json::from_str::<Value>(&other).expect("JSON")["total"], 0);
    // Only callers allowed to search AuditEvents may ask.
    assert_eq!(call(&bridge, "GET", "/fhir/AuditEvent?patient=a1", READ_PATIENTS_ONLY, None).0, 403);

    // Provenance of the Observation, from the ledger, with its block's signature.
    assert_eq!(
        call(
            &bridge,
            "PUT",
            "/fhir/Observation/ao1",
            DEV_TOKEN,
            Some(&{
                let mut changed = observation.clone();
                changed["status"] = "amended".into();
                changed
            })
        )
        .0,
        200
    );
    let (status, body) = call(&bridge, "GET", "/fhir/Provenance?target=Observation/ao1", DEV_TOKEN, None);
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).expect("JSON");
    let provenances: Vec<&Value> =
        bundle["entry"].as_array().expect("entries").iter().map(|e| &e["resource"]).collect();
    assert_eq!(provenances.len(), 2, "one per version");
    for (i, provenance) in provenances.iter().enumerate() {
        let json = serde_json::to_vec(provenance).expect("JSON");
        fhir_models::parse_and_validate(&json).unwrap_or_else(|o| panic!("invalid Provenance: {:?}", o.issue));
        assert_eq!(provenance["target"][0]["reference"], format!("Observation/ao1/_history/{}", i + 1));
        let signature = provenance["signature"][0]["data"].as_str().expect("signature");
        assert_eq!(data_encoding::BASE64.decode(signature.as_bytes()).expect("base64").len(), 64);
        let seq = provenance["extension"][0]["valueDecimal"].as_u64().expect("seq");
        let (_, proof) = bridge.get(&format!("/ledger/proof/{seq}")).expect("proof");
        let proof: Value = serde_json::from_str(&proof).expect("JSON");
        assert_eq!(proof["record"]["type"], "Observation");
        assert_eq!(proof["record"]["version"], i + 1);
    }
    // Provenance reveals versions: only callers who may read the type may ask.
    assert_eq!(call(&bridge, "GET", "/fhir/Provenance?target=Observation/ao1", READ_PATIENTS_ONLY, None).0, 403);

    // A local search is audited too, and so are reads at the command line.
    let (status, body) = call(&bridge, "GET", "/fhir/Observation?patient=a1", DEV_TOKEN, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON")["total"], 1);
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
    crate::support::bridge(data.path(), ["read", "Observation/ao1"]).expect_code(0, "CLI read");
    bridge.restart();
    bridge.wait_healthy(Duration::from_secs(20));
    let (_, body) = call(&bridge, "GET", "/fhir/AuditEvent?patient=a1", DEV_TOKEN, None);
    let bundle: Value = serde_json::from_str(&body).expect("JSON");
    let actions: Vec<(&str, &str, &str)> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let event = &e["resource"];
            let code = event["subtype"][0]["code"].as_str().unwrap_or_default();
            (
                code,
                event["entity"][1]["name"].as_str().unwrap_or_default(),
                event["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("read", "Observation", "0"),
            ("read", "Patient", "0"),
            // Looking at the audit trail is on it too, allowed and refused.
            ("search", "AuditEvent", "0"),
            ("search", "AuditEvent", "4"),
            ("search", "Observation", "0"),
            ("read", "Observation", "0"),
        ],
        "{bundle:#}"
    );

    // A caller who may not read the type learns nothing of what exists: the same 403, and the
    // ledger grows by one Access record either way.
    let size = |bridge: &Bridge| {
        let (_, head) = call(bridge, "GET", "/ledger/head", DEV_TOKEN, None);
        serde_json::from_str::<Value>(&head).expect("head")["tree_size"].as_u64().expect("tree_size")
    };
    let mut answers = Vec::new();
    for path in [
        "/fhir/Observation/ao1",
        "/fhir/Observation/none",
        "/fhir/Observation/ao1/_history/1",
        "/fhir/Observation/none/_history/1",
    ] {
        let before = size(&bridge);
        let (status, body) = call(&bridge, "GET", path, READ_PATIENTS_ONLY, None);
        let outcome: Value = serde_json::from_str(&body).expect("an OperationOutcome");
        answers.push((
            status,
            outcome["issue"][0]["code"].clone(),
            outcome["issue"][0]["diagnostics"].clone(),
            size(&bridge) - before,
        ));
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "{answers:?}");
    assert_eq!(answers[0].0, 403);
    assert_eq!(answers[0].3, 1);

    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
    verify_ok(data.path(), "after audited reads");
}
