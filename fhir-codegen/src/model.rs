//! Stage 2a: the vendored definitions → a Rust-shaped model (structs, fields, choice enums).
//!
//! Naming rules live here: a backbone element `Patient.contact` becomes the struct
//! `PatientContact`; a choice element `Observation.value[x]` becomes the field `value` of type
//! `ObservationValue`, an enum with one variant per allowed type.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail};

use crate::ir::{Definitions, Element, ElementType, Structure};

/// Everything the emitter needs.
pub struct Model {
    pub fhir_version: String,
    /// Complex datatypes and their nested element structs.
    pub datatypes: Vec<StructDef>,
    /// Resources (in name order), each with its backbone element structs.
    pub resources: Vec<ResourceDef>,
    pub value_sets: Vec<ValueSetDef>,
    /// Required bindings that could not be expanded, documented in the generated code.
    pub not_expandable: Vec<(String, String)>,
    /// The Patient compartment, its parameters resolved to element paths.
    pub compartment: CompartmentDef,
    /// Every resource type's search parameters.
    pub search: Vec<(String, Vec<crate::search::SearchParamModel>)>,
}

/// The Patient compartment.
pub struct CompartmentDef {
    pub url: String,
    /// The compartment's resource type (`Patient`).
    pub code: String,
    /// Resource types in the compartment, by name.
    pub resources: Vec<CompartmentResourceDef>,
}

/// A resource type in the compartment.
pub struct CompartmentResourceDef {
    pub resource_type: String,
    pub params: Vec<CompartmentParamDef>,
}

/// A search parameter of the compartment and the Reference elements it searches, as paths
/// relative to the resource (`participant.actor`). `{def}`, the compartment's own resource type
/// being in its own compartment, has none.
pub struct CompartmentParamDef {
    pub code: String,
    pub paths: Vec<String>,
}

/// One resource type and the structs generated for it.
pub struct ResourceDef {
    pub name: String,
    pub doc: String,
    /// The resource struct first, then its backbone elements.
    pub structs: Vec<StructDef>,
}

/// One generated struct.
pub struct StructDef {
    pub rust_name: String,
    /// FHIR path of the element it models (`Patient`, `Patient.contact`).
    pub fhir_path: String,
    pub doc: String,
    pub is_resource: bool,
    pub fields: Vec<Field>,
    pub choices: Vec<ChoiceEnum>,
}

/// One field of a generated struct.
pub struct Field {
    /// JSON member name (for a choice: the stem, e.g. `value`).
    pub json_name: String,
    pub rust_name: String,
    pub doc: String,
    pub min: u32,
    pub many: bool,
    pub ty: FieldType,
    /// Allowed reference targets when `ty` is `Reference`.
    pub targets: Vec<String>,
    /// Const name of the value set of a required binding that can be checked.
    pub binding: Option<String>,
}

/// What a field holds.
#[derive(Clone, PartialEq, Eq)]
pub enum FieldType {
    /// A FHIR primitive with its own `_name` extension member.
    Primitive(Primitive),
    /// A plain string without extension (`Element.id`, `Extension.url`, `Resource.id`), with the
    /// lexical kind it is checked as.
    PlainString(&'static str),
    /// `Narrative.div`.
    Xhtml,
    /// A complex datatype or backbone struct, by Rust name.
    Complex(String),
    /// Any resource (`contained`, `Bundle.entry.resource`).
    Resource,
    /// A choice element, by enum name.
    Choice(String),
}

/// A FHIR primitive type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Primitive {
    /// `PrimitiveKind` variant name.
    pub kind: &'static str,
    /// Rust type of the value.
    pub value_type: &'static str,
}

/// A choice element's enum.
pub struct ChoiceEnum {
    pub rust_name: String,
    pub json_stem: String,
    pub doc: String,
    pub variants: Vec<ChoiceVariant>,
}

/// One type of a choice element.
pub struct ChoiceVariant {
    /// Variant name and JSON suffix (`Quantity`, `DateTime`).
    pub suffix: String,
    pub ty: FieldType,
    pub targets: Vec<String>,
}

