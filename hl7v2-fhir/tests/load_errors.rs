//! A mapping file that cannot be used stops loading with its file, its line and the reason:
//! each test copies `mappings/` into a temporary directory, breaks one file and loads it.

mod common;

use std::path::{Path, PathBuf};

use hl7v2_fhir::{MappingError, Mappings};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creatable");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())).flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copyable");
        }
    }
}

/// A copy of `mappings/` whose `file` has `old` (exactly once) replaced by `new`; the error is
/// expected on the line where `marker` is in the changed file.
struct Broken {
    _dir: tempfile::TempDir,
    root: PathBuf,
    file: PathBuf,
    line: usize,
}

fn broken(file: &str, old: &str, new: &str, marker: &str) -> Broken {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("mappings");
    copy_dir(&common::mappings_dir(), &root);
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(text.matches(old).count(), 1, "{file}: `{old}` should occur once");
    let changed = text.replacen(old, new, 1);
    let at = changed.find(marker).unwrap_or_else(|| panic!("{file}: no `{marker}` after the change"));
    let line = changed[..at].matches('\n').count() + 1;
    std::fs::write(&path, changed).expect("writable");
    Broken { _dir: dir, root, file: path, line }
}

/// Loads the broken copy and checks the error's file, line and that its reason says `why`.
fn expect_error(broken: &Broken, why: &[&str]) -> MappingError {
    let error = Mappings::load(&broken.root).expect_err("the broken mappings load");
    assert_eq!(error.file, broken.file, "{error}");
    assert_eq!(error.line, Some(broken.line), "{error}");
    for part in why {
        assert!(error.reason.contains(part), "`{}` does not say `{part}`", error.reason);
    }
    // As printed at start-up: file:line: reason.
    assert_eq!(error.to_string(), format!("{}:{}: {}", broken.file.display(), broken.line, error.reason));
    error
}

#[test]
fn the_shipped_mappings_load() {
    let mappings = common::mappings();
    let (messages, segments, datatypes, tables) = mappings.counts();
    assert!(messages >= 10 && segments >= 20 && datatypes >= 8 && tables >= 20);
}

#[test]
fn a_toml_syntax_error() {
    let b = broken("segments/PID-Patient.toml", "to = \"birthDate\"", "to = \"birthDate", "to = \"birthDate");
    expect_error(&b, &["string"]);
}

#[test]
fn an_unknown_key() {
    let b = broken("segments/PID-Patient.toml", "to = \"birthDate\"", "to = \"birthDate\"\nformt = \"{}\"", "formt");
    expect_error(&b, &["unknown field `formt`", "format"]);
}

#[test]
fn an_unknown_table() {
    let b = broken(
        "segments/PID-Patient.toml",
        "table = \"AdministrativeSex\"",
        "table = \"AdministrativeSexe\"",
        "AdministrativeSexe",
    );
    expect_error(&b, &["no table named `AdministrativeSexe`", "tables/"]);
}

#[test]
fn an_unknown_data_type_map() {
    let b = broken("segments/PID-Patient.toml", "type = \"XPN-HumanName\"", "type = \"XPN-Name\"", "XPN-Name");
    expect_error(&b, &["no data type map named `XPN-Name`", "datatypes/"]);
}

#[test]
fn a_bad_from_path() {
    let b = broken("segments/PID-Patient.toml", "from = \"PID-7\"", "from = \"PID-7a\"", "PID-7a");
    expect_error(&b, &["`PID-7a`", "SEG-field"]);
}

#[test]
fn a_bad_from_path_in_a_data_type_map() {
    let b = broken("datatypes/XPN-HumanName.toml", "from = \"1.1\"", "from = \"1.x\"", "1.x");
    expect_error(&b, &["`1.x`", "component[.subcomponent]"]);
}

#[test]
fn a_bad_to_path() {
    let b = broken("segments/PID-Patient.toml", "to = \"birthDate\"", "to = \"birth-date\"", "birth-date");
    expect_error(&b, &["`birth-date`", "not an element path"]);
}

#[test]
fn an_index_zero_in_a_to_path() {
    let b = broken(
        "segments/TXA-DocumentReference.toml",
        "from = \"TXA-16\"             # unique document file name\nto = \"content[1].attachment.title\"",
        "from = \"TXA-16\"             # unique document file name\nto = \"content[0].attachment.title\"",
        "content[0]",
    );
    expect_error(&b, &["`content[0].attachment.title`", "not an element path"]);
}

