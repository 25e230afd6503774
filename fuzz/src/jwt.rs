//! Authentication input: the token request form (`TokenRequest::from_form`), client assertions
//! (`DecodedAssertion::decode`, `check_claims`), the token exchange (`Authenticator::exchange`)
//! and the `Authorization` header (`Authenticator::authenticate`), with a fixed clock.
//!
//! Input: one mode byte, then the mode's bytes.
//! - `0`: a form body, parsed, then exchanged. Invariant: no token is issued, since nothing the
//!   fuzzer writes is signed by a registered key.
//! - `1`: an assertion, decoded; claims checked at several times. Invariants: the signing input
//!   is the text before the last `.`; claims that pass have `exp` after now and not past the
//!   policy's lifetime and skew, and a `jti` of 1 to 256 bytes.
//! - `2`: `header JSON \n claims JSON \n scope`: the harness signs it (ES256K, with the key of
//!   registered client `peer-node`) and exchanges it with a fresh authenticator. Invariants: a
//!   token is issued only if the claims pass `check_claims`; the token then authenticates as
//!   `peer-node` with exactly the scopes granted; the same assertion again is refused (replay).
//! - `3`: an `Authorization` header value. Invariant: only `Bearer` with the configured
//!   development token authenticates, as its client.
//!
//! In every mode, nothing panics, and every scope that parses prints as a scope that parses to
//! the same scope.

use std::sync::{Arc, OnceLock};

use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
use smart_auth::{
    AuthConfig, Authenticator, ClaimPolicy, ClientConfig, Clock, DecodedAssertion, DevStaticTokenConfig, Scope,
    TokenRequest, ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_CLIENT_CREDENTIALS,
};
use secp256k1::{Message, Secp256k1, SecretKey};
use sha2::{Digest, Sha256};

const NOW: u64 = 1_700_000_000;
const TOKEN_URL: &str = "https://bridge.example/auth/token";
const PEER: &str = "peer-node";
const PEER_SECRET: [u8; 32] = [0x22; 32];
const DEV_TOKEN: &str = "fuzz-dev-token-0123456789";
const DEV_CLIENT: &str = "dev-client";

struct FixedClock;

impl Clock for FixedClock {
    fn now_s(&self) -> u64 {
        NOW
    }
}

fn config() -> AuthConfig {
    let secret = SecretKey::from_byte_array(PEER_SECRET).expect("a valid secret key");
    let public = secp256k1::PublicKey::from_secret_key(&Secp256k1::signing_only(), &secret);
    AuthConfig {
        token_url: Some(TOKEN_URL.into()),
        clients: vec![ClientConfig {
            client_id: PEER.into(),
            public_key: HEXLOWER.encode(&public.serialize()),
            scopes: vec!["system/*.rs".into(), "system/Observation.cruds".into()],
            organization: Some("Organization/peer".into()),
            node_key_id: None,
        }],
        dev_static_tokens: vec![DevStaticTokenConfig {
            token: DEV_TOKEN.into(),
            client_id: DEV_CLIENT.into(),
            scopes: vec!["system/Patient.r".into()],
        }],
        ..AuthConfig::default()
    }
}

fn fresh_authenticator() -> Authenticator {
    Authenticator::from_config(&config(), "http://unused/auth/token")
        .expect("the fuzz auth config is valid")
        .with_clock(Arc::new(FixedClock))
}

/// Shared by the modes that cannot change its state (nothing they send is validly signed).
fn authenticator() -> &'static Authenticator {
    static AUTHENTICATOR: OnceLock<Authenticator> = OnceLock::new();
    AUTHENTICATOR.get_or_init(fresh_authenticator)
}

fn policy() -> ClaimPolicy<'static> {
    ClaimPolicy { token_url: TOKEN_URL, max_lifetime_s: 300, clock_skew_s: 60 }
}

fn check_scopes(text: &str) {
    for word in text.split_ascii_whitespace() {
        if let Ok(scope) = Scope::parse(word) {
            let printed = scope.to_string();
            assert_eq!(Scope::parse(&printed), Ok(scope), "scope {printed:?} does not parse back");
        }
    }
}

fn form(data: &[u8]) {
    let Ok(request) = TokenRequest::from_form(data) else { return };
    check_scopes(&request.scope);
    assert!(authenticator().exchange(&request).is_err(), "a token was issued for an unsigned assertion");
}

