//! The Kafka connector's loop: consume a batch, decode and validate it, commit its resources to
//! the ledger through the service's single writer, produce receipts and dead letters, and only
//! then commit the consumer offsets.
//!
//! **Architecture Invariant:** offsets are committed only after the batch is durable in the
//! ledger and its receipts and dead letters are delivered. A crash anywhere before that makes the
//! group redeliver the batch; content already in the ledger is then recognised as a duplicate.
//!
//! Rebalances: a batch under way when partitions are revoked is dropped, not committed: the
//! partitions' new owner reads those messages from the committed offsets. So no message is
//! committed by two ledger shards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use rayon::prelude::*;

use super::message::{units, MessageUnits};
use super::receipt::{dead_letter_headers, receipt_json, MessageMeta};
use super::KafkaConfig;
use crate::metrics::KafkaMetrics;

use ingest_pipeline::batcher::{BatcherHandle, SubmitError};
use ingest_pipeline::hl7v2 as hl7v2_prepare;
use ingest_pipeline::hl7v2::V2Mappings;
use ingest_pipeline::Normalised;
use node_store::Node;

/// Why the connector could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaSourceError {
    /// The client could not be created (a bad property, say).
    #[error("Kafka client: {0}")]
    Client(#[from] KafkaError),
    /// The connector thread could not be started.
    #[error("cannot start the Kafka thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// The connector's health, for `/healthz`: broker reachable, last error.
#[derive(Debug, Default)]
pub struct KafkaHealth {
    unhealthy: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl KafkaHealth {
    /// `None` when healthy, else the last error.
    pub fn problem(&self) -> Option<String> {
        if !self.unhealthy.load(Ordering::Relaxed) {
            return None;
        }
        let error = self.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(error.clone().unwrap_or_else(|| "Kafka unavailable".into()))
    }

    fn failed(&self, error: &str) {
        self.unhealthy.store(true, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error.to_owned());
    }

    fn recovered(&self) {
        self.unhealthy.store(false, Ordering::Relaxed);
    }
}

/// Client callbacks: errors feed health; rebalances bump a generation that the loop watches.
struct BridgeContext {
    health: Arc<KafkaHealth>,
    generation: AtomicU64,
    metrics: Arc<KafkaMetrics>,
}

impl ClientContext for BridgeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka client error; retrying.");
        self.metrics.errors.inc();
        self.health.failed(reason);
    }
}

impl ConsumerContext for BridgeContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        tracing::info!(?rebalance, "Kafka partitions are being rebalanced.");
    }
}

/// A running connector.
pub struct KafkaSource {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    /// Its health.
    pub health: Arc<KafkaHealth>,
}

impl KafkaSource {
    /// Connects and starts consuming `config.ingest_topic` on a thread of its own.
    pub fn start(
        config: KafkaConfig,
        node: Arc<Node>,
        mappings: Arc<V2Mappings>,
        writer: BatcherHandle,
        metrics: Arc<KafkaMetrics>,
    ) -> Result<KafkaSource, KafkaSourceError> {
        let health = Arc::new(KafkaHealth::default());
        let context = BridgeContext { health: health.clone(), generation: AtomicU64::new(0), metrics: metrics.clone() };
        let consumer: BaseConsumer<BridgeContext> = client_config(&config, true).create_with_context(context)?;
        consumer.subscribe(&[config.ingest_topic.as_str()])?;
        let producer: FutureProducer = client_config(&config, false).create()?;
        let stop = Arc::new(AtomicBool::new(false));
        let connector = Connector { config, node, mappings, writer, metrics, consumer, producer, stop: stop.clone() };
        let thread = std::thread::Builder::new().name("kafka-source".into()).spawn(move || connector.run())?;
        Ok(KafkaSource { stop, thread, health })
    }

    /// Stops after the batch under way is committed, leaves the group, and waits.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        if self.thread.join().is_err() {
            tracing::error!("The Kafka thread panicked.");
        }
    }
}

