//! Applying the mappings to a parsed message: each mapped segment → one resource (rules and
//! constants of its segment map, data type maps for composite values, tables and concept maps
//! for codes), then the references between the message's resources by role.

use std::borrow::Cow;

use hl7v2::{Component, Message, Repetition, Segment};

use crate::convert::{self, TimeTarget};
use crate::files::TableTarget;
use crate::json::{Json, TargetPath};
use crate::load::{
    AsType, Check, CompiledConstant, CompiledRule, Mappings, SegmentMap, SegmentPath, Source, ValueKind,
};

/// Makes resource ids from identity values: a keyed hash, so ids are stable across messages
/// and reveal nothing of the identifiers they come from.
pub trait IdMaker {
    /// The id of the `resource_type` resource identified by `parts` (never empty).
    fn make_id(&self, resource_type: &str, parts: &[&str]) -> String;
}

/// Why a message cannot be mapped. Messages name locations (`PID-7`) and fixed reasons, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// No mapping covers this message event (`MSH-9`).
    #[error("MSH-9: no mapping for message {event}")]
    Unsupported {
        /// The event, `CODE^TRIGGER`.
        event: String,
    },
    /// The message lacks a segment its structure requires (`mappings/messages`, `required`):
    /// the message is not what its type says, so nothing of it is stored.
    #[error("{segment}: required segment missing (message structure {structure})")]
    MissingSegment {
        /// The segment id (`PID`).
        segment: String,
        /// The message code whose structure requires it (`ADT`).
        structure: String,
    },
    /// The message makes no resource (its segments are none that its structure maps): nothing
    /// of it would be stored, so it is refused rather than acknowledged.
    #[error("the message makes no resources (no segment of it is mapped): nothing would be stored")]
    NoResources,
    /// A value cannot be made into its FHIR type.
    #[error("{location}: {reason}")]
    Value {
        /// Where (`PID-7`, `OBX-5`).
        location: String,
        /// Why.
        reason: &'static str,
    },
}

/// One resource made from a message.
#[derive(Debug, Clone)]
pub struct MappedResource {
    /// Its type.
    pub resource_type: String,
    /// Its id.
    pub id: String,
    /// Its JSON.
    pub json: String,
    /// The segment it was made from (`PID`) and its position in the message.
    pub segment: (String, usize),
    /// Top-level elements the message deletes: a field that maps to them is the v2 explicit
    /// null `""` (a receiver that merges into an earlier version drops them).
    pub cleared: Vec<String>,
}

/// The result of mapping one message.
#[derive(Debug, Clone)]
pub struct MappedMessage {
    /// `CODE^TRIGGER` (`ADT^A01`).
    pub event: String,
    /// The resources, in segment order.
    pub resources: Vec<MappedResource>,
}

/// Extension URL that keeps the original v2 code beside a mapped `code` element.
pub const ORIGINAL_CODE_EXTENSION: &str = "urn:fhir-ledger-bridge:v2-original-code";

/// A value of a message being mapped: a field repetition, or a component whose subcomponents
/// act as the components of a nested data type.
#[derive(Clone, Copy)]
enum Node<'a> {
    Repetition(Repetition<'a>),
    Component(Component<'a>),
}

impl<'a> Node<'a> {
    /// Part `n` (1-based): a component of a repetition, a subcomponent of a component.
    fn part(&self, n: usize) -> Option<Node<'a>> {
        match self {
            Node::Repetition(r) => r.component(n).map(Node::Component),
            Node::Component(_) => None,
        }
    }

    /// Text of part `n` (and subpart `sub`), decoded.
    fn text_of(&self, n: usize, sub: Option<usize>) -> Option<Cow<'a, str>> {
        match self {
            Node::Repetition(r) => {
                let component = r.component(n)?;
                match sub {
                    Some(s) => component.subcomponent(s),
                    None => Some(component.value()),
                }
            }
            Node::Component(c) => match sub {
                None => c.subcomponent(n),
                Some(_) => None,
            },
        }
    }

    /// The value's first text (component 1, subcomponent 1), decoded.
    fn text(&self) -> Cow<'a, str> {
        match self {
            Node::Repetition(r) => r.value(),
            Node::Component(c) => c.value(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Node::Repetition(r) => r.is_empty(),
            Node::Component(c) => c.is_empty(),
        }
    }
}

