//! The one place HTTP statuses are decided: `ApiError` → an `OperationOutcome` response.
//! Internal details go to the log, never into the body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fhir_models::validate::{IssueType, Severity, ValidationIssue};
use fhir_models::OperationOutcome;
use smart_auth::{AuthError, OAuthErrorCode};

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The input was refused; the outcome names the offending path.
    #[error("invalid input")]
    Invalid(Box<OperationOutcome>),
    /// Understood and well-formed, but refused by the server's rules (a Consent the bridge
    /// cannot enforce, a Bundle where one resource belongs): 422.
    #[error("unprocessable")]
    Unprocessable(Box<OperationOutcome>),
    /// No such resource, version or ledger entry.
    #[error("not found")]
    NotFound(&'static str),
    /// The resource is deleted.
    #[error("gone")]
    Gone,
    /// The request is malformed (a search parameter, a query); the text says what.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Authenticated and scoped, but refused by consent (no grant in force); the text says why.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The body is not FHIR JSON (`text/plain`, XML, a form).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A precondition (`If-Match`) does not hold: 412; the text says what the current version is.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The request conflicts with a write that came between (409); the text says what to do.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A search that would cost more than the server allows (400, `too-costly`); names the
    /// parameter.
    #[error("too costly: {0}")]
    TooCostly(String),
    /// A FHIR feature this server does not offer (yet): 400 with `not-supported`, rather than
    /// doing something other than what was asked.
    #[error("not supported: {0}")]
    NotSupported(String),
    /// Something failed inside; details are logged.
    #[error("internal error")]
    Internal(String),
    /// The caller is not authenticated (401) or lacks the scope (403).
    #[error(transparent)]
    Auth(#[from] smart_auth::AuthError),
}

impl ApiError {
    /// A refused submission: 422 when what was refused is understood but not supported (the
    /// server's rules), 400 when it is malformed or invalid.
    pub fn refused(outcome: Box<OperationOutcome>) -> ApiError {
        let code = outcome.issue.first().and_then(|i| i.code.as_ref()).and_then(|c| c.as_str());
        if code == Some(IssueType::NotSupported.code()) || code == Some(IssueType::TooCostly.code()) {
            ApiError::Unprocessable(outcome)
        } else {
            ApiError::Invalid(outcome)
        }
    }
}

/// An outcome of one error issue without a path.
pub(crate) fn outcome(code: IssueType, message: &str) -> OperationOutcome {
    let issue = ValidationIssue { severity: Severity::Error, code, path: String::new(), message: message.to_owned() };
    let mut outcome = fhir_models::validate::to_operation_outcome(std::slice::from_ref(&issue));
    outcome.issue[0].expression.clear();
    outcome
}

/// An OperationOutcome response.
pub fn outcome_response(status: StatusCode, outcome: &OperationOutcome) -> HttpResponse {
    HttpResponse::build(status).content_type(fhir_models::JSON_MIME_TYPE).body(fhir_models::to_json(outcome))
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Gone => StatusCode::GONE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::NotSupported(_) => StatusCode::BAD_REQUEST,
            Self::TooCostly(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Auth(error) => refusal_status(error),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            Self::Invalid(outcome) | Self::Unprocessable(outcome) => {
                return outcome_response(self.status_code(), outcome)
            }
            Self::Auth(error) => return refusal_response(error),
            Self::NotFound(what) => outcome(IssueType::NotFound, what),
            Self::Gone => outcome(IssueType::Deleted, "the resource is deleted"),
            Self::BadRequest(what) => outcome(IssueType::Invalid, what),
            Self::Forbidden(why) => outcome(IssueType::Forbidden, why),
            Self::UnsupportedMediaType => outcome(
                IssueType::NotSupported,
                "unsupported media type: send application/fhir+json (or application/json)",
            ),
            Self::PreconditionFailed(why) => outcome(IssueType::Conflict, why),
            Self::Conflict(why) => outcome(IssueType::Conflict, why),
            Self::NotSupported(what) => outcome(IssueType::NotSupported, what),
            Self::TooCostly(why) => outcome(IssueType::TooCostly, why),
            Self::Internal(detail) => {
                tracing::error!(%detail, "Request failed.");
                outcome(IssueType::Exception, "internal error; see the server log")
            }
        };
        outcome_response(self.status_code(), &body)
    }
}

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "fhir-bridge";

/// The FHIR issue type code of an authentication failure.
fn issue_code(error: &AuthError) -> &'static str {
    match error.resource_status() {
        401 => "login",
        403 => "forbidden",
        _ => "transient",
    }
}

/// The status of an authentication failure on a protected resource (401 or 403).
pub(crate) fn refusal_status(error: &AuthError) -> StatusCode {
    StatusCode::from_u16(error.resource_status()).unwrap_or(StatusCode::UNAUTHORIZED)
}

/// The answer to an authentication failure on a protected resource: its status, a
/// `WWW-Authenticate` challenge, an OperationOutcome.
pub(crate) fn refusal_response(error: &AuthError) -> HttpResponse {
    // fhir_models' IssueType has no `login`/`forbidden`, so the OperationOutcome is built here.
    let body = serde_json::json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": issue_code(error), "diagnostics": error.to_string()}],
    });
    let mut response = HttpResponse::build(refusal_status(error));
    let challenge = match (error.resource_status(), error.oauth_code()) {
        (401, OAuthErrorCode::InvalidToken) => Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")),
        (401, _) => Some(format!("Bearer realm=\"{REALM}\"")),
        (403, _) => Some(format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\"")),
        _ => None,
    };
    if let Some(value) = challenge.and_then(|text| HeaderValue::from_str(&text).ok()) {
        response.insert_header((header::WWW_AUTHENTICATE, value));
    }
    response.content_type(fhir_models::JSON_MIME_TYPE).body(body.to_string())
}
