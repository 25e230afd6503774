//! Authentication of the HTTP API end to end: a registered client exchanges an ES384 JWT
//! assertion for a bearer token at `/auth/token` (SMART Backend Services) and its scopes decide
//! what it may do; nothing but `/healthz` and `/fhir/metadata` is open without a token.

use std::time::Duration;

use p384::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::Value;

use crate::server::Bridge;
use crate::support::temp_dir;

/// `(status, body, www-authenticate)` of a request; `token` goes into `Authorization: Bearer`.
fn call(method: &str, url: &str, token: Option<&str>, body: Option<(&str, &str)>) -> (u16, String, Option<String>) {
    let mut request = ureq::request(method, url).timeout(Duration::from_secs(30));
    if let Some(token) = token {
        request = request.set("Authorization", &format!("Bearer {token}"));
    }
    let result = match body {
        Some((content_type, body)) => request.set("Content-Type", content_type).send_string(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let challenge = response.header("WWW-Authenticate").map(str::to_owned);
    (status, response.into_string().unwrap_or_default(), challenge)
}

fn token_request(assertion: &str, scope: &str) -> String {
    format!(
        "grant_type=client_credentials&scope={}&client_assertion_type={}&client_assertion={assertion}",
        scope.replace(' ', "%20").replace('/', "%2F"),
        "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    )
}

#[test]
fn clients_authenticate_with_a_signed_assertion_and_their_scopes_limit_them() {
    let data = temp_dir();
    let key = p384::ecdsa::SigningKey::from_slice(&[0x42; 48]).expect("a P-384 key");
    let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("PEM");
    let config = data.path().join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.clients]]\nclient_id = \"hospital-b\"\npublic_key = '''{pem}'''\nscopes = [\"system/Patient.cruds\", \"system/Observation.rs\"]\norganization = \"Organization/hospital-b\"\n"
        ),
    )
    .expect("config");
    // No development token: only the registered client gets in.
    let config_arg = config.display().to_string();
    let mut bridge = Bridge::start_with(data.path(), &["--config", &config_arg], &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(30));
    let base = bridge.base();

    // Open: health and the capability statement. Closed: everything else.
    assert_eq!(call("GET", &format!("{base}/fhir/metadata"), None, None).0, 200);
    for path in ["/fhir/Patient/p1", "/ledger/head", "/metrics"] {
        let (status, body, challenge) = call("GET", &format!("{base}{path}"), None, None);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer")), "{path}");
        assert!(body.contains("OperationOutcome"), "{path}: {body}");
    }
    assert_eq!(call("GET", &format!("{base}/fhir/Patient/p1"), Some("not-a-token"), None).0, 401);

    // The token exchange.
    let token_url = format!("{base}/auth/token");
    let now = smart_auth::unix_now_s();
    let assertion = smart_auth::client_assertion_es384("hospital-b", &token_url, &key, 120, now).expect("sign");
    let form =
        ("application/x-www-form-urlencoded", token_request(&assertion, "system/Patient.cruds system/Observation.rs"));
    let (status, body, _) = call("POST", &token_url, None, Some((form.0, &form.1)));
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).expect("JSON");
    let access = token["access_token"].as_str().expect("access_token").to_owned();
    assert_eq!(token["token_type"], "bearer");
    assert!(token["expires_in"].as_u64().is_some_and(|s| s > 0 && s <= 300), "{token}");

    // A replayed assertion is refused.
    let (status, body, _) = call("POST", &token_url, None, Some((form.0, &form.1)));
    assert!(status == 400 || status == 401, "{status} {body}");
    assert!(body.contains("invalid_client"), "{body}");
    // A scope the client was not granted is refused.
    let assertion = smart_auth::client_assertion_es384("hospital-b", &token_url, &key, 120, now).expect("sign");
    let (status, body, _) =
        call("POST", &token_url, None, Some((form.0, &token_request(&assertion, "system/Observation.cruds"))));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("invalid_scope"), "{body}");

    // The scopes decide.
    let patient = r#"{"resourceType":"Patient","id":"p1","birthDate":"1970-01-01"}"#;
    let (status, body, _) =
        call("POST", &format!("{base}/fhir/Patient"), Some(&access), Some(("application/fhir+json", patient)));
    assert_eq!(status, 201, "{body}");
    let (status, body, _) = call("GET", &format!("{base}/fhir/Patient/p1"), Some(&access), None);
    assert_eq!(status, 200, "{body}");
    let observation = r#"{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}"#;
    let (status, body, _) =
        call("POST", &format!("{base}/fhir/Observation"), Some(&access), Some(("application/fhir+json", observation)));
    assert_eq!(status, 403, "read-only scope for Observation: {body}");
    assert!(body.contains("forbidden"), "{body}");
    // The ledger and the metrics need their own scopes: a FHIR token opens neither.
    for path in ["/ledger/head", "/ledger/proof/0", "/metrics"] {
        let (status, body, _) = call("GET", &format!("{base}{path}"), Some(&access), None);
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("OperationOutcome"), "{path}: {body}");
    }
    let assertion = smart_auth::client_assertion_es384("hospital-b", &token_url, &key, 120, now).expect("sign");
    let (status, body, _) =
        call("POST", &token_url, None, Some((form.0, &token_request(&assertion, "bridge/ledger.read"))));
    assert_eq!(status, 400, "a client not registered for the ledger scope: {body}");
    assert!(body.contains("invalid_scope"), "{body}");
}

#[test]
fn ledger_and_metrics_scopes_open_only_their_endpoints() {
    let data = temp_dir();
    let key = p384::ecdsa::SigningKey::from_slice(&[0x43; 48]).expect("a P-384 key");
    let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).expect("PEM");
    let config = data.path().join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "[[auth.clients]]\nclient_id = \"auditor\"\npublic_key = '''{pem}'''\nscopes = [\"bridge/ledger.read\", \"bridge/metrics.read\"]\n"
        ),
    )
    .expect("config");
    let config_arg = config.display().to_string();
    let mut bridge = Bridge::start_with(data.path(), &["--config", &config_arg], &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(30));
    let base = bridge.base();
    let token_url = format!("{base}/auth/token");
    let now = smart_auth::unix_now_s();
    let assertion = smart_auth::client_assertion_es384("auditor", &token_url, &key, 120, now).expect("sign");
    let form = token_request(&assertion, "bridge/ledger.read");
    let (status, body, _) = call("POST", &token_url, None, Some(("application/x-www-form-urlencoded", &form)));
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(token["scope"], "bridge/ledger.read");
    let access = token["access_token"].as_str().expect("access_token").to_owned();
    // The ledger opens (404: it is empty, but not 403); metrics and FHIR do not.
    assert_eq!(call("GET", &format!("{base}/ledger/head"), Some(&access), None).0, 404);
    assert_eq!(call("GET", &format!("{base}/metrics"), Some(&access), None).0, 403);
    assert_eq!(call("GET", &format!("{base}/fhir/Patient/p1"), Some(&access), None).0, 403);
}
