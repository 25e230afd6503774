//! Emits the search parameter table: per resource type, every official parameter with its kind,
//! its target types, and its expression as paths of steps (or none, when the expression is
//! beyond the evaluated subset; see `crate::search`).

use std::fmt::Write;

use super::header;
use crate::model::Model;
use crate::search::StepModel;

fn option(value: Option<&String>) -> String {
    match value {
        Some(text) => format!("Some({text:?})"),
        None => "None".to_owned(),
    }
}

fn step(step: &StepModel) -> String {
    let filter = match &step.filter {
        Some((name, literal)) => format!("Some(({name:?}, {literal:?}))"),
        None => "None".to_owned(),
    };
    format!(
        "SearchStep {{ name: {:?}, of_type: {}, filter: {filter}, target: {}, choice: {} }}",
        step.name,
        option(step.of_type.as_ref()),
        option(step.target.as_ref()),
        step.choice
    )
}

pub fn emit(model: &Model) -> String {
    let mut out = header(
        "The FHIR R4 search parameters (the official SearchParameter definitions), per resource type, with their expressions as paths.",
        &model.fhir_version,
    );
    out.push_str("use crate::search::{SearchKind, SearchParam, SearchStep};\n\n");
    let (mut total, mut evaluable) = (0usize, 0usize);
    let mut body = String::new();
    for (resource_type, params) in &model.search {
        let _ = writeln!(body, "    ({resource_type:?}, &[");
        for param in params {
            total += 1;
            let paths = match &param.paths {
                Some(paths) => {
                    evaluable += 1;
                    let paths: Vec<String> = paths
                        .iter()
                        .map(|steps| format!("&[{}]", steps.iter().map(step).collect::<Vec<_>>().join(", ")))
                        .collect();
                    format!("Some(&[{}])", paths.join(", "))
                }
                None => "None".to_owned(),
            };
            let targets: Vec<String> = param.targets.iter().map(|t| format!("{t:?}")).collect();
            let _ = writeln!(
                body,
                "        SearchParam {{ code: {:?}, kind: SearchKind::{}, paths: {paths}, targets: &[{}] }},",
                param.code,
                kind(&param.kind),
                targets.join(", ")
            );
        }
        body.push_str("    ]),\n");
    }
    let _ = writeln!(
        out,
        "/// Every resource type's search parameters (sorted by type, then code, for binary search); `Resource`\n/// and `DomainResource` hold those of every resource. {evaluable} of the {total} have expressions the\n/// runtime evaluates; the others have `paths: None`.\npub static SEARCH_PARAMS: &[(&str, &[SearchParam])] = &["
    );
    out.push_str(&body);
    out.push_str("];\n");
    out
}

fn kind(text: &str) -> &'static str {
    match text {
        "token" => "Token",
        "reference" => "Reference",
        "string" => "String",
        "date" => "Date",
        "quantity" => "Quantity",
        "uri" => "Uri",
        "number" => "Number",
        "composite" => "Composite",
        _ => "Special",
    }
}
