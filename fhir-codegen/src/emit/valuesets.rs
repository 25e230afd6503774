//! Emits the expanded value sets of required bindings as static code lists.

use std::fmt::Write;

use super::header;
use crate::model::Model;

pub fn emit(model: &Model) -> String {
    let mut out = header(
        "Value sets of the required bindings in FHIR R4, expanded to their codes (sorted for binary search).",
        &model.fhir_version,
    );
    out.push_str("use crate::validate::{SystemCodes, ValueSet};\n\n");
    out.push_str("/// Required bindings whose value set cannot be expanded from the definitions, and why; codes\n/// bound to them are checked for format only.\npub const NOT_CHECKED: &[(&str, &str)] = &[\n");
    for (url, reason) in &model.not_expandable {
        let _ = writeln!(out, "    ({url:?}, {reason:?}),");
    }
    out.push_str("];\n\n");
    for vs in &model.value_sets {
        let _ = writeln!(out, "/// `{}` ({}).", vs.url, vs.name);
        let _ = writeln!(
            out,
            "pub static {}: ValueSet = ValueSet {{\n    url: {:?},\n    systems: &[",
            vs.const_name, vs.url
        );
        for (system, codes) in &vs.systems {
            let _ = writeln!(out, "        SystemCodes {{\n            system: {system:?},\n            codes: &[");
            for code in codes {
                let _ = writeln!(out, "                {code:?},");
            }
            out.push_str("            ],\n        },\n");
        }
        out.push_str("    ],\n};\n\n");
    }
    out
}
