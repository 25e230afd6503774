//! Emits one struct (or choice enum) with its decode, encode and validate implementations.

use std::fmt::Write;

use super::doc;
use crate::model::{ChoiceEnum, Field, FieldType, StructDef};

/// Rust type of a field.
fn rust_type(field: &Field) -> String {
    match (&field.ty, field.many) {
        (FieldType::Primitive(p), false) => format!("Option<Primitive<{}>>", p.value_type),
        (FieldType::Primitive(p), true) => format!("Vec<Primitive<{}>>", p.value_type),
        (FieldType::PlainString(_) | FieldType::Xhtml, false) => "Option<String>".to_owned(),
        (FieldType::PlainString(_) | FieldType::Xhtml, true) => "Vec<String>".to_owned(),
        (FieldType::Complex(t), false) => format!("Option<Box<{t}>>"),
        (FieldType::Complex(t), true) => format!("Vec<{t}>"),
        (FieldType::Resource, false) => "Option<Resource>".to_owned(),
        (FieldType::Resource, true) => "Vec<Resource>".to_owned(),
        (FieldType::Choice(e), _) => format!("Option<{e}>"),
    }
}

/// Emits the struct, its choice enums and all trait impls.
pub fn emit_struct(out: &mut String, s: &StructDef) {
    // The struct itself.
    let _ = writeln!(out, "// {}", "-".repeat(96));
    doc(out, "", &s.doc);
    let _ = writeln!(out, "///\n/// FHIR path: `{}`.", s.fhir_path);
    let _ = writeln!(out, "#[derive(Debug, Clone, Default, PartialEq)]\npub struct {} {{", s.rust_name);
    for f in &s.fields {
        let cardinality = format!("{}..{}", f.min, if f.many { "*" } else { "1" });
        let member =
            if matches!(f.ty, FieldType::Choice(_)) { format!("{}[x]", f.json_name) } else { f.json_name.clone() };
        doc(out, "    ", &format!("`{member}` ({cardinality}): {}", f.doc));
        let _ = writeln!(out, "    pub {}: {},", f.rust_name, rust_type(f));
    }
    let _ = writeln!(out, "}}\n");

    emit_decode(out, s);
    emit_encode(out, s);
    emit_validate(out, s);
    for choice in &s.choices {
        emit_choice(out, choice);
    }
}

fn emit_decode(out: &mut String, s: &StructDef) {
    let _ = writeln!(
        out,
        "impl FhirDecode for {} {{\n    fn decode(r: &mut JsonReader<'_>) -> Result<Self, DecodeError> {{\n        let mut s = Self::default();\n        r.begin_object()?;\n        let mut members = 0usize;\n        while let Some(key) = r.next_key()? {{\n            members += 1;\n            match &*key {{",
        s.rust_name
    );
    if s.is_resource {
        let _ = writeln!(out, "                \"resourceType\" => de::resource_type(r, \"{}\")?,", s.rust_name);
    }
    for f in &s.fields {
        let (k, rf) = (&f.json_name, &f.rust_name);
        match (&f.ty, f.many) {
            (FieldType::Primitive(_), false) => {
                let _ = writeln!(out, "                \"{k}\" => de::prim(r, &mut s.{rf}, \"{k}\")?,");
                let _ = writeln!(out, "                \"_{k}\" => de::prim_ext(r, &mut s.{rf}, \"_{k}\")?,");
            }
            (FieldType::Primitive(_), true) => {
                let _ = writeln!(out, "                \"{k}\" => de::prims(r, &mut s.{rf}, \"{k}\")?,");
                let _ = writeln!(out, "                \"_{k}\" => de::prim_exts(r, &mut s.{rf}, \"_{k}\")?,");
            }
            (FieldType::PlainString(_) | FieldType::Xhtml, false) => {
                let _ = writeln!(out, "                \"{k}\" => de::plain(r, &mut s.{rf}, \"{k}\")?,");
            }
            (FieldType::PlainString(_) | FieldType::Xhtml, true) => {
                let _ = writeln!(out, "                \"{k}\" => de::plains(r, &mut s.{rf}, \"{k}\")?,");
            }
            (FieldType::Complex(_), false) => {
                let _ = writeln!(out, "                \"{k}\" => de::boxed(r, &mut s.{rf}, \"{k}\")?,");
            }
            (FieldType::Complex(_) | FieldType::Resource, true) => {
                let _ = writeln!(out, "                \"{k}\" => de::many(r, &mut s.{rf}, \"{k}\")?,");
            }
            (FieldType::Resource, false) => {
                let _ = writeln!(out, "                \"{k}\" => de::single(r, &mut s.{rf}, \"{k}\")?,");
            }
            (FieldType::Choice(enum_name), _) => {
                let choice = s.choices.iter().find(|c| &c.rust_name == enum_name);
                let keys: Vec<String> = choice
                    .map(|c| c.variants.iter().flat_map(|v| member_keys(c, v)).map(|k| format!("\"{k}\"")).collect())
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "                {} => {enum_name}::decode_member(&mut s.{rf}, &key, r)?,",
                    keys.join(" | ")
                );
            }
        }
    }
    let _ = writeln!(out, "                _ => return Err(de::unknown(r, &key)),\n            }}\n        }}");
    if s.is_resource {
        let _ = writeln!(out, "        let _ = members;");
    } else {
        let _ = writeln!(out, "        de::not_empty(r, members)?;");
    }
    let _ = writeln!(out, "        Ok(s)\n    }}\n}}\n");
}

