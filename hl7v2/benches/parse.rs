//! Parse time per message over the real sample messages: every `.hl7` file at the top level of
//! `../shared/data/hl7v2` (120 messages of 2 to 60 segments), plus one typical ADT^A01.
//!
//! Run with `cargo bench -p hl7v2 --bench parse`.

#![allow(missing_docs, reason = "criterion macros generate undocumented functions")]

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn messages() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hl7v2");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: HL7 v2 data not found at {}", dir.display());
        return Vec::new();
    };
    let mut paths: Vec<_> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "hl7")).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            Some((name, std::fs::read_to_string(&p).ok()?))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let messages = messages();
    if messages.is_empty() {
        return;
    }
    let segments: usize =
        messages.iter().map(|(_, m)| hl7v2::Message::parse(m).expect("sample parses").segments().len()).sum();

    let mut group = c.benchmark_group("hl7v2");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("parse all samples", |b| {
        b.iter(|| messages.iter().filter(|(_, m)| hl7v2::Message::parse(m).is_ok()).count())
    });
    group.bench_function("parse all samples + header + PID-3/5/7", |b| {
        b.iter(|| {
            messages
                .iter()
                .filter_map(|(_, m)| hl7v2::Message::parse(m).ok())
                .map(|m| {
                    m.header().control_id.len()
                        + ["PID-3.1", "PID-5.1", "PID-7"]
                            .iter()
                            .filter_map(|p| m.get(p))
                            .map(|v| v.len())
                            .sum::<usize>()
                })
                .sum::<usize>()
        })
    });
    if let Some((name, adt)) = messages.iter().find(|(name, _)| name == "ADT01-23.hl7") {
        let count = hl7v2::Message::parse(adt).expect("parses").segments().len();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("parse one ADT^A01 ({name}, {count} segments, {} bytes)", adt.len()), |b| {
            b.iter(|| hl7v2::Message::parse(adt).map(|m| m.segments().len()))
        });
    }
    group.finish();
    let bytes: usize = messages.iter().map(|(_, m)| m.len()).sum();
    eprintln!("{} messages, {segments} segments, {bytes} bytes", messages.len());
}

criterion_group!(benches, bench);
criterion_main!(benches);
