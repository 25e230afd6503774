//! The patient a resource belongs to, whose key it is sealed under, found by the FHIR Patient
//! compartment ([`fhir_models::compartment`]) in the resource, in the resources it contains and in
//! the resources nested in it (a Bundle's entries, a Parameters' resources).
//!
//! The rules (ARCHITECTURE.md, "Keys"; SECURITY.md, "Which key a record is sealed under"):
//! - A Patient belongs to itself (`{def}`); its `link`s name other Patient records, not its owner.
//! - Any other resource belongs to the Patients its compartment elements reference as
//!   `Patient/{id}` (also `…/Patient/{id}` and `Patient/{id}/_history/{v}`). When they name
//!   several, the elements that say whom the record is about (`patient`, `subject`,
//!   `beneficiary`) decide, so an Observation's subject owns it whatever its performer; two
//!   different patients there, or in the other elements when there is none, are refused.
//! - Contained and nested resources belong to the same patient as their container: a Bundle of
//!   two patients' records, or an Observation holding another patient's Observation, is refused.
//! - A Patient the bridge cannot identify (a contained Patient, a `Patient?…` conditional
//!   reference, a reference of `type` Patient without `Patient/{id}`, an id-less Patient in a
//!   nested Bundle) has no key. Inside a resource that names its own patient it is part of that
//!   patient's record; otherwise the resource is refused, because no patient's consent could
//!   reach it and the institution key would leave patient data outside every patient's key.
//! - Resources in no patient's compartment that hold none (Organization, Medication, ...) belong
//!   to no patient: they are sealed under the institution key.
//!
//! Refusals name the path, never a value. Resources nested deeper than
//! [`MAX_RESOURCE_DEPTH`] are refused rather than partly searched.

use fhir_json::{JsonKind, JsonReader};
use fhir_models::compartment::{patient_compartment, PATIENT_COMPARTMENT_CODE};

/// How deep resources may nest in one another (a Bundle in a Bundle is depth 1, a resource
/// contained in one of its entries depth 2). FHIR needs 3 at most in practice.
pub const MAX_RESOURCE_DEPTH: usize = 8;

/// The compartment search parameters that say whom a record is about; the others (performer,
/// author, recorder, payee, ...) name patients that took part.
const SUBJECT_PARAMETERS: &[&str] = &["patient", "subject", "beneficiary"];

/// Why a resource cannot be sealed under one patient's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRefusal {
    /// The FHIR path of the element that makes it so.
    pub path: String,
    /// Why, naming no value.
    pub reason: String,
}

/// Finds the patient of a resource in canonical (or any well-formed) FHIR JSON. `root` is the
/// path to name in refusals (`Observation`, `Bundle.entry[2].resource`); `own_id` is the id the
/// resource is stored under, when the caller knows it (a Patient is its own patient).
///
/// `Ok(None)`: the resource belongs to no patient (the institution key).
pub fn find_patient(canonical: &[u8], root: &str, own_id: Option<&str>) -> Result<Option<String>, PatientRefusal> {
    let mut reader = JsonReader::new(canonical);
    let walker = Walker { may_contain: fhir_json::mentions(canonical, b"\"contained\"") };
    let owner = walker.resource(&mut reader, root, Kind::Top { own_id }, 0, None)?;
    match owner {
        None => Ok(None),
        Some(Owner::Patient { id, .. }) => Ok(Some(id)),
        Some(Owner::Unidentified { path }) => Err(PatientRefusal {
            path,
            reason: "a Patient without an id of its own (contained, or not referenced as Patient/id) is the only \
                     patient of this resource: the bridge cannot place it under any patient's consent; send the \
                     Patient as a resource and reference it as Patient/id"
                .to_owned(),
        }),
    }
}

/// Where a resource is.
#[derive(Clone, Copy)]
enum Kind<'a> {
    /// The resource being stored, with the id it is stored under.
    Top { own_id: Option<&'a str> },
    /// Nested in another as a resource of its own (a Bundle entry, a Parameters resource).
    Nested,
    /// In a resource's `contained`: no identity outside its container.
    Contained,
}

/// The patient a resource (with what it holds) belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    /// A Patient by id, first named at `path`.
    Patient { id: String, path: String },
    /// A Patient the bridge cannot identify, at `path`.
    Unidentified { path: String },
}