/// JSON member names a choice variant may appear under.
fn member_keys(c: &ChoiceEnum, v: &crate::model::ChoiceVariant) -> Vec<String> {
    let key = format!("{}{}", c.json_stem, v.suffix);
    if matches!(v.ty, FieldType::Primitive(_)) {
        vec![key.clone(), format!("_{key}")]
    } else {
        vec![key]
    }
}

fn emit_encode(out: &mut String, s: &StructDef) {
    let _ = writeln!(
        out,
        "impl FhirEncode for {} {{\n    fn encode(&self, w: &mut JsonWriter) {{\n        w.begin_object();",
        s.rust_name
    );
    if s.is_resource {
        let _ = writeln!(out, "        w.key(\"resourceType\");\n        w.string(\"{}\");", s.rust_name);
    }
    for f in &s.fields {
        let (k, rf) = (&f.json_name, &f.rust_name);
        let line = match (&f.ty, f.many) {
            (FieldType::Primitive(_), false) => format!("en::prim(w, \"{k}\", \"_{k}\", &self.{rf});"),
            (FieldType::Primitive(_), true) => format!("en::prims(w, \"{k}\", \"_{k}\", &self.{rf});"),
            (FieldType::PlainString(_) | FieldType::Xhtml, false) => format!("en::plain(w, \"{k}\", &self.{rf});"),
            (FieldType::PlainString(_) | FieldType::Xhtml, true) => format!("en::plains(w, \"{k}\", &self.{rf});"),
            (FieldType::Complex(_), false) => format!("en::boxed(w, \"{k}\", &self.{rf});"),
            (FieldType::Complex(_) | FieldType::Resource, true) => format!("en::many(w, \"{k}\", &self.{rf});"),
            (FieldType::Resource, false) => format!("en::single(w, \"{k}\", &self.{rf});"),
            (FieldType::Choice(_), _) => format!("if let Some(c) = &self.{rf} {{ c.encode_member(w); }}"),
        };
        let _ = writeln!(out, "        {line}");
    }
    let _ = writeln!(out, "        w.end_object();\n    }}\n}}\n");
}

fn targets_literal(targets: &[String]) -> String {
    let quoted: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    format!("&[{}]", quoted.join(", "))
}

