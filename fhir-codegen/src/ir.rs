//! The trimmed, vendored form of the official definitions: only what the generator needs.
//!
//! `extract` writes it; `generate` reads it. Keeping this small and in the repository means the
//! models can be regenerated (and checked for staleness) without the official package (190 MB
//! unpacked; see the crate docs).

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// File name of the vendored structure definitions.
pub const STRUCTURES_FILE: &str = "structures.json";
/// File name of the vendored, expanded value sets.
pub const VALUE_SETS_FILE: &str = "valuesets.json";
/// File name of the vendored Patient compartment definition.
pub const COMPARTMENT_FILE: &str = "compartment-patient.json";
/// File name of the vendored search parameters.
pub const SEARCH_PARAMETERS_FILE: &str = "search-parameters.json";

/// Everything the generator reads.
#[derive(Debug)]
pub struct Definitions {
    pub structures: StructuresFile,
    pub value_sets: ValueSetsFile,
    pub compartment: CompartmentFile,
    pub search: SearchParametersFile,
}

impl Definitions {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).with_context(|| format!("reading {}", dir.join(name).display()))
        };
        Ok(Self {
            structures: serde_json::from_str(&read(STRUCTURES_FILE)?)?,
            value_sets: serde_json::from_str(&read(VALUE_SETS_FILE)?)?,
            compartment: serde_json::from_str(&read(COMPARTMENT_FILE)?)?,
            search: serde_json::from_str(&read(SEARCH_PARAMETERS_FILE)?)?,
        })
    }
}

/// The structure definitions (types and resources) of one FHIR version.
#[derive(Debug, Serialize, Deserialize)]
pub struct StructuresFile {
    pub fhir_version: String,
    pub structures: Vec<Structure>,
}

/// One StructureDefinition (kind primitive-type, complex-type or resource; specialisations only).
#[derive(Debug, Serialize, Deserialize)]
pub struct Structure {
    pub name: String,
    pub kind: String,
    #[serde(rename = "abstract")]
    pub is_abstract: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<Element>,
}

/// One element of a snapshot.
#[derive(Debug, Serialize, Deserialize)]
pub struct Element {
    pub path: String,
    pub min: u32,
    pub max: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub short: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<ElementType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_reference: Option<String>,
    /// The value set URL of a required binding (other strengths are not enforced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_binding: Option<String>,
}

/// One allowed type of an element.
#[derive(Debug, Serialize, Deserialize)]
pub struct ElementType {
    /// FHIR type code (`string`, `Reference`, ...) or `System.String`-style FHIRPath system types.
    pub code: String,
    /// For the FHIRPath system types: the FHIR type the element stands for (`id`, `uri`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_type: Option<String>,
    /// For Reference: allowed target resource types (`Resource` means any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

/// The expanded value sets of required bindings.
#[derive(Debug, Serialize, Deserialize)]
pub struct ValueSetsFile {
    pub value_sets: Vec<ExpandedValueSet>,
    /// Required bindings whose value set cannot be expanded from the definitions, with why.
    pub not_expandable: Vec<NotExpandable>,
}

/// A value set reduced to its codes, per code system.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExpandedValueSet {
    pub url: String,
    pub name: String,
    pub systems: Vec<SystemCodes>,
}

/// The codes of one code system included in a value set (sorted, unique).
#[derive(Debug, Serialize, Deserialize)]
pub struct SystemCodes {
    pub system: String,
    pub codes: Vec<String>,
}

/// A value set the generator cannot check, and the reason.
#[derive(Debug, Serialize, Deserialize)]
pub struct NotExpandable {
    pub url: String,
    pub reason: String,
}

/// The Patient compartment (`CompartmentDefinition-patient.json`), with each search parameter
/// replaced by the parts of its FHIRPath expression that apply to the resource type.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompartmentFile {
    /// The CompartmentDefinition's canonical URL.
    pub url: String,
    /// The compartment's resource type (`Patient`): its instances are in their own compartment.
    pub code: String,
    /// The resource types in the compartment (those with at least one parameter), by name.
    pub resources: Vec<CompartmentResource>,
}

/// A resource type in the compartment and the search parameters that put it there.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompartmentResource {
    pub resource_type: String,
    pub params: Vec<CompartmentParam>,
}

/// One search parameter of the compartment: its code and the parts of its SearchParameter's
/// expression that start with the resource type (`Encounter.subject.where(resolve() is Patient)`).
#[derive(Debug, Serialize, Deserialize)]
pub struct CompartmentParam {
    pub code: String,
    pub expressions: Vec<String>,
}

/// The official (non-experimental) SearchParameters, per base resource type (`Resource` for the
/// parameters of every resource: `_id`, `_lastUpdated`, ...), each with the parts of its FHIRPath
/// expression that start with that type.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchParametersFile {
    pub resources: Vec<SearchResource>,
}

/// A resource type's search parameters, by code.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchResource {
    pub resource_type: String,
    pub params: Vec<SearchParameterDef>,
}

/// One search parameter on one base type.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchParameterDef {
    pub code: String,
    /// `token`, `reference`, `string`, `date`, `quantity`, `uri`, `number`, `composite`, `special`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The expression's parts for this type (`Observation.subject.where(resolve() is Patient)`);
    /// empty when the parameter has no expression (`_text`, `_content`, ...).
    pub expressions: Vec<String>,
    /// For references: the resource types it may point to.
    pub targets: Vec<String>,
}
