//! The fourth model end to end, on two (three) bridge processes with their own data dirs and
//! node keys: institution A is custodian, B holds the patient's grant, C is a peer without one.
//!
//! B's `GET /fhir/Observation?patient=p1` returns B's own records and A's, which B fetched
//! through A's `/peer/records` with a token it got by signing with its node key, and checked
//! (A's head signature, inclusion proofs, CIDs, unwrap, decryption, commitment) before answering.
//! A records every peer read and refusal as `Access`. Then the real attempts that must fail: C's
//! token, a dev token (no node), a replayed assertion, an expired token, a revoked grant, and a
//! custodian (a proxy in front of A) that alters ciphertext or a ledger record.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::server::{bridge_env, Bridge};
use crate::support::{bridge, temp_dir, verify_ok};
use crate::tamper_proxy::{Lie, TamperProxy};

/// A node's key, created by `fhir-bridge keys`: (public key hex, key id hex, secret bytes).
pub(crate) fn node_key(data: &Path) -> (String, String, [u8; 32]) {
    let run = bridge(data, ["keys"]).expect_code(0, "keys");
    let field = |name: &str| {
        let line = run.stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {}", run.stdout));
        line.split('"').nth(1).expect("quoted").to_owned()
    };
    (field("public_key"), field("key_id"), node_key_secret(data))
}

/// The node key's secret bytes, from its key file.
pub(crate) fn node_key_secret(data: &Path) -> [u8; 32] {
    let secret_hex = std::fs::read_to_string(data.join("node.key")).expect("node.key");
    let secret = data_encoding::HEXLOWER_PERMISSIVE.decode(secret_hex.trim().as_bytes()).expect("hex");
    secret.try_into().expect("32 bytes")
}

pub(crate) fn peers_env(peers: &[(&str, &str, Option<String>)]) -> (String, String) {
    let entries: Vec<String> = peers
        .iter()
        .map(|(org, key, url)| match url {
            Some(url) => format!(r#"{{ organization = "{org}", public_key = "{key}", url = "{url}" }}"#),
            None => format!(r#"{{ organization = "{org}", public_key = "{key}" }}"#),
        })
        .collect();
    ("FHIR_BRIDGE__PEERS".to_owned(), format!("[{}]", entries.join(", ")))
}

pub(crate) fn consent(status: &str) -> Value {
    crate::support::permit_consent(status, "Organization/hospital-b", Some("Observation"))
}

pub(crate) fn observation(id: &str, patient: &str, value: u32) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "pulse"},
           "subject": {"reference": format!("Patient/{patient}")}, "valueQuantity": {"value": value, "unit": "/min"}})
}

pub(crate) fn created(bridge: &Bridge, method: &str, path: &str, body: &Value) {
    let (status, text) = bridge.send(method, path, body);
    assert!(status == 200 || status == 201, "{method} {path}: {status} {text}");
}

fn search(bridge: &Bridge, query: &str) -> Value {
    let (status, body) = bridge.get(query).expect("search answers");
    assert_eq!(status, 200, "{query}: {body}");
    serde_json::from_str(&body).expect("Bundle JSON")
}

/// A search B refuses whole (nothing of its own, every custodian refused): 403 and an
/// OperationOutcome; its diagnostics.
fn refused_search(bridge: &Bridge, query: &str) -> String {
    let (status, body) = bridge.get(query).expect("search answers");
    assert_eq!(status, 403, "{query}: {body}");
    let outcome: Value = serde_json::from_str(&body).expect("OperationOutcome JSON");
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(outcome["issue"][0]["code"], "forbidden", "{body}");
    outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default().to_owned()
}

fn matches(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .map_or(Vec::new(), |e| e.iter().filter(|e| e["search"]["mode"] == "match").map(|e| &e["resource"]).collect())
}

/// The ids of the search's matches, in order.
fn match_ids(bundle: &Value) -> Vec<&str> {
    matches(bundle).iter().map(|r| r["id"].as_str().unwrap_or("")).collect()
}

fn outcome_issues(bundle: &Value) -> Vec<(String, String)> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "outcome")
        .flat_map(|e| e["resource"]["issue"].as_array().cloned().unwrap_or_default())
        .map(|i| (i["code"].as_str().unwrap_or("").to_owned(), i["diagnostics"].as_str().unwrap_or("").to_owned()))
        .collect()
}

