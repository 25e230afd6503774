//! Anchoring on a real Ethereum node (anvil, 1-second blocks): `chain deploy` and `register`,
//! `serve` anchoring the head to finality, `verify --chain` and `chain status` passing; then the
//! same node key with a rebuilt data dir (rewritten history) caught by its anchorer, by
//! `chain status` (equivocation) and by `verify --chain`; and a wrong chain id stopping start-up.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use chain_anchor::testing::{Anvil, DEV_KEYS};
use serde_json::{json, Value};

use crate::server::{tail, Bridge};
use crate::support::{bridge, temp_dir};

fn key_file(dir: &Path, name: &str, hex: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("0x{hex}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

/// Ingests one Patient per call (one block each), so two data dirs get the same heights.
fn ingest_patients(data: &Path, files: &Path, family: &str, count: usize) {
    for index in 0..count {
        let file = files.join(format!("{family}-{index}.json"));
        let patient = json!({"resourceType": "Patient", "id": format!("p{index}"), "name": [{"family": family}]});
        std::fs::write(&file, patient.to_string()).unwrap();
        bridge(data, ["ingest".as_ref(), file.as_os_str()]).expect_code(0, "ingest");
    }
}

fn chain_env(anvil: &Anvil, contract: &str, gas_key: &str) -> Vec<(String, String)> {
    [
        ("FHIR_BRIDGE__CHAIN__RPC_URL", anvil.url.as_str()),
        ("FHIR_BRIDGE__CHAIN__CHAIN_ID", "31337"),
        ("FHIR_BRIDGE__CHAIN__CONTRACT", contract),
        ("FHIR_BRIDGE__CHAIN__GAS_KEY_FILE", gas_key),
        ("FHIR_BRIDGE__CHAIN__FINALITY", "2"),
        ("FHIR_BRIDGE__CHAIN__POLL_MS", "200"),
        ("FHIR_BRIDGE__CHAIN__INTERVAL_S", "1"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Waits until `/healthz` reports the chain as `want` (a predicate on its "chain" member).
fn wait_chain(bridge: &mut Bridge, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        bridge.assert_running();
        if let Some((_, body)) = bridge.get("/healthz") {
            let health: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            if want(&health["chain"]) {
                return health;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what}: /healthz {health}\n{}",
                tail(&bridge.log_text())
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the metrics show `count` final anchors.
fn wait_final_anchors(bridge: &mut Bridge, count: u64) {
    let start = Instant::now();
    loop {
        bridge.assert_running();
        let metrics = bridge.metrics();
        let finals = metrics
            .lines()
            .find_map(|line| line.strip_prefix("bridge_chain_anchors_final_total "))
            .and_then(|value| value.trim().parse::<u64>().ok());
        if finals.is_some_and(|finals| finals >= count) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no {count} final anchors: {finals:?}\n{}",
            tail(&bridge.log_text())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn chain_anchoring_end_to_end_catches_rewritten_history() {
    let Some(anvil) = Anvil::start(&["--block-time", "1"]) else { return };
    let (keys, files) = (temp_dir(), temp_dir());
    let admin_key = key_file(keys.path(), "admin.key", DEV_KEYS[0]);
    let gas_key = key_file(keys.path(), "gas.key", DEV_KEYS[1]);
    let endpoint = ["--rpc-url", anvil.url.as_str(), "--chain-id", "31337"];

    // Deploy (the admin's account) and register this node's key.
    let original = temp_dir();
    let deploy = bridge(original.path(), ["chain", "deploy", "--gas-key", &admin_key].iter().chain(&endpoint))
        .expect_code(0, "chain deploy");
    let contract = deploy.stdout.trim().to_owned();
    assert!(contract.starts_with("0x") && contract.len() == 42, "{contract}");
    bridge(original.path(), ["keys"]).expect_code(0, "keys");
    bridge(
        original.path(),
        ["chain", "register", "--gas-key", &admin_key, "--contract", &contract].iter().chain(&endpoint),
    )
    .expect_code(0, "chain register");

    // Three blocks, then serve: the head (height 2) is anchored to finality.
    ingest_patients(original.path(), files.path(), "Original", 3);
    let env = chain_env(&anvil, &contract, &gas_key);
    let logs = temp_dir();
    let mut serving = Bridge::start(original.path(), &env, &logs.path().join("original.log"));
    wait_final_anchors(&mut serving, 1);
    let health = wait_chain(&mut serving, "chain ok", |chain| chain == "ok");
    assert_eq!(health["status"], "ok", "{health}");
    assert!(serving.metrics().contains("bridge_chain_anchor_lag_blocks 0"), "{}", serving.metrics());
    assert_eq!(serving.terminate(Duration::from_secs(30)).code(), Some(0));

    let env_args: Vec<(String, String)> = env.clone();
    let verify =
        crate::server::bridge_env(original.path(), &env_args, &["verify", "--chain"]).expect_code(0, "verify --chain");
    assert!(
        verify.stderr.contains("consistent with the chain: 1 anchors (1 final), latest anchored height 2"),
        "{}",
        verify.stderr
    );
    let status =
        crate::server::bridge_env(original.path(), &env_args, &["chain", "status"]).expect_code(0, "chain status");
    assert!(status.stdout.contains("final anchor height 2 (tree size "), "{}", status.stdout);
    assert!(status.stdout.contains("this node, head height 2, lag 0 blocks"), "{}", status.stdout);

    // The same key, a rebuilt data dir with other records at the same heights: re-signed history.
    let rewritten = temp_dir();
    for file in ["node.key", "deployment.secret"] {
        let from = original.path().join(file);
        if from.exists() {
            std::fs::copy(&from, rewritten.path().join(file)).unwrap();
        }
    }
    ingest_patients(rewritten.path(), files.path(), "Rewritten", 3);
    // The original anchor is at a height this ledger has, with another header there.
    let verify = crate::server::bridge_env(rewritten.path(), &env_args, &["verify", "--chain"]);
    assert_eq!(verify.code, Some(3), "verify --chain on rewritten history: {}", verify.stderr);
    assert!(
        verify.stderr.contains("DIVERGES from the chain") && verify.stderr.contains("height 2"),
        "{}",
        verify.stderr
    );
    // Its anchorer submits its own head for height 2: kept on chain as equivocation, and the
    // service says its ledger diverges.
    let mut rewritten_serving = Bridge::start(rewritten.path(), &env, &logs.path().join("rewritten.log"));
    let health = wait_chain(&mut rewritten_serving, "divergence reported", |chain| {
        chain.as_str().is_some_and(|problem| problem.contains("diverges"))
    });
    assert_eq!(health["status"], "degraded", "{health}");
    rewritten_serving.terminate(Duration::from_secs(30));
    let status = crate::server::bridge_env(original.path(), &env_args, &["chain", "status"]);
    assert_eq!(status.code, Some(3), "chain status after an equivocation: {}", status.stdout);
    assert!(status.stdout.contains("EQUIVOCATION"), "{}", status.stdout);
    let verify = crate::server::bridge_env(original.path(), &env_args, &["verify", "--chain"]);
    assert_eq!(verify.code, Some(3), "the equivocation is evidence against the key: {}", verify.stderr);
}

#[test]
fn chain_wrong_chain_id_stops_start_up_and_an_unreachable_chain_does_not() {
    let Some(anvil) = Anvil::start(&[]) else { return };
    let keys = temp_dir();
    let admin_key = key_file(keys.path(), "admin.key", DEV_KEYS[0]);
    let data = temp_dir();
    let deploy = bridge(
        data.path(),
        ["chain", "deploy", "--gas-key", &admin_key, "--rpc-url", &anvil.url, "--chain-id", "31337"],
    )
    .expect_code(0, "chain deploy");
    let contract = deploy.stdout.trim().to_owned();

    let mut env = chain_env(&anvil, &contract, &admin_key);
    env.retain(|(k, _)| k != "FHIR_BRIDGE__CHAIN__CHAIN_ID");
    env.push(("FHIR_BRIDGE__CHAIN__CHAIN_ID".into(), "1".into()));
    let run = crate::server::bridge_env(data.path(), &env, &["serve"]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("chain id 31337, but chain_id is 1"), "{}", run.stderr);

    // Another address than the contract's: refused too.
    let mut env = chain_env(&anvil, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", &admin_key);
    let run = crate::server::bridge_env(data.path(), &env, &["serve"]);
    assert!(run.stderr.contains("not the ledger anchor contract"), "{}", run.stderr);

    // Unreachable: serve starts, HTTP answers, /healthz is degraded with the lag.
    env = chain_env(&anvil, &contract, &admin_key);
    env.retain(|(k, _)| k != "FHIR_BRIDGE__CHAIN__RPC_URL");
    env.push(("FHIR_BRIDGE__CHAIN__RPC_URL".into(), "http://127.0.0.1:9".into()));
    let logs = temp_dir();
    let mut serving = Bridge::start(data.path(), &env, &logs.path().join("serve.log"));
    let health = wait_chain(&mut serving, "unreachable reported", |chain| {
        chain.as_str().is_some_and(|problem| problem.contains("unreachable") && problem.contains("anchor lag"))
    });
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(matches!(serving.get("/fhir/metadata"), Some((200, _))));
    assert_eq!(serving.terminate(Duration::from_secs(30)).code(), Some(0));
}