/// Creates the connector's topics that do not exist yet (one attempt; the caller retries).
fn create_topics(config: &KafkaConfig, runtime: &tokio::runtime::Runtime) -> Result<(), KafkaSourceError> {
    let admin: AdminClient<DefaultClientContext> = client_config(config, false).create()?;
    let names = [&config.ingest_topic, &config.receipts_topic, &config.dlq_topic];
    let topics: Vec<NewTopic<'_>> =
        names.iter().map(|name| NewTopic::new(name, config.topic_partitions, TopicReplication::Fixed(1))).collect();
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(10)))
        .request_timeout(Some(Duration::from_secs(5)));
    for result in runtime.block_on(admin.create_topics(&topics, &options))? {
        match result {
            Ok(topic) => tracing::info!(%topic, partitions = config.topic_partitions, "Created a Kafka topic."),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaSourceError::Client(KafkaError::AdminOp(code))).inspect_err(|_| {
                    tracing::error!(%topic, ?code, "Cannot create a Kafka topic.");
                })
            }
        }
    }
    Ok(())
}

fn client_config(config: &KafkaConfig, consumer: bool) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.brokers);
    if consumer {
        c.set("group.id", &config.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("fetch.wait.max.ms", config.fetch_wait_max_ms.to_string())
            .set("session.timeout.ms", config.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", (config.session_timeout_ms / 3).max(100).to_string());
    } else {
        c.set("message.timeout.ms", "30000").set("linger.ms", "2");
    }
    c.set("reconnect.backoff.ms", config.retry_backoff_ms.to_string())
        .set("reconnect.backoff.max.ms", config.retry_backoff_max_ms.to_string());
    // Site settings (security, SASL, TLS, tuning) last, so they win.
    for (key, value) in &config.properties {
        c.set(key, value);
    }
    c
}

/// One message taken into a batch.
struct Taken {
    meta: MessageMeta,
    payload: Vec<u8>,
}

/// A record to produce: topic, key, payload, headers.
struct Outgoing {
    topic: String,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

struct Connector {
    config: KafkaConfig,
    node: Arc<Node>,
    mappings: Arc<V2Mappings>,
    writer: BatcherHandle,
    metrics: Arc<KafkaMetrics>,
    consumer: BaseConsumer<BridgeContext>,
    producer: FutureProducer,
    stop: Arc<AtomicBool>,
}

impl Connector {
    fn run(self) {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::error!(%error, "Cannot start the Kafka connector's runtime.");
                return;
            }
        };
        if self.config.create_topics && !self.ensure_topics(&runtime) {
            return;
        }
        let mut last_lag = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let generation = self.consumer.context().generation.load(Ordering::SeqCst);
            let batch = self.poll_batch();
            if last_lag.elapsed() > Duration::from_secs(5) {
                self.check_broker();
                self.record_lag();
                last_lag = Instant::now();
            }
            if batch.is_empty() {
                continue;
            }
            if self.consumer.context().generation.load(Ordering::SeqCst) != generation {
                // Partitions moved while the batch filled: leave these messages to their owner.
                tracing::info!(messages = batch.len(), "Dropping an uncommitted batch after a rebalance.");
                continue;
            }
            let span = tracing::info_span!("kafka_batch", messages = batch.len());
            let _entered = span.enter();
            let started = Instant::now();
            self.process(&runtime, batch);
            self.metrics.batch_seconds.observe(started.elapsed().as_secs_f64());
        }
        tracing::info!("Kafka connector stopped; leaving the consumer group.");
    }

    /// Creates missing topics, retrying with backoff while the broker is unreachable (reported in
    /// health; the HTTP API keeps serving). `false` when asked to stop first.
    fn ensure_topics(&self, runtime: &tokio::runtime::Runtime) -> bool {
        let mut backoff = Duration::from_millis(self.config.retry_backoff_ms);
        loop {
            match create_topics(&self.config, runtime) {
                Ok(()) => return true,
                Err(error) => {
                    tracing::warn!(%error, "Cannot create the Kafka topics yet; retrying.");
                    self.metrics.errors.inc();
                    self.consumer.context().health.failed(&format!("cannot create topics: {error}"));
                }
            }
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                if self.stop.load(Ordering::SeqCst) {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            backoff = (backoff * 2).min(Duration::from_millis(self.config.retry_backoff_max_ms));
        }
    }

    /// Up to `batch_messages` messages: waits up to 100 ms for the first, then `batch_linger_ms`.
    fn poll_batch(&self) -> Vec<Taken> {
        let mut batch = Vec::new();
        let mut deadline: Option<Instant> = None;
        while batch.len() < self.config.batch_messages {
            let timeout = match deadline {
                None => Duration::from_millis(100),
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => left,
                    None => break,
                },
            };
            match self.consumer.poll(timeout) {
                None if deadline.is_none() => break,
                None => continue,
                Some(Err(error)) => {
                    tracing::warn!(%error, "Kafka poll failed; backing off.");
                    self.metrics.errors.inc();
                    self.consumer.context().health.failed(&error.to_string());
                    std::thread::sleep(Duration::from_millis(self.config.retry_backoff_ms));
                    break;
                }
                Some(Ok(message)) => {
                    self.consumer.context().health.recovered();
                    let owned: OwnedMessage = message.detach();
                    batch.push(take(&owned));
                    deadline.get_or_insert_with(|| Instant::now() + Duration::from_millis(self.config.batch_linger_ms));
                }
            }
        }
        self.metrics.messages_consumed.inc_by(batch.len() as u64);
        batch
    }

    fn process(&self, runtime: &tokio::runtime::Runtime, batch: Vec<Taken>) {
        // Split each message into units; refuse what cannot be taken.
        let mut outgoing: Vec<Outgoing> = Vec::new();
        let mut inputs: Vec<&[u8]> = Vec::new();
        let mut input_of: Vec<(usize, Option<usize>)> = Vec::new();
        let mut v2_of: Vec<(usize, &[u8])> = Vec::new();
        for (index, taken) in batch.iter().enumerate() {
            match units(taken.meta.header("content-type"), &taken.payload) {
                MessageUnits::Unsupported(reason) => {
                    outgoing.push(self.dead_letter(&taken.meta, &taken.payload, reason, None, None));
                }
                MessageUnits::Fhir(units) => {
                    for (line, bytes) in units {
                        inputs.push(bytes);
                        input_of.push((index, line));
                    }
                }
                MessageUnits::Hl7v2(bytes) => v2_of.push((index, bytes)),
            }
        }
        // HL7 v2: each message maps to a transaction of FHIR resources, or is refused whole.
        let text_of: Vec<(usize, String)> =
            v2_of.iter().map(|(index, bytes)| (*index, hl7v2_prepare::v2_text(bytes).into_owned())).collect();
        let v2_messages: Vec<(usize, &str)> = text_of
            .iter()
            .flat_map(|(index, text)| hl7v2::split_messages(text).into_iter().map(move |m| (*index, m)))
            .filter(|(_, m)| !m.trim().is_empty())
            .collect();
        // A v2 payload with no message in it (only batch envelopes, a byte-order mark, spaces
        // the splitter drops) would otherwise commit its offset with nothing kept.
        for (index, bytes) in &v2_of {
            if !v2_messages.iter().any(|(message, _)| message == index) {
                let reason = "no HL7 v2 message (MSH segment) in the payload";
                outgoing.push(self.dead_letter(&batch[*index].meta, bytes, reason, None, None));
            }
        }
        let v2_prepared: Vec<hl7v2_prepare::PreparedV2> = v2_messages
            .par_iter()
            .map(|(_, m)| hl7v2_prepare::prepare_v2(m.as_bytes(), &self.mappings, self.node.as_ref()))
            .collect();
        let prepared = ingest_pipeline::prepare(&inputs, self.node.as_ref());
        prepared.par_iter().for_each(|p| ingest_pipeline::warm_patient_keys(&self.node, &p.resources));
        let mut resources: Vec<Normalised> = Vec::new();
        let mut resource_meta: Vec<usize> = Vec::new();
        for ((message, line), (prepared, bytes)) in input_of.iter().zip(prepared.into_iter().zip(&inputs)) {
            let meta = &batch[*message].meta;
            for rejection in prepared.rejections {
                let outcome = fhir_models::to_json(rejection.outcome.as_ref());
                outgoing.push(self.dead_letter(meta, bytes, "invalid FHIR resource", *line, Some(outcome)));
            }
            let source: Arc<str> = meta.ledger_source().into();
            for mut resource in prepared.resources {
                resource.source = source.clone();
                resources.push(resource);
                resource_meta.push(*message);
            }
        }
        for ((message, text), v2) in v2_messages.iter().zip(v2_prepared) {
            let meta = &batch[*message].meta;
            for rejection in v2.prepared.rejections {
                let outcome = fhir_models::to_json(rejection.outcome.as_ref());
                // The reason names the field (`PID-7: ...`); v2 refusals never quote values.
                let reason = match rejection.reason() {
                    Some(why) => format!("refused HL7 v2 message: {why}"),
                    None => "refused HL7 v2 message".to_owned(),
                };
                outgoing.push(self.dead_letter(meta, text.as_bytes(), &reason, None, Some(outcome)));
            }
            // The Kafka coordinates and the sender's own (application, facility, control id).
            let v2_source = v2.header.map(|h| h.source).unwrap_or_default();
            let source: Arc<str> = format!("{};{v2_source}", meta.ledger_source()).into();
            for mut resource in v2.prepared.resources {
                resource.source = source.clone();
                resources.push(resource);
                resource_meta.push(*message);
            }
        }
        self.metrics.dead_letters.inc_by(outgoing.len() as u64);
        self.writer.metrics().resources_rejected.inc_by(outgoing.len() as u64);

        // Commit to the ledger (retrying while the store is unavailable).
        if !resources.is_empty() {
            // Later messages of the same partitions must not be committed past this batch, so the
            // batch is retried until it is durable (or the service stops, leaving it uncommitted).
            let mut backoff = Duration::from_millis(self.config.retry_backoff_ms);
            let receipts = loop {
                match self.writer.submit_blocking(resources.clone()) {
                    Ok(receipts) => break receipts,
                    Err(SubmitError::Stopped) => return,
                    Err(SubmitError::Commit(error)) => {
                        tracing::error!(%error, "Committing a Kafka batch to the ledger failed; retrying.");
                        self.consumer.context().health.failed("ledger commit failed");
                        if self.stop.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_millis(self.config.retry_backoff_max_ms));
                    }
                }
            };
            for (receipt, message) in receipts.iter().zip(&resource_meta) {
                let meta = &batch[*message].meta;
                outgoing.push(Outgoing {
                    topic: self.config.receipts_topic.clone(),
                    key: meta.key.clone(),
                    payload: receipt_json(receipt, meta, &self.node.key_id),
                    headers: meta
                        .header("correlation-id")
                        .map(|c| vec![("correlation-id".to_owned(), c.as_bytes().to_vec())])
                        .unwrap_or_default(),
                });
            }
        }

        // Deliver receipts and dead letters, then commit the offsets.
        if !self.deliver(runtime, &outgoing) {
            return;
        }
        self.commit_offsets(&batch);
    }

    fn dead_letter(
        &self,
        meta: &MessageMeta,
        bytes: &[u8],
        error: &str,
        line: Option<usize>,
        outcome: Option<Vec<u8>>,
    ) -> Outgoing {
        let mut headers = dead_letter_headers(meta, error, line);
        if let Some(outcome) = outcome {
            headers.push(("operation-outcome".into(), outcome));
        }
        Outgoing { topic: self.config.dlq_topic.clone(), key: meta.key.clone(), payload: bytes.to_vec(), headers }
    }

    /// Produces `outgoing` and waits for every delivery, retrying with backoff; `false` when
    /// stopping before everything was delivered (the batch's offsets then stay uncommitted).
    fn deliver(&self, runtime: &tokio::runtime::Runtime, outgoing: &[Outgoing]) -> bool {
        let mut backoff = Duration::from_millis(self.config.retry_backoff_ms);
        loop {
            let mut failed = 0usize;
            runtime.block_on(async {
                let mut pending = Vec::with_capacity(outgoing.len());
                for o in outgoing {
                    let mut headers = OwnedHeaders::new_with_capacity(o.headers.len());
                    for (key, value) in &o.headers {
                        headers = headers.insert(Header { key, value: Some(value) });
                    }
                    let mut record = FutureRecord::to(&o.topic).payload(&o.payload).headers(headers);
                    if let Some(key) = &o.key {
                        record = record.key(key);
                    }
                    match self.producer.send_result(record) {
                        Ok(delivery) => pending.push(delivery),
                        Err(_) => failed += 1,
                    }
                }
                for delivery in pending {
                    if !matches!(delivery.await, Ok(Ok(_))) {
                        failed += 1;
                    }
                }
            });
            if failed == 0 {
                return true;
            }
            tracing::warn!(failed, "Receipts or dead letters not delivered; retrying the batch's output.");
            self.metrics.errors.inc();
            self.consumer.context().health.failed("cannot produce receipts or dead letters");
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(backoff);
            // No poll while waiting: it could hand out a message of the next batch. librdkafka's own
            // thread keeps the group membership alive.
            backoff = (backoff * 2).min(Duration::from_millis(self.config.retry_backoff_max_ms));
        }
    }

    fn commit_offsets(&self, batch: &[Taken]) {
        let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
        for taken in batch {
            let entry = next.entry((taken.meta.topic.as_str(), taken.meta.partition)).or_insert(0);
            *entry = (*entry).max(taken.meta.offset + 1);
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in &next {
            if list.add_partition_offset(topic, *partition, Offset::Offset(*offset)).is_err() {
                return;
            }
        }
        if let Err(error) = self.consumer.commit(&list, CommitMode::Sync) {
            // The batch is durable; redelivery after this only makes duplicates, which are recognised.
            tracing::warn!(%error, "Committing Kafka offsets failed; the batch may be redelivered.");
            self.metrics.errors.inc();
        }
    }

    /// Health from a metadata request: error callbacks say when brokers go away, but nothing says
    /// when they are back on a quiet topic.
    fn check_broker(&self) {
        let health = &self.consumer.context().health;
        match self.consumer.fetch_metadata(Some(&self.config.ingest_topic), Duration::from_secs(2)) {
            Ok(_) => health.recovered(),
            Err(error) => health.failed(&format!("broker unreachable: {error}")),
        }
    }

    /// Consumer lag per assigned partition: high watermark minus the consumer's position.
    fn record_lag(&self) {
        let Ok(positions) = self.consumer.position() else { return };
        for element in positions.elements() {
            let Offset::Offset(position) = element.offset() else { continue };
            if let Ok((_, high)) =
                self.consumer.fetch_watermarks(element.topic(), element.partition(), Duration::from_secs(1))
            {
                self.metrics.set_consumer_lag(element.topic(), element.partition(), (high - position).max(0));
            }
        }
    }
}

fn take(message: &OwnedMessage) -> Taken {
    let headers = message
        .headers()
        .map(|h| h.iter().map(|header| (header.key.to_owned(), header.value.map(<[u8]>::to_vec))).collect())
        .unwrap_or_default();
    Taken {
        meta: MessageMeta {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            headers,
        },
        payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
    }
}
