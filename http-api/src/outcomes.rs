//! Every error of the HTTP API is an `OperationOutcome`. Handlers answer with [`ApiError`], which
//! renders one; this middleware catches what reaches a client without passing through a handler:
//! actix's own answers to a body over the size limit (413), an unknown route (404), a method a
//! route does not take (405), and extractor failures. Their bodies are replaced by an outcome
//! whose text never quotes the request (a path or query value may be patient data).
//!
//! `/auth/token` is left alone (OAuth 2.0 clients expect its errors as RFC 6749 JSON), and so is
//! `/healthz` (its 503 says what is degraded, for orchestration).

use actix_web::body::EitherBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::HttpResponse;
use fhir_models::validate::IssueType;

use super::error::{outcome, outcome_response};

/// The middleware.
pub fn error_outcomes<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(replace_with_outcome)
}

/// What a status means, for a response that says nothing of its own.
fn describe(status: StatusCode) -> (IssueType, &'static str) {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => (IssueType::TooLong, "the request body is larger than http.max_body_bytes"),
        StatusCode::NOT_FOUND => (IssueType::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (IssueType::NotSupported, "this method is not supported on this route"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (IssueType::NotSupported, "unsupported media type: send application/fhir+json")
        }
        StatusCode::TOO_MANY_REQUESTS => (IssueType::Throttled, "too many requests: try again later"),
        status if status.is_server_error() => (IssueType::Exception, "internal error; see the server log"),
        _ => (IssueType::Invalid, "the request is malformed"),
    }
}

fn is_outcome<B>(response: &HttpResponse<B>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(fhir_models::JSON_MIME_TYPE))
}

fn replace_with_outcome<B>(response: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if is_outcome(response.response()) || matches!(response.request().path(), "/auth/token" | "/healthz") {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let (request, original) = response.into_parts();
    let status = original.status();
    let (code, message) = describe(status);
    let mut replaced = outcome_response(status, &outcome(code, message));
    // Keep what tells the client how to go on (a challenge, when to retry, what is allowed).
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER, header::ALLOW] {
        if let Some(value) = original.headers().get(&name) {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let replaced: ServiceResponse<EitherBody<B>> = ServiceResponse::new(request, replaced).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(replaced))
}
