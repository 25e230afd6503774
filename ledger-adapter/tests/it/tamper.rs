//! Tampering with the sled trees directly: each change makes verification fail and name the right
//! block or record; an untampered ledger verifies.
//!
//! Leaf hashes are stored in chunks of 64, nodes from level 6 up. The small ledger has blocks of
//! 3, 5, 4 and 6 records: block 0 = seqs 0..3, block 1 = 3..8, block 2 = 8..12, block 3 = 12..18;
//! all their leaf hashes are in chunk 0, and no node is stored. The big ledger has blocks of 300,
//! 250 and 100 records: block 0 = 0..300, block 1 = 300..550, block 2 = 550..650; chunks 0 to 9
//! are full and chunk 10 holds 10 leaf hashes; the nodes stored include (8, 1) (leaves 256..512)
//! and (9, 0) (leaves 0..512), both completed by leaf 511 in block 1.

use ledger_adapter::{
    hash_leaf, BlockSignature, LedgerError, LedgerReader, Secp256k1Signer, SignedBlockHeader, SledLedger, VerifyError,
    VerifyReport, DEFAULT_TREE_PREFIX, HASH_LEN, TREE_BLOCKS, TREE_BLOCK_STARTS, TREE_LEAVES, TREE_META, TREE_NODES,
    TREE_RECORDS,
};

use crate::support::TestLedger;

/// Records per leaf hash chunk (the layout in `ledger_adapter::TREE_LEAVES`).
const CHUNK: u64 = 64;

fn ledger() -> TestLedger {
    let test = TestLedger::new();
    test.append_blocks(&[3, 5, 4, 6]);
    test
}

fn big_ledger() -> TestLedger {
    let test = TestLedger::new();
    test.append_blocks(&[300, 250, 100]);
    test
}

/// Replaces the stored leaf hash of `seq` (in chunk `seq / CHUNK`, at `seq % CHUNK`).
fn set_leaf_hash(test: &TestLedger, seq: u64, hash: &[u8]) {
    let leaves = test.tree(TREE_LEAVES);
    let key = (seq / CHUNK).to_be_bytes();
    let mut chunk = leaves.get(key).expect("read").expect("chunk").to_vec();
    let start = (seq % CHUNK) as usize * HASH_LEN;
    chunk[start..start + HASH_LEN].copy_from_slice(hash);
    leaves.insert(key, chunk).expect("write");
}

fn resize_leaf_chunk(test: &TestLedger, chunk: u64, len: usize) {
    let leaves = test.tree(TREE_LEAVES);
    let mut value = leaves.get(chunk.to_be_bytes()).expect("read").expect("chunk").to_vec();
    value.resize(len, 0xab);
    leaves.insert(chunk.to_be_bytes(), value).expect("write");
}

/// Reopening the ledger for writing is refused after the tampering.
fn assert_reopen_refused(test: TestLedger) {
    let TestLedger { dir: _dir, db, key, ledger } = test;
    drop(ledger);
    match SledLedger::open(&db, Secp256k1Signer::new(key)) {
        Err(LedgerError::Corrupt { .. }) => {}
        Err(error) => panic!("unexpected error {error}"),
        Ok(_) => panic!("reopened"),
    }
}

fn verify(test: &TestLedger) -> Result<VerifyReport, VerifyError> {
    test.ledger.verify(None, &mut |_| {})
}

fn flip_byte(tree: &sled::Tree, key: &[u8], index: usize) {
    let mut value = tree.get(key).expect("read").expect("present").to_vec();
    value[index] ^= 0x01;
    tree.insert(key, value).expect("write");
}

fn node_key(level: u8, index: u64) -> Vec<u8> {
    let mut key = vec![level];
    key.extend_from_slice(&index.to_be_bytes());
    key
}

#[test]
fn an_untampered_ledger_verifies_with_progress() {
    let test = ledger();
    let mut seen = Vec::new();
    let report = test.ledger.verify(None, &mut |progress| seen.push(progress)).expect("verifies");
    let head = test.ledger.head().expect("read").expect("head");
    assert_eq!((report.blocks, report.tree_size), (4, 18));
    assert_eq!(report.tree_root, head.header.tree_root);
    assert_eq!(report.head_hash, Some(head.hash()));
    let counts: Vec<(u64, u64, u64)> = seen
        .iter()
        .map(|progress| (progress.blocks_verified, progress.records_verified, progress.records_total))
        .collect();
    assert_eq!(counts, [(1, 3, 18), (2, 8, 18), (3, 12, 18), (4, 18, 18)]);
}

