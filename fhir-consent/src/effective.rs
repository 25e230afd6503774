//! A patient's consents together: what each grants once every other consent's denies are taken
//! out. The grants in force for a patient are always this function of the patient's consents in
//! force, so a change to any of them (a new deny, a permit withdrawn, a deny withdrawn) is
//! planned the same way: compute, compare with the grants in force, revoke what no longer holds.

use super::{ConsentTerms, TypeSet};

/// A grant one consent makes to one organisation, after the patient's denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveGrant {
    /// The consent it comes from (its pseudonym, hex).
    pub consent: String,
    /// The grantee (`Organization/id`).
    pub organization: String,
    /// The granted types.
    pub types: TypeSet,
    /// Start of the granted period (FHIR dateTime).
    pub start: Option<String>,
    /// End of the granted period (FHIR dateTime).
    pub end: Option<String>,
}

/// The grants that `consents` (pseudonym hex, terms) of one patient make together, in the order
/// given. A consent's own exceptions are in its permits already; its denies narrow the others.
pub fn effective_grants(consents: &[(String, ConsentTerms)]) -> Vec<EffectiveGrant> {
    let in_force: Vec<&(String, ConsentTerms)> = consents.iter().filter(|(_, t)| t.in_force).collect();
    let mut out = Vec::new();
    for (id, terms) in &in_force {
        for permit in &terms.permits {
            let denied = in_force
                .iter()
                .filter(|(other, _)| other != id)
                .flat_map(|(_, other)| &other.denies)
                .fold(TypeSet::none(), |acc, deny| acc.union(&deny.denied_to(&permit.organization)));
            let types = permit.types.minus(&denied);
            if !types.is_empty() {
                out.push(EffectiveGrant {
                    consent: id.clone(),
                    organization: permit.organization.clone(),
                    types,
                    start: permit.start.clone(),
                    end: permit.end.clone(),
                });
            }
        }
    }
    out
}
