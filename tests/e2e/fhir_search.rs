//! Search by string and date parameters over real HTTP, as clients search by name and birth
//! date: prefixes ignoring case and accents, `:exact`, every date prefix on dates, dateTimes and
//! periods, OR and AND, `_sort` by `_lastUpdated` both ways across pages, `_summary=count`,
//! `_total=none`, and no name or date in clear anywhere in the data dir.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fhir_rest::{bundle_ids, call, FHIR};
use crate::server::Bridge;
use crate::support::temp_dir;

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[test]
fn fhir_search_by_name_and_date_over_the_blind_index() {
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let post = |resource: Value| {
        let ty = resource["resourceType"].as_str().unwrap().to_owned();
        let reply = call("POST", &format!("{base}/{ty}"), &[FHIR], Some(&resource.to_string()));
        assert_eq!(reply.status, 201, "{}", reply.body);
    };
    let search = |query: &str| {
        let reply = call("GET", &format!("{base}/{query}"), &[], None);
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        reply.json()
    };
    let ids = |query: &str| sorted(bundle_ids(&search(query)));
    for (id, family, given, born) in [
        ("n1", "Zyzzyvaströmberg", "Ingrid", "1970-05-12"),
        ("n2", "Zyzzyva", "Olaf", "1970"),
        ("n3", "Smith", "Anna Maria", "1985-11-30"),
    ] {
        post(json!({"resourceType": "Patient", "id": id, "birthDate": born,
            "name": [{"family": family, "given": [given]}]}));
    }
    post(json!({"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
        "period": {"start": "2021-03-30T22:00:00Z", "end": "2021-04-02"}}));
    post(json!({"resourceType": "Encounter", "id": "e2", "status": "in-progress", "class": {"code": "IMP"},
        "period": {"start": "2021-04-01"}}));

    // Strings: starts-with, ignoring case and accents; :exact; OR; AND with a date.
    assert_eq!(ids("Patient?family=zyzzyva"), ["n1", "n2"]);
    assert_eq!(ids("Patient?family=ZYZZYVASTROM"), ["n1"], "accents are ignored");
    assert_eq!(ids("Patient?family:exact=Zyzzyva"), ["n2"]);
    assert!(ids("Patient?family:exact=zyzzyva").is_empty(), ":exact keeps case");
    assert_eq!(ids("Patient?name=anna%20maria"), ["n3"]);
    assert_eq!(ids("Patient?given=olaf,ingrid"), ["n1", "n2"]);
    assert_eq!(ids("Patient?name=zyz&birthdate=1970-05"), ["n1"], "a year-only birth date is not within May");

    // Dates: every prefix, on dates of day and year precision and on periods.
    assert_eq!(ids("Patient?birthdate=1970"), ["n1", "n2"]);
    assert_eq!(ids("Patient?birthdate=gt1970-05-12"), ["n2", "n3"], "1970 ends after May 12th");
    assert_eq!(ids("Patient?birthdate=sa1970-05-12"), ["n3"]);
    assert_eq!(ids("Patient?birthdate=lt1970-01-02"), ["n2"]);
    assert_eq!(ids("Patient?birthdate=ge1980&birthdate=le1990"), ["n3"]);
    assert_eq!(ids("Patient?birthdate=ne1970"), ["n3"]);
    assert_eq!(ids("Patient?birthdate=1985-11-30,1970-05-12"), ["n1", "n3"]);
    assert_eq!(ids("Encounter?date=2021-04-01"), Vec::<String>::new(), "neither lies within the day");
    assert_eq!(ids("Encounter?date=ge2021-04-01"), ["e1", "e2"]);
    assert_eq!(ids("Encounter?date=gt2030"), ["e2"], "an open period is ongoing");
    assert_eq!(ids("Encounter?date=eb2021-04-03"), ["e1"]);
    assert_eq!(ids("Encounter?date=sa2021-03-30"), ["e2"], "a dateTime counts by its own day");
    assert_eq!(ids("Encounter?date=2021"), ["e1"]);

    // Sorting both ways across pages; the total alone; no total.
    let walk = |query: &str| {
        let mut page = search(query);
        let mut order = bundle_ids(&page);
        while let Some(next) =
            page["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next").map(|l| l["url"].clone())
        {
            page = call("GET", next.as_str().unwrap(), &[], None).json();
            order.extend(bundle_ids(&page));
        }
        order
    };
    assert_eq!(walk("Patient?birthdate=le2000&_sort=_lastUpdated&_count=1"), ["n1", "n2", "n3"]);
    assert_eq!(walk("Patient?birthdate=le2000&_sort=-_lastUpdated&_count=2"), ["n3", "n2", "n1"]);
    let counted = search("Patient?family=zyz&_summary=count");
    assert_eq!((counted["total"].as_u64(), bundle_ids(&counted).len()), (Some(2), 0), "{counted:#}");
    assert!(search("Patient?family=zyz&_total=none").get("total").is_none());

    // What cannot be honoured is refused, never approximated.
    for (refused, code) in [
        ("Patient?birthdate=1970-05-12T10:00:00Z", "invalid"),
        ("Patient?birthdate=ap1970", "invalid"),
        ("Patient?family:contains=yva", "not-supported"),
        ("Patient?family=zyz&_sort=family", "not-supported"),
    ] {
        let reply = call("GET", &format!("{base}/{refused}"), &[], None);
        assert_eq!(reply.status, 400, "{refused}: {}", reply.body);
        assert_eq!(reply.json()["issue"][0]["code"], code, "{refused}: {}", reply.body);
    }
    // A resource with more searchable values than one resource may have is refused whole.
    // Distinct from their first characters, so their prefixes are distinct too.
    let givens: Vec<String> =
        (0..7000).map(|i| format!("{:x<32}", i.to_string().chars().rev().collect::<String>())).collect();
    let crowded = json!({"resourceType": "Patient", "name": [{"family": "Crowd", "given": givens}]});
    let refused = call("POST", &format!("{base}/Patient"), &[FHIR], Some(&crowded.to_string()));
    assert_eq!(refused.status, 422, "{}", &refused.body[..refused.body.len().min(500)]);
    assert_eq!(refused.json()["issue"][0]["code"], "too-costly");
    assert!(ids("Patient?family=crowd").is_empty());
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));

    // Names and birth dates are in no file in clear, nor are their prefixes.
    for file in crate::support::files_under(data.path()) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in [&b"zyzzyvastr"[..], b"Zyzzyvastr", b"1970-05-12"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} is in clear in {}",
                String::from_utf8_lossy(secret),
                file.display()
            );
        }
    }
}