#[test]
fn a_changed_record_is_named() {
    let test = ledger();
    flip_byte(&test.tree(TREE_RECORDS), &5u64.to_be_bytes(), 0);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::RecordTampered { seq: 5, height: 1 }), "{error:?}");
    assert_eq!((error.height(), error.seq()), (Some(1), Some(5)));
}

#[test]
fn a_record_changed_together_with_its_leaf_hash_is_caught_by_the_block_root() {
    let test = ledger();
    test.tree(TREE_RECORDS).insert(9u64.to_be_bytes(), b"forged".to_vec()).expect("write");
    set_leaf_hash(&test, 9, hash_leaf(b"forged").as_bytes());
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::BlockRootMismatch { height: 2 }), "{error:?}");
}

#[test]
fn a_deleted_record_is_named() {
    let test = ledger();
    test.tree(TREE_RECORDS).remove(7u64.to_be_bytes()).expect("remove");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MissingRecord { seq: 7, height: 1 }), "{error:?}");
}

#[test]
fn a_changed_block_header_is_named() {
    let test = ledger();
    // Byte 50 lies in `record_count` (bytes 49..57 of the header).
    flip_byte(&test.tree(TREE_BLOCKS), &2u64.to_be_bytes(), 50);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::BadSignature { height: 2 }), "{error:?}");
}

#[test]
fn an_unknown_header_version_is_named() {
    let test = ledger();
    flip_byte(&test.tree(TREE_BLOCKS), &1u64.to_be_bytes(), 0);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::UnknownVersion { height: 1, version: 0 }), "{error:?}");
}

#[test]
fn a_changed_signature_is_named() {
    let test = ledger();
    flip_byte(&test.tree(TREE_BLOCKS), &1u64.to_be_bytes(), 200);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::BadSignature { height: 1 }), "{error:?}");
}

#[test]
fn a_changed_leaf_hash_is_named() {
    let test = ledger();
    let mut changed = *test.ledger.leaf_hash(10).expect("read").expect("leaf").as_bytes();
    changed[31] ^= 0x01;
    set_leaf_hash(&test, 10, &changed);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashTampered { seq: 10, height: 2 }), "{error:?}");
}

#[test]
fn a_changed_leaf_hash_in_a_full_chunk_is_named() {
    let test = big_ledger();
    set_leaf_hash(&test, 261, hash_leaf(b"other").as_bytes());
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashTampered { seq: 261, height: 0 }), "{error:?}");
}

#[test]
fn a_truncated_leaf_chunk_is_named() {
    // Half of the hash of record 17 is left: a malformed hash counts as a changed one.
    let test = ledger();
    resize_leaf_chunk(&test, 0, 17 * HASH_LEN + 16);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashTampered { seq: 17, height: 3 }), "{error:?}");
    assert_reopen_refused(test);

    let test = ledger();
    resize_leaf_chunk(&test, 0, 16 * HASH_LEN);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MissingLeafHash { seq: 16, height: 3 }), "{error:?}");
    assert_reopen_refused(test);

    let test = big_ledger();
    test.tree(TREE_LEAVES).remove(1u64.to_be_bytes()).expect("remove");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MissingLeafHash { seq: 64, height: 0 }), "{error:?}");
}

#[test]
fn leaf_hashes_past_the_last_block_are_named() {
    let test = ledger();
    resize_leaf_chunk(&test, 0, 19 * HASH_LEN);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashPastHead { seq: 18 }), "{error:?}");
    assert_reopen_refused(test);

    let test = ledger();
    test.tree(TREE_LEAVES).insert(1u64.to_be_bytes(), vec![0u8; HASH_LEN]).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashPastHead { seq: 64 }), "{error:?}");
    assert_reopen_refused(test);

    // A full chunk with a hash too many.
    let test = big_ledger();
    resize_leaf_chunk(&test, 0, (CHUNK as usize + 1) * HASH_LEN);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MalformedLeafChunk { chunk: 0 }), "{error:?}");
}

