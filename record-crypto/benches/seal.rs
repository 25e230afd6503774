//! Criterion benchmarks of the per-record hot path (record-key derivation, seal and open of
//! 1 KiB and 8 KiB records) and of the per-grant path (wrap and unwrap of a patient key).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use record_crypto::{open, seal, unwrap_patient_key, wrap_patient_key, NodeKeyPair, PatientKey};

const ASSOCIATED_DATA: &[u8] = &[0x5a; 160];
const IDENTITY: &[u8] = &[0x11; 68];

#[expect(clippy::unwrap_used, reason = "Benchmark setup; a failure should abort the run")]
fn bench_seal_open(criterion: &mut Criterion) {
    let patient_key = PatientKey::generate(0).unwrap();
    let record_key = patient_key.record_key(IDENTITY);
    let salt = [0x22; 32];
    let mut group = criterion.benchmark_group("record");
    for size in [1024usize, 8 * 1024] {
        let plaintext = vec![0x7b; size];
        let sealed = seal(&record_key, ASSOCIATED_DATA, &plaintext, &salt).unwrap();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("seal", size), &plaintext, |bencher, plaintext| {
            bencher.iter(|| seal(&record_key, ASSOCIATED_DATA, black_box(plaintext), &salt).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("open", size), &sealed, |bencher, sealed| {
            bencher.iter(|| open(&record_key, ASSOCIATED_DATA, black_box(sealed)).unwrap())
        });
    }
    group.finish();
    criterion
        .bench_function("record_key/derive", |bencher| bencher.iter(|| patient_key.record_key(black_box(IDENTITY))));
}

#[expect(clippy::unwrap_used, reason = "Benchmark setup; a failure should abort the run")]
fn bench_wrap_unwrap(criterion: &mut Criterion) {
    let patient_key = PatientKey::generate(0).unwrap();
    let recipient = NodeKeyPair::generate().unwrap();
    let context = [0x33; 68];
    let wrapped = wrap_patient_key(&patient_key, recipient.public_key(), &context).unwrap();
    criterion.bench_function("patient_key/wrap", |bencher| {
        bencher.iter(|| wrap_patient_key(&patient_key, recipient.public_key(), black_box(&context)).unwrap())
    });
    criterion.bench_function("patient_key/unwrap", |bencher| {
        bencher.iter(|| unwrap_patient_key(black_box(&wrapped), &recipient, &context).unwrap())
    });
}

fn short() -> Criterion {
    // Two shared cores: short runs keep the figures indicative without hogging the machine.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

/// Runs every benchmark with the short configuration (what `criterion_group!` would generate,
/// written out so it can carry a doc comment).
fn benches() {
    let mut criterion = short().configure_from_args();
    bench_seal_open(&mut criterion);
    bench_wrap_unwrap(&mut criterion);
}

criterion_main!(benches);
