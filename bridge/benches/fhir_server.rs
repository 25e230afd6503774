//! The FHIR server benchmark of BENCHMARKS.md (stage I): search latency over 100,000 resources
//! through the blind index, and HTTP create throughput beside file ingest, in one run.
//!
//! Run: `cargo bench -p fhir-bridge --bench fhir_server`. It writes 10,000 Patients (each with an
//! identifier) and 90,000 Observations (9 per patient, 20 LOINC codes) as NDJSON, times
//! `fhir-bridge ingest` of it, starts `serve` (bench profile) on that data dir, and times, one
//! request at a time:
//! 1. `Patient?identifier=urn:bench|MRN-i` (1 match), 1,000 searches;
//! 2. `Observation?code=http://loinc.org|C&subject=Patient/i` (the patient's one with that code
//!    or none), 1,000;
//! 3. `Observation?code=http://loinc.org|C&_count=50` (4,500 matches, a page of 50), 200;
//! 4. `Observation?patient=i` (the cross-institution path, 9 matches, no peers), 500;
//! 5. `Observation?date=geY-M-01&date=ltY-M-15` (a half-month range: about 150 matches, a page
//!    of 50; patient i's Observations are dated on day i of a month), 200;
//! 6. `Patient?name=Fi` (a name prefix: patient i's and those whose number starts with i), 500;
//!
//! then a Bulk Data `$export` of everything beside `fhir-bridge export` (run before `serve`), and
//! 2,000 Observations in transactions of 100, 2,000 `POST /fhir/Observation` one at a time, and
//! 4,000 from 8 clients at once.
//!
//! Not a criterion bench: one run of a whole system, printed as a table.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "bench-development-token-0123456789";
const PATIENTS: usize = 10_000;
const PER_PATIENT: usize = 9;
const CODES: usize = 20;

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

fn start(data: &Path) -> Bridge {
    let port = free_port();
    let child = Command::new(bin())
        .args(["--data-dir", &data.display().to_string(), "serve", "--listen", &format!("127.0.0.1:{port}")])
        .env(
            "FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS",
            format!(r#"[{{ token = "{TOKEN}", client_id = "bench", scopes = ["system/*.cruds"] }}]"#),
        )
        .env("FHIR_BRIDGE__HTTP__RATE_LIMIT_PER_S", "0")
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

fn code(index: usize) -> String {
    format!("{}-{}", 1000 + index % CODES, index % CODES % 10)
}

/// Patient i's Observations are all of one day: year, month and day from i.
fn effective(patient: usize) -> (usize, usize, usize) {
    (2000 + patient % 25, 1 + patient / 25 % 12, 1 + patient % 28)
}

fn observation(id: &str, patient: usize, code_index: usize) -> Value {
    let (year, month, day) = effective(patient);
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": code(code_index)}]},
           "subject": {"reference": format!("Patient/p{patient}")},
           "effectiveDateTime": format!("{year:04}-{month:02}-{day:02}T10:00:00Z"),
           "valueQuantity": {"value": 60 + code_index % 40, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})
}

/// The NDJSON input: every patient, then their Observations (patient i has codes i..i+9).
fn write_input(path: &Path) -> usize {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("input file"));
    let mut count = 0;
    for patient in 0..PATIENTS {
        let resource = json!({"resourceType": "Patient", "id": format!("p{patient}"), "gender": "female",
            "identifier": [{"system": "urn:bench", "value": format!("MRN-{patient}")}], "name": [{"family": format!("F{patient}")}]});
        writeln!(out, "{resource}").expect("write");
        count += 1;
        for n in 0..PER_PATIENT {
            writeln!(out, "{}", observation(&format!("o{patient}-{n}"), patient, patient + n)).expect("write");
            count += 1;
        }
    }
    count
}