#[test]
fn a_changed_node_hash_is_named() {
    let test = big_ledger();
    // Node (9, 0) covers leaves 0..512 and is completed by leaf 511, in block 1.
    flip_byte(&test.tree(TREE_NODES), &node_key(9, 0), 0);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::NodeTampered { level: 9, index: 0, height: 1 }), "{error:?}");
    // It would have made proofs lie: the proof for leaf 600 at size 650 uses it... and fails.
    let proof = test.ledger.inclusion_proof(600, 650).expect("proof");
    let leaf = test.ledger.leaf_hash(600).expect("read").expect("leaf");
    let root = ledger_adapter::root_from_leaves(
        &(0..650).map(|seq| test.ledger.leaf_hash(seq).expect("read").expect("leaf")).collect::<Vec<_>>(),
    );
    assert!(proof.verify(&leaf, &root).is_err());
    assert_eq!(root, test.ledger.head().expect("read").expect("head").header.tree_root);
}

#[test]
fn a_deleted_node_is_named() {
    let test = big_ledger();
    test.tree(TREE_NODES).remove(node_key(8, 1)).expect("remove");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MissingNode { level: 8, index: 1, height: 1 }), "{error:?}");
}

#[test]
fn nodes_that_are_never_stored_are_named() {
    let test = big_ledger();
    test.tree(TREE_NODES).insert(node_key(3, 0), vec![0u8; HASH_LEN]).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::UnexpectedNode { level: 3, index: 0 }), "{error:?}");
    // The layout: one full chunk per 64 records, nodes from level 6 up, none below.
    let untampered = big_ledger();
    let chunk = untampered.tree(TREE_LEAVES).get(9u64.to_be_bytes()).expect("read").expect("chunk 9");
    assert_eq!(chunk.len(), CHUNK as usize * HASH_LEN);
    assert_eq!(untampered.tree(TREE_LEAVES).len(), 11);
    let levels: Vec<u8> = untampered.tree(TREE_NODES).iter().keys().map(|key| key.expect("read")[0]).collect();
    assert_eq!(levels, [[6u8; 10].as_slice(), &[7; 5], &[8; 2], &[9]].concat());

    let test = big_ledger();
    test.tree(TREE_NODES).insert(node_key(8, 2), vec![0u8; HASH_LEN]).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::NodePastHead { level: 8, index: 2 }), "{error:?}");

    let test = big_ledger();
    test.tree(TREE_NODES).insert([8u8, 0, 0], vec![0u8; HASH_LEN]).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MalformedKey { tree: "nodes" }), "{error:?}");
}

#[test]
fn a_deleted_block_is_named() {
    let test = ledger();
    test.tree(TREE_BLOCKS).remove(1u64.to_be_bytes()).expect("remove");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MissingBlock { height: 1 }), "{error:?}");
}

#[test]
fn a_re_signed_block_with_a_wrong_link_breaks_the_chain() {
    let test = ledger();
    let blocks = test.tree(TREE_BLOCKS);
    let stored = blocks.get(2u64.to_be_bytes()).expect("read").expect("block 2");
    let mut signed = SignedBlockHeader::decode(&stored).expect("decode");
    signed.header.prev_hash = ledger_adapter::hash_leaf(b"elsewhere");
    let signer = Secp256k1Signer::new(test.key.clone());
    let resigned = signed.header.sign(&signer).expect("sign");
    blocks.insert(2u64.to_be_bytes(), resigned.encode()).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::BrokenChain { height: 2 }), "{error:?}");
}

#[test]
fn a_record_past_the_last_block_is_named() {
    let test = ledger();
    test.tree(TREE_RECORDS).insert(18u64.to_be_bytes(), b"smuggled".to_vec()).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::RecordPastHead { seq: 18 }), "{error:?}");
    // A ledger in that state is not reopened for writing: the next append would build on it.
    assert_reopen_refused(test);
}

#[test]
fn a_damaged_head_stops_open_but_not_verification() {
    let test = ledger();
    flip_byte(&test.tree(TREE_BLOCKS), &3u64.to_be_bytes(), 100);
    let TestLedger { dir: _dir, db, key, ledger } = test;
    drop(ledger);
    assert!(matches!(
        SledLedger::open(&db, Secp256k1Signer::new(key.clone())),
        Err(ledger_adapter::LedgerError::Corrupt { .. })
    ));
    let error = ledger_adapter::verify_sled(&db, DEFAULT_TREE_PREFIX, Some(&key.public_key()), &mut |_| {})
        .expect_err("tampered");
    assert!(matches!(error, VerifyError::BadSignature { height: 3 }), "{error:?}");
}

