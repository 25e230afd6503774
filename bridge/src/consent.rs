//! A FHIR `Consent`, read as the terms of ledger grants (BRIEF §5): which patient, which
//! institutions, which resource types, which period, and whether it is in force.
//!
//! Read from R4 `Consent`: `status` (only `active` grants), `patient`, and the top-level
//! `provision` of type `permit` (absent type means permit): its `actor[].reference` to
//! `Organization/...` names the grantees, `class[].code` the resource types (none: all), and
//! `period` the granted period. Nested provisions (exceptions) are not interpreted: a Consent
//! with nested provisions grants nothing, rather than more than the patient meant.

use fhir_models::Resource;

/// What a Consent grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTerms {
    /// The Patient's logical id.
    pub patient_id: String,
    /// Whether the consent grants access now (`status = active`, a permit provision).
    pub in_force: bool,
    /// The grantee organisations (`Organization/id`).
    pub grantees: Vec<String>,
    /// The granted resource types (`*` for all).
    pub types: Vec<String>,
    /// Start of the granted period (FHIR dateTime).
    pub start: Option<String>,
    /// End of the granted period (FHIR dateTime).
    pub end: Option<String>,
}

/// The terms of `canonical` Consent JSON; `None` when it is no Consent or names no patient.
pub fn terms(canonical: &[u8]) -> Option<ConsentTerms> {
    let Ok(Resource::Consent(consent)) = fhir_models::parse_resource(canonical) else { return None };
    let patient_id = consent
        .patient
        .as_ref()
        .and_then(|p| p.reference.as_ref())
        .and_then(|r| r.as_str())
        .and_then(|r| r.strip_prefix("Patient/"))
        .map(|id| id.split('/').next().unwrap_or(id).to_owned())?;
    let active = consent.status.as_ref().and_then(|s| s.as_str()) == Some("active");
    let provision = consent.provision.as_deref();
    let permit = provision.is_some_and(|p| {
        p.r#type.as_ref().and_then(|t| t.as_str()).unwrap_or("permit") == "permit" && p.provision.is_empty()
    });
    let grantees: Vec<String> = provision
        .map(|p| {
            p.actor
                .iter()
                .filter_map(|a| a.reference.as_ref()?.reference.as_ref()?.as_str())
                .filter(|r| r.starts_with("Organization/"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut types: Vec<String> = provision
        .map(|p| p.class.iter().filter_map(|c| c.code.as_ref()?.as_str()).map(str::to_owned).collect())
        .unwrap_or_default();
    if types.is_empty() {
        types.push("*".to_owned());
    }
    types.sort();
    types.dedup();
    let period = provision.and_then(|p| p.period.as_deref());
    Some(ConsentTerms {
        patient_id,
        in_force: active && permit,
        grantees,
        types,
        start: period.and_then(|p| p.start.as_ref()).and_then(|s| s.as_str()).map(str::to_owned),
        end: period.and_then(|p| p.end.as_ref()).and_then(|s| s.as_str()).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(status: &str, provision: &str) -> Vec<u8> {
        format!(
            r#"{{"resourceType":"Consent","id":"c1","status":"{status}","scope":{{"text":"x"}},"category":[{{"text":"x"}}],"patient":{{"reference":"Patient/p1"}},"provision":{provision}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn an_active_permit_grants_its_actors_types_and_period() {
        let json = consent(
            "active",
            r#"{"type":"permit","period":{"start":"2026-01-01","end":"2027-01-01"},"actor":[{"role":{"text":"x"},"reference":{"reference":"Organization/hospital-b"}},{"role":{"text":"x"},"reference":{"reference":"Practitioner/x"}}],"class":[{"code":"Observation"},{"code":"Condition"}]}"#,
        );
        let t = terms(&json).expect("terms");
        assert_eq!(t.patient_id, "p1");
        assert!(t.in_force);
        assert_eq!(t.grantees, ["Organization/hospital-b"]);
        assert_eq!(t.types, ["Condition", "Observation"]);
        assert_eq!((t.start.as_deref(), t.end.as_deref()), (Some("2026-01-01"), Some("2027-01-01")));
    }

    #[test]
    fn inactive_deny_and_nested_provisions_grant_nothing() {
        let actor = r#""actor":[{"role":{"text":"x"},"reference":{"reference":"Organization/b"}}]"#;
        assert!(!terms(&consent("inactive", &format!("{{{actor}}}"))).unwrap().in_force);
        assert!(!terms(&consent("active", &format!(r#"{{"type":"deny",{actor}}}"#))).unwrap().in_force);
        let nested = format!(r#"{{{actor},"provision":[{{"type":"deny","class":[{{"code":"Observation"}}]}}]}}"#);
        assert!(!terms(&consent("active", &nested)).unwrap().in_force);
        let all = terms(&consent("active", &format!("{{{actor}}}"))).unwrap();
        assert!(all.in_force);
        assert_eq!(all.types, ["*"]);
    }
}
