//! Crash safety of the Kafka connector: a bridge SIGKILLed several times while it consumes 10,000+
//! messages, restarted each time on the same data dir, ends with every valid resource exactly once
//! in its ledger, every invalid message dead-lettered, and a receipt for every valid message.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::kafka_support::{
    ends_of, metric, produce, producer, read_topic, tail, wait_committed, Bridge, KafkaNames, Outgoing, Rng,
};
use crate::support::{files_under, key_of, ndjson, temp_dir};
use crate::{require_data, require_kafka};

/// `count` bulk resources with fresh UUIDs (cycling through the bulk NDJSON) and one invalid
/// Patient (bad birthDate) after every 99 valid ones: the messages and the valid ones' `Type/id`.
pub(crate) fn bulk_messages(
    root: &std::path::Path,
    count: usize,
    invalid_every: usize,
) -> (Vec<Outgoing>, Vec<Option<String>>) {
    let mut pool: Vec<Value> = Vec::new();
    for file in files_under(&root.join("bulk-ndjson")) {
        pool.extend(ndjson(&std::fs::read_to_string(&file).expect("read bulk")));
    }
    assert!(!pool.is_empty(), "no bulk resources");
    let mut rng = Rng::new();
    let mut messages = Vec::new();
    let mut keys = Vec::new();
    for i in 0..count {
        if invalid_every > 0 && i % invalid_every == invalid_every - 1 {
            let id = rng.uuid();
            let bad = json!({"resourceType":"Patient","id":id,"birthDate":"1999-31-12"});
            messages.push(
                Outgoing::new(Some(&id), "application/fhir+json", bad.to_string())
                    .header("correlation-id", &format!("m{i}")),
            );
            keys.push(None);
            continue;
        }
        let mut resource = pool[i % pool.len()].clone();
        let id = rng.uuid();
        resource["id"] = Value::String(id.clone());
        if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
            meta.remove("versionId");
            meta.remove("lastUpdated");
        }
        keys.push(key_of(&resource));
        messages.push(
            Outgoing::new(Some(&id), "application/fhir+json", resource.to_string())
                .header("correlation-id", &format!("m{i}")),
        );
    }
    (messages, keys)
}

