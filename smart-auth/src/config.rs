//! The `[auth]` configuration: registered clients (institutions' services and peer bridges) with
//! their public keys and allowed scopes, token and assertion lifetimes, and the development-only
//! static tokens.
//!
//! These are the raw serde structs; [`crate::Authenticator::from_config`] validates them
//! into parsed keys and scopes and refuses the whole section on the first bad entry.

use std::fmt;

use serde::Deserialize;

/// Authentication of the HTTP API (SMART Backend Services).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Lifetime of an issued bearer token, in seconds.
    #[serde(default = "default_token_lifetime_s")]
    pub token_lifetime_s: u64,
    /// Furthest ahead a client assertion's `exp` may be, in seconds (SMART: at most 5 minutes).
    #[serde(default = "default_assertion_max_lifetime_s")]
    pub assertion_max_lifetime_s: u64,
    /// Clock difference tolerated on `nbf`, `iat` and the upper bound of `exp`, in seconds.
    #[serde(default = "default_clock_skew_s")]
    pub clock_skew_s: u64,
    /// The token endpoint's URL, which assertions must name as `aud`
    /// (e.g. `https://bridge.example/auth/token`); absent = derived from the listen address.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Most bearer tokens alive at once; when full of unexpired tokens, token requests get 503.
    #[serde(default = "default_max_active_tokens")]
    pub max_active_tokens: usize,
    /// Most assertion ids remembered for replay detection; when full of unexpired ids, token
    /// requests get 503 (an id is never forgotten before its assertion expires).
    #[serde(default = "default_replay_cache_entries")]
    pub replay_cache_entries: usize,
    /// The registered clients.
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// DEVELOPMENT ONLY: fixed bearer tokens that never expire. Empty (off) by default; a loud
    /// warning is logged at start when any is configured.
    #[serde(default)]
    pub dev_static_tokens: Vec<DevStaticTokenConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            token_lifetime_s: default_token_lifetime_s(),
            assertion_max_lifetime_s: default_assertion_max_lifetime_s(),
            clock_skew_s: default_clock_skew_s(),
            token_url: None,
            max_active_tokens: default_max_active_tokens(),
            replay_cache_entries: default_replay_cache_entries(),
            clients: Vec::new(),
            dev_static_tokens: Vec::new(),
        }
    }
}

const fn default_token_lifetime_s() -> u64 {
    300
}
const fn default_assertion_max_lifetime_s() -> u64 {
    300
}
const fn default_clock_skew_s() -> u64 {
    60
}
const fn default_max_active_tokens() -> usize {
    100_000
}
const fn default_replay_cache_entries() -> usize {
    100_000
}

/// One registered client: a backend service of an institution, or a peer bridge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The client id, which the assertion's `iss` and `sub` must equal.
    pub client_id: String,
    /// The client's public key: a P-384 SubjectPublicKeyInfo PEM (assertions signed ES384), or
    /// a secp256k1 SEC1 key in hex, 33 bytes compressed or 65 uncompressed (signed ES256K).
    pub public_key: String,
    /// The scopes the client may be granted (e.g. `["system/*.rs"]`, `["system/Observation.cruds"]`).
    pub scopes: Vec<String>,
    /// The institution the client acts for, as a FHIR reference (`Organization/hospital-b`).
    #[serde(default)]
    pub organization: Option<String>,
    /// For a peer bridge: its node key id (hex SHA-256 of the compressed secp256k1 public key,
    /// which must then be `public_key`).
    #[serde(default)]
    pub node_key_id: Option<String>,
}

/// DEVELOPMENT ONLY: a fixed bearer token. Anyone holding the string is the client, forever.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevStaticTokenConfig {
    /// The bearer token (at least 16 characters).
    pub token: String,
    /// The client id the token authenticates as (organization and node key id are taken from the
    /// registered client of that id, if any).
    pub client_id: String,
    /// The scopes the token carries.
    pub scopes: Vec<String>,
}

impl fmt::Debug for DevStaticTokenConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("DevStaticTokenConfig")
            .field("token", &"<redacted>")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish()
    }
}
