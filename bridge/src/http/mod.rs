//! The HTTP API: FHIR under `/fhir`, the ledger under `/ledger`, operations (`/healthz`,
//! `/metrics`) and the token endpoint (`/auth/token`). [`routes`] is the route table; handlers
//! are grouped per area.
//!
//! **Architecture Invariant:** every handler but `healthz`, `metadata` and `token` takes an
//! [`Authenticated`] caller, so a route without authentication cannot be written by accident
//! of omission without it showing in its signature; FHIR handlers check the caller's SMART
//! scopes for the resource types they touch.

mod audit;
mod error;
mod fhir;
mod ledger;
mod outcomes;
mod peer;
mod provenance;
mod search;

use std::sync::Arc;

use actix_web::{web, HttpResponse};

pub use error::ApiError;
pub use outcomes::error_outcomes;

use crate::auth::Authenticated;
use crate::metrics::Metrics;
use crate::pipeline::batcher::BatcherHandle;
use crate::store::Node;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's storage.
    pub node: Arc<Node>,
    /// The single writer.
    pub writer: BatcherHandle,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The Kafka connector's health, when it runs.
    pub kafka: Option<Arc<crate::sources::kafka::KafkaHealth>>,
    /// The client to peer custodians, for searches.
    pub peer_client: Arc<crate::peers::PeerClient>,
}

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
    .route("/auth/token", web::post().to(crate::auth::token))
    .route("/metrics", web::get().to(metrics))
    .route("/ledger/head", web::get().to(ledger::head))
    .route("/ledger/proof/{seq}", web::get().to(ledger::proof))
    .route("/ledger/consistency", web::get().to(ledger::consistency))
    .route("/fhir/metadata", web::get().to(fhir::metadata))
    .route("/fhir/AuditEvent", web::get().to(audit::audit_events))
    .route("/fhir/Provenance", web::get().to(provenance::provenance))
    .route(crate::peers::RECORDS_PATH, web::get().to(peer::records))
    .route("/fhir", web::post().to(fhir::post_bundle))
    .route("/fhir/{type}", web::get().to(search::search))
    .route("/fhir/{type}", web::post().to(fhir::create))
    .route("/fhir/{type}/{id}", web::put().to(fhir::update))
    .route("/fhir/{type}/{id}", web::get().to(fhir::read))
    .route("/fhir/{type}/{id}", web::delete().to(fhir::delete))
    .route("/fhir/{type}/{id}/_history/{version}", web::get().to(fhir::read_version));
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    use ledger_adapter::LedgerReader;
    let kafka = state.kafka.as_ref().map(|health| health.problem());
    match (state.node.ledger.tree_size(), kafka) {
        (Err(_), _) => HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "ledger unavailable"})),
        // Broker outages are retried, not fatal: report them so orchestration and people see them.
        (Ok(size), Some(Some(problem))) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "degraded", "ledger_records": size, "kafka": problem})),
        (Ok(size), kafka) => HttpResponse::Ok().json(serde_json::json!({
            "status": "ok",
            "ledger_records": size,
            "kafka": kafka.map(|_| "ok"),
        })),
    }
}

async fn metrics(state: web::Data<AppState>, Authenticated(caller): Authenticated) -> Result<HttpResponse, ApiError> {
    use ledger_adapter::LedgerReader;
    caller.require_service(crate::auth::ServiceScope::MetricsRead)?;
    if let Ok(size) = state.node.ledger.tree_size() {
        state.metrics.ledger_records.set(i64::try_from(size).unwrap_or(i64::MAX));
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render()))
}
