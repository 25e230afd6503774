//! Hostile and careless input over real HTTP, as an attacker's pass tried it: each answer is an
//! OperationOutcome with the right status, and the service stays up throughout.

use std::time::Duration;

use serde_json::{json, Value};

use crate::server::Bridge;
use crate::support::{temp_dir, verify_ok, DEV_TOKEN};

const READ_OBSERVATIONS_ONLY: &str = "e2e-observation-reader-token-0123";

/// `method path` with a raw body, a content type and a token: status, body, headers asked for.
fn raw(
    bridge: &Bridge,
    method: &str,
    path: &str,
    token: &str,
    body: Option<(&str, &str)>,
) -> (u16, String, Option<String>) {
    let request = ureq::request(method, &format!("{}{path}", bridge.base()))
        .timeout(Duration::from_secs(30))
        .set("Authorization", &format!("Bearer {token}"));
    let result = match body {
        Some((content_type, body)) => request.set("Content-Type", content_type).send_string(body),
        None => request.call(),
    };
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            let retry = r.header("Retry-After").map(str::to_owned);
            (r.status(), r.into_string().unwrap_or_default(), retry)
        }
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

fn fhir(bridge: &Bridge, method: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let (status, text, _) = raw(bridge, method, path, token, Some(("application/fhir+json", &body.to_string())));
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}")))
}

/// Asserts an OperationOutcome with `status`; gives its first issue.
#[track_caller]
fn outcome(answer: (u16, Value), status: u16) -> Value {
    assert_eq!(answer.0, status, "{:#}", answer.1);
    assert_eq!(answer.1["resourceType"], "OperationOutcome", "{:#}", answer.1);
    answer.1["issue"][0].clone()
}

fn text_outcome(answer: (u16, String, Option<String>), status: u16) -> Value {
    let body: Value =
        serde_json::from_str(&answer.1).unwrap_or_else(|_| panic!("not JSON ({}): {}", answer.0, answer.1));
    outcome((answer.0, body), status)
}

fn nested_bundles(depth: usize) -> Value {
    let mut inner = json!({"resourceType": "Bundle", "type": "collection"});
    for _ in 0..depth {
        inner = json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": inner}]});
    }
    inner
}

fn nested_parameters(depth: usize) -> Value {
    let mut inner = json!({"resourceType": "Parameters"});
    for _ in 0..depth {
        inner = json!({"resourceType": "Parameters", "parameter": [{"name": "p", "resource": inner}]});
    }
    inner
}

