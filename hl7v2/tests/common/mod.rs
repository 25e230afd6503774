//! Shared helpers: locating the real sample data.

#![allow(dead_code, reason = "each test crate uses a different subset")]

use std::path::{Path, PathBuf};

/// `../shared/data/hl7v2` relative to the project root, or `None` (after printing why) when it is
/// absent; panics when it is absent and `CI=true`.
pub fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/hl7v2")).to_path_buf();
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "test data {} is missing but CI=true", dir.display());
    eprintln!("skipping: HL7 v2 test data not found at {}", dir.display());
    None
}

/// The `.hl7` files directly in `dir`, sorted, with their text.
pub fn hl7_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, text)
        })
        .collect()
}

/// The segments of a text as a reader should see them: BOM stripped, split on CR, LF or CRLF,
/// blank and whitespace-only lines dropped.
pub fn normalised_segments(text: &str) -> Vec<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.split(['\r', '\n']).filter(|l| !l.trim().is_empty()).collect()
}

/// The name of a file, for assertion messages.
pub fn name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}
