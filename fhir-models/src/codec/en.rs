//! Encoding helpers called by the generated `FhirEncode` impls, one per field shape.
//!
//! Empty members are not written: an absent primitive, an empty array, an absent complex value.

use fhir_json::JsonWriter;

use super::{FhirEncode, PrimitiveValue};
use crate::primitive::Primitive;

/// A plain string member.
pub(crate) fn plain(w: &mut JsonWriter, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        w.key(key);
        w.string(v);
    }
}

/// An array of plain strings.
#[allow(dead_code, reason = "the generator emits it for repeating plain strings; R4 has none today")]
pub(crate) fn plains(w: &mut JsonWriter, key: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    w.key(key);
    w.begin_array();
    for v in values {
        w.string(v);
    }
    w.end_array();
}

/// A single primitive: `name` for the value, `_name` for id and extensions.
pub(crate) fn prim<T: PrimitiveValue>(w: &mut JsonWriter, key: &str, ext_key: &str, value: &Option<Primitive<T>>) {
    if let Some(p) = value {
        prim_member(w, key, ext_key, p);
    }
}

/// One primitive (also the primitive types of choice elements).
pub(crate) fn prim_member<T: PrimitiveValue>(w: &mut JsonWriter, key: &str, ext_key: &str, p: &Primitive<T>) {
    if let Some(v) = &p.value {
        w.key(key);
        v.encode_value(w);
    }
    if let Some(x) = &p.extension {
        w.key(ext_key);
        x.encode(w);
    }
}

/// A primitive array as the parallel arrays `name` and `_name`, with nulls where one side is absent.
pub(crate) fn prims<T: PrimitiveValue>(w: &mut JsonWriter, key: &str, ext_key: &str, values: &[Primitive<T>]) {
    if values.iter().any(|p| p.value.is_some()) {
        w.key(key);
        w.begin_array();
        for p in values {
            match &p.value {
                Some(v) => v.encode_value(w),
                None => w.null(),
            }
        }
        w.end_array();
    }
    if values.iter().any(|p| p.extension.is_some()) {
        w.key(ext_key);
        w.begin_array();
        for p in values {
            match &p.extension {
                Some(x) => x.encode(w),
                None => w.null(),
            }
        }
        w.end_array();
    }
}

/// A single boxed complex member.
pub(crate) fn boxed<T: FhirEncode>(w: &mut JsonWriter, key: &str, value: &Option<Box<T>>) {
    if let Some(v) = value {
        w.key(key);
        v.encode(w);
    }
}

/// A single inline member.
pub(crate) fn single<T: FhirEncode>(w: &mut JsonWriter, key: &str, value: &Option<T>) {
    if let Some(v) = value {
        w.key(key);
        v.encode(w);
    }
}

/// A repeating complex member.
pub(crate) fn many<T: FhirEncode>(w: &mut JsonWriter, key: &str, values: &[T]) {
    if values.is_empty() {
        return;
    }
    w.key(key);
    w.begin_array();
    for v in values {
        v.encode(w);
    }
    w.end_array();
}