/// A value set expanded to codes.
pub struct ValueSetDef {
    pub const_name: String,
    pub url: String,
    pub name: String,
    pub systems: Vec<(String, Vec<String>)>,
}

/// Maps a FHIR primitive type code to its kind and Rust value type.
pub fn primitive(code: &str) -> Option<Primitive> {
    let (kind, value_type) = match code {
        "base64Binary" => ("Base64Binary", "String"),
        "boolean" => ("Boolean", "bool"),
        "canonical" => ("Canonical", "String"),
        "code" => ("Code", "String"),
        "date" => ("Date", "String"),
        "dateTime" => ("DateTime", "String"),
        "decimal" => ("Decimal", "Decimal"),
        "id" => ("Id", "String"),
        "instant" => ("Instant", "String"),
        "integer" => ("Integer", "i32"),
        "markdown" => ("Markdown", "String"),
        "oid" => ("Oid", "String"),
        "positiveInt" => ("PositiveInt", "u32"),
        "string" => ("String", "String"),
        "time" => ("Time", "String"),
        "unsignedInt" => ("UnsignedInt", "u32"),
        "uri" => ("Uri", "String"),
        "url" => ("Url", "String"),
        "uuid" => ("Uuid", "String"),
        _ => return None,
    };
    Some(Primitive { kind, value_type })
}

const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// `birthDate` → `birth_date`; keywords become raw identifiers (`r#type`).
pub fn rust_field_name(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 4);
    for (i, ch) in json.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    if RUST_KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else {
        out
    }
}

