//! End-to-end MLLP benchmark of BENCHMARKS.md (stage E): HL7 v2 messages over MLLP connections
//! at once, each message acknowledged only when its resources are durable in the ledger.
//!
//! Run: `cargo bench -p fhir-bridge --bench mllp_e2e`. It starts `fhir-bridge serve` (bench
//! profile) with the MLLP listener on a fresh data dir, then for each connection count sends
//! copies of the shared samples (every copy a new patient and a new control id, so each message
//! stores new resources), one message at a time per connection as MLLP senders do, and prints
//! messages/s, the ACK latency (p50, p99) and the bridge's CPU time per message (Linux).
//!
//! Not a criterion bench: one run of a whole system, printed as a table.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

fn samples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hl7v2");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("the shared HL7 v2 samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("UTF-8");
            let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n").replace('\n', "\r");
            text.split('\r').filter(|s| !s.trim().is_empty()).collect::<Vec<_>>().join("\r") + "\r"
        })
        .collect()
}

/// Copy `k` of `message`: MSH-10 and the first PID-3 id get a suffix, so it is a new message
/// about a new patient.
fn copy(message: &str, k: usize) -> String {
    message
        .split('\r')
        .map(|segment| {
            let mut fields: Vec<String> = segment.split('|').map(str::to_owned).collect();
            let at = match fields.first().map(String::as_str) {
                Some("MSH") => 9,
                Some("PID") => 3,
                _ => return segment.to_owned(),
            };
            if let Some(field) = fields.get_mut(at) {
                let end = field.find(['^', '~']).unwrap_or(field.len());
                field.insert_str(end, &format!("-{k}"));
            }
            fields.join("|")
        })
        .collect::<Vec<_>>()
        .join("\r")
}

fn exchange(stream: &mut TcpStream, message: &str, buffer: &mut Vec<u8>) -> bool {
    let mut frame = Vec::with_capacity(message.len() + 3);
    frame.push(0x0B);
    frame.extend_from_slice(message.as_bytes());
    frame.extend_from_slice(&[0x1C, b'\r']);
    stream.write_all(&frame).expect("send");
    buffer.clear();
    let mut chunk = [0u8; 4096];
    while !buffer.ends_with(&[0x1C, b'\r']) {
        let read = stream.read(&mut chunk).expect("receive");
        assert!(read > 0, "the bridge closed the connection");
        buffer.extend_from_slice(&chunk[..read]);
    }
    buffer.windows(7).any(|w| w == b"MSA|AA|")
}

/// A development token for reading the bridge's metrics (blocks, commit time) after each round.
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";

/// (blocks committed, commit seconds summed, resources accepted) from `/metrics`.
fn commit_metrics(http: u16) -> (f64, f64, f64) {
    let text = ureq::get(&format!("http://127.0.0.1:{http}/metrics"))
        .set("Authorization", &format!("Bearer {METRICS_TOKEN}"))
        .call()
        .expect("metrics")
        .into_string()
        .expect("text");
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("bridge_blocks_committed_total"),
        value("bridge_commit_seconds_sum"),
        value("bridge_resources_accepted_total"),
    )
}

/// CPU seconds (user + system) the process `pid` has used so far, where `/proc` tells (Linux).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux platform Rust supports.
    Some(ticks / 100.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let messages = samples();
    let data = tempfile::tempdir().expect("temp dir");
    let (http, mllp) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_fhir-bridge"))
        .args(["--data-dir", &data.path().display().to_string(), "serve", "--listen", &format!("127.0.0.1:{http}")])
        .env("FHIR_BRIDGE__MLLP__LISTEN", format!("127.0.0.1:{mllp}"))
        .env("FHIR_BRIDGE__HL7V2__MAPPINGS_DIR", Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings"))
        .env("RUST_LOG", "warn")
        // Every connection of the benchmark comes from 127.0.0.1, one sender to the listener.
        .env("FHIR_BRIDGE__MLLP__MAX_CONNECTIONS_PER_SENDER", "1024")
        .env(
            "FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS",
            format!(r#"[{{ token = "{METRICS_TOKEN}", client_id = "bench", scopes = ["bridge/metrics.read"] }}]"#),
        )
        .stdout(Stdio::null())
        .spawn()
        .expect("start the bridge");
    let pid = child.id();
    let _bridge = Bridge(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", mllp)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the MLLP listener did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    for (round, connections) in [8usize, 32, 64].into_iter().enumerate() {
        let before = commit_metrics(http);
        let cpu_before = cpu_seconds(pid);
        let per_connection = 2 * messages.len();
        let started = Instant::now();
        let latencies: Vec<Duration> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..connections)
                .map(|c| {
                    let messages = &messages;
                    scope.spawn(move || {
                        let mut stream = TcpStream::connect(("127.0.0.1", mllp)).expect("connect");
                        stream.set_nodelay(true).expect("nodelay");
                        let mut buffer = Vec::new();
                        let mut times = Vec::with_capacity(per_connection);
                        for i in 0..per_connection {
                            let k = (round * 1000 + c) * per_connection + i;
                            let message = copy(&messages[i % messages.len()], k);
                            let sent = Instant::now();
                            assert!(
                                exchange(&mut stream, &message, &mut buffer),
                                "not AA: {}",
                                String::from_utf8_lossy(&buffer)
                            );
                            times.push(sent.elapsed());
                        }
                        times
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("sender")).collect()
        });
        let elapsed = started.elapsed();
        let mut sorted = latencies.clone();
        sorted.sort();
        println!(
            "{connections} connections: {} messages in {:.2} s = {:.0} messages/s; ACK p50 {:.1} ms, p99 {:.1} ms",
            latencies.len(),
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(&sorted, 0.5).as_secs_f64() * 1e3,
            percentile(&sorted, 0.99).as_secs_f64() * 1e3,
        );
        let cpu = cpu_seconds(pid).zip(cpu_before).map(|(after, before)| after - before);
        let after = commit_metrics(http);
        let blocks = (after.0 - before.0).max(1.0);
        println!(
            "    {blocks:.0} blocks: {:.1} messages and {:.0} resources per block, {:.1} ms from batch start to durable",
            latencies.len() as f64 / blocks,
            (after.2 - before.2) / blocks,
            (after.1 - before.1) / blocks * 1e3,
        );
        if let Some(cpu) = cpu {
            println!(
                "    bridge CPU: {:.0} µs per message, {:.2} of {} cores busy",
                cpu / latencies.len() as f64 * 1e6,
                cpu / elapsed.as_secs_f64(),
                std::thread::available_parallelism().map_or(0, usize::from),
            );
        }
    }
}
