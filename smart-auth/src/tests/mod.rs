//! Tests of the authentication module: fixtures (a fixed clock, two clients with fixed keys, an
//! assertion forger), then one file per theme.

mod assertion;
mod config;
mod scope_and_form;
mod token;

use data_encoding::BASE64URL_NOPAD;
use serde_json::{json, Value};

use super::jwt::encode_signed;
use super::*;
use crate::testing::*;

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