/// A patient an element references.
struct Named {
    owner: Owner,
    /// Whether the element says whom the record is about.
    subject: bool,
}

/// What a path pattern leads to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A compartment Reference element; `true` when it is a subject parameter.
    Reference { subject: bool },
    /// A resource held in this one.
    Resource { contained: bool },
}

/// One pattern: element names from the resource (`participant`, `actor`); a name ending in `*`
/// matches that element any number of times (`Parameters.parameter.part`, which nests itself).
struct Pattern {
    segments: Vec<&'static str>,
    target: Target,
}

struct Walker {
    /// Whether the input has a `contained` member at all (most do not: skip the look for one).
    may_contain: bool,
}

/// What one resource's walk found.
#[derive(Default)]
struct Found {
    named: Vec<Named>,
    held: Vec<Owner>,
}

impl Walker {
    /// The owner of the resource object at the reader's position (consumed). `container_locals`
    /// are the ids of the Patients contained in the resource that contains this one.
    fn resource(
        &self,
        r: &mut JsonReader<'_>,
        path: &str,
        kind: Kind<'_>,
        depth: usize,
        container_locals: Option<&[String]>,
    ) -> Result<Option<Owner>, PatientRefusal> {
        if depth > MAX_RESOURCE_DEPTH {
            return Err(refusal(path, format!("resources nest more than {MAX_RESOURCE_DEPTH} deep")));
        }
        let malformed = || refusal(path, "not a well-formed resource".to_owned());
        if r.peek_kind().map_err(|_| malformed())? != JsonKind::Object {
            return Err(malformed());
        }
        let resource_type = r.peek_object_string_member("resourceType").map_err(|_| malformed())?.unwrap_or_default();
        let resource_type = resource_type.as_ref();
        // Local (`#id`) references resolve among the contained resources of the resource that
        // contains them: a contained resource's among its container's.
        let own_locals;
        let locals: &[String] = match kind {
            Kind::Contained => container_locals.unwrap_or_default(),
            _ if self.may_contain => {
                own_locals = contained_patient_ids(r).map_err(|_| malformed())?;
                &own_locals
            }
            _ => &[],
        };
        // A Patient belongs to itself: by the id it is stored under, or the one it carries when
        // nested; a contained Patient has no identity outside its container.
        let own_patient = match (resource_type == PATIENT_COMPARTMENT_CODE, kind) {
            (false, _) => None,
            (true, Kind::Contained) => Some(Owner::Unidentified { path: path.to_owned() }),
            (true, Kind::Top { own_id: Some(id) }) => Some(Owner::Patient { id: id.to_owned(), path: path.to_owned() }),
            (true, _) => Some(match r.peek_object_string_member("id").map_err(|_| malformed())? {
                Some(id) => Owner::Patient { id: id.into_owned(), path: format!("{path}.id") },
                None => Owner::Unidentified { path: path.to_owned() },
            }),
        };

        let patterns = patterns(resource_type);
        let mut found = Found::default();
        let mut path_buf = path.to_owned();
        let states: Vec<(usize, usize)> = (0..patterns.len()).map(|p| (p, 0)).collect();
        self.walk(r, &patterns, &states, &mut path_buf, depth, locals, &mut found)?;

        let own = match own_patient {
            Some(own) => Some(own),
            None => {
                let any_subject = found.named.iter().any(|n| n.subject);
                one_owner(found.named.iter().filter(|n| n.subject || !any_subject).map(|n| &n.owner))?
            }
        };
        combine(own, &found.held)
    }

