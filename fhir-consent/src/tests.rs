use super::*;

const B: &str = "Organization/hospital-b";
const C: &str = "Organization/hospital-c";

fn consent_json(status: &str, provision: &str) -> Vec<u8> {
    format!(
        r#"{{"resourceType":"Consent","id":"c1","status":"{status}","scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},"category":[{{"text":"x"}}],"patient":{{"reference":"Patient/p1"}},"provision":{provision}}}"#
    )
    .into_bytes()
}

fn parsed(status: &str, provision: &str) -> Consent {
    match fhir_models::parse_and_validate(&consent_json(status, provision)) {
        Ok(Resource::Consent(consent)) => *consent,
        other => panic!("not a valid Consent: {other:?}"),
    }
}

fn read_terms(provision: &str) -> Result<ConsentTerms, ConsentRefusal> {
    read(&parsed("active", provision)).map(|t| t.expect("names a patient"))
}

fn recipient(org: &str) -> String {
    format!(
        r#"{{"role":{{"coding":[{{"system":"{PARTICIPATION_SYSTEM}","code":"IRCP"}}]}},"reference":{{"reference":"{org}"}}}}"#
    )
}

fn class(code: &str) -> String {
    format!(r#"{{"system":"{RESOURCE_TYPES_SYSTEM}","code":"{code}"}}"#)
}

fn types(list: &[&str]) -> TypeSet {
    TypeSet::Only(list.iter().map(|t| (*t).to_owned()).collect())
}

fn refused_at(provision: &str) -> String {
    read_terms(provision).expect_err("refused").path
}

#[test]
fn an_active_permit_grants_its_recipients_types_and_period() {
    let provision = format!(
        r#"{{"type":"permit","period":{{"start":"2026-01-01","end":"2027-01-01"}},"actor":[{},{{"role":{{"text":"x"}},"reference":{{"reference":"Organization/x"}}}}],"class":[{},{}]}}"#,
        recipient(B),
        class("Observation"),
        class("Condition")
    );
    let t = read_terms(&provision).expect("enforceable");
    assert!(t.in_force);
    assert_eq!(
        t.permits,
        [Permit {
            organization: B.to_owned(),
            types: types(&["Condition", "Observation"]),
            start: Some("2026-01-01".into()),
            end: Some("2027-01-01".into()),
        }]
    );
    // The actor without a recipient role receives nothing, and the answer says so.
    assert!(t.notes.iter().any(|n| n.contains("actor[1].role")), "{:?}", t.notes);
}

#[test]
fn what_cannot_be_enforced_is_refused_with_its_path() {
    let actor = recipient(B);
    let cases = [
        (format!(r#"{{"type":"permit","actor":[{actor}],"data":[{{"meaning":"instance","reference":{{"reference":"Observation/o1"}}}}]}}"#), "Consent.provision.data"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"dataPeriod":{{"start":"2020-01-01"}}}}"#), "Consent.provision.dataPeriod"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"purpose":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}}]}}"#), "Consent.provision.purpose"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"securityLabel":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-Confidentiality","code":"R"}}]}}"#), "Consent.provision.securityLabel"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"code":[{{"text":"x"}}]}}"#), "Consent.provision.code"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"class":[{{"system":"http://loinc.org","code":"Condition"}}]}}"#), "Consent.provision.class[0]"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"action":[{{"text":"read"}}]}}"#), "Consent.provision.action[0]"),
        (r#"{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PRCP"}]},"reference":{"reference":"Practitioner/x"}}]}"#.to_owned(), "Consent.provision.actor[0].reference"),
        (format!(r#"{{"actor":[{actor}]}}"#), "Consent.provision.type"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"provision":[{{"actor":[{actor}]}}]}}"#), "Consent.provision.provision[0].type"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"provision":[{{"type":"permit","actor":[{actor}]}}]}}"#), "Consent.provision.provision[0].type"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"provision":[{{"type":"deny","provision":[{{"type":"permit"}}]}}]}}"#), "Consent.provision.provision[0].provision[0]"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"provision":[{{"type":"deny","period":{{"start":"2026-01-01"}}}}]}}"#), "Consent.provision.provision[0].period"),
        (format!(r#"{{"type":"permit","actor":[{actor}],"provision":[{{"type":"deny","code":[{{"text":"HIV"}}]}}]}}"#), "Consent.provision.provision[0].code"),
    ];
    for (provision, path) in cases {
        assert_eq!(refused_at(&provision), path, "{provision}");
    }
}

#[test]
fn an_inactive_consent_grants_nothing_and_is_not_refused() {
    let provision = format!(
        r#"{{"type":"permit","actor":[{}],"data":[{{"meaning":"instance","reference":{{"reference":"Observation/o1"}}}}]}}"#,
        recipient(B)
    );
    let t = read(&parsed("inactive", &provision)).expect("stored as it is").expect("names a patient");
    assert!(!t.in_force && t.permits.is_empty());
}

#[test]
fn custodians_and_actions_that_are_no_read_grant_nothing() {
    let custodian = r#"{"type":"permit","actor":[{"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"CST"}]},"reference":{"reference":"Organization/hospital-b"}}]}"#;
    let t = read_terms(custodian).expect("enforceable");
    assert!(t.permits.is_empty());
    assert!(!t.notes.is_empty());
    let collect = format!(
        r#"{{"type":"permit","actor":[{}],"action":[{{"coding":[{{"system":"{ACTION_SYSTEM}","code":"collect"}}]}}]}}"#,
        recipient(B)
    );
    assert!(read_terms(&collect).expect("enforceable").permits.is_empty());
    let access = collect.replace("collect", "access");
    assert_eq!(read_terms(&access).expect("enforceable").permits.len(), 1);
    let no_actor =
        r#"{"type":"permit","class":[{"system":"http://hl7.org/fhir/resource-types","code":"Observation"}]}"#;
    let t = read_terms(no_actor).expect("enforceable");
    assert!(t.permits.is_empty() && t.notes.iter().any(|n| n.contains("grants nothing")));
}

#[test]
fn nested_denies_are_exceptions_to_the_permit() {
    let provision = format!(
        r#"{{"type":"permit","actor":[{b},{c}],"provision":[{{"type":"deny","class":[{obs}]}},{{"type":"deny","actor":[{{"role":{{"text":"x"}},"reference":{{"reference":"{C}"}}}}],"class":[{cond}]}}]}}"#,
        b = recipient(B),
        c = recipient(C),
        obs = class("Observation"),
        cond = class("Condition")
    );
    let t = read_terms(&provision).expect("enforceable");
    let of = |org: &str| t.permits.iter().find(|p| p.organization == org).expect("a permit").types.clone();
    assert!(!of(B).contains("Observation") && of(B).contains("Condition") && of(B).contains("Patient"));
    assert!(!of(C).contains("Observation") && !of(C).contains("Condition") && of(C).contains("Patient"));
}

#[test]
fn a_deny_base_with_permit_exceptions_grants_only_the_exceptions() {
    let provision = format!(
        r#"{{"type":"deny","provision":[{{"type":"permit","actor":[{b}],"class":[{obs}]}}]}}"#,
        b = recipient(B),
        obs = class("Observation")
    );
    let t = read_terms(&provision).expect("enforceable");
    assert_eq!(t.permits.len(), 1);
    assert_eq!(t.permits[0].types, types(&["Observation"]));
    assert_eq!(t.denies.len(), 1);
    assert!(t.denies[0].denied_to(C).contains("Observation"));
    assert!(!t.denies[0].denied_to(B).contains("Observation") && t.denies[0].denied_to(B).contains("Condition"));
}

#[test]
fn an_untyped_base_rule_is_refused_whatever_the_policy() {
    // R4's consent-example-Out: an OPTOUT policy and an untyped provision naming an actor, meant
    // as "withhold from this actor". Read as a permit it would grant what was withheld.
    for policy in ["OPTOUT", "OPTIN"] {
        let json = format!(
            r#"{{"resourceType":"Consent","id":"c1","status":"active","scope":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}}]}},"category":[{{"text":"x"}}],"patient":{{"reference":"Patient/p1"}},"policyRule":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"{policy}"}}]}},"provision":{{"actor":[{}]}}}}"#,
            recipient(B)
        );
        let Ok(Resource::Consent(consent)) = fhir_models::parse_and_validate(json.as_bytes()) else { panic!("valid") };
        assert_eq!(read(&consent).expect_err("refused").path, "Consent.provision.type", "{policy}");
    }
}

#[test]
fn an_exception_permits_only_within_the_deny_it_excepts_from() {
    // Deny B the Conditions, except ... A everything: A is outside the deny, so it gets nothing.
    let provision = format!(
        r#"{{"type":"deny","actor":[{b}],"class":[{cond}],"provision":[{{"type":"permit","actor":[{c}]}},{{"type":"permit","actor":[{b}]}}]}}"#,
        b = recipient(B),
        c = recipient(C),
        cond = class("Condition")
    );
    let t = read_terms(&provision).expect("enforceable");
    assert_eq!(t.permits.len(), 1, "{:?}", t.permits);
    assert_eq!((t.permits[0].organization.as_str(), &t.permits[0].types), (B, &types(&["Condition"])));
}

#[test]
fn an_exception_with_a_period_excuses_no_other_consent() {
    let permit_all = read_terms(&format!(r#"{{"type":"permit","actor":[{}]}}"#, recipient(B))).unwrap();
    let deny_but_2020 = read_terms(&format!(
        r#"{{"type":"deny","provision":[{{"type":"permit","actor":[{}],"class":[{}],"period":{{"start":"2020-01-01","end":"2020-12-31"}}}}]}}"#,
        recipient(B),
        class("Observation")
    ))
    .unwrap();
    let grants = effective_grants(&[("p".into(), permit_all), ("d".into(), deny_but_2020)]);
    // Only the deny's own exception, with its period: the older permit is closed entirely.
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].consent, "d");
    assert_eq!(grants[0].end.as_deref(), Some("2020-12-31"));
}

#[test]
fn organisations_are_named_relative_and_unversioned() {
    for reference in ["https://b.example/fhir/Organization/peer", "Organization/peer/_history/1", "Organization/"] {
        let deny = format!(
            r#"{{"type":"deny","actor":[{{"role":{{"text":"x"}},"reference":{{"reference":"{reference}"}}}}]}}"#
        );
        assert_eq!(refused_at(&deny), "Consent.provision.actor[0].reference", "{reference}");
    }
}

#[test]
fn a_deny_in_one_consent_narrows_the_permits_of_the_others() {
    let permit = read_terms(&format!(r#"{{"type":"permit","actor":[{}]}}"#, recipient(B))).unwrap();
    let deny_obs =
        read_terms(&format!(r#"{{"type":"deny","actor":[{}],"class":[{}]}}"#, recipient(B), class("Observation")))
            .unwrap();
    let deny_all = read_terms(r#"{"type":"deny"}"#).unwrap();
    let grants = effective_grants(&[("p".into(), permit.clone()), ("d".into(), deny_obs.clone())]);
    assert_eq!(grants.len(), 1);
    assert!(!grants[0].types.contains("Observation") && grants[0].types.contains("Condition"));
    assert!(effective_grants(&[("p".into(), permit.clone()), ("d".into(), deny_all.clone())]).is_empty());
    // A deny withdrawn (inactive) narrows nothing.
    let mut withdrawn = deny_all;
    withdrawn.in_force = false;
    assert!(effective_grants(&[("p".into(), permit), ("d".into(), withdrawn)])[0].types.contains("Observation"));
}

#[test]
fn a_consent_in_force_whose_patient_is_not_a_relative_reference_is_refused() {
    let deny = format!(r#"{{"type":"deny","actor":[{}]}}"#, recipient(B));
    let absolute = String::from_utf8(consent_json("active", &deny))
        .unwrap()
        .replace(r#""reference":"Patient/p1""#, r#""reference":"https://a.example/fhir/Patient/p1""#);
    let Ok(Resource::Consent(consent)) = fhir_models::parse_and_validate(absolute.as_bytes()) else { panic!("valid") };
    let refusal = read(&consent).expect_err("refused, not silently ignored");
    assert_eq!(refusal.path, "Consent.patient.reference");
    // Named by an identifier only: refused too.
    let by_identifier = absolute.replace(
        r#""patient":{"reference":"https://a.example/fhir/Patient/p1"}"#,
        r#""patient":{"identifier":{"system":"urn:mrn","value":"1"}}"#,
    );
    let Ok(Resource::Consent(consent)) = fhir_models::parse_and_validate(by_identifier.as_bytes()) else {
        panic!("valid")
    };
    assert!(read(&consent).is_err(), "identifier-only patient");
    // Not in force: it grants nothing either way, and is stored as it is.
    let inactive = absolute.replace(r#""status":"active""#, r#""status":"inactive""#);
    let Ok(Resource::Consent(consent)) = fhir_models::parse_and_validate(inactive.as_bytes()) else { panic!("valid") };
    assert!(read(&consent).expect("not refused").is_none());
}
