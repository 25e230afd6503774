//! The FHIR R4 Patient compartment, as generated from the official `CompartmentDefinition-patient`
//! and the search parameters it names: for each resource type, the Reference elements that put an
//! instance in a patient's compartment (`Observation`: `subject`, `performer`).
//!
//! This is what a resource's patient is found by: a resource is in the compartment of every
//! Patient those elements reference. A Patient is in its own compartment (`{def}`). Types that are
//! not listed (Organization, Practitioner, Medication, Bundle, ...) are in no patient's
//! compartment.

pub use crate::generated::compartment::{PATIENT_COMPARTMENT, PATIENT_COMPARTMENT_CODE, PATIENT_COMPARTMENT_URL};

/// One search parameter that puts resources of a type in the Patient compartment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompartmentParam {
    /// The search parameter's code (`subject`, `performer`), or `{def}` for the Patient itself.
    pub code: &'static str,
    /// The Reference elements it searches, as `.`-separated paths relative to the resource
    /// (`participant.actor`); none for `{def}`.
    pub paths: &'static [&'static str],
}

/// The search parameters that put `resource_type` in the Patient compartment; `None` when the
/// type is not in it.
pub fn patient_compartment(resource_type: &str) -> Option<&'static [CompartmentParam]> {
    PATIENT_COMPARTMENT.binary_search_by(|(t, _)| (*t).cmp(resource_type)).ok().map(|i| PATIENT_COMPARTMENT[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(resource_type: &str) -> Vec<(&'static str, Vec<&'static str>)> {
        patient_compartment(resource_type)
            .unwrap_or_else(|| panic!("{resource_type} is in the compartment"))
            .iter()
            .map(|p| (p.code, p.paths.to_vec()))
            .collect()
    }

    #[test]
    fn the_table_follows_the_official_compartment() {
        assert_eq!(paths("Observation"), [("subject", vec!["subject"]), ("performer", vec!["performer"])]);
        assert_eq!(paths("Encounter"), [("patient", vec!["subject"])]);
        assert_eq!(paths("Consent"), [("patient", vec!["patient"])]);
        assert_eq!(paths("Patient"), [("{def}", vec![]), ("link", vec!["link.other"])]);
        assert_eq!(paths("Appointment"), [("actor", vec!["participant.actor"])]);
        assert_eq!(
            paths("Coverage"),
            [
                ("policy-holder", vec!["policyHolder"]),
                ("subscriber", vec!["subscriber"]),
                ("beneficiary", vec!["beneficiary"]),
                ("payor", vec!["payor"]),
            ]
        );
        assert_eq!(paths("AuditEvent"), [("patient", vec!["agent.who", "entity.what"])]);
        assert_eq!(PATIENT_COMPARTMENT_CODE, "Patient");
        assert_eq!(PATIENT_COMPARTMENT_URL, "http://hl7.org/fhir/CompartmentDefinition/patient");
    }

    #[test]
    fn types_without_parameters_are_not_in_the_compartment() {
        for resource_type in ["Organization", "Practitioner", "Medication", "Bundle", "Parameters", "Binary"] {
            assert_eq!(patient_compartment(resource_type), None, "{resource_type}");
        }
        assert_eq!(patient_compartment("NoSuchType"), None);
    }

    #[test]
    fn the_table_is_sorted_and_names_resource_types() {
        assert!(PATIENT_COMPARTMENT.windows(2).all(|w| w[0].0 < w[1].0));
        for (resource_type, params) in PATIENT_COMPARTMENT {
            assert!(crate::RESOURCE_TYPES.binary_search(resource_type).is_ok(), "{resource_type}");
            assert!(!params.is_empty(), "{resource_type}");
        }
    }
}
