//! The HTTP API: FHIR under `/fhir`, the ledger under `/ledger`, the custodian's
//! `/peer/records`, operations (`/healthz`, `/metrics`) and the token endpoint (`/auth/token`).
//! [`routes`] is the route table; handlers are grouped per area; [`serve`] runs the server.
//!
//! Modules, bottom up: `config`, `error`, `outcomes`, `rate_limit`, `auth`, `state`, `audit`,
//! `interaction` (Prefer, ETags, Location, the answer to a write), then one per area of routes
//! (`discovery`, `fhir`, `history`, `search`, `provenance`, `ledger`, `peer`), then this one.
//!
//! **Architecture Invariants:**
//! - Every handler but `healthz`, `metadata`, `smart_configuration` and `token` takes an [`Authenticated`] caller, so a
//!   route without authentication cannot be written by accident of omission without it showing
//!   in its signature; FHIR handlers check the caller's SMART scopes for the resource types they
//!   touch before they decode a body where the route names the type, and `POST /fhir` refuses
//!   a caller who may change nothing before it decodes the Bundle.
//! - This is the only crate that knows actix-web. It knows nothing of how the writer stores or
//!   of the sources beside it: it submits to `ingest-pipeline`'s writer, reads through
//!   `node-store`, answers peers and searches through `exchange`, and asks the sources' health
//!   through [`SourceHealth`].

mod audit;
mod auth;
mod bulk_export;
mod bundle;
mod chained_search;
mod conditional;
mod config;
mod discovery;
mod error;
mod fhir;
mod history;
mod include;
mod indexed_search;
mod interaction;
mod ledger;
mod outcomes;
mod peer;
mod provenance;
mod rate_limit;
mod search;
mod state;
mod transaction;

use std::sync::Arc;

use actix_web::{web, HttpResponse};

pub use auth::{authenticate_request, oauth_error_response, token, Authenticated};
pub use config::HttpConfig;
pub use error::ApiError;
pub use outcomes::error_outcomes;
pub use rate_limit::{RateLimited, RateLimiter};
pub use state::{AppState, SourceHealth, SourceStatus};

use smart_auth::Authenticator;

