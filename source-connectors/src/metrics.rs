//! The connectors' Prometheus metrics, registered beside the writer's under the service's
//! `bridge` prefix.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// What the Kafka connector counts.
#[derive(Debug, Clone)]
pub struct KafkaMetrics {
    /// Kafka messages taken from the ingest topic.
    pub messages_consumed: Counter,
    /// Dead letters produced (one per refused message or NDJSON line).
    pub dead_letters: Counter,
    /// Kafka client, produce and commit errors (each is retried).
    pub errors: Counter,
    /// Seconds from a Kafka batch's consumption to its offset commit.
    pub batch_seconds: Histogram,
    consumer_lag: Family<PartitionLabels, Gauge>,
}

/// Labels of per-partition metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: i64,
}

impl Default for KafkaMetrics {
    fn default() -> Self {
        KafkaMetrics {
            messages_consumed: Counter::default(),
            dead_letters: Counter::default(),
            errors: Counter::default(),
            batch_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            consumer_lag: Family::default(),
        }
    }
}

impl KafkaMetrics {
    /// Adds them to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kafka_messages_consumed",
            "Kafka messages taken from the ingest topic",
            self.messages_consumed.clone(),
        );
        registry.register("kafka_dead_letters", "Dead letters produced", self.dead_letters.clone());
        registry.register("kafka_errors", "Kafka errors (each is retried)", self.errors.clone());
        registry.register(
            "kafka_batch_seconds",
            "Time from consuming a Kafka batch to committing its offsets",
            self.batch_seconds.clone(),
        );
        registry.register("kafka_consumer_lag", "Messages behind the partition's end", self.consumer_lag.clone());
    }

    /// Sets the consumer lag of one partition.
    pub fn set_consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.consumer_lag
            .get_or_create(&PartitionLabels { topic: topic.to_owned(), partition: i64::from(partition) })
            .set(lag);
    }
}

/// What the MLLP listener counts.
#[derive(Debug, Clone, Default)]
pub struct MllpMetrics {
    /// MLLP messages acknowledged AA (their resources durable).
    pub messages_accepted: Counter,
    /// MLLP messages refused (AE/AR) and kept as dead letters.
    pub messages_refused: Counter,
    /// MLLP connections open now.
    pub connections: Gauge,
}

impl MllpMetrics {
    /// Adds them to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("mllp_messages_accepted", "MLLP messages acknowledged AA", self.messages_accepted.clone());
        registry.register("mllp_messages_refused", "MLLP messages refused (AE/AR)", self.messages_refused.clone());
        registry.register("mllp_connections", "MLLP connections open", self.connections.clone());
    }
}
