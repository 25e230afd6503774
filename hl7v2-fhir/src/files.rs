//! The mapping files as serde structs: what an integration engineer writes. `mappings/README.md`
//! documents the format with examples; this module is its schema.
//!
//! Values that can be wrong in a way the TOML syntax does not catch (paths, names of tables,
//! types and maps) are [`toml::Spanned`], so the loader can name the line of a bad one.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// `messages/*.toml`: which message events a structure covers and what each segment becomes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesFile {
    /// The structures.
    #[serde(rename = "message")]
    pub messages: Vec<MessageSpec>,
}

/// One message structure.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// The events it covers, as `MSH-9.1^MSH-9.2` (`ADT^A01`); `ADT^*` covers every ADT event not
    /// named elsewhere.
    pub events: Vec<Spanned<String>>,
    /// The segments a message of this structure must have (`["PID"]`), from the v2 standard's
    /// message structures (the IG's `messages/*.csv`, cardinality minimum 1 outside optional
    /// groups): a message without one is refused, naming the segment, rather than mapped to less
    /// than it claims to be. MSH is always required.
    #[serde(default)]
    pub required: Vec<Spanned<String>>,
    /// What the segments become, in the order the segments appear.
    #[serde(rename = "resource", default)]
    pub resources: Vec<ResourceSpec>,
}

/// One kind of segment → one resource per occurrence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// The segment id (`PID`).
    pub segment: Spanned<String>,
    /// The segment map that makes the resource (a file in `segments/`, by its `name`).
    pub map: Spanned<String>,
    /// The role other resources of the message refer to it by (`patient`, `encounter`, ...).
    #[serde(default)]
    pub role: Option<String>,
    /// Instead of making a resource, add to the nearest earlier resource of this role (an RXR's
    /// route into the RXA's Immunization, an NTE's note into the OBX's Observation).
    #[serde(default)]
    pub into: Option<Spanned<String>>,
    /// References to other resources of the message.
    #[serde(rename = "ref", default)]
    pub refs: Vec<RefSpec>,
}

/// A reference from this resource to another of the same message, by role: the nearest
/// resource of that role made from an earlier segment (or else the first made at all).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefSpec {
    /// Where the Reference goes (`subject`, `result[]`, `link[]`).
    pub to: Spanned<String>,
    /// The role referred to.
    pub role: Spanned<String>,
    /// `all`: a reference to every resource of the role made from the segments that follow this
    /// one, up to the next segment of this resource's kind (`DiagnosticReport.result[]` → the
    /// report's OBX Observations). Default: the nearest one.
    #[serde(default)]
    pub all: bool,
    /// The nearest resource of the role made from a *later* segment (an A40's PID refers to the
    /// MRG that follows it). Default: the nearest earlier one.
    #[serde(default)]
    pub after: bool,
    /// Without a resource of the role on that side, refer to the first one made anyway (the
    /// default: a REF's RF1 refers to the PID that follows it), or with `fallback = false` to
    /// none (a VXU's patient-level OBX, before any RXA, is part of no immunization).
    #[serde(default = "yes")]
    pub fallback: bool,
    /// When set, the Reference is the member of this name of an object put at `to` (with `set`).
    #[serde(default)]
    pub member: Option<String>,
    /// Members set beside it in that object (`{ type = "replaces" }`).
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
}

fn yes() -> bool {
    true
}

/// `segments/*.toml`: a segment's fields → elements of one resource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFile {
    /// The map's name (default: the file stem), which messages refer to.
    #[serde(default)]
    pub name: Option<String>,
    /// The segment id.
    pub segment: Spanned<String>,
    /// The FHIR resource type made.
    pub resource: Spanned<String>,
    /// How the resource's id is made.
    #[serde(default)]
    pub id: Option<IdSpec>,
    /// Field rules, applied in order.
    #[serde(rename = "map", default)]
    pub rules: Vec<Rule>,
    /// Constant elements.
    #[serde(rename = "set", default)]
    pub constants: Vec<Constant>,
}