/// What rules read from: a segment (with the message, for MSH paths) or a node of a data type.
#[derive(Clone, Copy)]
enum Context<'m, 'a> {
    Segment { message: &'m Message<'a>, segment: &'m Segment<'a> },
    Node(Node<'a>),
}

/// The text of `node` (its subcomponent `sub`, when given), trimmed; `None` when empty or `""`.
fn node_text(node: Node<'_>, sub: Option<usize>) -> Option<String> {
    match sub {
        Some(s) => match node {
            Node::Component(c) => c.subcomponent(s).and_then(strip),
            Node::Repetition(_) => None,
        },
        None => strip(node.text()),
    }
}

/// The field `path` names: in `segment` when it is that segment, else in the message's first
/// segment of that id.
fn field_at<'a>(message: &Message<'a>, segment: &Segment<'a>, path: &SegmentPath) -> Option<hl7v2::Field<'a>> {
    let source = if path.segment == segment.id() { Some(segment) } else { message.segment(&path.segment) };
    source?.field(path.field)
}

/// The node `path` names within one repetition of its field: the repetition, or its component.
fn node_in<'a>(repetition: Repetition<'a>, path: &SegmentPath) -> Option<Node<'a>> {
    match path.component {
        None => Some(Node::Repetition(repetition)),
        Some(c) => repetition.component(c).map(Node::Component),
    }
}

fn strip(text: Cow<'_, str>) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty() && trimmed != "\"\"").then(|| trimmed.to_owned())
}

/// The path of the original code's extension: `gender` → `_gender`.
fn shadow(path: &TargetPath) -> Option<TargetPath> {
    let mut steps = path.steps.clone();
    let last = steps.last_mut()?;
    if last.push || last.index.is_some() {
        return None;
    }
    last.name = format!("_{}", last.name);
    Some(TargetPath { steps })
}

struct Run<'m> {
    mappings: &'m Mappings,
}

