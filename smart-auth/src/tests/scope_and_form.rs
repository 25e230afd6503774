//! Scope syntax and coverage, and the form-encoded token request.

use super::super::scope::covers;
use super::*;

fn scope(text: &str) -> Scope {
    Scope::parse(text).unwrap()
}

#[test]
fn scope_syntax() {
    assert_eq!(scope("system/Observation.rs").to_string(), "system/Observation.rs");
    assert_eq!(scope("system/*.cruds").permissions, Permissions::ALL);
    assert_eq!(scope("system/*.read").to_string(), "system/*.rs");
    assert_eq!(scope("system/Patient.write").to_string(), "system/Patient.cud");
    assert_eq!(scope("system/Patient.*").to_string(), "system/Patient.cruds");
    for bad in [
        "system/*.sr",
        "system/*.rr",
        "system/*.",
        "system/*.x",
        "system/observation.r",
        "system/Obs-x.r",
        "patient/*.rs",
        "user/*.read",
        "launch",
        "openid",
        "system/*",
        "system/Observation.rs?category=x",
    ] {
        assert!(Scope::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn coverage_of_requested_scopes() {
    let allowed = [scope("system/*.r"), scope("system/Observation.s")];
    assert!(covers(&allowed, &scope("system/Observation.rs")));
    assert!(covers(&allowed, &scope("system/Patient.r")));
    assert!(!covers(&allowed, &scope("system/Patient.rs")));
    assert!(!covers(&allowed, &scope("system/*.rs")));
    assert!(covers(&allowed, &scope("system/*.r")));
    let typed = [scope("system/Observation.cruds")];
    assert!(!covers(&typed, &scope("system/*.r")));
}

#[test]
fn form_bodies_are_parsed_strictly() {
    let body = format!(
        "grant_type=client_credentials&scope=system%2FObservation.rs+system/Patient.r\
         &client_assertion_type={}&client_assertion=a.b.c&client_id=hospital-b&extra=1",
        ASSERTION_TYPE_JWT_BEARER.replace(':', "%3A")
    );
    let parsed = TokenRequest::from_form(body.as_bytes()).unwrap();
    assert_eq!(parsed.scope, "system/Observation.rs system/Patient.r");
    assert_eq!(parsed.client_assertion_type, ASSERTION_TYPE_JWT_BEARER);
    assert_eq!((parsed.client_assertion.as_str(), parsed.client_id.as_deref()), ("a.b.c", Some(HOSPITAL)));
    for bad in ["scope=a&scope=b", "client_id=a&client_id=b", "scope=%zz", "scope=%4", "scope=%ff"] {
        assert!(matches!(TokenRequest::from_form(bad.as_bytes()), Err(AuthError::MalformedRequest(_))), "{bad}");
    }
    assert!(TokenRequest::from_form(&vec![b'a'; 20_000]).is_err());
}
