//! The actix-web side of `smart-auth`: the `POST /auth/token` handler and the [`Authenticated`]
//! extractor for protected handlers. An [`AuthError`] on a protected resource is answered as
//! `ApiError::Auth` (`error.rs`: 401 + `WWW-Authenticate: Bearer` or 403, with a FHIR
//! OperationOutcome body).
//!
//! Both read the shared `web::Data<Arc<Authenticator>>`; without it every request is refused.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use smart_auth::{AuthError, Authenticator, Principal, TokenRequest};

use crate::error::ApiError;
use crate::rate_limit::RateLimiter;

/// `POST /auth/token`: SMART Backend Services token request (form-encoded client credentials
/// with a JWT client assertion). Answers the token JSON, or an OAuth error JSON with 400/401.
pub async fn token(
    authenticator: Option<web::Data<Arc<Authenticator>>>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let Some(authenticator) = authenticator else {
        tracing::error!("The token endpoint has no Authenticator in the app data.");
        return oauth_error_response(&AuthError::NotConfigured);
    };
    // Each assertion costs a signature check: the endpoint's budget is per address, since one
    // per client id would let anyone spend a registered client's.
    if let Some(limiter) = request.app_data::<web::Data<RateLimiter>>() {
        let address = request.peer_addr().map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
        if let Err(limited) = limiter.check(&format!("token endpoint from {address}")) {
            return HttpResponse::TooManyRequests()
                .insert_header((header::RETRY_AFTER, limited.retry_after_s.to_string()))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(
                    serde_json::json!({"error": "temporarily_unavailable", "error_description": limited.to_string()}),
                );
        }
    }
    let form_encoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form_encoded {
        return oauth_error_response(&AuthError::MalformedRequest("content type must be form-urlencoded"));
    }
    let authenticator = Arc::clone(authenticator.get_ref());
    // Signature checks are CPU work: keep them off the async worker.
    let result =
        web::block(move || TokenRequest::from_form(&body).and_then(|request| authenticator.exchange(&request))).await;
    match result {
        Ok(Ok(response)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(response),
        Ok(Err(error)) => oauth_error_response(&error),
        Err(error) => {
            tracing::error!(%error, "The token exchange task failed.");
            oauth_error_response(&AuthError::NotConfigured)
        }
    }
}

/// An OAuth error response (RFC 6749 §5.2): `{"error", "error_description"}`, no-store.
pub fn oauth_error_response(error: &AuthError) -> HttpResponse {
    let code = error.oauth_code();
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({"error": code.as_str(), "error_description": error.to_string()}))
}

/// The authenticated caller, extracted from `Authorization: Bearer`. A handler that takes it
/// is protected: an unauthenticated request gets 401 before the handler runs.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Ready<Result<Authenticated, actix_web::Error>>;

    /// Authenticates, then spends one request of the client's budget (when the app has a
    /// [`RateLimiter`]), before the handler reads anything.
    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let result = authenticate_request(request).map_err(|e| actix_web::Error::from(ApiError::Auth(e))).and_then(
            |principal| {
                if let Some(limiter) = request.app_data::<web::Data<RateLimiter>>() {
                    limiter.check(&principal.client_id)?;
                }
                Ok(Authenticated(principal))
            },
        );
        ready(result)
    }
}

/// Authenticates a request with the app's [`Authenticator`].
pub fn authenticate_request(request: &HttpRequest) -> Result<Principal, AuthError> {
    let Some(authenticator) = request.app_data::<web::Data<Arc<Authenticator>>>() else {
        tracing::error!("A protected route has no Authenticator in the app data.");
        return Err(AuthError::NotConfigured);
    };
    let header = match request.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| AuthError::MalformedAuthorization)?),
    };
    authenticator.authenticate(header).inspect_err(|error| tracing::debug!(%error, "Request not authenticated."))
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
