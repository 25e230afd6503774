//! The actix side: the token handler over a real service, and the extractor's 401/403 responses.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::test as actix_test;
use actix_web::{web, App, FromRequest, HttpResponse};
use serde_json::Value;
use smart_auth::testing::{authenticator, authenticator_with, config, es384_assertion, HOSPITAL};
use smart_auth::{AuthConfig, DevStaticTokenConfig, ASSERTION_TYPE_JWT_BEARER};

use super::*;
use crate::error::refusal_response;

fn run<F: std::future::Future>(future: F) -> F::Output {
    actix_web::rt::System::new().block_on(future)
}

async fn protected(caller: Authenticated) -> Result<HttpResponse, ApiError> {
    caller.0.require_read("Observation")?;
    Ok(HttpResponse::Ok().body(caller.0.client_id))
}

fn body_json(response: HttpResponse) -> Value {
    serde_json::from_slice(&response.into_body().try_into_bytes().unwrap()).unwrap()
}

#[test]
fn token_endpoint_then_protected_route() {
    run(async {
        let (authenticator, _clock) = authenticator();
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(Arc::new(authenticator)))
                .route("/auth/token", web::post().to(token))
                .route("/fhir/Observation", web::get().to(protected)),
        )
        .await;
        let form = |assertion: &str, scope: &str| {
            format!(
                "grant_type=client_credentials&scope={scope}&client_assertion_type={ASSERTION_TYPE_JWT_BEARER}\
                 &client_assertion={assertion}"
            )
        };
        let post = |body: String, content_type: &'static str| {
            actix_test::TestRequest::post()
                .uri("/auth/token")
                .insert_header(("Content-Type", content_type))
                .set_payload(body)
        };
        let form_type = "application/x-www-form-urlencoded";

        let response =
            actix_test::call_service(&app, post(form(&es384_assertion(), "system/*.rs"), form_type).to_request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers().get("Cache-Control").unwrap(), "no-store");
        let body: Value = actix_test::read_body_json(response).await;
        assert_eq!((body["token_type"].as_str(), body["expires_in"].as_u64()), (Some("bearer"), Some(300)));
        let token = body["access_token"].as_str().unwrap().to_owned();

        let get = actix_test::TestRequest::get().uri("/fhir/Observation");
        let response = actix_test::call_service(
            &app,
            get.insert_header(("Authorization", format!("Bearer {token}"))).to_request(),
        )
        .await;
        assert_eq!(response.status(), 200);
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::get().uri("/fhir/Observation").to_request()).await;
        assert_eq!(response.status(), 401);

        let replayed = es384_assertion();
        let ok = actix_test::call_service(&app, post(form(&replayed, "system/*.rs"), form_type).to_request()).await;
        assert_eq!(ok.status(), 200);
        let response =
            actix_test::call_service(&app, post(form(&replayed, "system/*.rs"), form_type).to_request()).await;
        assert_eq!(response.status(), 401);
        let body: Value = actix_test::read_body_json(response).await;
        assert_eq!(body["error"], "invalid_client");

        let response =
            actix_test::call_service(&app, post(form(&es384_assertion(), "system/*.cruds"), form_type).to_request())
                .await;
        assert_eq!(response.status(), 400);
        let body: Value = actix_test::read_body_json(response).await;
        assert_eq!(body["error"], "invalid_scope");

        let response = actix_test::call_service(
            &app,
            post(form(&es384_assertion(), "system/*.rs"), "application/json").to_request(),
        )
        .await;
        assert_eq!(response.status(), 400);
        let body: Value = actix_test::read_body_json(response).await;
        assert_eq!(body["error"], "invalid_request");
    });
}

