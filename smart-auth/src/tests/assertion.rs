//! Client assertions that must be refused, one check each, and the request parameters around them.

use super::*;

fn es384_header() -> Value {
    json!({"alg": "ES384", "typ": "JWT"})
}

#[test]
fn forged_valid_assertions_pass_so_the_refusals_below_are_meaningful() {
    let (authenticator, _clock) = authenticator();
    let assertion = forge(&es384_header(), &claims(HOSPITAL, "ok-1"), &Signer::P384);
    authenticator.exchange(&request(&assertion, "system/*.rs")).unwrap();
    let assertion = forge(&json!({"alg": "ES256K"}), &claims(PEER, "ok-2"), &Signer::Secp256k1);
    authenticator.exchange(&request(&assertion, "system/*.rs")).unwrap();
    // `aud` as an array containing the token URL is accepted too.
    let mut array_aud = claims(HOSPITAL, "ok-3");
    array_aud["aud"] = json!(["https://other.example", TOKEN_URL]);
    authenticator.exchange(&request(&forge(&es384_header(), &array_aud, &Signer::P384), "system/*.rs")).unwrap();
}

#[test]
fn algorithms_other_than_es384_and_es256k_are_refused() {
    let (authenticator, _clock) = authenticator();
    let none = forge(&json!({"alg": "none"}), &claims(HOSPITAL, "a"), &Signer::Raw(Vec::new()));
    assert_eq!(refused(&authenticator, &none, "system/*.rs"), AuthError::UnsupportedAlgorithm);
    for alg in ["HS256", "RS256", "ES256", "es384", "EdDSA"] {
        let forged = forge(&json!({"alg": alg}), &claims(HOSPITAL, alg), &Signer::Raw(vec![1; 32]));
        assert_eq!(refused(&authenticator, &forged, "system/*.rs"), AuthError::UnsupportedAlgorithm, "{alg}");
    }
    assert_eq!(AuthError::UnsupportedAlgorithm.oauth_code().as_str(), "invalid_client");
}

#[test]
fn an_algorithm_that_is_not_the_clients_key_type_is_refused() {
    let (authenticator, _clock) = authenticator();
    let k1_for_p384_client = forge(&json!({"alg": "ES256K"}), &claims(HOSPITAL, "m1"), &Signer::Secp256k1);
    assert_eq!(refused(&authenticator, &k1_for_p384_client, "system/*.rs"), AuthError::AlgorithmMismatch);
    let p384_for_k1_client = forge(&es384_header(), &claims(PEER, "m2"), &Signer::P384);
    assert_eq!(refused(&authenticator, &p384_for_k1_client, "system/*.rs"), AuthError::AlgorithmMismatch);
}

#[test]
fn unknown_clients_are_refused() {
    let (authenticator, _clock) = authenticator();
    let assertion = client_assertion_es384("hospital-z", TOKEN_URL, &p384_key(), 300, T0).unwrap();
    assert_eq!(refused(&authenticator, &assertion, "system/*.rs"), AuthError::UnknownClient);
}

#[test]
fn bad_signatures_are_refused() {
    let (authenticator, _clock) = authenticator();
    for assertion in [es384_assertion(), es256k_assertion()] {
        let flipped = with_signature(&assertion, |signature| signature[10] ^= 0x01);
        assert_eq!(refused(&authenticator, &flipped, "system/*.rs"), AuthError::BadSignature);
        let truncated = with_signature(&assertion, |signature| {
            signature.pop();
        });
        assert_eq!(refused(&authenticator, &truncated, "system/*.rs"), AuthError::BadSignature);
    }
    // Claims changed after signing.
    let assertion = es384_assertion();
    let mut parts: Vec<String> = assertion.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap()).unwrap();
    claims["exp"] = json!(T0 + 60);
    parts[1] = BASE64URL_NOPAD.encode(claims.to_string().as_bytes());
    assert_eq!(refused(&authenticator, &parts.join("."), "system/*.rs"), AuthError::BadSignature);
}

/// secp256k1's group order n.
const SECP256K1_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc,
    0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

#[test]
fn high_s_es256k_signatures_are_refused() {
    let (authenticator, _clock) = authenticator();
    let high_s = with_signature(&es256k_assertion(), |signature| {
        // s' = n - s: the same signature in its other (high-S) form.
        let mut borrow = 0_i16;
        for index in (0..32).rev() {
            let difference = i16::from(SECP256K1_ORDER[index]) - i16::from(signature[32 + index]) - borrow;
            borrow = i16::from(difference < 0);
            signature[32 + index] = u8::try_from(difference.rem_euclid(256)).unwrap();
        }
    });
    assert_eq!(refused(&authenticator, &high_s, "system/*.rs"), AuthError::BadSignature);
}