/// `dateTime` → `DateTime`.
pub fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `administrative-gender` → `ADMINISTRATIVE_GENDER`.
fn const_name(url: &str) -> String {
    let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    let mut out = String::new();
    let mut prev_lower = false;
    for ch in last.chars() {
        if ch.is_ascii_alphanumeric() {
            if ch.is_ascii_uppercase() && prev_lower {
                out.push('_');
            }
            prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
            out.push(ch.to_ascii_uppercase());
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("VS_{out}")
    } else {
        out
    }
}

/// Turns an element path segment list into a struct name: `Patient.contact` → `PatientContact`.
fn struct_name(path: &str) -> String {
    path.split('.').map(upper_first).collect()
}

impl Model {
    pub fn build(defs: &Definitions) -> anyhow::Result<Self> {
        let mut value_sets = Vec::new();
        let mut vs_const = BTreeMap::new();
        let mut used_names = BTreeSet::new();
        for vs in &defs.value_sets.value_sets {
            let mut name = const_name(&vs.url);
            while !used_names.insert(name.clone()) {
                name.push('_');
            }
            vs_const.insert(vs.url.clone(), name.clone());
            value_sets.push(ValueSetDef {
                const_name: name,
                url: vs.url.clone(),
                name: vs.name.clone(),
                systems: vs.systems.iter().map(|s| (s.system.clone(), s.codes.clone())).collect(),
            });
        }
        let complex_types: BTreeSet<&str> = defs
            .structures
            .structures
            .iter()
            .filter(|s| s.kind == "complex-type" && !s.is_abstract)
            .map(|s| s.name.as_str())
            .collect();
        let resource_types: BTreeSet<&str> = defs
            .structures
            .structures
            .iter()
            .filter(|s| s.kind == "resource" && !s.is_abstract)
            .map(|s| s.name.as_str())
            .collect();
        let builder = Builder { vs_const: &vs_const, complex_types: &complex_types, resource_types: &resource_types };

        let mut datatypes = Vec::new();
        let mut resources = Vec::new();
        for structure in &defs.structures.structures {
            if structure.is_abstract || structure.kind == "primitive-type" {
                continue;
            }
            let structs = builder.structs_for(structure)?;
            if structure.kind == "resource" {
                resources.push(ResourceDef {
                    name: structure.name.clone(),
                    doc: structure.description.clone(),
                    structs,
                });
            } else {
                datatypes.extend(structs);
            }
        }
        datatypes.sort_by(|a, b| a.rust_name.cmp(&b.rust_name));
        resources.sort_by(|a, b| a.name.cmp(&b.name));

        // Every generated name must be unique across the crate.
        let mut names = BTreeSet::new();
        let all = datatypes.iter().chain(resources.iter().flat_map(|r| r.structs.iter()));
        for s in all {
            for name in std::iter::once(&s.rust_name).chain(s.choices.iter().map(|c| &c.rust_name)) {
                if !names.insert(name.clone()) || name == "Resource" {
                    bail!("generated name {name} is not unique");
                }
            }
        }
        Ok(Self {
            fhir_version: defs.structures.fhir_version.clone(),
            datatypes,
            resources,
            value_sets,
            not_expandable: defs.value_sets.not_expandable.iter().map(|n| (n.url.clone(), n.reason.clone())).collect(),
            compartment: compartment(defs)?,
            search: crate::search::search_params(defs),
        })
    }
}

/// The suffix of a search parameter expression that restricts it to Patient targets; the patient
/// finder only follows references to Patients anyway.
const WHERE_PATIENT: &str = ".where(resolve() is Patient)";

/// Resolves the vendored Patient compartment: each expression must be a path of elements of its
/// resource type ending in a Reference, optionally restricted to Patient targets.
fn compartment(defs: &Definitions) -> anyhow::Result<CompartmentDef> {
    let file = &defs.compartment;
    let structures: BTreeMap<&str, &Structure> =
        defs.structures.structures.iter().filter(|s| s.kind == "resource").map(|s| (s.name.as_str(), s)).collect();
    let mut resources = Vec::new();
    for resource in &file.resources {
        let structure = structures
            .get(resource.resource_type.as_str())
            .ok_or_else(|| anyhow!("compartment: {} is no resource type", resource.resource_type))?;
        let mut params = Vec::new();
        if resource.resource_type == file.code {
            params.push(CompartmentParamDef { code: "{def}".to_owned(), paths: Vec::new() });
        }
        for param in &resource.params {
            let mut paths = Vec::new();
            for expression in &param.expressions {
                let path = expression.strip_suffix(WHERE_PATIENT).unwrap_or(expression);
                let element = structure
                    .elements
                    .iter()
                    .find(|e| e.path == path)
                    .ok_or_else(|| anyhow!("compartment: {expression:?} ({}) is no element path", param.code))?;
                if !element.types.iter().any(|t| t.code == "Reference") {
                    bail!("compartment: {path} ({}) is no Reference", param.code);
                }
                let relative = path.strip_prefix(&format!("{}.", resource.resource_type)).unwrap_or(path);
                if !paths.iter().any(|p| p == relative) {
                    paths.push(relative.to_owned());
                }
            }
            params.push(CompartmentParamDef { code: param.code.clone(), paths });
        }
        resources.push(CompartmentResourceDef { resource_type: resource.resource_type.clone(), params });
    }
    if !resources.windows(2).all(|w| w[0].resource_type < w[1].resource_type) {
        bail!("compartment: resource types are not sorted and unique");
    }
    Ok(CompartmentDef { url: file.url.clone(), code: file.code.clone(), resources })
}

struct Builder<'a> {
    vs_const: &'a BTreeMap<String, String>,
    complex_types: &'a BTreeSet<&'a str>,
    resource_types: &'a BTreeSet<&'a str>,
}

