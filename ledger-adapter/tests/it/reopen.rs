//! Reopening after a drop continues the chain; readers on other threads only see whole blocks.

use std::sync::Arc;

use ledger_adapter::{
    hash_leaf, root_from_leaves, Hash, LedgerReader, LedgerWriter, Secp256k1Signer, SledLedger, DEFAULT_TREE_PREFIX,
};

use crate::support::{record, TestLedger};

/// Drops the ledger and its database and opens both again from the same directory.
fn reopen(test: TestLedger) -> (tempfile::TempDir, sled::Db, ledger_adapter::NodeKey, SledLedger) {
    let TestLedger { dir, db, key, ledger } = test;
    drop(ledger);
    drop(db);
    // sled's background flusher holds the directory lock for a moment after the last handle is
    // dropped; a real restart is a new process, so wait for the lock rather than fail.
    let db = (0..100)
        .find_map(|_| {
            sled::open(dir.path().join("db")).ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                None
            })
        })
        .expect("reopen sled");
    let ledger = SledLedger::open(&db, Secp256k1Signer::new(key.clone())).expect("reopen ledger");
    (dir, db, key, ledger)
}

#[test]
fn the_chain_continues_after_reopening() {
    let test = TestLedger::new();
    let mut records = test.append_blocks(&[4, 1, 7]);
    let head_before = test.ledger.head().expect("read").expect("head");
    let (_dir, db, key, ledger) = reopen(test);
    assert_eq!(ledger.head().expect("read"), Some(head_before.clone()));
    assert_eq!(ledger.tree_size().expect("read"), 12);

    for size in [3usize, 9] {
        let batch: Vec<Vec<u8>> = (0..size).map(|offset| record(records.len() + offset)).collect();
        let receipt = ledger.append_block(&batch, 5_000).expect("append after reopen");
        assert_eq!(receipt.first_seq, records.len() as u64);
        records.extend(batch);
    }
    let block3 = ledger.block(3).expect("read").expect("block 3");
    assert_eq!(block3.header.prev_hash, head_before.hash());
    assert_eq!(block3.header.first_seq, head_before.header.tree_size);
    let block4 = ledger.block(4).expect("read").expect("block 4");
    assert_eq!(block4.header.prev_hash, block3.hash());

    let leaves: Vec<Hash> = records.iter().map(|record| hash_leaf(record)).collect();
    assert_eq!(block4.header.tree_root, root_from_leaves(&leaves));
    assert_eq!(block4.header.block_root, root_from_leaves(&leaves[15..]));
    let proof = ledger.consistency_proof(12, 24).expect("proof");
    proof.verify(&head_before.header.tree_root, &block4.header.tree_root).expect("consistent across the reopen");

    let report = ledger.verify(None, &mut |_| {}).expect("verifies");
    assert_eq!((report.blocks, report.tree_size), (5, 24));
    let report = ledger_adapter::verify_sled(&db, DEFAULT_TREE_PREFIX, Some(&key.public_key()), &mut |_| {})
        .expect("verifies without opening");
    assert_eq!(report.head_hash, Some(block4.hash()));
}

#[test]
fn appends_after_reopening_in_the_middle_of_a_leaf_chunk_extend_it() {
    // 70 records: chunk 0 (64 leaf hashes) is full, chunk 1 holds 6, node (6, 0) is stored.
    let test = TestLedger::new();
    let mut records = test.append_blocks(&[60, 10]);
    let size_before = test.ledger.tree_size().expect("read");
    let root_before = test.ledger.root_at(size_before).expect("root");
    let (_dir, _db, _key, ledger) = reopen(test);
    for size in [50usize, 1, 150] {
        let batch: Vec<Vec<u8>> = (0..size).map(|offset| record(records.len() + offset)).collect();
        ledger.append_block(&batch, 7_000).expect("append after reopen");
        records.extend(batch);
    }
    let leaves: Vec<Hash> = records.iter().map(|record| hash_leaf(record)).collect();
    let head = ledger.head().expect("read").expect("head");
    assert_eq!(head.header.tree_root, root_from_leaves(&leaves));
    for (seq, leaf) in leaves.iter().enumerate() {
        assert_eq!(ledger.leaf_hash(seq as u64).expect("read"), Some(*leaf));
    }
    let proof = ledger.consistency_proof(size_before, head.header.tree_size).expect("proof");
    proof.verify(&root_before, &head.header.tree_root).expect("consistent across the reopen");
    let report = ledger.verify(None, &mut |_| {}).expect("verifies");
    assert_eq!((report.blocks, report.tree_size), (5, 271));
}

#[test]
fn prefixes_keep_ledgers_apart() {
    let test = TestLedger::new();
    test.append_blocks(&[2]);
    let other = SledLedger::open_with_prefix(&test.db, "shard-2/", Secp256k1Signer::generate()).expect("open");
    assert_eq!(other.tree_size().expect("read"), 0);
    other.append_block(&[b"x".to_vec()], 1).expect("append");
    assert_eq!(test.ledger.tree_size().expect("read"), 2);
    assert!(test.db.tree_names().iter().any(|name| name.as_ref() == b"shard-2/records"));
}

#[test]
fn readers_on_other_threads_see_whole_blocks() {
    let test = TestLedger::new();
    let ledger = Arc::new(test.ledger);
    let writer = {
        let ledger = Arc::clone(&ledger);
        std::thread::spawn(move || {
            let mut next = 0usize;
            for block in 0..40usize {
                let batch: Vec<Vec<u8>> = (0..1 + block % 9).map(|offset| record(next + offset)).collect();
                next += batch.len();
                ledger.append_block(&batch, block as u64).expect("append");
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let ledger = Arc::clone(&ledger);
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let Some(head) = ledger.head().expect("read") else { continue };
                    let size = head.header.tree_size;
                    assert_eq!(ledger.root_at(size).expect("root"), head.header.tree_root);
                    assert!(ledger.record(size - 1).expect("read").is_some());
                    let proof = ledger.inclusion_proof(size - 1, size).expect("proof");
                    let leaf = ledger.leaf_hash(size - 1).expect("read").expect("leaf");
                    proof.verify(&leaf, &head.header.tree_root).expect("proof verifies");
                }
            })
        })
        .collect();
    writer.join().expect("writer");
    for reader in readers {
        reader.join().expect("reader");
    }
    ledger.verify(None, &mut |_| {}).expect("verifies");
}