#[test]
fn kafka_crash_killed_bridges_lose_nothing_and_duplicate_nothing() {
    let brokers = require_kafka!();
    let _broker = crate::kafka_support::one_at_a_time();
    let root = require_data!();
    let names = KafkaNames::new(&brokers, "crash", 4);
    let data = temp_dir();
    let logs = temp_dir();
    let log = logs.path().join("serve.log");
    let started = Instant::now();

    let (messages, keys) = bulk_messages(&root, 10_101, 100);
    let valid: BTreeSet<&str> = keys.iter().flatten().map(String::as_str).collect();
    assert_eq!(valid.len(), 10_000);

    let mut bridge = Bridge::start(data.path(), &names.env(), &log);
    bridge.wait_healthy(Duration::from_secs(60));
    let produce_start = Instant::now();
    let producer = producer(&brokers);
    let coordinates = produce(&producer, &names.ingest, &messages);
    let ends = ends_of(&coordinates);
    eprintln!("kafka_crash: produced {} messages in {:.1?}; ends {ends:?}", messages.len(), produce_start.elapsed());

    let mut rng = Rng::new();
    for round in 0..4 {
        let delay = Duration::from_millis(rng.range(300, 3000));
        std::thread::sleep(delay);
        bridge.assert_running();
        let consumed = metric(&bridge.metrics(), "bridge_kafka_messages_consumed_total").unwrap_or(0.0);
        bridge.kill();
        eprintln!(
            "kafka_crash: kill {round} after {delay:.1?} (this run consumed {consumed}) at {:.1?}",
            started.elapsed()
        );
        // Let the broker expire the killed member (session timeout 3 s) before the restart joins:
        // tansu 0.6 never hands a dead member's partitions to a member that joined before it
        // expired (a broker defect; Apache Kafka reassigns them), so without the wait the drain
        // below can stall on partitions assigned to nobody alive.
        std::thread::sleep(Duration::from_secs(4));
        bridge.restart();
        bridge.wait_healthy(Duration::from_secs(60));
    }
    let drained = wait_committed(&brokers, &names.group, &names.ingest, &ends, Duration::from_secs(240), || {
        bridge.assert_running();
    });
    eprintln!("kafka_crash: drained {drained:.1?} after the last restart ({:.1?} in all)", started.elapsed());
    let status = bridge.terminate(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "serve after SIGTERM: {status}\n{}", tail(&bridge.log_text()));
    let log_text = bridge.log_text();
    eprintln!(
        "kafka_crash: log: {} rebalances, {} dropped batches",
        log_text.matches("being rebalanced").count(),
        log_text.matches("Dropping an uncommitted batch").count()
    );

    // Every invalid message dead-lettered (at least once), and only those.
    let letters = read_topic(&brokers, &names.dlq);
    let dead: BTreeSet<(i32, i64)> = letters
        .iter()
        .map(|r| {
            let p = r.header("source-partition").and_then(|p| p.parse().ok()).expect("source-partition");
            let o = r.header("source-offset").and_then(|o| o.parse().ok()).expect("source-offset");
            (p, o)
        })
        .collect();
    let invalid: BTreeSet<(i32, i64)> =
        coordinates.iter().zip(&keys).filter(|(_, k)| k.is_none()).map(|(c, _)| *c).collect();
    let unexpected: Vec<String> = letters
        .iter()
        .filter(|r| !r.header("operation-outcome").is_some_and(|o| o.contains("Patient.birthDate")))
        .take(3)
        .map(|r| format!("{:?} {:?} ({} bytes)", r.header("error"), r.header("operation-outcome"), r.payload.len()))
        .collect();
    assert!(unexpected.is_empty(), "dead letters of valid messages, e.g. {unexpected:#?}");
    assert_eq!(dead, invalid, "dead letters (by source) != the invalid messages");

    bridge.command(&["verify"]).expect_code(0, "verify after the crashes");
    let exported = ndjson(&bridge.command(&["export"]).expect_code(0, "export").stdout);
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for resource in &exported {
        let key = key_of(resource).expect("type/id");
        versions.entry(key).or_default().push(resource["meta"]["versionId"].as_str().unwrap_or("?").to_owned());
    }
    let extra: Vec<&String> = versions.keys().filter(|k| !valid.contains(k.as_str())).take(5).collect();
    let missing: Vec<&&str> = valid.iter().filter(|k| !versions.contains_key(**k)).take(5).collect();
    let not_one: Vec<(&String, &Vec<String>)> =
        versions.iter().filter(|(_, v)| v.as_slice() != ["1"]).take(5).collect();
    assert!(
        extra.is_empty() && missing.is_empty() && not_one.is_empty(),
        "export: {} resources for {} valid; extra {extra:?}, missing {missing:?}, not exactly version 1: {not_one:?}",
        exported.len(),
        valid.len()
    );
    assert_eq!(exported.len(), valid.len());

    // Every valid message has a receipt (repeats allowed: at least once).
    let receipts = read_topic(&brokers, &names.receipts);
    let receipted: BTreeSet<(i32, i64)> = receipts
        .iter()
        .map(|r| {
            let body = r.json();
            (body["source"]["partition"].as_i64().unwrap() as i32, body["source"]["offset"].as_i64().unwrap())
        })
        .collect();
    let without: Vec<&(i32, i64)> = coordinates
        .iter()
        .zip(&keys)
        .filter(|(c, k)| k.is_some() && !receipted.contains(c))
        .map(|(c, _)| c)
        .take(5)
        .collect();
    assert!(without.is_empty(), "valid messages without a receipt, e.g. {without:?}");
    eprintln!(
        "kafka_crash: {} receipts for {} valid messages ({} repeats), {} dead letters; total {:.1?}",
        receipts.len(),
        valid.len(),
        receipts.len() - valid.len(),
        dead.len(),
        started.elapsed()
    );
}
