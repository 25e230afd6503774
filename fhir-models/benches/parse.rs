//! Parse, validate, serialise and canonicalise throughput over real data: the bulk NDJSON export
//! in `../shared/data/fhir-r4/bulk-ndjson` (about 7,160 resources of 13 types).
//!
//! Run with `cargo bench -p fhir-models --bench parse`. Figures go to BENCHMARKS.md.

#![allow(missing_docs, reason = "criterion macros generate undocumented functions")]

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bulk_lines() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir-r4/bulk-ndjson");
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("bulk-ndjson data not found at {}", dir.display());
        return lines;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read(&path) else { continue };
        lines.extend(text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec));
    }
    lines
}

fn bench(c: &mut Criterion) {
    let lines = bulk_lines();
    if lines.is_empty() {
        return;
    }
    let bytes: usize = lines.iter().map(Vec::len).sum();
    let resources: Vec<_> = lines.iter().map(|l| fhir_models::parse_resource(l).expect("valid")).collect();

    let mut group = c.benchmark_group("bulk-ndjson");
    group.sample_size(10);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| lines.iter().map(|l| fhir_models::parse_resource(l).map(|_| ()).is_ok() as usize).sum::<usize>())
    });
    group.bench_function("parse+validate", |b| {
        b.iter(|| lines.iter().filter(|l| fhir_models::parse_and_validate(l).is_ok()).count())
    });
    group.bench_function("validate", |b| {
        b.iter(|| resources.iter().map(|r| fhir_models::validate(r).len()).sum::<usize>())
    });
    group.bench_function("serialise", |b| {
        b.iter(|| resources.iter().map(|r| fhir_models::to_json(r).len()).sum::<usize>())
    });
    group.bench_function("canonicalise", |b| {
        b.iter(|| resources.iter().map(|r| fhir_models::to_canonical_json(r).len()).sum::<usize>())
    });
    group.finish();
    eprintln!("{} resources, {} bytes", lines.len(), bytes);
}

criterion_group!(benches, bench);
criterion_main!(benches);
