//! A FHIR `Consent`, read as the terms of ledger grants (BRIEF §5): which patient, which
//! institutions may read which resource types during which period, and which institutions the
//! patient denies. [`read`] refuses a Consent the bridge cannot enforce exactly, naming the
//! element, so that a Consent never grants more (or less) than it says.
//!
//! The R4 provision model, as the bridge enforces it for reads by peer institutions:
//! - The base rule is `Consent.provision`; its decision is its `type` (absent: refused, since
//!   reading it from `policyRule` is ambiguous and a wrong guess grants what was withheld).
//! - Nested provisions are exceptions to the base rule: one level, of the opposite type.
//! - A rule applies to reads when it names no `action` or an action that covers reading
//!   (`access`, `disclose`; for a deny also `use`).
//! - `actor`: a permit grants to `Organization` actors in a recipient role (`IRCP`, `PRCP`);
//!   actors in other roles (the custodian, `CST`) receive nothing. A deny applies to the
//!   organisations it names whatever their role, or to everyone when it names none.
//!   Non-organisation recipients (a Practitioner, a Patient) cannot be told apart inside a peer
//!   institution, so they are refused.
//! - `class`: resource types (system `http://hl7.org/fhir/resource-types`); none means all.
//! - `period`: when a permit is in force. On a deny it is refused (a deny is in force while the
//!   Consent is active).
//! - Refused, because the bridge cannot enforce them on a peer read: `data`, `dataPeriod`,
//!   `code`, `purpose`, `securityLabel`, modifier extensions, deeper nesting.
//!
//! A deny in force narrows the patient's other consents too (see [`effective_grants`]): a
//! permit from one Consent does not survive the patient's later "no" in another.
//! An inactive Consent grants and denies nothing and is stored as it is, whatever it holds.
//!
//! **Architecture Invariant:** this crate is a pure function of the Consent (and a clock value
//! the caller passes): it knows nothing of the ledger, storage, keys, networks or which peers are
//! configured. The writer plans grants from its answers, the custodian checks reads against the
//! [`TypeSet`]s it makes.

mod effective;
mod type_set;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use fhir_models::Resource;
use fhir_models::{CodeableConcept, Coding, Consent, ConsentProvision};

pub use effective::{effective_grants, EffectiveGrant};
pub use type_set::TypeSet;

/// The code system of `provision.class` codes that name resource types.
pub const RESOURCE_TYPES_SYSTEM: &str = "http://hl7.org/fhir/resource-types";
/// The code system of `provision.action`.
pub const ACTION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
/// The code system of `provision.actor.role`.
pub const PARTICIPATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// Actor roles that receive what a permit shares.
const RECIPIENT_ROLES: &[&str] = &["IRCP", "PRCP"];
/// Actions a permit must name (or name none) to share records with a reader.
const READ_ACTIONS: &[&str] = &["access", "disclose"];
/// Actions that make a deny apply to reads: reading is the first step of any use.
const DENIED_READ_ACTIONS: &[&str] = &["access", "disclose", "use"];

/// What one Consent permits one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    /// The grantee (`Organization/id`).
    pub organization: String,
    /// The granted types.
    pub types: TypeSet,
    /// Start of the granted period (FHIR dateTime).
    pub start: Option<String>,
    /// End of the granted period (FHIR dateTime).
    pub end: Option<String>,
}

/// What one Consent denies, to every grant of the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// The organisations denied; `None`: everyone.
    pub organizations: Option<Vec<String>>,
    /// The denied types.
    pub types: TypeSet,
    /// The exceptions of this Consent's own permits (excluded from what it denies to others).
    pub except: Vec<Permit>,
}

impl Deny {
    /// The types this deny closes to `organization`.
    pub fn denied_to(&self, organization: &str) -> TypeSet {
        if self.organizations.as_ref().is_some_and(|orgs| !orgs.iter().any(|o| o == organization)) {
            return TypeSet::none();
        }
        let excepted = self
            .except
            .iter()
            .filter(|p| p.organization == organization)
            .fold(TypeSet::none(), |acc, p| acc.union(&p.types));
        self.types.minus(&excepted)
    }
}

/// What a Consent grants and denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTerms {
    /// The Patient's logical id.
    pub patient_id: String,
    /// Whether it is in force (`status = active`); otherwise it grants and denies nothing.
    pub in_force: bool,
    /// What it permits, one per organisation.
    pub permits: Vec<Permit>,
    /// What it denies (to the patient's other consents too).
    pub denies: Vec<Deny>,
    /// Why parts of it grant nothing, for the answer to whoever submitted it (names elements and
    /// organisations, never patient data).
    pub notes: Vec<String>,
}