/// The identity of a resource: a keyed hash of the values at `from` (and the resource type), so
/// the same values make the same resource (a new version of it) across messages. When every one
/// is empty, the message's identity (sender, control id) and the segment's position are used.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdSpec {
    /// Paths in the segment (`PID-3.1`, `PID-3.4`) or the message (`MSH-10`).
    pub from: Vec<Spanned<String>>,
    /// Also include the message's identity (`MSH-3`, `MSH-4`, `MSH-10`) and the segment's
    /// position, for resources that exist only in this message (an OBX's Observation).
    #[serde(default)]
    pub per_message: bool,
    /// Which repetition of a repeating field the `from` paths into that field read: the first
    /// whose value at `path` is one of `prefer` (`{ path = "PID-3.5", prefer = ["MR"] }`), else
    /// the first repetition.
    #[serde(default)]
    pub repetition: Option<IdRepetitionSpec>,
    /// Values that join the identity when the value at `path` is empty (read like `from`):
    /// `{ path = "PID-3.4", add = ["MSH-4"] }` scopes an identifier without an assigning
    /// authority to the sender of the message.
    #[serde(default)]
    pub if_empty: Option<IdIfEmptySpec>,
}

/// The repetition an identity is read from: see [`IdSpec::repetition`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdRepetitionSpec {
    /// A component of the field (`PID-3.5`, the identifier type code).
    pub path: Spanned<String>,
    /// The values that make a repetition preferred (exact match), in no particular order.
    pub prefer: Vec<String>,
}

/// Values added to an identity when another is empty: see [`IdSpec::if_empty`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdIfEmptySpec {
    /// The value checked (`PID-3.4`, the assigning authority).
    pub path: Spanned<String>,
    /// The values added when it is empty (`MSH-3`, `MSH-4`).
    pub add: Vec<Spanned<String>>,
}

/// One rule: a value of the segment (or of a data type) → an element.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Source: `PID-5` (all repetitions of the field), `PID-5.1` (a component of each
    /// repetition), `PID-5.1.2` (a subcomponent). In a data type map: `1`, `1.2`.
    pub from: Spanned<String>,
    /// Target element path: `gender`, `name[]` (one array element per repetition),
    /// `valueQuantity.value`, `_gender` is not needed: originals are kept automatically.
    pub to: Spanned<String>,
    /// A data type map (a file in `datatypes/`) that builds the value.
    #[serde(rename = "type", default)]
    pub datatype: Option<Spanned<String>>,
    /// A table (a file in `tables/`) that maps the v2 code.
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    /// The FHIR type of the value when no data type map applies: `string` (default), `code`,
    /// `id`, `uri`, `decimal`, `integer`, `positiveInt`, `unsignedInt`, `boolean`, `date`,
    /// `dateTime`, `instant`, `base64Binary` (the text, base64-encoded), `base64` (text that is base64
    /// already, such as ED.5 with ED.4 = Base64: checked, the message refused when it is not),
    /// `Coding`, `CodeableConcept`.
    #[serde(rename = "as", default)]
    pub as_type: Option<Spanned<String>>,
    /// Apply only when this holds (a table), or when all of these hold (an array of tables).
    #[serde(default)]
    pub when: Option<Conditions>,
    /// Only the first repetition, even when `to` ends with `[]`.
    #[serde(default)]
    pub first_only: bool,
    /// A template for a text value: `{}` stands for the value (`urn:oid:{}`).
    #[serde(default)]
    pub format: Option<String>,
    /// With `table`: the FHIR code to use when the v2 code is empty or not in the table (for
    /// elements FHIR requires, such as a status).
    #[serde(default)]
    pub default: Option<String>,
    /// With a text value and a `to` of plain names: appended to the text the target holds
    /// already, after this separator (`join = " "` builds one `display` from a name's parts).
    #[serde(default)]
    pub join: Option<String>,
}

/// One condition, or several that must all hold.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Conditions {
    /// One.
    One(Condition),
    /// All of these.
    All(Vec<Condition>),
}

