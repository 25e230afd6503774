//! With the broker unreachable, `serve` still starts and serves HTTP, and `/healthz` answers 503
//! naming the Kafka problem (the connector retries; it does not crash the service).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kafka_support::{free_port, tail, Bridge, KafkaNames};
use crate::support::temp_dir;

fn unreachable_broker_reports_503(create_topics: bool) {
    let closed = format!("127.0.0.1:{}", free_port());
    let names = KafkaNames::new(&closed, "health", 4);
    let mut env = names.env();
    env.retain(|(k, _)| k != "FHIR_BRIDGE__KAFKA__CREATE_TOPICS");
    env.push(("FHIR_BRIDGE__KAFKA__CREATE_TOPICS".into(), create_topics.to_string()));
    let (data, logs) = (temp_dir(), temp_dir());
    let mut bridge = Bridge::start(data.path(), &env, &logs.path().join("serve.log"));
    let start = Instant::now();
    let (status, body) = loop {
        bridge.assert_running();
        if let Some((status, body)) = bridge.get("/healthz") {
            if status == 503 || start.elapsed() > Duration::from_secs(20) {
                break (status, body);
            }
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no HTTP within 20 s:\n{}", tail(&bridge.log_text()));
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("kafka_health: /healthz {status} after {:.1?}: {body}", start.elapsed());
    assert_eq!(status, 503, "{body}");
    let health: Value = serde_json::from_str(&body).expect("JSON");
    assert!(health["kafka"].as_str().is_some_and(|p| !p.is_empty() && p != "ok"), "{health}");
    assert!(matches!(bridge.get("/fhir/metadata"), Some((200, _))), "the FHIR API answers");
    std::thread::sleep(Duration::from_secs(2));
    bridge.assert_running();
    let status = bridge.terminate(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "serve after SIGTERM: {status}\n{}", tail(&bridge.log_text()));
}

#[test]
fn kafka_health_unreachable_broker_is_reported_not_fatal() {
    unreachable_broker_reports_503(true);
}

#[test]
fn kafka_health_unreachable_broker_without_topic_creation() {
    unreachable_broker_reports_503(false);
}
