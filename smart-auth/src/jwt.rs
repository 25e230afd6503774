//! Client assertions as compact JWS (RFC 7515/7519, SMART Backend Services): decoding with the
//! accepted algorithms only, the time and audience checks on the claims, and signing our own
//! assertions (ES256K with a node key, ES384 with a P-384 key) to authenticate to a peer.
//!
//! Decoding never trusts the claims before the caller has verified the signature with the key of
//! the client that `iss` names; [`DecodedAssertion::check_claims`] runs after that.

use std::sync::OnceLock;

use data_encoding::BASE64URL_NOPAD;
use p384::ecdsa::signature::Signer;
use rand::RngCore;
use secp256k1::{Message, Secp256k1, SecretKey, SignOnly};
use serde::Deserialize;

use super::error::{AssertionSignError, AuthError};
use super::keys::{node_key_id, Algorithm};
use super::store::sha256;

/// Longest client assertion accepted, in bytes.
const MAX_ASSERTION_LEN: usize = 8 * 1024;
/// Longest `jti` accepted, in bytes.
const MAX_JTI_LEN: usize = 256;

/// The JOSE header fields we look at; others are ignored (keys are never fetched from `jku`,
/// `x5u` or `jwk`: only the registered key counts).
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A NumericDate (seconds since the epoch; fractions are truncated).
#[derive(Debug, Clone, Copy)]
struct NumericDate(u64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        if !(0.0..=1e15).contains(&value) {
            return Err(serde::de::Error::custom("not a NumericDate"));
        }
        // The range check above makes the truncating cast exact in its integer part.
        Ok(NumericDate(value as u64))
    }
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims of a client assertion.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: NumericDate,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    iat: Option<NumericDate>,
    #[serde(default)]
    nbf: Option<NumericDate>,
}

/// A decoded but not yet verified client assertion.
pub struct DecodedAssertion {
    algorithm: Algorithm,
    claims: Claims,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

/// The checks on an assertion's claims.
#[derive(Debug, Clone, Copy)]
pub struct ClaimPolicy<'a> {
    /// The expected `aud`.
    pub token_url: &'a str,
    /// Furthest ahead `exp` may be, in seconds.
    pub max_lifetime_s: u64,
    /// Clock skew tolerated, in seconds.
    pub clock_skew_s: u64,
}

fn decode_part(part: &str, what: &'static str) -> Result<Vec<u8>, AuthError> {
    BASE64URL_NOPAD.decode(part.as_bytes()).map_err(|_| AuthError::MalformedAssertion(what))
}

impl DecodedAssertion {
    /// Splits and decodes `header.payload.signature`; refuses any algorithm but ES384 and ES256K.
    pub fn decode(text: &str) -> Result<DecodedAssertion, AuthError> {
        if text.len() > MAX_ASSERTION_LEN {
            return Err(AuthError::MalformedAssertion("too long"));
        }
        let mut parts = text.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::MalformedAssertion("not a compact JWS"));
        };
        let header: Header = serde_json::from_slice(&decode_part(header, "header is not base64url")?)
            .map_err(|_| AuthError::MalformedAssertion("header is not a JOSE header"))?;
        let algorithm = Algorithm::parse(&header.alg)?;
        if header.typ.as_deref().is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT")) {
            return Err(AuthError::MalformedAssertion("typ is not JWT"));
        }
        if header.crit.is_some() {
            return Err(AuthError::MalformedAssertion("crit extensions are not supported"));
        }
        let claims: Claims = serde_json::from_slice(&decode_part(payload, "payload is not base64url")?)
            .map_err(|_| AuthError::MalformedAssertion("claims lack iss, sub, aud or exp, or have wrong types"))?;
        let signature = decode_part(signature, "signature is not base64url")?;
        let signing_input = text.as_bytes()[..header_and_payload_len(text)].to_vec();
        Ok(DecodedAssertion { algorithm, claims, signing_input, signature })
    }

    /// The algorithm named in the header.
    pub const fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The unverified issuer (the client id to look the key up by).
    pub fn issuer(&self) -> &str {
        &self.claims.iss
    }

    /// The signed bytes: `header.payload` as sent.
    pub fn signing_input(&self) -> &[u8] {
        &self.signing_input
    }

    /// The decoded signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The claim checks, after the signature verified: `sub` == `iss`, `aud`, `exp` (future, not
    /// too far ahead), `nbf`/`iat` (not in the future), `jti` present. Returns the `jti` and `exp`
    /// for the replay cache.
    pub fn check_claims(&self, policy: &ClaimPolicy<'_>, now_s: u64) -> Result<(&str, u64), AuthError> {
        let claims = &self.claims;
        if claims.sub != claims.iss {
            return Err(AuthError::ClientIdMismatch);
        }
        let audience_ok = match &claims.aud {
            Audience::One(aud) => aud == policy.token_url,
            Audience::Many(auds) => auds.iter().any(|aud| aud == policy.token_url),
        };
        if !audience_ok {
            return Err(AuthError::WrongAudience);
        }
        let exp = claims.exp.0;
        if exp <= now_s {
            return Err(AuthError::AssertionExpired);
        }
        if exp > now_s.saturating_add(policy.max_lifetime_s).saturating_add(policy.clock_skew_s) {
            return Err(AuthError::AssertionLifetimeTooLong);
        }
        let latest_start = now_s.saturating_add(policy.clock_skew_s);
        if claims.nbf.is_some_and(|nbf| nbf.0 > latest_start) || claims.iat.is_some_and(|iat| iat.0 > latest_start) {
            return Err(AuthError::AssertionNotYetValid);
        }
        match claims.jti.as_deref() {
            Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => Ok((jti, exp)),
            _ => Err(AuthError::MissingJti),
        }
    }
}

