//! Loading `mappings/`: read every file, check every name, path and type, and compile them into
//! [`Mappings`]. The first problem stops loading with the file, the line and the reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::files::{
    CodingSystemsFile, ConceptFile, Condition, Conditions, Constant, DatatypeFile, MessagesFile, Rule, SegmentFile,
    TableFile, TableTarget,
};
use crate::json::{Json, TargetPath};

/// A mapping file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {reason}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MappingError {
    /// The file.
    pub file: PathBuf,
    /// The line (1-based), when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

/// A path to a value in a segment: `PID-5`, `PID-5.1`, `PID-5.1.2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentPath {
    pub segment: String,
    pub field: usize,
    pub component: Option<usize>,
    pub subcomponent: Option<usize>,
}

impl SegmentPath {
    pub(crate) fn parse(text: &str) -> Option<SegmentPath> {
        let (segment, rest) = text.split_once('-')?;
        if segment.len() != 3 || !segment.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return None;
        }
        let mut numbers = rest.split('.').map(|n| n.parse::<usize>().ok().filter(|n| *n > 0));
        let field = numbers.next()??;
        let component = numbers.next().map(|n| n.ok_or(())).transpose().ok()?;
        let subcomponent = numbers.next().map(|n| n.ok_or(())).transpose().ok()?;
        if numbers.next().is_some() {
            return None;
        }
        Some(SegmentPath { segment: segment.to_owned(), field, component, subcomponent })
    }
}

/// Where a rule takes its value from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A field (all repetitions), or a component or subcomponent of each repetition.
    Segment(SegmentPath),
    /// In a data type map: a component (and subcomponent) of the value.
    Part { component: usize, subcomponent: Option<usize> },
}

/// The FHIR type a value is made as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsType {
    String,
    Code,
    Id,
    Uri,
    Decimal,
    Integer,
    PositiveInt,
    UnsignedInt,
    Boolean,
    Date,
    DateTime,
    Instant,
    Base64,
    /// Text that is base64 already (ED.5 with ED.4 = Base64): checked, kept.
    Base64Checked,
    Coding,
    CodeableConcept,
}

impl AsType {
    fn parse(text: &str) -> Option<AsType> {
        Some(match text {
            "string" | "markdown" => AsType::String,
            "code" => AsType::Code,
            "id" => AsType::Id,
            "uri" => AsType::Uri,
            "decimal" => AsType::Decimal,
            "integer" => AsType::Integer,
            "positiveInt" => AsType::PositiveInt,
            "unsignedInt" => AsType::UnsignedInt,
            "boolean" => AsType::Boolean,
            "date" => AsType::Date,
            "dateTime" => AsType::DateTime,
            "instant" => AsType::Instant,
            "base64Binary" => AsType::Base64,
            "base64" => AsType::Base64Checked,
            "Coding" => AsType::Coding,
            "CodeableConcept" => AsType::CodeableConcept,
            _ => return None,
        })
    }
}

/// How a rule builds its value.
#[derive(Debug, Clone)]
pub(crate) enum ValueKind {
    /// By a data type map.
    Datatype(usize),
    /// A code looked up in a table, made as the type.
    Table(usize, AsType),
    /// A primitive or coded value.
    Plain(AsType),
}

/// A condition, compiled.
#[derive(Debug, Clone)]
pub(crate) enum Check {
    Empty(Source),
    Valued(Source),
    OneOf(Source, Vec<String>),
    NoneOf(Source, Vec<String>),
}

/// A rule, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub from: Source,
    /// The source as written, for error messages (`PID-7`).
    pub from_text: String,
    pub to: TargetPath,
    pub value: ValueKind,
    pub when: Vec<Check>,
    pub first_only: bool,
    pub format: Option<String>,
    pub default: Option<String>,
    pub join: Option<String>,
}

/// A constant, compiled.
#[derive(Debug, Clone)]
pub(crate) struct CompiledConstant {
    pub to: TargetPath,
    pub value: Json,
    pub when: Vec<Check>,
}

