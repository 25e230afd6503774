//! The FHIR R4 search parameters, as generated from the official SearchParameter definitions
//! (`fhir-codegen`), and what a resource's JSON holds for each: the exact-match *terms* of
//! token, reference, uri, string and date parameters, the same strings for the index at write
//! time and for a query at search time, so the two cannot drift apart.
//!
//! A term names the form of the match: `tsc|system|code` (a token with its system, empty when
//! it has none), `tc|code` (a token's code in any system), `ts|system` (any code of a system),
//! `r|Type/id` (a reference), `u|uri`, `sp|prefix` and `sx|exact` (strings: [`string`]),
//! `ds|…` and `de|…` (the first and last day of a date's range: [`date`]). The store hashes them
//! (with the type and the parameter) under its deployment secret: the index never holds them in
//! clear.

mod date;
pub mod string;

pub use crate::generated::search_params::SEARCH_PARAMS;

/// A search parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchKind {
    /// `token`.
    Token,
    /// `reference`.
    Reference,
    /// `string`.
    String,
    /// `date`.
    Date,
    /// `quantity`.
    Quantity,
    /// `uri`.
    Uri,
    /// `number`.
    Number,
    /// `composite`.
    Composite,
    /// `special`.
    Special,
}

impl SearchKind {
    /// Whether its values are exact-match terms (token, reference, uri).
    pub const fn is_exact(self) -> bool {
        matches!(self, SearchKind::Token | SearchKind::Reference | SearchKind::Uri)
    }

    /// Whether the blind index holds its values: the exact-match kinds, strings (by prefix) and
    /// dates (by the days their ranges start and end).
    pub const fn is_indexed(self) -> bool {
        self.is_exact() || matches!(self, SearchKind::String | SearchKind::Date)
    }

    /// The FHIR code.
    pub const fn code(self) -> &'static str {
        match self {
            SearchKind::Token => "token",
            SearchKind::Reference => "reference",
            SearchKind::String => "string",
            SearchKind::Date => "date",
            SearchKind::Quantity => "quantity",
            SearchKind::Uri => "uri",
            SearchKind::Number => "number",
            SearchKind::Composite => "composite",
            SearchKind::Special => "special",
        }
    }
}

/// One step of a parameter's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchStep {
    /// The element (`subject`; for a choice, its name without the type: `value`).
    pub name: &'static str,
    /// The choice type (`Quantity`: `valueQuantity`).
    pub of_type: Option<&'static str>,
    /// Only items whose member equals the literal (`system`, `email`; `url` of an extension).
    pub filter: Option<(&'static str, &'static str)>,
    /// Only references to this resource type.
    pub target: Option<&'static str>,
    /// A choice element named without its type (`Observation.value`): whichever typed name
    /// (`valueQuantity`, `valueString`) the resource has.
    pub choice: bool,
}

/// One search parameter of a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParam {
    /// Its code (`identifier`, `subject`).
    pub code: &'static str,
    /// Its type.
    pub kind: SearchKind,
    /// Its expression, as alternative paths; `None` when the expression is beyond what is
    /// evaluated (such a parameter is refused by name, never searched by half).
    pub paths: Option<&'static [&'static [SearchStep]]>,
    /// For a reference: the types it may point to.
    pub targets: &'static [&'static str],
}

fn params_of(resource_type: &str) -> &'static [SearchParam] {
    SEARCH_PARAMS.binary_search_by(|(t, _)| (*t).cmp(resource_type)).map_or(&[], |i| SEARCH_PARAMS[i].1)
}

/// The parameter `code` of `resource_type` (its own, or one of every resource's).
pub fn search_param(resource_type: &str, code: &str) -> Option<&'static SearchParam> {
    [resource_type, "DomainResource", "Resource"].into_iter().find_map(|t| params_of(t).iter().find(|p| p.code == code))
}

impl SearchParam {
    /// Whether this server searches it: a kind the index holds, with an expression it evaluates.
    /// `phonetic` is not, though it is a string: its definition asks for a sound-alike algorithm,
    /// and a prefix match would answer something else.
    pub fn is_searched(&self) -> bool {
        self.kind.is_indexed() && self.paths.is_some() && self.code != "phonetic"
    }
}

/// The most index terms one resource may have (a string gives up to 33, a date 10); a resource
/// with more is refused at validation, so no write can grow the index without bound.
pub const MAX_TERMS_PER_RESOURCE: usize = 200_000;

