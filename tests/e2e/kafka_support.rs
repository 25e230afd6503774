//! Helpers of the Kafka end-to-end tests: the broker from `FHIR_BRIDGE_TEST_KAFKA`, unique topic
//! and group names, a `serve` process with the Kafka connector, producing, reading topics, and the
//! group's committed offsets.
//!
//! librdkafka gotcha: a `TopicPartitionList` obtained from a consumer that is still alive when the
//! consumer is dropped makes the drop hang, so every list here is dropped before its consumer.

#![allow(dead_code, reason = "each Kafka test uses a different subset of the helpers")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

pub use crate::server::{free_port, tail, Bridge};

/// The test broker (`FHIR_BRIDGE_TEST_KAFKA`, `host:port`), or `None` (with a message) when it is
/// unset; panics when unset and `CI=true`.
pub fn brokers() -> Option<String> {
    match std::env::var("FHIR_BRIDGE_TEST_KAFKA") {
        Ok(b) if !b.trim().is_empty() => Some(b),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "FHIR_BRIDGE_TEST_KAFKA is unset (required when CI=true): run scripts/test.sh, or start a broker \
                 with `scripts/kafka-broker.sh start 19092` and export FHIR_BRIDGE_TEST_KAFKA=127.0.0.1:19092"
            );
            eprintln!(
                "SKIPPED: FHIR_BRIDGE_TEST_KAFKA is unset (start a broker with `scripts/kafka-broker.sh start 19092` \
                 and export FHIR_BRIDGE_TEST_KAFKA=127.0.0.1:19092)"
            );
            None
        }
    }
}

/// Holds the shared test broker for one test at a time. The Kafka tests run their bridges, group
/// rebalances and SIGKILLs against one tansu process; run side by side on two cores they starved
/// each other's group coordination (a takeover stalled once in CI), and one at a time they cost
/// little more, as the other tests still run beside them.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static BROKER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    BROKER.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Prints the tails of the logs when the test panics (the bridges' data dirs are gone by the time
/// anyone looks).
pub struct LogsOnPanic(pub Vec<(&'static str, std::path::PathBuf)>);

impl Drop for LogsOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for (name, path) in &self.0 {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                eprintln!("--- {name} ({}):\n{}", path.display(), crate::server::tail(&text));
            }
        }
    }
}

/// Returns the broker address, or returns from the test (skipping it) when none is configured.
#[macro_export]
macro_rules! require_kafka {
    () => {
        match $crate::kafka_support::brokers() {
            Some(brokers) => brokers,
            None => return,
        }
    };
}

/// Random numbers for names and timings (seeded from the OS, different in every run).
pub struct Rng(fastrand::Rng);

impl Rng {
    /// A fresh generator.
    pub fn new() -> Rng {
        Rng(fastrand::Rng::new())
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// A number in `low..high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        self.0.u64(low..high.max(low + 1))
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        let hex = format!("{a:016x}{b:016x}");
        format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
    }
}

/// Topic and group names of one test, unique per run, and the bridge's environment for them.
#[derive(Debug, Clone)]
pub struct KafkaNames {
    pub brokers: String,
    pub group: String,
    pub ingest: String,
    pub receipts: String,
    pub dlq: String,
    pub partitions: i32,
}

impl KafkaNames {
    /// Names `fhir-test-TEST-SUFFIX.{ingest,receipts,dlq}` and group `fhir-test-TEST-SUFFIX`.
    pub fn new(brokers: &str, test: &str, partitions: i32) -> KafkaNames {
        let suffix = format!("{:08x}", Rng::new().next() as u32);
        let base = format!("fhir-test-{test}-{suffix}");
        KafkaNames {
            brokers: brokers.to_owned(),
            group: base.clone(),
            ingest: format!("{base}.ingest"),
            receipts: format!("{base}.receipts"),
            dlq: format!("{base}.dlq"),
            partitions,
        }
    }

    /// The `FHIR_BRIDGE__KAFKA__*` variables of a bridge consuming these topics.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("BROKERS", self.brokers.clone()),
            ("GROUP_ID", self.group.clone()),
            ("INGEST_TOPIC", self.ingest.clone()),
            ("RECEIPTS_TOPIC", self.receipts.clone()),
            ("DLQ_TOPIC", self.dlq.clone()),
            ("TOPIC_PARTITIONS", self.partitions.to_string()),
            ("SESSION_TIMEOUT_MS", "3000".to_owned()),
            ("CREATE_TOPICS", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (format!("FHIR_BRIDGE__KAFKA__{k}"), v))
        .collect()
    }
}