/// A segment map.
#[derive(Debug)]
pub(crate) struct SegmentMap {
    pub segment: String,
    pub resource: String,
    pub id_from: Vec<SegmentPath>,
    pub per_message: bool,
    /// The repetition the id's paths into its field read: the first whose value is preferred.
    pub id_repetition: Option<(SegmentPath, Vec<String>)>,
    /// Paths added to the id when the value at the first path is empty.
    pub id_if_empty: Option<(SegmentPath, Vec<SegmentPath>)>,
    pub rules: Vec<CompiledRule>,
    pub constants: Vec<CompiledConstant>,
}

/// A data type map.
#[derive(Debug)]
pub(crate) struct DatatypeMap {
    pub rules: Vec<CompiledRule>,
    pub constants: Vec<CompiledConstant>,
}

/// A table.
#[derive(Debug)]
pub(crate) struct Table {
    pub v2_table: String,
    pub system: Option<String>,
    pub codes: HashMap<String, TableTarget>,
}

/// A reference between resources of a message.
#[derive(Debug)]
pub(crate) struct Reference {
    pub to: TargetPath,
    pub role: String,
    pub all: bool,
    pub after: bool,
    pub fallback: bool,
    pub member: Option<String>,
    pub set: Vec<(String, Json)>,
}

/// What one kind of segment of a message becomes.
#[derive(Debug)]
pub(crate) struct ResourceRule {
    pub segment: String,
    pub map: usize,
    pub role: Option<String>,
    pub into: Option<String>,
    pub refs: Vec<Reference>,
}

/// One message structure: the segments it requires, and what its segments become.
#[derive(Debug)]
pub(crate) struct MessageStructure {
    /// Segment ids a message must have (besides MSH), in the order the file lists them.
    pub required: Vec<String>,
    pub resources: Vec<ResourceRule>,
}

/// A standard coding for a local code.
#[derive(Debug, Clone)]
pub(crate) struct Concept {
    pub system: String,
    pub code: String,
    pub display: Option<String>,
}

/// Every mapping, compiled and checked: what [`crate::Mapper`] applies.
#[derive(Debug, Default)]
pub struct Mappings {
    pub(crate) messages: Vec<MessageStructure>,
    pub(crate) by_event: HashMap<String, usize>,
    pub(crate) by_code: HashMap<String, usize>,
    pub(crate) segments: Vec<SegmentMap>,
    pub(crate) datatypes: Vec<DatatypeMap>,
    pub(crate) tables: Vec<Table>,
    pub(crate) concepts: HashMap<(String, String), Vec<Concept>>,
    pub(crate) systems: HashMap<String, String>,
    pub(crate) default_zone: Option<String>,
    /// How many files were loaded.
    pub files: usize,
}

/// Whether data type map `index`, with the maps its rules use, is at most `levels` deep. The
/// recursion is bounded by `levels`, which also ends a cycle.
fn nests_within(datatypes: &[DatatypeMap], index: usize, levels: usize) -> bool {
    if levels == 0 {
        return false;
    }
    datatypes[index].rules.iter().all(|rule| match rule.value {
        ValueKind::Datatype(inner) => nests_within(datatypes, inner, levels - 1),
        _ => true,
    })
}

/// A file read, with its text for line numbers.
struct LoadedFile<T> {
    path: PathBuf,
    text: String,
    content: T,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

fn error_at<T>(file: &LoadedFile<T>, span: Option<std::ops::Range<usize>>, reason: impl Into<String>) -> MappingError {
    MappingError { file: file.path.clone(), line: span.map(|s| line_of(&file.text, s.start)), reason: reason.into() }
}

fn read_dir<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<Vec<LoadedFile<T>>, MappingError> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => {
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(MappingError { file: dir.to_owned(), line: None, reason: e.to_string() }),
    };
    paths.sort();
    paths.into_iter().map(|p| read_file(&p)).collect()
}

