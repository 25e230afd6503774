//! The HTTP service: create, update, read, history, errors, Bundles, ledger and metrics
//! endpoints, then a graceful SIGTERM after which everything acknowledged is on disk.

use std::time::Duration;

use serde_json::{json, Value};

use crate::require_data;
use crate::server::Bridge;
use crate::support::{self, files_under, read, strip_meta, temp_dir, verify_ok};

/// Status, ETag, Location and body of a response (any status).
struct Reply {
    status: u16,
    etag: Option<String>,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn call(method: &str, url: &str, body: Option<&Value>) -> Reply {
    let request = ureq::request(method, url)
        .timeout(Duration::from_secs(60))
        .set("Authorization", &format!("Bearer {}", crate::support::DEV_TOKEN));
    let result = match body {
        Some(body) => request.set("Content-Type", "application/fhir+json").send_string(&body.to_string()),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    Reply {
        status: response.status(),
        etag: response.header("ETag").map(str::to_owned),
        location: response.header("Location").map(str::to_owned),
        body: response.into_string().expect("body"),
    }
}

#[test]
fn serve_answers_fhir_and_ledger_requests_and_stops_cleanly() {
    let root = require_data!();
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = bridge.base();

    // Health without Kafka: the connector is reported as not configured.
    let health = call("GET", &format!("{base}/healthz"), None);
    assert_eq!(health.status, 200, "{}", health.body);
    let health = health.json();
    assert_eq!((health["status"].as_str(), health["ledger_records"].as_u64()), (Some("ok"), Some(0)), "{health}");
    assert!(health.get("kafka").is_some_and(Value::is_null), "{health}");

    // Create.
    let patient = json!({"resourceType":"Patient","id":"serve-p1","gender":"female","birthDate":"1975-05-05","name":[{"family":"Example","given":["Ann"]}]});
    let created = call("POST", &format!("{base}/fhir/Patient"), Some(&patient));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.location, Some(format!("{base}/fhir/Patient/serve-p1/_history/1")));
    // The answer is the resource as stored, as FHIR servers give it.
    assert_eq!(created.json()["meta"]["versionId"], "1", "{}", created.body);
    assert_eq!(created.etag.as_deref(), Some("W/\"1\""));

    // Read.
    let got = call("GET", &format!("{base}/fhir/Patient/serve-p1"), None);
    assert_eq!(got.status, 200, "{}", got.body);
    let mut got = got.json();
    assert_eq!(got["meta"]["versionId"], "1");
    strip_meta(&mut got);
    assert_eq!(got, patient);

    // Update.
    let mut changed = patient.clone();
    changed["birthDate"] = "1976-06-06".into();
    let updated = call("PUT", &format!("{base}/fhir/Patient/serve-p1"), Some(&changed));
    assert!(updated.status == 200 || updated.status == 201, "{} {}", updated.status, updated.body);
    assert_eq!(updated.json()["meta"]["versionId"], "2", "{}", updated.body);
    assert_eq!(updated.etag.as_deref(), Some("W/\"2\""));
    let latest = call("GET", &format!("{base}/fhir/Patient/serve-p1"), None).json();
    assert_eq!(latest["meta"]["versionId"], "2");
    assert_eq!(latest["birthDate"], "1976-06-06");

    // History.
    let old = call("GET", &format!("{base}/fhir/Patient/serve-p1/_history/1"), None);
    assert_eq!(old.status, 200, "{}", old.body);
    let mut old = old.json();
    strip_meta(&mut old);
    assert_eq!(old, patient);

    // Errors.
    let bad = json!({"resourceType":"Patient","id":"serve-bad","birthDate":"1970-13-01"});
    let rejected = call("POST", &format!("{base}/fhir/Patient"), Some(&bad));
    assert_eq!(rejected.status, 400, "{}", rejected.body);
    let outcome = rejected.json();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["expression"][0], "Patient.birthDate", "{outcome}");
    let missing = call("GET", &format!("{base}/fhir/Patient/nope"), None);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.json()["resourceType"], "OperationOutcome");

    // A Synthea transaction Bundle.
    let bundle = files_under(&root.join("synthea"))
        .into_iter()
        .filter(|f| f.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains('_')))
        .min_by_key(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(u64::MAX))
        .expect("a Synthea patient file");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&bundle).expect("read")).expect("JSON");
    let with_resources =
        bundle["entry"].as_array().expect("entries").iter().filter(|e| e.get("resource").is_some()).count();
    let answer = call("POST", &format!("{base}/fhir"), Some(&bundle));
    assert_eq!(answer.status, 200, "{}", &answer.body[..answer.body.len().min(2000)]);
    let answer = answer.json();
    // Synthea writes transactions, and batches for its practitioners and organisations.
    assert_eq!(answer["type"], json!(format!("{}-response", bundle["type"].as_str().unwrap_or_default())));
    let entries = answer["entry"].as_array().cloned().expect("entries");
    assert_eq!(entries.len(), with_resources);
    let statuses: Vec<&Value> = entries.iter().map(|e| &e["response"]["status"]).collect();
    assert!(statuses.iter().all(|s| **s == "201 Created"), "every entry is new: {statuses:?}\n{answer:#}");

    // Ledger and metrics.
    let head = call("GET", &format!("{base}/ledger/head"), None);
    assert_eq!(head.status, 200, "{}", head.body);
    let tree_size = head.json()["tree_size"].as_u64().expect("tree_size");
    assert!(tree_size >= entries.len() as u64 + 2, "tree_size {tree_size}");
    let proof = call("GET", &format!("{base}/ledger/proof/0"), None);
    assert_eq!(proof.status, 200, "{}", proof.body);
    let proof = proof.json();
    assert!(proof["audit_path"].is_array() && proof["head"].is_object(), "{proof}");
    assert_eq!(proof["seq"], 0);
    let metrics = call("GET", &format!("{base}/metrics"), None);
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("bridge_resources_accepted"), "{}", metrics.body);

    // Graceful stop.
    let status = bridge.terminate(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "serve after SIGTERM: {status}\n{}", bridge.log_text());

    // Everything acknowledged is on disk.
    verify_ok(data.path(), "after serve");
    assert_eq!(read(data.path(), "Patient/serve-p1", None)["meta"]["versionId"], "2");
    assert_eq!(read(data.path(), "Patient/serve-p1", Some(1))["birthDate"], "1975-05-05");
    for entry in &entries {
        // `{base}/fhir/Type/id/_history/version`
        let location = entry["response"]["location"].as_str().expect("location");
        let parts: Vec<&str> = location.rsplit('/').take(4).collect();
        let (version, reference) = (parts[0].parse::<u32>().ok(), format!("{}/{}", parts[3], parts[2]));
        let resource = read(data.path(), &reference, version);
        assert_eq!(resource["id"], parts[2], "{location}");
    }
    support::bridge(data.path(), ["read", "Patient/serve-bad"]).expect_code(1, "the rejected patient is absent");
}
