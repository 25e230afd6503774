//! Idempotency: the same input twice adds nothing; changed content adds a version, old ones stay.

use serde_json::Value;

use crate::require_data;
use crate::support::{bridge, files_under, read, strip_meta, summary, temp_dir, version_id};

/// The first Patient of the first Synthea file, with its id.
pub fn first_synthea_patient(synthea: &std::path::Path) -> Value {
    for file in files_under(synthea) {
        let bundle: Value = serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("JSON");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            if entry["resource"]["resourceType"] == "Patient" {
                let mut patient = entry["resource"].clone();
                if patient.get("id").is_none() {
                    let uuid = entry["fullUrl"].as_str().and_then(|u| u.strip_prefix("urn:uuid:")).expect("fullUrl");
                    patient["id"] = uuid.into();
                }
                return patient;
            }
        }
    }
    panic!("no Patient in {}", synthea.display());
}

#[test]
fn ingesting_twice_adds_nothing_and_a_change_adds_a_version() {
    let root = require_data!();
    let synthea = root.join("synthea");
    let data = temp_dir();

    let first = bridge(data.path(), ["ingest".as_ref(), synthea.as_os_str()]).expect_code(0, "first ingest");
    let first = summary(&first.stderr);
    assert!(first.accepted > 0 && first.rejected == 0, "{first:?}");

    let second = bridge(data.path(), ["ingest".as_ref(), synthea.as_os_str()]).expect_code(0, "second ingest");
    let second = summary(&second.stderr);
    eprintln!("idempotency: first {first:?}, second {second:?}");
    assert_eq!(second.accepted, 0, "{second:?}");
    assert_eq!(second.rejected, 0, "{second:?}");
    assert_eq!(second.resources, first.resources, "{second:?}");
    assert_eq!(second.duplicates, second.resources, "{second:?}");

    let original = first_synthea_patient(&synthea);
    let id = original["id"].as_str().expect("id").to_owned();
    let reference = format!("Patient/{id}");
    let before = read(data.path(), &reference, None);
    let v1 = version_id(&before).to_owned();

    let mut changed = original.clone();
    changed["birthDate"] = "1901-02-03".into();
    changed["active"] = false.into();
    assert_ne!(changed, original);
    let input = temp_dir();
    let file = input.path().join("changed-patient.json");
    std::fs::write(&file, serde_json::to_vec(&changed).expect("json")).expect("write");
    let third = bridge(data.path(), ["ingest".as_ref(), file.as_os_str()]).expect_code(0, "ingest of the change");
    let third = summary(&third.stderr);
    assert_eq!((third.accepted, third.duplicates, third.rejected), (1, 0, 0), "{third:?}");

    let mut latest = read(data.path(), &reference, None);
    assert_eq!(v1, "1", "the first version of {reference}");
    assert_eq!(version_id(&latest), "2", "{latest}");
    strip_meta(&mut latest);
    let mut want = changed.clone();
    strip_meta(&mut want);
    assert_eq!(latest, want, "latest version of {reference}");

    let mut old = read(data.path(), &reference, Some(1));
    assert_eq!(version_id(&old), "1", "{old}");
    strip_meta(&mut old);
    let mut want = original.clone();
    strip_meta(&mut want);
    assert_eq!(old, want, "version 1 of {reference}");
}