/// A Consent the bridge cannot enforce as written: stored, it would grant more or less than it
/// says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConsentRefusal {
    /// The offending element (`Consent.provision.provision[0].purpose`).
    pub path: String,
    /// Why it cannot be enforced.
    pub reason: String,
}

fn refuse(path: impl Into<String>, reason: impl Into<String>) -> ConsentRefusal {
    ConsentRefusal { path: path.into(), reason: reason.into() }
}

/// The terms of stored `canonical` Consent JSON; `None` when it is no Consent, names no patient,
/// or cannot be enforced (which ingest refuses, so only content stored before the check).
pub fn terms(canonical: &[u8]) -> Option<ConsentTerms> {
    let Ok(Resource::Consent(consent)) = fhir_models::parse_resource(canonical) else { return None };
    read(&consent).ok().flatten()
}

/// The terms of a Consent; `Ok(None)` when it names no patient, an error when it is in force and
/// holds what the bridge cannot enforce.
pub fn read(consent: &Consent) -> Result<Option<ConsentTerms>, ConsentRefusal> {
    let reference = consent.patient.as_ref().and_then(|p| p.reference.as_ref()).and_then(|r| r.as_str());
    let Some(patient_id) =
        reference.and_then(|r| r.strip_prefix("Patient/")).map(|id| id.split('/').next().unwrap_or(id).to_owned())
    else {
        // A Consent in force whose patient is named otherwise (an absolute URL, a contained
        // Patient) would be stored under that patient and yet grant and deny nothing: refuse it.
        if consent.patient.is_some() && consent.status.as_ref().and_then(|s| s.as_str()) == Some("active") {
            return Err(refuse(
                "Consent.patient.reference",
                "the bridge enforces a Consent whose patient is a relative reference Patient/{id}; this one would be stored but grant and deny nothing",
            ));
        }
        return Ok(None);
    };
    let mut terms =
        ConsentTerms { patient_id, in_force: false, permits: Vec::new(), denies: Vec::new(), notes: Vec::new() };
    if consent.status.as_ref().and_then(|s| s.as_str()) != Some("active") {
        terms.notes.push("Consent.status: not active, so it grants nothing".to_owned());
        return Ok(Some(terms));
    }
    terms.in_force = true;
    if !consent.modifier_extension.is_empty() {
        return Err(refuse("Consent.modifierExtension", "a modifier extension the bridge does not understand"));
    }
    if !has_coding(consent.scope.as_deref(), "http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy") {
        terms.notes.push("Consent.scope: not patient-privacy, so it is no consent to share records".to_owned());
        return Ok(Some(terms));
    }
    let Some(base) = consent.provision.as_deref() else {
        terms.notes.push("Consent.provision: absent, so it names no one to share with".to_owned());
        return Ok(Some(terms));
    };
    let base_path = "Consent.provision";
    // R4 leaves the base rule's decision to `policyRule` and the official examples disagree on
    // how to read an untyped base rule (`consent-example-Out` means "withhold" with OPTOUT): the
    // bridge does not guess which way a patient meant it.
    let Some(base_type) = base.r#type.as_ref().and_then(|t| t.as_str()).map(str::to_owned) else {
        return Err(refuse(
            format!("{base_path}.type"),
            "say permit or deny: the bridge does not infer the decision of the base rule",
        ));
    };
    let base_rule = Rule::read(base, base_path, &base_type)?;
    let mut exceptions = Vec::new();
    for (index, nested) in base.provision.iter().enumerate() {
        let path = format!("{base_path}.provision[{index}]");
        let Some(kind) = nested.r#type.as_ref().and_then(|t| t.as_str()) else {
            return Err(refuse(format!("{path}.type"), "a nested provision must say permit or deny"));
        };
        if kind == base_type {
            return Err(refuse(format!("{path}.type"), "a nested provision of the same type as its base rule"));
        }
        if !nested.provision.is_empty() {
            return Err(refuse(format!("{path}.provision[0]"), "provisions nested two levels deep"));
        }
        exceptions.push(Rule::read(nested, &path, kind)?);
    }
    if base_type == "permit" {
        terms.permits = permits_of(&base_rule, &exceptions, &mut terms.notes, base_path)?;
    } else {
        // An exception holds only within its base rule: it permits what the deny would have
        // closed (its types within the deny's, to organisations the deny names), nothing more.
        let mut except = Vec::new();
        for (index, permit) in exceptions.iter().enumerate() {
            let path = format!("{base_path}.provision[{index}]");
            for mut found in permits_of(permit, &[], &mut terms.notes, &path)? {
                if base_rule.organizations.as_ref().is_some_and(|orgs| !orgs.contains(&found.organization)) {
                    terms.notes.push(format!("{path}: {} is outside the deny it excepts from", found.organization));
                    continue;
                }
                found.types = found.types.intersect(&base_rule.types);
                if !found.types.is_empty() {
                    add_permit(&mut except, found, &path)?;
                }
            }
        }
        if base_rule.applies_to_reads {
            // An exception with a period excuses nothing of the patient's other consents: they
            // would outlive its period.
            let carved = except.iter().filter(|p| p.start.is_none() && p.end.is_none()).cloned().collect();
            terms.denies.push(Deny {
                organizations: base_rule.organizations.clone(),
                types: base_rule.types.clone(),
                except: carved,
            });
        } else {
            terms.notes.push(format!("{base_path}.action: denies no read"));
        }
        terms.permits = except;
    }
    Ok(Some(terms))
}