    /// Walks one value under the given pattern states (pattern, next segment).
    #[allow(clippy::too_many_arguments, reason = "one recursive walk carries its whole state")]
    fn walk(
        &self,
        r: &mut JsonReader<'_>,
        patterns: &[Pattern],
        states: &[(usize, usize)],
        path: &mut String,
        depth: usize,
        locals: &[String],
        found: &mut Found,
    ) -> Result<(), PatientRefusal> {
        let malformed = |path: &str| refusal(path, "not well-formed JSON".to_owned());
        match r.peek_kind().map_err(|_| malformed(path))? {
            JsonKind::Array => {
                r.begin_array().map_err(|_| malformed(path))?;
                let mut index = 0;
                while r.next_element().map_err(|_| malformed(path))? {
                    let mark = path.len();
                    path.push_str(&format!("[{index}]"));
                    self.walk(r, patterns, states, path, depth, locals, found)?;
                    path.truncate(mark);
                    index += 1;
                }
            }
            JsonKind::Object => {
                let complete = states.iter().find(|(p, s)| *s == patterns[*p].segments.len());
                if let Some(&(p, _)) = complete {
                    match patterns[p].target {
                        Target::Reference { subject } => {
                            if let Some(owner) = reference(r, path, locals).map_err(|_| malformed(path))? {
                                found.named.push(Named { owner, subject });
                            }
                        }
                        Target::Resource { contained } => {
                            let kind = if contained { Kind::Contained } else { Kind::Nested };
                            let owner = self.resource(r, path, kind, depth + 1, Some(locals))?;
                            found.held.extend(owner);
                        }
                    }
                    return Ok(());
                }
                r.begin_object().map_err(|_| malformed(path))?;
                while let Some(key) = r.next_key().map_err(|_| malformed(path))? {
                    let next = advance(patterns, states, &key);
                    if next.is_empty() {
                        r.skip_value().map_err(|_| malformed(path))?;
                        continue;
                    }
                    let mark = path.len();
                    path.push('.');
                    path.push_str(&key);
                    self.walk(r, patterns, &next, path, depth, locals, found)?;
                    path.truncate(mark);
                }
            }
            _ => r.skip_value().map_err(|_| malformed(path))?,
        }
        Ok(())
    }
}

/// The patterns to follow in a resource of `resource_type`: its compartment elements, what it
/// contains, and where resources nest in Bundles and Parameters (the R4 elements of type
/// Resource: `DomainResource.contained`, `Bundle.entry.resource`, `Bundle.entry.response.outcome`,
/// `Parameters.parameter.resource` and its `part`s).
fn patterns(resource_type: &str) -> Vec<Pattern> {
    let mut patterns = Vec::new();
    for param in patient_compartment(resource_type).unwrap_or_default() {
        let subject = SUBJECT_PARAMETERS.contains(&param.code);
        for path in param.paths {
            patterns.push(Pattern { segments: path.split('.').collect(), target: Target::Reference { subject } });
        }
    }
    let nested: &[&[&'static str]] = match resource_type {
        "Bundle" => &[&["entry", "resource"], &["entry", "response", "outcome"]],
        "Parameters" => &[&["parameter", "part*", "resource"]],
        _ => &[],
    };
    for segments in nested {
        patterns.push(Pattern { segments: segments.to_vec(), target: Target::Resource { contained: false } });
    }
    patterns.push(Pattern { segments: vec!["contained"], target: Target::Resource { contained: true } });
    patterns
}

/// The states after member `key`.
fn advance(patterns: &[Pattern], states: &[(usize, usize)], key: &str) -> Vec<(usize, usize)> {
    let mut next = Vec::new();
    for &(p, s) in states {
        let mut s = s;
        // A repeated segment matches again or is passed over.
        while let Some(segment) = patterns[p].segments.get(s) {
            match segment.strip_suffix('*') {
                Some(stem) => {
                    if stem == key {
                        next.push((p, s));
                    }
                    s += 1;
                }
                None => {
                    if *segment == key {
                        next.push((p, s + 1));
                    }
                    break;
                }
            }
        }
    }
    next
}

/// Reads the Reference object at the reader's position: the patient it names, if any.
fn reference(r: &mut JsonReader<'_>, path: &str, locals: &[String]) -> Result<Option<Owner>, fhir_json::DecodeError> {
    let mut text = None;
    let mut of_type_patient = false;
    r.begin_object()?;
    while let Some(key) = r.next_key()? {
        match &*key {
            "reference" if r.peek_kind()? == JsonKind::String => text = Some(r.read_str()?.into_owned()),
            "type" if r.peek_kind()? == JsonKind::String => of_type_patient = r.read_str()? == PATIENT_COMPARTMENT_CODE,
            _ => r.skip_value()?,
        }
    }
    let reference_path = format!("{path}.reference");
    let unidentified = Owner::Unidentified { path: reference_path.clone() };
    let owner = match text.as_deref() {
        Some(local) if local.starts_with('#') => {
            let id = &local[1..];
            (of_type_patient || locals.iter().any(|p| p == id)).then_some(unidentified)
        }
        Some(text) => match patient_id(text) {
            Some(id) => Some(Owner::Patient { id: id.to_owned(), path: reference_path }),
            None if text.starts_with("Patient?") || of_type_patient => Some(unidentified),
            None => None,
        },
        None => of_type_patient.then_some(unidentified),
    };
    Ok(owner)
}

/// The id in a `Patient/{id}` reference, relative or absolute, with or without `_history`.
fn patient_id(reference: &str) -> Option<&str> {
    let without_history = match reference.find("/_history/") {
        Some(at) => &reference[..at],
        None => reference,
    };
    let (before, id) = without_history.rsplit_once('/')?;
    let is_patient = before == PATIENT_COMPARTMENT_CODE || before.ends_with("/Patient");
    (is_patient && fhir_models::validate::is_fhir_id(id)).then_some(id)
}

/// The ids of the Patients in the `contained` of the resource object at the reader's position
/// (which does not move).
fn contained_patient_ids(r: &JsonReader<'_>) -> Result<Vec<String>, fhir_json::DecodeError> {
    let mut r = r.clone();
    let mut ids = Vec::new();
    r.begin_object()?;
    while let Some(key) = r.next_key()? {
        if key != "contained" || r.peek_kind()? != JsonKind::Array {
            r.skip_value()?;
            continue;
        }
        r.begin_array()?;
        while r.next_element()? {
            let is_patient = r.peek_kind()? == JsonKind::Object
                && r.peek_object_string_member("resourceType")?.as_deref() == Some(PATIENT_COMPARTMENT_CODE);
            if is_patient {
                ids.extend(r.peek_object_string_member("id")?.map(|id| id.into_owned()));
            }
            r.skip_value()?;
        }
    }
    Ok(ids)
}

/// The one patient among `named`: none, one, or a refusal naming where the second one is.
fn one_owner<'a>(named: impl Iterator<Item = &'a Owner>) -> Result<Option<Owner>, PatientRefusal> {
    let mut owner: Option<Owner> = None;
    for next in named {
        match (&owner, next) {
            (None, _) => owner = Some(next.clone()),
            (Some(Owner::Patient { id, .. }), Owner::Patient { id: other, .. }) if id == other => {}
            (Some(first), _) => return Err(two_patients(first, next)),
        }
    }
    Ok(owner)
}