impl Run<'_> {
    fn segment_values<'a>(
        &self,
        message: &Message<'a>,
        segment: &Segment<'a>,
        path: &SegmentPath,
    ) -> Vec<(Node<'a>, Option<usize>)> {
        let Some(field) = field_at(message, segment, path) else { return Vec::new() };
        field.repetitions().filter_map(|r| node_in(r, path)).map(|node| (node, path.subcomponent)).collect()
    }

    /// The nodes a rule reads, with the subcomponent to take (segment paths down to one).
    fn sources<'a>(&self, context: Context<'_, 'a>, source: &Source) -> Vec<(Node<'a>, Option<usize>)> {
        match (context, source) {
            (Context::Segment { message, segment }, Source::Segment(path)) => {
                self.segment_values(message, segment, path)
            }
            (Context::Node(node), Source::Part { component, subcomponent }) => match (node, subcomponent) {
                (Node::Repetition(_), _) => node.part(*component).map(|p| vec![(p, *subcomponent)]).unwrap_or_default(),
                (Node::Component(c), None) => {
                    // A nested type's component is a subcomponent of this one.
                    let Some(text) = c.subcomponent(*component) else { return Vec::new() };
                    if text.trim().is_empty() {
                        return Vec::new();
                    }
                    vec![(node, Some(*component))]
                }
                (Node::Component(_), Some(_)) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn first_text(&self, context: Context<'_, '_>, source: &Source) -> Option<String> {
        let (node, sub) = self.sources(context, source).into_iter().next()?;
        node_text(node, sub)
    }

    /// The values of a resource's identity (see `mappings/README.md`, "Identity"): the `from`
    /// values, read from the preferred repetition of their field, plus the `if_empty` values
    /// when its checked value is empty; empty when every `from` value is.
    fn identity(&self, map: &SegmentMap, message: &Message<'_>, segment: &Segment<'_>) -> Vec<String> {
        let context = Context::Segment { message, segment };
        // The text at `path` in a repetition of its field, read as `first_text` reads the first.
        let text_in = |repetition: Repetition<'_>, path: &SegmentPath| {
            node_in(repetition, path).and_then(|node| node_text(node, path.subcomponent))
        };
        let preferred = map.id_repetition.as_ref().map(|(by, prefer)| {
            let n = field_at(message, segment, by)
                .and_then(|f| f.repetitions().position(|r| text_in(r, by).is_some_and(|v| prefer.contains(&v))))
                .unwrap_or(0);
            (by, n)
        });
        let read = |path: &SegmentPath| -> String {
            match preferred {
                Some((by, n)) if by.segment == path.segment && by.field == path.field => {
                    field_at(message, segment, path).and_then(|f| f.repetitions().nth(n)).and_then(|r| text_in(r, path))
                }
                _ => self.first_text(context, &Source::Segment(path.clone())),
            }
            .unwrap_or_default()
        };
        let mut parts: Vec<String> = map.id_from.iter().map(read).collect();
        if parts.iter().all(String::is_empty) {
            return parts;
        }
        if let Some((checked, add)) = &map.id_if_empty {
            if read(checked).is_empty() {
                parts.extend(add.iter().map(read));
            }
        }
        parts
    }

    fn holds(&self, context: Context<'_, '_>, checks: &[Check]) -> bool {
        checks.iter().all(|check| match check {
            Check::Empty(source) => self.first_text(context, source).is_none(),
            Check::Valued(source) => self.first_text(context, source).is_some(),
            Check::OneOf(source, values) => self.first_text(context, source).is_some_and(|v| values.contains(&v)),
            Check::NoneOf(source, values) => !self.first_text(context, source).is_some_and(|v| values.contains(&v)),
        })
    }

    fn system_uri(&self, name: &str) -> String {
        if let Some(uri) = self.mappings.systems.get(name) {
            return uri.clone();
        }
        if let Some(number) =
            name.strip_prefix("HL7").filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            return format!("http://terminology.hl7.org/CodeSystem/v2-{number}");
        }
        if name.contains(':') && !name.contains(char::is_whitespace) {
            return name.to_owned();
        }
        format!("urn:fhir-ledger-bridge:v2:{}", uri_segment(name))
    }

    fn coding(system: Option<String>, code: Option<String>, display: Option<String>) -> Json {
        let mut coding = Json::object();
        if let Some(system) = system {
            coding.set("system", Json::String(system));
        }
        if let Some(code) = code {
            coding.set("code", Json::String(code));
        }
        if let Some(display) = display {
            coding.set("display", Json::String(display));
        }
        coding
    }

    /// A CWE/CE/CNE node → its codings (primary, alternate, and standard ones from concept maps).
    fn codings(&self, node: Node<'_>, part: Option<usize>) -> (Vec<Json>, Option<String>) {
        let text = |n: usize| -> Option<String> {
            match (node, part) {
                (Node::Component(c), Some(_)) | (Node::Component(c), None) => c.subcomponent(n).and_then(strip),
                (Node::Repetition(_), _) => node.text_of(n, None).and_then(strip),
            }
        };
        let mut codings = Vec::new();
        for (code_at, display_at, system_at) in [(1, 2, 3), (4, 5, 6)] {
            let (code, display, system) = (text(code_at), text(display_at), text(system_at));
            if code.is_none() && display.is_none() {
                continue;
            }
            if let (Some(system), Some(code)) = (&system, &code) {
                for concept in self.mappings.concepts.get(&(system.clone(), code.clone())).into_iter().flatten() {
                    codings.push(Self::coding(
                        Some(concept.system.clone()),
                        Some(concept.code.clone()),
                        concept.display.clone(),
                    ));
                }
            }
            if code.is_some() {
                codings.push(Self::coding(system.map(|s| self.system_uri(&s)), code, display));
            }
        }
        let original_text = text(9).or_else(|| text(2));
        (codings, original_text)
    }

    fn table_lookup(&self, table: usize, code: &str) -> Option<(Option<String>, String, Option<String>)> {
        let table = &self.mappings.tables[table];
        match table.codes.get(code)? {
            TableTarget::Code(c) => Some((table.system.clone(), c.clone(), None)),
            TableTarget::Full { code, display, system } => {
                Some((system.clone().or_else(|| table.system.clone()), code.clone(), display.clone()))
            }
        }
    }

    /// Applies `rules` and `constants` in `context` to `target`.
    fn apply(
        &self,
        context: Context<'_, '_>,
        rules: &[CompiledRule],
        constants: &[CompiledConstant],
        target: &mut Json,
        location: &str,
        depth: usize,
    ) -> Result<(), MapError> {
        for rule in rules {
            if !self.holds(context, &rule.when) {
                continue;
            }
            let here =
                if location.is_empty() { rule.from_text.clone() } else { format!("{location}.{}", rule.from_text) };
            let all = rule.to.steps.iter().any(|s| s.push) && !rule.first_only;
            let sources = self.sources(context, &rule.from);
            // What a field's rules read lies within the field, so checking it once at the
            // segment level covers the data type maps below it.
            if let Context::Segment { segment, .. } = context {
                for (node, _) in &sources {
                    if has_control_character(*node, segment.delimiters()) {
                        return Err(MapError::Value { location: here, reason: CONTROL_CHARACTER });
                    }
                }
            }
            if sources.is_empty() {
                if let (Some(default), ValueKind::Table(..)) = (&rule.default, &rule.value) {
                    target.put(&rule.to, Json::String(default.clone()));
                }
            }
            for (node, sub) in sources.into_iter().take(if all { usize::MAX } else { 1 }) {
                self.apply_rule(rule, node, sub, target, &here, depth)?;
            }
        }
        for constant in constants {
            if self.holds(context, &constant.when) {
                target.put(&constant.to, constant.value.clone());
            }
        }
        Ok(())
    }

    /// The top-level elements of `rules` (that apply) whose whole source field is the explicit
    /// null `""`, each once.
    fn nulled(
        &self,
        context: Context<'_, '_>,
        rules: &[CompiledRule],
        message: &Message<'_>,
        segment: &Segment<'_>,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for rule in rules {
            let Source::Segment(path) = &rule.from else { continue };
            if path.component.is_some() || !self.holds(context, &rule.when) {
                continue;
            }
            if field_at(message, segment, path).is_some_and(|f| f.is_null()) {
                let element = &rule.to.steps[0].name;
                if !out.contains(element) {
                    out.push(element.clone());
                }
            }
        }
        out
    }

    fn apply_rule(
        &self,
        rule: &CompiledRule,
        node: Node<'_>,
        sub: Option<usize>,
        target: &mut Json,
        location: &str,
        depth: usize,
    ) -> Result<(), MapError> {
        let text = match (node, sub) {
            (Node::Component(c), Some(s)) => c.subcomponent(s).and_then(strip),
            (_, None) => strip(node.text()),
            (Node::Repetition(_), Some(_)) => None,
        };
        let fail = |reason: &'static str| MapError::Value { location: location.to_owned(), reason };
        match &rule.value {
            ValueKind::Datatype(index) => {
                // The explicit null `""` holds no value either (its constants, such as an XTN's
                // `system = phone`, would make one).
                if node.is_empty() || node.text().trim() == "\"\"" {
                    return Ok(());
                }
                // The loader refuses deeper (or circular) data type maps; this guards the stack
                // should one get through.
                if depth >= MAX_DATATYPE_NESTING {
                    return Err(fail("data type maps nested too deeply"));
                }
                let map = &self.mappings.datatypes[*index];
                let mut value = Json::object();
                let inner = match (node, sub) {
                    // A nested type inside a component reads that component's subcomponents.
                    (Node::Component(c), _) => Context::Node(Node::Component(c)),
                    (Node::Repetition(r), _) => Context::Node(Node::Repetition(r)),
                };
                self.apply(inner, &map.rules, &map.constants, &mut value, location, depth + 1)?;
                value.prune();
                target.put(&rule.to, value);
            }
            ValueKind::Table(table, as_type) => {
                let Some(code) = text else {
                    if let Some(default) = &rule.default {
                        target.put(&rule.to, Json::String(default.clone()));
                    }
                    return Ok(());
                };
                let mapped = self.table_lookup(*table, &code).or_else(|| {
                    rule.default.as_ref().map(|d| (self.mappings.tables[*table].system.clone(), d.clone(), None))
                });
                let original_system = self.system_uri(&self.mappings.tables[*table].v2_table);
                match as_type {
                    AsType::Boolean => match mapped.as_ref().map(|m| m.1.as_str()) {
                        Some("true") => target.put(&rule.to, Json::Bool(true)),
                        Some("false") => target.put(&rule.to, Json::Bool(false)),
                        // Not in the table: no value, the original code is kept.
                        _ => put_original(target, &rule.to, original_system, code),
                    },
                    AsType::Coding | AsType::CodeableConcept => {
                        let (mut codings, original_text) = self.codings(node, sub);
                        // The original code is of the table's v2 system unless it names its own.
                        for coding in &mut codings {
                            if coding.get("system").is_none() {
                                coding.set("system", Json::String(original_system.clone()));
                            }
                        }
                        if codings.is_empty() {
                            codings.push(Self::coding(Some(original_system), Some(code.clone()), None));
                        }
                        if let Some((system, code, display)) = mapped {
                            let same = |c: &Json| {
                                c.get("code") == Some(&Json::String(code.clone()))
                                    && c.get("system").cloned() == system.clone().map(Json::String)
                            };
                            codings.retain(|c| !same(c));
                            codings.insert(0, Self::coding(system, Some(code), display));
                        }
                        if *as_type == AsType::Coding {
                            target.put(&rule.to, codings.swap_remove(0));
                        } else {
                            let mut concept = Json::object();
                            concept.set("coding", Json::Array(codings));
                            if let Some(text) = original_text {
                                concept.set("text", Json::String(text));
                            }
                            target.put(&rule.to, concept);
                        }
                    }
                    _ => {
                        if let Some((_, mapped_code, _)) = &mapped {
                            target.put(&rule.to, Json::String(mapped_code.clone()));
                        }
                        // The original v2 code is kept beside the FHIR one.
                        put_original(target, &rule.to, original_system, code);
                    }
                }
            }
            ValueKind::Plain(as_type) => {
                let value = match as_type {
                    AsType::Coding | AsType::CodeableConcept => {
                        let (codings, original_text) = self.codings(node, sub);
                        if *as_type == AsType::Coding {
                            match codings.into_iter().next() {
                                Some(coding) => coding,
                                None => return Ok(()),
                            }
                        } else {
                            let mut concept = Json::object();
                            if !codings.is_empty() {
                                concept.set("coding", Json::Array(codings));
                            }
                            if let Some(text) = original_text {
                                concept.set("text", Json::String(text));
                            }
                            concept
                        }
                    }
                    _ => {
                        let Some(text) = text else { return Ok(()) };
                        match as_type {
                            AsType::String | AsType::Code | AsType::Id | AsType::Uri => {
                                let text = match &rule.format {
                                    Some(template) => template.replace("{}", &text),
                                    None => text,
                                };
                                match (&rule.join, target.text_at(&rule.to)) {
                                    (Some(separator), Some(earlier)) => {
                                        Json::String(format!("{earlier}{separator}{text}"))
                                    }
                                    _ => Json::String(text),
                                }
                            }
                            AsType::Base64 => Json::String(base64(text.as_bytes())),
                            AsType::Base64Checked => Json::String(convert::base64(&text).map_err(fail)?),
                            AsType::Decimal => Json::Number(convert::decimal(&text).map_err(fail)?),
                            AsType::Integer => {
                                Json::Number(convert::integer(&text, i64::from(i32::MIN)).map_err(fail)?)
                            }
                            AsType::PositiveInt => Json::Number(convert::integer(&text, 1).map_err(fail)?),
                            AsType::UnsignedInt => Json::Number(convert::integer(&text, 0).map_err(fail)?),
                            AsType::Boolean => Json::Bool(convert::boolean(&text).map_err(fail)?),
                            AsType::Date => Json::String(
                                convert::time(&text, TimeTarget::Date, self.mappings.default_zone.as_deref())
                                    .map_err(fail)?,
                            ),
                            AsType::DateTime => Json::String(
                                convert::time(&text, TimeTarget::DateTime, self.mappings.default_zone.as_deref())
                                    .map_err(fail)?,
                            ),
                            AsType::Instant => Json::String(
                                convert::time(&text, TimeTarget::Instant, self.mappings.default_zone.as_deref())
                                    .map_err(fail)?,
                            ),
                            AsType::Coding | AsType::CodeableConcept => return Ok(()),
                        }
                    }
                };
                target.put(&rule.to, value);
            }
        }
        Ok(())
    }
}