fn is_organization_reference(reference: &str) -> bool {
    fhir_models::validate::is_relative_reference(reference, "Organization")
}

fn has_coding(concept: Option<&CodeableConcept>, system: &str, code: &str) -> bool {
    concept.is_some_and(|c| c.coding.iter().any(|coding| coding_is(coding, system, code)))
}

fn coding_is(coding: &Coding, system: &str, code: &str) -> bool {
    coding.system.as_ref().and_then(|s| s.as_str()) == Some(system)
        && coding.code.as_ref().and_then(|c| c.as_str()) == Some(code)
}

/// One provision, read and checked.
#[derive(Debug)]
struct Rule {
    /// Organisation actors in a recipient role (for a permit), or all organisation actors (deny).
    recipients: Vec<String>,
    /// For a deny: the organisations named, `None` for everyone.
    organizations: Option<Vec<String>>,
    types: TypeSet,
    start: Option<String>,
    end: Option<String>,
    applies_to_reads: bool,
    /// Why actors are not recipients.
    notes: Vec<String>,
}

impl Rule {
    fn read(provision: &ConsentProvision, path: &str, kind: &str) -> Result<Rule, ConsentRefusal> {
        let deny = kind == "deny";
        if !provision.modifier_extension.is_empty() {
            return Err(refuse(
                format!("{path}.modifierExtension"),
                "a modifier extension the bridge does not understand",
            ));
        }
        let unenforceable = [
            ("data", !provision.data.is_empty(), "rules on single resources are not enforced on peer reads"),
            ("dataPeriod", provision.data_period.is_some(), "rules on the clinical period of data are not enforced"),
            ("code", !provision.code.is_empty(), "rules on clinical codes are not enforced"),
            ("purpose", !provision.purpose.is_empty(), "peer reads carry no purpose of use to check"),
            ("securityLabel", !provision.security_label.is_empty(), "rules on security labels are not enforced"),
        ];
        if let Some((element, _, why)) = unenforceable.iter().find(|(_, present, _)| *present) {
            return Err(refuse(format!("{path}.{element}"), *why));
        }
        if deny && provision.period.is_some() {
            return Err(refuse(
                format!("{path}.period"),
                "a deny is in force while its Consent is active; a period on it is not enforced",
            ));
        }
        let mut types = BTreeSet::new();
        for (index, class) in provision.class.iter().enumerate() {
            let system = class.system.as_ref().and_then(|s| s.as_str());
            let code = class.code.as_ref().and_then(|c| c.as_str());
            match (system, code) {
                (Some(RESOURCE_TYPES_SYSTEM), Some(code)) if Resource::is_resource_type(code) => {
                    types.insert(code.to_owned());
                }
                _ => {
                    return Err(refuse(
                        format!("{path}.class[{index}]"),
                        format!("only resource types (system {RESOURCE_TYPES_SYSTEM}) are enforced"),
                    ))
                }
            }
        }
        let mut actions = Vec::new();
        for (index, action) in provision.action.iter().enumerate() {
            let codes: Vec<&str> = action
                .coding
                .iter()
                .filter(|c| c.system.as_ref().and_then(|s| s.as_str()) == Some(ACTION_SYSTEM))
                .filter_map(|c| c.code.as_ref()?.as_str())
                .collect();
            if codes.is_empty() {
                return Err(refuse(
                    format!("{path}.action[{index}]"),
                    format!("an action needs a code of {ACTION_SYSTEM}"),
                ));
            }
            actions.extend(codes);
        }
        let relevant = if deny { DENIED_READ_ACTIONS } else { READ_ACTIONS };
        let applies_to_reads = actions.is_empty() || actions.iter().any(|a| relevant.contains(a));
        let mut recipients = Vec::new();
        let mut named = Vec::new();
        let mut notes = Vec::new();
        for (index, actor) in provision.actor.iter().enumerate() {
            let actor_path = format!("{path}.actor[{index}]");
            let reference = actor.reference.as_ref().and_then(|r| r.reference.as_ref()).and_then(|r| r.as_str());
            let recipient = actor.role.as_deref().is_some_and(|role| {
                RECIPIENT_ROLES.iter().any(|code| has_coding(Some(role), PARTICIPATION_SYSTEM, code))
            });
            match reference {
                // Absolute, versioned or otherwise spelt references would never match a peer or a
                // permit, so a deny written so would deny nothing: refused, as is any odd form.
                Some(org) if org.starts_with("Organization/") && !is_organization_reference(org) => {
                    return Err(refuse(
                        format!("{actor_path}.reference"),
                        "an organisation is named as Organization/{id}, relative and without a version",
                    ))
                }
                Some(org) if org.starts_with("Organization/") => {
                    named.push(org.to_owned());
                    if recipient {
                        recipients.push(org.to_owned());
                    } else if !deny {
                        notes.push(format!(
                            "{actor_path}.role: not a recipient role (IRCP, PRCP), so {org} receives nothing"
                        ));
                    }
                }
                _ if deny || recipient => return Err(refuse(
                    format!("{actor_path}.reference"),
                    "only organisations can be told apart on a peer read; a person or other actor cannot be enforced",
                )),
                _ => notes.push(format!("{actor_path}: not a recipient, receives nothing")),
            }
        }
        let period = provision.period.as_deref();
        let text = |p: Option<&fhir_models::Primitive<String>>| p.and_then(|s| s.as_str()).map(str::to_owned);
        Ok(Rule {
            recipients,
            organizations: (!named.is_empty()).then_some(named),
            types: TypeSet::named_or_all(types),
            start: text(period.and_then(|p| p.start.as_ref())),
            end: text(period.and_then(|p| p.end.as_ref())),
            applies_to_reads,
            notes,
        })
    }
}

