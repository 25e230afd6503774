//! The `[kafka]` section.

use serde::Deserialize;

/// The Kafka connector (`serve` consumes `ingest_topic` in the consumer group `group_id`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma-separated (`host:port,host:port`).
    pub brokers: String,
    /// Consumer group; bridges sharing it split the partitions (one ledger shard each).
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Topic of incoming FHIR (and HL7 v2) messages.
    #[serde(default = "default_ingest_topic")]
    pub ingest_topic: String,
    /// Topic of receipts, one per resource version.
    #[serde(default = "default_receipts_topic")]
    pub receipts_topic: String,
    /// Topic of dead letters: original bytes and headers, an `error` header, the OperationOutcome.
    #[serde(default = "default_dlq_topic")]
    pub dlq_topic: String,
    /// Most messages taken into one batch (one ledger block, one offset commit).
    #[serde(default = "default_batch_messages")]
    pub batch_messages: usize,
    /// How long a batch waits for more messages once it has one.
    #[serde(default = "default_batch_linger_ms")]
    pub batch_linger_ms: u64,
    /// Longest time the broker may hold a fetch waiting for data (librdkafka's 500 ms default
    /// would add up to half a second to every message's latency on a quiet topic).
    #[serde(default = "default_fetch_wait_max_ms")]
    pub fetch_wait_max_ms: u64,
    /// Consumer session timeout: how soon the group reassigns a dead member's partitions.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// First retry delay after a broker error; doubles up to `retry_backoff_max_ms`.
    #[serde(default = "default_retry_backoff_ms")]
    pub retry_backoff_ms: u64,
    /// Longest retry delay.
    #[serde(default = "default_retry_backoff_max_ms")]
    pub retry_backoff_max_ms: u64,
    /// Create the ingest, receipts and dead-letter topics at start-up when they are missing.
    #[serde(default = "default_create_topics")]
    pub create_topics: bool,
    /// Partitions of topics the bridge creates (the ingest topic's count caps the bridges sharing it).
    #[serde(default = "default_topic_partitions")]
    pub topic_partitions: i32,
    /// Further librdkafka properties, passed through as they are (`security.protocol`,
    /// `sasl.mechanisms`, `ssl.ca.location`, ...). They override the bridge's own settings.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

fn default_group_id() -> String {
    "fhir-bridge".into()
}
fn default_ingest_topic() -> String {
    "fhir.ingest".into()
}
fn default_receipts_topic() -> String {
    "fhir.receipts".into()
}
fn default_dlq_topic() -> String {
    "fhir.dlq".into()
}
const fn default_batch_messages() -> usize {
    1000
}
const fn default_batch_linger_ms() -> u64 {
    20
}
const fn default_fetch_wait_max_ms() -> u64 {
    20
}
const fn default_session_timeout_ms() -> u64 {
    10_000
}
const fn default_create_topics() -> bool {
    true
}
const fn default_topic_partitions() -> i32 {
    4
}
const fn default_retry_backoff_ms() -> u64 {
    100
}
const fn default_retry_backoff_max_ms() -> u64 {
    10_000
}
