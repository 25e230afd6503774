//! Prometheus metrics of the service (`GET /metrics`). Names follow
//! `bridge_<noun>_<verb>_total` for counters and carry their unit.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    /// Resources accepted as new versions.
    pub resources_accepted: Counter,
    /// Resources recognised as duplicates.
    pub resources_duplicate: Counter,
    /// Resources or submissions rejected.
    pub resources_rejected: Counter,
    /// Blocks committed.
    pub blocks_committed: Counter,
    /// Seconds from a batch's start to its durable commit.
    pub commit_seconds: Histogram,
    /// Records in the ledger.
    pub ledger_records: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("bridge");
        let resources_accepted = Counter::default();
        let resources_duplicate = Counter::default();
        let resources_rejected = Counter::default();
        let blocks_committed = Counter::default();
        let commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        let ledger_records = Gauge::default();
        registry.register("resources_accepted", "Resources accepted as new versions", resources_accepted.clone());
        registry.register(
            "resources_duplicate",
            "Resources whose content was stored already",
            resources_duplicate.clone(),
        );
        registry.register("resources_rejected", "Resources or submissions rejected", resources_rejected.clone());
        registry.register("blocks_committed", "Ledger blocks committed", blocks_committed.clone());
        registry.register("commit_seconds", "Time from batch start to durable commit", commit_seconds.clone());
        registry.register("ledger_records", "Records in the ledger", ledger_records.clone());
        Self {
            registry,
            resources_accepted,
            resources_duplicate,
            resources_rejected,
            blocks_committed,
            commit_seconds,
            ledger_records,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