/// The route table, with extractor errors and unknown routes answered as OperationOutcomes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| {
        ApiError::BadRequest("a path segment has an invalid value (a version is a positive integer)".into()).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|_, _| {
        ApiError::BadRequest("a query parameter is missing or has an invalid value".into()).into()
    }))
    .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::NotFound("no such route")) }))
    .route("/healthz", web::get().to(healthz))
    .route("/auth/token", web::post().to(token))
    .route("/metrics", web::get().to(metrics))
    .route("/ledger/head", web::get().to(ledger::head))
    .route("/ledger/proof/{seq}", web::get().to(ledger::proof))
    .route("/ledger/consistency", web::get().to(ledger::consistency))
    .route("/fhir/metadata", web::get().to(discovery::metadata))
    .route("/fhir/.well-known/smart-configuration", web::get().to(discovery::smart_configuration))
    .route("/fhir/AuditEvent", web::get().to(audit::audit_events))
    .route("/fhir/Provenance", web::get().to(provenance::provenance))
    .service(
        web::resource(exchange::RECORDS_PATH)
            .route(web::get().to(peer::records))
            .route(web::post().to(peer::identified)),
    )
    .route("/fhir", web::post().to(bundle::post_bundle))
    // Before `/fhir/{type}` and `/fhir/{type}/{id}`, which would take `$export` for a type or id.
    .route("/fhir/$export", web::get().to(bulk_export::system))
    .route("/fhir/Patient/$export", web::get().to(bulk_export::patients))
    .route("/fhir/Group/{id}/$export", web::get().to(bulk_export::group))
    .service(
        web::resource("/fhir/$export-status/{id}")
            .route(web::get().to(bulk_export::status))
            .route(web::delete().to(bulk_export::cancel)),
    )
    .route("/fhir/$export-file/{id}/{n}", web::get().to(bulk_export::file))
    .route("/fhir/_history", web::get().to(history::system))
    .service(web::resource("/fhir/{type}/_history").route(web::get().to(history::of_type)))
    .service(
        web::resource("/fhir/{type}")
            .route(web::get().to(search::search))
            .route(web::post().to(fhir::create))
            .route(web::put().to(conditional::on_type))
            .route(web::delete().to(conditional::on_type)),
    )
    .service(
        web::resource("/fhir/{type}/{id}")
            .route(web::get().to(fhir::read))
            .route(web::put().to(fhir::update))
            .route(web::patch().to(fhir::patch))
            .route(web::delete().to(fhir::delete)),
    )
    .route("/fhir/{type}/{id}/_history", web::get().to(history::instance))
    .route("/fhir/{type}/{id}/_history/{version}", web::get().to(fhir::read_version));
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    use ledger_adapter::LedgerReader;
    let (healthy, body) = health(state.node.ledger.tree_size().ok(), &state.sources);
    if healthy {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The `/healthz` answer: healthy or not (200 or 503), and its body. Broker outages are retried,
/// not fatal: they are reported ("degraded") so that orchestration and people see them.
fn health(ledger_records: Option<u64>, sources: &[Arc<dyn SourceHealth>]) -> (bool, serde_json::Value) {
    let Some(size) = ledger_records else {
        return (false, serde_json::json!({"status": "ledger unavailable"}));
    };
    let mut body = serde_json::json!({"status": "ok", "ledger_records": size});
    let mut degraded = false;
    for source in sources {
        body[source.name()] = match source.status() {
            SourceStatus::Off => serde_json::Value::Null,
            SourceStatus::Ok => serde_json::Value::from("ok"),
            SourceStatus::Problem(problem) => {
                degraded = true;
                serde_json::Value::String(problem)
            }
        };
    }
    if degraded {
        body["status"] = serde_json::Value::from("degraded");
    }
    (!degraded, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Source(SourceStatus);

    impl SourceHealth for Source {
        fn name(&self) -> &'static str {
            "kafka"
        }

        fn status(&self) -> SourceStatus {
            self.0.clone()
        }
    }

    fn body_of(ledger: Option<u64>, status: SourceStatus) -> (bool, String) {
        let sources: Vec<Arc<dyn SourceHealth>> = vec![Arc::new(Source(status))];
        let (healthy, body) = health(ledger, &sources);
        (healthy, body.to_string())
    }

    #[test]
    fn health_reports_each_source_and_is_degraded_by_a_problem() {
        assert_eq!(
            body_of(Some(3), SourceStatus::Off),
            (true, r#"{"kafka":null,"ledger_records":3,"status":"ok"}"#.into())
        );
        assert_eq!(
            body_of(Some(3), SourceStatus::Ok),
            (true, r#"{"kafka":"ok","ledger_records":3,"status":"ok"}"#.into())
        );
        assert_eq!(
            body_of(Some(3), SourceStatus::Problem("broker down".into())),
            (false, r#"{"kafka":"broker down","ledger_records":3,"status":"degraded"}"#.into())
        );
        assert_eq!(body_of(None, SourceStatus::Ok), (false, r#"{"status":"ledger unavailable"}"#.into()));
    }
}

async fn metrics(state: web::Data<AppState>, Authenticated(caller): Authenticated) -> Result<HttpResponse, ApiError> {
    use ledger_adapter::LedgerReader;
    caller.require_service(smart_auth::ServiceScope::MetricsRead)?;
    if let Ok(size) = state.node.ledger.tree_size() {
        state.writer.metrics().ledger_records.set(i64::try_from(size).unwrap_or(i64::MAX));
    }
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &state.metrics);
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text))
}

/// Why the HTTP server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound (in use, not ours, no permission).
    #[error("cannot listen on {listen}")]
    Bind {
        /// The address.
        listen: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("HTTP server")]
    Run(#[source] std::io::Error),
}

/// Runs the HTTP server on `listen` until SIGTERM, SIGINT or SIGQUIT; then it stops accepting
/// and lets in-flight requests finish (each has its receipts only once durable).
pub fn serve(
    http: &HttpConfig,
    listen: std::net::SocketAddr,
    state: AppState,
    authenticator: Arc<Authenticator>,
) -> Result<(), ServeError> {
    let max_body = http.max_body_bytes;
    let limiter = (http.rate_limit_per_s > 0)
        .then(|| web::Data::new(RateLimiter::new(http.rate_limit_per_s, http.rate_limit_burst)));
    let workers = http.workers;
    actix_web::rt::System::new().block_on(async move {
        let mut server = actix_web::HttpServer::new(move || {
            let mut app = actix_web::App::new()
                .wrap(error_outcomes())
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(authenticator.clone()))
                .app_data(web::PayloadConfig::new(max_body));
            if let Some(limiter) = &limiter {
                app = app.app_data(limiter.clone());
            }
            app.configure(routes)
        })
        .shutdown_timeout(30)
        .bind(listen)
        .map_err(|source| ServeError::Bind { listen, source })?;
        if workers > 0 {
            server = server.workers(workers);
        }
        server.run().await.map_err(ServeError::Run)
    })
}