impl Builder<'_> {
    /// The struct for `structure` and one for each of its nested (backbone) elements.
    fn structs_for(&self, structure: &Structure) -> anyhow::Result<Vec<StructDef>> {
        let elements = &structure.elements;
        // Paths of elements that have children: these become structs.
        let parents: BTreeSet<&str> =
            elements.iter().filter_map(|e| e.path.rsplit_once('.').map(|(parent, _)| parent)).collect();
        let mut out = Vec::new();
        for parent in elements.iter().filter(|e| parents.contains(e.path.as_str())) {
            let is_root = !parent.path.contains('.');
            let rust_name = struct_name(&parent.path);
            let mut fields = Vec::new();
            let mut choices = Vec::new();
            let children = elements.iter().filter(|e| e.path.rsplit_once('.').is_some_and(|(p, _)| p == parent.path));
            for child in children {
                if child.max == "0" {
                    continue;
                }
                let (field, choice) = self.field(structure, child, &rust_name, &parents)?;
                fields.push(field);
                choices.extend(choice);
            }
            let doc = if is_root {
                if structure.description.is_empty() {
                    parent.short.clone()
                } else {
                    structure.description.clone()
                }
            } else {
                parent.short.clone()
            };
            out.push(StructDef {
                rust_name,
                fhir_path: parent.path.clone(),
                doc,
                is_resource: is_root && structure.kind == "resource",
                fields,
                choices,
            });
        }
        if out.is_empty() {
            bail!("{} has no elements", structure.name);
        }
        Ok(out)
    }

    fn field(
        &self,
        structure: &Structure,
        element: &Element,
        owner: &str,
        parents: &BTreeSet<&str>,
    ) -> anyhow::Result<(Field, Option<ChoiceEnum>)> {
        let name = element.path.rsplit('.').next().unwrap_or(&element.path);
        let many = element.max != "1";
        let binding = element.required_binding.as_ref().and_then(|url| self.vs_const.get(url)).cloned();
        let mut targets = Vec::new();
        let mut choice = None;
        let (json_name, ty) = if let Some(stem) = name.strip_suffix("[x]") {
            let enum_name = format!("{owner}{}", upper_first(stem));
            let mut variants = Vec::new();
            for t in &element.types {
                let ty = self.type_of(structure, element, t, parents)?;
                variants.push(ChoiceVariant { suffix: upper_first(&t.code), ty, targets: t.targets.clone() });
            }
            choice = Some(ChoiceEnum {
                rust_name: enum_name.clone(),
                json_stem: stem.to_owned(),
                doc: element.short.clone(),
                variants,
            });
            (stem.to_owned(), FieldType::Choice(enum_name))
        } else if let Some(reference) = &element.content_reference {
            let target = reference.trim_start_matches('#');
            (name.to_owned(), FieldType::Complex(struct_name(target)))
        } else if parents.contains(element.path.as_str()) {
            (name.to_owned(), FieldType::Complex(struct_name(&element.path)))
        } else {
            let [t] = element.types.as_slice() else {
                bail!("{} has {} types but is not a choice", element.path, element.types.len());
            };
            targets = t.targets.clone();
            (name.to_owned(), self.type_of(structure, element, t, parents)?)
        };
        let field = Field {
            rust_name: rust_field_name(&json_name),
            json_name,
            doc: element.short.clone(),
            min: element.min,
            many,
            ty,
            targets,
            binding,
        };
        Ok((field, choice))
    }

    fn type_of(
        &self,
        structure: &Structure,
        element: &Element,
        t: &ElementType,
        parents: &BTreeSet<&str>,
    ) -> anyhow::Result<FieldType> {
        if let Some(p) = primitive(&t.code) {
            return Ok(FieldType::Primitive(p));
        }
        Ok(match t.code.as_str() {
            "System.String" => {
                let is_resource_id = structure.kind == "resource"
                    && element.path.split('.').count() == 2
                    && element.path.ends_with(".id");
                let kind = match t.fhir_type.as_deref() {
                    _ if is_resource_id => "Id",
                    Some("uri") => "Uri",
                    Some("id") => "Id",
                    _ => "String",
                };
                FieldType::PlainString(kind)
            }
            "xhtml" => FieldType::Xhtml,
            // A specific resource type (`Bundle.entry.response.outcome`) is held as any resource.
            code if code == "Resource" || self.resource_types.contains(code) => FieldType::Resource,
            "Element" | "BackboneElement" if parents.contains(element.path.as_str()) => {
                FieldType::Complex(struct_name(&element.path))
            }
            code if self.complex_types.contains(code) => FieldType::Complex(code.to_owned()),
            code => return Err(anyhow!("{}: unsupported type {code}", element.path)),
        })
    }
}
