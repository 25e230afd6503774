//! Why authentication failed: [`AuthError`] for token requests and bearer tokens, with its OAuth
//! 2.0 error code and HTTP status, and [`AuthConfigError`] for a refused `[auth]` section.
//!
//! Messages name the failed check, never a token, an assertion, a key or a signature.
//! Every client-assertion failure is `invalid_client`, as RFC 7523 §3.2 requires for JWT client
//! authentication; `invalid_grant` is part of the vocabulary but not produced by this grant type.

/// An OAuth 2.0 error code (RFC 6749 §5.2), as sent in the token endpoint's `error` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed (unknown client, bad assertion).
    InvalidClient,
    /// The grant is invalid, expired or revoked.
    InvalidGrant,
    /// The requested scope is malformed or exceeds what the client may have.
    InvalidScope,
    /// The grant type is not `client_credentials`.
    UnsupportedGrantType,
    /// The server cannot take the request now; retry later.
    TemporarilyUnavailable,
    /// RFC 6750: the bearer token is malformed, unknown or expired.
    InvalidToken,
    /// RFC 6750: the bearer token lacks the scope the request needs.
    InsufficientScope,
}

impl OAuthErrorCode {
    /// The code as sent on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }

    /// The HTTP status of a token endpoint error with this code.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

/// A token request or a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A required form parameter is missing or empty.
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    /// The form body is not `application/x-www-form-urlencoded`, repeats a parameter, or is too large.
    #[error("malformed request: {0}")]
    MalformedRequest(&'static str),
    /// `grant_type` is not `client_credentials`.
    #[error("unsupported grant_type (expected client_credentials)")]
    UnsupportedGrantType,
    /// `client_assertion_type` is not `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    #[error("unsupported client_assertion_type (expected a jwt-bearer assertion)")]
    UnsupportedAssertionType,
    /// The assertion is not a compact JWS with JSON header and claims of the expected types.
    #[error("malformed client assertion: {0}")]
    MalformedAssertion(&'static str),
    /// The header's `alg` is not ES384 or ES256K (`none` and HMAC algorithms are refused).
    #[error("unsupported assertion algorithm (expected ES384 or ES256K)")]
    UnsupportedAlgorithm,
    /// The header's `alg` does not match the type of the client's registered key.
    #[error("assertion algorithm does not match the client's registered key")]
    AlgorithmMismatch,
    /// `iss` names no registered client.
    #[error("unknown client")]
    UnknownClient,
    /// The signature does not verify under the client's key (ES256K: or is in high-S form).
    #[error("client assertion signature does not verify")]
    BadSignature,
    /// `sub` differs from `iss`, or the form's `client_id` differs from `iss`.
    #[error("client assertion iss, sub and client_id disagree")]
    ClientIdMismatch,
    /// `aud` is not this server's token URL.
    #[error("client assertion aud is not this token endpoint")]
    WrongAudience,
    /// `exp` is not in the future.
    #[error("client assertion has expired")]
    AssertionExpired,
    /// `exp` is further ahead than the configured maximum assertion lifetime.
    #[error("client assertion lifetime exceeds the maximum")]
    AssertionLifetimeTooLong,
    /// `nbf` or `iat` is in the future (beyond the allowed clock skew).
    #[error("client assertion is not yet valid")]
    AssertionNotYetValid,
    /// `jti` is missing, empty or too long.
    #[error("client assertion has no usable jti")]
    MissingJti,
    /// This `jti` was already used by the client within its lifetime.
    #[error("client assertion was already used")]
    AssertionReplayed,
    /// A requested scope is not a `system/` scope this server understands.
    #[error("unsupported scope")]
    MalformedScope,
    /// A requested scope is not among those the client is allowed.
    #[error("requested scope is not allowed for this client")]
    ScopeNotAllowed,
    /// The replay cache or the token store is full of live entries; retry later.
    #[error("too many active assertions or tokens; retry later")]
    Busy,
    /// The request has no `Authorization` header.
    #[error("authentication required (Authorization: Bearer)")]
    MissingToken,
    /// The `Authorization` header is not `Bearer <token>`.
    #[error("malformed Authorization header (expected Bearer)")]
    MalformedAuthorization,
    /// The bearer token was never issued (or was dropped).
    #[error("unknown bearer token")]
    UnknownToken,
    /// The bearer token has expired.
    #[error("bearer token has expired")]
    TokenExpired,
    /// The token is valid but its scopes do not allow this request.
    #[error("insufficient scope")]
    InsufficientScope,
    /// The server has no authenticator set up (a wiring bug); details are logged.
    #[error("authentication is not available")]
    NotConfigured,
}

impl AuthError {
    /// The OAuth error code: RFC 6749 codes for the token endpoint, RFC 6750 codes for bearer tokens.
    pub const fn oauth_code(&self) -> OAuthErrorCode {
        match self {
            Self::MissingParameter(_) | Self::MalformedRequest(_) => OAuthErrorCode::InvalidRequest,
            Self::UnsupportedGrantType => OAuthErrorCode::UnsupportedGrantType,
            Self::MalformedScope | Self::ScopeNotAllowed => OAuthErrorCode::InvalidScope,
            Self::Busy | Self::NotConfigured => OAuthErrorCode::TemporarilyUnavailable,
            // RFC 7523 §3.2: a client JWT that is not valid is `invalid_client`.
            Self::UnsupportedAssertionType
            | Self::MalformedAssertion(_)
            | Self::UnsupportedAlgorithm
            | Self::AlgorithmMismatch
            | Self::UnknownClient
            | Self::BadSignature
            | Self::ClientIdMismatch
            | Self::WrongAudience
            | Self::AssertionExpired
            | Self::AssertionLifetimeTooLong
            | Self::AssertionNotYetValid
            | Self::MissingJti
            | Self::AssertionReplayed => OAuthErrorCode::InvalidClient,
            Self::MissingToken => OAuthErrorCode::InvalidRequest,
            Self::MalformedAuthorization | Self::UnknownToken | Self::TokenExpired => OAuthErrorCode::InvalidToken,
            Self::InsufficientScope => OAuthErrorCode::InsufficientScope,
        }
    }

    /// The HTTP status on a protected resource (RFC 6750 §3.1): 401 when the caller must
    /// (re-)authenticate, 403 when its token lacks the scope, 503 when the server cannot check.
    pub const fn resource_status(&self) -> u16 {
        match self {
            Self::InsufficientScope => 403,
            Self::NotConfigured | Self::Busy => 503,
            _ => 401,
        }
    }

    /// Whether the same request may succeed later without change (retry rather than fail).
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::Busy | Self::NotConfigured)
    }
}

