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

pub(crate) fn key_file(dir: &Path, name: &str, hex: &str) -> String {
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

pub(crate) fn chain_env(anvil: &Anvil, contract: &str, gas_key: &str) -> Vec<(String, String)> {
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
pub(crate) fn wait_final_anchors(bridge: &mut Bridge, count: u64) {
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
    // Provenance names the anchoring transaction of each version once its block is anchored.
    let (status, body) = serving.get("/fhir/Provenance?target=Patient/p0").expect("provenance");
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).unwrap();
    let extensions = bundle["entry"][0]["resource"]["extension"].as_array().cloned().unwrap_or_default();
    let value = |name: &str| extensions.iter().find(|e| e["url"].as_str().is_some_and(|u| u.ends_with(name))).cloned();
    assert_eq!(value("#anchor-chain-id").map(|e| e["valueDecimal"].clone()), Some(json!(31337)), "{body}");
    let tx = value("#anchor-transaction").and_then(|e| e["valueString"].as_str().map(str::to_owned)).expect("tx");
    assert!(anvil.rpc().receipt(tx.parse().unwrap()).unwrap().is_some_and(|r| r.success), "a real transaction: {tx}");
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

    // A self-contained proof of one version, checked elsewhere with the chain RPC alone.
    let proofs = temp_dir();
    let proof_file = proofs.path().join("p0.json");
    let proof_path = proof_file.display().to_string();
    // A file there already, readable by all: replaced, not written through.
    std::fs::write(&proof_file, "old").unwrap();
    std::fs::set_permissions(&proof_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    crate::server::bridge_env(
        original.path(),
        &env_args,
        &["prove", "Patient/p0", "--with-content", "--output", &proof_path],
    )
    .expect_code(0, "prove");
    let mode = std::fs::metadata(&proof_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a proof with content is patient data");
    let elsewhere = temp_dir();
    let check_args = |file: &str| {
        ["check-proof", file, "--rpc-url", anvil.url.as_str(), "--contract", contract.as_str(), "--finality", "2"]
            .map(str::to_owned)
    };
    let node_key = bridge(original.path(), ["keys"]).expect_code(0, "keys").stdout;
    let node_key = node_key.lines().find_map(|l| l.strip_prefix("key_id = ")).unwrap().trim_matches('"').to_owned();
    let mut with_key = check_args(&proof_path).to_vec();
    with_key.extend(["--node-key".to_owned(), node_key, "--reference".to_owned(), "Patient/p0".to_owned()]);
    let checked = bridge(elsewhere.path(), &with_key).expect_code(0, "check-proof");
    assert!(!checked.stderr.contains("only if you know this key"), "{}", checked.stderr);
    let mut other_key = check_args(&proof_path).to_vec();
    other_key.extend(["--node-key".to_owned(), "ab".repeat(32)]);
    let run = bridge(elsewhere.path(), &other_key);
    assert_eq!(run.code, Some(1), "another institution's key: {}", run.stderr);
    let mut other_resource = check_args(&proof_path).to_vec();
    other_resource.extend(["--reference".to_owned(), "Patient/p1".to_owned()]);
    let run = bridge(elsewhere.path(), &other_resource);
    assert_eq!(run.code, Some(1), "another resource: {}", run.stderr);
    assert!(run.stderr.contains("the content is not Patient/p1"), "{}", run.stderr);
    let checked = bridge(elsewhere.path(), check_args(&proof_path)).expect_code(0, "check-proof");
    assert!(checked.stderr.contains("only if you know this key"), "without --node-key, said: {}", checked.stderr);
    assert!(checked.stdout.contains("a Patient version 1 (create)"), "{}", checked.stdout);
    assert!(checked.stdout.contains("content: matches the record's commitment"), "{}", checked.stdout);
    assert!(checked.stdout.contains("anchored on chain 31337"), "{}", checked.stdout);
    assert!(!checked.stdout.contains("Original"), "the check prints no patient data: {}", checked.stdout);
    // Tampered: another record, other content, another contract; each is refused.
    let proof: Value = serde_json::from_str(&std::fs::read_to_string(&proof_file).unwrap()).unwrap();
    let tampered = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut copy = proof.clone();
        change(&mut copy);
        let path = proofs.path().join(name);
        std::fs::write(&path, copy.to_string()).unwrap();
        path.display().to_string()
    };
    let flip_record = tampered("record.json", &|p| {
        let record = p["proof"]["record"].as_str().unwrap().replacen("7b22", "7b23", 1);
        p["proof"]["record"] = json!(record);
    });
    let run = bridge(elsewhere.path(), check_args(&flip_record));
    assert_eq!(run.code, Some(1), "a changed record: {}", run.stderr);
    assert!(run.stderr.contains("is not in the tree"), "{}", run.stderr);
    let other_content = tampered("content.json", &|p| {
        let resource = p["content"]["resource"].as_str().unwrap().replace("Original", "Forged");
        p["content"]["resource"] = json!(resource);
    });
    let run = bridge(elsewhere.path(), check_args(&other_content));
    assert_eq!(run.code, Some(1), "changed content: {}", run.stderr);
    assert!(run.stderr.contains("does not match the record's commitment"), "{}", run.stderr);
    // Another genuine anchor contract (anyone can deploy one) is not the trusted one; and
    // without a trusted contract nothing is checked.
    let other = bridge(elsewhere.path(), ["chain", "deploy", "--gas-key", &gas_key].iter().chain(&endpoint))
        .expect_code(0, "another deploy");
    let run = bridge(
        elsewhere.path(),
        ["check-proof", &proof_path, "--rpc-url", &anvil.url, "--contract", other.stdout.trim(), "--finality", "2"],
    );
    assert_eq!(run.code, Some(1), "another contract than the trusted one: {}", run.stderr);
    assert!(run.stderr.contains("not the trusted"), "{}", run.stderr);
    let run = bridge(elsewhere.path(), ["check-proof", &proof_path, "--rpc-url", &anvil.url]);
    assert_eq!(run.code, Some(1), "no trusted contract: {}", run.stderr);
    assert!(run.stderr.contains("no trusted contract"), "{}", run.stderr);
    let run = bridge(
        elsewhere.path(),
        ["check-proof", &proof_path, "--rpc-url", "http://127.0.0.1:9", "--contract", &contract],
    );
    assert_eq!(run.code, Some(4), "chain unreachable: {}", run.stderr);
    // Finality asked beyond the chain's: not final yet, try later.
    let run = bridge(
        elsewhere.path(),
        ["check-proof", &proof_path, "--rpc-url", &anvil.url, "--contract", &contract, "--finality", "100000"],
    );
    assert_eq!(run.code, Some(5), "not final at 100000 confirmations: {}", run.stderr);
    // A version written after the last anchor has no proof yet.
    ingest_patients(original.path(), files.path(), "Later", 4);
    let run = crate::server::bridge_env(original.path(), &env_args, &["prove", "Patient/p3"]);
    assert_eq!(run.code, Some(5), "not anchored yet: {}", run.stderr);
    assert!(run.stderr.contains("not anchored to finality yet"), "{}", run.stderr);

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
    // Its own anchorer sees that the chain's anchor is not its block, says so, and sends nothing.
    let mut rewritten_serving = Bridge::start(rewritten.path(), &env, &logs.path().join("rewritten.log"));
    let health = wait_chain(&mut rewritten_serving, "divergence reported", |chain| {
        chain.as_str().is_some_and(|problem| problem.contains("diverges"))
    });
    assert_eq!(health["status"], "degraded", "{health}");
    std::thread::sleep(Duration::from_secs(2));
    let health = wait_chain(&mut rewritten_serving, "still diverged", |chain| chain.as_str().is_some());
    assert!(health["chain"].as_str().is_some_and(|p| p.contains("diverges")), "sticky: {health}");
    rewritten_serving.terminate(Duration::from_secs(30));
    let status = crate::server::bridge_env(original.path(), &env_args, &["chain", "status"])
        .expect_code(0, "no equivocation sent");
    assert!(!status.stdout.contains("EQUIVOCATION"), "{}", status.stdout);
    // Someone submits the rewritten head for height 2 (it is validly signed): the contract keeps
    // it as equivocation evidence.
    {
        let db = sled::open(node_store::database_dir(rewritten.path())).unwrap();
        let key = ledger_adapter::NodeKey::from_secret_bytes(crate::peers::node_key_secret(rewritten.path())).unwrap();
        let ledger = ledger_adapter::SledLedger::open(&db, ledger_adapter::Secp256k1Signer::new(key.clone())).unwrap();
        let header = ledger_adapter::LedgerReader::block(&ledger, 2).unwrap().unwrap();
        let input = chain_anchor::contract::anchor_input(&header, &key.public_key(), None).unwrap();
        chain_anchor::chain::send_and_wait(
            &anvil.rpc(),
            31337,
            &chain_anchor::testing::dev_account(2),
            Some(contract.parse().unwrap()),
            input,
            Duration::from_secs(30),
        )
        .expect("evidence is accepted");
    }
    let status = crate::server::bridge_env(original.path(), &env_args, &["chain", "status"]);
    assert_eq!(status.code, Some(3), "chain status after an equivocation: {}", status.stdout);
    assert!(status.stdout.contains("EQUIVOCATION"), "{}", status.stdout);
    let verify = crate::server::bridge_env(original.path(), &env_args, &["verify", "--chain"]);
    assert_eq!(verify.code, Some(3), "the equivocation is evidence against the key: {}", verify.stderr);
    // And a proof from the key's ledger no longer holds.
    let run = bridge(elsewhere.path(), check_args(&proof_path));
    assert_eq!(run.code, Some(1), "a proof by an equivocated key: {}", run.stderr);
    assert!(run.stderr.contains("equivocated"), "{}", run.stderr);
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

/// Waits for `count` final anchors on a bridge, then returns.
fn anchored(bridge: &mut Bridge, count: u64) {
    wait_final_anchors(bridge, count);
}

#[test]
fn chain_a_grantee_refuses_a_custodian_whose_head_does_not_extend_its_anchor() {
    use crate::peers::{consent, created, node_key, observation, peers_env};
    use crate::tamper_proxy::TamperProxy;
    let Some(anvil) = Anvil::start(&["--block-time", "1"]) else { return };
    let keys = temp_dir();
    let admin_key = key_file(keys.path(), "admin.key", DEV_KEYS[0]);
    let endpoint = ["--rpc-url", anvil.url.as_str(), "--chain-id", "31337"];
    let (a_dir, b_dir) = (temp_dir(), temp_dir());
    let contract = bridge(a_dir.path(), ["chain", "deploy", "--gas-key", &admin_key].iter().chain(&endpoint))
        .expect_code(0, "chain deploy")
        .stdout
        .trim()
        .to_owned();
    let (a_public, _, _) = node_key(a_dir.path());
    let (b_public, _, _) = node_key(b_dir.path());
    for dir in [a_dir.path(), b_dir.path()] {
        bridge(dir, ["chain", "register", "--gas-key", &admin_key, "--contract", &contract].iter().chain(&endpoint))
            .expect_code(0, "chain register");
    }

    // A (custodian) and B (grantee) both anchor, each with its own gas account; B reaches A
    // through a proxy, so that A can later be swapped for a rebuilt copy behind the same URL.
    let proxy = TamperProxy::start();
    let mut a_env = chain_env(&anvil, &contract, &key_file(keys.path(), "a-gas.key", DEV_KEYS[1]));
    a_env.push(peers_env(&[("Organization/hospital-b", &b_public, None)]));
    a_env.push(("FHIR_BRIDGE__AUTH__TOKEN_URL".to_owned(), format!("{}/auth/token", proxy.url())));
    let logs = temp_dir();
    let mut a = Bridge::start(a_dir.path(), &a_env, &logs.path().join("a.log"));
    a.wait_healthy(Duration::from_secs(30));
    proxy.set_upstream(a.base());
    let mut b_env = chain_env(&anvil, &contract, &key_file(keys.path(), "b-gas.key", DEV_KEYS[2]));
    b_env.push(peers_env(&[("Organization/hospital-a", &a_public, Some(proxy.url()))]));
    let mut b = Bridge::start(b_dir.path(), &b_env, &logs.path().join("b.log"));
    b.wait_healthy(Duration::from_secs(30));

    created(&a, "POST", "/fhir/Patient", &json!({"resourceType": "Patient", "id": "p1"}));
    created(&a, "POST", "/fhir/Consent", &consent("active"));
    created(&a, "POST", "/fhir/Observation", &observation("a1", "p1", 71));
    anchored(&mut a, 1);
    // A's anchor is final at B's finality (the same setting), so B's read below is checked
    // against it: B, which has no records, has no anchor, so the only final anchor listed is A's.
    let start = std::time::Instant::now();
    loop {
        let status = crate::server::bridge_env(b_dir.path(), &b_env, &["chain", "status"]);
        if status.stdout.contains("final anchor height") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "A's anchor not final: {}", status.stdout);
        std::thread::sleep(Duration::from_millis(300));
    }

    let (status, body) = b.get("/fhir/Observation?patient=p1").expect("search");
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bundle["total"], 1, "the custodian's head extends its anchor: {bundle:#}");

    // A's data dir rebuilt with the same key and other content, served (not anchoring) behind
    // the same URL: every proof of its answer holds, but its head is not the anchored ledger's.
    assert_eq!(a.terminate(Duration::from_secs(30)).code(), Some(0));
    let rebuilt = temp_dir();
    for file in ["node.key", "deployment.secret"] {
        std::fs::copy(a_dir.path().join(file), rebuilt.path().join(file)).unwrap();
    }
    let mut rebuilt_env: Vec<(String, String)> =
        a_env.iter().filter(|(k, _)| !k.starts_with("FHIR_BRIDGE__CHAIN__")).cloned().collect();
    rebuilt_env.push(("FHIR_BRIDGE__AUTH__TOKEN_URL".to_owned(), format!("{}/auth/token", proxy.url())));
    rebuilt_env.dedup();
    let mut forged = Bridge::start(rebuilt.path(), &rebuilt_env, &logs.path().join("rebuilt.log"));
    forged.wait_healthy(Duration::from_secs(30));
    proxy.set_upstream(forged.base());
    created(&forged, "POST", "/fhir/Patient", &json!({"resourceType": "Patient", "id": "p1"}));
    created(&forged, "POST", "/fhir/Consent", &consent("active"));
    created(&forged, "POST", "/fhir/Observation", &observation("a1", "p1", 99));
    created(&forged, "POST", "/fhir/Observation", &observation("a2", "p1", 98));

    // As for any answer that fails verification: none of it is shown, and the searchset names
    // the custodian and why, as an OperationOutcome entry (code security).
    let (status, body) = b.get("/fhir/Observation?patient=p1").expect("search");
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(bundle["total"], 0, "{bundle:#}");
    let outcome = &bundle["entry"][0]["resource"];
    assert_eq!(outcome["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(outcome["issue"][0]["code"], "security", "{body}");
    let why = outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default();
    assert!(why.contains("does not match its anchor on the chain"), "{why}");
    assert!(!body.contains("valueQuantity"), "nothing of the forged answer is shown: {body}");
}
