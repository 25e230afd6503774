//! Replays the committed seeds (`seeds/<target>/`) and every input a fuzzer found
//! (`regressions/<target>/`) through the targets' checks on a plain build, without libFuzzer:
//! `cargo test --manifest-path fuzz/Cargo.toml`.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for folder in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("a readable folder").path();
            let data = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            eprintln!("{target}: {}", path.display());
            check(&data);
            count += 1;
        }
    }
    eprintln!("{target}: {count} inputs replayed");
    // A target with nothing to replay would pass whatever its check does.
    assert!(count > 0, "{target}: no seeds or regressions to replay (fuzz/seeds/{target}/)");
}

#[test]
fn fhir_json() {
    replay("fhir_json", fhir_ledger_bridge_fuzz::fhir_json::check);
}

#[test]
fn hl7v2_parse_map() {
    replay("hl7v2_parse_map", fhir_ledger_bridge_fuzz::hl7v2_parse_map::check);
}

#[test]
fn mllp_framing() {
    replay("mllp_framing", fhir_ledger_bridge_fuzz::mllp_framing::check);
}

#[test]
fn jwt() {
    replay("jwt", fhir_ledger_bridge_fuzz::jwt::check);
}

#[test]
fn search_params() {
    replay("search_params", fhir_ledger_bridge_fuzz::search_params::check);
}
