//! End-to-end Kafka benchmark of BENCHMARKS.md: produce → bridge → receipt, on a real broker.
//!
//! Run: `scripts/kafka-broker.sh start 19092 && FHIR_BRIDGE_TEST_KAFKA=127.0.0.1:19092 cargo bench
//! -p fhir-bridge --bench kafka_e2e`. It starts `fhir-bridge serve` (bench profile) on a fresh data
//! dir with fresh topics, then:
//! 1. throughput: produces 20,000 one-resource messages (bulk-ndjson with fresh ids) as fast as it
//!    can and times until the last receipt arrives;
//! 2. latency: produces 1,000 messages/s for 10 s and measures, per message, the time from its
//!    send to its receipt (p50, p99, max).
//!
//! Not a criterion bench: one run of a whole system, printed as a table.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

fn resources() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir-r4/bulk-ndjson");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("bulk-ndjson data").flatten().map(|e| e.path()).collect();
    paths.sort();
    let mut lines = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).expect("readable");
        lines.extend(text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
    }
    lines
}

/// Rewrites every UUID in `text` so copy `k` has fresh ids (references stay consistent).
fn fresh(text: &str, k: usize) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let candidate = &bytes[i..(i + 36).min(bytes.len())];
        let is_uuid = candidate.len() == 36
            && candidate.iter().enumerate().all(|(j, b)| {
                if [8, 13, 18, 23].contains(&j) {
                    *b == b'-'
                } else {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(b)
                }
            });
        if is_uuid {
            out.push_str(&format!("{k:08x}"));
            out.push_str(&text[i + 8..i + 36]);
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

struct Bridge(Child);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn start_bridge(brokers: &str, suffix: &str, data: &Path) -> Bridge {
    let http = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_fhir-bridge"))
        .args(["--data-dir", &data.display().to_string(), "serve", "--listen", &format!("127.0.0.1:{http}")])
        .env("FHIR_BRIDGE__KAFKA__BROKERS", brokers)
        .env("FHIR_BRIDGE__KAFKA__GROUP_ID", format!("bench-{suffix}"))
        .env("FHIR_BRIDGE__KAFKA__INGEST_TOPIC", format!("bench-in-{suffix}"))
        .env("FHIR_BRIDGE__KAFKA__RECEIPTS_TOPIC", format!("bench-receipts-{suffix}"))
        .env("FHIR_BRIDGE__KAFKA__DLQ_TOPIC", format!("bench-dlq-{suffix}"))
        .env("FHIR_BRIDGE__KAFKA__SESSION_TIMEOUT_MS", "6000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the bridge");
    let started = Instant::now();
    while ureq::get(&format!("http://127.0.0.1:{http}/healthz")).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the bridge did not become healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
    Bridge(child)
}

/// Consumes receipts on a thread; sends (correlation id, arrival) for each.
fn receipts(brokers: &str, suffix: &str) -> mpsc::Receiver<(String, Instant)> {
    let (sender, receiver) = mpsc::channel();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("bench-reader-{suffix}"))
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("receipts consumer");
    consumer.subscribe(&[&format!("bench-receipts-{suffix}")]).expect("subscribe");
    std::thread::spawn(move || loop {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let at = Instant::now();
            let id = message
                .headers()
                .and_then(|h| h.iter().find(|h| h.key == "correlation-id").and_then(|h| h.value))
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            if sender.send((id, at)).is_err() {
                return;
            }
        }
    });
    receiver
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let Ok(brokers) = std::env::var("FHIR_BRIDGE_TEST_KAFKA") else {
        eprintln!("skipping: set FHIR_BRIDGE_TEST_KAFKA=host:port (scripts/kafka-broker.sh start 19092)");
        return;
    };
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let suffix =
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    let data = tempfile::tempdir().expect("temp dir");
    let bridge = start_bridge(&brokers, &suffix, data.path());
    let arrivals = receipts(&brokers, &suffix);
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &brokers).set("linger.ms", "2").create().expect("producer");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let base = resources();
    let topic = format!("bench-in-{suffix}");

    // 1. Throughput.
    let count = 20_000;
    let messages: Vec<String> = (0..count).map(|i| fresh(&base[i % base.len()], 1 + i / base.len())).collect();
    let started = Instant::now();
    runtime.block_on(async {
        let mut pending = Vec::with_capacity(count);
        for (i, payload) in messages.iter().enumerate() {
            let id = format!("t{i}");
            let headers = OwnedHeaders::new()
                .insert(Header { key: "content-type", value: Some("application/fhir+json") })
                .insert(Header { key: "correlation-id", value: Some(id.as_str()) });
            let record = FutureRecord::to(&topic).payload(payload).key(&id).headers(headers);
            pending.push(producer.send_result(record).map_err(|(e, _)| e).expect("queue"));
        }
        for delivery in pending {
            let _ = delivery.await;
        }
    });
    let produced = started.elapsed();
    let mut seen = 0;
    while seen < count {
        let (id, _) = arrivals.recv_timeout(Duration::from_secs(120)).expect("receipts keep coming");
        if id.starts_with('t') {
            seen += 1;
        }
    }
    let total = started.elapsed();
    println!("throughput: {count} messages produced in {produced:.2?}, all receipts after {total:.2?}: {:.0} resources/s end to end", count as f64 / total.as_secs_f64());

    // 2. Latency at a fixed offered rate.
    let rate = 1_000;
    let seconds = 10;
    let offset = count / base.len() + 2;
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let period = Duration::from_secs(1) / rate;
    let begin = Instant::now();
    runtime.block_on(async {
        for i in 0..rate * seconds {
            let due = begin + period * i;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
            let id = format!("l{i}");
            let payload = fresh(&base[i as usize % base.len()], offset + i as usize / base.len());
            let headers = OwnedHeaders::new()
                .insert(Header { key: "content-type", value: Some("application/fhir+json") })
                .insert(Header { key: "correlation-id", value: Some(id.as_str()) });
            let record = FutureRecord::to(&topic).payload(&payload).key(&id).headers(headers);
            sent.insert(id.clone(), Instant::now());
            drop(producer.send_result(record).map_err(|(e, _)| e).expect("queue"));
        }
    });
    let mut latencies = Vec::new();
    while latencies.len() < (rate * seconds) as usize {
        let (id, at) = arrivals.recv_timeout(Duration::from_secs(60)).expect("receipts keep coming");
        if let Some(start) = sent.get(&id) {
            latencies.push(at - *start);
        }
    }
    latencies.sort();
    println!(
        "latency at {rate} messages/s for {seconds} s: p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    drop(bridge);
}