fn emit_validate(out: &mut String, s: &StructDef) {
    let _ = writeln!(out, "impl Validate for {} {{\n    fn validate(&self, v: &mut Validator) {{", s.rust_name);
    for f in &s.fields {
        let (k, rf) = (&f.json_name, &f.rust_name);
        let binding = f.binding.as_ref().map(|b| format!("&vs::{b}"));
        let line = match (&f.ty, f.many, binding) {
            (FieldType::Primitive(p), false, None) => {
                format!("v.prim(&self.{rf}, \"{k}\", PrimitiveKind::{});", p.kind)
            }
            (FieldType::Primitive(p), true, None) => {
                format!("v.prims(&self.{rf}, \"{k}\", PrimitiveKind::{});", p.kind)
            }
            (FieldType::Primitive(p), false, Some(b)) => {
                format!("v.bound_prim(&self.{rf}, \"{k}\", PrimitiveKind::{}, {b});", p.kind)
            }
            (FieldType::Primitive(p), true, Some(b)) => {
                format!("v.bound_prims(&self.{rf}, \"{k}\", PrimitiveKind::{}, {b});", p.kind)
            }
            (FieldType::PlainString(kind), false, _) => format!("v.plain(&self.{rf}, \"{k}\", PrimitiveKind::{kind});"),
            (FieldType::PlainString(kind), true, _) => format!("v.plains(&self.{rf}, \"{k}\", PrimitiveKind::{kind});"),
            (FieldType::Xhtml, false, _) => format!("v.plain(&self.{rf}, \"{k}\", PrimitiveKind::Xhtml);"),
            (FieldType::Xhtml, true, _) => format!("v.plains(&self.{rf}, \"{k}\", PrimitiveKind::Xhtml);"),
            (FieldType::Complex(t), false, _) if t == "Reference" => {
                format!("v.reference(&self.{rf}, \"{k}\", {});", targets_literal(&f.targets))
            }
            (FieldType::Complex(t), true, _) if t == "Reference" => {
                format!("v.references(&self.{rf}, \"{k}\", {});", targets_literal(&f.targets))
            }
            (FieldType::Complex(t), false, Some(b)) if t == "Coding" => format!("v.coding(&self.{rf}, \"{k}\", {b});"),
            (FieldType::Complex(t), true, Some(b)) if t == "Coding" => format!("v.codings(&self.{rf}, \"{k}\", {b});"),
            (FieldType::Complex(t), false, Some(b)) if t == "CodeableConcept" => {
                format!("v.concept(&self.{rf}, \"{k}\", {b});")
            }
            (FieldType::Complex(t), true, Some(b)) if t == "CodeableConcept" => {
                format!("v.concepts(&self.{rf}, \"{k}\", {b});")
            }
            (FieldType::Complex(_), false, _) => format!("v.boxed(&self.{rf}, \"{k}\");"),
            (FieldType::Complex(_), true, _) => format!("v.many(&self.{rf}, \"{k}\");"),
            (FieldType::Resource, false, _) => format!("v.single(&self.{rf}, \"{k}\");"),
            (FieldType::Resource, true, _) if k == "contained" => format!("v.contained(&self.{rf});"),
            (FieldType::Resource, true, _) => format!("v.many(&self.{rf}, \"{k}\");"),
            (FieldType::Choice(_), _, _) => format!("if let Some(c) = &self.{rf} {{ c.validate_member(v); }}"),
        };
        let _ = writeln!(out, "        {line}");
        if f.min > 0 {
            let present = if f.many { format!("!self.{rf}.is_empty()") } else { format!("self.{rf}.is_some()") };
            let name = if matches!(f.ty, FieldType::Choice(_)) { format!("{k}[x]") } else { k.clone() };
            let _ = writeln!(out, "        v.required({present}, \"{name}\");");
        }
    }
    if let Some((_, hook)) = INVARIANT_HOOKS.iter().find(|(name, _)| *name == s.rust_name) {
        let _ = writeln!(out, "        crate::validate::invariants::{hook}(self, v);");
    }
    let _ = writeln!(out, "    }}\n}}\n");
}

/// Structs whose validation also runs a hand-written invariant check in
/// `fhir-models/src/validate/invariants.rs` (struct name, function name).
const INVARIANT_HOOKS: &[(&str, &str)] = &[
    ("Bundle", "bundle"),
    ("Extension", "extension"),
    ("Observation", "observation"),
    ("PatientContact", "patient_contact"),
    ("Period", "period"),
    ("Reference", "reference"),
];