fn read_file<T: serde::de::DeserializeOwned>(path: &Path) -> Result<LoadedFile<T>, MappingError> {
    let text = std::fs::read_to_string(path).map_err(|e| MappingError {
        file: path.to_owned(),
        line: None,
        reason: e.to_string(),
    })?;
    let content = toml::from_str::<T>(&text).map_err(|e| MappingError {
        file: path.to_owned(),
        line: e.span().map(|s| line_of(&text, s.start)),
        reason: e.message().to_owned(),
    })?;
    Ok(LoadedFile { path: path.to_owned(), text, content })
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn toml_to_json(value: &toml::Value) -> Json {
    match value {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::Number(i.to_string()),
        toml::Value::Float(f) => Json::Number(f.to_string()),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(table.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

/// Names of tables and data type maps, for resolving rules.
struct Names {
    tables: HashMap<String, usize>,
    datatypes: HashMap<String, usize>,
}

/// Compiles rules of a segment map (`segment` = its id) or of a data type map (`segment` = None).
struct RuleCompiler<'a, T> {
    file: &'a LoadedFile<T>,
    names: &'a Names,
    segment: Option<&'a str>,
}

impl<T> RuleCompiler<'_, T> {
    fn source(&self, text: &Spanned<String>) -> Result<Source, MappingError> {
        self.source_at(text.get_ref(), text.span())
    }

    fn source_at(&self, text: &str, span: std::ops::Range<usize>) -> Result<Source, MappingError> {
        let bad = |why: &str| error_at(self.file, Some(span.clone()), format!("`{text}`: {why}"));
        match self.segment {
            Some(segment) => {
                let path =
                    SegmentPath::parse(text).ok_or_else(|| bad("expected SEG-field[.component[.subcomponent]]"))?;
                // Another segment's path reads that segment's first occurrence (MSH-9.2, PID-3).
                let _ = segment;
                Ok(Source::Segment(path))
            }
            None => {
                let mut numbers = text.split('.').map(|n| n.parse::<usize>().ok().filter(|n| *n > 0));
                let component = numbers.next().flatten().ok_or_else(|| bad("expected component[.subcomponent]"))?;
                let subcomponent = match numbers.next() {
                    None => None,
                    Some(Some(n)) => Some(n),
                    Some(None) => return Err(bad("expected component[.subcomponent]")),
                };
                if numbers.next().is_some() {
                    return Err(bad("expected component[.subcomponent]"));
                }
                Ok(Source::Part { component, subcomponent })
            }
        }
    }

    fn target(&self, text: &Spanned<String>) -> Result<TargetPath, MappingError> {
        TargetPath::parse(text.get_ref()).ok_or_else(|| {
            error_at(self.file, Some(text.span()), format!("`{}`: not an element path (name[].name)", text.get_ref()))
        })
    }

    /// `span`: the rule's, for errors (conditions keep no spans).
    fn condition(
        &self,
        conditions: &Option<Conditions>,
        span: std::ops::Range<usize>,
    ) -> Result<Vec<Check>, MappingError> {
        let Some(conditions) = conditions else { return Ok(Vec::new()) };
        let mut checks = Vec::new();
        for condition in conditions.as_slice() {
            checks.extend(self.one_condition(condition, span.clone())?);
        }
        Ok(checks)
    }

    fn one_condition(&self, condition: &Condition, span: std::ops::Range<usize>) -> Result<Vec<Check>, MappingError> {
        let mut checks = Vec::new();
        if let Some(path) = &condition.empty {
            checks.push(Check::Empty(self.source_at(path, span.clone())?));
        }
        if let Some(path) = &condition.valued {
            checks.push(Check::Valued(self.source_at(path, span.clone())?));
        }
        if let Some(path) = &condition.path {
            if condition.one_of.is_empty() == condition.not_in.is_empty() {
                return Err(error_at(self.file, Some(span), "a `when` with `path` needs either `in` or `not_in`"));
            }
            if !condition.one_of.is_empty() {
                checks.push(Check::OneOf(self.source_at(path, span.clone())?, condition.one_of.clone()));
            }
            if !condition.not_in.is_empty() {
                checks.push(Check::NoneOf(self.source_at(path, span.clone())?, condition.not_in.clone()));
            }
        }
        Ok(checks)
    }

    fn rule(&self, rule: &Rule) -> Result<CompiledRule, MappingError> {
        let as_type = match &rule.as_type {
            Some(text) => Some(AsType::parse(text.get_ref()).ok_or_else(|| {
                error_at(
                    self.file,
                    Some(text.span()),
                    format!("`as = \"{}\"`: not a supported FHIR type", text.get_ref()),
                )
            })?),
            None => None,
        };
        let value = match (&rule.datatype, &rule.table) {
            (Some(_), Some(table)) => {
                return Err(error_at(self.file, Some(table.span()), "a rule has either `type` or `table`, not both"))
            }
            (Some(name), None) => ValueKind::Datatype(*self.names.datatypes.get(name.get_ref()).ok_or_else(|| {
                error_at(
                    self.file,
                    Some(name.span()),
                    format!("no data type map named `{}` in datatypes/", name.get_ref()),
                )
            })?),
            (None, Some(name)) => ValueKind::Table(
                *self.names.tables.get(name.get_ref()).ok_or_else(|| {
                    error_at(self.file, Some(name.span()), format!("no table named `{}` in tables/", name.get_ref()))
                })?,
                as_type.unwrap_or(AsType::Code),
            ),
            (None, None) => ValueKind::Plain(as_type.unwrap_or(AsType::String)),
        };
        let to = self.target(&rule.to)?;
        if rule.join.is_some() {
            let text = matches!(value, ValueKind::Plain(AsType::String | AsType::Code | AsType::Id | AsType::Uri));
            if !text || to.steps.iter().any(|s| s.push || s.index.is_some()) {
                return Err(error_at(
                    self.file,
                    Some(rule.to.span()),
                    "`join` needs a text value (no `type`, `table` or other `as`) and a `to` without `[]`",
                ));
            }
        }
        Ok(CompiledRule {
            from: self.source(&rule.from)?,
            from_text: rule.from.get_ref().clone(),
            to,
            value,
            when: self.condition(&rule.when, rule.to.span())?,
            first_only: rule.first_only,
            format: rule.format.clone(),
            default: rule.default.clone(),
            join: rule.join.clone(),
        })
    }

    fn constant(&self, constant: &Constant) -> Result<CompiledConstant, MappingError> {
        Ok(CompiledConstant {
            to: self.target(&constant.to)?,
            value: toml_to_json(&constant.value),
            when: self.condition(&constant.when, constant.to.span())?,
        })
    }
}

impl Mappings {
    /// Loads and checks every mapping file under `dir` (`messages/`, `segments/`, `datatypes/`,
    /// `tables/`, `concepts/`, `coding-systems.toml`).
    pub fn load(dir: &Path) -> Result<Mappings, MappingError> {
        if !dir.is_dir() {
            return Err(MappingError { file: dir.to_owned(), line: None, reason: "no such directory".into() });
        }
        let tables: Vec<LoadedFile<TableFile>> = read_dir(&dir.join("tables"))?;
        let datatypes: Vec<LoadedFile<DatatypeFile>> = read_dir(&dir.join("datatypes"))?;
        let segments: Vec<LoadedFile<SegmentFile>> = read_dir(&dir.join("segments"))?;
        let messages: Vec<LoadedFile<MessagesFile>> = read_dir(&dir.join("messages"))?;
        let concepts: Vec<LoadedFile<ConceptFile>> = read_dir(&dir.join("concepts"))?;
        let systems_path = dir.join("coding-systems.toml");
        let systems: Option<LoadedFile<CodingSystemsFile>> =
            if systems_path.exists() { Some(read_file(&systems_path)?) } else { None };
        let mut out = Mappings {
            files: tables.len()
                + datatypes.len()
                + segments.len()
                + messages.len()
                + concepts.len()
                + usize::from(systems.is_some()),
            ..Mappings::default()
        };

        let mut names = Names { tables: HashMap::new(), datatypes: HashMap::new() };
        for file in &tables {
            let name = file.content.name.clone().unwrap_or_else(|| stem(&file.path));
            if names.tables.insert(name.clone(), out.tables.len()).is_some() {
                return Err(error_at(file, None, format!("a second table named `{name}`")));
            }
            out.tables.push(Table {
                v2_table: file.content.v2_table.clone(),
                system: file.content.system.clone(),
                codes: file.content.codes.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
        }
        for (index, file) in datatypes.iter().enumerate() {
            let name = file.content.name.clone().unwrap_or_else(|| stem(&file.path));
            if names.datatypes.insert(name.clone(), index).is_some() {
                return Err(error_at(file, None, format!("a second data type map named `{name}`")));
            }
        }
        for file in &datatypes {
            let compiler = RuleCompiler { file, names: &names, segment: None };
            let rules = file.content.rules.iter().map(|r| compiler.rule(r)).collect::<Result<Vec<_>, _>>()?;
            let constants = file.content.constants.iter().map(|c| compiler.constant(c)).collect::<Result<_, _>>()?;
            out.datatypes.push(DatatypeMap { rules, constants });
        }
        // Data type maps that use one another apply recursively: bound the depth (and so refuse
        // a map that uses itself) here, so mapping a message cannot exhaust the stack.
        for (index, file) in datatypes.iter().enumerate() {
            if !nests_within(&out.datatypes, index, crate::engine::MAX_DATATYPE_NESTING) {
                return Err(error_at(
                    file,
                    None,
                    format!(
                        "data type maps used within one another nest deeper than {} (or one uses itself)",
                        crate::engine::MAX_DATATYPE_NESTING
                    ),
                ));
            }
        }
        let mut segment_names = HashMap::new();
        for file in &segments {
            let name = file.content.name.clone().unwrap_or_else(|| stem(&file.path));
            let segment = file.content.segment.get_ref().clone();
            let resource = file.content.resource.get_ref().clone();
            if !fhir_models::Resource::is_resource_type(&resource) {
                return Err(error_at(
                    file,
                    Some(file.content.resource.span()),
                    format!("`{resource}` is not an R4 resource type"),
                ));
            }
            let compiler = RuleCompiler { file, names: &names, segment: Some(&segment) };
            let rules = file.content.rules.iter().map(|r| compiler.rule(r)).collect::<Result<Vec<_>, _>>()?;
            let constants = file.content.constants.iter().map(|c| compiler.constant(c)).collect::<Result<_, _>>()?;
            let id_path = |p: &Spanned<String>| {
                SegmentPath::parse(p.get_ref())
                    .ok_or_else(|| error_at(file, Some(p.span()), format!("`{}`: not a SEG-field path", p.get_ref())))
            };
            let (id_from, per_message, id_repetition, id_if_empty) = match &file.content.id {
                Some(id) => {
                    let from = id.from.iter().map(id_path).collect::<Result<Vec<_>, _>>()?;
                    let repetition = match &id.repetition {
                        Some(spec) => {
                            let path = id_path(&spec.path)?;
                            if path.component.is_none() || path.subcomponent.is_some() {
                                return Err(error_at(
                                    file,
                                    Some(spec.path.span()),
                                    format!(
                                        "`{}`: the repetition is chosen by a component (SEG-f.c)",
                                        spec.path.get_ref()
                                    ),
                                ));
                            }
                            Some((path, spec.prefer.clone()))
                        }
                        None => None,
                    };
                    let if_empty = match &id.if_empty {
                        Some(spec) => {
                            Some((id_path(&spec.path)?, spec.add.iter().map(id_path).collect::<Result<Vec<_>, _>>()?))
                        }
                        None => None,
                    };
                    (from, id.per_message, repetition, if_empty)
                }
                None => (Vec::new(), true, None, None),
            };
            if segment_names.insert(name.clone(), out.segments.len()).is_some() {
                return Err(error_at(file, None, format!("a second segment map named `{name}`")));
            }
            out.segments.push(SegmentMap {
                segment,
                resource,
                id_from,
                per_message,
                id_repetition,
                id_if_empty,
                rules,
                constants,
            });
        }
        for file in &messages {
            for spec in &file.content.messages {
                let mut resources = Vec::new();
                let roles: Vec<&str> = spec.resources.iter().filter_map(|r| r.role.as_deref()).collect();
                // The resource type each role makes, for checking `into`.
                let segment_resources: HashMap<String, String> = spec
                    .resources
                    .iter()
                    .filter_map(|r| {
                        let map = segment_names.get(r.map.get_ref())?;
                        Some((r.role.clone()?, out.segments[*map].resource.clone()))
                    })
                    .collect();
                for resource in &spec.resources {
                    let map = *segment_names.get(resource.map.get_ref()).ok_or_else(|| {
                        error_at(
                            file,
                            Some(resource.map.span()),
                            format!("no segment map named `{}` in segments/", resource.map.get_ref()),
                        )
                    })?;
                    if out.segments[map].segment != *resource.segment.get_ref() {
                        return Err(error_at(
                            file,
                            Some(resource.segment.span()),
                            format!("map `{}` is for {} segments", resource.map.get_ref(), out.segments[map].segment),
                        ));
                    }
                    let mut refs = Vec::new();
                    for r in &resource.refs {
                        if !roles.contains(&r.role.get_ref().as_str()) {
                            return Err(error_at(
                                file,
                                Some(r.role.span()),
                                format!("no resource of this message has role `{}`", r.role.get_ref()),
                            ));
                        }
                        refs.push(Reference {
                            to: TargetPath::parse(r.to.get_ref())
                                .ok_or_else(|| error_at(file, Some(r.to.span()), "not an element path"))?,
                            role: r.role.get_ref().clone(),
                            all: r.all,
                            after: r.after,
                            fallback: r.fallback,
                            member: r.member.clone(),
                            set: r.set.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect(),
                        });
                    }
                    if let Some(into) = &resource.into {
                        if !roles.contains(&into.get_ref().as_str()) {
                            return Err(error_at(
                                file,
                                Some(into.span()),
                                format!("no resource of this message has role `{}`", into.get_ref()),
                            ));
                        }
                        if out.segments[map].resource
                            != segment_resources.get(into.get_ref()).cloned().unwrap_or_default()
                        {
                            return Err(error_at(
                                file,
                                Some(into.span()),
                                format!(
                                    "map `{}` makes a {}, not what role `{}` is",
                                    resource.map.get_ref(),
                                    out.segments[map].resource,
                                    into.get_ref()
                                ),
                            ));
                        }
                    }
                    resources.push(ResourceRule {
                        segment: resource.segment.get_ref().clone(),
                        map,
                        role: resource.role.clone(),
                        into: resource.into.as_ref().map(|i| i.get_ref().clone()),
                        refs,
                    });
                }
                let mut required = Vec::new();
                for segment in &spec.required {
                    let id = segment.get_ref();
                    let well_formed = id.len() == 3
                        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                        && id.as_str() != "MSH";
                    if !well_formed {
                        return Err(error_at(
                            file,
                            Some(segment.span()),
                            format!("`{id}`: a required segment is a segment id (PID), and MSH always is"),
                        ));
                    }
                    required.push(id.clone());
                }
                let index = out.messages.len();
                out.messages.push(MessageStructure { required, resources });
                for event in &spec.events {
                    let text = event.get_ref();
                    let (code, trigger) = text.split_once('^').ok_or_else(|| {
                        error_at(
                            file,
                            Some(event.span()),
                            format!("`{text}`: expected CODE^EVENT (e.g. ADT^A01, ADT^*)"),
                        )
                    })?;
                    let taken = if trigger == "*" {
                        out.by_code.insert(code.to_owned(), index).is_some()
                    } else {
                        out.by_event.insert(text.clone(), index).is_some()
                    };
                    if taken {
                        return Err(error_at(file, Some(event.span()), format!("`{text}` is mapped twice")));
                    }
                }
            }
        }
        for file in &concepts {
            for c in &file.content.concepts {
                out.concepts.entry((c.system.clone(), c.code.clone())).or_default().push(Concept {
                    system: c.to_system.clone(),
                    code: c.to_code.clone(),
                    display: c.display.clone(),
                });
            }
        }
        if let Some(file) = systems {
            out.systems = file.content.systems.into_iter().collect();
            out.default_zone = file.content.default_timezone;
        }
        Ok(out)
    }

    /// How many message structures, segment maps, data type maps and tables are loaded.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (self.messages.len(), self.segments.len(), self.datatypes.len(), self.tables.len())
    }
}
