//! The service's Prometheus registry (`GET /metrics`): every crate's metrics, registered under
//! the `bridge` prefix. Names follow `bridge_<noun>_<verb>_total` for counters and carry their unit.

use std::sync::Arc;

use ingest_pipeline::WriterMetrics;
use prometheus_client::registry::Registry;
use source_connectors::metrics::{KafkaMetrics, MllpMetrics};

/// The metrics of `serve`, and the registry that exposes them.
pub struct ServiceMetrics {
    /// The writer's (and every source's rejections).
    pub writer: Arc<WriterMetrics>,
    /// The Kafka connector's.
    pub kafka: Arc<KafkaMetrics>,
    /// The MLLP listener's.
    pub mllp: Arc<MllpMetrics>,
    /// The chain anchor's.
    pub chain: Arc<chain_anchor::AnchorMetrics>,
    /// All of them, for `/metrics`.
    pub registry: Arc<Registry>,
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("bridge");
        let writer = WriterMetrics::default();
        let kafka = KafkaMetrics::default();
        let mllp = MllpMetrics::default();
        writer.register(&mut registry);
        kafka.register(&mut registry);
        mllp.register(&mut registry);
        let chain = chain_anchor::AnchorMetrics::default();
        chain.register(&mut registry);
        ServiceMetrics {
            writer: Arc::new(writer),
            kafka: Arc::new(kafka),
            mllp: Arc::new(mllp),
            chain: Arc::new(chain),
            registry: Arc::new(registry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_exposed_under_the_bridge_prefix() {
        let metrics = ServiceMetrics::default();
        metrics.writer.resources_accepted.inc();
        metrics.kafka.set_consumer_lag("fhir.ingest", 0, 7);
        metrics.mllp.connections.inc();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &metrics.registry).expect("encodes");
        for name in [
            "bridge_resources_accepted_total 1",
            "bridge_resources_duplicate_total",
            "bridge_resources_rejected_total",
            "bridge_blocks_committed_total",
            "bridge_commit_seconds_bucket",
            "bridge_ledger_records",
            "bridge_kafka_messages_consumed_total",
            "bridge_chain_anchor_lag_blocks",
            "bridge_chain_anchors_final_total",
            "bridge_kafka_dead_letters_total",
            "bridge_kafka_errors_total",
            "bridge_kafka_batch_seconds_bucket",
            "bridge_kafka_consumer_lag{topic=\"fhir.ingest\",partition=\"0\"} 7",
            "bridge_mllp_messages_accepted_total",
            "bridge_mllp_messages_refused_total",
            "bridge_mllp_connections 1",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
