//! HL7 v2 parse + map to FHIR (BENCHMARKS.md, stage E): every shared sample message parsed with
//! `hl7v2` and mapped with `mappings/` by `hl7v2-fhir`, ids from a real node's keyed hash. The
//! peer figure is python-hl7's parse alone on the same messages (`benches/hl7v2/peer_parse.py`).
//!
//! Run: `cargo bench -p ingest-pipeline --bench v2_map`.

#![allow(missing_docs, reason = "a benchmark binary")]

use std::path::Path;

// The allocator of the `fhir-bridge` binary, so the figure is the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use node_store::Node;

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
        .map(|p| std::fs::read_to_string(p).expect("UTF-8").trim_start_matches('\u{feff}').replace('\n', "\r"))
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = samples();
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::open(&node_store::NodeConfig::in_dir(dir.path())).expect("node");
    let mappings =
        hl7v2_fhir::Mappings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings")).expect("mappings");
    let mut group = c.benchmark_group("hl7v2");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| {
            for text in &messages {
                std::hint::black_box(hl7v2::Message::parse(text).expect("parses"));
            }
        })
    });
    group.bench_function("parse+map", |b| {
        b.iter(|| {
            for text in &messages {
                let message = hl7v2::Message::parse(text).expect("parses");
                std::hint::black_box(mappings.map(&message, &ingest_pipeline::hl7v2::V2Ids(&node)).expect("maps"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
