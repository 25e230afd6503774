//! Search parameters: the vendored SearchParameter expressions → paths of steps the runtime
//! evaluates on a resource's JSON (`fhir_models::search`).
//!
//! The FHIRPath the official parameters use is, for 95% of them, a path with a few functions:
//! `as X` / `.as(X)` / `.ofType(X)` (a choice type), `.where(resolve() is X)` (a reference's
//! target type), `.where(name='literal')` and `.extension('url')` (a filter on the items). A
//! parameter any of whose expression parts is more than that is kept with no paths: the server
//! refuses it by name rather than search less than it says.

use crate::ir::Definitions;

/// One parameter of one resource type, for the emitter.
pub struct SearchParamModel {
    pub code: String,
    pub kind: String,
    /// `None`: an expression part this subset cannot evaluate.
    pub paths: Option<Vec<Vec<StepModel>>>,
    pub targets: Vec<String>,
}

/// One step: an element, with what narrows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepModel {
    pub name: String,
    pub of_type: Option<String>,
    pub filter: Option<(String, String)>,
    pub target: Option<String>,
    /// A choice element (`value[x]`) named without its type: any of its typed names.
    pub choice: bool,
}

/// Every resource type's parameters (the `Resource` and `DomainResource` ones under their own
/// names), in type and code order.
pub fn search_params(defs: &Definitions) -> Vec<(String, Vec<SearchParamModel>)> {
    let choices: std::collections::BTreeSet<&str> = defs
        .structures
        .structures
        .iter()
        .flat_map(|s| s.elements.iter())
        .filter_map(|e| e.path.strip_suffix("[x]"))
        .collect();
    defs.search
        .resources
        .iter()
        .map(|resource| {
            let params = resource
                .params
                .iter()
                .map(|param| SearchParamModel {
                    code: param.code.clone(),
                    kind: param.kind.clone(),
                    paths: param
                        .expressions
                        .iter()
                        .map(|expression| {
                            parse(&resource.resource_type, expression)
                                .map(|steps| mark_choices(&resource.resource_type, steps, &choices))
                        })
                        .collect::<Option<Vec<_>>>()
                        .filter(|paths| !paths.is_empty()),
                    targets: param.targets.clone(),
                })
                .collect();
            (resource.resource_type.clone(), params)
        })
        .collect()
}

/// Marks the steps that name a choice element without its type: `Observation.value` is
/// `Observation.value[x]`; an extension's `value` is `Extension.value[x]`.
fn mark_choices(base: &str, mut steps: Vec<StepModel>, choices: &std::collections::BTreeSet<&str>) -> Vec<StepModel> {
    let mut path = base.to_owned();
    for index in 0..steps.len() {
        path.push('.');
        path.push_str(&steps[index].name);
        let in_extension = index > 0 && steps[index - 1].name == "extension" && steps[index].name == "value";
        steps[index].choice = steps[index].of_type.is_none() && (choices.contains(path.as_str()) || in_extension);
    }
    steps
}

/// Parses one expression part that starts with `{base}.` (or `({base}.`).
pub fn parse(base: &str, expression: &str) -> Option<Vec<StepModel>> {
    let expression = expression.trim();
    // `(Type.path as X).rest`: the cast applies to the path's last step.
    if let Some(inner) = expression.strip_prefix('(') {
        let close = matching_close(inner)?;
        let (cast, rest) = (&inner[..close], &inner[close + 1..]);
        let mut steps = parse(base, cast)?;
        let rest = rest.strip_prefix('.')?;
        steps.extend(parse_steps(rest)?);
        return Some(steps);
    }
    let path = expression.strip_prefix(base)?.strip_prefix('.')?;
    // `Type.path as X`: a trailing cast of the last step.
    let (path, cast) = match path.rsplit_once(" as ") {
        Some((path, ty)) if is_identifier(ty.trim()) => (path.trim(), Some(ty.trim())),
        Some(_) => return None,
        None => (path, None),
    };
    let mut steps = parse_steps(path)?;
    if let Some(ty) = cast {
        steps.last_mut()?.of_type = Some(ty.to_owned());
    }
    Some(steps)
}