fn get_with(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = ureq::get(url).timeout(Duration::from_secs(10));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// `POST /auth/token` with `assertion`: status and body.
fn token_request(base: &str, assertion: &str) -> (u16, String) {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "system/*.rs"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", assertion),
    ];
    match ureq::post(&format!("{base}/auth/token")).send_form(&form) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("token: {e}"),
    }
}

/// An assertion for the token endpoint whose public URL is `audience/auth/token`.
fn assertion(audience: &str, key_id: &str, secret: &[u8; 32]) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    smart_auth::client_assertion_es256k(key_id, &format!("{audience}/auth/token"), secret, 60, now).expect("sign")
}

/// A token from the endpoint at `base` whose public URL is `audience/auth/token`.
fn access_token(base: &str, audience: &str, key_id: &str, secret: &[u8; 32]) -> String {
    let (status, body) = token_request(base, &assertion(audience, key_id, secret));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).expect("JSON")["access_token"].as_str().expect("token").to_owned()
}

#[test]
fn a_grantee_reads_a_custodians_records_verified_and_audited_and_nothing_else() {
    let (a_dir, b_dir, c_dir) = (temp_dir(), temp_dir(), temp_dir());
    let (a_public, a_id, _) = node_key(a_dir.path());
    let (b_public, b_id, b_secret) = node_key(b_dir.path());
    let (c_public, c_id, c_secret) = node_key(c_dir.path());

    // B reaches A through a proxy that can be told to lie; A's public address is the proxy's.
    let proxy = TamperProxy::start();
    // A knows B and C as peers; its tokens live 3 s so that the expiry test is quick.
    let a_env = vec![
        peers_env(&[("Organization/hospital-b", &b_public, None), ("Organization/hospital-c", &c_public, None)]),
        ("FHIR_BRIDGE__AUTH__TOKEN_LIFETIME_S".to_owned(), "3".to_owned()),
        ("FHIR_BRIDGE__AUTH__TOKEN_URL".to_owned(), format!("{}/auth/token", proxy.url())),
    ];
    let mut a = Bridge::start(a_dir.path(), &a_env, &a_dir.path().join("serve.log"));
    a.wait_healthy(Duration::from_secs(20));
    proxy.set_upstream(a.base());
    let b_env = vec![peers_env(&[("Organization/hospital-a", &a_public, Some(proxy.url()))])];
    let mut b = Bridge::start(b_dir.path(), &b_env, &b_dir.path().join("serve.log"));
    b.wait_healthy(Duration::from_secs(20));

    created(&a, "POST", "/fhir/Patient", &json!({"resourceType": "Patient", "id": "p1"}));
    created(&a, "POST", "/fhir/Consent", &consent("active"));
    for (i, value) in [(1, 71), (2, 72), (3, 73)] {
        created(&a, "POST", "/fhir/Observation", &observation(&format!("a{i}"), "p1", value));
    }
    created(&a, "POST", "/fhir/Observation", &observation("a-other", "p2", 90));
    created(
        &a,
        "POST",
        "/fhir/Condition",
        &json!({"resourceType": "Condition", "id": "cond1",
        "subject": {"reference": "Patient/p1"}, "code": {"text": "x"}}),
    );
    created(&b, "POST", "/fhir/Observation", &observation("b1", "p1", 60));

    // B's search: its own record and A's three, A's verified and marked with their custodian.
    let bundle = search(&b, "/fhir/Observation?patient=p1");
    assert!(outcome_issues(&bundle).is_empty(), "{bundle:#}");
    let found = matches(&bundle);
    assert_eq!(bundle["total"], 4, "{bundle:#}");
    let ids: Vec<&str> = found.iter().map(|r| r["id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, ["b1", "a1", "a2", "a3"]);
    assert!(found[0]["meta"]["source"].is_null());
    for (resource, value) in found[1..].iter().zip([71, 72, 73]) {
        assert_eq!(resource["valueQuantity"]["value"], value);
        let source = resource["meta"]["source"].as_str().expect("meta.source");
        assert!(source.starts_with(&format!("{}/fhir/Observation/a", proxy.url())), "{source}");
        assert_eq!(resource["meta"]["tag"][0]["code"], a_id.as_str());
        assert_eq!(resource["meta"]["tag"][0]["display"], "Organization/hospital-a");
    }
    // Paging applies to the merged result.
    let page = search(&b, "/fhir/Observation?patient=p1&_count=2&_offset=1");
    let ids = match_ids(&page);
    assert_eq!(ids, ["a1", "a2"]);

    // Not granted: another type, another patient, a grant whose period has not begun. A refuses,
    // and B, with nothing of its own to show, answers 403 with an OperationOutcome.
    let why = refused_search(&b, "/fhir/Condition?patient=p1");
    assert!(why.contains("does not cover resource type Condition"), "{why}");
    let why = refused_search(&b, "/fhir/Observation?patient=p2");
    assert!(why.contains("no grant in force"), "{why}");
    created(&a, "POST", "/fhir/Patient", &json!({"resourceType": "Patient", "id": "p3"}));
    let mut later = consent("active");
    later["id"] = "c-later".into();
    later["patient"]["reference"] = "Patient/p3".into();
    later["provision"]["period"] = json!({"start": "2099-01-01"});
    created(&a, "POST", "/fhir/Consent", &later);
    created(&a, "POST", "/fhir/Observation", &observation("a-p3", "p3", 65));
    let why = refused_search(&b, "/fhir/Observation?patient=p3");
    assert!(why.contains("period does not include now"), "{why}");
    // With records of its own, B shows them and reports the refusal beside them.
    created(
        &b,
        "POST",
        "/fhir/Condition",
        &json!({"resourceType": "Condition", "id": "b-cond",
        "subject": {"reference": "Patient/p1"}, "code": {"text": "y"}}),
    );
    let condition = search(&b, "/fhir/Condition?patient=p1");
    let ids = match_ids(&condition);
    assert_eq!(ids, ["b-cond"]);
    assert_eq!(outcome_issues(&condition)[0].0, "forbidden", "{condition:#}");

    // B's audit trail records the refused searches as denials.
    let (_, b_audit) = b.get("/fhir/AuditEvent?patient=p2").expect("audit");
    let b_audit: Value = serde_json::from_str(&b_audit).expect("JSON");
    assert_eq!(b_audit["entry"][0]["resource"]["outcome"], "4", "{b_audit:#}");

    // A's audit trail of p1 shows B's permitted search and refused Condition search.
    let (_, audit) = a.get("/fhir/AuditEvent?patient=p1").expect("audit");
    let audit: Value = serde_json::from_str(&audit).expect("JSON");
    let by_b: Vec<&Value> = audit["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["agent"][0]["who"]["identifier"]["value"] == b_id.as_str())
        .collect();
    assert!(by_b.iter().any(|r| r["outcome"] == "0"), "{audit:#}");
    assert!(by_b.iter().any(|r| r["outcome"] == "4" && r["entity"][1]["name"] == "Condition"), "{audit:#}");
    // B's own audit trail has its client's searches.
    let (_, b_audit) = b.get("/fhir/AuditEvent?patient=p1").expect("audit");
    assert!(b_audit.contains("\"search\""), "{b_audit}");

    // Direct attempts at A's peer endpoint.
    let records = format!("{}/peer/records?patient=p1&type=Observation", a.base());
    assert_eq!(get_with(&records, None).0, 401, "no token");
    let (status, body) = get_with(&records, Some(crate::support::DEV_TOKEN));
    assert_eq!(status, 403, "a client that is no node: {body}");
    let (_, audit) = a.get("/fhir/AuditEvent?patient=p1").expect("audit");
    let audit: Value = serde_json::from_str(&audit).expect("JSON");
    let last = audit["entry"].as_array().and_then(|e| e.last()).expect("entries");
    assert_eq!(last["resource"]["outcome"], "4", "the refused non-node read is audited: {last:#}");
    let c_token = access_token(&a.base(), &proxy.url(), &c_id, &c_secret);
    let (status, body) = get_with(&records, Some(&c_token));
    assert_eq!(status, 403, "another institution's token: {body}");
    assert!(body.contains("OperationOutcome") && body.contains("no grant"), "{body}");
    // B's node token reads A's FHIR API no more than any peer: only through grants.
    let b_token = access_token(&a.base(), &proxy.url(), &b_id, &b_secret);
    assert_eq!(get_with(&format!("{}/fhir/Observation/a1", a.base()), Some(&b_token)).0, 403);
    let (status, body) = get_with(&records, Some(&b_token));
    assert_eq!(status, 200, "{body}");
    // A replayed assertion, an expired token.
    let used = assertion(&proxy.url(), &b_id, &b_secret);
    assert_eq!(token_request(&a.base(), &used).0, 200);
    let (status, body) = token_request(&a.base(), &used);
    assert_eq!(status, 401, "replayed assertion: {body}");
    std::thread::sleep(Duration::from_secs(4));
    let (status, body) = get_with(&records, Some(&b_token));
    assert_eq!(status, 401, "expired token: {body}");

    // A custodian that lies is caught, and nothing it served is shown.
    for (lie, what) in [
        (Lie::Ciphertext, "the ciphertext does not match the record's CID"),
        (Lie::Record, "record is not in the custodian's signed ledger"),
    ] {
        proxy.set(lie);
        let bundle = search(&b, "/fhir/Observation?patient=p1");
        let ids = match_ids(&bundle);
        assert_eq!(ids, ["b1"], "{lie:?}: {bundle:#}");
        let issues = outcome_issues(&bundle);
        assert_eq!(issues[0].0, "security", "{lie:?}: {issues:?}");
        assert!(issues[0].1.contains(what), "{lie:?}: {issues:?}");
    }
    proxy.set(Lie::None);
    assert_eq!(matches(&search(&b, "/fhir/Observation?patient=p1")).len(), 4);

    // The CLI form, on B's data dir (B stopped: the store has one user at a time).
    assert_eq!(b.terminate(Duration::from_secs(30)).code(), Some(0));
    let run = bridge_env(b_dir.path(), &b_env, &["search", "Observation", "--patient", "p1", "--ndjson"])
        .expect_code(0, "CLI search");
    let lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).expect("NDJSON")).collect();
    let ids: Vec<&str> = lines.iter().map(|r| r["id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, ["b1", "a1", "a2", "a3"], "{}", run.stderr);
    assert!(lines[1]["meta"]["source"].as_str().is_some_and(|s| s.starts_with(&proxy.url())));
    proxy.set(Lie::Ciphertext);
    let run = bridge_env(b_dir.path(), &b_env, &["search", "Observation", "--patient", "p1"])
        .expect_code(1, "CLI search of a lying custodian");
    assert!(run.stderr.contains("failed verification"), "{}", run.stderr);
    proxy.set(Lie::None);
    b.restart();
    b.wait_healthy(Duration::from_secs(20));

    // Revocation: A refuses B from now on, and records written afterwards are sealed under an
    // epoch B was never given.
    created(&a, "PUT", "/fhir/Consent/c1", &consent("inactive"));
    created(&a, "POST", "/fhir/Observation", &observation("a4", "p1", 74));
    let after = search(&b, "/fhir/Observation?patient=p1");
    let ids = match_ids(&after);
    assert_eq!(ids, ["b1"], "{after:#}");
    assert!(outcome_issues(&after)[0].1.contains("no grant in force"), "{after:#}");
    let b_token = access_token(&a.base(), &proxy.url(), &b_id, &b_secret);
    assert_eq!(get_with(&records, Some(&b_token)).0, 403);

    // A grantee key that does not match: B's institution runs a node with a new key, which A
    // does not know (A still lists B's old key). A refuses its authentication; it reads nothing.
    let b2_dir = temp_dir();
    let mut b2 = Bridge::start(b2_dir.path(), &b_env, &b2_dir.path().join("serve.log"));
    b2.wait_healthy(Duration::from_secs(20));
    let why = refused_search(&b2, "/fhir/Observation?patient=p1");
    assert!(why.contains("authentication refused by the custodian"), "{why}");
    assert!(!why.contains("p1"), "no patient id in the diagnostics: {why}");

    for node in [&mut a, &mut b, &mut b2] {
        assert_eq!(node.terminate(Duration::from_secs(30)).code(), Some(0));
    }
    verify_ok(a_dir.path(), "custodian");
    verify_ok(b_dir.path(), "grantee");
}
