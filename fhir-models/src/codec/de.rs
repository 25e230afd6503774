//! Decoding helpers called by the generated `FhirDecode` impls, one per field shape.
//!
//! Each helper reads the member's value, rejects a second occurrence of the same member, and
//! prefixes errors with the member name so the final error names the full path.

use std::borrow::Cow;

use fhir_json::{DecodeError, DecodeErrorKind, JsonKind, JsonReader};

use super::{FhirDecode, PrimitiveValue, MAX_RESOURCE_DEPTH};
use crate::generated::Resource;
use crate::primitive::{Primitive, PrimitiveExtension};

/// Decodes the resource at the reader's position as one concrete type (the generated table holds
/// one per resource type).
pub(crate) type ResourceDecoder = fn(&mut JsonReader<'_>) -> Result<Resource, DecodeError>;

fn error(r: &JsonReader<'_>, kind: DecodeErrorKind) -> DecodeError {
    DecodeError::new(kind, r.offset())
}

fn duplicate(r: &JsonReader<'_>, key: &str) -> DecodeError {
    error(r, DecodeErrorKind::DuplicateElement(key.to_owned())).at_field(key)
}

/// An unknown member: an error naming it (names are not data, but a hostile one is cut to
/// `MAX_PATH_NAME_CHARS` and loses its control characters, as in paths).
pub(crate) fn unknown(r: &JsonReader<'_>, key: &str) -> DecodeError {
    let name: String =
        key.chars().take(fhir_json::MAX_PATH_NAME_CHARS).map(|c| if c.is_control() { '\u{FFFD}' } else { c }).collect();
    error(r, DecodeErrorKind::UnknownElement(name)).at_field(key)
}

/// An object with no members, which FHIR forbids.
pub(crate) fn not_empty(r: &JsonReader<'_>, members: usize) -> Result<(), DecodeError> {
    if members == 0 {
        return Err(error(r, DecodeErrorKind::Empty));
    }
    Ok(())
}

/// The `resourceType` member of a resource decoded as a known type.
pub(crate) fn resource_type(r: &mut JsonReader<'_>, expected: &str) -> Result<(), DecodeError> {
    let found = r.read_str().map_err(|e| e.at_field("resourceType"))?;
    if found != expected {
        return Err(error(r, DecodeErrorKind::InvalidValue(format!("resourceType does not match {expected}")))
            .at_field("resourceType"));
    }
    Ok(())
}

/// Finds the `resourceType` of the object at the reader's position without consuming it.
pub(crate) fn find_resource_type<'a>(r: &mut JsonReader<'a>) -> Result<Cow<'a, str>, DecodeError> {
    let kind = r.peek_kind()?;
    if kind != JsonKind::Object {
        // Let begin_object produce the usual wrong-type error.
        r.clone().begin_object()?;
    }
    r.peek_object_string_member("resourceType")?
        .ok_or_else(|| error(r, DecodeErrorKind::InvalidValue("missing resourceType".into())))
}

/// Any resource: finds its `resourceType`, counts one level of resource nesting (refusing more
/// than [`MAX_RESOURCE_DEPTH`]) and decodes it with the decoder of its type (`decoders[i]` for
/// `types[i]`).
pub(crate) fn resource(
    r: &mut JsonReader<'_>,
    types: &[&str],
    decoders: &[ResourceDecoder],
) -> Result<Resource, DecodeError> {
    let resource_type = find_resource_type(r)?;
    let decode = types
        .binary_search(&&*resource_type)
        .ok()
        .and_then(|i| decoders.get(i))
        .ok_or_else(|| unknown_resource_type(r))?;
    r.enter_nested(MAX_RESOURCE_DEPTH, "resources")?;
    let resource = decode(r)?;
    r.leave_nested();
    Ok(resource)
}

