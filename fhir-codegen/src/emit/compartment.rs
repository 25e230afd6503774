//! Emits the Patient compartment: per resource type, the search parameters that put it in the
//! compartment and the elements they search.

use std::fmt::Write;

use super::header;
use crate::model::Model;

pub fn emit(model: &Model) -> String {
    let compartment = &model.compartment;
    let mut out = header(
        "The FHIR R4 Patient compartment: which search parameters put a resource in a patient's compartment, resolved to the elements they search.",
        &model.fhir_version,
    );
    out.push_str("use crate::compartment::CompartmentParam;\n\n");
    let _ = writeln!(out, "/// The CompartmentDefinition this table is generated from.\npub const PATIENT_COMPARTMENT_URL: &str = {:?};\n", compartment.url);
    let _ = writeln!(
        out,
        "/// The resource type whose instances are in their own compartment (`{{def}}`).\npub const PATIENT_COMPARTMENT_CODE: &str = {:?};\n",
        compartment.code
    );
    out.push_str("/// The resource types in the Patient compartment (sorted by type, for binary search), each with\n/// the search parameters that put it there. Types not listed are not in the compartment.\npub static PATIENT_COMPARTMENT: &[(&str, &[CompartmentParam])] = &[\n");
    for resource in &compartment.resources {
        let _ = writeln!(out, "    ({:?}, &[", resource.resource_type);
        for param in &resource.params {
            let paths: Vec<String> = param.paths.iter().map(|p| format!("{p:?}")).collect();
            let _ =
                writeln!(out, "        CompartmentParam {{ code: {:?}, paths: &[{}] }},", param.code, paths.join(", "));
        }
        out.push_str("    ]),\n");
    }
    out.push_str("];\n");
    out
}