/// The owner of a resource from its own and what it holds: held resources must belong to the
/// resource's own patient; an unidentified Patient held in a resource is accepted only when the
/// resource names its patient itself.
fn combine(own: Option<Owner>, held: &[Owner]) -> Result<Option<Owner>, PatientRefusal> {
    let mut owner = own.clone();
    for next in held {
        match (&owner, next) {
            (None, _) => owner = Some(next.clone()),
            (Some(Owner::Patient { id, .. }), Owner::Patient { id: other, .. }) if id == other => {}
            (Some(Owner::Patient { .. }), Owner::Unidentified { .. }) if own.is_some() => {}
            (Some(Owner::Unidentified { .. }), Owner::Unidentified { .. }) => {}
            (Some(first), _) => return Err(two_patients(first, next)),
        }
    }
    Ok(owner)
}

fn two_patients(first: &Owner, second: &Owner) -> PatientRefusal {
    let first_path = match first {
        Owner::Patient { path, .. } | Owner::Unidentified { path } => path,
    };
    let second_path = match second {
        Owner::Patient { path, .. } | Owner::Unidentified { path } => path.clone(),
    };
    refusal(
        &second_path,
        format!(
            "names another patient than {first_path}: a record sealed under one patient's key would be readable by \
             that patient's grantees; send each patient's data as resources of their own"
        ),
    )
}

fn refusal(path: &str, reason: String) -> PatientRefusal {
    PatientRefusal { path: path.to_owned(), reason }
}

