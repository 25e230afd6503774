//! One record's self-contained proof on a real Ethereum node (anvil): made from a final anchor,
//! it holds for every record the anchor covers; a changed record, a header from a rewritten
//! ledger, a finality not reached and a revoked key each make it fail, for the right reason.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chain_anchor::chain::send_and_wait;
use chain_anchor::proof::{self, ProofError};
use chain_anchor::{contract, AnchorMetrics, AnchorStore, Anchorer, Finality};
use ledger_adapter::{LedgerReader, NodeKey};
use support::*;

const FINALITY: Finality = Finality::Confirmations(2);

#[test]
fn a_proof_holds_for_every_covered_record_and_fails_for_the_right_reason() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let key = NodeKey::generate();
    register_key(&anvil, &contract, &key);
    let (dir, ledger) = support::ledger(&key, 3, 2, "records");
    let ledger = Arc::new(ledger);
    let db = sled::open(dir.path().join("anchor-state")).unwrap();
    let store = AnchorStore::open(&db).unwrap();
    let mut anchorer = Anchorer::new(
        chain_config(&anvil, &contract),
        dev_account(1),
        ledger.clone(),
        AnchorStore::open(&db).unwrap(),
        Arc::new(AnchorMetrics::default()),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.latest_final().unwrap().is_none() {
        anchorer.step().unwrap();
        anvil.mine(1);
        assert!(std::time::Instant::now() < deadline, "no final anchor within 20 s");
    }
    let anchor = store.latest_final().unwrap().unwrap();
    assert_eq!(anchor.tree_size, 6);

    // Every record the anchor covers has a proof that holds, against the chain alone.
    for seq in 0..6 {
        let covering = store.covering(seq).unwrap().expect("covered");
        let made = proof::build(ledger.as_ref(), &covering, contract.address, seq).unwrap();
        let report = proof::check(&made, &contract, FINALITY).unwrap_or_else(|e| panic!("record {seq}: {e}"));
        assert_eq!(report.record, ledger.record(seq).unwrap().unwrap());
        assert_eq!(report.header.header.height, 2);
        assert_eq!(report.block_number, anchor.block_number);
        assert!(report.block_time > 0 && report.final_block >= anchor.block_number);
    }
    let good = proof::build(ledger.as_ref(), &anchor, contract.address, 3).unwrap();

    // Another record's bytes, or another leaf index: not in the tree.
    let mut moved = good.clone();
    moved.seq = 2;
    assert!(matches!(proof::check(&moved, &contract, FINALITY), Err(ProofError::Invalid(_))));
    let mut changed = good.clone();
    changed.record = alloy_primitives::hex::encode(b"records/1/2");
    let error = proof::check(&changed, &contract, FINALITY).unwrap_err();
    assert!(error.to_string().contains("is not in the tree"), "{error}");
    // Signed by another key than the one named.
    let mut other_key = good.clone();
    other_key.node_public_key = NodeKey::generate().public_key().to_hex();
    assert!(matches!(proof::check(&other_key, &contract, FINALITY), Err(ProofError::Invalid(_))));

    // The same key, a rewritten ledger: a validly signed header at the anchored height, that is
    // not the anchored one.
    let (_rewritten_dir, rewritten) = support::ledger(&key, 3, 2, "rewritten");
    let mut forged = good.clone();
    forged.record = alloy_primitives::hex::encode(rewritten.record(3).unwrap().unwrap());
    forged.header = alloy_primitives::hex::encode(rewritten.block(2).unwrap().unwrap().encode());
    forged.inclusion = rewritten.inclusion_proof(3, 6).unwrap().hashes.iter().map(|h| h.to_hex()).collect();
    assert!(proof::check_offline(&forged).is_ok(), "the forgery holds offline");
    let error = proof::check(&forged, &contract, FINALITY).unwrap_err();
    assert!(error.to_string().contains("another header for height 2"), "{error}");

    // A record after the anchor has none yet; a finality the chain has not reached is reported.
    support::append(&ledger, 3, 2, "records");
    assert!(store.covering(6).unwrap().is_none());
    let error = proof::check(&good, &contract, Finality::Confirmations(1000)).unwrap_err();
    assert!(matches!(error, ProofError::NotFinal(_)), "{error}");
    // Final up to the block before the anchor's: on chain, but not final.
    let latest = anvil.rpc().block_number().unwrap();
    let just_short = Finality::Confirmations(latest - anchor.block_number + 2);
    let error = proof::check(&good, &contract, just_short).unwrap_err();
    assert!(error.to_string().contains("is anchored after the final block"), "{error}");

    // Another contract than the proof's is refused before anything else.
    let other = chain_anchor::AnchorContract::new(anvil.rpc(), alloy_primitives::Address::repeat_byte(0x42));
    let error = proof::check(&good, &other, FINALITY).unwrap_err();
    assert!(error.to_string().contains("not the trusted"), "{error}");

    // A revoked key: its proofs no longer hold.
    let key_id = ledger_adapter::LedgerReader::node_public_key(ledger.as_ref()).key_id();
    send_and_wait(
        &anvil.rpc(),
        CHAIN_ID,
        &dev_account(0),
        Some(contract.address),
        contract::revoke_input(&key_id),
        Duration::from_secs(30),
    )
    .unwrap();
    let error = proof::check(&good, &contract, FINALITY).unwrap_err();
    assert!(error.to_string().contains("is revoked"), "{error}");
}
