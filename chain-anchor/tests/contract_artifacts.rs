//! The committed bytecode and ABI are what the pinned solc makes of the committed sources.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn committed_bytecode_and_abi_are_the_pinned_compilers_output() {
    let Some(solcjs) = chain_anchor::testing::chain_tool("FHIR_BRIDGE_SOLCJS", "solcjs") else { return };
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contracts");
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(contracts.join("compile.py"))
        .arg(&solcjs)
        .arg(out.path())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "compile.py failed");
    for file in ["LedgerAnchor.bin", "LedgerAnchor.runtime.bin", "LedgerAnchor.abi.json"] {
        let committed = std::fs::read_to_string(contracts.join(file)).unwrap();
        let compiled = std::fs::read_to_string(out.path().join(file)).unwrap();
        assert!(
            committed == compiled,
            "contracts/{file} is not what the pinned solc makes of the sources: run contracts/compile.py {} contracts",
            solcjs.display()
        );
    }
}