/// A `resourceType` that names no R4 resource.
pub(crate) fn unknown_resource_type(r: &JsonReader<'_>) -> DecodeError {
    error(r, DecodeErrorKind::InvalidValue("resourceType is not an R4 resource type".into())).at_field("resourceType")
}

/// A plain string member (`id`, `url`).
pub(crate) fn plain(r: &mut JsonReader<'_>, slot: &mut Option<String>, key: &str) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(duplicate(r, key));
    }
    *slot = Some(r.read_string().map_err(|e| e.at_field(key))?);
    Ok(())
}

/// An array of plain strings.
#[allow(dead_code, reason = "the generator emits it for repeating plain strings; R4 has none today")]
pub(crate) fn plains(r: &mut JsonReader<'_>, slot: &mut Vec<String>, key: &str) -> Result<(), DecodeError> {
    if !slot.is_empty() {
        return Err(duplicate(r, key));
    }
    read_array(r, key, |r| r.read_string(), slot)
}

/// Reads a non-empty array, decoding each element with `item`.
fn read_array<'a, T>(
    r: &mut JsonReader<'a>,
    key: &str,
    mut item: impl FnMut(&mut JsonReader<'a>) -> Result<T, DecodeError>,
    out: &mut Vec<T>,
) -> Result<(), DecodeError> {
    r.begin_array().map_err(|e| e.at_field(key))?;
    let mut index = 0;
    while r.next_element().map_err(|e| e.at_index(index).at_field(key))? {
        out.push(item(r).map_err(|e| e.at_index(index).at_field(key))?);
        index += 1;
    }
    if index == 0 {
        return Err(error(r, DecodeErrorKind::Empty).at_field(key));
    }
    Ok(())
}

/// The value part (`name`) of a single primitive.
pub(crate) fn prim<T: PrimitiveValue>(
    r: &mut JsonReader<'_>,
    slot: &mut Option<Primitive<T>>,
    key: &str,
) -> Result<(), DecodeError> {
    let value = T::decode_value(r).map_err(|e| e.at_field(key))?;
    let p = slot.get_or_insert_with(|| Primitive { value: None, extension: None });
    if p.value.is_some() {
        return Err(duplicate(r, key));
    }
    p.value = Some(value);
    Ok(())
}

/// The extension part (`_name`) of a single primitive.
pub(crate) fn prim_ext<T>(
    r: &mut JsonReader<'_>,
    slot: &mut Option<Primitive<T>>,
    key: &str,
) -> Result<(), DecodeError> {
    let ext = PrimitiveExtension::decode(r).map_err(|e| e.at_field(key))?;
    let p = slot.get_or_insert_with(|| Primitive { value: None, extension: None });
    if p.extension.is_some() {
        return Err(duplicate(r, key));
    }
    p.extension = Some(Box::new(ext));
    Ok(())
}

/// Makes `slot` as long as `len`, or fails when the other half of a primitive array disagrees.
fn align<T>(r: &JsonReader<'_>, slot: &mut Vec<Primitive<T>>, len: usize, key: &str) -> Result<(), DecodeError> {
    if slot.is_empty() {
        slot.resize_with(len, || Primitive { value: None, extension: None });
    } else if slot.len() != len {
        return Err(
            error(r, DecodeErrorKind::InvalidValue(format!("{key} and its pair differ in length"))).at_field(key)
        );
    }
    Ok(())
}

/// The value part of a primitive array (nulls stand for elements that have only extensions).
pub(crate) fn prims<T: PrimitiveValue>(
    r: &mut JsonReader<'_>,
    slot: &mut Vec<Primitive<T>>,
    key: &str,
) -> Result<(), DecodeError> {
    if slot.iter().any(|p| p.value.is_some()) {
        return Err(duplicate(r, key));
    }
    let mut values = Vec::new();
    read_array(r, key, |r| if r.try_null()? { Ok(None) } else { T::decode_value(r).map(Some) }, &mut values)?;
    align(r, slot, values.len(), key)?;
    for (p, v) in slot.iter_mut().zip(values) {
        p.value = v;
    }
    Ok(())
}

