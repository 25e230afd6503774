//! Round trip: ingest all the real data, verify, export, and compare resource by resource.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde_json::Value;

use crate::require_data;
use crate::support::{bridge, files_under, key_of, ndjson, rejected_paths, strip_meta, summary, temp_dir, verify_ok};

/// The example files the bridge must reject (and only these):
/// - invalid: Bundle-bundle-transaction, DeviceMetric-example, DeviceUseStatement-example,
///   MedicationRequest-medrx0301, Questionnaire-qs1;
/// - every Consent example: each is in force and holds what a peer read cannot check (persons
///   as actors, data, purposes, security labels, codes) or leaves the base rule's decision to be
///   guessed (no `provision.type`): `fhir_consent::read`;
/// - not sealable under one patient's key (`node_store::patient`): a contained Patient is the only
///   patient of the Claims, the Apgar Observations and QuestionnaireResponse-3141; Group-102 and
///   Person-pp name several patients;
/// - a transaction with a conditional entry (`ifNoneExist`), which Bundles do not run yet and
///   must not run unconditionally: Bundle-xds.
const REJECTED: [&str; 27] = [
    "Bundle-bundle-transaction.json",
    "Bundle-xds.json",
    "Claim-100152.json",
    "Claim-100155.json",
    "Claim-MED-00050.json",
    "Consent-consent-example-Emergency.json",
    "Consent-consent-example-Out.json",
    "Consent-consent-example-grantor.json",
    "Consent-consent-example-notAuthor.json",
    "Consent-consent-example-notThem.json",
    "Consent-consent-example-notThis.json",
    "Consent-consent-example-notTime.json",
    "Consent-consent-example-pkb.json",
    "Consent-consent-example-signature.json",
    "Consent-consent-example-smartonfhir.json",
    "DeviceMetric-example.json",
    "DeviceUseStatement-example.json",
    "Group-102.json",
    "MedicationRequest-medrx0301.json",
    "Observation-10minute-apgar-score.json",
    "Observation-1minute-apgar-score.json",
    "Observation-20minute-apgar-score.json",
    "Observation-2minute-apgar-score.json",
    "Observation-5minute-apgar-score.json",
    "Person-pp.json",
    "Questionnaire-qs1.json",
    "QuestionnaireResponse-3141.json",
];

/// What the inputs say the store should hold.
#[derive(Default)]
struct Expected {
    /// Latest content per `Type/id`.
    by_key: BTreeMap<String, Value>,
    /// Deleted `Type/id`s.
    deleted: BTreeSet<String>,
    /// Resources whose id the bridge assigns (no id, no PUT URL, no `urn:uuid:` fullUrl): by type.
    unkeyed: Vec<Value>,
}

impl Expected {
    fn put(&mut self, resource: Value) {
        match key_of(&resource) {
            Some(key) => {
                self.deleted.remove(&key);
                self.by_key.insert(key, resource);
            }
            None => self.unkeyed.push(resource),
        }
    }

    fn add_submission(&mut self, resource: Value) {
        if resource["resourceType"] != "Bundle" {
            self.put(resource);
            return;
        }
        let entries = resource["entry"].as_array().cloned().unwrap_or_default();
        // First pass: the identity of every entry with a urn: fullUrl.
        let mut resolved: HashMap<String, String> = HashMap::new();
        let mut kept: Vec<(Value, Option<String>)> = Vec::new();
        for entry in entries {
            let method = entry["request"]["method"].as_str().unwrap_or_default().to_owned();
            let url = entry["request"]["url"].as_str().unwrap_or_default().to_owned();
            if method == "GET" || method == "HEAD" {
                continue;
            }
            if method == "DELETE" {
                let key = url.rsplit('/').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("/");
                self.by_key.remove(&key);
                self.deleted.insert(key);
                continue;
            }
            let Some(res) = entry.get("resource").cloned() else { continue };
            let full_url = entry["fullUrl"].as_str().map(str::to_owned);
            let id = res["id"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| (method == "PUT").then(|| url.rsplit('/').next().unwrap_or_default().to_owned()))
                .or_else(|| full_url.as_deref().and_then(|u| u.strip_prefix("urn:uuid:")).map(str::to_owned));
            if let (Some(full_url), Some(id)) = (&full_url, &id) {
                if full_url.starts_with("urn:uuid:") || full_url.starts_with("urn:oid:") {
                    resolved.insert(full_url.clone(), format!("{}/{id}", res["resourceType"].as_str().unwrap_or("")));
                }
            }
            kept.push((res, id));
        }
        // Second pass: rewrite references, set ids.
        for (mut res, id) in kept {
            rewrite_references(&mut res, &resolved, false);
            if let (Some(id), Some(object)) = (id, res.as_object_mut()) {
                object.entry("id").or_insert(Value::String(id));
            }
            self.put(res);
        }
    }
}

