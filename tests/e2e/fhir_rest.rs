//! FHIR REST interactions as clients rely on them, over real HTTP: `Prefer: return=`, absolute
//! `Location`, `ETag` and `Last-Modified`, the ledger receipt in headers, `If-Match` (412),
//! `If-None-Match` (304), 410 for a deleted resource, JSON Patch, instance, type and system
//! `_history` with paging, search over the blind index, conditional create, update and delete,
//! scopes, hosts and `_count=0` at the edges, and clear refusals (405, 415, what is not offered).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::server::Bridge;
use crate::support::{temp_dir, DEV_TOKEN};

pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: BTreeMap<String, String>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

pub(crate) fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Reply {
    let mut request = ureq::request(method, url)
        .timeout(Duration::from_secs(30))
        .set("Authorization", &format!("Bearer {DEV_TOKEN}"));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(body) => request.send_string(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|name| Some((name.to_ascii_lowercase(), response.header(&name)?.to_owned())))
        .collect();
    Reply { status: response.status(), headers, body: response.into_string().unwrap_or_default() }
}

pub(crate) const FHIR: (&str, &str) = ("Content-Type", "application/fhir+json");

#[test]
fn fhir_rest_interactions_answer_as_fhir_servers_do() {
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let patient = json!({"resourceType": "Patient", "id": "rest-1", "name": [{"family": "Rest"}]}).to_string();

    // Create: the resource, an absolute Location, ETag, Last-Modified, the receipt in headers.
    let created = call("POST", &format!("{base}/Patient"), &[FHIR], Some(&patient));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("Location"), Some(format!("{base}/Patient/rest-1/_history/1").as_str()));
    assert_eq!(created.header("ETag"), Some("W/\"1\""));
    assert!(created.header("Last-Modified").is_some_and(|d| d.ends_with(" GMT")), "{:?}", created.headers);
    assert!(created.header("X-Ledger-Seq").is_some_and(|s| s.parse::<u64>().is_ok()), "{:?}", created.headers);
    assert!(created.header("X-Ledger-Cid").is_some(), "{:?}", created.headers);
    let body = created.json();
    assert_eq!((body["resourceType"].as_str(), body["meta"]["versionId"].as_str()), (Some("Patient"), Some("1")));
    assert!(body.get("seq").is_none() && body.get("cid").is_none(), "no receipt in the body: {body}");

    // `application/json` is FHIR JSON too; return=minimal has no body; return=OperationOutcome one.
    let changed = json!({"resourceType": "Patient", "id": "rest-1", "name": [{"family": "Rest", "given": ["A"]}]});
    let minimal = call(
        "PUT",
        &format!("{base}/Patient/rest-1"),
        &[("Content-Type", "application/json"), ("Prefer", "return=minimal")],
        Some(&changed.to_string()),
    );
    assert_eq!((minimal.status, minimal.body.as_str()), (200, ""), "{:?}", minimal.headers);
    assert_eq!(minimal.header("ETag"), Some("W/\"2\""));
    let mut third = changed.clone();
    third["gender"] = json!("other");
    let outcome = call(
        "PUT",
        &format!("{base}/Patient/rest-1"),
        &[FHIR, ("Prefer", "return=OperationOutcome"), ("If-Match", "W/\"2\"")],
        Some(&third.to_string()),
    );
    assert_eq!(outcome.status, 200, "{}", outcome.body);
    assert_eq!(outcome.json()["resourceType"], "OperationOutcome");
    assert_eq!(outcome.header("ETag"), Some("W/\"3\""));

    // If-Match on a stale version: 412, and nothing written.
    let mut stale = third.clone();
    stale["gender"] = json!("female");
    let refused =
        call("PUT", &format!("{base}/Patient/rest-1"), &[FHIR, ("If-Match", "W/\"2\"")], Some(&stale.to_string()));
    assert_eq!(refused.status, 412, "{}", refused.body);
    assert_eq!(refused.json()["issue"][0]["code"], "conflict");
    let read = call("GET", &format!("{base}/Patient/rest-1"), &[], None);
    assert_eq!((read.status, read.json()["gender"].as_str()), (200, Some("other")), "{}", read.body);
    assert_eq!(read.header("ETag"), Some("W/\"3\""));
    assert!(read.header("Last-Modified").is_some());
    // If-None-Match with the current version: 304 without a body; with an old one: the resource.
    let same = call("GET", &format!("{base}/Patient/rest-1"), &[("If-None-Match", "W/\"3\"")], None);
    assert_eq!((same.status, same.body.as_str()), (304, ""));
    let newer = call("GET", &format!("{base}/Patient/rest-1"), &[("If-None-Match", "W/\"2\"")], None);
    assert_eq!(newer.status, 200);

    // JSON Patch: applied to the current version, answered as the next one.
    let operations = json!([{"op": "replace", "path": "/gender", "value": "unknown"}, {"op": "add", "path": "/active", "value": true}]);
    let patched = call(
        "PATCH",
        &format!("{base}/Patient/rest-1"),
        &[("Content-Type", "application/json-patch+json")],
        Some(&operations.to_string()),
    );
    assert_eq!(patched.status, 200, "{}", patched.body);
    let patched_body = patched.json();
    assert_eq!(
        (patched_body["gender"].as_str(), patched_body["active"].as_bool(), patched_body["meta"]["versionId"].as_str()),
        (Some("unknown"), Some(true), Some("4"))
    );
    let stale_patch = call(
        "PATCH",
        &format!("{base}/Patient/rest-1"),
        &[("Content-Type", "application/json-patch+json"), ("If-Match", "W/\"3\"")],
        Some(&operations.to_string()),
    );
    assert_eq!(stale_patch.status, 412, "{}", stale_patch.body);
    let id_change = json!([{"op": "replace", "path": "/id", "value": "other"}]).to_string();
    let renamed = call(
        "PATCH",
        &format!("{base}/Patient/rest-1"),
        &[("Content-Type", "application/json-patch+json")],
        Some(&id_change),
    );
    assert_eq!(renamed.status, 422, "{}", renamed.body);
    let invalid = json!([{"op": "replace", "path": "/gender", "value": 7}]).to_string();
    let invalid = call(
        "PATCH",
        &format!("{base}/Patient/rest-1"),
        &[("Content-Type", "application/json-patch+json")],
        Some(&invalid),
    );
    assert_eq!(invalid.status, 400, "a patch that makes the resource invalid: {}", invalid.body);
    assert_eq!(invalid.json()["issue"][0]["expression"][0], "Patient.gender", "{}", invalid.body);
    let wrong_type = call("PATCH", &format!("{base}/Patient/rest-1"), &[("Content-Type", "text/plain")], Some("x"));
    assert_eq!(wrong_type.status, 415, "{}", wrong_type.body);

    // Delete: then 410, and its history shows the delete as an entry without a resource.
    let deleted = call("DELETE", &format!("{base}/Patient/rest-1"), &[], None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.header("ETag"), Some("W/\"5\""));
    let gone = call("GET", &format!("{base}/Patient/rest-1"), &[], None);
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert_eq!(gone.json()["resourceType"], "OperationOutcome");
    let history = call("GET", &format!("{base}/Patient/rest-1/_history"), &[], None);
    assert_eq!(history.status, 200, "{}", history.body);
    let history = history.json();
    assert_eq!((history["type"].as_str(), history["total"].as_u64()), (Some("history"), Some(5)), "{history:#}");
    let entries = history["entry"].as_array().unwrap();
    let versions: Vec<&str> = entries.iter().map(|e| e["response"]["etag"].as_str().unwrap()).collect();
    assert_eq!(versions, ["W/\"5\"", "W/\"4\"", "W/\"3\"", "W/\"2\"", "W/\"1\""]);
    assert!(entries[0].get("resource").is_none(), "a delete has no resource: {:#}", entries[0]);
    assert_eq!(entries[0]["request"]["method"], "DELETE");
    assert_eq!(entries[0]["fullUrl"], format!("{base}/Patient/rest-1"));
    assert_eq!(entries[4]["resource"]["name"][0]["family"], "Rest");

    // Paging: _count 2 gives absolute next links that keep every parameter, to the end.
    for index in 0..3 {
        let other = json!({"resourceType": "Patient", "id": format!("rest-page-{index}")}).to_string();
        assert_eq!(call("POST", &format!("{base}/Patient"), &[FHIR], Some(&other)).status, 201);
    }
    let observation = json!({"resourceType": "Observation", "id": "rest-o1", "status": "final", "code": {"text": "x"}});
    assert_eq!(call("POST", &format!("{base}/Observation"), &[FHIR], Some(&observation.to_string())).status, 201);
    let mut url = format!("{base}/Patient/_history?_count=2&_since=2000-01-01");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = call("GET", &url, &[], None);
        assert_eq!(page.status, 200, "{url}: {}", page.body);
        let page = page.json();
        pages += 1;
        for entry in page["entry"].as_array().unwrap() {
            assert!(entry["fullUrl"].as_str().unwrap().starts_with(&format!("{base}/Patient/")), "{entry}");
            seen.push(entry["response"]["etag"].as_str().unwrap().to_owned() + entry["fullUrl"].as_str().unwrap());
        }
        // A write between pages does not move what the next page shows.
        if pages == 1 {
            let late = json!({"resourceType": "Patient", "id": "rest-late"}).to_string();
            assert_eq!(call("POST", &format!("{base}/Patient"), &[FHIR], Some(&late)).status, 201);
        }
        let next = page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").cloned();
        match next {
            Some(next) => {
                url = next["url"].as_str().unwrap().to_owned();
                assert!(url.starts_with(&base) && url.contains("_count=2") && url.contains("_since="), "{url}");
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "5 versions of rest-1 and 3 other patients, each once: {seen:#?}");
    assert!(!seen.iter().any(|s| s.ends_with("rest-late")), "{seen:#?}");
    let system = call("GET", &format!("{base}/_history?_count=100"), &[], None).json();
    let types: Vec<&str> =
        system["entry"].as_array().unwrap().iter().filter_map(|e| e["request"]["url"].as_str()).collect();
    assert!(types.contains(&"Observation") && types.contains(&"Patient"), "{types:?}");
    let observations = call("GET", &format!("{base}/Observation/_history"), &[], None).json();
    assert_eq!(observations["entry"].as_array().map(Vec::len), Some(1), "{observations:#}");

    // Refusals that say what is not done, rather than doing something else.
    let xml = call("GET", &format!("{base}/Patient/rest-page-0?_format=xml"), &[], None);
    assert_eq!(xml.status, 415, "{}", xml.body);
    let json_format = call("GET", &format!("{base}/Patient/rest-page-0?_format=json"), &[], None);
    assert_eq!(json_format.status, 200, "{}", json_format.body);
    let method = call("POST", &format!("{base}/Patient/rest-page-0"), &[FHIR], Some(&patient));
    assert_eq!(method.status, 405, "{}", method.body);
    assert_eq!(method.json()["resourceType"], "OperationOutcome");
    let bad_etag = call("PUT", &format!("{base}/Patient/rest-page-0"), &[FHIR, ("If-Match", "soon")], Some(&patient));
    assert_eq!(bad_etag.status, 400, "{}", bad_etag.body);

    // Discovery, without a token: SMART's configuration and the CapabilityStatement's oauth-uris
    // name the token endpoint the server serves.
    let anonymous = |path: &str| {
        let response = ureq::get(&format!("{base}{path}")).call().unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str::<Value>(&response.into_string().unwrap()).unwrap()
    };
    let smart = anonymous("/.well-known/smart-configuration");
    let token_url = smart["token_endpoint"].as_str().expect("token_endpoint").to_owned();
    assert!(token_url.ends_with("/auth/token"), "{smart:#}");
    assert_eq!(smart["grant_types_supported"], json!(["client_credentials"]));
    assert!(smart["token_endpoint_auth_signing_alg_values_supported"].as_array().unwrap().contains(&json!("ES384")));
    let capability = anonymous("/metadata");
    let security = &capability["rest"][0]["security"];
    assert_eq!(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR", "{capability:#}");
    assert_eq!(security["extension"][0]["extension"][0]["valueUri"], json!(token_url), "{capability:#}");
    // Per type, exactly what is searched: Patient's name and birthdate, not its quantity-less
    // composite or special parameters.
    let resources = capability["rest"][0]["resource"].as_array().expect("rest.resource");
    assert_eq!(resources.len(), fhir_models::RESOURCE_TYPES.len());
    let patient = resources.iter().find(|r| r["type"] == "Patient").expect("Patient");
    let names: Vec<&str> =
        patient["searchParam"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
    for expected in ["_id", "_lastUpdated", "identifier", "name", "birthdate", "general-practitioner", "_tag"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    let observation = resources.iter().find(|r| r["type"] == "Observation").expect("Observation");
    assert!(!observation["searchParam"].to_string().contains("value-quantity"), "quantities are not searched");
    let unauthenticated = ureq::get(&format!("{base}/Patient/rest-page-0")).call();
    let Err(ureq::Error::Status(401, response)) = unauthenticated else { panic!("no 401 without a token") };
    assert!(response.header("WWW-Authenticate").is_some_and(|c| c.starts_with("Bearer")), "a Bearer challenge");

    // Every history page read is on the ledger as an access.
    let records = bridge.ledger_records();
    assert!(records.iter().any(|r| r["kind"] == "Access" && r["action"] == "history"), "history reads are audited");
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}

pub(crate) fn bundle_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn fhir_search_by_the_official_parameters_over_the_blind_index() {
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let post = |resource: Value| {
        let reply = call(
            "POST",
            &format!("{base}/{}", resource["resourceType"].as_str().unwrap()),
            &[FHIR],
            Some(&resource.to_string()),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    };
    let search = |query: &str| {
        let reply = call("GET", &format!("{base}/{query}"), &[], None);
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        reply.json()
    };
    for (id, mrn) in [("s1", "MRN-SECRET-4711"), ("s2", "MRN-2"), ("s3", "MRN-3")] {
        post(json!({"resourceType": "Patient", "id": id, "gender": "female",
            "identifier": [{"system": "urn:oid:1.2.3", "value": mrn}]}));
    }
    for (id, patient, code) in [("o1", "s1", "8867-4"), ("o2", "s1", "9279-1"), ("o3", "s2", "8867-4")] {
        post(json!({"resourceType": "Observation", "id": id, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": format!("Patient/{patient}")}}));
    }

    // Tokens in every form, references by Type/id and by id, _id, AND and OR.
    assert_eq!(bundle_ids(&search("Patient?identifier=urn:oid:1.2.3|MRN-SECRET-4711")), ["s1"]);
    assert_eq!(bundle_ids(&search("Patient?identifier=MRN-2")), ["s2"]);
    assert_eq!(bundle_ids(&search("Patient?identifier=urn:oid:9.9|MRN-2")), Vec::<String>::new());
    let by_system = search("Patient?identifier=urn:oid:1.2.3|");
    assert_eq!(by_system["total"], 3, "{by_system:#}");
    assert_eq!(bundle_ids(&search("Patient?identifier=MRN-2,MRN-3&_id=s3")), ["s3"]);
    assert_eq!(bundle_ids(&search("Observation?code=http://loinc.org|8867-4&subject=Patient/s1")), ["o1"]);
    let mut heart = bundle_ids(&search("Observation?code=8867-4"));
    heart.sort();
    assert_eq!(heart, ["o1", "o3"]);
    assert_eq!(bundle_ids(&search("Observation?patient=s1&code=9279-1")), ["o2"]);
    let links = search("Observation?subject=s2")["entry"][0]["fullUrl"].clone();
    assert_eq!(links, json!(format!("{base}/Observation/o3")));

    // A new version is found by its new values only; a deleted resource by none.
    let changed =
        json!({"resourceType": "Patient", "id": "s2", "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN-2B"}]});
    assert_eq!(call("PUT", &format!("{base}/Patient/s2"), &[FHIR], Some(&changed.to_string())).status, 200);
    assert!(bundle_ids(&search("Patient?identifier=MRN-2")).is_empty());
    assert_eq!(bundle_ids(&search("Patient?identifier=MRN-2B")), ["s2"]);
    assert_eq!(call("DELETE", &format!("{base}/Patient/s3"), &[], None).status, 200);
    assert!(bundle_ids(&search("Patient?identifier=MRN-3")).is_empty());

    // Paging: total, absolute next links with every parameter, a stable cursor.
    let first = search("Patient?identifier=urn:oid:1.2.3|&_count=1");
    assert_eq!((first["total"].as_u64(), bundle_ids(&first).len()), (Some(2), 1), "{first:#}");
    let next = first["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").expect("a next link");
    let next = next["url"].as_str().unwrap();
    assert!(
        next.starts_with(&base) && next.contains("identifier=urn%3Aoid%3A1.2.3%7C") && next.contains("_count=1"),
        "{next}"
    );
    let second = call("GET", next, &[], None).json();
    let mut both = [bundle_ids(&first), bundle_ids(&second)].concat();
    both.sort();
    assert_eq!(both, ["s1", "s2"]);
    assert!(second["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"), "{second:#}");

    // Unknown parameters are ignored and said so, or refused under handling=strict; what is
    // not offered is refused by name.
    let lenient = search("Patient?identifier=MRN-2B&nickname=x");
    assert_eq!(bundle_ids(&lenient), ["s2"]);
    assert!(lenient.to_string().contains("nickname is not a search parameter"), "{lenient:#}");
    let strict =
        call("GET", &format!("{base}/Patient?identifier=MRN-2B&nickname=x"), &[("Prefer", "handling=strict")], None);
    assert_eq!(strict.status, 400, "{}", strict.body);
    for refused in
        ["Patient?family:contains=x", "Patient?identifier:not=x", "Patient?identifier=x&_sort=name", "Patient?_count=3"]
    {
        let reply = call("GET", &format!("{base}/{refused}"), &[], None);
        assert_eq!(reply.status, 400, "{refused}: {}", reply.body);
        assert_eq!(reply.json()["issue"][0]["code"], "not-supported", "{refused}: {}", reply.body);
    }
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));

    // The index holds no value in clear.
    for file in crate::support::files_under(data.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(15).any(|w| w == b"MRN-SECRET-4711"),
            "the identifier is in clear in {}",
            file.display()
        );
    }

    // A data dir whose index is of the format before search terms is rebuilt on open, terms too.
    {
        let db = sled::open(node_store::database_dir(data.path())).unwrap();
        let index = db.open_tree("index").unwrap();
        let terms: Vec<_> = index.scan_prefix(b"S").keys().map(Result::unwrap).collect();
        assert!(!terms.is_empty(), "search terms are indexed");
        for key in terms {
            index.remove(key).unwrap();
        }
        index.insert(b"V", &3u32.to_be_bytes()).unwrap();
        db.flush().unwrap();
    }
    let mut reopened = Bridge::start(data.path(), &[], &data.path().join("serve-2.log"));
    reopened.wait_healthy(Duration::from_secs(30));
    let base = format!("{}/fhir", reopened.base());
    let found = call("GET", &format!("{base}/Patient?identifier=MRN-SECRET-4711"), &[], None).json();
    assert_eq!(bundle_ids(&found), ["s1"], "after the rebuild: {found:#}");
    assert_eq!(reopened.terminate(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn conditional_create_update_and_delete_match_once_even_under_races() {
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let patient = |id: Option<&str>, system: &str, family: &str| {
        let mut value = json!({"resourceType": "Patient", "name": [{"family": family}],
            "identifier": [{"system": system, "value": "1"}]});
        if let Some(id) = id {
            value["id"] = json!(id);
        }
        value.to_string()
    };
    let condition = ("If-None-Exist", "identifier=urn:x|1");

    // If-None-Exist: no match creates, one match answers it and writes nothing, two refuse.
    let created =
        call("POST", &format!("{base}/Patient"), &[FHIR, condition], Some(&patient(Some("cc-1"), "urn:x", "A")));
    assert_eq!(created.status, 201, "{}", created.body);
    let again =
        call("POST", &format!("{base}/Patient"), &[FHIR, condition], Some(&patient(Some("cc-9"), "urn:x", "B")));
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!((again.json()["id"].as_str(), again.header("ETag")), (Some("cc-1"), Some("W/\"1\"")));
    assert_eq!(call("GET", &format!("{base}/Patient/cc-9"), &[], None).status, 404, "nothing was created");
    let other = call("POST", &format!("{base}/Patient"), &[FHIR], Some(&patient(Some("cc-2"), "urn:x", "C")));
    assert_eq!(other.status, 201);
    let two = call("POST", &format!("{base}/Patient"), &[FHIR, condition], Some(&patient(None, "urn:x", "D")));
    assert_eq!(two.status, 412, "{}", two.body);
    let unknown = call(
        "POST",
        &format!("{base}/Patient"),
        &[FHIR, ("If-None-Exist", "nickname=x")],
        Some(&patient(None, "urn:x", "E")),
    );
    assert_eq!(unknown.status, 400, "an unknown parameter in a condition: {}", unknown.body);

    // Conditional update: no match creates (an id assigned), one match updates it, two refuse.
    let url = format!("{base}/Patient?identifier=urn:y%7C1");
    let made = call("PUT", &url, &[FHIR], Some(&patient(None, "urn:y", "F")));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().expect("an id").to_owned();
    let updated = call("PUT", &url, &[FHIR], Some(&patient(None, "urn:y", "G")));
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(
        (updated.json()["id"].as_str(), updated.json()["meta"]["versionId"].as_str()),
        (Some(id.as_str()), Some("2"))
    );
    let wrong_id = call("PUT", &url, &[FHIR], Some(&patient(Some("someone-else"), "urn:y", "H")));
    assert_eq!(wrong_id.status, 400, "{}", wrong_id.body);
    let ambiguous =
        call("PUT", &format!("{base}/Patient?identifier=urn:x%7C1"), &[FHIR], Some(&patient(None, "urn:x", "I")));
    assert_eq!(ambiguous.status, 412, "{}", ambiguous.body);

    // Conditional delete: one match is deleted, then nothing matches.
    let deleted = call("DELETE", &url, &[], None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(call("GET", &format!("{base}/Patient/{id}"), &[], None).status, 410);
    let nothing = call("DELETE", &url, &[], None);
    assert!(nothing.status == 200 && nothing.body.contains("nothing to delete"), "{}", nothing.body);
    assert_eq!(call("DELETE", &format!("{base}/Patient?identifier=urn:x%7C1"), &[], None).status, 412);

    // Eight clients create the same patient at once, conditionally: exactly one is created.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|index| {
                let (base, body) = (base.clone(), patient(Some(&format!("race-{index}")), "urn:race", "R"));
                scope.spawn(move || {
                    call(
                        "POST",
                        &format!("{base}/Patient"),
                        &[FHIR, ("If-None-Exist", "identifier=urn:race|1")],
                        Some(&body),
                    )
                    .status
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 7, "{statuses:?}");
    let found = call("GET", &format!("{base}/Patient?identifier=urn:race|1"), &[], None).json();
    assert_eq!(found["total"], 1, "{found:#}");
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}

#[test]
fn scopes_hosts_counts_and_versions_are_honoured_at_the_edges() {
    let data = temp_dir();
    let tokens = format!(
        r#"[{{ token = "{DEV_TOKEN}", client_id = "all", scopes = ["system/*.cruds", "bridge/ledger.read"] }},
            {{ token = "observations-only-token-1", client_id = "obs", scopes = ["system/Observation.rs"] }},
            {{ token = "patient-read-only-token-1", client_id = "pr", scopes = ["system/Patient.r"] }}]"#
    );
    let env = [("FHIR_BRIDGE__AUTH__DEV_STATIC_TOKENS".to_owned(), tokens)];
    let mut bridge = Bridge::start_with(data.path(), &[], &env, &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let as_client = |token: &str, url: &str| {
        let response = match ureq::get(url).set("Authorization", &format!("Bearer {token}")).call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{url}: {e}"),
        };
        (response.status(), response.into_string().unwrap_or_default())
    };
    for (resource, kind) in [
        (
            json!({"resourceType": "Patient", "id": "e1", "identifier": [{"system": "urn:é", "value": "ü-1"}]}),
            "Patient",
        ),
        (
            json!({"resourceType": "Observation", "id": "e2", "status": "final", "code": {"text": "x"},
            "subject": {"reference": "https://other.example/fhir/Patient/e1"}}),
            "Observation",
        ),
    ] {
        let reply = call(
            "POST",
            &format!("{base}/{kind}"),
            &[FHIR, ("X-Forwarded-Host", "evil.example")],
            Some(&resource.to_string()),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        // The Location is the host the client asked, never a forwarded one.
        let location = reply.header("Location").unwrap();
        assert!(location.starts_with(&base) && !location.contains("evil"), "{location}");
    }

    // The system's history shows a client only the types it may read and search; a type's
    // history needs the search scope too.
    let (status, body) = as_client("observations-only-token-1", &format!("{base}/_history"));
    assert_eq!(status, 200, "{body}");
    let system: Value = serde_json::from_str(&body).unwrap();
    let types: Vec<&str> =
        system["entry"].as_array().unwrap().iter().filter_map(|e| e["resource"]["resourceType"].as_str()).collect();
    assert_eq!(types, ["Observation"], "{system:#}");
    assert_eq!(as_client("patient-read-only-token-1", &format!("{base}/Patient/_history")).0, 403);
    assert_eq!(as_client("patient-read-only-token-1", &format!("{base}/Patient/e1/_history")).0, 200);
    assert_eq!(as_client("observations-only-token-1", &format!("{base}/Patient?identifier=x")).0, 403);

    // Non-ASCII token values; another server's Patient/e1 is not this server's.
    let found = call("GET", &format!("{base}/Patient?identifier=urn:%C3%A9%7C%C3%BC-1"), &[], None);
    assert_eq!((found.status, bundle_ids(&found.json())), (200, vec!["e1".to_owned()]), "{}", found.body);
    let local = call("GET", &format!("{base}/Observation?subject=Patient/e1"), &[], None).json();
    assert!(bundle_ids(&local).is_empty(), "a foreign reference matched a local one: {local:#}");
    let foreign =
        call("GET", &format!("{base}/Observation?subject=https://other.example/fhir/Patient/e1"), &[], None).json();
    assert_eq!(bundle_ids(&foreign), ["e2"]);

    // `_count=0`: the total alone, no page and no next link.
    let counted = call("GET", &format!("{base}/Patient?identifier=urn:%C3%A9%7C&_count=0"), &[], None);
    assert_eq!(counted.status, 200, "{}", counted.body);
    let counted = counted.json();
    assert_eq!((counted["total"].as_u64(), bundle_ids(&counted).len()), (Some(1), 0), "{counted:#}");
    assert!(counted["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"));
    let history = call("GET", &format!("{base}/Patient/e1/_history?_count=0"), &[], None).json();
    assert!(history["link"].as_array().unwrap().iter().all(|l| l["relation"] != "next"), "{history:#}");

    // DELETE honours If-Match.
    let stale = call("DELETE", &format!("{base}/Patient/e1"), &[("If-Match", "W/\"7\"")], None);
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert_eq!(call("GET", &format!("{base}/Patient/e1"), &[], None).status, 200, "not deleted");
    let current = call("DELETE", &format!("{base}/Patient/e1"), &[("If-Match", "W/\"1\"")], None);
    assert_eq!(current.status, 200, "{}", current.body);
    assert_eq!(call("GET", &format!("{base}/Patient/e1"), &[], None).status, 410);
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));

    // With http.public_base_url, links are built from it.
    let public = vec![("FHIR_BRIDGE__HTTP__PUBLIC_BASE_URL".to_owned(), "https://bridge.example.org/fhir".to_owned())];
    let mut env = env.to_vec();
    env.extend(public);
    let mut bridge = Bridge::start_with(data.path(), &[], &env, &data.path().join("serve-2.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let reply = call(
        "POST",
        &format!("{base}/Patient"),
        &[FHIR],
        Some(&json!({"resourceType": "Patient", "id": "e3"}).to_string()),
    );
    assert_eq!(reply.header("Location"), Some("https://bridge.example.org/fhir/Patient/e3/_history/1"));
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}
