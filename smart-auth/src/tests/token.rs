//! Round trips (assertion → token → authenticate → scope checks), token expiry, capacity,
//! the Authorization header, and development static tokens.

use super::*;

#[test]
fn es384_round_trip() {
    let (authenticator, _clock) = authenticator();
    let response =
        authenticator.exchange(&request(&es384_assertion(), "system/Observation.rs system/Patient.r")).unwrap();
    assert_eq!((response.token_type, response.expires_in), ("bearer", 300));
    assert_eq!(response.scope, "system/Observation.rs system/Patient.r");
    assert_eq!(BASE64URL_NOPAD.decode(response.access_token.as_bytes()).unwrap().len(), 32);
    let header = format!("Bearer {}", response.access_token);
    let principal = authenticator.authenticate(Some(&header)).unwrap();
    assert_eq!(principal.client_id, HOSPITAL);
    assert_eq!(principal.organization.as_deref(), Some("Organization/hospital-b"));
    assert_eq!(principal.node_key_id, None);
    assert!(!principal.via_dev_token);
    assert!(principal.can_read("Observation") && principal.can_search("Observation"));
    assert!(principal.can_read("Patient") && !principal.can_search("Patient"));
    assert!(!principal.can_read("Condition") && !principal.can_write("Observation"));
    assert_eq!(principal.require_read("Condition"), Err(AuthError::InsufficientScope));
    // The scheme is case-insensitive (RFC 7235).
    assert!(authenticator.authenticate(Some(&format!("bearer {}", response.access_token))).is_ok());
}

#[test]
fn es256k_round_trip_for_a_peer_bridge() {
    let (authenticator, _clock) = authenticator();
    let mut token_request = request(&es256k_assertion(), "system/*.cruds");
    token_request.client_id = Some(PEER.into());
    let response = authenticator.exchange(&token_request).unwrap();
    assert_eq!(response.scope, "system/*.cruds");
    let principal = authenticator.authenticate(Some(&format!("Bearer {}", response.access_token))).unwrap();
    assert_eq!(principal.client_id, PEER);
    assert_eq!(principal.node_key_id, Some(super::super::keys::node_key_id(&peer_public_key())));
    // A peer bridge reads through grants only, whatever its scopes say.
    assert!(
        !principal.can_write("Observation") && !principal.can_read("AuditEvent") && !principal.can_delete("Patient")
    );
}

#[test]
fn v1_scopes_are_accepted_and_granted_in_v2_form() {
    let (authenticator, _clock) = authenticator();
    let response = authenticator.exchange(&request(&es384_assertion(), "system/*.read")).unwrap();
    assert_eq!(response.scope, "system/*.rs");
    let principal = authenticator.authenticate(Some(&format!("Bearer {}", response.access_token))).unwrap();
    assert!(principal.can_search("Encounter") && !principal.can_write("Encounter"));
}

#[test]
fn scopes_beyond_the_clients_are_refused() {
    let (authenticator, _clock) = authenticator();
    let cases = [
        ("system/Observation.c", AuthError::ScopeNotAllowed),
        ("system/Observation.rs system/*.write", AuthError::ScopeNotAllowed),
        ("patient/*.rs", AuthError::MalformedScope),
        ("system/*.sr", AuthError::MalformedScope),
        ("system/Observation.rs?category=laboratory", AuthError::MalformedScope),
    ];
    for (scope, expected) in cases {
        let assertion = es384_assertion();
        assert_eq!(refused(&authenticator, &assertion, scope), expected, "{scope}");
        assert_eq!(expected.oauth_code().as_str(), "invalid_scope");
    }
    assert_eq!(refused(&authenticator, &es384_assertion(), " "), AuthError::MissingParameter("scope"));
}

#[test]
fn tokens_expire() {
    let (authenticator, clock) = authenticator();
    let response = authenticator.exchange(&request(&es384_assertion(), "system/*.rs")).unwrap();
    let header = format!("Bearer {}", response.access_token);
    clock.advance(299);
    assert!(authenticator.authenticate(Some(&header)).is_ok());
    clock.advance(1);
    assert_eq!(authenticator.authenticate(Some(&header)), Err(AuthError::TokenExpired));
}

#[test]
fn token_store_is_bounded_and_frees_expired_tokens() {
    let (authenticator, clock) = authenticator_with(&AuthConfig { max_active_tokens: 1, ..config() });
    authenticator.exchange(&request(&es384_assertion(), "system/*.rs")).unwrap();
    assert_eq!(refused(&authenticator, &es384_assertion(), "system/*.rs"), AuthError::Busy);
    assert!(AuthError::Busy.is_retryable());
    clock.advance(300);
    let assertion = client_assertion_es384(HOSPITAL, TOKEN_URL, &p384_key(), 60, T0 + 300).unwrap();
    authenticator.exchange(&request(&assertion, "system/*.rs")).unwrap();
    assert_eq!(authenticator.active_tokens(), 1);
}

#[test]
fn garbage_authorization_headers_are_refused() {
    let (authenticator, _clock) = authenticator();
    assert_eq!(authenticator.authenticate(None), Err(AuthError::MissingToken));
    for header in ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a b", "Token abc", "Bearer \u{e9}t\u{e9}"] {
        assert_eq!(authenticator.authenticate(Some(header)), Err(AuthError::MalformedAuthorization), "{header:?}");
    }
    let unknown = format!("Bearer {}", BASE64URL_NOPAD.encode(&[7; 32]));
    assert_eq!(authenticator.authenticate(Some(&unknown)), Err(AuthError::UnknownToken));
    assert_eq!(
        authenticator.authenticate(Some(&format!("Bearer {}", "x".repeat(2000)))),
        Err(AuthError::MalformedAuthorization)
    );
}

const DEV_TOKEN: &str = "dev-token-0123456789";

#[test]
fn dev_static_tokens_work_only_when_configured() {
    let header = format!("Bearer {DEV_TOKEN}");
    let (authenticator, _clock) = authenticator();
    assert!(!authenticator.dev_mode());
    assert_eq!(authenticator.authenticate(Some(&header)), Err(AuthError::UnknownToken));

    let dev = DevStaticTokenConfig {
        token: DEV_TOKEN.into(),
        client_id: HOSPITAL.into(),
        scopes: vec!["system/Observation.cruds".into()],
    };
    let (authenticator, clock) = authenticator_with(&AuthConfig { dev_static_tokens: vec![dev], ..config() });
    assert!(authenticator.dev_mode());
    clock.advance(1_000_000);
    let principal = authenticator.authenticate(Some(&header)).unwrap();
    assert!(principal.via_dev_token);
    assert_eq!(principal.organization.as_deref(), Some("Organization/hospital-b"));
    assert!(principal.can_write("Observation") && !principal.can_read("Patient"));
    assert_eq!(authenticator.authenticate(Some("Bearer dev-token-wrong-123456")), Err(AuthError::UnknownToken));
}