fn rewrite_references(value: &mut Value, resolved: &HashMap<String, String>, is_reference: bool) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                rewrite_references(v, resolved, key == "reference");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, resolved, false)),
        Value::String(text) if is_reference => {
            if let Some(target) = resolved.get(text.as_str()) {
                *text = target.clone();
            }
        }
        _ => {}
    }
}

fn expected_from(inputs: &[&Path]) -> (Expected, usize) {
    let mut expected = Expected::default();
    let mut units = 0;
    for input in inputs {
        for file in files_under(input) {
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if REJECTED.contains(&name) {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("read input");
            match file.extension().and_then(|e| e.to_str()) {
                Some("json") => {
                    units += 1;
                    expected.add_submission(serde_json::from_str(&text).expect("input JSON"));
                }
                Some("ndjson" | "jsonl") => {
                    for resource in ndjson(&text) {
                        units += 1;
                        expected.add_submission(resource);
                    }
                }
                _ => {}
            }
        }
    }
    (expected, units)
}

#[test]
fn everything_ingested_is_exported_unchanged() {
    let root = require_data!();
    let data = temp_dir();
    let inputs = [root.join("examples"), root.join("synthea"), root.join("bulk-ndjson")];
    let ingest = bridge(data.path(), std::iter::once("ingest".as_ref()).chain(inputs.iter().map(|p| p.as_os_str())))
        .expect_code(1, "ingest of all the data (27 examples are refused)");
    let counts = summary(&ingest.stderr);
    eprintln!("round trip ingest: {counts:?}");

    let mut rejected: Vec<String> = rejected_paths(&ingest.stderr)
        .iter()
        .map(|p| Path::new(p).file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned())
        .collect();
    rejected.sort();
    assert_eq!(rejected, REJECTED, "rejected files (stderr):\n{}", ingest.stderr);
    for path in rejected_paths(&ingest.stderr) {
        assert!(Path::new(&path).starts_with(root.join("examples")), "{path} is not one of the examples");
    }
    assert_eq!(counts.rejected, REJECTED.len() as u64, "{counts:?}");
    assert_eq!(ingest.stdout.lines().count(), REJECTED.len(), "one OperationOutcome per reject on stdout");

    verify_ok(data.path(), "after the full ingest");

    let out = data.path().join("export.ndjson");
    let export = bridge(data.path(), ["export".as_ref(), "--out".as_ref(), out.as_os_str()]).expect_code(0, "export");
    let exported = ndjson(&std::fs::read_to_string(&out).expect("export file"));
    eprintln!("round trip export: {}", export.stderr.trim());

    let input_refs: Vec<&Path> = inputs.iter().map(|p| p.as_path()).collect();
    let (expected, units) = expected_from(&input_refs);
    let mut unkeyed: Vec<Value> = expected
        .unkeyed
        .iter()
        .cloned()
        .map(|mut v| {
            strip_meta(&mut v);
            v
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut mismatches = Vec::new();
    for mut resource in exported.iter().cloned() {
        let key = key_of(&resource).expect("exported resource has type and id");
        assert!(seen.insert(key.clone()), "{key} exported twice");
        strip_meta(&mut resource);
        match expected.by_key.get(&key) {
            Some(want) => {
                let mut want = want.clone();
                strip_meta(&mut want);
                if want != resource {
                    mismatches.push(format!("{key}:\n  want {want}\n  got  {resource}"));
                }
            }
            None => {
                // An id the bridge assigned: match the content without the id.
                let mut without_id = resource.clone();
                without_id.as_object_mut().map(|o| o.remove("id"));
                match unkeyed.iter().position(|u| *u == without_id) {
                    Some(i) => {
                        unkeyed.swap_remove(i);
                    }
                    None => mismatches.push(format!("{key}: exported but not in the inputs: {resource}")),
                }
            }
        }
    }
    for key in expected.by_key.keys() {
        if !seen.contains(key) {
            mismatches.push(format!("{key}: in the inputs but not exported"));
        }
    }
    eprintln!(
        "round trip: {units} input units, {} distinct Type/id, {} with assigned ids, {} deleted, {} exported",
        expected.by_key.len(),
        expected.unkeyed.len(),
        expected.deleted.len(),
        exported.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches; first 5:\n{}",
        mismatches.len(),
        mismatches.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    assert_eq!(exported.len(), expected.by_key.len() + expected.unkeyed.len(), "export count");
}