#[test]
fn a_signature_from_another_key_is_named() {
    let test = ledger();
    let blocks = test.tree(TREE_BLOCKS);
    let stored = blocks.get(0u64.to_be_bytes()).expect("read").expect("block 0");
    let signed = SignedBlockHeader::decode(&stored).expect("decode");
    let other = Secp256k1Signer::generate();
    let forged = SignedBlockHeader {
        signature: ledger_adapter::BlockSigner::sign(&other, &signed.hash()).expect("sign"),
        header: signed.header.clone(),
    };
    assert_ne!(forged.signature, BlockSignature::from_bytes([0; 64]));
    blocks.insert(0u64.to_be_bytes(), forged.encode()).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::BadSignature { height: 0 }), "{error:?}");
}

#[test]
fn a_stray_block_index_entry_is_named() {
    let test = ledger();
    // Block 1 starts at 3 and block 2 at 8: an entry for 5 would make `block_of(5)` lie.
    test.tree(TREE_BLOCK_STARTS).insert(5u64.to_be_bytes(), 3u64.to_be_bytes().to_vec()).expect("write");
    assert_eq!(test.ledger.block_of(5).expect("read"), Some(3));
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::IndexMismatch { height: 2 }), "{error:?}");

    let test = ledger();
    test.tree(TREE_BLOCK_STARTS).insert(20u64.to_be_bytes(), 4u64.to_be_bytes().to_vec()).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::IndexPastHead { first_seq: 20 }), "{error:?}");
}

#[test]
fn a_malformed_record_key_is_named() {
    let test = ledger();
    let mut key = 5u64.to_be_bytes().to_vec();
    key.push(0);
    test.tree(TREE_RECORDS).insert(key, b"between 5 and 6".to_vec()).expect("write");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::MalformedKey { tree: "records" }), "{error:?}");
}

#[test]
fn a_ledger_in_another_storage_format_is_refused() {
    let test = ledger();
    test.tree(TREE_META).insert(b"format", &b"fhir-ledger-bridge/ledger-sled/v1"[..]).expect("write");
    let error = verify(&test).expect_err("old format");
    match &error {
        VerifyError::UnsupportedFormat { found: Some(found) } => {
            assert_eq!(found, "fhir-ledger-bridge/ledger-sled/v1")
        }
        _ => panic!("{error:?}"),
    }
    let TestLedger { dir: _dir, db, key, ledger } = test;
    drop(ledger);
    match SledLedger::open(&db, Secp256k1Signer::new(key)) {
        Err(error @ LedgerError::UnsupportedFormat { .. }) => {
            assert!(error.to_string().contains("ledger-sled/v1"), "{error}");
            assert!(!error.is_retryable());
        }
        Err(error) => panic!("unexpected error {error}"),
        Ok(_) => panic!("opened a ledger in another format"),
    }
    db.open_tree(format!("{DEFAULT_TREE_PREFIX}{TREE_META}")).expect("tree").remove(b"format").expect("remove");
    let error = ledger_adapter::verify_sled(&db, DEFAULT_TREE_PREFIX, None, &mut |_| {}).expect_err("no tag");
    assert!(matches!(error, VerifyError::UnsupportedFormat { found: None }), "{error:?}");
}

#[test]
fn an_append_does_not_extend_a_changed_leaf_chunk() {
    use ledger_adapter::LedgerWriter;
    let test = ledger();
    set_leaf_hash(&test, 4, hash_leaf(b"other").as_bytes());
    // The writer's state still says what chunk 0 held: the append is refused inside its
    // transaction, and writes nothing.
    let error = test.ledger.append_block(&[b"next".to_vec()], 9).expect_err("refused");
    assert!(matches!(&error, LedgerError::Corrupt { detail } if detail.contains("chunk 0")), "{error:?}");
    assert_eq!(test.ledger.tree_size().expect("read"), 18);
    assert_eq!(test.tree(TREE_RECORDS).len(), 18);
    // The next append reloads the state from storage, which no longer matches the signed root.
    let error = test.ledger.append_block(&[b"next".to_vec()], 9).expect_err("refused");
    assert!(matches!(error, LedgerError::Corrupt { .. }), "{error:?}");
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashTampered { seq: 4, height: 1 }), "{error:?}");
}
