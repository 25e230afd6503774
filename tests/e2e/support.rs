//! Shared helpers of the end-to-end tests: the binary, the real data, running commands, checks.

#![allow(dead_code, reason = "each test module uses a different subset of the helpers")]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The built `fhir-bridge` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fhir-bridge")
}

/// The real FHIR R4 data (`../../shared/data/fhir-r4` from the package), or `None` (with a
/// message) when it is absent; panics when absent and `CI=true`.
pub fn data_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir-r4");
    let present = ["examples", "synthea", "bulk-ndjson"].iter().all(|d| root.join(d).is_dir());
    if present {
        return Some(root);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the FHIR R4 test data is missing at {} (required when CI=true)",
        root.display()
    );
    eprintln!("SKIPPED: no FHIR R4 test data at {} (examples, synthea, bulk-ndjson)", root.display());
    None
}

/// The HL7 v2 samples (`../../shared/data/hl7v2`), or `None` (with a message) when absent;
/// panics when absent and `CI=true`.
pub fn hl7v2_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hl7v2");
    if root.is_dir() {
        return Some(root);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "the HL7 v2 samples are missing at {}", root.display());
    eprintln!("SKIPPED: no HL7 v2 samples at {}", root.display());
    None
}

/// Returns the data root, or returns from the test (skipping it) when the data is absent.
#[macro_export]
macro_rules! require_data {
    () => {
        match $crate::support::data_root() {
            Some(root) => root,
            None => return,
        }
    };
}

/// A fresh temporary directory (removed on drop).
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32, what: &str) -> Run {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: expected exit {code}\n--- stdout (first 4000 bytes) ---\n{}\n--- stderr (first 4000 bytes) ---\n{}",
            head(&self.stdout),
            head(&self.stderr)
        );
        self
    }
}

fn head(s: &str) -> &str {
    let mut end = s.len().min(4000);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Runs `fhir-bridge --data-dir DATA ARGS...` to completion and captures its output.
pub fn bridge<I, S>(data_dir: &Path, args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let output =
        Command::new(bin()).arg("--data-dir").arg(data_dir).args(args).output().expect("cannot run fhir-bridge");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `verify` on `data_dir`; panics unless it exits 0.
#[track_caller]
pub fn verify_ok(data_dir: &Path, what: &str) {
    bridge(data_dir, ["verify"]).expect_code(0, &format!("verify ({what})"));
}

/// The summary line of `ingest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Resources seen.
    pub resources: u64,
    /// New versions committed.
    pub accepted: u64,
    /// Same content as the latest version.
    pub duplicates: u64,
    /// Refused.
    pub rejected: u64,
    /// Bundle entries without data.
    pub skipped: u64,
}

/// Parses "N resources: A accepted, D duplicates, R rejected, S entries skipped" from stderr.
#[track_caller]
pub fn summary(stderr: &str) -> Summary {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains(" resources: ") && l.contains(" accepted, "))
        .unwrap_or_else(|| panic!("no ingest summary line on stderr:\n{}", head(stderr)));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a number"))
        .collect();
    assert!(numbers.len() >= 5, "cannot parse the summary line {line:?}");
    Summary {
        resources: numbers[0],
        accepted: numbers[1],
        duplicates: numbers[2],
        rejected: numbers[3],
        skipped: numbers[4],
    }
}

/// The `rejected: PATH` lines of stderr, as paths (without the `(Bundle.entry[n])` suffix).
pub fn rejected_paths(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("rejected: "))
        .map(|rest| rest.split(" (").next().unwrap_or(rest).to_owned())
        .collect()
}

/// `read REFERENCE [--version N]`, parsed; panics unless it exits 0.
#[track_caller]
pub fn read(data_dir: &Path, reference: &str, version: Option<u32>) -> Value {
    let mut args = vec!["read".to_owned(), reference.to_owned()];
    if let Some(v) = version {
        args.push("--version".to_owned());
        args.push(v.to_string());
    }
    let run = bridge(data_dir, &args).expect_code(0, &format!("read {reference} {version:?}"));
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("read {reference}: not JSON ({e}):\n{}", run.stdout))
}

/// `meta.versionId` of a resource as read back.
#[track_caller]
pub fn version_id(resource: &Value) -> &str {
    resource["meta"]["versionId"].as_str().unwrap_or_else(|| panic!("no meta.versionId in {resource}"))
}

/// Removes `meta.versionId` and `meta.lastUpdated` (and `meta` when then empty).
pub fn strip_meta(resource: &mut Value) {
    let Some(object) = resource.as_object_mut() else { return };
    let now_empty = match object.get_mut("meta").and_then(Value::as_object_mut) {
        Some(meta) => {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            meta.is_empty()
        }
        None => false,
    };
    if now_empty {
        object.remove("meta");
    }
}

/// `resourceType/id` of a resource.
pub fn key_of(resource: &Value) -> Option<String> {
    Some(format!("{}/{}", resource["resourceType"].as_str()?, resource["id"].as_str()?))
}

/// All files under `dir`, recursively, sorted by path.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("dir entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Parses the lines of NDJSON text.
#[track_caller]
pub fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The development bearer token the e2e tests give `serve` (through the environment) and send.
pub const DEV_TOKEN: &str = "e2e-development-token-0123456789";

/// The environment variable that configures [`DEV_TOKEN`] with every scope (development mode).
pub fn dev_token_env() -> (&'static str, String) {
    (
        "FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS",
        format!(
            r#"[{{ token = "{DEV_TOKEN}", client_id = "e2e", scopes = ["system/*.cruds", "bridge/ledger.read", "bridge/metrics.read"] }}]"#
        ),
    )
}

/// An active-or-not Consent `c1` of Patient `p1` permitting `organization` (a recipient, IRCP)
/// from 2026 on, for `class` (a resource type) or, with `None`, every type.
pub fn permit_consent(status: &str, organization: &str, class: Option<&str>) -> Value {
    let mut consent = serde_json::json!({
        "resourceType": "Consent", "id": "c1", "status": status,
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/p1"},
        "provision": {
            "type": "permit",
            "period": {"start": "2026-01-01"},
            "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}, "reference": {"reference": organization}}]
        }
    });
    if let Some(class) = class {
        consent["provision"]["class"] =
            serde_json::json!([{"system": "http://hl7.org/fhir/resource-types", "code": class}]);
    }
    consent
}