impl Conditions {
    /// The conditions, as a list.
    pub fn as_slice(&self) -> &[Condition] {
        match self {
            Conditions::One(one) => std::slice::from_ref(one),
            Conditions::All(all) => all,
        }
    }
}

/// A condition on other values of the segment. (Its paths carry no line of their own: an
/// untagged `when` cannot keep spans; errors name the line of the rule.)
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The value at this path (first repetition) is empty.
    #[serde(default)]
    pub empty: Option<String>,
    /// The value at this path (first repetition) is not empty.
    #[serde(default)]
    pub valued: Option<String>,
    /// The value at `path` is one of `in` (or none of `not_in`).
    #[serde(default)]
    pub path: Option<String>,
    /// The values `path` must have (one of).
    #[serde(rename = "in", default)]
    pub one_of: Vec<String>,
    /// Values `path` must not have (the value may be empty).
    #[serde(default)]
    pub not_in: Vec<String>,
}

/// A constant element.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constant {
    /// Target element path.
    pub to: Spanned<String>,
    /// Its value (a TOML string, number, boolean, or table for an object).
    pub value: toml::Value,
    /// Only when this holds (or all of these).
    #[serde(default)]
    pub when: Option<Conditions>,
}

/// `datatypes/*.toml`: a v2 data type's components → elements of a FHIR value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatatypeFile {
    /// The map's name (default: the file stem), which rules refer to as `type`.
    #[serde(default)]
    pub name: Option<String>,
    /// The v2 data type (`XPN`).
    pub datatype: String,
    /// The FHIR type made (`HumanName`): documentation.
    pub fhir: String,
    /// Component rules, applied in order (`from` is `1`, `1.2`).
    #[serde(rename = "map", default)]
    pub rules: Vec<Rule>,
    /// Constant elements.
    #[serde(rename = "set", default)]
    pub constants: Vec<Constant>,
}

/// `tables/*.toml`: a v2 table's codes → codes of a FHIR code system.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableFile {
    /// The table's name (default: the file stem), which rules refer to as `table`.
    #[serde(default)]
    pub name: Option<String>,
    /// The v2 table (`HL70001`): the system of the original code.
    pub v2_table: String,
    /// The FHIR code system of the mapped codes (absent for plain `code` elements bound to a
    /// FHIR value set whose system is implied).
    #[serde(default)]
    pub system: Option<String>,
    /// v2 code → FHIR code (or `{ code, display, system }`).
    pub codes: BTreeMap<String, TableTarget>,
}

/// The target of a table entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TableTarget {
    /// Just the code (in the table's `system`).
    Code(String),
    /// A code with its display, optionally in another system.
    Full {
        /// The code.
        code: String,
        /// Its display.
        #[serde(default)]
        display: Option<String>,
        /// Its system, when not the table's.
        #[serde(default)]
        system: Option<String>,
    },
}

/// `concepts/*.toml`: local codes → standard codes (LOINC, SNOMED CT, UCUM), which a site extends.
/// Applied to every coded value: the mapped coding is added beside the original.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptFile {
    /// The entries.
    #[serde(rename = "concept", default)]
    pub concepts: Vec<ConceptEntry>,
}

/// One local code and what it means.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConceptEntry {
    /// The local coding system as it appears in the message (CWE.3, e.g. `99LAB`, `L`).
    pub system: String,
    /// The local code (CWE.1).
    pub code: String,
    /// The standard system (`http://loinc.org`, `http://snomed.info/sct`, `http://unitsofmeasure.org`).
    pub to_system: String,
    /// The standard code.
    pub to_code: String,
    /// Its display.
    #[serde(default)]
    pub display: Option<String>,
}

/// `coding-systems.toml`: v2 coding system names (HL7 table 0396) → FHIR system URIs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodingSystemsFile {
    /// Name → URI (`LN = "http://loinc.org"`).
    pub systems: BTreeMap<String, String>,
    /// Time zone for v2 times without one (`+01:00`), since FHIR times need one.
    #[serde(default)]
    pub default_timezone: Option<String>,
}
