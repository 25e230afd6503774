//! [`Authenticator`]: the registered clients, the token exchange (client assertion → bearer token)
//! and the check of bearer tokens on requests. Framework-independent; `http` adapts it to actix.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use data_encoding::BASE64URL_NOPAD;
use rand::RngCore;
use serde::Serialize;

use super::config::AuthConfig;
use super::error::{AuthConfigError, AuthError};
use super::form::{TokenRequest, ASSERTION_TYPE_JWT_BEARER, GRANT_TYPE_CLIENT_CREDENTIALS};
use super::jwt::{ClaimPolicy, DecodedAssertion};
use super::keys::ClientKey;
use super::principal::Principal;
use super::scope::Scopes;
use super::store::{token_digest, Digest32, ReplayCache, TokenStore};

/// Longest bearer token accepted in an `Authorization` header.
const MAX_BEARER_LEN: usize = 1024;

/// The source of "now", in seconds since the Unix epoch; tests inject a fixed clock.
pub trait Clock: Send + Sync {
    /// The current time in whole seconds since the Unix epoch.
    fn now_s(&self) -> u64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_s(&self) -> u64 {
        unix_now_s()
    }
}

/// The wall clock in seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// A registered client, validated.
struct RegisteredClient {
    key: ClientKey,
    allowed_scopes: Scopes,
    organization: Option<String>,
    node_key_id: Option<String>,
}

/// A successful token response (RFC 6749 §5.1). `Debug` hides the token.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    /// The opaque bearer token: 256 random bits, base64url.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The granted scopes, space-separated (canonical SMART v2 form).
    pub scope: String,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Checks client assertions, issues bearer tokens and authenticates requests.
pub struct Authenticator {
    token_url: String,
    token_lifetime_s: u64,
    assertion_max_lifetime_s: u64,
    clock_skew_s: u64,
    clients: HashMap<String, RegisteredClient>,
    // INVARIANT: empty unless `[auth].dev_static_tokens` is configured (development only).
    dev_tokens: HashMap<Digest32, Arc<Principal>>,
    replay_cache: ReplayCache,
    tokens: TokenStore,
    clock: Arc<dyn Clock>,
}

fn parse_scopes(client_id: &str, scopes: &[String]) -> Result<Scopes, AuthConfigError> {
    let mut parsed = Scopes::default();
    for scope in scopes {
        parsed
            .add(scope)
            .map_err(|_| AuthConfigError::BadScope { client_id: client_id.to_owned(), scope: scope.clone() })?;
    }
    Ok(parsed)
}

fn is_organization_reference(reference: &str) -> bool {
    fhir_models::validate::is_relative_reference(reference, "Organization")
}

