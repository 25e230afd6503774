//! Tests of the authentication module: fixtures (a fixed clock, two clients with fixed keys, an
//! assertion forger), then one file per theme.

mod assertion;
mod config;
mod scope_and_form;
mod token;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use p384::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{json, Value};

use super::jwt::encode_signed;
use super::*;

/// The fixed "now" of the tests.
const T0: u64 = 1_700_000_000;
const TOKEN_URL: &str = "https://bridge.example/auth/token";
const HOSPITAL: &str = "hospital-b";
const PEER: &str = "peer-node";
const PEER_SECRET: [u8; 32] = [0x22; 32];

/// A clock the test moves by hand.
struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now_s(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl TestClock {
    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

fn p384_key() -> p384::ecdsa::SigningKey {
    p384::ecdsa::SigningKey::from_slice(&[0x11; 48]).unwrap()
}

fn peer_public_key() -> secp256k1::PublicKey {
    let secret = secp256k1::SecretKey::from_byte_array(PEER_SECRET).unwrap();
    secp256k1::PublicKey::from_secret_key(&secp256k1::Secp256k1::signing_only(), &secret)
}

fn config() -> AuthConfig {
    let pem = p384_key().verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
    AuthConfig {
        token_url: Some(TOKEN_URL.into()),
        clients: vec![
            ClientConfig {
                client_id: HOSPITAL.into(),
                public_key: pem,
                scopes: vec!["system/*.rs".into()],
                organization: Some("Organization/hospital-b".into()),
                node_key_id: None,
            },
            ClientConfig {
                client_id: PEER.into(),
                public_key: data_encoding::HEXLOWER.encode(&peer_public_key().serialize()),
                scopes: vec!["system/*.cruds".into()],
                organization: Some("Organization/hospital-a".into()),
                node_key_id: Some(super::keys::node_key_id(&peer_public_key())),
            },
        ],
        ..AuthConfig::default()
    }
}

/// An authenticator over `config` with a clock at [`T0`].
fn authenticator_with(config: &AuthConfig) -> (Authenticator, Arc<TestClock>) {
    let clock = Arc::new(TestClock(AtomicU64::new(T0)));
    let authenticator =
        Authenticator::from_config(config, "http://unused/auth/token").unwrap().with_clock(clock.clone());
    (authenticator, clock)
}

fn authenticator() -> (Authenticator, Arc<TestClock>) {
    authenticator_with(&config())
}

fn es384_assertion() -> String {
    client_assertion_es384(HOSPITAL, TOKEN_URL, &p384_key(), 300, T0).unwrap()
}

fn es256k_assertion() -> String {
    client_assertion_es256k(PEER, TOKEN_URL, &PEER_SECRET, 300, T0).unwrap()
}

fn request(assertion: &str, scope: &str) -> TokenRequest {
    TokenRequest {
        grant_type: GRANT_TYPE_CLIENT_CREDENTIALS.into(),
        scope: scope.into(),
        client_assertion_type: ASSERTION_TYPE_JWT_BEARER.into(),
        client_assertion: assertion.into(),
        client_id: None,
    }
}

/// Valid claims for `iss`, which a test then spoils.
fn claims(iss: &str, jti: &str) -> Value {
    json!({"iss": iss, "sub": iss, "aud": TOKEN_URL, "exp": T0 + 240, "iat": T0, "jti": jti})
}

/// How a forged assertion is signed.
enum Signer {
    P384,
    Secp256k1,
    Raw(Vec<u8>),
}

/// A compact JWS with any header and claims.
fn forge(header: &Value, claims: &Value, signer: &Signer) -> String {
    encode_signed::<()>(header, claims, |input| {
        Ok(match signer {
            Signer::P384 => {
                use p384::ecdsa::signature::Signer as _;
                let signature: p384::ecdsa::Signature = p384_key().sign(input);
                signature.to_bytes().to_vec()
            }
            Signer::Secp256k1 => {
                let secret = secp256k1::SecretKey::from_byte_array(PEER_SECRET).unwrap();
                let digest = secp256k1::Message::from_digest(super::store::sha256(input));
                secp256k1::Secp256k1::signing_only().sign_ecdsa(digest, &secret).serialize_compact().to_vec()
            }
            Signer::Raw(bytes) => bytes.clone(),
        })
    })
    .unwrap()
}

/// Replaces the signature part of a compact JWS.
fn with_signature(assertion: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (input, signature) = assertion.rsplit_once('.').unwrap();
    let mut signature = BASE64URL_NOPAD.decode(signature.as_bytes()).unwrap();
    edit(&mut signature);
    format!("{input}.{}", BASE64URL_NOPAD.encode(&signature))
}

/// Exchanges and returns the error.
fn refused(authenticator: &Authenticator, assertion: &str, scope: &str) -> AuthError {
    authenticator.exchange(&request(assertion, scope)).unwrap_err()
}
