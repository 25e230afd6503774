//! Tampering with the sled trees directly: each change makes verification fail and name the right
//! block or record; an untampered ledger verifies.
//!
//! The ledger has blocks of 3, 5, 4 and 6 records: block 0 = seqs 0..3, block 1 = 3..8,
//! block 2 = 8..12, block 3 = 12..18.

use ledger_adapter::{
    BlockSignature, LedgerReader, Secp256k1Signer, SignedBlockHeader, SledLedger, VerifyError, VerifyReport,
    DEFAULT_TREE_PREFIX, TREE_BLOCKS, TREE_LEAVES, TREE_NODES, TREE_RECORDS,
};

use crate::support::TestLedger;

fn ledger() -> TestLedger {
    let test = TestLedger::new();
    test.append_blocks(&[3, 5, 4, 6]);
    test
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
    test.tree(TREE_LEAVES)
        .insert(9u64.to_be_bytes(), ledger_adapter::hash_leaf(b"forged").as_bytes().to_vec())
        .expect("write");
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
    flip_byte(&test.tree(TREE_LEAVES), &10u64.to_be_bytes(), 31);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::LeafHashTampered { seq: 10, height: 2 }), "{error:?}");
}

#[test]
fn a_changed_node_hash_is_named() {
    let test = ledger();
    // Node (2, 2) covers leaves 8..12 and is completed by leaf 11, in block 2.
    flip_byte(&test.tree(TREE_NODES), &node_key(2, 2), 0);
    let error = verify(&test).expect_err("tampered");
    assert!(matches!(error, VerifyError::NodeTampered { level: 2, index: 2, height: 2 }), "{error:?}");
    // It would have made proofs lie: the proof for leaf 15 at size 16 uses it... and fails.
    let proof = test.ledger.inclusion_proof(15, 16).expect("proof");
    let leaf = test.ledger.leaf_hash(15).expect("read").expect("leaf");
    let root = ledger_adapter::root_from_leaves(
        &(0..16).map(|seq| test.ledger.leaf_hash(seq).expect("read").expect("leaf")).collect::<Vec<_>>(),
    );
    assert!(proof.verify(&leaf, &root).is_err());
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
    let TestLedger { dir: _dir, db, key, ledger } = test;
    drop(ledger);
    assert!(matches!(
        SledLedger::open(&db, Secp256k1Signer::new(key)),
        Err(ledger_adapter::LedgerError::Corrupt { .. })
    ));
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