/// Every index term of a resource, with its parameter's code (`_id` is indexed by the resource
/// pseudonym instead).
pub fn resource_terms(resource_type: &str, resource: &serde_json::Value) -> Vec<(&'static str, String)> {
    let mut terms = Vec::new();
    for param in search_params(resource_type).filter(|p| p.code != "_id") {
        terms.extend(index_terms(param, resource).into_iter().map(|term| (param.code, term)));
    }
    terms
}

/// Every parameter of `resource_type`, its own and every resource's.
pub fn search_params(resource_type: &str) -> impl Iterator<Item = &'static SearchParam> {
    params_of(resource_type).iter().chain(params_of("DomainResource")).chain(params_of("Resource"))
}

/// The items a path selects in a resource.
fn select<'a>(resource: &'a serde_json::Value, path: &[SearchStep]) -> Vec<&'a serde_json::Value> {
    let mut items = vec![resource];
    for step in path {
        let mut next = Vec::new();
        for item in items {
            let Some(object) = item.as_object() else { continue };
            let found = match step.of_type {
                Some(ty) => object.get(&choice_key(step.name, ty)),
                None if step.choice => {
                    object.iter().find(|(key, _)| is_choice_of(key, step.name)).map(|(_, value)| value)
                }
                None => object.get(step.name),
            };
            match found {
                Some(serde_json::Value::Array(values)) => next.extend(values.iter()),
                Some(value) => next.push(value),
                None => {}
            }
        }
        if let Some((member, literal)) = step.filter {
            next.retain(|item| item.get(member).and_then(serde_json::Value::as_str) == Some(literal));
        }
        if let Some(target) = step.target {
            next.retain(|item| reference_type(item).as_deref() == Some(target));
        }
        items = next;
    }
    items
}

fn choice_key(name: &str, ty: &str) -> String {
    let mut chars = ty.chars();
    match chars.next() {
        Some(first) => format!("{name}{}{}", first.to_ascii_uppercase(), chars.as_str()),
        None => name.to_owned(),
    }
}

fn is_choice_of(key: &str, name: &str) -> bool {
    key.strip_prefix(name).and_then(|rest| rest.chars().next()).is_some_and(|c| c.is_ascii_uppercase())
}

/// `Type/id` of a literal reference (relative, or absolute with the type and id last, or with a
/// `_history` suffix); `None` for contained (`#`) and `urn:` references.
pub fn normalise_reference(reference: &str) -> Option<String> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    let mut segments: Vec<&str> = reference.split('/').filter(|s| !s.is_empty()).collect();
    if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
        segments.truncate(segments.len() - 2);
    }
    match segments.as_slice() {
        [.., ty, id] if crate::Resource::is_resource_type(ty) && crate::validate::is_fhir_id(id) => {
            Some(format!("{ty}/{id}"))
        }
        _ => None,
    }
}

/// The type a reference points to: its `type`, or the type in its literal reference.
fn reference_type(item: &serde_json::Value) -> Option<String> {
    if let Some(ty) = item.get("type").and_then(serde_json::Value::as_str) {
        return Some(ty.to_owned());
    }
    let reference = normalise_reference(item.get("reference").and_then(serde_json::Value::as_str)?)?;
    reference.split('/').next().map(str::to_owned)
}

fn token_terms(item: &serde_json::Value, terms: &mut Vec<String>) {
    let mut push = |system: Option<&str>, code: &str| {
        let system = system.unwrap_or("");
        terms.push(format!("tsc|{system}|{code}"));
        terms.push(format!("tc|{code}"));
        if !system.is_empty() {
            terms.push(format!("ts|{system}"));
        }
    };
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    match item {
        serde_json::Value::String(code) => push(None, code),
        serde_json::Value::Bool(flag) => push(None, if *flag { "true" } else { "false" }),
        serde_json::Value::Object(object) => {
            let system = object.get("system").and_then(serde_json::Value::as_str);
            if let Some(codings) = object.get("coding").and_then(serde_json::Value::as_array) {
                for coding in codings {
                    if let Some(code) = coding.get("code").and_then(text) {
                        push(coding.get("system").and_then(serde_json::Value::as_str), &code);
                    }
                }
            } else if let Some(code) = object.get("code").and_then(text) {
                push(system, &code);
            } else if let Some(value) = object.get("value").and_then(text) {
                // Identifier and ContactPoint: the value, in the identifier's system.
                push(system, &value);
            }
        }
        _ => {}
    }
}