/// The patient a resource in canonical form belongs to, by the rule the writer applies when it
/// stores it (a Patient is its own). `None` also when the content is one the writer refuses.
/// A reader that has only the content (a grantee checking a custodian's answer) calls this.
pub fn owning_patient(resource_type: &str, canonical: &[u8]) -> Option<String> {
    let own_id = JsonReader::new(canonical).peek_object_string_member("id").ok().flatten();
    find_patient(canonical, resource_type, own_id.as_deref()).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<Option<String>, PatientRefusal> {
        let own_id = JsonReader::new(json.as_bytes()).peek_object_string_member("id").ok().flatten();
        find_patient(json.as_bytes(), "X", own_id.as_deref())
    }

    fn patient(json: &str) -> Option<String> {
        check(json).unwrap_or_else(|refusal| panic!("refused: {refusal:?}"))
    }

    fn refused_at(json: &str) -> String {
        let refusal = check(json).expect_err("refused");
        refusal.path
    }

    #[test]
    fn the_compartment_elements_name_the_patient() {
        assert_eq!(
            patient(r#"{"resourceType":"Observation","subject":{"reference":"Patient/p1"}}"#),
            Some("p1".into())
        );
        assert_eq!(
            patient(r#"{"resourceType":"Encounter","subject":{"reference":"Patient/p1/_history/3"}}"#),
            Some("p1".into())
        );
        assert_eq!(
            patient(r#"{"resourceType":"Consent","patient":{"reference":"http://x.org/fhir/Patient/p2"}}"#),
            Some("p2".into())
        );
        assert_eq!(
            patient(
                r#"{"resourceType":"Appointment","participant":[{"actor":{"reference":"Practitioner/d"}},{"actor":{"reference":"Patient/p3"}}]}"#
            ),
            Some("p3".into())
        );
        // Observation.performer alone puts it in the performer's compartment.
        assert_eq!(
            patient(r#"{"resourceType":"Observation","performer":[{"reference":"Patient/p4"}]}"#),
            Some("p4".into())
        );
        // Elements outside the compartment do not count: Observation.focus is not a compartment element.
        assert_eq!(patient(r#"{"resourceType":"Observation","focus":[{"reference":"Patient/p5"}]}"#), None);
        assert_eq!(patient(r#"{"resourceType":"Observation","subject":{"reference":"Group/g"}}"#), None);
        assert_eq!(patient(r#"{"resourceType":"Organization","name":"x"}"#), None);
        // The old hand-made list took any top-level `patient`; Medication has none in R4's compartment.
        assert_eq!(patient(r#"{"resourceType":"Medication","code":{"text":"x"}}"#), None);
    }

    #[test]
    fn a_patient_is_its_own_whatever_it_links() {
        assert_eq!(
            patient(
                r#"{"resourceType":"Patient","id":"p1","link":[{"other":{"reference":"Patient/p2"},"type":"seealso"}]}"#
            ),
            Some("p1".into())
        );
    }

    #[test]
    fn the_subject_decides_between_two_patients() {
        let json = r#"{"resourceType":"Observation","performer":[{"reference":"Patient/mother"}],"subject":{"reference":"Patient/baby"}}"#;
        assert_eq!(patient(json), Some("baby".into()));
        let json = r#"{"resourceType":"Coverage","beneficiary":{"reference":"Patient/child"},"subscriber":{"reference":"Patient/parent"}}"#;
        assert_eq!(patient(json), Some("child".into()));
    }

    #[test]
    fn two_patients_without_a_subject_to_decide_are_refused() {
        let json = r#"{"resourceType":"Group","member":[{"entity":{"reference":"Patient/a"}},{"entity":{"reference":"Patient/b"}}]}"#;
        assert_eq!(refused_at(json), "X.member[1].entity.reference");
        let json =
            r#"{"resourceType":"Observation","performer":[{"reference":"Patient/a"},{"reference":"Patient/b"}]}"#;
        assert_eq!(refused_at(json), "X.performer[1].reference");
        let json = r#"{"resourceType":"Group","member":[{"entity":{"reference":"Patient/a"}},{"entity":{"reference":"Patient/a"}}]}"#;
        assert_eq!(patient(json), Some("a".into()));
    }

    #[test]
    fn a_contained_patient_is_no_identity() {
        // The review's case: a Patient contained in an Observation without a subject.
        let json =
            r#"{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p"}],"code":{"text":"x"}}"#;
        assert_eq!(refused_at(json), "X.contained[0]");
        // Its subject is the contained Patient.
        let json = r##"{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p"}],"subject":{"reference":"#p"}}"##;
        assert_eq!(refused_at(json), "X.subject.reference");
        // The subject is contained and the performer another patient: the performer does not own it.
        let json = r##"{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"p"}],"performer":[{"reference":"Patient/a"}],"subject":{"reference":"#p"}}"##;
        assert_eq!(refused_at(json), "X.subject.reference");
        // A contained Patient inside a resource that names its own patient is part of that record.
        let json = r##"{"resourceType":"Observation","contained":[{"resourceType":"Patient","id":"m"}],"performer":[{"reference":"#m"}],"subject":{"reference":"Patient/baby"}}"##;
        assert_eq!(patient(json), Some("baby".into()));
        // Conditional and type-only references name no identity either.
        assert_eq!(
            refused_at(r#"{"resourceType":"Observation","subject":{"reference":"Patient?identifier=x|1"}}"#),
            "X.subject.reference"
        );
        assert_eq!(
            refused_at(r#"{"resourceType":"Observation","subject":{"identifier":{"value":"1"},"type":"Patient"}}"#),
            "X.subject.reference"
        );
    }

    #[test]
    fn contained_resources_must_belong_to_the_container_s_patient() {
        let json = r#"{"resourceType":"Observation","contained":[{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/b"}}],"subject":{"reference":"Patient/a"}}"#;
        assert_eq!(refused_at(json), "X.contained[0].subject.reference");
        // A resource of no patient that contains one's data belongs to that patient.
        let json = r#"{"resourceType":"Organization","contained":[{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/b"}}]}"#;
        assert_eq!(patient(json), Some("b".into()));
        let json = r#"{"resourceType":"Observation","contained":[{"resourceType":"Practitioner","id":"d"}],"subject":{"reference":"Patient/a"}}"#;
        assert_eq!(patient(json), Some("a".into()));
    }

    #[test]
    fn nested_resources_are_walked() {
        // A Bundle in a Bundle: stored as one resource, it belongs to its entries' patient.
        let json = r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Organization","id":"o"}},{"resource":{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}}]}"#;
        assert_eq!(patient(json), Some("p1".into()));
        let json = r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}},{"resource":{"resourceType":"Condition","subject":{"reference":"Patient/p2"}}}]}"#;
        assert_eq!(refused_at(json), "X.entry[1].resource.subject.reference");
        // An id-less Patient in a Bundle: no identity.
        let json = r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}"#;
        assert_eq!(refused_at(json), "X.entry[0].resource");
        // Parameters, also in parts of parts, and a response's outcome.
        let json = r#"{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b","part":[{"name":"c","resource":{"resourceType":"Encounter","subject":{"reference":"Patient/p3"}}}]}]}]}"#;
        assert_eq!(patient(json), Some("p3".into()));
        let json = r#"{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"200","outcome":{"resourceType":"Parameters","parameter":[{"name":"x","resource":{"resourceType":"Patient","id":"p4"}}]}}}]}"#;
        assert_eq!(patient(json), Some("p4".into()));
        let json = r#"{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Medication","id":"m"}}]}"#;
        assert_eq!(patient(json), None);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut json = r#"{"resourceType":"Patient","id":"p"}"#.to_owned();
        for _ in 0..=MAX_RESOURCE_DEPTH {
            json = format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{json}}}]}}"#);
        }
        let path = refused_at(&json);
        assert!(path.ends_with(".entry[0].resource"), "{path}");
        let mut json = r#"{"resourceType":"Patient","id":"p"}"#.to_owned();
        for _ in 0..MAX_RESOURCE_DEPTH {
            json = format!(r#"{{"resourceType":"Bundle","type":"collection","entry":[{{"resource":{json}}}]}}"#);
        }
        assert_eq!(patient(&json), Some("p".into()));
    }

    #[test]
    fn patient_references_are_read_by_their_form() {
        assert_eq!(patient_id("Patient/p1"), Some("p1"));
        assert_eq!(patient_id("https://h.org/fhir/Patient/p1/_history/2"), Some("p1"));
        assert_eq!(patient_id("Group/p1"), None);
        assert_eq!(patient_id("MyPatient/p1"), None);
        assert_eq!(patient_id("Patient/"), None);
    }
}
