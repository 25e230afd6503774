//! Tamper evidence: a changed byte in a record, a block header or a blob makes `verify` fail,
//! naming what was changed; restoring it makes `verify` pass again.

use std::path::Path;

use crate::support::{bridge, summary, temp_dir, verify_ok};

/// Ingests two inputs in two runs, so the ledger has two blocks.
fn two_blocks(data: &Path) {
    let input = temp_dir();
    let first = input.path().join("first.ndjson");
    let second = input.path().join("second.ndjson");
    let patients: Vec<String> = (0..3)
        .map(|i| {
            format!(r#"{{"resourceType":"Patient","id":"tamper-p{i}","gender":"other","birthDate":"19{i}0-01-01"}}"#)
        })
        .collect();
    let observations: Vec<String> = (0..2)
        .map(|i| {
            format!(
                r#"{{"resourceType":"Observation","id":"tamper-o{i}","status":"final","code":{{"text":"t{i}"}},"subject":{{"reference":"Patient/tamper-p{i}"}},"valueQuantity":{{"value":3.{i}0,"unit":"mmol/L"}}}}"#
            )
        })
        .collect();
    std::fs::write(&first, patients.join("\n")).expect("write");
    std::fs::write(&second, observations.join("\n")).expect("write");
    for (file, n) in [(&first, 3), (&second, 2)] {
        let run = bridge(data, ["ingest".as_ref(), file.as_os_str()]).expect_code(0, "ingest");
        assert_eq!(summary(&run.stderr).accepted, n);
    }
}

/// Flips one byte in the middle of the value at `key` of `tree`; returns the original value.
fn flip(data: &Path, tree: &str, pick: impl Fn(&sled::Tree) -> sled::IVec) -> (sled::IVec, sled::IVec) {
    let db = sled::open(data.join("db")).expect("open the sled db");
    assert!(db.tree_names().iter().any(|n| n == tree.as_bytes()), "no tree {tree}");
    let tree = db.open_tree(tree).expect("tree");
    let key = pick(&tree);
    let original = tree.get(&key).expect("get").expect("value");
    let mut changed = original.to_vec();
    let at = changed.len() / 2;
    changed[at] ^= 0x01;
    tree.insert(&key, changed).expect("insert");
    db.flush().expect("flush");
    (key, original)
}

fn restore(data: &Path, tree: &str, key: &sled::IVec, value: sled::IVec) {
    let db = sled::open(data.join("db")).expect("open the sled db");
    db.open_tree(tree).expect("tree").insert(key, value).expect("insert");
    db.flush().expect("flush");
}

fn be_u64(key: &[u8]) -> u64 {
    u64::from_be_bytes(key.try_into().expect("an 8-byte big-endian key"))
}

fn last_key(tree: &sled::Tree) -> sled::IVec {
    tree.last().expect("last").expect("a non-empty tree").0
}

#[track_caller]
fn verify_fails_naming(data: &Path, names: &[String], what: &str) {
    let run = bridge(data, ["verify"]);
    assert_ne!(run.code, Some(0), "verify after {what} must fail:\n{}", run.stderr);
    assert!(
        names.iter().any(|n| run.stderr.contains(n.as_str())),
        "verify after {what} should name one of {names:?}:\n{}",
        run.stderr
    );
    eprintln!("tamper: {what}: {}", run.stderr.trim());
}

#[test]
fn a_changed_record_is_found_and_named() {
    let data = temp_dir();
    two_blocks(data.path());
    verify_ok(data.path(), "before tampering");
    let (key, original) = flip(data.path(), "ledger/records", last_key);
    let seq = be_u64(&key);
    assert_eq!(seq, 4, "five records, the last has seq 4");
    verify_fails_naming(data.path(), &[format!("record {seq}")], "flipping a byte of record 4");
    restore(data.path(), "ledger/records", &key, original);
    verify_ok(data.path(), "after restoring the record");
}

#[test]
fn a_changed_block_header_is_found_and_named() {
    let data = temp_dir();
    two_blocks(data.path());
    let (key, original) = flip(data.path(), "ledger/blocks", last_key);
    let height = be_u64(&key);
    assert_eq!(height, 1, "two blocks, the last has height 1");
    verify_fails_naming(data.path(), &[format!("block {height}")], "flipping a byte of block 1's header");
    restore(data.path(), "ledger/blocks", &key, original);
    verify_ok(data.path(), "after restoring the block");
}

#[test]
fn a_changed_blob_is_found_and_named() {
    let data = temp_dir();
    two_blocks(data.path());
    let (key, original) = flip(data.path(), "blobs", |t| t.first().expect("first").expect("a blob").0);
    verify_fails_naming(data.path(), &["blob ".to_owned(), "record ".to_owned()], "flipping a byte of a blob");
    restore(data.path(), "blobs", &key, original);
    verify_ok(data.path(), "after restoring the blob");
}