/// How deeply data type maps may use one another (a CX's HD is 2): the bound on the mapping's
/// recursion, checked when the mappings load ([`crate::Mappings::load`]).
pub const MAX_DATATYPE_NESTING: usize = 4;

/// Why a value with a control character is refused. FHIR strings may hold no character below
/// U+0020 but tab, CR and LF; v2 text gets them from hex escapes (`\X00\`) or raw bytes.
const CONTROL_CHARACTER: &str = "control character (FHIR strings allow only tab, CR and LF below U+0020)";

/// Whether a character is one FHIR strings may not hold.
fn is_forbidden_control(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\r' | '\n')
}

/// Whether `node`, decoded (escape sequences resolved), holds a control character FHIR strings
/// may not. Raw text without an escape character is checked as it is, without decoding.
fn has_control_character(node: Node<'_>, delimiters: &hl7v2::Delimiters) -> bool {
    let raw = match node {
        Node::Repetition(r) => r.raw(),
        Node::Component(c) => c.raw(),
    };
    if raw.chars().any(is_forbidden_control) {
        return true;
    }
    let Some(escape) = delimiters.escape else { return false };
    if !raw.contains(escape) {
        return false;
    }
    // Each subcomponent decodes on its own: an escape sequence never spans a delimiter.
    raw.split([delimiters.component, delimiters.subcomponent])
        .any(|part| hl7v2::unescape(part, delimiters).chars().any(is_forbidden_control))
}

