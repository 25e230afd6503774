//! Bulk Data `$export` over real HTTP: kick-off with `Prefer: respond-async` (202 and
//! `Content-Location`), polling to the manifest, NDJSON files decrypted as they stream, only to
//! the client that asked; system, Patient and Group level; `_type` and `_since`; cancel; every
//! exported resource an `Access` record under its patient; nothing in clear on disk.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fhir_rest::{call, Reply, FHIR};
use crate::server::Bridge;
use crate::support::{temp_dir, DEV_TOKEN};

const OTHER_TOKEN: &str = "e2e-other-client-token-0123456789";
/// The same client as DEV_TOKEN, with a token that may search and read Observations only.
const NARROW_TOKEN: &str = "e2e-narrow-token-0123456789abcdef";
/// A client that may read Patients by id, not search them.
const READ_ONLY_TOKEN: &str = "e2e-read-only-token-0123456789abc";

fn as_other(method: &str, url: &str) -> u16 {
    as_token(OTHER_TOKEN, method, url).0
}

fn as_token(token: &str, method: &str, url: &str) -> (u16, String) {
    let request =
        ureq::request(method, url).set("Authorization", &format!("Bearer {token}")).set("Prefer", "respond-async");
    match request.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// Kicks off `url` and polls until the manifest.
fn export(url: &str) -> (String, Value) {
    let kick = call("GET", url, &[("Prefer", "respond-async"), ("Accept", "application/fhir+json")], None);
    assert_eq!(kick.status, 202, "{url}: {}", kick.body);
    let status_url = header(&kick, "content-location");
    let started = Instant::now();
    loop {
        let polled = call("GET", &status_url, &[], None);
        match polled.status {
            200 => return (status_url, polled.json()),
            202 => assert!(header(&polled, "retry-after").parse::<u64>().is_ok(), "Retry-After while running"),
            other => panic!("polling {status_url}: {other} {}", polled.body),
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the export did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn header(reply: &Reply, name: &str) -> String {
    reply.header(name).unwrap_or_else(|| panic!("no {name}")).to_owned()
}

/// Every resource of the manifest's files, as (type, id).
fn download(manifest: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for output in manifest["output"].as_array().expect("output") {
        let file = call("GET", output["url"].as_str().unwrap(), &[], None);
        assert_eq!(file.status, 200, "{}", file.body);
        assert_eq!(header(&file, "content-type"), "application/fhir+ndjson");
        let lines: Vec<Value> = file.body.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
        // Fewer only when some were deleted since the kick-off.
        assert!(lines.len() as u64 <= output["count"].as_u64().unwrap(), "{output}");
        for line in lines {
            assert_eq!(line["resourceType"], output["type"]);
            found.insert((line["resourceType"].as_str().unwrap().to_owned(), line["id"].as_str().unwrap().to_owned()));
        }
    }
    found
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter().map(|(t, i)| ((*t).to_owned(), (*i).to_owned())).collect()
}

#[test]
fn bulk_data_export_runs_as_the_ig_says_for_its_client_only() {
    let data = temp_dir();
    let tokens = format!(
        r#"[{{ token = "{DEV_TOKEN}", client_id = "e2e", scopes = ["system/*.cruds", "bridge/ledger.read"] }}, {{ token = "{OTHER_TOKEN}", client_id = "other", scopes = ["system/*.rs"] }}, {{ token = "{NARROW_TOKEN}", client_id = "e2e", scopes = ["system/Observation.rs"] }}, {{ token = "{READ_ONLY_TOKEN}", client_id = "reader", scopes = ["system/Patient.r"] }}]"#
    );
    let env = [("FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS".to_owned(), tokens)];
    let mut bridge = Bridge::start_with(data.path(), &[], &env, &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let mut entries = Vec::new();
    for patient in ["bx1", "bx2"] {
        entries
            .push(json!({"resource": {"resourceType": "Patient", "id": patient, "name": [{"family": "Exportsecret"}]},
            "request": {"method": "PUT", "url": format!("Patient/{patient}")}}));
        entries.push(
            json!({"resource": {"resourceType": "Observation", "id": format!("{patient}-o"), "status": "final",
            "code": {"text": "x"}, "subject": {"reference": format!("Patient/{patient}")}},
            "request": {"method": "PUT", "url": format!("Observation/{patient}-o")}}),
        );
    }
    entries.push(json!({"resource": {"resourceType": "Organization", "id": "bx-org", "name": "Ward"},
        "request": {"method": "PUT", "url": "Organization/bx-org"}}));
    entries.push(json!({"resource": {"resourceType": "Group", "id": "bx-group", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/bx2"}}]}, "request": {"method": "PUT", "url": "Group/bx-group"}}));
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    assert_eq!(call("POST", &base, &[FHIR], Some(&bundle.to_string())).status, 200);

    // Without Prefer: respond-async, refused; an unknown type or parameter too.
    assert_eq!(call("GET", &format!("{base}/$export"), &[], None).status, 400);
    for refused in ["_type=Nonsense", "_typeFilter=Patient%3Factive%3Dtrue", "_outputFormat=text/csv"] {
        let reply = call("GET", &format!("{base}/$export?{refused}"), &[("Prefer", "respond-async")], None);
        assert_eq!(reply.status, 400, "{refused}: {}", reply.body);
    }

    // System level, two types.
    let (status_url, manifest) = export(&format!("{base}/$export?_type=Patient,Observation"));
    assert_eq!(manifest["requiresAccessToken"], true);
    assert!(manifest["transactionTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{manifest:#}");
    assert!(manifest["request"].as_str().unwrap().ends_with("/$export?_type=Patient,Observation"), "{manifest:#}");
    let all = pairs(&[("Observation", "bx1-o"), ("Observation", "bx2-o"), ("Patient", "bx1"), ("Patient", "bx2")]);
    assert_eq!(download(&manifest), all);
    let counted: u64 = manifest["output"].as_array().unwrap().iter().map(|o| o["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 4, "{manifest:#}");
    // Another client sees neither the job nor its files; a token of the same client with fewer
    // scopes sees only the files of the types it may search and read.
    assert_eq!(as_other("GET", &status_url), 404);
    assert_eq!(as_other("GET", manifest["output"][0]["url"].as_str().unwrap()), 404);
    let (status, narrow) = as_token(NARROW_TOKEN, "GET", &status_url);
    assert_eq!(status, 200, "{narrow}");
    let narrow: Value = serde_json::from_str(&narrow).unwrap();
    let types: Vec<&str> = narrow["output"].as_array().unwrap().iter().map(|o| o["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Observation"], "{narrow:#}");
    let patient_file = manifest["output"].as_array().unwrap().iter().find(|o| o["type"] == "Patient").unwrap();
    assert_eq!(as_token(NARROW_TOKEN, "GET", patient_file["url"].as_str().unwrap()).0, 404);
    // Reading by id is not searching: a read-only token cannot export.
    assert_eq!(as_token(READ_ONLY_TOKEN, "GET", &format!("{base}/$export?_type=Patient")).0, 403);
    // _since is an instant, not a date.
    assert_eq!(
        call("GET", &format!("{base}/$export?_since=2026-01-01"), &[("Prefer", "respond-async")], None).status,
        400
    );

    // Patient level: every patient's records (a Group of one patient is in that patient's
    // compartment), not the Organization; Group level: its member's.
    let (_, everyone) = export(&format!("{base}/Patient/$export"));
    let mut compartments = all.clone();
    compartments.insert(("Group".to_owned(), "bx-group".to_owned()));
    assert_eq!(download(&everyone), compartments);
    let (_, group) = export(&format!("{base}/Group/bx-group/$export"));
    assert_eq!(download(&group), pairs(&[("Group", "bx-group"), ("Observation", "bx2-o"), ("Patient", "bx2")]));
    let (_, system) = export(&format!("{base}/$export"));
    assert!(download(&system).contains(&("Organization".to_owned(), "bx-org".to_owned())));

    // _since: only what changed after the last export's transactionTime.
    std::thread::sleep(Duration::from_millis(20));
    let changed = json!({"resourceType": "Patient", "id": "bx1", "active": true, "name": [{"family": "Exportsecret"}]});
    assert_eq!(call("PUT", &format!("{base}/Patient/bx1"), &[FHIR], Some(&changed.to_string())).status, 200);
    let since = manifest["transactionTime"].as_str().unwrap();
    let (_, later) = export(&format!("{base}/Patient/$export?_since={since}"));
    assert_eq!(download(&later), pairs(&[("Patient", "bx1")]));

    // A resource deleted after the kick-off is not sent any more.
    let (_, before_delete) = export(&format!("{base}/$export?_type=Observation"));
    assert_eq!(call("DELETE", &format!("{base}/Observation/bx2-o"), &[], None).status, 200);
    assert_eq!(download(&before_delete), pairs(&[("Observation", "bx1-o")]));

    // Cancel: the job is gone.
    let kick = call("GET", &format!("{base}/$export"), &[("Prefer", "respond-async")], None);
    let cancel_url = header(&kick, "content-location");
    assert_eq!(call("DELETE", &cancel_url, &[], None).status, 202);
    assert_eq!(call("GET", &cancel_url, &[], None).status, 404);

    // Every exported resource is an Access record under its patient.
    let records = bridge.ledger_records();
    let exports: Vec<&Value> = records.iter().filter(|r| r["kind"] == "Access" && r["action"] == "export").collect();
    assert!(exports.iter().filter(|r| r["patient"].is_string()).count() >= 4, "{exports:#?}");
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));

    // Nothing exported was written anywhere in clear.
    for file in crate::support::files_under(data.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!bytes.windows(12).any(|w| w == b"Exportsecret"), "in clear in {}", file.display());
    }
}