#[test]
fn claim_checks_refuse_spoilt_claims() {
    let (authenticator, _clock) = authenticator();
    let spoil = |jti: &str, edit: &dyn Fn(&mut Value)| {
        let mut claims = claims(HOSPITAL, jti);
        edit(&mut claims);
        refused(&authenticator, &forge(&es384_header(), &claims, &Signer::P384), "system/*.rs")
    };
    assert_eq!(spoil("c1", &|c| c["aud"] = json!("https://evil.example/auth/token")), AuthError::WrongAudience);
    assert_eq!(spoil("c2", &|c| c["exp"] = json!(T0 - 1)), AuthError::AssertionExpired);
    assert_eq!(spoil("c3", &|c| c["exp"] = json!(T0)), AuthError::AssertionExpired);
    assert_eq!(spoil("c4", &|c| c["exp"] = json!(T0 + 300 + 61)), AuthError::AssertionLifetimeTooLong);
    assert_eq!(spoil("c5", &|c| c["sub"] = json!(PEER)), AuthError::ClientIdMismatch);
    assert_eq!(spoil("c6", &|c| c["nbf"] = json!(T0 + 61)), AuthError::AssertionNotYetValid);
    assert_eq!(spoil("c7", &|c| c["iat"] = json!(T0 + 120)), AuthError::AssertionNotYetValid);
    assert_eq!(spoil("c8", &|c| drop(c.as_object_mut().unwrap().remove("jti"))), AuthError::MissingJti);
    assert_eq!(spoil("", &|_| {}), AuthError::MissingJti);
    assert!(matches!(spoil("c9", &|c| c["exp"] = json!("soon")), AuthError::MalformedAssertion(_)));
    // Within the 60 s skew, nbf and iat a little ahead are fine.
    let mut skewed = claims(HOSPITAL, "c10");
    skewed["nbf"] = json!(T0 + 30);
    skewed["exp"] = json!(T0 + 300 + 60);
    authenticator.exchange(&request(&forge(&es384_header(), &skewed, &Signer::P384), "system/*.rs")).unwrap();
}

#[test]
fn replayed_assertions_are_refused_and_failed_ones_use_up_nothing() {
    let (authenticator, _clock) = authenticator();
    // A refused assertion (wrong audience) does not record its jti.
    let mut wrong_aud = claims(HOSPITAL, "once");
    wrong_aud["aud"] = json!("https://elsewhere.example");
    let refusal = refused(&authenticator, &forge(&es384_header(), &wrong_aud, &Signer::P384), "system/*.rs");
    assert_eq!(refusal, AuthError::WrongAudience);
    let assertion = forge(&es384_header(), &claims(HOSPITAL, "once"), &Signer::P384);
    authenticator.exchange(&request(&assertion, "system/*.rs")).unwrap();
    assert_eq!(refused(&authenticator, &assertion, "system/*.rs"), AuthError::AssertionReplayed);
    // The same jti from another client is that client's own.
    authenticator
        .exchange(&request(&forge(&json!({"alg": "ES256K"}), &claims(PEER, "once"), &Signer::Secp256k1), "system/*.rs"))
        .unwrap();
}

#[test]
fn replay_cache_is_bounded_and_never_forgets_a_live_jti() {
    let (authenticator, clock) = authenticator_with(&AuthConfig { replay_cache_entries: 1, ..config() });
    authenticator.exchange(&request(&es384_assertion(), "system/*.rs")).unwrap();
    assert_eq!(refused(&authenticator, &es384_assertion(), "system/*.rs"), AuthError::Busy);
    clock.advance(300);
    let assertion = client_assertion_es384(HOSPITAL, TOKEN_URL, &p384_key(), 60, T0 + 300).unwrap();
    authenticator.exchange(&request(&assertion, "system/*.rs")).unwrap();
}

#[test]
fn request_parameters_are_checked() {
    let (authenticator, _clock) = authenticator();
    let mut wrong_grant = request(&es384_assertion(), "system/*.rs");
    wrong_grant.grant_type = "authorization_code".into();
    assert_eq!(authenticator.exchange(&wrong_grant).unwrap_err(), AuthError::UnsupportedGrantType);
    assert_eq!(AuthError::UnsupportedGrantType.oauth_code().as_str(), "unsupported_grant_type");
    let mut wrong_type = request(&es384_assertion(), "system/*.rs");
    wrong_type.client_assertion_type = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
    assert_eq!(authenticator.exchange(&wrong_type).unwrap_err(), AuthError::UnsupportedAssertionType);
    assert_eq!(refused(&authenticator, "", "system/*.rs"), AuthError::MissingParameter("client_assertion"));
    assert_eq!(AuthError::MissingParameter("scope").oauth_code().as_str(), "invalid_request");
    assert!(matches!(refused(&authenticator, "a.b", "system/*.rs"), AuthError::MalformedAssertion(_)));
    assert!(matches!(refused(&authenticator, "a.b.c.d", "system/*.rs"), AuthError::MalformedAssertion(_)));
    let mut other_client_id = request(&es384_assertion(), "system/*.rs");
    other_client_id.client_id = Some(PEER.into());
    assert_eq!(authenticator.exchange(&other_client_id).unwrap_err(), AuthError::ClientIdMismatch);
}