fn assertion(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(decoded) = DecodedAssertion::decode(text) else { return };
    let dot = text.rfind('.').expect("a decoded assertion has dots");
    assert_eq!(decoded.signing_input(), &text.as_bytes()[..dot]);
    let policy = policy();
    for now in [0, NOW, u64::MAX / 2, u64::MAX] {
        if let Ok((jti, exp)) = decoded.check_claims(&policy, now) {
            assert!(exp > now, "an expired assertion passed");
            assert!(exp <= now.saturating_add(policy.max_lifetime_s + policy.clock_skew_s), "exp too far ahead passed");
            assert!((1..=256).contains(&jti.len()), "a jti of {} bytes passed", jti.len());
        }
    }
}

fn sign_es256k(header: &str, claims: &str) -> String {
    let mut text = BASE64URL_NOPAD.encode(header.as_bytes());
    text.push('.');
    text.push_str(&BASE64URL_NOPAD.encode(claims.as_bytes()));
    static CONTEXT: OnceLock<Secp256k1<secp256k1::SignOnly>> = OnceLock::new();
    let context = CONTEXT.get_or_init(Secp256k1::signing_only);
    let secret = SecretKey::from_byte_array(PEER_SECRET).expect("a valid secret key");
    let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let signature = context.sign_ecdsa(Message::from_digest(digest), &secret).serialize_compact();
    text.push('.');
    text.push_str(&BASE64URL_NOPAD.encode(&signature));
    text
}

/// Whether a token was issued.
fn signed_exchange(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    let mut parts = text.splitn(3, '\n');
    let (Some(header), Some(claims)) = (parts.next(), parts.next()) else { return false };
    let scope = parts.next().unwrap_or("system/Patient.r");
    check_scopes(scope);
    let assertion = sign_es256k(header, claims);
    let request = TokenRequest {
        grant_type: GRANT_TYPE_CLIENT_CREDENTIALS.into(),
        scope: scope.into(),
        client_assertion_type: ASSERTION_TYPE_JWT_BEARER.into(),
        client_assertion: assertion.clone(),
        client_id: None,
    };
    let authenticator = fresh_authenticator();
    let Ok(response) = authenticator.exchange(&request) else { return false };
    let decoded = DecodedAssertion::decode(&assertion).expect("an accepted assertion decodes");
    assert_eq!(decoded.issuer(), PEER);
    assert!(decoded.check_claims(&policy(), NOW).is_ok(), "a token was issued for claims that do not pass");
    let principal = authenticator
        .authenticate(Some(&format!("Bearer {}", response.access_token)))
        .expect("an issued token authenticates");
    assert_eq!(principal.client_id, PEER);
    assert_eq!(principal.scope_string(), response.scope);
    assert!(
        !(principal.scopes.fhir.is_empty() && principal.scopes.service.is_empty()),
        "a token with no scope was issued"
    );
    assert!(authenticator.exchange(&request).is_err(), "a replayed assertion was accepted");
    true
}

fn header(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(principal) = authenticator().authenticate(Some(text)) {
        let (scheme, token) = text.trim().split_once(' ').expect("an accepted header has a space");
        assert!(scheme.eq_ignore_ascii_case("bearer"));
        assert_eq!(token.trim_start_matches(' '), DEV_TOKEN, "a header authenticated without the token");
        assert_eq!(principal.client_id, DEV_CLIENT);
    }
}

/// Runs one input.
pub fn check(data: &[u8]) {
    let Some((mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => form(rest),
        1 => assertion(rest),
        2 => {
            signed_exchange(rest);
        }
        _ => header(rest),
    }
}

#[cfg(test)]
mod tests {
    /// The signed mode reaches the end of the exchange, so its invariants are not vacuous.
    #[test]
    fn a_well_signed_assertion_gets_a_token() {
        let seed = b"{\"alg\":\"ES256K\",\"typ\":\"JWT\"}\n{\"iss\":\"peer-node\",\"sub\":\"peer-node\",\"aud\":\"https://bridge.example/auth/token\",\"exp\":1700000200,\"jti\":\"j\"}\nsystem/Patient.rs";
        assert!(super::signed_exchange(seed));
        assert!(!super::signed_exchange(b"{\"alg\":\"ES256K\"}\n{}\nsystem/Patient.rs"));
    }
}