#[test]
fn chained_parameters_and_includes_follow_references() {
    let data = temp_dir();
    let mut bridge = Bridge::start(data.path(), &[], &data.path().join("serve.log"));
    bridge.wait_healthy(Duration::from_secs(20));
    let base = format!("{}/fhir", bridge.base());
    let put = |resource: Value| {
        let (ty, id) = (resource["resourceType"].as_str().unwrap(), resource["id"].as_str().unwrap());
        let reply = call("PUT", &format!("{base}/{ty}/{id}"), &[FHIR], Some(&resource.to_string()));
        assert!(reply.status == 201 || reply.status == 200, "{}", reply.body);
    };
    let search = |query: &str| {
        let reply = call("GET", &format!("{base}/{query}"), &[], None);
        assert_eq!(reply.status, 200, "{query}: {}", reply.body);
        reply.json()
    };
    put(json!({"resourceType": "Organization", "id": "ch-org", "name": "Ward"}));
    for (id, mrn, family) in [("ch1", "MRN-1", "Chainley"), ("ch2", "MRN-2", "Other")] {
        put(json!({"resourceType": "Patient", "id": id, "identifier": [{"system": "urn:mrn", "value": mrn}],
            "name": [{"family": family}], "managingOrganization": {"reference": "Organization/ch-org"}}));
        put(json!({"resourceType": "Observation", "id": format!("{id}-o"), "status": "final", "code": {"text": "x"},
            "subject": {"reference": format!("Patient/{id}")}}));
    }

    // Chains: by the patient's identifier (the way institutions that share no ids find records)
    // and by name, with and without the type.
    assert_eq!(sorted(bundle_ids(&search("Observation?subject:Patient.identifier=urn:mrn|MRN-1"))), ["ch1-o"]);
    assert_eq!(sorted(bundle_ids(&search("Observation?patient.identifier=urn:mrn|MRN-2"))), ["ch2-o"]);
    assert_eq!(sorted(bundle_ids(&search("Observation?subject.name=chain"))), ["ch1-o"]);
    assert!(bundle_ids(&search("Observation?subject:Patient.identifier=urn:mrn|nobody")).is_empty());

    // _include: the patient each match refers to; _revinclude: the observations that refer to
    // each matched patient. Included entries say so.
    let included = search("Observation?subject:Patient.identifier=urn:mrn|MRN-1&_include=Observation:subject");
    let modes: Vec<(String, String)> = included["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["search"]["mode"].as_str().unwrap().to_owned(), e["resource"]["id"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(modes, [("match".to_owned(), "ch1-o".to_owned()), ("include".to_owned(), "ch1".to_owned())]);
    let reverse = search("Patient?identifier=urn:mrn|MRN-2&_revinclude=Observation:subject");
    let ids: Vec<&str> =
        reverse["entry"].as_array().unwrap().iter().map(|e| e["resource"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["ch2", "ch2-o"]);
    let both = search("Patient?name=chain&_include=Patient:organization&_revinclude=Observation:subject");
    assert_eq!(both["entry"].as_array().unwrap().len(), 3, "{both:#}");
    for refused in ["Observation?subject.name.family=x", "Observation?code=x&_include=Observation:*"] {
        let reply = call("GET", &format!("{base}/{refused}"), &[], None);
        assert_eq!(reply.status, 400, "{refused}: {}", reply.body);
    }
    // What was included is audited as what matched.
    let records = bridge.ledger_records();
    let searches =
        records.iter().filter(|r| r["kind"] == "Access" && r["action"] == "search" && r["patient"].is_string()).count();
    assert!(searches >= 7, "{searches} search accesses");
    assert_eq!(bridge.terminate(Duration::from_secs(30)).code(), Some(0));
}
