//! Batch and transaction Bundles over real HTTP, answered as FHIR servers answer them: a
//! `transaction-response` or `batch-response` with one entry per request, in order. A batch runs
//! each entry on its own (the official `Bundle-bundle-transaction.json` example, sent as a
//! batch: conditional create, update and delete, `ifMatch`, reads and a name search, and an
//! operation this server does not run, each with its own answer); a transaction is all or
//! nothing, and one that holds a read is refused before anything is written.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fhir_rest::{call, FHIR};
use crate::require_data;
use crate::server::Bridge;
use crate::support::temp_dir;

fn statuses(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap_or_else(|| panic!("no entries: {bundle:#}"))
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or_default().split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn batch_and_transaction_bundles_answer_entry_by_entry() {
    let root = require_data!();
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let post = |bundle: &Value| call("POST", &base, &[FHIR], Some(&bundle.to_string()));

    // A transaction: every entry answered in order, with location, etag and lastModified.
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient", "name": [{"family": "Batchley"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": {"resourceType": "Patient", "id": "t-put"}, "request": {"method": "PUT", "url": "Patient/t-put"}}]});
    let answer = post(&transaction);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let answer = answer.json();
    assert_eq!(answer["type"], "transaction-response");
    assert_eq!(statuses(&answer), ["201", "201", "201"]);
    let third = &answer["entry"][2]["response"];
    assert_eq!(third["location"], json!(format!("{base}/Patient/t-put/_history/1")), "{answer:#}");
    assert_eq!(third["etag"], "W/\"1\"");
    assert!(third["lastModified"].as_str().is_some_and(|t| t.ends_with('Z')), "{answer:#}");
    let location = answer["entry"][0]["response"]["location"].as_str().unwrap().to_owned();
    assert_eq!(call("GET", &location, &[], None).status, 200, "{location}");

    // A transaction with a read is refused whole, and nothing of it is written.
    let with_read = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "never"}, "request": {"method": "PUT", "url": "Patient/never"}},
        {"request": {"method": "GET", "url": "Patient/t-put"}}]});
    let refused = post(&with_read);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.json()["issue"][0]["expression"][0], "Bundle.entry[1].request");
    assert_eq!(call("GET", &format!("{base}/Patient/never"), &[], None).status, 404);

    // A transaction with conditions: run all or nothing. A conditional create that finds its
    // patient answers it, and the transaction's references to its fullUrl point at it.
    let conditional = |family: &str| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:3c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
             "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:t", "value": "1"}], "name": [{"family": family}]},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:t|1"}},
            {"fullUrl": "urn:uuid:4c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",
             "resource": {"resourceType": "Observation", "status": "final", "code": {"text": family},
                          "subject": {"reference": "urn:uuid:3c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},
             "request": {"method": "POST", "url": "Observation"}}]})
    };
    let first = post(&conditional("Condley")).json();
    assert_eq!(statuses(&first), ["201", "201"], "{first:#}");
    let again = post(&conditional("Other")).json();
    assert_eq!(statuses(&again), ["200", "200"], "{again:#}");
    assert_eq!(again["entry"][0]["response"]["location"], first["entry"][0]["response"]["location"]);
    let observation = call("GET", first["entry"][1]["response"]["location"].as_str().unwrap(), &[], None).json();
    let patient_url = first["entry"][0]["response"]["location"].as_str().unwrap();
    assert!(
        patient_url.contains(&format!("/{}/", observation["subject"]["reference"].as_str().unwrap())),
        "{observation:#}"
    );
    // A conditional update whose ifMatch is stale: 412, and the other entry is not written.
    let stale = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "tx-new"}, "request": {"method": "PUT", "url": "Patient/tx-new"}},
        {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:t", "value": "1"}], "active": true},
         "request": {"method": "PUT", "url": "Patient?identifier=urn:t|1", "ifMatch": "W/\"7\""}}]});
    let refused = post(&stale);
    assert_eq!(refused.status, 412, "{}", refused.body);
    assert_eq!(call("GET", &format!("{base}/Patient/tx-new"), &[], None).status, 404, "nothing was written");
    // A conditional update and delete that match: the update by its identifier, the delete of
    // the patient created above; a conditional delete that matches nothing does nothing.
    let matched = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:t", "value": "1"}], "active": true},
         "request": {"method": "PUT", "url": "Patient?identifier=urn:t|1"}},
        {"request": {"method": "DELETE", "url": "Patient?identifier=urn:t|nobody"}},
        {"request": {"method": "DELETE", "url": "Patient?_id=t-put"}}]});
    let matched = post(&matched);
    assert_eq!(matched.status, 200, "{}", matched.body);
    assert_eq!(statuses(&matched.json()), ["200", "204", "200"], "{}", matched.body);
    assert_eq!(call("GET", patient_url.split("/_history").next().unwrap(), &[], None).json()["active"], true);
    assert_eq!(call("GET", &format!("{base}/Patient/t-put"), &[], None).status, 410);

    // The official transaction example, sent as a batch: each entry runs on its own.
    let example = root.join("examples/Bundle-bundle-transaction.json");
    let mut example: Value = serde_json::from_slice(&std::fs::read(&example).expect("the example")).expect("JSON");
    example["type"] = json!("batch");
    let first = post(&example);
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(first["type"], "batch-response");
    // POST, conditional POST (no match: created), PUT, conditional PUT (no match: created),
    // PUT with ifMatch of a resource that is not there (412), DELETE, conditional DELETE,
    // an operation (not run), a name search, and a read of what does not exist.
    assert_eq!(statuses(&first), ["201", "201", "201", "201", "412", "200", "200", "400", "200", "404"], "{first:#}");
    assert_eq!(first["entry"][7]["response"]["outcome"]["issue"][0]["code"], "not-supported", "{first:#}");
    let search = &first["entry"][8]["resource"];
    assert_eq!(search["type"], "searchset", "{first:#}");
    assert!(search["total"].as_u64().is_some_and(|n| n >= 1), "Peter was created by the first entry: {first:#}");
    let created = first["entry"][2]["response"]["location"].as_str().unwrap();
    assert!(created.starts_with(&format!("{base}/Patient/123/_history/")), "{first:#}");

    // Again: the conditional create now finds its patient (200, nothing new), the conditional
    // update updates the one it created, the update of Patient/123 is a duplicate.
    let again = post(&example).json();
    // (A POST whose fullUrl is a urn:uuid keeps it as its id: a re-sent entry is a duplicate.)
    assert_eq!(statuses(&again), ["200", "200", "200", "200", "412", "200", "200", "400", "200", "404"], "{again:#}");
    assert_eq!(
        again["entry"][1]["response"]["location"], first["entry"][1]["response"]["location"],
        "the conditional create answered the patient it created before"
    );

    // A bad entry is that entry's answer: the others are written.
    let mixed = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "id": "good"}, "request": {"method": "PUT", "url": "Patient/good"}},
        {"resource": {"resourceType": "Patient", "birthDate": "1980-13-40"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "DELETE"}}]});
    let mixed = post(&mixed).json();
    assert_eq!(statuses(&mixed), ["201", "400", "400"], "{mixed:#}");
    let path = mixed["entry"][1]["response"]["outcome"]["issue"][0]["expression"][0].as_str().unwrap_or_default();
    assert!(path.starts_with("Bundle.entry[1].resource.birthDate"), "{mixed:#}");
    assert_eq!(call("GET", &format!("{base}/Patient/good"), &[], None).status, 200);

    // A malformed ifMatch is refused, not ignored; a PUT without a resource is that entry's 400.
    let malformed = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "id": "good", "active": true}, "request": {"method": "PUT", "url": "Patient/good", "ifMatch": 1}},
        {"request": {"method": "PUT", "url": "Patient/good"}}]});
    assert_eq!(statuses(&post(&malformed).json()), ["400", "400"]);
    assert!(call("GET", &format!("{base}/Patient/good"), &[], None).json().get("active").is_none(), "not overwritten");
    // A batch is bounded; one whose entries name each other runs as one unit, so a read in it is
    // refused whole.
    let entries: Vec<Value> = (0..1001).map(|_| json!({"request": {"method": "GET", "url": "Patient/good"}})).collect();
    let huge = post(&json!({"resourceType": "Bundle", "type": "batch", "entry": entries}));
    assert_eq!((huge.status, huge.json()["issue"][0]["code"].clone()), (400, json!("too-costly")), "{}", huge.body);
    let linked = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"fullUrl": "urn:uuid:2c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/good"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                      "subject": {"reference": "urn:uuid:2c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}},
         "request": {"method": "POST", "url": "Observation"}}]});
    assert_eq!(post(&linked).status, 422);
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}
