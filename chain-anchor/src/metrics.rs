//! The anchorer's Prometheus metrics, registered beside the others under the service's prefix.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// What the anchorer counts.
#[derive(Debug, Clone)]
pub struct AnchorMetrics {
    /// Anchors that reached the configured finality.
    pub anchors_final: Counter,
    /// Steps that failed (chain unreachable, refused, reverted); each is retried.
    pub errors: Counter,
    /// Transactions sent again (dropped, reorganised out, nonce taken).
    pub resends: Counter,
    /// Stuck transactions replaced with higher fees.
    pub replacements: Counter,
    /// Gas used by final anchors.
    pub gas_used: Counter,
    /// Ledger blocks not covered by a final anchor.
    pub lag_blocks: Gauge,
    /// When the last anchor became final, seconds since the Unix epoch (0: never).
    pub last_success_seconds: Gauge,
    /// Seconds from a block's sealing to its anchor being final.
    pub sealed_to_final_seconds: Histogram,
}

impl Default for AnchorMetrics {
    fn default() -> Self {
        AnchorMetrics {
            anchors_final: Counter::default(),
            errors: Counter::default(),
            resends: Counter::default(),
            replacements: Counter::default(),
            gas_used: Counter::default(),
            lag_blocks: Gauge::default(),
            last_success_seconds: Gauge::default(),
            sealed_to_final_seconds: Histogram::new(exponential_buckets(0.25, 2.0, 14)),
        }
    }
}

impl AnchorMetrics {
    /// Adds them to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "chain_anchors_final",
            "Ledger heads anchored at the configured finality",
            self.anchors_final.clone(),
        );
        registry.register("chain_anchor_errors", "Anchoring steps that failed (each is retried)", self.errors.clone());
        registry.register("chain_anchor_resends", "Anchor transactions sent again", self.resends.clone());
        registry.register(
            "chain_anchor_replacements",
            "Stuck anchor transactions replaced with higher fees",
            self.replacements.clone(),
        );
        registry.register("chain_anchor_gas_used", "Gas used by final anchors", self.gas_used.clone());
        registry.register(
            "chain_anchor_lag_blocks",
            "Ledger blocks not covered by a final anchor",
            self.lag_blocks.clone(),
        );
        registry.register(
            "chain_anchor_last_success_timestamp_seconds",
            "When the last anchor became final (Unix seconds; 0: never)",
            self.last_success_seconds.clone(),
        );
        registry.register(
            "chain_anchor_sealed_to_final_seconds",
            "Time from a block's sealing to its anchor being final",
            self.sealed_to_final_seconds.clone(),
        );
    }
}
