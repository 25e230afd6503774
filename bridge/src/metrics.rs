//! Prometheus metrics of the service (`GET /metrics`). Names follow
//! `bridge_<noun>_<verb>_total` for counters and carry their unit.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
    /// Kafka messages taken from the ingest topic.
    pub kafka_messages_consumed: Counter,
    /// Dead letters produced (one per refused message or NDJSON line).
    pub kafka_dead_letters: Counter,
    /// Kafka client, produce and commit errors (each is retried).
    pub kafka_errors: Counter,
    /// Seconds from a Kafka batch's consumption to its offset commit.
    pub kafka_batch_seconds: Histogram,
    kafka_consumer_lag: Family<PartitionLabels, Gauge>,
    /// MLLP messages acknowledged AA (their resources durable).
    pub mllp_messages_accepted: Counter,
    /// MLLP messages refused (AE/AR) and kept as dead letters.
    pub mllp_messages_refused: Counter,
    /// MLLP connections open now.
    pub mllp_connections: Gauge,
}

/// Labels of per-partition metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: i64,
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
        let kafka_messages_consumed = Counter::default();
        let kafka_dead_letters = Counter::default();
        let kafka_errors = Counter::default();
        let kafka_batch_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let kafka_consumer_lag = Family::<PartitionLabels, Gauge>::default();
        let mllp_messages_accepted = Counter::default();
        let mllp_messages_refused = Counter::default();
        let mllp_connections = Gauge::default();
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
        registry.register(
            "kafka_messages_consumed",
            "Kafka messages taken from the ingest topic",
            kafka_messages_consumed.clone(),
        );
        registry.register("kafka_dead_letters", "Dead letters produced", kafka_dead_letters.clone());
        registry.register("kafka_errors", "Kafka errors (each is retried)", kafka_errors.clone());
        registry.register(
            "kafka_batch_seconds",
            "Time from consuming a Kafka batch to committing its offsets",
            kafka_batch_seconds.clone(),
        );
        registry.register("kafka_consumer_lag", "Messages behind the partition's end", kafka_consumer_lag.clone());
        registry.register("mllp_messages_accepted", "MLLP messages acknowledged AA", mllp_messages_accepted.clone());
        registry.register("mllp_messages_refused", "MLLP messages refused (AE/AR)", mllp_messages_refused.clone());
        registry.register("mllp_connections", "MLLP connections open", mllp_connections.clone());
        Self {
            registry,
            resources_accepted,
            resources_duplicate,
            resources_rejected,
            blocks_committed,
            commit_seconds,
            ledger_records,
            kafka_messages_consumed,
            kafka_dead_letters,
            kafka_errors,
            kafka_batch_seconds,
            kafka_consumer_lag,
            mllp_messages_accepted,
            mllp_messages_refused,
            mllp_connections,
        }
    }
}

impl Metrics {
    /// Sets the consumer lag of one partition.
    pub fn set_consumer_lag(&self, topic: &str, partition: i32, lag: i64) {
        self.kafka_consumer_lag
            .get_or_create(&PartitionLabels { topic: topic.to_owned(), partition: i64::from(partition) })
            .set(lag);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
