//! At rest: no patient data in plaintext anywhere in the data dir; key files are private.

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::require_data;
use crate::support::{bridge, files_under, summary, temp_dir};

/// Names, ids, identifier values and address lines of the Synthea patients.
fn patient_strings(synthea: &std::path::Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files_under(synthea) {
        let bundle: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let p = &entry["resource"];
            if p["resourceType"] != "Patient" {
                continue;
            }
            let candidates = [
                &p["id"],
                &p["name"][0]["given"][0],
                &p["name"][0]["family"],
                &p["identifier"][1]["value"],
                &p["identifier"][2]["value"],
                &p["address"][0]["line"][0],
                &p["telecom"][0]["value"],
            ];
            for c in candidates.into_iter().filter_map(Value::as_str) {
                // Short strings could appear by chance in ciphertext; these are long enough not to.
                if c.len() >= 5 {
                    out.insert(c.to_owned());
                }
            }
        }
    }
    out
}

/// The needles (each at least 5 bytes long) that occur in `haystack`, in one pass over it.
fn occurring<'a>(haystack: &[u8], needles: &'a BTreeSet<String>) -> BTreeSet<&'a str> {
    let mut by_prefix: HashMap<[u8; 5], Vec<&str>> = HashMap::new();
    for needle in needles {
        let prefix: [u8; 5] = needle.as_bytes()[..5].try_into().expect("5 bytes");
        by_prefix.entry(prefix).or_default().push(needle);
    }
    let mut out = BTreeSet::new();
    for (at, window) in haystack.windows(5).enumerate() {
        let prefix: [u8; 5] = window.try_into().expect("5 bytes");
        if let Some(candidates) = by_prefix.get(&prefix) {
            for needle in candidates {
                if haystack[at..].starts_with(needle.as_bytes()) {
                    out.insert(*needle);
                }
            }
        }
    }
    out
}

#[test]
fn the_data_dir_holds_no_plaintext_patient_data() {
    let root = require_data!();
    let synthea = root.join("synthea");
    let data = temp_dir();
    let ingest = bridge(data.path(), ["ingest".as_ref(), synthea.as_os_str()]).expect_code(0, "ingest synthea");
    assert!(summary(&ingest.stderr).accepted > 0);

    let needles = patient_strings(&synthea);
    assert!(needles.len() >= 26 * 3, "too few patient strings: {needles:?}");
    let files = files_under(data.path());
    let mut total = 0;
    let mut found = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("read data file");
        total += bytes.len();
        for needle in occurring(&bytes, &needles) {
            found.push(format!("{needle:?} in {}", file.display()));
        }
    }
    eprintln!("at rest: {} strings searched in {} files ({total} bytes)", needles.len(), files.len());
    assert!(total > 0);
    assert!(found.is_empty(), "plaintext patient data at rest:\n{}", found.join("\n"));

    for name in ["node.key", "deployment.secret"] {
        let mode = std::fs::metadata(data.path().join(name)).expect(name).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode of {name}: {mode:o}");
    }
}