fn matching_close(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (index, ch) in text.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(index),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `a.b.where(...).c`: dot-separated at the top level.
fn parse_steps(path: &str) -> Option<Vec<StepModel>> {
    let mut steps: Vec<StepModel> = Vec::new();
    for token in split_top(path, '.') {
        let token = token.trim();
        if let Some(argument) = call(token, "where") {
            let step = steps.last_mut()?;
            if let Some(target) = argument.strip_prefix("resolve() is ") {
                step.target = Some(identifier(target)?.to_owned());
            } else {
                let (name, literal) = argument.split_once('=')?;
                let literal = literal.trim().strip_prefix('\'')?.strip_suffix('\'')?;
                step.filter = Some((identifier(name)?.to_owned(), literal.to_owned()));
            }
        } else if let Some(ty) = call(token, "as").or_else(|| call(token, "ofType")) {
            steps.last_mut()?.of_type = Some(identifier(ty)?.to_owned());
        } else if let Some(url) = call(token, "extension") {
            let url = url.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            steps.push(StepModel {
                name: "extension".to_owned(),
                filter: Some(("url".to_owned(), url.to_owned())),
                ..StepModel::default()
            });
        } else {
            steps.push(StepModel { name: identifier(token)?.to_owned(), ..StepModel::default() });
        }
    }
    (!steps.is_empty()).then_some(steps)
}

/// `name(argument)` → the argument.
fn call<'a>(token: &'a str, name: &str) -> Option<&'a str> {
    token.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

fn identifier(text: &str) -> Option<&str> {
    let text = text.trim();
    is_identifier(text).then_some(text)
}

fn is_identifier(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && text.chars().all(|c| c.is_ascii_alphanumeric())
}

fn split_top(text: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut depth, mut start, mut quoted) = (Vec::new(), 0usize, 0, false);
    for (index, ch) in text.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c == separator && depth == 0 && !quoted => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str) -> StepModel {
        StepModel { name: name.to_owned(), ..StepModel::default() }
    }

    #[test]
    fn paths_casts_filters_and_targets_parse() {
        assert_eq!(parse("Patient", "Patient.identifier"), Some(vec![step("identifier")]));
        assert_eq!(parse("Patient", "Patient.name.family"), Some(vec![step("name"), step("family")]));
        let subject = StepModel { target: Some("Patient".into()), ..step("subject") };
        assert_eq!(parse("Observation", "Observation.subject.where(resolve() is Patient)"), Some(vec![subject]));
        let value = StepModel { of_type: Some("Quantity".into()), ..step("value") };
        assert_eq!(parse("Observation", "Observation.value as Quantity"), Some(vec![value.clone()]));
        assert_eq!(parse("Observation", "Observation.value.as(Quantity)"), Some(vec![value]));
        let concept = StepModel { of_type: Some("CodeableConcept".into()), ..step("value") };
        assert_eq!(
            parse("Observation", "(Observation.value as CodeableConcept).text"),
            Some(vec![concept, step("text")])
        );
        let email = StepModel { filter: Some(("system".into(), "email".into())), ..step("telecom") };
        assert_eq!(parse("Patient", "Patient.telecom.where(system='email')"), Some(vec![email]));
        let extension = StepModel { filter: Some(("url".into(), "http://x/y".into())), ..step("extension") };
        assert_eq!(parse("Patient", "Patient.extension('http://x/y').value"), Some(vec![extension, step("value")]));
    }

    #[test]
    fn what_the_subset_cannot_evaluate_is_none() {
        assert_eq!(parse("Bundle", "Bundle.entry[0].resource"), None);
        assert_eq!(parse("Patient", "Patient.link.other.resolve()"), None);
        assert_eq!(parse("Patient", "Patient.deceased.exists() and Patient.deceased != false"), None);
        assert_eq!(parse("Patient", "Observation.code"), None);
    }
}
