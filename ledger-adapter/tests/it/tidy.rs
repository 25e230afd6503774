//! Every source file of the crate starts with a `//!` doc comment.

use std::path::Path;

fn check_directory(directory: &Path, missing: &mut Vec<String>) {
    for entry in std::fs::read_dir(directory).expect("read directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            check_directory(&path, missing);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let text = std::fs::read_to_string(&path).expect("read file");
            if !text.starts_with("//!") {
                missing.push(path.display().to_string());
            }
        }
    }
}

#[test]
fn every_file_starts_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut missing = Vec::new();
    for directory in ["src", "tests", "benches"] {
        check_directory(&root.join(directory), &mut missing);
    }
    assert!(missing.is_empty(), "files without a //! doc: {missing:?}");
}
