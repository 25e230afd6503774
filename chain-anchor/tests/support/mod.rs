//! A real Ethereum JSON-RPC node for the tests: anvil (npm `@foundry-rs/anvil`, installed by
//! `scripts/chain-tools.sh`), one process per test on a free loopback port, killed on drop.
#![allow(dead_code, reason = "each test binary uses part of the support module")]

use chain_anchor::chain::{send_and_wait, AnchorContract};
use chain_anchor::contract;
use chain_anchor::rpc::RpcClient;
use chain_anchor::GasAccount;
use ledger_adapter::{LedgerReader, LedgerWriter, NodeKey, Secp256k1Signer, SledLedger};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// anvil's default chain id.
pub const CHAIN_ID: u64 = 31337;

/// anvil's development accounts' keys (published test keys of anvil's default mnemonic).
pub const DEV_KEYS: [&str; 3] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// The anvil binary: `FHIR_BRIDGE_ANVIL`, else where `scripts/chain-tools.sh install` puts it.
/// `None` (the test skips, with a message) when neither exists; with `CI=true` that fails instead.
pub fn anvil_binary() -> Option<PathBuf> {
    let path = std::env::var_os("FHIR_BRIDGE_ANVIL").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/fhir-ledger-bridge/chain-tools/node_modules/.bin/anvil")
    });
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "anvil not found at {} (CI=true)", path.display());
    eprintln!("SKIPPED: anvil not found at {} (scripts/chain-tools.sh install)", path.display());
    None
}

/// A running anvil.
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Anvil {
    /// Starts anvil with `extra` arguments (e.g. `--block-time 1`, `--no-mining`); `None` when
    /// anvil is not installed (see [`anvil_binary`]).
    pub fn start(extra: &[&str]) -> Option<Anvil> {
        let binary = anvil_binary()?;
        let port = free_port();
        let child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let anvil = Anvil { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while anvil.rpc().chain_id().is_err() {
            assert!(Instant::now() < deadline, "anvil did not answer within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(anvil)
    }

    /// A client of it.
    pub fn rpc(&self) -> RpcClient {
        RpcClient::new(&self.url, Duration::from_secs(10))
    }

    /// Calls an anvil-specific or standard method.
    pub fn call(&self, method: &'static str, params: Value) -> Value {
        self.rpc().call(method, params).unwrap_or_else(|error| panic!("{method}: {error}"))
    }

    /// Mines `count` blocks.
    pub fn mine(&self, count: u64) {
        self.call("anvil_mine", json!([format!("{count:#x}")]));
    }
}

/// Development account `index` as a gas account.
pub fn dev_account(index: usize) -> GasAccount {
    GasAccount::from_secret_bytes(hex32(DEV_KEYS[index])).unwrap()
}

/// 32 bytes from 64 hex characters.
pub fn hex32(text: &str) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).unwrap();
    }
    bytes
}

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
