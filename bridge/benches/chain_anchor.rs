//! Chain anchoring, measured on anvil with 1-second blocks (BENCHMARKS.md, stage H):
//!
//! 1. `fhir-bridge ingest` of the Synthea bundles with anchoring off and on, alternating, three
//!    times each (goal: no measurable difference);
//! 2. the time from a block's sealing to its anchor being final, over two minutes of a ledger
//!    sealing a block every 200 ms, at 1 and at 2 confirmations;
//! 3. gas per anchor.
//!
//! `cargo bench -p fhir-bridge --bench chain_anchor` (needs `scripts/chain-tools.sh install`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chain_anchor::chain::send_and_wait;
use chain_anchor::testing::{dev_account, Anvil, DEV_KEYS};
use chain_anchor::{contract, AnchorContract, AnchorMetrics, AnchorStore, Anchorer, ChainConfig, Finality};
use ledger_adapter::{LedgerWriter, NodeKey, Secp256k1Signer, SledLedger};

const CHAIN_ID: u64 = 31337;

fn key_file(dir: &Path, name: &str, hex: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("0x{hex}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

fn run(data: &Path, args: &[&str], env: &[(String, String)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_fhir-bridge"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("fhir-bridge runs");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

fn resources_per_s(summary: &str) -> f64 {
    summary
        .lines()
        .find_map(|line| line.split(" (").nth(1)?.strip_suffix(" resources/s)")?.parse().ok())
        .unwrap_or_else(|| panic!("no rate in {summary}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ingest_on_and_off(anvil: &Anvil, contract: &str, keys: &Path) {
    let synthea = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir-r4/synthea");
    let synthea = synthea.to_str().unwrap().to_owned();
    let admin = key_file(keys, "admin.key", DEV_KEYS[0]);
    let gas = key_file(keys, "gas.key", DEV_KEYS[1]);
    let env: Vec<(String, String)> = [
        ("FHIR_BRIDGE__CHAIN__RPC_URL", anvil.url.as_str()),
        ("FHIR_BRIDGE__CHAIN__CHAIN_ID", "31337"),
        ("FHIR_BRIDGE__CHAIN__CONTRACT", contract),
        ("FHIR_BRIDGE__CHAIN__GAS_KEY_FILE", gas.as_str()),
        ("FHIR_BRIDGE__CHAIN__FINALITY", "1"),
        ("FHIR_BRIDGE__CHAIN__INTERVAL_S", "1"),
        ("FHIR_BRIDGE__CHAIN__POLL_MS", "100"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for round in 0..3 {
        for anchoring in [round % 2 == 0, round % 2 != 0] {
            let data = tempfile::tempdir().unwrap();
            let rate = if anchoring {
                run(data.path(), &["keys"], &[]);
                run(
                    data.path(),
                    &[
                        "chain",
                        "register",
                        "--gas-key",
                        &admin,
                        "--contract",
                        contract,
                        "--rpc-url",
                        &anvil.url,
                        "--chain-id",
                        "31337",
                    ],
                    &[],
                );
                let summary = run(data.path(), &["ingest", &synthea], &env);
                let anchors = summary.lines().find(|l| l.starts_with("chain:")).unwrap_or("").to_owned();
                println!("  ingest with anchoring: {:.0} resources/s; {anchors}", resources_per_s(&summary));
                on.push(resources_per_s(&summary));
                continue;
            } else {
                resources_per_s(&run(data.path(), &["ingest", &synthea], &[]))
            };
            println!("  ingest without anchoring: {rate:.0} resources/s");
            off.push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!("ingest, mean of 3: off {:.0}/s, on {:.0}/s, on/off {:.3}", mean(&off), mean(&on), mean(&on) / mean(&off));
}

fn sealed_to_final(anvil: &Anvil, contract: &AnchorContract, confirmations: u64, seconds: u64) {
    let key = NodeKey::generate();
    chain_anchor::testing::register_key(anvil, contract, &key.public_key());
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let ledger = Arc::new(SledLedger::open(&db, Secp256k1Signer::new(key)).unwrap());
    let config = ChainConfig {
        rpc_url: anvil.url.clone(),
        chain_id: CHAIN_ID,
        contract: contract.address,
        gas_key_file: "unused".into(),
        interval_blocks: 1,
        interval_s: 0,
        finality: Finality::Confirmations(confirmations),
        poll_ms: 100,
        stuck_after_s: 30,
        fee_bump_percent: 25,
        max_fee_per_gas: 1_000_000_000_000,
        rpc_timeout_ms: 5_000,
    };
    let store = AnchorStore::open(&db).unwrap();
    let metrics = Arc::new(AnchorMetrics::default());
    let handle = Anchorer::new(config, dev_account(2), ledger.clone(), store.clone(), metrics.clone()).spawn().unwrap();
    let start = Instant::now();
    let mut block = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        ledger.append_block(&[format!("record {block}").into_bytes()], now_ms).unwrap();
        block += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(handle.stop());
    let finals = store.finals().unwrap();
    let mut latencies: Vec<f64> = finals
        .iter()
        .map(|anchor| {
            use ledger_adapter::LedgerReader;
            let sealed = ledger.block(anchor.height).unwrap().unwrap().header.time_ms;
            anchor.final_ms.saturating_sub(sealed) as f64 / 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let gas = metrics.gas_used.get() as f64 / metrics.anchors_final.get().max(1) as f64;
    println!(
        "sealed to final at {confirmations} confirmation(s), 1-s blocks: {} anchors over {block} blocks in {seconds} s; p50 {:.2} s, p99 {:.2} s, max {:.2} s; {gas:.0} gas an anchor",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
    );
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent: do nothing then.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let Some(anvil) = Anvil::start(&["--block-time", "1"]) else { return };
    let keys = tempfile::tempdir().unwrap();
    let admin = dev_account(0);
    let receipt =
        send_and_wait(&anvil.rpc(), CHAIN_ID, &admin, None, contract::creation_code(), Duration::from_secs(30))
            .unwrap();
    let address = receipt.contract_address.unwrap();
    let contract = AnchorContract::new(anvil.rpc(), address);
    println!("anchor contract deployed: {} gas", receipt.gas_used);
    ingest_on_and_off(&anvil, &address.to_string(), keys.path());
    for confirmations in [1, 2] {
        sealed_to_final(&anvil, &contract, confirmations, 120);
    }
}
