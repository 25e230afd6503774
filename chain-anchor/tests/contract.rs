//! The anchor contract on a real Ethereum node (anvil): registration, signature checks on chain,
//! heights that never go back, equivocation kept as evidence, the start-up checks, and gas.

mod support;

use chain_anchor::chain::{send_and_wait, AnchorContract, ChainError};
use chain_anchor::contract;
use chain_anchor::rpc::BlockId;
use ledger_adapter::{LedgerReader, NodeKey, SignedBlockHeader};
use std::time::Duration;
use support::*;

fn key_id_of(key: &NodeKey) -> alloy_primitives::B256 {
    alloy_primitives::B256::from(*key.public_key().key_id().as_bytes())
}

/// Anchors `header` as `key`'s, from development account `from`, extending block `previous` of
/// `ledger` when given. When the signature is not `key`'s the recovery hint is 0, so the
/// contract sees the signature as it is.
fn anchor_extending(
    anvil: &Anvil,
    contract: &AnchorContract,
    header: &SignedBlockHeader,
    key: &NodeKey,
    from: usize,
    extends: Option<(&ledger_adapter::SledLedger, u64)>,
) -> Result<chain_anchor::rpc::Receipt, ChainError> {
    let previous = extends.map(|(ledger, height)| {
        let previous = ledger.block(height).unwrap().unwrap().header;
        let proof = ledger.consistency_proof(previous.tree_size, header.header.tree_size).unwrap();
        (previous, proof.hashes)
    });
    let extension = previous.as_ref().map(|(previous, hashes)| contract::Extension { previous, consistency: hashes });
    let input = contract::anchor_input(header, &key.public_key(), extension)
        .unwrap_or_else(|| contract::anchor_input_with(header, 0, extension));
    send_and_wait(&anvil.rpc(), CHAIN_ID, &dev_account(from), Some(contract.address), input, Duration::from_secs(30))
}

/// Anchors `header` with no extension (a key's first anchor, or one the contract refuses first).
fn anchor(
    anvil: &Anvil,
    contract: &AnchorContract,
    header: &SignedBlockHeader,
    key: &NodeKey,
    from: usize,
) -> Result<chain_anchor::rpc::Receipt, ChainError> {
    anchor_extending(anvil, contract, header, key, from, None)
}

fn register(
    anvil: &Anvil,
    contract: &AnchorContract,
    key: &NodeKey,
    from: usize,
) -> Result<chain_anchor::rpc::Receipt, ChainError> {
    send_and_wait(
        &anvil.rpc(),
        CHAIN_ID,
        &dev_account(from),
        Some(contract.address),
        contract::register_input(&key.public_key()),
        Duration::from_secs(30),
    )
}

