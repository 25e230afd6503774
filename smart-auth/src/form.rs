//! The token request: an `application/x-www-form-urlencoded` body parsed by hand, so that a
//! repeated parameter is refused (RFC 6749 §3.2) and every failure is an OAuth error, not a
//! framework error page.

use super::error::AuthError;

/// The grant type SMART Backend Services use.
pub const GRANT_TYPE_CLIENT_CREDENTIALS: &str = "client_credentials";
/// The client assertion type of a JWT client assertion (RFC 7523).
pub const ASSERTION_TYPE_JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Largest token request body accepted, in bytes.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// A token request's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// `grant_type`: must be `client_credentials`.
    pub grant_type: String,
    /// `scope`: space-separated requested scopes.
    pub scope: String,
    /// `client_assertion_type`: must be the jwt-bearer URN.
    pub client_assertion_type: String,
    /// `client_assertion`: the signed JWT.
    pub client_assertion: String,
    /// `client_id`: optional; when present it must equal the assertion's `iss`.
    pub client_id: Option<String>,
}

impl TokenRequest {
    /// Parses a form-encoded body. Unknown parameters are ignored (RFC 6749 §3.2); repeated ones
    /// are refused; the required ones are checked by the token exchange.
    pub fn from_form(body: &[u8]) -> Result<TokenRequest, AuthError> {
        if body.len() > MAX_TOKEN_REQUEST_BYTES {
            return Err(AuthError::MalformedRequest("body too large"));
        }
        let body = std::str::from_utf8(body).map_err(|_| AuthError::MalformedRequest("body is not UTF-8"))?;
        let mut request = TokenRequest::default();
        let mut seen_client_id = false;
        let mut seen = [false; 4];
        for pair in body.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (percent_decode(name)?, percent_decode(value)?);
            let (index, slot) = match name.as_str() {
                "grant_type" => (0, &mut request.grant_type),
                "scope" => (1, &mut request.scope),
                "client_assertion_type" => (2, &mut request.client_assertion_type),
                "client_assertion" => (3, &mut request.client_assertion),
                "client_id" => {
                    if std::mem::replace(&mut seen_client_id, true) {
                        return Err(AuthError::MalformedRequest("a parameter is repeated"));
                    }
                    request.client_id = Some(value);
                    continue;
                }
                _ => continue,
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(AuthError::MalformedRequest("a parameter is repeated"));
            }
            *slot = value;
        }
        Ok(request)
    }
}

/// Decodes `+` as space and `%XX` escapes; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, AuthError> {
    const BAD: AuthError = AuthError::MalformedRequest("bad percent-encoding");
    let mut bytes = Vec::with_capacity(text.len());
    let mut input = text.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = input.next().and_then(hex_value).ok_or(BAD)?;
                let low = input.next().and_then(hex_value).ok_or(BAD)?;
                bytes.push(high << 4 | low);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| BAD)
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).and_then(|digit| u8::try_from(digit).ok())
}