/// The value of a metric line `NAME VALUE` (first match of the exact name, no labels).
pub fn metric(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (n, v) = line.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok()).flatten()
    })
}

/// A message to produce.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

impl Outgoing {
    /// A message with a `content-type` header.
    pub fn new(key: Option<&str>, content_type: &str, payload: impl Into<Vec<u8>>) -> Outgoing {
        Outgoing {
            key: key.map(str::to_owned),
            payload: payload.into(),
            headers: vec![("content-type".into(), content_type.into())],
        }
    }

    pub fn header(mut self, key: &str, value: &str) -> Outgoing {
        self.headers.push((key.into(), value.into()));
        self
    }
}

/// A producer on `brokers` that writes one record per record batch.
///
/// tansu 0.6 bug: a Fetch from an offset inside a multi-record batch returns the batches after
/// it, so a consumer resuming from a committed offset in the middle of a batch silently skips the
/// rest of that batch (measured: 1,000 records produced at once land in batches at 0, 493, 986; a
/// fetch from 300 returns 493 first, from 500 returns 986). Single-record batches avoid it.
pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "60000")
        .set("linger.ms", "5")
        .set("batch.num.messages", "1")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer")
}

/// Produces every message to `topic` (queued at once, then awaited); the (partition, offset) of each.
#[track_caller]
pub fn produce(producer: &FutureProducer, topic: &str, messages: &[Outgoing]) -> Vec<(i32, i64)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    runtime.block_on(async {
        let mut pending = Vec::with_capacity(messages.len());
        for m in messages {
            let mut headers = OwnedHeaders::new_with_capacity(m.headers.len());
            for (key, value) in &m.headers {
                headers = headers.insert(Header { key, value: Some(value.as_bytes()) });
            }
            let mut record: FutureRecord<'_, str, [u8]> =
                FutureRecord::to(topic).payload(m.payload.as_slice()).headers(headers);
            if let Some(key) = &m.key {
                record = record.key(key.as_str());
            }
            let mut record = record;
            loop {
                match producer.send_result(record) {
                    Ok(delivery) => {
                        pending.push(delivery);
                        break;
                    }
                    Err((error, back)) => {
                        // Queue full: let deliveries drain, then retry.
                        eprintln!("produce: {error}; retrying");
                        record = back;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
        let mut coordinates = Vec::with_capacity(pending.len());
        for delivery in pending {
            match delivery.await {
                Ok(Ok(d)) => coordinates.push((d.partition, d.offset)),
                Ok(Err((error, _))) => panic!("produce to {topic}: {error}"),
                Err(_) => panic!("produce to {topic}: cancelled"),
            }
        }
        coordinates
    })
}

/// A message read back.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    /// The first header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// The payload as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.payload)))
    }
}

fn reader(brokers: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("fhir-test-reader-{:x}", Rng::new().next()))
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer")
}

/// The partition count of `topic`, waiting (up to `timeout`) until it exists.
#[track_caller]
pub fn wait_topic(brokers: &str, topic: &str, timeout: Duration) -> i32 {
    let consumer = reader(brokers);
    let start = Instant::now();
    loop {
        if let Ok(metadata) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            if let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) {
                if t.error().is_none() && !t.partitions().is_empty() {
                    return t.partitions().len() as i32;
                }
            }
        }
        assert!(start.elapsed() < timeout, "topic {topic} does not exist after {timeout:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// High watermark (end offset) of each partition of `topic`.
pub fn end_offsets(brokers: &str, topic: &str) -> BTreeMap<i32, i64> {
    let partitions = wait_topic(brokers, topic, Duration::from_secs(30));
    let consumer = reader(brokers);
    (0..partitions)
        .map(|p| {
            let (_, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10)).expect("watermarks");
            (p, high)
        })
        .collect()
}