#[test]
fn extractor_refuses_with_401_and_a_bearer_challenge() {
    let (authenticator, _clock) = authenticator();
    let request = actix_test::TestRequest::default()
        .app_data(web::Data::new(Arc::new(authenticator)))
        .insert_header(("Authorization", "Bearer nope"))
        .to_http_request();
    let error = Authenticated::from_request(&request, &mut actix_web::dev::Payload::None).into_inner().unwrap_err();
    assert!(matches!(error.as_error::<ApiError>(), Some(ApiError::Auth(AuthError::UnknownToken))));
    let response = error.error_response();
    assert_eq!(response.status(), 401);
    let challenge = response.headers().get("WWW-Authenticate").unwrap().to_str().unwrap().to_owned();
    assert!(challenge.starts_with("Bearer ") && challenge.contains("invalid_token"), "{challenge}");
    let body = body_json(response);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "login");

    let missing = refusal_response(&AuthError::MissingToken);
    assert_eq!(missing.headers().get("WWW-Authenticate").unwrap(), "Bearer realm=\"fhir-bridge\"");
}

#[test]
fn insufficient_scope_is_403_forbidden() {
    let response = refusal_response(&AuthError::InsufficientScope);
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("WWW-Authenticate").unwrap().to_str().unwrap().contains("insufficient_scope"));
    assert_eq!(body_json(response)["issue"][0]["code"], "forbidden");
}

#[test]
fn without_an_authenticator_everything_is_refused() {
    let request = actix_test::TestRequest::default().insert_header(("Authorization", "Bearer x")).to_http_request();
    let error = Authenticated::from_request(&request, &mut actix_web::dev::Payload::None).into_inner().unwrap_err();
    assert!(matches!(error.as_error::<ApiError>(), Some(ApiError::Auth(AuthError::NotConfigured))));
    assert_eq!(error.error_response().status(), 503);
}

#[test]
fn a_client_over_its_rate_limit_gets_429_with_retry_after_before_its_handler() {
    const DEV_TOKEN: &str = "rate-limited-dev-token-1";
    let dev = DevStaticTokenConfig { token: DEV_TOKEN.into(), client_id: HOSPITAL.into(), scopes: vec![] };
    let (authenticator, _clock) = authenticator_with(&AuthConfig { dev_static_tokens: vec![dev], ..config() });
    let request = actix_test::TestRequest::default()
        .app_data(web::Data::new(Arc::new(authenticator)))
        .app_data(web::Data::new(crate::rate_limit::RateLimiter::new(1, 2)))
        .insert_header(("Authorization", format!("Bearer {DEV_TOKEN}")))
        .to_http_request();
    let extract = || Authenticated::from_request(&request, &mut actix_web::dev::Payload::None).into_inner();
    assert!(extract().is_ok() && extract().is_ok(), "the burst");
    let error = extract().expect_err("over the limit");
    let response = error.error_response();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("Retry-After").unwrap(), "1");
    let body = body_json(response);
    assert_eq!(
        (body["resourceType"].as_str(), body["issue"][0]["code"].as_str()),
        (Some("OperationOutcome"), Some("throttled"))
    );
}

#[test]
fn the_token_endpoint_is_rate_limited_per_address() {
    let (authenticator, _clock) = authenticator();
    let authenticator = web::Data::new(Arc::new(authenticator));
    let limiter = web::Data::new(crate::rate_limit::RateLimiter::new(1, 1));
    let from = |ip: &str| {
        actix_test::TestRequest::post()
            .app_data(limiter.clone())
            .peer_addr(format!("{ip}:4000").parse().unwrap())
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .to_http_request()
    };
    let call = |ip: &str| run(token(Some(authenticator.clone()), from(ip), web::Bytes::from_static(b"grant_type=x")));
    assert_eq!(call("10.0.0.1").status(), 400, "the first request is read (and refused for its grant type)");
    let limited = call("10.0.0.1");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().get("Retry-After").is_some());
    assert_eq!(body_json(limited)["error"], "temporarily_unavailable");
    assert_eq!(call("10.0.0.2").status(), 400, "another address has its own budget");
}
