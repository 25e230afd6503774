//! The anchoring loop on a real Ethereum node (anvil), step by step: anchors reach finality and
//! survive a restart; a dropped transaction is sent again; a stuck one is replaced; one that a
//! reorganisation removed is sent again; an unreachable chain is reported, then caught up.

mod support;

use chain_anchor::rpc::BlockId;
use chain_anchor::{AnchorMetrics, AnchorStore, Anchorer};
use ledger_adapter::{LedgerReader, NodeKey, SledLedger};
use serde_json::json;
use std::sync::Arc;
use support::*;

struct Node {
    _dir: tempfile::TempDir,
    ledger: Arc<SledLedger>,
    db: sled::Db,
}

/// A node's ledger with `blocks` blocks, and a separate database for the anchor state.
fn node(key: &NodeKey, blocks: u64) -> Node {
    let (dir, ledger) = support::ledger(key, blocks, 2, "records");
    let db = sled::open(dir.path().join("anchor-state")).unwrap();
    Node { _dir: dir, ledger: Arc::new(ledger), db }
}

fn anchorer(anvil: &Anvil, contract: &chain_anchor::AnchorContract, node: &Node) -> Anchorer {
    Anchorer::new(
        chain_config(anvil, contract),
        dev_account(1),
        node.ledger.clone(),
        AnchorStore::open(&node.db).unwrap(),
        Arc::new(AnchorMetrics::default()),
    )
}

/// Steps until `done` holds (anvil mines on its own thread: a receipt may take a moment).
#[track_caller]
fn step_until(anchorer: &mut Anchorer, what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        anchorer.step().unwrap();
        if done() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: not within 20 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn key_id(key: &NodeKey) -> alloy_primitives::B256 {
    alloy_primitives::B256::from(*key.public_key().key_id().as_bytes())
}

#[test]
fn anchors_become_final_at_the_configured_depth_and_survive_a_restart() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let key = NodeKey::generate();
    register_key(&anvil, &contract, &key);
    let node = node(&key, 3);
    let store = AnchorStore::open(&node.db).unwrap();
    {
        let mut anchorer = anchorer(&anvil, &contract, &node);
        anchorer.step().unwrap();
        let pending = store.pending().unwrap().expect("an anchor in flight");
        assert_eq!(pending.height, 2);
        // Mined (automine), but 1 confirmation is not final at 2.
        step_until(&mut anchorer, "included", || store.pending().unwrap().unwrap().included.is_some());
        assert!(store.latest_final().unwrap().is_none());
    }
    // Restarted (a new anchorer on the same state): it follows the same transaction.
    anvil.mine(1);
    let mut anchorer = anchorer(&anvil, &contract, &node);
    step_until(&mut anchorer, "final", || store.latest_final().unwrap().is_some());
    let anchor = store.latest_final().unwrap().expect("final after 2 confirmations");
    assert_eq!((anchor.height, anchor.tree_size), (2, 6));
    assert!(store.pending().unwrap().is_none());
    let on_chain = contract.node(key_id(&key), BlockId::Latest).unwrap();
    assert_eq!(on_chain.header_hash, anchor.header_hash);
    assert_eq!(anchorer.health().lock().unwrap().lag_blocks, 0);

    // Nothing new: nothing sent.
    anchorer.step().unwrap();
    assert!(store.pending().unwrap().is_none());
    // The head moves: the next anchor covers it.
    support::append(&node.ledger, 3, 2, "records");
    anchorer.step().unwrap();
    assert_eq!(store.pending().unwrap().unwrap().height, 3);
    assert_eq!(anchorer.health().lock().unwrap().lag_blocks, 1);
}