/// The `[auth]` configuration was refused at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthConfigError {
    /// A lifetime or a capacity is zero.
    #[error("auth.{0} must be greater than zero")]
    Zero(&'static str),
    /// The token URL (audience) is empty.
    #[error("auth.token_url must not be empty")]
    EmptyTokenUrl,
    /// Two clients share a `client_id`, or a `client_id` is empty.
    #[error("auth client id {0:?} is empty or used twice")]
    BadClientId(String),
    /// The public key is neither a P-384 SPKI PEM nor a 33/65-byte secp256k1 key in hex.
    #[error("auth client {0:?}: public_key is not a P-384 PEM or a secp256k1 SEC1 hex key")]
    BadPublicKey(String),
    /// An allowed scope does not parse.
    #[error("auth client {client_id:?}: scope {scope:?} is not system/<Type|*>.<cruds>")]
    BadScope {
        /// The client (or dev token client) whose scope is bad.
        client_id: String,
        /// The scope text.
        scope: String,
    },
    /// `organization` is not a reference `Organization/<id>`.
    #[error("auth client {0:?}: organization must be a reference Organization/<id>")]
    BadOrganization(String),
    /// `node_key_id` is not 64 hex characters, the key is not secp256k1, or it is not the key's id.
    #[error("auth client {0:?}: node_key_id must be the SHA-256 (hex) of its secp256k1 public key")]
    BadNodeKeyId(String),
    /// A development token is empty, shorter than 16 characters, or used twice.
    #[error("auth.dev_static_tokens: a token is shorter than 16 characters or used twice")]
    BadDevToken,
}

/// A client assertion could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionSignError {
    /// The secp256k1 secret is zero or not below the curve order.
    #[error("secret key is not a valid secp256k1 scalar")]
    InvalidSecretKey,
    /// The P-384 signer failed.
    #[error("signing the client assertion failed")]
    Signing,
}