/// Length of `header.payload` in a string already known to have two dots.
fn header_and_payload_len(text: &str) -> usize {
    text.rfind('.').unwrap_or(0)
}

/// Encodes `header.payload` and signs it with `sign`, giving a compact JWS.
pub(crate) fn encode_signed<E>(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<String, E> {
    let mut text = BASE64URL_NOPAD.encode(header.to_string().as_bytes());
    text.push('.');
    text.push_str(&BASE64URL_NOPAD.encode(claims.to_string().as_bytes()));
    let signature = sign(text.as_bytes())?;
    text.push('.');
    text.push_str(&BASE64URL_NOPAD.encode(&signature));
    Ok(text)
}

/// The claims of an assertion we sign: `iss` = `sub` = client id, a fresh random `jti`.
fn assertion_claims(client_id: &str, token_url: &str, lifetime_s: u64, now_s: u64) -> serde_json::Value {
    let mut jti = [0_u8; 16];
    rand::rng().fill_bytes(&mut jti);
    serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "exp": now_s.saturating_add(lifetime_s),
        "iat": now_s,
        "jti": BASE64URL_NOPAD.encode(&jti),
    })
}

fn signing_context() -> &'static Secp256k1<SignOnly> {
    static CONTEXT: OnceLock<Secp256k1<SignOnly>> = OnceLock::new();
    CONTEXT.get_or_init(Secp256k1::signing_only)
}

/// A client assertion signed ES256K with a secp256k1 secret key (a bridge's node key), valid from
/// `now_s` for `lifetime_s` seconds, for a peer's token endpoint `token_url`. The header's `kid`
/// is the node key id.
pub fn client_assertion_es256k(
    client_id: &str,
    token_url: &str,
    secret_key: &[u8; 32],
    lifetime_s: u64,
    now_s: u64,
) -> Result<String, AssertionSignError> {
    let secret_key = SecretKey::from_byte_array(*secret_key).map_err(|_| AssertionSignError::InvalidSecretKey)?;
    let public_key = secp256k1::PublicKey::from_secret_key(signing_context(), &secret_key);
    let kid = node_key_id(&public_key);
    let header = serde_json::json!({"alg": "ES256K", "typ": "JWT", "kid": kid});
    encode_signed(&header, &assertion_claims(client_id, token_url, lifetime_s, now_s), |input| {
        let digest = Message::from_digest(sha256(input));
        // libsecp256k1 always produces low-S signatures, which is what verification demands.
        Ok(signing_context().sign_ecdsa(digest, &secret_key).serialize_compact().to_vec())
    })
}

/// A client assertion signed ES384 with a P-384 key, valid from `now_s` for `lifetime_s` seconds.
pub fn client_assertion_es384(
    client_id: &str,
    token_url: &str,
    signing_key: &p384::ecdsa::SigningKey,
    lifetime_s: u64,
    now_s: u64,
) -> Result<String, AssertionSignError> {
    let header = serde_json::json!({"alg": "ES384", "typ": "JWT"});
    encode_signed(&header, &assertion_claims(client_id, token_url, lifetime_s, now_s), |input| {
        let signature: p384::ecdsa::Signature = signing_key.try_sign(input).map_err(|_| AssertionSignError::Signing)?;
        Ok(signature.to_bytes().to_vec())
    })
}