/// The index terms `resource` has for `param` (none for kinds not indexed, or paths not
/// evaluated), deduplicated.
pub fn index_terms(param: &SearchParam, resource: &serde_json::Value) -> Vec<String> {
    let (Some(paths), true) = (param.paths, param.is_searched()) else { return Vec::new() };
    let mut terms = Vec::new();
    for path in paths {
        for item in select(resource, path) {
            match param.kind {
                SearchKind::Token => token_terms(item, &mut terms),
                SearchKind::Reference => {
                    if let Some(reference) =
                        item.get("reference").and_then(serde_json::Value::as_str).and_then(reference_term)
                    {
                        terms.push(format!("r|{reference}"));
                    }
                }
                SearchKind::Uri => {
                    if let Some(uri) = item.as_str() {
                        terms.push(format!("u|{uri}"));
                    }
                }
                SearchKind::String => string::value_terms(item, &mut terms),
                SearchKind::Date => date::value_terms(item, &mut terms),
                _ => {}
            }
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

/// What a reference is searched by: `Type/id` for a relative reference, the whole URL (without a
/// `_history` suffix) for an absolute one. Another server's `https://b.example/fhir/Patient/1` is
/// not this server's `Patient/1`, so the two must not match.
pub fn reference_term(reference: &str) -> Option<String> {
    let normalised = normalise_reference(reference)?;
    if !reference.contains("://") {
        return Some(normalised);
    }
    let without_history = match reference.rsplit_once("/_history/") {
        Some((head, version)) if !version.contains('/') => head,
        _ => reference,
    };
    Some(without_history.trim_end_matches('/').to_owned())
}

/// The types a reference parameter can match: those its paths restrict it to, when every path
/// does (`Observation.patient`: `subject.where(resolve() is Patient)`), else its targets.
fn reference_targets(param: &SearchParam) -> Vec<&'static str> {
    let restricted: Option<Vec<&'static str>> =
        param.paths.and_then(|paths| paths.iter().map(|path| path.last().and_then(|step| step.target)).collect());
    let mut targets = restricted.unwrap_or_else(|| param.targets.to_vec());
    targets.sort_unstable();
    targets.dedup();
    targets
}

/// Why a query value cannot be searched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TermError(pub String);

/// Splits a query value on unescaped commas (FHIR's OR), unescaping `\,` `\|` `\$` `\\`.
pub fn split_or(value: &str) -> Vec<String> {
    let (mut parts, mut current, mut chars) = (Vec::new(), String::new(), value.chars());
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some(escaped @ (',' | '$' | '\\')) => current.push(escaped),
                Some('|') => current.push_str("\\|"),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(ch),
        }
    }
    parts.push(current);
    parts
}

/// The terms one query value (no commas) matches, any of them: the index's terms for
/// `system|code`, `|code`, `system|`, `code`, `Type/id`, `id`, or a uri.
pub fn query_terms(param: &SearchParam, value: &str) -> Result<Vec<String>, TermError> {
    if value.is_empty() {
        return Err(TermError(format!("{} has an empty value", param.code)));
    }
    match param.kind {
        SearchKind::Token => {
            // An escaped `\|` is part of the code, not the separator.
            let split = value.match_indices('|').map(|(i, _)| i).find(|&i| i == 0 || value.as_bytes()[i - 1] != b'\\');
            let unescape = |text: &str| text.replace("\\|", "|");
            Ok(vec![match split {
                None => format!("tc|{}", unescape(value)),
                Some(i) => {
                    let (system, code) = (unescape(&value[..i]), unescape(&value[i + 1..]));
                    match (system.is_empty(), code.is_empty()) {
                        (_, false) => format!("tsc|{system}|{code}"),
                        (false, true) => format!("ts|{system}"),
                        (true, true) => return Err(TermError(format!("{}: `|` alone matches nothing", param.code))),
                    }
                }
            }])
        }
        SearchKind::Reference => match reference_term(value) {
            Some(reference) => Ok(vec![format!("r|{reference}")]),
            None if crate::validate::is_fhir_id(value) && !reference_targets(param).is_empty() => {
                Ok(reference_targets(param).iter().map(|ty| format!("r|{ty}/{value}")).collect())
            }
            None => Err(TermError(format!("{}: not a reference (Type/id, or an id)", param.code))),
        },
        SearchKind::Uri => Ok(vec![format!("u|{value}")]),
        other => Err(TermError(format!("{} is a {} parameter: not searched by term", param.code, other.code()))),
    }
}