#[test]
fn anchors_are_checked_on_chain_and_never_go_back() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    contract.check(CHAIN_ID).expect("the deployed code is the anchor contract");

    let node_key = NodeKey::generate();
    let (_dir, ledger) = support::ledger(&node_key, 4, 3, "a");
    let block = |height| ledger.block(height).unwrap().unwrap();

    // Not registered yet: refused, with the reason in words.
    let error = anchor(&anvil, &contract, &block(0), &node_key, 1).unwrap_err();
    assert!(error.to_string().contains("is not registered"), "{error}");
    // Only the admin registers.
    let error = register(&anvil, &contract, &node_key, 1).unwrap_err();
    assert!(error.to_string().contains("not the contract's admin"), "{error}");
    register(&anvil, &contract, &node_key, 0).expect("the admin registers the node key");
    let state = contract.node(key_id_of(&node_key), BlockId::Latest).unwrap();
    assert_eq!(state.signer, contract::node_address(&node_key.public_key()));
    assert!(!state.anchored());

    // Anyone may submit a validly signed header: here another account than the node's.
    let receipt = anchor(&anvil, &contract, &block(1), &node_key, 2).expect("anchors height 1");
    eprintln!("gas of the first anchor of a key: {}", receipt.gas_used);
    // Height 2 must extend height 1: without the proof it is refused.
    let error = anchor(&anvil, &contract, &block(2), &node_key, 2).unwrap_err();
    assert!(error.to_string().contains("does not extend"), "{error}");
    let receipt =
        anchor_extending(&anvil, &contract, &block(2), &node_key, 2, Some((&ledger, 1))).expect("anchors height 2");
    eprintln!("gas of a later anchor (with its consistency proof): {}", receipt.gas_used);
    assert!(receipt.gas_used <= 100_000, "an anchor used {} gas", receipt.gas_used);
    let anchored =
        receipt.logs.iter().find(|log| log.topics[0] == contract::ANCHORED_TOPIC).expect("an Anchored event");
    let event = contract::decode_anchored(&anchored.topics, &anchored.data).unwrap();
    assert_eq!(event.headerHash.0, *block(2).hash().as_bytes());
    assert_eq!(event.height, 2);
    let state = contract.node(key_id_of(&node_key), BlockId::Latest).unwrap();
    assert_eq!((state.height, state.tree_size), (2, 9));
    assert_eq!(state.header_hash.0, *block(2).hash().as_bytes());
    assert!(!state.equivocated);

    // The same header again changes nothing and does not fail (a re-sent anchor).
    let again = anchor(&anvil, &contract, &block(2), &node_key, 0).expect("re-anchoring the same header is accepted");
    assert!(again.logs.is_empty(), "no event for a header already anchored");
    // Height 0 was never anchored and is below the latest: refused.
    let error = anchor(&anvil, &contract, &block(0), &node_key, 0).unwrap_err();
    assert!(error.to_string().contains("below the anchored height 2"), "{error}");

    // A header whose signature is another key's, under this key's id: refused on chain.
    let forger = NodeKey::generate();
    let (_forged_dir, forged_ledger) = support::ledger(&forger, 4, 3, "a");
    let mut forged = forged_ledger.block(3).unwrap().unwrap();
    forged.header.node_key_id = node_key.public_key().key_id();
    let error = anchor(&anvil, &contract, &forged, &node_key, 0).unwrap_err();
    assert!(error.to_string().contains("signature is not the registered node key's"), "{error}");
    // A flipped byte of a genuine header breaks its signature too.
    let mut tampered = block(3);
    tampered.header.tree_size += 1;
    let error = anchor(&anvil, &contract, &tampered, &node_key, 0).unwrap_err();
    assert!(error.to_string().contains("signature is not the registered node key's"), "{error}");

    // The right signature with the wrong recovery hint: refused as well.
    let correct = contract::recovery_id(&block(3), &node_key.public_key()).unwrap();
    let wrong_hint = contract::anchor_input_with(&block(3), 1 - correct, None);
    let error = send_and_wait(
        &anvil.rpc(),
        CHAIN_ID,
        &dev_account(0),
        Some(contract.address),
        wrong_hint,
        Duration::from_secs(30),
    )
    .unwrap_err();
    assert!(error.to_string().contains("signature is not the registered node key's"), "{error}");

    // A rebuilt ledger of the same key, anchored higher: its tree does not extend the anchored
    // one, whichever previous header it names.
    let (_rebuilt_dir, rebuilt) = support::ledger(&node_key, 4, 3, "rebuilt");
    let error =
        anchor_extending(&anvil, &contract, &rebuilt.block(3).unwrap().unwrap(), &node_key, 0, Some((&rebuilt, 2)))
            .unwrap_err();
    assert!(error.to_string().contains("does not extend"), "its own previous header is not the anchored one: {error}");
    let rebuilt_head = rebuilt.block(3).unwrap().unwrap();
    let original_previous = ledger.block(2).unwrap().unwrap().header;
    let proof = rebuilt.consistency_proof(original_previous.tree_size, rebuilt_head.header.tree_size).unwrap();
    let input = contract::anchor_input(
        &rebuilt_head,
        &node_key.public_key(),
        Some(contract::Extension { previous: &original_previous, consistency: &proof.hashes }),
    )
    .unwrap();
    let error =
        send_and_wait(&anvil.rpc(), CHAIN_ID, &dev_account(0), Some(contract.address), input, Duration::from_secs(30))
            .unwrap_err();
    assert!(error.to_string().contains("does not extend"), "a proof of another tree: {error}");
    anchor_extending(&anvil, &contract, &block(3), &node_key, 0, Some((&ledger, 2))).expect("the real extension");

    // Revoked: no more anchors; what was anchored stays.
    send_and_wait(
        &anvil.rpc(),
        CHAIN_ID,
        &dev_account(0),
        Some(contract.address),
        contract::revoke_input(&node_key.public_key().key_id()),
        Duration::from_secs(30),
    )
    .expect("the admin revokes");
    let error = anchor(&anvil, &contract, &block(3), &node_key, 0).unwrap_err();
    assert!(error.to_string().contains("was revoked"), "{error}");
    let state = contract.node(key_id_of(&node_key), BlockId::Latest).unwrap();
    assert!(state.revoked);
    assert_eq!(state.height, 3);
}