#[test]
fn hostile_requests_get_operation_outcomes_and_the_service_stays_up() {
    let data = temp_dir();
    let tokens = format!(
        r#"[{{ token = "{DEV_TOKEN}", client_id = "e2e", scopes = ["system/*.cruds", "bridge/ledger.read"] }}, {{ token = "{READ_OBSERVATIONS_ONLY}", client_id = "reader", scopes = ["system/Observation.rs"] }}]"#
    );
    let env = [
        ("FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS".to_owned(), tokens),
        ("FHIR_BRIDGE__HTTP__MAX_BODY_BYTES".to_owned(), "65536".to_owned()),
    ];
    let mut bridge = Bridge::start_with(data.path(), &[], &env, &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));

    // 1. Nesting: a read-only token is refused before its body is decoded; a writer's deep
    //    nesting is refused with the path, not a crash.
    for body in [nested_bundles(24), nested_parameters(30)] {
        let issue = outcome(fhir(&bridge, "POST", "/fhir", READ_OBSERVATIONS_ONLY, &body), 403);
        assert_eq!(issue["code"], "forbidden");
        bridge.assert_running();
    }
    let issue = outcome(fhir(&bridge, "POST", "/fhir/Parameters", DEV_TOKEN, &nested_parameters(30)), 400);
    assert!(issue["diagnostics"].as_str().unwrap_or_default().contains("nest"), "{issue:#}");
    let issue = outcome(fhir(&bridge, "POST", "/fhir", DEV_TOKEN, &nested_bundles(24)), 400);
    assert_eq!(issue["code"], "structure", "{issue:#}");
    assert!(issue["expression"][0].as_str().is_some_and(|path| path.ends_with("entry")), "{issue:#}");
    // Within the JSON depth limit but past the resource nesting limit: refused at the resource.
    let issue = outcome(fhir(&bridge, "POST", "/fhir", DEV_TOKEN, &nested_bundles(10)), 400);
    let path = issue["expression"][0].as_str().unwrap_or_default();
    assert!(path.starts_with("Bundle.entry[0].resource.entry[0]"), "{issue:#}");
    bridge.assert_running();

    // 4. Ids from fullUrl are validated like any other.
    for full_url in ["urn:uuid:a/b", "urn:uuid:../../etc/passwd", "urn:uuid:", &format!("urn:uuid:{}", "a".repeat(200))]
    {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": full_url, "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}]});
        let issue = outcome(fhir(&bridge, "POST", "/fhir", DEV_TOKEN, &bundle), 400);
        assert_eq!(issue["expression"][0], "Bundle.entry[0].fullUrl", "{full_url}: {issue:#}");
    }

    // 7. FHIR's rules on writes.
    let patient = json!({"resourceType": "Patient", "id": "p1"});
    assert_eq!(fhir(&bridge, "PUT", "/fhir/Patient/p1", DEV_TOKEN, &patient).0, 201);
    outcome(fhir(&bridge, "PUT", "/fhir/Patient/p2", DEV_TOKEN, &patient), 400);
    outcome(fhir(&bridge, "PUT", "/fhir/Observation/p1", DEV_TOKEN, &patient), 400);
    let transaction = json!({"resourceType": "Bundle", "id": "t1", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient", "id": "p3"},
         "request": {"method": "PUT", "url": "Patient/p3"}}]});
    let issue = outcome(fhir(&bridge, "PUT", "/fhir/Bundle/t1", DEV_TOKEN, &transaction), 422);
    assert_eq!(issue["code"], "not-supported");
    assert_eq!(bridge.get("/fhir/Patient/p3").map(|(s, _)| s), Some(404), "the transaction did not run");
    let twice = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient", "id": "p4", "active": true}, "request": {"method": "PUT", "url": "Patient/p4"}},
        {"fullUrl": "urn:uuid:1c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "resource": {"resourceType": "Patient", "id": "p4", "active": false}, "request": {"method": "PUT", "url": "Patient/p4"}}]});
    outcome(fhir(&bridge, "POST", "/fhir", DEV_TOKEN, &twice), 400);
    let mismatch = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p5"}, "request": {"method": "PUT", "url": "Patient/p6"}}]});
    let issue = outcome(fhir(&bridge, "POST", "/fhir", DEV_TOKEN, &mismatch), 400);
    assert_eq!(issue["expression"][0], "Bundle.entry[0].resource.id");

    // 6. Repeated and comma-separated search parameters are not silently narrowed.
    for query in ["patient=p1&patient=p2", "patient=p1,p2", "patient=p1&_count=1&_count=2"] {
        let issue = text_outcome(raw(&bridge, "GET", &format!("/fhir/Observation?{query}"), DEV_TOKEN, None), 400);
        assert!(
            issue["diagnostics"].as_str().unwrap_or_default().contains("patient") || query.contains("_count"),
            "{query}: {issue:#}"
        );
    }

    // 11. Every error is an OperationOutcome: oversized bodies, unknown routes and methods, bad
    //     path and query values.
    let big = json!({"resourceType": "Patient", "id": "big", "name": [{"text": "x".repeat(70_000)}]}).to_string();
    let issue =
        text_outcome(raw(&bridge, "POST", "/fhir/Patient", DEV_TOKEN, Some(("application/fhir+json", &big))), 413);
    assert_eq!(issue["code"], "too-long");
    text_outcome(raw(&bridge, "GET", "/nowhere", DEV_TOKEN, None), 404);
    // FHIRPath Patch (a Parameters body) is refused by name; JSON Patch is what PATCH takes.
    let issue =
        text_outcome(raw(&bridge, "PATCH", "/fhir/Patient/p1", DEV_TOKEN, Some(("application/fhir+json", "{}"))), 400);
    assert_eq!(issue["code"], "not-supported");
    text_outcome(
        raw(&bridge, "PATCH", "/fhir/Patient/p1", DEV_TOKEN, Some(("application/json-patch+json", "{}"))),
        400,
    );
    text_outcome(raw(&bridge, "GET", "/fhir/Patient/p1/_history/-1", DEV_TOKEN, None), 400);
    text_outcome(raw(&bridge, "GET", "/ledger/proof/x", DEV_TOKEN, None), 400);
    text_outcome(raw(&bridge, "GET", "/ledger/consistency?first=a", DEV_TOKEN, None), 400);
    text_outcome(raw(&bridge, "GET", "/fhir/AuditEvent?patient=p1&date=2026", DEV_TOKEN, None), 400);
    text_outcome(raw(&bridge, "GET", "/fhir/Provenance", DEV_TOKEN, None), 400);
    text_outcome(raw(&bridge, "GET", "/peer/records?patient=p1", DEV_TOKEN, None), 400);

    // 12. A body that is not FHIR JSON.
    let issue = text_outcome(
        raw(&bridge, "POST", "/fhir/Patient", DEV_TOKEN, Some(("text/plain", r#"{"resourceType":"Patient"}"#))),
        415,
    );
    assert_eq!(issue["code"], "not-supported");

    bridge.assert_running();
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
    verify_ok(data.path(), "after hostile requests");
}

#[test]
fn a_client_over_its_rate_limit_gets_429_and_denials_do_not_grow_the_ledger_unbounded() {
    let data = temp_dir();
    let tokens = format!(
        r#"[{{ token = "{READ_OBSERVATIONS_ONLY}", client_id = "reader", scopes = ["system/Observation.rs"] }}, {{ token = "{DEV_TOKEN}", client_id = "e2e", scopes = ["bridge/ledger.read"] }}]"#
    );
    let env = [
        ("FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS".to_owned(), tokens),
        ("FHIR_BRIDGE__HTTP__RATE_LIMIT_PER_S".to_owned(), "1".to_owned()),
        ("FHIR_BRIDGE__HTTP__RATE_LIMIT_BURST".to_owned(), "20".to_owned()),
    ];
    let mut bridge = Bridge::start_with(data.path(), &[], &env, &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let mut throttled = 0;
    for i in 0..60 {
        let (status, body, retry) = raw(&bridge, "GET", &format!("/fhir/Patient/p{i}"), READ_OBSERVATIONS_ONLY, None);
        match status {
            403 => {}
            429 => {
                throttled += 1;
                assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)), "Retry-After");
                let outcome: Value = serde_json::from_str(&body).expect("JSON");
                assert_eq!(outcome["issue"][0]["code"], "throttled");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(throttled >= 30, "most of 60 quick requests over a burst of 20 at 1/s are refused: {throttled}");
    let (_, head, _) = raw(&bridge, "GET", "/ledger/head", DEV_TOKEN, None);
    let records = serde_json::from_str::<Value>(&head).expect("head")["tree_size"].as_u64().expect("size");
    assert!(
        records <= 60 - throttled,
        "a throttled request commits nothing: {records} records for {throttled} refused"
    );
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}