/// The permits of a permit rule, narrowed by its deny exceptions.
fn permits_of(
    rule: &Rule,
    exceptions: &[Rule],
    notes: &mut Vec<String>,
    path: &str,
) -> Result<Vec<Permit>, ConsentRefusal> {
    notes.extend(rule.notes.iter().cloned());
    if !rule.applies_to_reads {
        notes.push(format!("{path}.action: permits no read"));
        return Ok(Vec::new());
    }
    if rule.recipients.is_empty() {
        notes.push(format!("{path}.actor: no organisation in a recipient role, so it grants nothing"));
    }
    let mut permits: Vec<Permit> = Vec::new();
    for organization in &rule.recipients {
        let denied = exceptions
            .iter()
            .filter(|deny| deny.applies_to_reads)
            .filter(|deny| deny.organizations.as_ref().is_none_or(|orgs| orgs.contains(organization)))
            .fold(TypeSet::none(), |acc, deny| acc.union(&deny.types));
        let types = rule.types.minus(&denied);
        if types.is_empty() {
            notes.push(format!("{path}: its exceptions leave {organization} nothing"));
            continue;
        }
        let permit =
            Permit { organization: organization.clone(), types, start: rule.start.clone(), end: rule.end.clone() };
        add_permit(&mut permits, permit, path)?;
    }
    Ok(permits)
}

/// Adds `permit` to `permits`, one per organisation: a Grant holds one period, so two permits
/// for one organisation must share theirs.
fn add_permit(permits: &mut Vec<Permit>, permit: Permit, path: &str) -> Result<(), ConsentRefusal> {
    match permits.iter_mut().find(|p| p.organization == permit.organization) {
        Some(known) if known.start == permit.start && known.end == permit.end => {
            known.types = known.types.union(&permit.types);
            Ok(())
        }
        Some(_) => Err(refuse(
            path.to_owned(),
            format!("several permits for {} with different periods in one Consent", permit.organization),
        )),
        None => {
            permits.push(permit);
            Ok(())
        }
    }
}