#[test]
fn a_second_header_for_an_anchored_height_is_kept_as_equivocation() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let node_key = NodeKey::generate();
    register(&anvil, &contract, &node_key, 0).unwrap();
    let (_dir, original) = ledger(&node_key, 3, 2, "original");
    anchor(&anvil, &contract, &original.block(2).unwrap().unwrap(), &node_key, 1).unwrap();

    // The same key, a rebuilt history: a different, validly signed header for height 2.
    let (_rewritten_dir, rewritten) = ledger(&node_key, 3, 2, "rewritten");
    let conflicting = rewritten.block(2).unwrap().unwrap();
    let receipt = anchor(&anvil, &contract, &conflicting, &node_key, 1).expect("evidence is accepted, not reverted");
    let log =
        receipt.logs.iter().find(|log| log.topics[0] == contract::EQUIVOCATION_TOPIC).expect("an Equivocation event");
    let event = contract::decode_equivocation(&log.topics, &log.data).unwrap();
    assert_eq!(event.height, 2);
    assert_eq!(event.anchoredHash.0, *original.block(2).unwrap().unwrap().hash().as_bytes());
    assert_eq!(event.conflictingSignedHeader.to_vec(), conflicting.encode());
    let state = contract.node(key_id_of(&node_key), BlockId::Latest).unwrap();
    assert!(state.equivocated);
    assert_eq!(
        state.header_hash.0,
        *original.block(2).unwrap().unwrap().hash().as_bytes(),
        "the anchored header stays"
    );
}

#[test]
fn start_up_checks_name_a_wrong_chain_and_foreign_code() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let error = contract.check(CHAIN_ID + 1).unwrap_err();
    assert!(matches!(error, ChainError::WrongChain { expected: 31338, found: 31337 }), "{error}");
    // An account without code, then a contract that is not the anchor.
    let nobody = AnchorContract::new(anvil.rpc(), dev_account(1).address());
    assert!(matches!(nobody.check(CHAIN_ID), Err(ChainError::NotTheAnchor { found: 0, .. })));
    // Init code whose contract is 2 bytes (PUSH2 0x6001, PUSH1 0, MSTORE, PUSH1 2, PUSH1 30,
    // RETURN): code, but not the anchor's.
    let init: alloy_primitives::Bytes = "0x6160016000526002601ef3".parse().unwrap();
    let receipt = send_and_wait(&anvil.rpc(), CHAIN_ID, &dev_account(0), None, init, Duration::from_secs(30)).unwrap();
    let foreign = AnchorContract::new(anvil.rpc(), receipt.contract_address.unwrap());
    let error = foreign.check(CHAIN_ID).unwrap_err();
    assert!(error.to_string().contains("not the ledger anchor contract"), "{error}");
    // Unreachable is told apart from wrong.
    let gone = AnchorContract::new(
        chain_anchor::rpc::RpcClient::new("http://127.0.0.1:9", Duration::from_millis(300)),
        contract.address,
    );
    assert!(gone.check(CHAIN_ID).unwrap_err().is_unreachable());
}

#[test]
fn the_on_chain_consistency_check_accepts_every_true_extension() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let contract = deploy(&anvil, &dev_account(0));
    let node_key = NodeKey::generate();
    register(&anvil, &contract, &node_key, 0).unwrap();
    // One record a block, so a block's height + 1 is its tree size: anchors at sizes that are
    // and are not powers of two, with gaps of one and of many.
    let (_dir, ledger) = support::ledger(&node_key, 40, 1, "sizes");
    let sizes = [1u64, 2, 3, 5, 8, 9, 13, 16, 17, 31, 32, 33, 40];
    let mut previous: Option<u64> = None;
    let mut gas = Vec::new();
    for size in sizes {
        let height = size - 1;
        let header = ledger.block(height).unwrap().unwrap();
        let receipt = anchor_extending(&anvil, &contract, &header, &node_key, 1, previous.map(|p| (&ledger, p)))
            .unwrap_or_else(|error| panic!("tree size {size} after {previous:?}: {error}"));
        gas.push(receipt.gas_used);
        previous = Some(height);
    }
    eprintln!("gas of anchors at tree sizes {sizes:?}: {gas:?}");
    let state = contract.node(key_id_of(&node_key), BlockId::Latest).unwrap();
    assert_eq!((state.height, state.tree_size), (39, 40));
}
