//! Round trip and validation of real data: every official R4 example, the Synthea bundles and the
//! bulk NDJSON export in `../shared/data/fhir-r4` parse, validate (or fail only for a documented
//! reason, listed in `known-invalid-examples.txt`) and serialise back to JSON equal to the input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn data_dir(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir-r4").join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "test data {} is missing but CI=true", dir.display());
    eprintln!("skipping: test data {} not found", dir.display());
    None
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable data dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    out.sort();
    out
}

/// Parses, checks the round trip, and returns the validation messages.
fn check_round_trip(json: &[u8], what: &str) -> Vec<String> {
    let resource = fhir_models::parse_resource(json).unwrap_or_else(|e| panic!("{what}: does not parse: {e}"));
    let written = fhir_models::to_json(&resource);
    let original: serde_json::Value = serde_json::from_slice(json).expect("input is JSON");
    let back: serde_json::Value = serde_json::from_slice(&written).expect("output is JSON");
    assert!(original == back, "{what}: round trip changed the content");
    fhir_models::validate(&resource).iter().map(|i| i.to_string()).collect()
}

fn known_invalid() -> BTreeMap<String, String> {
    include_str!("known-invalid-examples.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' ').map(|(f, why)| (f.to_owned(), why.trim().to_owned())))
        .collect()
}

#[test]
fn official_examples_round_trip_and_validate() {
    let Some(dir) = data_dir("examples") else { return };
    let known = known_invalid();
    let mut valid = 0;
    let mut invalid = BTreeMap::new();
    let all = files(&dir, "json");
    for path in &all {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let json = std::fs::read(path).expect("readable");
        let issues = check_round_trip(&json, &name);
        if issues.is_empty() {
            valid += 1;
        } else {
            invalid.insert(name, issues);
        }
    }
    eprintln!(
        "official examples: {} files, {} round-trip, {valid} valid, {} invalid (documented)",
        all.len(),
        all.len(),
        invalid.len()
    );
    let unexpected: Vec<_> = invalid.iter().filter(|(name, _)| !known.contains_key(*name)).collect();
    assert!(unexpected.is_empty(), "examples that fail validation without a documented reason: {unexpected:#?}");
    let stale: Vec<_> = known.keys().filter(|name| !invalid.contains_key(*name)).collect();
    assert!(stale.is_empty(), "known-invalid-examples.txt lists examples that now validate: {stale:?}");
    assert!(all.len() >= 600, "expected the 608 official examples, found {}", all.len());
}

#[test]
fn synthea_bundles_round_trip_and_validate() {
    let Some(dir) = data_dir("synthea") else { return };
    let all = files(&dir, "json");
    assert!(!all.is_empty());
    for path in &all {
        let json = std::fs::read(path).expect("readable");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let issues = check_round_trip(&json, name);
        assert!(issues.is_empty(), "{name}: {issues:#?}");
    }
}

#[test]
fn bulk_ndjson_round_trips_and_validates() {
    let Some(dir) = data_dir("bulk-ndjson") else { return };
    let mut count = 0;
    for path in files(&dir, "ndjson") {
        let text = std::fs::read(&path).expect("readable");
        for (i, line) in text.split(|b| *b == b'\n').enumerate().filter(|(_, l)| !l.is_empty()) {
            let what = format!("{}:{}", path.display(), i + 1);
            let issues = check_round_trip(line, &what);
            assert!(issues.is_empty(), "{what}: {issues:#?}");
            count += 1;
        }
    }
    assert!(count > 7000, "expected the ~7,160 bulk resources, found {count}");
}