/// Keeps `code` (of the v2 table `system`) as the original-code extension of the element at
/// `path` (`_gender`); not for array elements, whose extensions would need aligning.
fn put_original(target: &mut Json, path: &TargetPath, system: String, code: String) {
    let Some(shadow) = shadow(path) else { return };
    let mut coding = Json::object();
    coding.set("system", Json::String(system));
    coding.set("code", Json::String(code));
    let mut extension = Json::object();
    extension.set("url", Json::String(ORIGINAL_CODE_EXTENSION.into()));
    extension.set("valueCoding", coding);
    let mut holder = Json::object();
    holder.set("extension", Json::Array(vec![extension]));
    target.put(&shadow, holder);
}

/// `name` as a URI path segment: unreserved characters kept, others percent-encoded.
fn uri_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A resource being made.
struct Made {
    rule: usize,
    role: Option<String>,
    segment_id: String,
    segment_index: usize,
    resource_type: String,
    id: String,
    json: Json,
    cleared: Vec<String>,
}

impl Mappings {
    /// Maps `message` to FHIR resources; ids come from `ids`.
    pub fn map(&self, message: &Message<'_>, ids: &dyn IdMaker) -> Result<MappedMessage, MapError> {
        let header = message.header();
        let event = format!("{}^{}", header.message_code, header.trigger_event.unwrap_or(""));
        let structure = self
            .by_event
            .get(&event)
            .or_else(|| self.by_code.get(header.message_code))
            .ok_or_else(|| MapError::Unsupported { event: event.clone() })?;
        let structure = &self.messages[*structure];
        if let Some(missing) = structure.required.iter().find(|id| message.segment(id).is_none()) {
            return Err(MapError::MissingSegment {
                segment: missing.clone(),
                structure: header.message_code.to_owned(),
            });
        }
        let rules = &structure.resources;
        let run = Run { mappings: self };
        let control =
            [header.sending_application.unwrap_or(""), header.sending_facility.unwrap_or(""), header.control_id];
        let mut made: Vec<Made> = Vec::new();
        for segment in message.segments() {
            for (rule_index, rule) in rules.iter().enumerate().filter(|(_, r)| r.segment == segment.id()) {
                let map = &self.segments[rule.map];
                let context = Context::Segment { message, segment };
                if let Some(role) = &rule.into {
                    // Adds to the nearest earlier resource of the role; without one, nothing to add to.
                    if let Some(host) = made.iter_mut().rev().find(|m| m.role.as_deref() == Some(role.as_str())) {
                        run.apply(context, &map.rules, &map.constants, &mut host.json, "", 0)?;
                        host.cleared.extend(run.nulled(context, &map.rules, message, segment));
                    }
                    continue;
                }
                let mut parts = run.identity(map, message, segment);
                if map.per_message || parts.iter().all(String::is_empty) {
                    parts.extend(control.iter().map(|s| (*s).to_owned()));
                    parts.push(segment.index().to_string());
                }
                let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                let id = ids.make_id(&map.resource, &part_refs);
                let mut json = Json::object();
                json.set("resourceType", Json::String(map.resource.clone()));
                json.set("id", Json::String(id.clone()));
                run.apply(context, &map.rules, &map.constants, &mut json, "", 0)?;
                let cleared = run.nulled(context, &map.rules, message, segment);
                made.push(Made {
                    rule: rule_index,
                    role: rule.role.clone(),
                    segment_id: segment.id().to_owned(),
                    segment_index: segment.index(),
                    resource_type: map.resource.clone(),
                    id,
                    json,
                    cleared,
                });
            }
        }
        // References by role, now that every id is known.
        let links: Vec<Vec<(TargetPath, Json)>> = made
            .iter()
            .map(|this| {
                let mut out = Vec::new();
                for reference in &rules[this.rule].refs {
                    let of_role = |m: &&Made| m.role.as_deref() == Some(reference.role.as_str());
                    let targets: Vec<&Made> = if reference.all {
                        let end = made
                            .iter()
                            .filter(|m| m.segment_id == this.segment_id && m.segment_index > this.segment_index)
                            .map(|m| m.segment_index)
                            .min()
                            .unwrap_or(usize::MAX);
                        made.iter()
                            .filter(of_role)
                            .filter(|m| m.segment_index > this.segment_index && m.segment_index < end)
                            .collect()
                    } else {
                        let nearest = if reference.after {
                            made.iter().filter(of_role).find(|m| m.segment_index > this.segment_index)
                        } else {
                            made.iter().filter(of_role).rfind(|m| m.segment_index < this.segment_index)
                        };
                        // Without one on that side: the first one made, unless `fallback = false`.
                        let fallback = || made.iter().find(of_role).filter(|_| reference.fallback);
                        nearest.or_else(fallback).into_iter().collect()
                    };
                    for target in targets {
                        if std::ptr::eq(target, this) {
                            continue;
                        }
                        let mut reference_json = Json::object();
                        reference_json
                            .set("reference", Json::String(format!("{}/{}", target.resource_type, target.id)));
                        let value = match &reference.member {
                            None => reference_json,
                            Some(member) => {
                                let mut holder = Json::object();
                                holder.set(member, reference_json);
                                for (name, value) in &reference.set {
                                    holder.set(name, value.clone());
                                }
                                holder
                            }
                        };
                        out.push((reference.to.clone(), value));
                    }
                }
                out
            })
            .collect();
        let resources = made
            .into_iter()
            .zip(links)
            .map(|(mut m, links)| {
                for (path, value) in links {
                    m.json.put(&path, value);
                }
                m.json.prune();
                MappedResource {
                    resource_type: m.resource_type,
                    id: m.id,
                    json: m.json.to_json(),
                    segment: (m.segment_id, m.segment_index),
                    cleared: m.cleared,
                }
            })
            .collect::<Vec<_>>();
        if resources.is_empty() {
            return Err(MapError::NoResources);
        }
        Ok(MappedMessage { event, resources })
    }
}
