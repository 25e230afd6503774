//! Messages the mapper must refuse rather than map to less than they claim: a message without a
//! segment its structure requires, a message that makes no resource, text with control
//! characters that FHIR strings may not hold; and the bound on data type maps used within one
//! another, which keeps the mapper's recursion off the end of the stack.

mod common;

use std::path::Path;

use common::{mappings, mappings_dir, HashIds};
use hl7v2_fhir::{MapError, Mappings};

fn map(text: &str) -> Result<usize, MapError> {
    let message = hl7v2::Message::parse(text).expect("the message parses");
    mappings().map(&message, &HashIds).map(|m| m.resources.len())
}

fn missing(text: &str) -> String {
    match map(text) {
        Err(MapError::MissingSegment { segment, .. }) => segment,
        other => panic!("expected a missing segment, got {other:?}"),
    }
}

const ADT_MSH: &str = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A01^ADT_A01|C-1|P|2.5.1\r";
const ORU_MSH: &str = "MSH|^~\\&|LAB|FAC|BRIDGE|HOSP|20240101||ORU^R01^ORU_R01|C-2|P|2.5.1\r";

#[test]
fn a_message_without_a_segment_its_structure_requires_is_refused_naming_it() {
    assert_eq!(missing(ADT_MSH), "PID");
    assert_eq!(missing(&format!("{ADT_MSH}EVN|A01|20240101\r")), "PID");
    assert_eq!(missing(ORU_MSH), "OBR");
    // A patient, but no result: an ORU_R01 requires the OBR of each order observation.
    assert_eq!(missing(&format!("{ORU_MSH}PID|1||MRN-1^^^FAC^MR||DOE^JANE\r")), "OBR");
    let merge = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ADT^A40^ADT_A39|C-3|P|2.5.1\rEVN|A40\r\
                 PID|1||MRN-1^^^FAC^MR||DOE^JANE\r";
    assert_eq!(missing(merge), "MRG");
    let error = map(ADT_MSH).expect_err("refused");
    assert_eq!(error.to_string(), "PID: required segment missing (message structure ADT)");

    // With what it requires, it maps.
    assert_eq!(map(&format!("{ADT_MSH}EVN|A01|20240101\rPID|1||MRN-1^^^FAC^MR||DOE^JANE\r")), Ok(1));
}

#[test]
fn a_message_that_makes_no_resource_is_refused() {
    // ORM requires no segment (the patient group is optional), but a bare note makes nothing.
    let order = "MSH|^~\\&|APP|FAC|BRIDGE|HOSP|20240101||ORM^O01^ORM_O01|C-4|P|2.5.1\rNTE|1||a note\r";
    assert_eq!(map(order), Err(MapError::NoResources));
}

#[test]
fn control_characters_from_escapes_or_raw_bytes_are_refused_naming_the_field_not_the_value() {
    let with_name = |name: &str| format!("{ADT_MSH}PID|1||MRN-1^^^FAC^MR||{name}\r");
    for name in ["SECRET\\X00\\NAME^JANE", "DOE^SECRET\\X0001\\", "DOE^JA&SECRET\\X1B\\", "SECRET\u{1}NAME^JANE"] {
        let error = map(&with_name(name)).expect_err(name);
        assert!(matches!(&error, MapError::Value { location, .. } if location == "PID-5"), "{name}: {error:?}");
        let text = error.to_string();
        assert!(text.starts_with("PID-5: control character"), "{text}");
        assert!(!text.contains("SECRET"), "the value is not quoted: {text}");
    }
    // Tab, CR and LF are allowed in FHIR strings, and so in names made of hex escapes.
    assert_eq!(map(&with_name("DOE\\X09\\SMITH^JANE\\X0D0A\\")), Ok(1));
    // A control character in a field no rule reads does not refuse the message.
    assert_eq!(map(&format!("{ADT_MSH}PID|1||MRN-1^^^FAC^MR||DOE^JANE\rZZZ|\\X00\\\r")), Ok(1));
}

/// A copy of the shipped mappings plus `extra` data type maps (file name, text).
fn mappings_with(extra: &[(&str, String)]) -> (tempfile::TempDir, Result<Mappings, hl7v2_fhir::MappingError>) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&mappings_dir(), dir.path());
    for (name, text) in extra {
        std::fs::write(dir.path().join("datatypes").join(name), text).expect("write");
    }
    let loaded = Mappings::load(dir.path());
    (dir, loaded)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Data type map `N{level}` for `levels` levels: each uses the next, the last one makes text.
fn chain(levels: usize) -> Vec<(String, String)> {
    (1..=levels)
        .map(|level| {
            let rule = if level < levels {
                format!("[[map]]\nfrom = \"1\"\ntype = \"N{}\"\nto = \"extension[]\"\n", level + 1)
            } else {
                "[[map]]\nfrom = \"1\"\nto = \"valueString\"\n".to_owned()
            };
            (format!("N{level}.toml"), format!("datatype = \"ST\"\nfhir = \"Extension\"\n{rule}"))
        })
        .collect()
}

#[test]
fn data_type_maps_that_nest_too_deeply_or_use_themselves_do_not_load() {
    let own = "datatype = \"CX\"\nfhir = \"Identifier\"\n[[map]]\nfrom = \"1\"\ntype = \"Loop\"\nto = \"assigner.identifier\"\n";
    let (_dir, loaded) = mappings_with(&[("Loop.toml", own.to_owned())]);
    let error = loaded.expect_err("a data type map that uses itself is refused");
    assert!(error.to_string().contains("nest deeper than 4"), "{error}");

    let five = chain(5);
    let too_deep: Vec<(&str, String)> = five.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let (_dir, loaded) = mappings_with(&too_deep);
    assert!(loaded.is_err(), "five levels are over the limit");
    let four = chain(4);
    let deepest: Vec<(&str, String)> = four.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let (_dir, loaded) = mappings_with(&deepest);
    loaded.expect("four levels load");
}

#[test]
fn a_hostile_message_maps_on_a_small_stack() {
    // Thousands of repetitions, components and escape sequences in the fields the mappings read:
    // the mapper's work grows with them, its stack does not.
    let names: Vec<String> = (0..2000).map(|i| format!("DOE\\T\\{i}^JANE^\\XC3A9\\&x&y")).collect();
    let text = format!("{ADT_MSH}EVN|A01\rPID|1||MRN-1^^^FAC^MR||{}||19700101|F\r", names.join("~"));
    let mappings = mappings();
    let mapped = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let message = hl7v2::Message::parse(&text).expect("parses");
            mappings.map(&message, &HashIds).map(|m| m.resources.len())
        })
        .expect("thread")
        .join()
        .expect("no stack overflow");
    assert_eq!(mapped, Ok(1));
}
