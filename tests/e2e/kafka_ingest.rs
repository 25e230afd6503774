//! The Kafka connector end to end: FHIR JSON, a transaction Bundle, NDJSON, invalid FHIR,
//! malformed JSON, a real HL7 v2 sample (mapped with `mappings/`) and an HL7 v2 message with a
//! bad field on the ingest topic; receipts and dead letters back; the v2 records' ledger source
//! names the sender and control id; duplicates recognised; metrics; a graceful stop; then
//! `verify`, `read` and `export` on the data dir.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::kafka_support::{metric, produce, producer, read_until, tail, Bridge, KafkaNames, Outgoing, Record};
use crate::require_kafka;
use crate::support::{hl7v2_root, ndjson as ndjson_lines, temp_dir};

const FHIR_JSON: &str = "application/fhir+json";
const FHIR_NDJSON: &str = "application/fhir+ndjson";
const HL7_V2: &str = "x-application/hl7-v2+er7";

fn patient(id: &str, birth: &str) -> Value {
    json!({"resourceType":"Patient","id":id,"gender":"female","birthDate":birth,"name":[{"family":"Kafka","given":[id]}]})
}

fn observation(id: &str, patient: &str) -> Value {
    json!({"resourceType":"Observation","id":id,"status":"final",
        "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
        "subject":{"reference":format!("Patient/{patient}")},
        "effectiveDateTime":"2024-01-02T03:04:05Z",
        "valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}})
}

#[test]
fn kafka_ingest_produces_receipts_dead_letters_and_recognises_duplicates() {
    let brokers = require_kafka!();
    let _broker = crate::kafka_support::one_at_a_time();
    let Some(hl7_root) = hl7v2_root() else { return };
    let names = KafkaNames::new(&brokers, "ingest", 4);
    let data = temp_dir();
    let logs = temp_dir();
    let mut env = names.env();
    let mappings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
    env.push(("FHIR_BRIDGE__HL7V2__MAPPINGS_DIR".to_owned(), mappings.display().to_string()));
    let mut bridge = Bridge::start(data.path(), &env, &logs.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(60));

    let bundle = json!({"resourceType":"Bundle","type":"transaction","entry":[
        {"fullUrl":"urn:uuid:6b0f9a52-1c1e-4a3a-9d1e-2f7a6c0e0a02","resource":patient("kafka-p2","1980-02-02"),
         "request":{"method":"PUT","url":"Patient/kafka-p2"}},
        {"fullUrl":"urn:uuid:6b0f9a52-1c1e-4a3a-9d1e-2f7a6c0e0b02","resource":observation("kafka-o2","kafka-p2"),
         "request":{"method":"PUT","url":"Observation/kafka-o2"}}]});
    let ndjson = [
        patient("kafka-p3", "1990-03-03").to_string(),
        observation("kafka-o3", "kafka-p3").to_string(),
        json!({"resourceType":"Patient","id":"kafka-p5","birthDate":"yesterday"}).to_string(),
        patient("kafka-p4", "1991-04-04").to_string(),
    ]
    .join("\n");
    // A real admission (Patient PATID1234 and an Encounter), as a sender puts it on the wire, and
    // the same message with an impossible birth date (PID-7) and its own control id.
    let hl7_text = std::fs::read_to_string(hl7_root.join("ADT-A01-02.hl7")).expect("the ADT-A01-02 sample");
    let hl7 = hl7_text.trim_start_matches('\u{feff}').replace("\r\n", "\r").replace('\n', "\r");
    assert!(hl7.contains("|MSG00001|") && hl7.contains("|198808181126+0215|"), "the sample is as the test expects");
    let hl7_bad =
        hl7.replacen("|MSG00001|", "|MSG-BAD-K|", 1).replacen("|198808181126+0215|", "|198813181126+0215|", 1);
    let messages = vec![
        Outgoing::new(Some("kafka-p1"), FHIR_JSON, patient("kafka-p1", "1970-01-01").to_string())
            .header("correlation-id", "corr-p1"),
        Outgoing::new(Some("kafka-p1"), FHIR_JSON, observation("kafka-o1", "kafka-p1").to_string())
            .header("correlation-id", "corr-o1"),
        Outgoing::new(Some("kafka-p2"), FHIR_JSON, bundle.to_string()).header("correlation-id", "corr-bundle"),
        Outgoing::new(Some("kafka-p3"), FHIR_NDJSON, ndjson).header("correlation-id", "corr-ndjson"),
        Outgoing::new(Some("kafka-p6"), FHIR_JSON, patient("kafka-p6", "1970-02-30").to_string())
            .header("correlation-id", "corr-invalid"),
        Outgoing::new(Some("kafka-p7"), FHIR_JSON, "{\"resourceType\": \"Patient\", \"id\": ")
            .header("correlation-id", "corr-malformed"),
        Outgoing::new(Some("PATID1234"), HL7_V2, hl7.clone()).header("correlation-id", "corr-hl7"),
        Outgoing::new(Some("PATID1234"), HL7_V2, hl7_bad.clone()).header("correlation-id", "corr-hl7-bad"),
        // A batch envelope with no message in it: kept as a dead letter, not dropped.
        Outgoing::new(Some("PATID1234"), HL7_V2, "BHS|^~\\&|GHH\rBTS|0\r".to_owned())
            .header("correlation-id", "corr-hl7-envelope"),
    ];
    let started = Instant::now();
    let producer = producer(&brokers);
    let coordinates = produce(&producer, &names.ingest, &messages);

    // Receipts: one per resource version (p1, o1, p2, o2, p3, o3, p4, and the v2 message's
    // Patient and Encounter).
    let receipts = read_until(&brokers, &names.receipts, Duration::from_secs(60), |r| r.len() >= 9);
    eprintln!("kafka_ingest: 9 receipts after {:?}", started.elapsed());
    assert_eq!(receipts.len(), 9, "{receipts:?}");
    let expected: [(&str, usize, &str); 9] = [
        ("corr-p1", 0, "Patient"),
        ("corr-o1", 1, "Observation"),
        ("corr-bundle", 2, "Patient"),
        ("corr-bundle", 2, "Observation"),
        ("corr-ndjson", 3, "Patient"),
        ("corr-ndjson", 3, "Observation"),
        ("corr-ndjson", 3, "Patient"),
        ("corr-hl7", 6, "Patient"),
        ("corr-hl7", 6, "Encounter"),
    ];
    let mut seqs = Vec::new();
    let mut v2_seqs = Vec::new();
    let mut left: Vec<Value> = receipts.iter().map(Record::json).collect();
    for (correlation, message, resource_type) in expected {
        let at = left
            .iter()
            .position(|r| r["correlation_id"] == correlation && r["resource_type"] == resource_type)
            .unwrap_or_else(|| panic!("no {resource_type} receipt for {correlation} in {left:?}"));
        let receipt = left.remove(at);
        let (partition, offset) = coordinates[message];
        assert_eq!(receipt["source"]["topic"], names.ingest.as_str(), "{receipt}");
        assert_eq!(receipt["source"]["partition"], partition, "{receipt}");
        assert_eq!(receipt["source"]["offset"], offset, "{receipt}");
        assert_eq!(receipt["version"], 1, "{receipt}");
        assert_eq!(receipt["duplicate"], false, "{receipt}");
        assert!(receipt["block_height"].is_u64(), "{receipt}");
        assert!(receipt["cid"].as_str().is_some_and(|c| !c.is_empty()), "{receipt}");
        let pseudonym = receipt["resource"].as_str().unwrap_or_default();
        assert!(
            pseudonym.len() == 64 && pseudonym.bytes().all(|b| b.is_ascii_hexdigit()),
            "resource is not a 64-hex pseudonym: {receipt}"
        );
        assert!(!receipt.to_string().contains("kafka-p"), "a receipt carries an identifier: {receipt}");
        assert!(!receipt.to_string().contains("PATID1234"), "a receipt carries an identifier: {receipt}");
        let seq = receipt["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {receipt}"));
        seqs.push(seq);
        if correlation == "corr-hl7" {
            v2_seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 9, "receipts share a seq: {seqs:?}");
    // The v2 message's records name the Kafka coordinates and the sender's application,
    // facility and control id (MSH-3, MSH-4, MSH-10).
    let (partition, offset) = coordinates[6];
    for seq in &v2_seqs {
        let (status, proof) = bridge.get(&format!("/ledger/proof/{seq}")).expect("proof");
        assert_eq!(status, 200, "{proof}");
        let record = &serde_json::from_str::<Value>(&proof).unwrap()["record"];
        assert_eq!(
            record["source"],
            format!("kafka:{}/{partition}/{offset};hl7v2:ADTApp/GHHSFacility/MSG00001", names.ingest),
            "{record}"
        );
    }
    for record in &receipts {
        let body = record.json();
        assert_eq!(record.header("correlation-id").as_deref(), body["correlation_id"].as_str(), "receipt header");
    }

    // Dead letters: the NDJSON line, the invalid Patient, the malformed JSON, the bad v2 message,
    // the empty v2 batch.
    let dead = read_until(&brokers, &names.dlq, Duration::from_secs(30), |r| r.len() >= 5);
    assert_eq!(dead.len(), 5, "{dead:?}");
    let by_correlation = |c: &str| -> &Record {
        dead.iter()
            .find(|r| r.header("correlation-id").as_deref() == Some(c))
            .unwrap_or_else(|| panic!("no dead letter for {c}: {dead:?}"))
    };
    for (correlation, message) in
        [("corr-ndjson", 3), ("corr-invalid", 4), ("corr-malformed", 5), ("corr-hl7-bad", 7), ("corr-hl7-envelope", 8)]
    {
        let letter = by_correlation(correlation);
        let original = &messages[message];
        for (key, value) in &original.headers {
            assert_eq!(letter.header(key).as_deref(), Some(value.as_str()), "{correlation}: header {key}");
        }
        assert!(letter.header("error").is_some_and(|e| !e.is_empty()), "{correlation}: no error header");
        let (partition, offset) = coordinates[message];
        assert_eq!(letter.header("source-topic").as_deref(), Some(names.ingest.as_str()));
        assert_eq!(letter.header("source-partition"), Some(partition.to_string()), "{correlation}");
        assert_eq!(letter.header("source-offset"), Some(offset.to_string()), "{correlation}");
        assert_eq!(letter.key.as_deref(), original.key.as_deref().map(str::as_bytes), "{correlation}: key");
        if correlation != "corr-ndjson" {
            assert_eq!(letter.payload, original.payload, "{correlation}: original bytes");
        }
    }
    let line = by_correlation("corr-ndjson");
    assert_eq!(line.header("source-line").as_deref(), Some("3"));
    let third_line = String::from_utf8(messages[3].payload.clone()).unwrap();
    assert_eq!(line.payload, third_line.lines().nth(2).unwrap().as_bytes(), "the bad NDJSON line's bytes");
    for correlation in ["corr-ndjson", "corr-invalid"] {
        let letter = by_correlation(correlation);
        let outcome: Value =
            serde_json::from_str(&letter.header("operation-outcome").expect("operation-outcome header")).unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(outcome.to_string().contains("Patient.birthDate"), "{correlation}: {outcome}");
    }
    assert!(by_correlation("corr-malformed").header("operation-outcome").is_some(), "malformed JSON has an outcome");
    let hl7_letter = by_correlation("corr-hl7-bad");
    let hl7_error = hl7_letter.header("error").unwrap();
    assert!(hl7_error.contains("HL7 v2") && hl7_error.contains("PID-7"), "{hl7_error}");
    let outcome: Value = serde_json::from_str(&hl7_letter.header("operation-outcome").expect("outcome")).unwrap();
    assert_eq!(outcome["issue"][0]["expression"][0], "PID-7", "the field is named: {outcome}");
    assert!(
        outcome["issue"][0]["diagnostics"].as_str().is_some_and(|d| d.starts_with("PID-7")),
        "the reason names the field: {outcome}"
    );

    // The same Patient again: a duplicate receipt, no new version.
    let again = messages[0].clone().header("correlation-id", "corr-p1-again");
    let mut again = again;
    again.headers.retain(|(k, v)| k != "correlation-id" || v == "corr-p1-again");
    let again_at = produce(&producer, &names.ingest, &[again])[0];
    let receipts = read_until(&brokers, &names.receipts, Duration::from_secs(30), |r| r.len() >= 10);
    let duplicate = receipts
        .iter()
        .map(Record::json)
        .find(|r| r["correlation_id"] == "corr-p1-again")
        .expect("a receipt for the duplicate");
    assert_eq!(duplicate["duplicate"], true, "{duplicate}");
    assert_eq!(duplicate["version"], 1, "{duplicate}");
    assert_eq!(duplicate["source"]["offset"], again_at.1, "{duplicate}");
    let first = receipts.iter().map(Record::json).find(|r| r["correlation_id"] == "corr-p1").unwrap();
    assert_eq!(duplicate["resource"], first["resource"]);

    // Metrics (the lag gauge is sampled every 5 s).
    let start = Instant::now();
    let metrics = loop {
        let metrics = bridge.metrics();
        if metrics.contains("bridge_kafka_consumer_lag{") || start.elapsed() > Duration::from_secs(20) {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let consumed = metric(&metrics, "bridge_kafka_messages_consumed_total").unwrap_or(0.0);
    assert!(consumed >= 9.0, "consumed {consumed}:\n{metrics}");
    let dead_letters = metric(&metrics, "bridge_kafka_dead_letters_total").unwrap_or(0.0);
    assert!(dead_letters >= 4.0, "dead letters {dead_letters}:\n{metrics}");
    assert!(metrics.contains("bridge_kafka_consumer_lag{"), "no consumer lag line:\n{metrics}");

    let health: Value = serde_json::from_str(&bridge.get("/healthz").expect("healthz").1).unwrap();
    assert_eq!(health["kafka"], "ok", "{health}");

    let status = bridge.terminate(Duration::from_secs(40));
    assert_eq!(status.code(), Some(0), "serve after SIGTERM: {status}\n{}", tail(&bridge.log_text()));

    bridge.command(&["verify"]).expect_code(0, "verify after kafka ingest");
    let read = |reference: &str| -> Value {
        let run = bridge.command(&["read", reference]).expect_code(0, reference);
        serde_json::from_str(&run.stdout).unwrap()
    };
    for reference in [
        "Patient/kafka-p1",
        "Observation/kafka-o1",
        "Patient/kafka-p2",
        "Observation/kafka-o2",
        "Patient/kafka-p3",
        "Observation/kafka-o3",
        "Patient/kafka-p4",
    ] {
        assert_eq!(read(reference)["meta"]["versionId"], "1", "{reference}");
    }
    assert_eq!(read("Patient/kafka-p1")["birthDate"], "1970-01-01");
    bridge
        .command(&["read", "Patient/kafka-p1", "--version", "2"])
        .expect_code(1, "no second version of the duplicate");
    for absent in ["Patient/kafka-p5", "Patient/kafka-p6"] {
        bridge.command(&["read", absent]).expect_code(1, &format!("{absent} was refused"));
    }
    // The v2 message's resources are readable (their ids are keyed hashes: found by content),
    // and nothing of the refused one is stored.
    let patients = ndjson_lines(&bridge.command(&["export", "--type", "Patient"]).expect_code(0, "export").stdout);
    let mapped: Vec<&Value> = patients
        .iter()
        .filter(|p| p["identifier"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == "PATID1234")))
        .collect();
    assert_eq!(mapped.len(), 1, "{patients:#?}");
    assert_eq!(mapped[0]["birthDate"], "1988-08-18", "the good message's birth date: {:#}", mapped[0]);
    assert_eq!(mapped[0]["meta"]["versionId"], "1", "the refused message made no version: {:#}", mapped[0]);
    let patient_id = mapped[0]["id"].as_str().expect("id");
    assert_eq!(read(&format!("Patient/{patient_id}"))["identifier"], mapped[0]["identifier"]);
    let encounters = ndjson_lines(&bridge.command(&["export", "--type", "Encounter"]).expect_code(0, "export").stdout);
    assert_eq!(encounters.len(), 1, "{encounters:#?}");
    assert_eq!(encounters[0]["subject"]["reference"], format!("Patient/{patient_id}"), "{:#}", encounters[0]);
}