fn get(bridge: &Bridge, query: &str) -> (Duration, usize) {
    let started = Instant::now();
    let body: Value = ureq::get(&format!("{}/fhir/{query}", bridge.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .call()
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_json()
        .expect("JSON");
    let elapsed = started.elapsed();
    (elapsed, body["entry"].as_array().map_or(0, Vec::len))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, mut times: Vec<Duration>, matches: usize) {
    times.sort();
    println!(
        "{what}: {} searches, {matches} entries in all, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}

fn searches(bridge: &Bridge, what: &str, count: usize, query: impl Fn(usize) -> String) {
    let (mut times, mut matches) = (Vec::with_capacity(count), 0);
    for index in 0..count {
        let (elapsed, found) = get(bridge, &query(index.wrapping_mul(7919) % PATIENTS));
        times.push(elapsed);
        matches += found;
    }
    report(what, times, matches);
}

fn create(base: &str, id: &str) {
    let body = observation(id, 1, 3).to_string();
    ureq::post(&format!("{base}/fhir/Observation"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("Content-Type", "application/fhir+json")
        .set("Prefer", "return=minimal")
        .send_string(&body)
        .unwrap_or_else(|e| panic!("POST: {e}"));
}

fn main() {
    let dir = tempfile::tempdir().expect("dir");
    let (input, data) = (dir.path().join("input.ndjson"), dir.path().join("data"));
    let resources = write_input(&input);
    let started = Instant::now();
    let ingest = Command::new(bin())
        .args(["--data-dir", &data.display().to_string(), "ingest", &input.display().to_string()])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .status()
        .expect("ingest");
    assert!(ingest.success(), "ingest failed");
    let ingest_rate = resources as f64 / started.elapsed().as_secs_f64();
    println!(
        "file ingest: {resources} resources in {:.1} s, {ingest_rate:.0} resources/s",
        started.elapsed().as_secs_f64()
    );

    // `fhir-bridge export` of everything (before serve, which holds the data dir).
    let started = Instant::now();
    let exported = Command::new(bin())
        .args([
            "--data-dir",
            &data.display().to_string(),
            "export",
            "--out",
            &dir.path().join("export.ndjson").display().to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .status()
        .expect("export");
    assert!(exported.success(), "export failed");
    let cli_export = resources as f64 / started.elapsed().as_secs_f64();

    let bridge = start(&data);
    // Warm the caches the same way for every kind.
    for index in 0..50 {
        get(&bridge, &format!("Patient?identifier=urn:bench|MRN-{index}"));
    }
    searches(&bridge, "by identifier (Patient?identifier=urn:bench|MRN-i)", 1000, |i| {
        format!("Patient?identifier=urn:bench|MRN-{i}")
    });
    searches(&bridge, "by code and subject (Observation?code=...&subject=Patient/i)", 1000, |i| {
        format!("Observation?code=http://loinc.org|{}&subject=Patient/p{i}", code(i + 4))
    });
    searches(&bridge, "by code alone, a page of 50 of 4,500 (Observation?code=...&_count=50)", 200, |i| {
        format!("Observation?code=http://loinc.org|{}&_count=50", code(i))
    });
    searches(&bridge, "by patient, the cross-institution path (Observation?patient=i)", 500, |i| {
        format!("Observation?patient=p{i}")
    });
    searches(&bridge, "by date range, a page of 50 (Observation?date=ge...&date=lt...&_count=50)", 200, |i| {
        let (year, month, _) = effective(i * 7);
        format!("Observation?date=ge{year:04}-{month:02}-01&date=lt{year:04}-{month:02}-15&_count=50")
    });
    searches(&bridge, "by name prefix (Patient?name=Fi)", 500, |i| format!("Patient?name=F{}", i * 19 % 1000));

    // Bulk Data `$export` of everything, kick-off to the last file downloaded.
    let started = Instant::now();
    let kick = ureq::get(&format!("{}/fhir/$export", bridge.base))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("Prefer", "respond-async")
        .call()
        .expect("kick-off");
    let status_url = kick.header("Content-Location").expect("Content-Location").to_owned();
    let manifest: Value = loop {
        let polled = ureq::get(&status_url).set("Authorization", &format!("Bearer {TOKEN}")).call().expect("poll");
        if polled.status() == 200 {
            break polled.into_json().expect("manifest");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut lines = 0usize;
    for output in manifest["output"].as_array().expect("output") {
        let file = ureq::get(output["url"].as_str().expect("url"))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .call()
            .expect("file")
            .into_string()
            .expect("NDJSON");
        lines += file.lines().count();
    }
    assert_eq!(lines, resources, "the export holds every resource");
    let http_export = lines as f64 / started.elapsed().as_secs_f64();
    println!(
        "export: fhir-bridge export {cli_export:.0} resources/s, $export {http_export:.0} resources/s ({:.2}× the CLI)",
        http_export / cli_export
    );

    let started = Instant::now();
    for batch in 0..20 {
        let entries: Vec<Value> = (0..100)
            .map(|n| {
                let id = format!("t{batch}-{n}");
                json!({"resource": observation(&id, 2, n), "request": {"method": "PUT", "url": format!("Observation/{id}")}})
            })
            .collect();
        ureq::post(&format!("{}/fhir", bridge.base))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .set("Content-Type", "application/fhir+json")
            .send_string(&json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string())
            .expect("transaction");
    }
    let transactions = 2000.0 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    for index in 0..2000 {
        create(&bridge.base, &format!("single-{index}"));
    }
    let single = 2000.0 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for client in 0..8 {
            let base = bridge.base.clone();
            scope.spawn(move || {
                for index in 0..500 {
                    create(&base, &format!("c{client}-{index}"));
                }
            });
        }
    });
    let concurrent = 4000.0 / started.elapsed().as_secs_f64();
    println!(
        "HTTP create: {single:.0} resources/s one at a time ({:.2}× file ingest), {concurrent:.0}/s from 8 clients ({:.2}× file ingest), {transactions:.0}/s in transactions of 100 ({:.2}× file ingest)",
        single / ingest_rate,
        concurrent / ingest_rate,
        transactions / ingest_rate
    );
}
