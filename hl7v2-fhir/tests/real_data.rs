//! Every message of the shared HL7 v2 samples maps, with the mappings of `mappings/`, to FHIR
//! resources that pass the bridge's own validator.

use std::path::{Path, PathBuf};

use hl7v2_fhir::{IdMaker, Mappings};
use sha2::{Digest, Sha256};

struct HashIds;

impl IdMaker for HashIds {
    fn make_id(&self, resource_type: &str, parts: &[&str]) -> String {
        let mut hash = Sha256::new();
        hash.update(resource_type.as_bytes());
        for part in parts {
            hash.update([0]);
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn mappings() -> Mappings {
    Mappings::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings")).unwrap_or_else(|e| panic!("{e}"))
}

fn samples() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hl7v2");
    if !dir.is_dir() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{} is missing (CI=true)", dir.display());
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    paths.sort();
    Some(paths)
}

#[test]
fn every_sample_maps_to_valid_fhir() {
    let mappings = mappings();
    let Some(paths) = samples() else { return };
    let mut failures = Vec::new();
    let mut resources = 0;
    for path in &paths {
        let text = std::fs::read_to_string(path).expect("UTF-8");
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let message = match hl7v2::Message::parse(&text) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: parse: {e}"));
                continue;
            }
        };
        let mapped = match mappings.map(&message, &HashIds) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{name}: map: {e}"));
                continue;
            }
        };
        if mapped.resources.is_empty() {
            failures.push(format!("{name}: no resources"));
        }
        for resource in &mapped.resources {
            resources += 1;
            if let Err(outcome) = fhir_models::parse_and_validate(resource.json.as_bytes()) {
                let issues: Vec<String> = outcome
                    .issue
                    .iter()
                    .map(|i| {
                        format!(
                            "{} {}",
                            i.expression.iter().filter_map(|e| e.as_str()).collect::<Vec<_>>().join(","),
                            i.diagnostics.as_ref().and_then(|d| d.as_str()).unwrap_or_default()
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{name}: {} ({}): {}",
                    resource.resource_type,
                    resource.segment.0,
                    issues.join("; ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} resources from {} messages:\n{}",
        failures.len(),
        resources,
        paths.len(),
        failures.join("\n")
    );
}
