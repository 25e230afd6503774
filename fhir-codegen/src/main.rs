//! `fhir-codegen`: generates the typed FHIR R4 models of `fhir-models` from the official definitions.
//!
//! Two steps, each a small pipeline stage:
//! 1. `extract` reads the official R4 definitions (`profiles-resources.json`, `profiles-types.json`,
//!    `valuesets.json`, `v3-codesystems.json`, `v2-tables.json`) and writes the trimmed, vendored
//!    copy under `fhir-codegen/definitions/r4/`: only what the models need (element paths,
//!    cardinalities, types, target profiles, required bindings with their expanded codes).
//! 2. `generate` (the default) reads the vendored copy and writes `fhir-models/src/generated/`.
//!
//! A mere `cargo run -p fhir-codegen` regenerates the models. Tests fail when regenerating would
//! change the committed output.

mod emit;
mod extract;
mod ir;
mod model;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The workspace root, found from this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Where the trimmed, vendored definitions live.
fn vendored_dir() -> PathBuf {
    workspace_root().join("fhir-codegen/definitions/r4")
}

/// Where the generated Rust files go.
fn generated_dir() -> PathBuf {
    workspace_root().join("fhir-models/src/generated")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("generate") => {
            let files = generate_files(&vendored_dir())?;
            write_files(&generated_dir(), &files)?;
            println!("wrote {} generated files to {}", files.len(), generated_dir().display());
        }
        Some("extract") => {
            let source = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("../shared/data/fhir-r4/definitions"));
            let files = extract::extract(&source).with_context(|| format!("extracting from {}", source.display()))?;
            write_files(&vendored_dir(), &files)?;
            println!("wrote {} vendored definition files", files.len());
        }
        Some(other) => bail!("unknown command {other:?}; expected `generate` or `extract [DIR]`"),
    }
    Ok(())
}

/// Generates every output file (relative path, contents) from the vendored definitions.
fn generate_files(vendored: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let definitions = ir::Definitions::load(vendored)?;
    let model = model::Model::build(&definitions)?;
    Ok(emit::emit(&model))
}

fn write_files(dir: &Path, files: &[(String, String)]) -> anyhow::Result<()> {
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| &old == contents);
        if !unchanged {
            std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regenerating from the vendored definitions must give exactly the committed files.
    #[test]
    fn committed_generated_code_is_up_to_date() {
        let files = generate_files(&vendored_dir()).expect("generation succeeds");
        assert!(files.len() > 10, "expected many generated files");
        let mut stale = Vec::new();
        for (relative, contents) in &files {
            let committed = std::fs::read_to_string(generated_dir().join(relative)).unwrap_or_default();
            if &committed != contents {
                stale.push(relative.clone());
            }
        }
        // Files that exist on disk but are no longer generated are stale too.
        let generated: std::collections::BTreeSet<_> = files.iter().map(|(p, _)| p.clone()).collect();
        for entry in walk(&generated_dir()) {
            if !generated.contains(&entry) {
                stale.push(entry);
            }
        }
        assert!(stale.is_empty(), "generated code is stale; run `cargo run -p fhir-codegen`: {stale:?}");
    }

    /// Re-extracting from the official definitions must give exactly the vendored copy.
    #[test]
    fn vendored_definitions_match_the_official_ones() {
        let source = workspace_root().join("../shared/data/fhir-r4/definitions");
        if !source.join("profiles-resources.json").exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the official definitions are missing at {} but CI=true",
                source.display()
            );
            eprintln!("skipping: official definitions not found at {}", source.display());
            return;
        }
        let files = extract::extract(&source).expect("extraction succeeds");
        for (relative, contents) in &files {
            let committed = std::fs::read_to_string(vendored_dir().join(relative)).unwrap_or_default();
            assert!(&committed == contents, "vendored {relative} is stale; run `cargo run -p fhir-codegen -- extract`");
        }
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(dir) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out
    }
}
