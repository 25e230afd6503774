//! SMART Backend Services authentication, for the HTTP API and for the peer client: a registered client (an
//! institution's service, or a peer bridge with its node key) signs a short JWT client assertion
//! (ES384 on P-384, or ES256K on secp256k1), exchanges it at `POST /auth/token` for a short-lived
//! opaque bearer token carrying SMART `system/` scopes, and presents that token on every request.
//!
//! - [`AuthConfig`]: the `[auth]` section (clients, lifetimes, development static tokens).
//! - [`Authenticator`]: validated config; [`Authenticator::exchange`] (token endpoint) and
//!   [`Authenticator::authenticate`] (`Authorization` header → [`Principal`]).
//! - [`Principal`]: who is calling and what its scopes allow (`can_read`, `can_write`, ...).
//! - [`client_assertion_es256k`], [`client_assertion_es384`]: sign our own assertions for peers.
//!
//! Refused: any `alg` but ES384/ES256K, an `alg` that is not the client's key type, replayed
//! `jti`s, expired or over-long assertions, expired or unknown tokens. Tokens live in memory only
//! (as SHA-256 digests): a restart logs every client out, which costs one token request.
//!
//! **Architecture Invariant:** this crate knows nothing of FHIR resources beyond type names in
//! scopes, nor of HTTP frameworks, routes or storage: `http-api` adapts it to actix-web (the
//! token handler, the extractor, the rate limit), `exchange` signs its peer assertions with it.

mod authenticator;
mod config;
mod error;
mod form;
mod jwt;
mod keys;
mod principal;
mod scope;
mod store;

pub use authenticator::{unix_now_s, Authenticator, Clock, SystemClock, TokenResponse};
pub use config::{AuthConfig, ClientConfig, DevStaticTokenConfig};
pub use error::{AssertionSignError, AuthConfigError, AuthError, OAuthErrorCode};
pub use form::{TokenRequest, ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_CLIENT_CREDENTIALS};
// `DecodedAssertion` and `ClaimPolicy` are public for the fuzz target `jwt` (`fuzz/`), which checks
// the claims of assertions it cannot sign; the bridge itself uses them only through `Authenticator`.
pub use jwt::{client_assertion_es256k, client_assertion_es384, ClaimPolicy, DecodedAssertion};
pub use keys::Algorithm;
pub use principal::Principal;
pub use scope::{Permissions, Scope, ScopeSyntaxError, Scopes, ServiceScope};

#[cfg(any(test, feature = "test-support"))]
pub mod testing;
#[cfg(test)]
mod tests;