/// The extension part of a primitive array.
pub(crate) fn prim_exts<T>(r: &mut JsonReader<'_>, slot: &mut Vec<Primitive<T>>, key: &str) -> Result<(), DecodeError> {
    if slot.iter().any(|p| p.extension.is_some()) {
        return Err(duplicate(r, key));
    }
    let mut exts = Vec::new();
    read_array(
        r,
        key,
        |r| if r.try_null()? { Ok(None) } else { PrimitiveExtension::decode(r).map(|e| Some(Box::new(e))) },
        &mut exts,
    )?;
    align(r, slot, exts.len(), key)?;
    for (p, x) in slot.iter_mut().zip(exts) {
        p.extension = x;
    }
    Ok(())
}

/// A single complex member.
pub(crate) fn boxed<T: FhirDecode>(
    r: &mut JsonReader<'_>,
    slot: &mut Option<Box<T>>,
    key: &str,
) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(duplicate(r, key));
    }
    *slot = Some(Box::new(T::decode(r).map_err(|e| e.at_field(key))?));
    Ok(())
}

/// A single member held inline (a resource, whose variants are boxed already).
pub(crate) fn single<T: FhirDecode>(
    r: &mut JsonReader<'_>,
    slot: &mut Option<T>,
    key: &str,
) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(duplicate(r, key));
    }
    *slot = Some(T::decode(r).map_err(|e| e.at_field(key))?);
    Ok(())
}

/// A repeating complex member.
pub(crate) fn many<T: FhirDecode>(r: &mut JsonReader<'_>, slot: &mut Vec<T>, key: &str) -> Result<(), DecodeError> {
    if !slot.is_empty() {
        return Err(duplicate(r, key));
    }
    read_array(r, key, T::decode, slot)
}

/// A complex type of a choice element (`valueQuantity`).
pub(crate) fn choice<'a, C>(
    r: &mut JsonReader<'a>,
    slot: &mut Option<C>,
    key: &str,
    decode: impl FnOnce(&mut JsonReader<'a>) -> Result<C, DecodeError>,
) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(duplicate(r, key));
    }
    *slot = Some(decode(r).map_err(|e| e.at_field(key))?);
    Ok(())
}

/// The value part of a primitive type of a choice element (`valueString`).
pub(crate) fn choice_prim<C, T: PrimitiveValue>(
    r: &mut JsonReader<'_>,
    slot: &mut Option<C>,
    key: &str,
    get: impl FnOnce(&mut C) -> Option<&mut Primitive<T>>,
    make: impl FnOnce(Primitive<T>) -> C,
) -> Result<(), DecodeError> {
    let value = T::decode_value(r).map_err(|e| e.at_field(key))?;
    match slot {
        None => *slot = Some(make(Primitive::new(value))),
        Some(c) => match get(c) {
            Some(p) if p.value.is_none() => p.value = Some(value),
            _ => return Err(duplicate(r, key)),
        },
    }
    Ok(())
}

/// The extension part of a primitive type of a choice element (`_valueString`).
pub(crate) fn choice_prim_ext<C, T>(
    r: &mut JsonReader<'_>,
    slot: &mut Option<C>,
    key: &str,
    get: impl FnOnce(&mut C) -> Option<&mut Primitive<T>>,
    make: impl FnOnce(Primitive<T>) -> C,
) -> Result<(), DecodeError> {
    let ext = Box::new(PrimitiveExtension::decode(r).map_err(|e| e.at_field(key))?);
    match slot {
        None => *slot = Some(make(Primitive { value: None, extension: Some(ext) })),
        Some(c) => match get(c) {
            Some(p) if p.extension.is_none() => p.extension = Some(ext),
            _ => return Err(duplicate(r, key)),
        },
    }
    Ok(())
}