fn emit_choice(out: &mut String, c: &ChoiceEnum) {
    doc(out, "", &format!("Choice of types for `{}[x]`: {}", c.json_stem, c.doc));
    let _ = writeln!(out, "#[derive(Debug, Clone, PartialEq)]\npub enum {} {{", c.rust_name);
    for v in &c.variants {
        let ty = match &v.ty {
            FieldType::Primitive(p) => format!("Primitive<{}>", p.value_type),
            FieldType::Complex(t) => format!("Box<{t}>"),
            _ => "Box<Resource>".to_owned(),
        };
        doc(out, "    ", &format!("`{}{}`", c.json_stem, v.suffix));
        let _ = writeln!(out, "    {}({ty}),", v.suffix);
    }
    let _ = writeln!(out, "}}\n");

    let name = &c.rust_name;
    let _ = writeln!(out, "impl {name} {{");
    // member_name
    let _ = writeln!(out, "    /// JSON member name of the chosen type.\n    pub fn member_name(&self) -> &'static str {{\n        match self {{");
    for v in &c.variants {
        let _ = writeln!(out, "            Self::{}(_) => \"{}{}\",", v.suffix, c.json_stem, v.suffix);
    }
    let _ = writeln!(out, "        }}\n    }}\n");
    // decode_member
    let _ = writeln!(
        out,
        "    pub(crate) fn decode_member(slot: &mut Option<Self>, key: &str, r: &mut JsonReader<'_>) -> Result<(), DecodeError> {{\n        match key {{"
    );
    for v in &c.variants {
        let key = format!("{}{}", c.json_stem, v.suffix);
        let variant = &v.suffix;
        match &v.ty {
            FieldType::Primitive(_) => {
                let get = format!("|c| match c {{ Self::{variant}(p) => Some(p), _ => None }}");
                let _ =
                    writeln!(out, "            \"{key}\" => de::choice_prim(r, slot, key, {get}, Self::{variant}),");
                let _ = writeln!(
                    out,
                    "            \"_{key}\" => de::choice_prim_ext(r, slot, key, {get}, Self::{variant}),"
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "            \"{key}\" => de::choice(r, slot, key, |r| Ok(Self::{variant}(Box::new(FhirDecode::decode(r)?)))),"
                );
            }
        }
    }
    let _ = writeln!(out, "            _ => Err(de::unknown(r, key)),\n        }}\n    }}\n");
    // encode_member
    let _ = writeln!(out, "    pub(crate) fn encode_member(&self, w: &mut JsonWriter) {{\n        match self {{");
    for v in &c.variants {
        let key = format!("{}{}", c.json_stem, v.suffix);
        match &v.ty {
            FieldType::Primitive(_) => {
                let _ =
                    writeln!(out, "            Self::{}(p) => en::prim_member(w, \"{key}\", \"_{key}\", p),", v.suffix);
            }
            _ => {
                let _ = writeln!(out, "            Self::{}(x) => {{ w.key(\"{key}\"); x.encode(w); }}", v.suffix);
            }
        }
    }
    let _ = writeln!(out, "        }}\n    }}\n");
    // validate_member
    let _ = writeln!(out, "    pub(crate) fn validate_member(&self, v: &mut Validator) {{\n        match self {{");
    for var in &c.variants {
        let key = format!("{}{}", c.json_stem, var.suffix);
        let line = match &var.ty {
            FieldType::Primitive(p) => format!("v.prim_member(p, \"{key}\", PrimitiveKind::{})", p.kind),
            FieldType::Complex(t) if t == "Reference" => {
                format!("v.reference_member(x, \"{key}\", {})", targets_literal(&var.targets))
            }
            _ => format!("v.member(x.as_ref(), \"{key}\")"),
        };
        let binding = if matches!(var.ty, FieldType::Primitive(_)) { "p" } else { "x" };
        let _ = writeln!(out, "            Self::{}({binding}) => {line},", var.suffix);
    }
    let _ = writeln!(out, "        }}\n    }}\n}}\n");
}
