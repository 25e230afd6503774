//! What FHIR clients expect around a resource interaction: the `Prefer` header, ETags and
//! `If-Match` / `If-None-Match`, `Last-Modified`, absolute `Location`s from the public base URL,
//! `_format`, and the answer to a write (the resource, nothing, or an OperationOutcome), with the
//! ledger receipt in response headers rather than in the body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use fhir_models::validate::{IssueType, Severity, ValidationIssue};
use ingest_pipeline::Receipt;

use crate::error::ApiError;
use crate::state::AppState;

/// What `Prefer: return=` asks of a write's answer (FHIR R4 §3.1.0.8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    /// The resource as stored (the default).
    Representation,
    /// No body.
    Minimal,
    /// An OperationOutcome about the write.
    OperationOutcome,
}

/// The `Prefer` header's parts that the server honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefer {
    /// `return=`.
    pub return_: Return,
    /// `handling=strict`: unknown search parameters are an error, not ignored.
    pub strict: bool,
    /// `respond-async`.
    pub respond_async: bool,
}

impl Prefer {
    /// From the request's `Prefer` headers (several, or comma-separated; unknown ones ignored,
    /// as RFC 7240 says).
    pub fn of(request: &HttpRequest) -> Prefer {
        let mut prefer = Prefer { return_: Return::Representation, strict: false, respond_async: false };
        for value in request.headers().get_all("prefer").filter_map(|v| v.to_str().ok()) {
            for token in value.split([',', ';']).map(str::trim) {
                match token.to_ascii_lowercase().replace(' ', "").as_str() {
                    "return=minimal" => prefer.return_ = Return::Minimal,
                    "return=representation" => prefer.return_ = Return::Representation,
                    "return=operationoutcome" => prefer.return_ = Return::OperationOutcome,
                    "handling=strict" => prefer.strict = true,
                    "handling=lenient" => prefer.strict = false,
                    "respond-async" => prefer.respond_async = true,
                    _ => {}
                }
            }
        }
        prefer
    }
}

/// The weak ETag of a version.
pub fn etag(version: u32) -> String {
    format!("W/\"{version}\"")
}

/// The version an ETag names: `W/"3"`, `"3"` or `3`.
pub fn parse_etag(text: &str) -> Option<u32> {
    let text = text.trim();
    let text = text.strip_prefix("W/").unwrap_or(text);
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    text.parse().ok().filter(|v| *v > 0)
}

/// The version `If-Match` requires, if the header is there; a malformed one is refused rather
/// than ignored (ignoring it would write over what the client meant to protect).
pub fn if_match(request: &HttpRequest) -> Result<Option<u32>, ApiError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else { return Ok(None) };
    value
        .to_str()
        .ok()
        .and_then(parse_etag)
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest("If-Match is not a version ETag such as W/\"3\"".into()))
}

/// Whether `If-None-Match` names `version` (or `*`).
pub fn if_none_match(request: &HttpRequest, version: u32) -> bool {
    request
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .any(|value| value.split(',').any(|tag| tag.trim() == "*" || parse_etag(tag) == Some(version)))
}

/// An HTTP date (`Last-Modified`) of a time in milliseconds since the Unix epoch.
pub fn http_date(time_ms: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(time_ms);
    header::HttpDate::from(time).to_string()
}

/// The server's public FHIR base URL, without a trailing slash: `http.public_base_url`, or the
/// scheme and host the request came to, and `/fhir`.
pub fn base_url(state: &AppState, request: &HttpRequest) -> String {
    match &state.public_base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => {
            // The Host the client named (never `Forwarded` or `X-Forwarded-*`, which any client
            // can set), if it is a plain host[:port]; else the address the request reached.
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| {
                    !h.is_empty()
                        && h.len() <= 255
                        && h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
                })
                .map(str::to_owned)
                .unwrap_or_else(|| request.app_config().host().to_owned());
            format!("http://{host}/fhir")
        }
    }
}

/// Refuses a `_format` other than JSON (this server speaks FHIR JSON only).
pub fn check_format(request: &HttpRequest) -> Result<(), ApiError> {
    let query = request.query_string();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name == "_format" {
            // An unencoded `+` (`application/fhir+json`) arrives as a space.
            let value = value.to_ascii_lowercase().replace(' ', "+");
            let json = matches!(value.as_str(), "json" | "application/json" | "application/fhir+json")
                || value.starts_with("application/fhir+json;")
                || value.starts_with("application/json;");
            if !json {
                return Err(ApiError::UnsupportedMediaType);
            }
        }
    }
    Ok(())
}

/// The ledger receipt as response headers: where the version is on the ledger.
pub fn receipt_headers(response: &mut HttpResponseBuilder, receipt: &Receipt) {
    if let Some(seq) = receipt.seq {
        response.insert_header(("X-Ledger-Seq", seq.to_string()));
    }
    if let Some(height) = receipt.block_height {
        response.insert_header(("X-Ledger-Block", height.to_string()));
    }
    if let Some(cid) = &receipt.cid {
        response.insert_header(("X-Ledger-Cid", cid.clone()));
    }
    if receipt.duplicate {
        response.insert_header(("X-Ledger-Duplicate", "true"));
    }
}