/// Everything in `topic` now: from the beginning to the current end of every partition.
#[track_caller]
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Record> {
    let ends = end_offsets(brokers, topic);
    let consumer = reader(brokers);
    let mut out = Vec::new();
    let mut next: BTreeMap<i32, i64> = ends.keys().map(|p| (*p, 0)).collect();
    {
        let mut list = TopicPartitionList::new();
        for p in ends.keys() {
            list.add_partition_offset(topic, *p, Offset::Beginning).expect("partition");
        }
        consumer.assign(&list).expect("assign");
    }
    // tansu 0.6 under-reports high watermarks (ListOffsets "latest") of partitions written in
    // multi-record batches, so the watermarks are only a lower bound: read on until the topic has
    // been quiet for a second.
    let start = Instant::now();
    let mut last_message = Instant::now();
    while ends.iter().any(|(p, end)| next[p] < *end) || last_message.elapsed() < Duration::from_secs(1) {
        assert!(start.elapsed() < Duration::from_secs(300), "reading {topic}: stuck at {next:?} of {ends:?}");
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(error)) => eprintln!("reading {topic}: {error}"),
            Some(Ok(m)) => {
                last_message = Instant::now();
                next.insert(m.partition(), m.offset() + 1);
                out.push(Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    headers: m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|x| (x.key.to_owned(), x.value.map(<[u8]>::to_vec).unwrap_or_default()))
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
        }
    }
    {
        // An empty assignment releases the partitions before the consumer goes.
        let empty = TopicPartitionList::new();
        consumer.assign(&empty).ok();
    }
    out
}

/// Reads `topic` again and again until `done` holds of its records (or panics after `timeout`).
#[track_caller]
pub fn read_until(brokers: &str, topic: &str, timeout: Duration, done: impl Fn(&[Record]) -> bool) -> Vec<Record> {
    let start = Instant::now();
    loop {
        let records = read_topic(brokers, topic);
        if done(&records) {
            return records;
        }
        if start.elapsed() > timeout {
            let shown: Vec<String> =
                records.iter().take(20).map(|r| String::from_utf8_lossy(&r.payload).into_owned()).collect();
            panic!("{topic}: condition not met after {timeout:?} ({} records); first 20: {shown:#?}", records.len());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The committed offset of `group` for each partition of `topic` (-1 when none).
pub fn committed(brokers: &str, group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let result = {
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition(topic, p);
        }
        match consumer.committed_offsets(list, Duration::from_secs(10)) {
            Ok(got) => got
                .elements()
                .iter()
                .map(|e| (e.partition(), if let Offset::Offset(o) = e.offset() { o } else { -1 }))
                .collect(),
            Err(error) => {
                eprintln!("committed offsets of {group}: {error}");
                BTreeMap::new()
            }
        }
    };
    result
}

/// The end offset of each partition from the coordinates of produced messages (what the broker's
/// watermarks should say; see `read_topic` for why they are not used).
pub fn ends_of(coordinates: &[(i32, i64)]) -> BTreeMap<i32, i64> {
    let mut ends = BTreeMap::new();
    for (partition, offset) in coordinates {
        let end = ends.entry(*partition).or_insert(0);
        *end = (*end).max(offset + 1);
    }
    ends
}

/// Waits until `group` has committed `ends` (partition -> end offset) of `topic`; the time it took.
/// `on_wait` runs between checks (to watch the bridges).
#[track_caller]
pub fn wait_committed(
    brokers: &str,
    group: &str,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
    timeout: Duration,
    on_wait: impl FnMut(),
) -> Duration {
    try_wait_committed(brokers, group, topic, ends, timeout, on_wait).unwrap_or_else(|why| panic!("{why}"))
}

/// Whether a bridge's last rebalance (in its log) took its partitions away: it waits for an
/// assignment that has not come.
pub fn waiting_for_assignment(log: &str) -> bool {
    log.lines().rev().find(|l| l.contains("being rebalanced")).is_some_and(|l| l.contains("Revoke("))
}

/// [`wait_committed`], with the timeout as an error (what was committed by then).
pub fn try_wait_committed(
    brokers: &str,
    group: &str,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
    timeout: Duration,
    mut on_wait: impl FnMut(),
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut last_report = Instant::now();
    let partitions = ends.keys().max().map_or(0, |p| p + 1);
    loop {
        let done = committed(brokers, group, topic, partitions);
        if ends.iter().all(|(p, end)| done.get(p).copied().unwrap_or(-1) >= *end) {
            return Ok(start.elapsed());
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("waiting for {group}: committed {done:?} of {ends:?} ({:.1?})", start.elapsed());
            last_report = Instant::now();
        }
        if start.elapsed() >= timeout {
            return Err(format!("{group}: committed {done:?}, end {ends:?} after {timeout:?}"));
        }
        on_wait();
        std::thread::sleep(Duration::from_millis(250));
    }
}
