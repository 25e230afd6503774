//! A real Ethereum JSON-RPC node for tests: anvil (npm `@foundry-rs/anvil`, installed by
//! `scripts/chain-tools.sh`), one process per test on a free loopback port, killed on drop.
//! Behind the `test-support` feature.

use crate::rpc::RpcClient;
use serde_json::Value;
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

/// A chain tool (`anvil`, `solcjs`): the path in environment variable `variable`, else where
/// `scripts/chain-tools.sh install` puts it. `None` (the test skips, with a message) when neither
/// exists; with `CI=true` that fails instead.
pub fn chain_tool(variable: &str, name: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/fhir-ledger-bridge/chain-tools/node_modules/.bin").join(name)
    });
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{name} not found at {} (CI=true)", path.display());
    eprintln!("SKIPPED: {name} not found at {} (scripts/chain-tools.sh install)", path.display());
    None
}

/// The anvil binary (see [`chain_tool`]; `FHIR_BRIDGE_ANVIL`).
pub fn anvil_binary() -> Option<PathBuf> {
    chain_tool("FHIR_BRIDGE_ANVIL", "anvil")
}

/// Registers `key` on `contract` from the admin (development account 0), the contract's
/// deployer in the tests.
pub fn register_key(anvil: &Anvil, contract: &crate::AnchorContract, key: &ledger_adapter::NodePublicKey) {
    crate::chain::send_and_wait(
        &anvil.rpc(),
        ANVIL_CHAIN_ID,
        &dev_account(0),
        Some(contract.address),
        crate::contract::register_input(key),
        Duration::from_secs(30),
    )
    .unwrap_or_else(|error| panic!("the admin registers the node key: {error}"));
}

/// anvil's default chain id.
pub const ANVIL_CHAIN_ID: u64 = 31337;

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
        self.call("anvil_mine", serde_json::json!([format!("{count:#x}")]));
    }
}

/// Development account `index` as a gas account.
pub fn dev_account(index: usize) -> crate::GasAccount {
    crate::GasAccount::from_hex(DEV_KEYS[index]).unwrap_or_else(|| unreachable!("anvil's keys are valid"))
}
