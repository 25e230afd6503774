//! Shared by the integration tests: the mappings of `mappings/`, the shared data folder, and a
//! deterministic [`IdMaker`].

#![allow(dead_code, reason = "each test crate uses a part of this module")]

use std::path::{Path, PathBuf};

use hl7v2_fhir::{IdMaker, Mappings};
use sha2::{Digest, Sha256};

/// Ids as SHA-256 of the resource type and the parts (the bridge uses a keyed hash instead):
/// deterministic, so golden files stay put.
pub struct HashIds;

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

/// The repository's `mappings/` folder.
pub fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings")
}

/// The mappings of `mappings/`, loaded.
pub fn mappings() -> Mappings {
    Mappings::load(&mappings_dir()).unwrap_or_else(|e| panic!("{e}"))
}

/// `../shared/data/hl7v2/<rest>` (from the repository root), or `None` (with a message) when
/// the shared data is absent; with `CI=true` an absent folder fails the test instead.
pub fn shared_hl7v2() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/hl7v2"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{} is missing (CI=true)", dir.display());
    eprintln!("skipped: the shared HL7 v2 samples are absent ({})", dir.display());
    None
}

/// The `.hl7` files directly in `dir`, sorted.
pub fn hl7_files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    paths.sort();
    paths
}
