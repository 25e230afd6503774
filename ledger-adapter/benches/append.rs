//! Append and proof benchmarks for `SledLedger` on a real sled database in a temporary directory.
//!
//! `append_block/1000x1KiB`: one block of 1,000 records of 1 KiB each, including hashing, signing,
//! the transaction and the flush (throughput is per record). `proofs`: an inclusion proof, a
//! consistency proof and a root at the head of a ledger of 100,000 records (whose size is not a
//! multiple of the 64-leaf chunks, so the lower nodes are computed from two chunks), a record and
//! a leaf hash read, and a full verification.

#![allow(missing_docs, reason = "criterion_group! generates an undocumented public function")]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ledger_adapter::{LedgerReader, LedgerWriter, Secp256k1Signer, SledLedger};

const RECORDS_PER_BLOCK: usize = 1_000;
const RECORD_BYTES: usize = 1_024;

fn block(start: usize, records: usize) -> Vec<Vec<u8>> {
    (0..records)
        .map(|offset| {
            let mut record = vec![0u8; RECORD_BYTES];
            record[..8].copy_from_slice(&((start + offset) as u64).to_be_bytes());
            record
        })
        .collect()
}

fn open() -> (tempfile::TempDir, sled::Db, SledLedger) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = sled::open(dir.path().join("db")).expect("open sled");
    let ledger = SledLedger::open(&db, Secp256k1Signer::generate()).expect("open ledger");
    (dir, db, ledger)
}

fn append(criterion: &mut Criterion) {
    let (_dir, _db, ledger) = open();
    let mut next = 0usize;
    let mut group = criterion.benchmark_group("append_block");
    group.sample_size(20);
    // A large block (file ingest) and a small one (what an MLLP or HTTP burst makes): the
    // difference per record shows the fixed cost of a block (signing, the flush).
    for records in [RECORDS_PER_BLOCK, 40] {
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(format!("{records}x1KiB"), |bencher| {
            bencher.iter_batched(
                || {
                    let batch = block(next, records);
                    next += records;
                    batch
                },
                |batch| ledger.append_block(&batch, 0).expect("append"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn proofs(criterion: &mut Criterion) {
    let (_dir, _db, ledger) = open();
    for start in (0..100).map(|index| index * RECORDS_PER_BLOCK) {
        ledger.append_block(&block(start, RECORDS_PER_BLOCK), 0).expect("append");
    }
    let size = ledger.tree_size().expect("size");
    let mut group = criterion.benchmark_group("proofs");
    let mut seq = 0u64;
    group.bench_function("inclusion_100k", |bencher| {
        bencher.iter(|| {
            seq = (seq + 7_919) % size;
            black_box(ledger.inclusion_proof(seq, size).expect("proof"))
        })
    });
    let mut first = 1u64;
    group.bench_function("consistency_100k", |bencher| {
        bencher.iter(|| {
            first = (first + 7_919) % size + 1;
            black_box(ledger.consistency_proof(first, size).expect("proof"))
        })
    });
    group.bench_function("root_at_100k", |bencher| bencher.iter(|| black_box(ledger.root_at(size - 1).expect("root"))));
    group.bench_function("record_100k", |bencher| {
        bencher.iter(|| {
            seq = (seq + 7_919) % size;
            black_box(ledger.record(seq).expect("read"))
        })
    });
    group.bench_function("leaf_hash_100k", |bencher| {
        bencher.iter(|| {
            seq = (seq + 7_919) % size;
            black_box(ledger.leaf_hash(seq).expect("read"))
        })
    });
    group.sample_size(10);
    group.bench_function("verify_100k", |bencher| {
        bencher.iter(|| black_box(ledger.verify(None, &mut |_| {}).expect("verify")))
    });
    group.finish();
}

criterion_group!(benches, append, proofs);
criterion_main!(benches);