/// What one query value (no commas) matches in the index: every group, each by any of its terms
/// (one group for tokens, references, uris and strings; a date's prefix can need two). `exact` is
/// the `:exact` modifier of a string parameter.
pub fn query_groups(param: &SearchParam, value: &str, exact: bool) -> Result<Vec<Vec<String>>, TermError> {
    match param.kind {
        // `\|` is an escaped `|` (kept escaped by `split_or` for tokens, whose separator it is).
        SearchKind::String => Ok(vec![vec![string::query(param.code, &value.replace("\\|", "|"), exact)?]]),
        SearchKind::Date if value.is_empty() => Err(TermError(format!("{} has an empty value", param.code))),
        SearchKind::Date => date::query(param.code, value),
        _ => Ok(vec![query_terms(param, value)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_generated_table_has_the_official_parameters() {
        let identifier = search_param("Patient", "identifier").expect("Patient.identifier");
        assert_eq!(identifier.kind, SearchKind::Token);
        let subject = search_param("Observation", "subject").expect("Observation.subject");
        assert_eq!(subject.kind, SearchKind::Reference);
        assert!(subject.targets.contains(&"Patient"));
        assert_eq!(search_param("Observation", "_id").map(|p| p.kind), Some(SearchKind::Token));
        assert!(search_param("Patient", "no-such-parameter").is_none());
        let evaluable = SEARCH_PARAMS.iter().flat_map(|(_, p)| p.iter()).filter(|p| p.paths.is_some()).count();
        let all = SEARCH_PARAMS.iter().map(|(_, p)| p.len()).sum::<usize>();
        assert!(all > 1300 && evaluable * 100 / all >= 90, "{evaluable} of {all} evaluable");
    }

    #[test]
    fn identifiers_codes_and_references_give_their_terms() {
        let patient = json!({"resourceType": "Patient", "id": "p1", "gender": "female", "active": true,
            "identifier": [{"system": "urn:mrn", "value": "123"}, {"value": "no-system"}]});
        let terms = index_terms(search_param("Patient", "identifier").unwrap(), &patient);
        assert!(terms.contains(&"tsc|urn:mrn|123".to_owned()) && terms.contains(&"tc|123".to_owned()), "{terms:?}");
        assert!(terms.contains(&"ts|urn:mrn".to_owned()) && terms.contains(&"tsc||no-system".to_owned()));
        assert_eq!(index_terms(search_param("Patient", "gender").unwrap(), &patient), ["tc|female", "tsc||female"]);
        assert_eq!(index_terms(search_param("Patient", "active").unwrap(), &patient), ["tc|true", "tsc||true"]);
        let observation = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "subject": {"reference": "https://h.example/fhir/Patient/p1/_history/2"},
            "valueQuantity": {"value": 72, "system": "http://unitsofmeasure.org", "code": "/min"}});
        let code = index_terms(search_param("Observation", "code").unwrap(), &observation);
        assert!(code.contains(&"tsc|http://loinc.org|8867-4".to_owned()), "{code:?}");
        let absolute = "r|https://h.example/fhir/Patient/p1";
        assert_eq!(index_terms(search_param("Observation", "subject").unwrap(), &observation), [absolute]);
        assert_eq!(index_terms(search_param("Observation", "patient").unwrap(), &observation), [absolute]);
        // Another server's Patient/p1 is not this server's.
        let subject = search_param("Observation", "subject").unwrap();
        assert_eq!(query_terms(subject, "Patient/p1").unwrap(), ["r|Patient/p1"]);
        assert_eq!(query_terms(subject, "https://h.example/fhir/Patient/p1").unwrap(), [absolute]);
        // An element that is no choice does not fall back to a sibling that starts with its name.
        let body = json!({"resourceType": "BodyStructure", "locationQualifier": [{"coding": [{"code": "left"}]}]});
        assert!(index_terms(search_param("BodyStructure", "location").unwrap(), &body).is_empty());
        // A choice named without its type finds whichever type is there.
        let dated = json!({"resourceType": "Observation", "valueCodeableConcept": {"coding": [{"code": "pos"}]}});
        assert!(
            index_terms(search_param("Observation", "value-concept").unwrap(), &dated).contains(&"tc|pos".to_owned())
        );
        // `patient` only follows references to Patients.
        let group = json!({"resourceType": "Observation", "subject": {"reference": "Group/g1"}});
        assert!(index_terms(search_param("Observation", "patient").unwrap(), &group).is_empty());
    }

    #[test]
    fn query_values_give_the_same_terms() {
        let identifier = search_param("Patient", "identifier").unwrap();
        assert_eq!(query_terms(identifier, "urn:mrn|123").unwrap(), ["tsc|urn:mrn|123"]);
        assert_eq!(query_terms(identifier, "|123").unwrap(), ["tsc||123"]);
        assert_eq!(query_terms(identifier, "urn:mrn|").unwrap(), ["ts|urn:mrn"]);
        assert_eq!(query_terms(identifier, "123").unwrap(), ["tc|123"]);
        assert_eq!(query_terms(identifier, "a\\|b").unwrap(), ["tc|a|b"]);
        assert!(query_terms(identifier, "|").is_err());
        assert_eq!(query_terms(identifier, "é|x").unwrap(), ["tsc|é|x"], "non-ASCII values split on characters");
        let patient = search_param("Observation", "patient").unwrap();
        assert_eq!(query_terms(patient, "p1").unwrap(), ["r|Patient/p1"]);
        assert_eq!(query_terms(patient, "Patient/p1").unwrap(), ["r|Patient/p1"]);
        assert_eq!(split_or("a,b\\,c"), ["a", "b,c"]);
        assert!(query_terms(search_param("Patient", "birthdate").unwrap(), "2020").is_err());
    }

    /// Whether the index terms of `resource` meet the groups of a query value, as the store
    /// evaluates them: every group has a term the resource has.
    fn meets(resource: &serde_json::Value, ty: &str, code: &str, value: &str) -> bool {
        let param = search_param(ty, code).unwrap();
        let terms = index_terms(param, resource);
        query_groups(param, value, false).unwrap().iter().all(|group| group.iter().any(|t| terms.contains(t)))
    }

    #[test]
    fn strings_match_by_prefix_ignoring_case_and_accents() {
        let patient = json!({"resourceType": "Patient", "name": [{"use": "official", "family": "Ångström", "given": ["Mary  Ann", "Q"]}],
            "address": [{"city": "Zürich", "line": ["1 Main St"]}]});
        for (code, value, expected) in [
            ("name", "ang", true),
            ("name", "ÅNGSTRÖM", true),
            ("name", "angstroms", false),
            ("name", "mary ann", true),
            ("name", "ann", false),
            ("name", "official", false),
            ("family", "ang", true),
            ("family", "mary", false),
            ("given", "q", true),
            ("address", "zur", true),
            ("address-city", "1 main", false),
            ("address", "1 main", true),
        ] {
            assert_eq!(meets(&patient, "Patient", code, value), expected, "{code}={value}");
        }
        let family = search_param("Patient", "family").unwrap();
        let terms = index_terms(family, &patient);
        assert!(terms.contains(&"sx|Ångström".to_owned()));
        assert_eq!(query_groups(family, "Ångström", true).unwrap(), [["sx|Ångström"]]);
        assert!(query_groups(family, &"x".repeat(string::PREFIX_CHARS + 1), false).is_err());
        assert!(query_groups(family, "  ", false).is_err());
        assert!(query_groups(family, "", true).is_err());
        // Folding: full-width forms, a final sigma; marks that are part of a letter stay, and a
        // Hangul syllable is not matched by its first jamo.
        let folded =
            json!({"resourceType": "Patient", "name": [{"family": "ＳＭＩＴＨ", "given": ["ΟΔΟΣ", "किरण", "김"]}]});
        assert!(meets(&folded, "Patient", "family", "smith"));
        assert!(meets(&folded, "Patient", "given", "οδος"));
        assert!(!meets(&folded, "Patient", "given", "करण"));
        assert!(meets(&folded, "Patient", "given", "किर"));
        assert!(!meets(&folded, "Patient", "given", "기"));
        assert!(meets(&folded, "Patient", "given", "김"));
        // An escaped | is a |; phonetic is not searched (a prefix is no sound-alike).
        let org = json!({"resourceType": "Organization", "name": "A|B"});
        assert!(meets(&org, "Organization", "name", "a\\|b"));
        assert!(!search_param("Patient", "phonetic").unwrap().is_searched());
        assert!(index_terms(search_param("Patient", "phonetic").unwrap(), &patient).is_empty());
    }

    #[test]
    fn dates_match_by_the_prefixes_of_fhir() {
        let born = json!({"resourceType": "Patient", "birthDate": "1970-05-12"});
        for (value, expected) in [
            ("1970-05-12", true),
            ("1970-05", true),
            ("1970", true),
            ("1971", false),
            ("eq1970-05-13", false),
            ("ne1970-05-12", false),
            ("ne1970-05-13", true),
            ("gt1970-05-11", true),
            ("gt1970-05-12", false),
            ("ge1970-05-12", true),
            ("ge1970-05-13", false),
            ("lt1970-05-13", true),
            ("lt1970-05-12", false),
            ("le1970-05-12", true),
            ("le1970-05-11", false),
            ("sa1970-05-11", true),
            ("sa1970-05-12", false),
            ("eb1970-05-13", true),
            ("eb1970-05", false),
            ("gt1969", true),
            ("lt2000-01-01", true),
            ("ge0001-01-01", true),
            ("le9999-12-31", true),
        ] {
            assert_eq!(meets(&born, "Patient", "birthdate", value), expected, "birthdate={value}");
        }
        // A year-precision value is the whole year: in 1970 but not in May 1970; after May's
        // start (gt) since it ends later; not entirely after (sa).
        let year = json!({"resourceType": "Patient", "birthDate": "1970"});
        for (value, expected) in
            [("1970", true), ("1970-05", false), ("gt1970-05", true), ("sa1970-05", false), ("lt1970-05", true)]
        {
            assert_eq!(meets(&year, "Patient", "birthdate", value), expected, "1970 vs {value}");
        }
        // A dateTime counts by its day in UTC; a Period by its bounds, an open end as ongoing.
        let timed = json!({"resourceType": "Observation", "effectiveDateTime": "2020-02-29T23:30:00-05:00"});
        assert!(meets(&timed, "Observation", "date", "2020-03-01"), "04:30 UTC on March 1st");
        assert!(!meets(&timed, "Observation", "date", "2020-02-29"));
        let early = json!({"resourceType": "Observation", "effectiveDateTime": "2021-01-01T00:30:00+01:00"});
        assert!(meets(&early, "Observation", "date", "2020-12-31"));
        let plain = json!({"resourceType": "Observation", "effectiveInstant": "2021-06-01T12:00:00.123Z"});
        assert!(meets(&plain, "Observation", "date", "2021-06-01"));
        // A Timing is one range: its first event or bound to its last.
        let timing = json!({"resourceType": "Observation", "effectiveTiming": {"event": ["2020-01-01", "2020-12-31"]}});
        assert!(!meets(&timing, "Observation", "date", "2020-01-01"));
        assert!(meets(&timing, "Observation", "date", "2020"));
        let bounded = json!({"resourceType": "CarePlan", "activity": [{"detail": {
            "scheduledTiming": {"repeat": {"boundsPeriod": {"start": "2020-01-01", "end": "2020-03-31"}}}}}]});
        assert!(meets(&bounded, "CarePlan", "activity-date", "2020"));
        assert!(!meets(&bounded, "CarePlan", "activity-date", "gt2020-03-31"));
        let ongoing = json!({"resourceType": "Encounter", "period": {"start": "2019-12-30"}});
        assert!(meets(&ongoing, "Encounter", "date", "gt2030"));
        assert!(meets(&ongoing, "Encounter", "date", "ge2019-12-30"));
        assert!(!meets(&ongoing, "Encounter", "date", "2020"), "an ongoing period is not within 2020");
        assert!(!meets(&ongoing, "Encounter", "date", "lt2019-12-30"));
        assert!(!meets(&ongoing, "Encounter", "date", "eb2050"), "it has not ended");
        let closed = json!({"resourceType": "Encounter", "period": {"start": "2020-01-10", "end": "2020-03-05"}});
        assert!(meets(&closed, "Encounter", "date", "2020"));
        assert!(!meets(&closed, "Encounter", "date", "2020-01"));
        assert!(meets(&closed, "Encounter", "date", "eb2020-03-06"));
        assert!(meets(&closed, "Encounter", "date", "ge2020-02"));
        let birthdate = search_param("Patient", "birthdate").unwrap();
        for refused in ["2020-01-01T10:00:00Z", "ap2020", "xx2020", "2020-02-30", "20", "0000"] {
            assert!(query_groups(birthdate, refused, false).is_err(), "{refused} was accepted");
        }
        // A range is covered by few terms, not one per day.
        let wide = query_groups(birthdate, "ge1901-02-03", false).unwrap();
        assert!(wide.iter().all(|group| group.len() < 700), "{:?}", wide.iter().map(Vec::len).collect::<Vec<_>>());
        // A one-day value is a point: five terms, not ten.
        let day = json!({"resourceType": "Patient", "birthDate": "1970-05-12"});
        assert_eq!(index_terms(birthdate, &day).len(), 5, "{:?}", index_terms(birthdate, &day));
    }
}