#[test]
fn dropped_and_stuck_transactions_are_sent_again_and_replaced() {
    let Some(anvil) = Anvil::start(&["--no-mining"]) else { return };
    anvil.call("evm_setAutomine", json!([true]));
    let contract = deploy(&anvil, &dev_account(0));
    let key = NodeKey::generate();
    register_key(&anvil, &contract, &key);
    anvil.call("evm_setAutomine", json!([false]));
    let node = node(&key, 2);
    let store = AnchorStore::open(&node.db).unwrap();
    let mut anchorer = anchorer(&anvil, &contract, &node);

    anchorer.step().unwrap();
    let first = store.pending().unwrap().unwrap().attempts[0].hash;
    assert!(anvil.rpc().knows_transaction(first).unwrap());
    // Dropped from the pool: the same transaction is sent again.
    anvil.call("anvil_dropTransaction", json!([first]));
    assert!(!anvil.rpc().knows_transaction(first).unwrap());
    anchorer.step().unwrap();
    assert!(anvil.rpc().knows_transaction(first).unwrap(), "sent again");
    assert_eq!(store.pending().unwrap().unwrap().attempts.len(), 1);

    // Not mined for longer than stuck_after_s: replaced with higher fees, same nonce.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    anchorer.step().unwrap();
    let pending = store.pending().unwrap().unwrap();
    assert_eq!(pending.attempts.len(), 2);
    assert!(pending.attempts[1].fees.max_per_gas() > pending.attempts[0].fees.max_per_gas());
    let replacement = pending.attempts[1].hash;
    anvil.mine(2);
    step_until(&mut anchorer, "final", || store.latest_final().unwrap().is_some());
    let anchor = store.latest_final().unwrap().expect("the replacement is final");
    assert_eq!(anchor.tx_hash, replacement);
    assert!(anvil.rpc().receipt(first).unwrap().is_none(), "the replaced transaction never landed");
}

#[test]
fn an_anchor_removed_by_a_reorganisation_is_sent_again() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let key = NodeKey::generate();
    register_key(&anvil, &contract, &key);
    let node = node(&key, 2);
    let store = AnchorStore::open(&node.db).unwrap();
    let mut anchorer = anchorer(&anvil, &contract, &node);
    anchorer.step().unwrap();
    step_until(&mut anchorer, "included", || store.pending().unwrap().unwrap().included.is_some());
    let included = store.pending().unwrap().unwrap().included.expect("in a block");
    // Replace the last block (the one holding the anchor) with an empty one.
    anvil.call("anvil_reorg", json!([1, []]));
    assert!(anvil.rpc().receipt(included.tx_hash).unwrap().map(|r| r.block_hash) != Some(included.block_hash));
    step_until(&mut anchorer, "final after the reorganisation", || {
        anvil.mine(1);
        store.latest_final().unwrap().is_some()
    });
    let anchor = store.latest_final().unwrap().expect("final after the reorganisation");
    assert_eq!(anchor.height, 1);
    let canonical = anvil.rpc().block(BlockId::Number(anchor.block_number)).unwrap().unwrap();
    assert_eq!(canonical.hash, anchor.block_hash, "the final anchor is in a canonical block");
    assert_ne!(anchor.block_hash, included.block_hash);
    assert_eq!(contract.node(key_id(&key), BlockId::Latest).unwrap().height, 1);
}

#[test]
fn an_unreachable_chain_is_reported_and_caught_up_with_one_anchor() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let key = NodeKey::generate();
    register_key(&anvil, &contract, &key);
    let node = node(&key, 1);
    let store = AnchorStore::open(&node.db).unwrap();
    let mut config = chain_config(&anvil, &contract);
    config.rpc_url = "http://127.0.0.1:9".into();
    let mut offline =
        Anchorer::new(config, dev_account(1), node.ledger.clone(), store.clone(), Arc::new(AnchorMetrics::default()));
    assert!(!offline.check_start().unwrap(), "unreachable is not a start-up error");
    for block in 1..5 {
        let error = offline.step().unwrap_err();
        assert!(error.to_string().contains("unreachable"), "{error}");
        support::append(&node.ledger, block, 2, "records");
    }
    assert!(offline.step().is_err());
    let health = offline.health().lock().unwrap().clone();
    assert_eq!(health.lag_blocks, 5);
    assert!(health.problem.as_deref().is_some_and(|problem| problem.contains("unreachable")), "{health:?}");
    drop(offline);
    // Back: one anchor of the latest head covers all five blocks.
    let mut anchorer = anchorer(&anvil, &contract, &node);
    step_until(&mut anchorer, "final", || {
        anvil.mine(1);
        store.latest_final().unwrap().is_some()
    });
    let anchor = store.latest_final().unwrap().unwrap();
    assert_eq!((anchor.height, anchor.tree_size), (4, 10));
    assert_eq!(anchorer.health().lock().unwrap().problem, None);
    assert_eq!(node.ledger.head().unwrap().unwrap().header.height, 4);
}