/// Notes about a write (a Consent that grants less than it names) as issues.
pub fn note_issues(notes: &[String]) -> Vec<ValidationIssue> {
    notes
        .iter()
        .map(|note| ValidationIssue {
            severity: Severity::Information,
            code: IssueType::Informational,
            path: String::new(),
            message: note.clone(),
        })
        .collect()
}

/// An OperationOutcome JSON body of `issues` (no paths: they name no element).
pub fn outcome_json(issues: &[ValidationIssue]) -> Vec<u8> {
    let mut outcome = fhir_models::validate::to_operation_outcome(issues);
    for issue in &mut outcome.issue {
        issue.expression.clear();
    }
    fhir_models::to_json(&outcome)
}

/// The answer to a create or update: `status`, `Location`, `ETag`, `Last-Modified`, the
/// receipt headers, and the body `Prefer` asks for. `resource` is the stored version (with its
/// `meta`), `time_ms` its time on the ledger.
pub fn written(
    status: StatusCode,
    location: &str,
    receipt: &Receipt,
    time_ms: u64,
    resource: Option<Vec<u8>>,
    notes: &[String],
    prefer: Prefer,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(receipt.version)))
        .insert_header((header::LAST_MODIFIED, http_date(time_ms)));
    receipt_headers(&mut response, receipt);
    if !notes.is_empty() {
        // A header can carry them beside any body; the text names elements and organisations only.
        if let Ok(value) = HeaderValue::from_str(&notes.join(" | ").replace(['\r', '\n'], " ")) {
            response.insert_header(("X-Bridge-Notes", value));
        }
    }
    match (prefer.return_, resource) {
        (Return::Minimal, _) => response.finish(),
        (Return::Representation, Some(body)) => response.content_type(fhir_models::JSON_MIME_TYPE).body(body),
        (Return::OperationOutcome, _) | (Return::Representation, None) => {
            let mut issues = vec![ValidationIssue {
                severity: Severity::Information,
                code: IssueType::Informational,
                path: String::new(),
                message: format!(
                    "{} {}/{} version {}",
                    if receipt.duplicate { "already stored:" } else { "stored:" },
                    receipt.resource_type,
                    receipt.id,
                    receipt.version
                ),
            }];
            issues.extend(note_issues(notes));
            response.content_type(fhir_models::JSON_MIME_TYPE).body(outcome_json(&issues))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_parse_weak_strong_and_bare_versions_only() {
        assert_eq!(parse_etag("W/\"3\""), Some(3));
        assert_eq!(parse_etag("\"12\""), Some(12));
        assert_eq!(parse_etag(" 7 "), Some(7));
        assert_eq!(parse_etag("W/\"0\""), None);
        assert_eq!(parse_etag("W/\"abc\""), None);
        assert_eq!(parse_etag("*"), None);
        assert_eq!(etag(4), "W/\"4\"");
    }

    #[test]
    fn prefer_reads_return_handling_and_async_from_any_header() {
        let request = actix_web::test::TestRequest::default()
            .insert_header(("Prefer", "return=minimal, handling=strict"))
            .to_http_request();
        assert_eq!(Prefer::of(&request), Prefer { return_: Return::Minimal, strict: true, respond_async: false });
        let request = actix_web::test::TestRequest::default()
            .append_header(("Prefer", "respond-async"))
            .append_header(("Prefer", "return=OperationOutcome"))
            .to_http_request();
        assert_eq!(
            Prefer::of(&request),
            Prefer { return_: Return::OperationOutcome, strict: false, respond_async: true }
        );
        let request = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(Prefer::of(&request).return_, Return::Representation);
    }

    #[test]
    fn if_none_match_matches_the_version_or_a_star() {
        let request = actix_web::test::TestRequest::default()
            .insert_header(("If-None-Match", "W/\"2\", W/\"3\""))
            .to_http_request();
        assert!(if_none_match(&request, 3) && if_none_match(&request, 2) && !if_none_match(&request, 4));
        let star = actix_web::test::TestRequest::default().insert_header(("If-None-Match", "*")).to_http_request();
        assert!(if_none_match(&star, 9));
    }

    #[test]
    fn a_malformed_if_match_is_refused_not_ignored() {
        let request =
            actix_web::test::TestRequest::default().insert_header(("If-Match", "yesterday")).to_http_request();
        assert!(if_match(&request).is_err());
        let request = actix_web::test::TestRequest::default().insert_header(("If-Match", "W/\"5\"")).to_http_request();
        assert_eq!(if_match(&request).unwrap(), Some(5));
    }

    #[test]
    fn formats_other_than_json_are_refused() {
        for (query, ok) in [("_format=json", true), ("_format=application/fhir%2Bjson", true), ("_format=xml", false)] {
            let request = actix_web::test::TestRequest::with_uri(&format!("/fhir/Patient?{query}")).to_http_request();
            assert_eq!(check_format(&request).is_ok(), ok, "{query}");
        }
    }

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
