//! The writer's Prometheus metrics. Names follow `bridge_<noun>_<verb>_total` for counters and
//! carry their unit once registered under the service's `bridge` prefix.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// What the writer and the sources that submit to it count.
#[derive(Debug, Clone)]
pub struct WriterMetrics {
    /// Resources accepted as new versions.
    pub resources_accepted: Counter,
    /// Resources recognised as duplicates.
    pub resources_duplicate: Counter,
    /// Resources or submissions rejected (by any source).
    pub resources_rejected: Counter,
    /// Blocks committed.
    pub blocks_committed: Counter,
    /// Seconds from a batch's start to its durable commit.
    pub commit_seconds: Histogram,
    /// Records in the ledger.
    pub ledger_records: Gauge,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        WriterMetrics {
            resources_accepted: Counter::default(),
            resources_duplicate: Counter::default(),
            resources_rejected: Counter::default(),
            blocks_committed: Counter::default(),
            commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
            ledger_records: Gauge::default(),
        }
    }
}

impl WriterMetrics {
    /// Adds them to `registry` (they keep counting wherever they are cloned to).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("resources_accepted", "Resources accepted as new versions", self.resources_accepted.clone());
        registry.register(
            "resources_duplicate",
            "Resources whose content was stored already",
            self.resources_duplicate.clone(),
        );
        registry.register("resources_rejected", "Resources or submissions rejected", self.resources_rejected.clone());
        registry.register("blocks_committed", "Ledger blocks committed", self.blocks_committed.clone());
        registry.register("commit_seconds", "Time from batch start to durable commit", self.commit_seconds.clone());
        registry.register("ledger_records", "Records in the ledger", self.ledger_records.clone());
    }
}