impl Authenticator {
    /// Validates `[auth]`; `default_token_url` is the audience when `token_url` is not set.
    /// Logs a warning when development static tokens are configured.
    pub fn from_config(config: &AuthConfig, default_token_url: &str) -> Result<Authenticator, AuthConfigError> {
        for (name, value) in [
            ("token_lifetime_s", config.token_lifetime_s),
            ("assertion_max_lifetime_s", config.assertion_max_lifetime_s),
            ("max_active_tokens", config.max_active_tokens as u64),
            ("replay_cache_entries", config.replay_cache_entries as u64),
        ] {
            if value == 0 {
                return Err(AuthConfigError::Zero(name));
            }
        }
        let token_url = config.token_url.clone().unwrap_or_else(|| default_token_url.to_owned());
        if token_url.trim().is_empty() {
            return Err(AuthConfigError::EmptyTokenUrl);
        }
        let mut clients = HashMap::new();
        for client in &config.clients {
            let id = &client.client_id;
            if id.is_empty() || clients.contains_key(id) {
                return Err(AuthConfigError::BadClientId(id.clone()));
            }
            let key = ClientKey::parse(&client.public_key).ok_or_else(|| AuthConfigError::BadPublicKey(id.clone()))?;
            if client.organization.as_deref().is_some_and(|org| !is_organization_reference(org)) {
                return Err(AuthConfigError::BadOrganization(id.clone()));
            }
            let node_key_id = match &client.node_key_id {
                None => None,
                Some(given) => match key.node_key_id() {
                    Some(actual) if actual.eq_ignore_ascii_case(given) => Some(actual),
                    _ => return Err(AuthConfigError::BadNodeKeyId(id.clone())),
                },
            };
            let allowed_scopes = parse_scopes(id, &client.scopes)?;
            let organization = client.organization.clone();
            clients.insert(id.clone(), RegisteredClient { key, allowed_scopes, organization, node_key_id });
        }
        let mut dev_tokens = HashMap::new();
        for dev in &config.dev_static_tokens {
            let digest = token_digest(&dev.token);
            if dev.token.len() < 16 || dev_tokens.contains_key(&digest) {
                return Err(AuthConfigError::BadDevToken);
            }
            let registered = clients.get(&dev.client_id);
            let principal = Principal {
                client_id: dev.client_id.clone(),
                organization: registered.and_then(|client| client.organization.clone()),
                node_key_id: registered.and_then(|client| client.node_key_id.clone()),
                scopes: parse_scopes(&dev.client_id, &dev.scopes)?,
                via_dev_token: true,
            };
            dev_tokens.insert(digest, Arc::new(principal));
        }
        if !dev_tokens.is_empty() {
            tracing::warn!(
                count = dev_tokens.len(),
                "DEVELOPMENT MODE: [auth].dev_static_tokens are configured. They never expire; anyone holding one is \
                 that client. Never use them in production."
            );
        }
        Ok(Authenticator {
            token_url,
            token_lifetime_s: config.token_lifetime_s,
            assertion_max_lifetime_s: config.assertion_max_lifetime_s,
            clock_skew_s: config.clock_skew_s,
            clients,
            dev_tokens,
            replay_cache: ReplayCache::new(config.replay_cache_entries),
            tokens: TokenStore::new(config.max_active_tokens),
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Authenticator {
        self.clock = clock;
        self
    }

    /// The token URL assertions must name as `aud`.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// Whether development static tokens are configured.
    pub fn dev_mode(&self) -> bool {
        !self.dev_tokens.is_empty()
    }

    /// Bearer tokens stored now (live or not yet pruned).
    pub fn active_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// The token endpoint: checks the request and its client assertion, grants the requested
    /// scopes if the client may have all of them, and issues a bearer token.
    pub fn exchange(&self, request: &TokenRequest) -> Result<TokenResponse, AuthError> {
        let result = self.exchange_inner(request);
        match &result {
            Ok(response) => tracing::info!(scope = %response.scope, "Bearer token issued."),
            Err(error) => tracing::info!(%error, "Token request refused."),
        }
        result
    }

    fn exchange_inner(&self, request: &TokenRequest) -> Result<TokenResponse, AuthError> {
        let now_s = self.clock.now_s();
        match request.grant_type.as_str() {
            "" => return Err(AuthError::MissingParameter("grant_type")),
            GRANT_TYPE_CLIENT_CREDENTIALS => {}
            _ => return Err(AuthError::UnsupportedGrantType),
        }
        match request.client_assertion_type.as_str() {
            "" => return Err(AuthError::MissingParameter("client_assertion_type")),
            ASSERTION_TYPE_JWT_BEARER => {}
            _ => return Err(AuthError::UnsupportedAssertionType),
        }
        if request.client_assertion.is_empty() {
            return Err(AuthError::MissingParameter("client_assertion"));
        }
        if request.scope.trim().is_empty() {
            return Err(AuthError::MissingParameter("scope"));
        }
        let (client_id, client) =
            self.verify_assertion(&request.client_assertion, request.client_id.as_deref(), now_s)?;
        let granted = Scopes::parse(request.scope.split_ascii_whitespace()).map_err(|_| AuthError::MalformedScope)?;
        if !client.allowed_scopes.cover(&granted) {
            return Err(AuthError::ScopeNotAllowed);
        }
        let principal = Principal {
            client_id: client_id.to_owned(),
            organization: client.organization.clone(),
            node_key_id: client.node_key_id.clone(),
            scopes: granted,
            via_dev_token: false,
        };
        let scope = principal.scope_string();
        let mut token = [0_u8; 32];
        rand::rng().fill_bytes(&mut token);
        let access_token = BASE64URL_NOPAD.encode(&token);
        let exp_s = now_s.saturating_add(self.token_lifetime_s);
        self.tokens.insert(token_digest(&access_token), Arc::new(principal), exp_s, now_s)?;
        Ok(TokenResponse { access_token, token_type: "bearer", expires_in: self.token_lifetime_s, scope })
    }

    /// Verifies a client assertion: algorithm, registered issuer, signature with that client's
    /// key, claims, then records its `jti` (only a fully valid assertion uses up its id).
    fn verify_assertion<'a>(
        &'a self,
        assertion: &str,
        form_client_id: Option<&str>,
        now_s: u64,
    ) -> Result<(&'a str, &'a RegisteredClient), AuthError> {
        let decoded = DecodedAssertion::decode(assertion)?;
        let (client_id, client) = self.clients.get_key_value(decoded.issuer()).ok_or(AuthError::UnknownClient)?;
        client.key.verify(decoded.algorithm(), decoded.signing_input(), decoded.signature())?;
        if form_client_id.is_some_and(|form_id| form_id != client_id) {
            return Err(AuthError::ClientIdMismatch);
        }
        let policy = ClaimPolicy {
            token_url: &self.token_url,
            max_lifetime_s: self.assertion_max_lifetime_s,
            clock_skew_s: self.clock_skew_s,
        };
        let (jti, exp_s) = decoded.check_claims(&policy, now_s)?;
        self.replay_cache.check_and_insert(client_id, jti, exp_s, now_s)?;
        Ok((client_id.as_str(), client))
    }

    /// Authenticates a request by its `Authorization` header value (`Bearer <token>`).
    pub fn authenticate(&self, authorization_header: Option<&str>) -> Result<Principal, AuthError> {
        let header = authorization_header.ok_or(AuthError::MissingToken)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::MalformedAuthorization)?;
        let token = token.trim_start_matches(' ');
        let well_formed =
            !token.is_empty() && token.len() <= MAX_BEARER_LEN && token.bytes().all(|byte| byte.is_ascii_graphic());
        if !scheme.eq_ignore_ascii_case("bearer") || !well_formed {
            return Err(AuthError::MalformedAuthorization);
        }
        let digest = token_digest(token);
        if let Some(principal) = self.tokens.lookup(&digest, self.clock.now_s())? {
            return Ok(principal.as_ref().clone());
        }
        self.dev_tokens.get(&digest).map(|principal| principal.as_ref().clone()).ok_or(AuthError::UnknownToken)
    }
}
