//! What the chain tests share: a deployed contract, node ledgers, a `[chain]` section (anvil
//! itself is in `chain_anchor::testing`).
#![allow(dead_code, reason = "each test binary uses part of the support module")]

use chain_anchor::chain::{send_and_wait, AnchorContract};
use chain_anchor::contract;
pub use chain_anchor::testing::*;
use chain_anchor::GasAccount;
use ledger_adapter::{LedgerReader, LedgerWriter, NodeKey, Secp256k1Signer, SledLedger};
use std::path::PathBuf;
use std::time::Duration;

/// Deploys the anchor contract from `admin`.
pub fn deploy(anvil: &Anvil, admin: &GasAccount) -> AnchorContract {
    let receipt =
        send_and_wait(&anvil.rpc(), CHAIN_ID, admin, None, contract::creation_code(), Duration::from_secs(30))
            .expect("deploys");
    AnchorContract::new(anvil.rpc(), receipt.contract_address.expect("a contract address"))
}

/// A ledger in its own temporary sled database, signed by `key`, with `blocks` blocks of
/// `records` records each (record contents depend on `salt`, so two ledgers differ).
pub fn ledger(key: &NodeKey, blocks: u64, records: usize, salt: &str) -> (tempfile::TempDir, SledLedger) {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let ledger = SledLedger::open(&db, Secp256k1Signer::new(key.clone())).unwrap();
    for block in 0..blocks {
        append(&ledger, block, records, salt);
    }
    (dir, ledger)
}

/// Appends one block of `records` records.
pub fn append(ledger: &SledLedger, block: u64, records: usize, salt: &str) {
    let records: Vec<Vec<u8>> = (0..records).map(|index| format!("{salt}/{block}/{index}").into_bytes()).collect();
    ledger.append_block(&records, 1_700_000_000_000 + block).unwrap();
    assert!(ledger.head().unwrap().is_some());
}

/// A `[chain]` section for `contract` on `anvil`, with test-sized intervals: anchor at every
/// new block, final at 2 confirmations, stuck after 1 second.
pub fn chain_config(anvil: &Anvil, contract: &AnchorContract) -> chain_anchor::ChainConfig {
    chain_anchor::ChainConfig {
        rpc_url: anvil.url.clone(),
        chain_id: CHAIN_ID,
        contract: contract.address,
        gas_key_file: PathBuf::from("unused-in-tests"),
        interval_blocks: 1,
        interval_s: 3600,
        finality: chain_anchor::Finality::Confirmations(2),
        poll_ms: 50,
        stuck_after_s: 1,
        fee_bump_percent: 25,
        max_fee_per_gas: 1_000_000_000_000,
        rpc_timeout_ms: 2_000,
    }
}

/// Registers `key` on `contract` from the admin (development account 0).
pub fn register_key(anvil: &Anvil, contract: &AnchorContract, key: &NodeKey) {
    chain_anchor::testing::register_key(anvil, contract, &key.public_key());
}
