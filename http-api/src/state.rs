//! What every handler can reach.

use std::sync::Arc;

use exchange::PeerClient;
use ingest_pipeline::batcher::BatcherHandle;
use node_store::Node;
use prometheus_client::registry::Registry;

/// A source beside the API (the Kafka connector) that `/healthz` reports on.
pub trait SourceHealth: Send + Sync {
    /// The source's name in the health answer (`kafka`).
    fn name(&self) -> &'static str;
    /// How it is now.
    fn status(&self) -> SourceStatus;
}

/// A source's state in `/healthz`: `null`, `"ok"`, or what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStatus {
    /// Not configured (`null`).
    Off,
    /// Running and healthy (`"ok"`).
    Ok,
    /// Running, with a problem that is being retried (the service answers 503 "degraded").
    Problem(String),
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's storage.
    pub node: Arc<Node>,
    /// The single writer (and its metrics).
    pub writer: BatcherHandle,
    /// Every metric of the service, for `/metrics`.
    pub metrics: Arc<Registry>,
    /// The health of the sources that run beside the API.
    pub sources: Vec<Arc<dyn SourceHealth>>,
    /// The client to peer custodians, for searches.
    pub peer_client: Arc<PeerClient>,
    /// `http.public_base_url`.
    pub public_base_url: Option<String>,
    /// Held from a conditional write's search to its commit, so two conditional writes cannot
    /// both find nothing and both create (the race of HAPI FHIR #3141).
    pub conditional: Arc<tokio::sync::Mutex<()>>,
    /// Bulk Data `$export` jobs.
    pub exports: Arc<crate::bulk_export::ExportJobs>,
}
