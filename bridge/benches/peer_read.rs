//! Cross-institution read benchmark of BENCHMARKS.md: grantee B searches custodian A's records of
//! one patient through the patient's grant, with every check done (A: token, grant, proofs, an
//! audited Access record; B: head signature, inclusion proofs, CIDs, unwrap, decryption,
//! commitments, FHIR validation, its own Access record).
//!
//! Run: `cargo bench -p fhir-bridge --bench peer_read`. It starts two `fhir-bridge serve`
//! processes (bench profile) on fresh data dirs on loopback, ingests at A a patient with 1,000
//! Observations and a patient with one, each with a Consent granting B, then times from B's side:
//! 1. `GET /fhir/Observation?patient=p1000&_count=1000` (1,000 records per search), 200 times;
//! 2. `GET /fhir/Observation?patient=p1` (one record per search), 500 times, one at a time.
//!
//! Not a criterion bench: one run of a whole system, printed as a table.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "bench-development-token-0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

struct Bridge {
    child: Child,
    base: String,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fhir-bridge")
}

/// `keys` on `data`: the node's public key.
fn public_key(data: &Path) -> String {
    let out = Command::new(bin()).args(["--data-dir", &data.display().to_string(), "keys"]).output().expect("keys");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find(|l| l.starts_with("public_key")).and_then(|l| l.split('"').nth(1)).expect("public_key").to_owned()
}

fn start(data: &Path, peers: String) -> Bridge {
    let port = free_port();
    let child = Command::new(bin())
        .args(["--data-dir", &data.display().to_string(), "serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("FHIR_BRIDGE__PEERS", peers)
        .env(
            "FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS",
            format!(r#"[{{ token = "{TOKEN}", client_id = "bench", scopes = ["system/*.cruds", "bridge/ledger.read", "bridge/metrics.read"] }}]"#),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start the bridge");
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{base}/healthz")).call().is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the bridge did not become healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
    Bridge { child, base }
}

fn post(bridge: &Bridge, path: &str, body: &Value) {
    let response = ureq::post(&format!("{}{path}", bridge.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("Content-Type", "application/fhir+json")
        .send_string(&body.to_string());
    if let Err(e) = response {
        panic!("POST {path}: {e}");
    }
}

fn consent(id: &str, patient: &str) -> Value {
    json!({
        "resourceType": "Consent", "id": id, "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{patient}")},
        "provision": {"type": "permit", "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}, "reference": {"reference": "Organization/hospital-b"}}]}
    })
}

fn observation(id: &str, patient: &str, value: usize) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
           "subject": {"reference": format!("Patient/{patient}")},
           "effectiveDateTime": "2026-01-01T10:00:00Z",
           "valueQuantity": {"value": 60 + value % 40, "unit": "beats/minute", "system": "http://unitsofmeasure.org", "code": "/min"}})
}

/// One search from B: (time, matches).
fn search(b: &Bridge, query: &str) -> (Duration, usize) {
    let started = Instant::now();
    let body: Value = ureq::get(&format!("{}{query}", b.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .expect("search")
        .into_json()
        .expect("JSON");
    let elapsed = started.elapsed();
    let entries = body["entry"].as_array().cloned().unwrap_or_default();
    assert!(entries.iter().all(|e| e["search"]["mode"] == "match"), "a peer problem: {body}");
    (elapsed, entries.len())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, mut times: Vec<Duration>, records_per_search: usize) {
    times.sort();
    let total: Duration = times.iter().sum();
    let per_record = total / (times.len() * records_per_search) as u32;
    println!(
        "{what}: {} searches, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.0} records/s ({:.1} µs per record)",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        (times.len() * records_per_search) as f64 / total.as_secs_f64(),
        per_record.as_secs_f64() * 1e6,
    );
}

fn main() {
    let (a_dir, b_dir) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let (a_key, b_key) = (public_key(a_dir.path()), public_key(b_dir.path()));
    let a = start(a_dir.path(), format!(r#"[{{ organization = "Organization/hospital-b", public_key = "{b_key}" }}]"#));
    let b = start(
        b_dir.path(),
        format!(r#"[{{ organization = "Organization/hospital-a", public_key = "{a_key}", url = "{}" }}]"#, a.base),
    );

    for (patient, count) in [("p1000", 1000), ("p1", 1)] {
        post(&a, "/fhir/Patient", &json!({"resourceType": "Patient", "id": patient}));
        post(&a, "/fhir/Consent", &consent(&format!("consent-{patient}"), patient));
        let entries: Vec<Value> = (0..count)
            .map(|i| {
                let id = format!("{patient}-obs-{i}");
                json!({"resource": observation(&id, patient, i), "request": {"method": "PUT", "url": format!("Observation/{id}")}})
            })
            .collect();
        post(&a, "/fhir", &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}));
    }

    // Warm up (token, connections, caches), and check the answer is whole.
    let (_, found) = search(&b, "/fhir/Observation?patient=p1000&_count=1000");
    assert_eq!(found, 1000);
    let (_, found) = search(&b, "/fhir/Observation?patient=p1");
    assert_eq!(found, 1);

    let large: Vec<Duration> =
        (0..200).map(|_| search(&b, "/fhir/Observation?patient=p1000&_count=1000")).map(|(t, _)| t).collect();
    report("patient with 1,000 records", large, 1000);
    let single: Vec<Duration> = (0..500).map(|_| search(&b, "/fhir/Observation?patient=p1")).map(|(t, _)| t).collect();
    report("patient with 1 record", single, 1);

    // The custodian's share: A's answer to B's node (token signed with B's key), unverified.
    let secret_hex = std::fs::read_to_string(b_dir.path().join("node.key")).expect("node.key");
    let secret: [u8; 32] = data_encoding::HEXLOWER_PERMISSIVE
        .decode(secret_hex.trim().as_bytes())
        .expect("hex")
        .try_into()
        .expect("32 bytes");
    let b_id = exchange::PeerClient::new(
        record_crypto::NodeKeyPair::from_secret_bytes(&secret).expect("key"),
        Duration::from_secs(10),
    );
    let peer = node_store::Peer {
        organization: "Organization/hospital-a".into(),
        public_key: a_key.parse().expect("A's key"),
        key_id_hex: a_key.parse::<record_crypto::NodePublicKey>().expect("A's key").key_id().to_string(),
        url: Some(a.base.clone()),
    };
    let custodian: Vec<Duration> = (0..100)
        .map(|_| {
            let started = Instant::now();
            let answer = b_id.fetch(&peer, "p1000", "Observation", None).expect("answer");
            assert_eq!(answer.records.len(), 1000);
            started.elapsed()
        })
        .collect();
    report("custodian's answer alone, 1,000 records (A's side and transfer)", custodian, 1000);
}
