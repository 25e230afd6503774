//! Emits the `Resource` enum over every resource type, with dispatch for decode, encode and
//! validate, and accessors for the elements every resource has.

use std::fmt::Write;

use super::{doc, header};
use crate::model::Model;

pub fn emit(model: &Model) -> String {
    let mut out = header("The `Resource` enum: any FHIR R4 resource.", &model.fhir_version);
    out.push_str("#[allow(unused_imports, reason = \"generated code imports one prelude in every file\")]\nuse crate::generated::prelude::*;\nuse crate::generated::resources::*;\n\n");
    let names: Vec<&str> = model.resources.iter().map(|r| r.name.as_str()).collect();

    out.push_str("/// Any FHIR R4 resource; each variant boxes its resource so the enum stays small.\n#[derive(Debug, Clone, PartialEq)]\npub enum Resource {\n");
    for r in &model.resources {
        doc(&mut out, "    ", &format!("`{}`: {}", r.name, r.doc));
        let _ = writeln!(out, "    {0}(Box<{0}>),", r.name);
    }
    out.push_str("}\n\n");

    out.push_str("/// The name of every FHIR R4 resource type, sorted.\npub const RESOURCE_TYPES: &[&str] = &[\n");
    for n in &names {
        let _ = writeln!(out, "    \"{n}\",");
    }
    out.push_str("];\n\n");

    // Accessors.
    out.push_str("impl Resource {\n");
    out.push_str("    /// The resource type name, e.g. `Patient`.\n    pub fn resource_type(&self) -> &'static str {\n        match self {\n");
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(_) => \"{n}\",");
    }
    out.push_str("        }\n    }\n\n");
    out.push_str(
        "    /// The logical id (`Resource.id`).\n    pub fn id(&self) -> Option<&str> {\n        match self {\n",
    );
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(r) => r.id.as_deref(),");
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// Sets or clears the logical id.\n    pub fn set_id(&mut self, id: Option<String>) {\n        match self {\n");
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(r) => r.id = id,");
    }
    out.push_str("        }\n    }\n\n");
    out.push_str(
        "    /// The metadata (`Resource.meta`).\n    pub fn meta(&self) -> Option<&Meta> {\n        match self {\n",
    );
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(r) => r.meta.as_deref(),");
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// Mutable access to the metadata slot.\n    pub fn meta_mut(&mut self) -> &mut Option<Box<Meta>> {\n        match self {\n");
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(r) => &mut r.meta,");
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// Contained resources (empty for resources that cannot contain any).\n    pub fn contained(&self) -> &[Resource] {\n        match self {\n");
    for r in &model.resources {
        let has_contained = r.structs.first().is_some_and(|s| s.fields.iter().any(|f| f.json_name == "contained"));
        if has_contained {
            let _ = writeln!(out, "            Self::{0}(r) => &r.contained,", r.name);
        } else {
            let _ = writeln!(out, "            Self::{0}(_) => &[],", r.name);
        }
    }
    out.push_str("        }\n    }\n\n");
    out.push_str("    /// Whether `name` is a FHIR R4 resource type.\n    pub fn is_resource_type(name: &str) -> bool {\n        RESOURCE_TYPES.binary_search(&name).is_ok()\n    }\n}\n\n");

    // Decoding goes through a table of one small function per type, not a `match` with an arm per
    // type: an unoptimised build reserves stack for every arm's value at once, which made each
    // nested resource cost about 350 KiB of stack. `de::resource` also bounds resource nesting.
    out.push_str("/// One decoder per resource type, in the order of [`RESOURCE_TYPES`].\nstatic RESOURCE_DECODERS: &[de::ResourceDecoder] = &[\n");
    for n in &names {
        let _ = writeln!(out, "    |r| Ok(Resource::{n}(Box::new({n}::decode(r)?))),");
    }
    out.push_str("];\n\n");
    out.push_str("impl FhirDecode for Resource {\n    fn decode(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {\n        de::resource(r, RESOURCE_TYPES, RESOURCE_DECODERS)\n    }\n}\n\n");

    out.push_str("impl FhirEncode for Resource {\n    fn encode(&self, w: &mut JsonWriter) {\n        match self {\n");
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(r) => r.encode(w),");
    }
    out.push_str("        }\n    }\n}\n\n");

    // The Validator sees every resource it enters (nesting bound, checks that span a resource and
    // its contained resources), then the resource's own elements.
    out.push_str("impl Validate for Resource {\n    fn validate(&self, v: &mut Validator) {\n        v.resource(self);\n    }\n}\n\n");
    out.push_str("impl Resource {\n    /// Validates the elements of the resource itself (called by [`Validator::resource`]).\n    pub(crate) fn validate_elements(&self, v: &mut Validator) {\n        match self {\n");
    for n in &names {
        let _ = writeln!(out, "            Self::{n}(r) => r.validate(v),");
    }
    out.push_str("        }\n    }\n}\n");
    out
}