#[test]
fn an_unknown_as_type() {
    let b = broken(
        "segments/PID-Patient.toml",
        "as = \"date\"\nto = \"birthDate\"",
        "as = \"Date\"\nto = \"birthDate\"",
        "as = \"Date\"",
    );
    expect_error(&b, &["`as = \"Date\"`", "not a supported FHIR type"]);
}

#[test]
fn a_bad_path_in_a_condition_names_the_rule() {
    // Conditions keep no line of their own: the error names the rule's `to`.
    let b = broken(
        "segments/PID-Patient.toml",
        "when = { empty = \"PID-29\" }",
        "when = { empty = \"PID29\" }",
        "to = \"deceasedBoolean\"",
    );
    expect_error(&b, &["`PID29`", "SEG-field"]);
}

#[test]
fn an_unknown_role_in_a_reference() {
    let b = broken(
        "messages/PPR.toml",
        "map = \"PRB-Condition\"\nref = [{ to = \"subject\", role = \"patient\" }]",
        "map = \"PRB-Condition\"\nref = [{ to = \"subject\", role = \"patients\" }]",
        "role = \"patients\"",
    );
    expect_error(&b, &["no resource of this message has role `patients`"]);
}

#[test]
fn an_unknown_role_in_into() {
    let b = broken("messages/ORU.toml", "into = \"observation\"", "into = \"observations\"", "observations");
    expect_error(&b, &["no resource of this message has role `observations`"]);
}

#[test]
fn an_event_mapped_twice() {
    // ADT.toml (loaded first: files load in name order) maps ADT^A40 already.
    let b = broken("messages/PPR.toml", "events = [\"PPR^*\"]", "events = [\"PPR^*\", \"ADT^A40\"]", "ADT^A40");
    expect_error(&b, &["`ADT^A40` is mapped twice"]);
}

#[test]
fn an_event_without_a_trigger() {
    let b = broken("messages/PPR.toml", "events = [\"PPR^*\"]", "events = [\"PPR\"]", "\"PPR\"");
    expect_error(&b, &["`PPR`", "CODE^EVENT"]);
}

#[test]
fn a_segment_map_for_no_fhir_resource_type() {
    let b = broken("segments/PID-Patient.toml", "resource = \"Patient\"", "resource = \"Patients\"", "Patients");
    expect_error(&b, &["`Patients` is not an R4 resource type"]);
}

#[test]
fn a_message_using_a_map_for_another_segment() {
    let b = broken(
        "messages/PPR.toml",
        "segment = \"PRB\"\nmap = \"PRB-Condition\"",
        "segment = \"PRB\"\nmap = \"DG1-Condition\"",
        "segment = \"PRB\"",
    );
    expect_error(&b, &["map `DG1-Condition` is for DG1 segments"]);
}

#[test]
fn a_bad_concept_entry() {
    let b = broken("concepts/local-lab-example.toml", "to_code = \"625-4\"", "to_cod = \"625-4\"", "to_cod ");
    expect_error(&b, &["unknown field `to_cod`"]);
}

#[test]
fn a_missing_directory() {
    let error = Mappings::load(Path::new("/nonexistent/mappings")).expect_err("no directory");
    assert_eq!(error.line, None);
    assert!(error.reason.contains("no such directory"), "{error}");
}

#[test]
fn an_identity_repetition_chosen_by_a_whole_field_is_refused() {
    let broken = broken(
        "segments/PID-Patient.toml",
        r#"repetition = { path = "PID-3.5", prefer"#,
        r#"repetition = { path = "PID-3", prefer"#,
        r#"path = "PID-3""#,
    );
    expect_error(&broken, &["PID-3", "chosen by a component"]);
}

#[test]
fn a_join_onto_an_array_or_a_built_value_is_refused() {
    let onto_array = broken(
        "segments/OBX-Observation.toml",
        "type = \"XCN-Reference\"\nto = \"performer[]\"",
        "to = \"performer[]\"\njoin = \" \"",
        "to = \"performer[]\"",
    );
    expect_error(&onto_array, &["join", "[]"]);
    let built = broken(
        "segments/ORC-ServiceRequest.toml",
        "type = \"XCN-Reference\"\nto = \"requester\"",
        "type = \"XCN-Reference\"\nto = \"requester\"\njoin = \" \"",
        "to = \"requester\"",
    );
    expect_error(&built, &["join", "text value"]);
}
