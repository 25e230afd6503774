//! Crash safety: `ingest` killed with SIGKILL at various points leaves a ledger that verifies, and
//! a later full ingest ends with exactly one version per distinct resource.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::require_data;
use crate::support::{bin, bridge, files_under, key_of, ndjson, read, strip_meta, summary, temp_dir, verify_ok};

#[test]
fn killed_ingests_leave_a_verifiable_ledger_and_no_duplicate_versions() {
    let root = require_data!();
    let bulk = root.join("bulk-ndjson");
    let data = temp_dir();

    // Expected: per Type/id, the number of content changes in input order (its last version).
    let mut last: BTreeMap<String, (Value, u32)> = BTreeMap::new();
    for file in files_under(&bulk) {
        for mut resource in ndjson(&std::fs::read_to_string(&file).expect("read")) {
            let key = key_of(&resource).expect("bulk resources have ids");
            strip_meta(&mut resource);
            match last.get_mut(&key) {
                Some((content, version)) if *content != resource => {
                    *content = resource;
                    *version += 1;
                }
                Some(_) => {}
                None => {
                    last.insert(key, (resource, 1));
                }
            }
        }
    }

    // Kill rounds: the first before any block can be sealed, the others part-way.
    for (round, delay_ms) in [30u64, 500, 900, 1300, 1700].into_iter().enumerate() {
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(data.path())
            .arg("ingest")
            .arg(&bulk)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ingest");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished_early = child.try_wait().expect("try_wait").is_some();
        child.kill().ok();
        let status = child.wait().expect("wait");
        eprintln!("crash round {round}: killed after {delay_ms} ms (finished before: {finished_early}, {status})");
        if data.path().join("db").is_dir() {
            verify_ok(data.path(), &format!("after kill round {round}"));
        }
    }

    let full = bridge(data.path(), ["ingest".as_ref(), bulk.as_os_str()]).expect_code(0, "ingest to completion");
    let full = summary(&full.stderr);
    eprintln!("crash: final ingest {full:?}, {} distinct inputs", last.len());
    verify_ok(data.path(), "after the full ingest");

    let again = bridge(data.path(), ["ingest".as_ref(), bulk.as_os_str()]).expect_code(0, "ingest once more");
    let again = summary(&again.stderr);
    assert_eq!(again.accepted, 0, "{again:?}");

    let exported = ndjson(&bridge(data.path(), ["export"]).expect_code(0, "export").stdout);
    assert_eq!(exported.len(), last.len(), "export count == distinct inputs");
    let mut wrong = Vec::new();
    for mut resource in exported {
        let key = key_of(&resource).expect("type/id");
        let got_version = resource["meta"]["versionId"].as_str().unwrap_or("?").to_owned();
        strip_meta(&mut resource);
        match last.get(&key) {
            None => wrong.push(format!("{key}: not in the input")),
            Some((content, version)) => {
                if *content != resource {
                    wrong.push(format!("{key}: content differs"));
                }
                if got_version != version.to_string() {
                    wrong.push(format!("{key}: version {got_version}, expected {version}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong; first 5: {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);

    for key in last.keys().take(3) {
        assert_eq!(read(data.path(), key, None)["meta"]["versionId"], "1", "{key}");
    }
}
