//! The canonical form of a JSON document, for hashing and signing, and the content hash over it.
//!
//! Canonical form: RFC 8785 (JCS) member order (by UTF-16 code units), no insignificant
//! whitespace, RFC 8785 string escaping, and no empty elements (members whose value is an empty
//! object or array, after the same rule is applied inside them, are left out).
//!
//! One deliberate departure from RFC 8785: numbers are written as their source text, not
//! re-serialised as IEEE 754 doubles. FHIR decimals carry their precision in their text (`1.50`
//! and `1.5` are different values to FHIR), and a double cannot hold every FHIR decimal exactly.
//! Array elements are never removed, because positions are significant (FHIR pairs `name[i]` with
//! `_name[i]`).

use std::borrow::Cow;
use std::cmp::Ordering;

use sha2::{Digest, Sha256};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::reader::{JsonKind, JsonReader};
use crate::writer::write_escaped;

/// The domain-separation prefix of [`content_hash`].
pub const CONTENT_HASH_DOMAIN: &[u8] = b"fhir-ledger-bridge/content/v1\0";

enum Value<'a> {
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
    Array(Vec<Value<'a>>),
    String(Cow<'a, str>),
    Number(&'a str),
    Bool(bool),
    Null,
}

impl Value<'_> {
    fn is_empty_container(&self) -> bool {
        match self {
            Self::Object(members) => members.is_empty(),
            Self::Array(elements) => elements.is_empty(),
            _ => false,
        }
    }
}

/// Member-name order of RFC 8785: by UTF-16 code units.
fn utf16_order(a: &str, b: &str) -> Ordering {
    // UTF-8 byte order equals code-point order, which equals UTF-16 order except for code points
    // above U+FFFF; those need 4-byte UTF-8 sequences, so ASCII-only names can compare bytes.
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn read_value<'a>(r: &mut JsonReader<'a>) -> Result<Value<'a>, DecodeError> {
    Ok(match r.peek_kind()? {
        JsonKind::Object => {
            r.begin_object()?;
            let mut members: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
            while let Some(key) = r.next_key()? {
                let value = read_value(r).map_err(|e| e.at_field(&key))?;
                if !value.is_empty_container() {
                    members.push((key, value));
                }
            }
            members.sort_by(|(a, _), (b, _)| utf16_order(a, b));
            if let Some(pair) = members.windows(2).find(|pair| pair[0].0 == pair[1].0) {
                let name = pair[0].0.to_string();
                return Err(
                    DecodeError::new(DecodeErrorKind::DuplicateElement(name.clone()), r.offset()).at_field(&name)
                );
            }
            Value::Object(members)
        }
        JsonKind::Array => {
            r.begin_array()?;
            let mut elements = Vec::new();
            let mut index = 0;
            while r.next_element()? {
                elements.push(read_value(r).map_err(|e| e.at_index(index))?);
                index += 1;
            }
            Value::Array(elements)
        }
        JsonKind::String => Value::String(r.read_str()?),
        JsonKind::Number => Value::Number(r.read_number_raw()?),
        JsonKind::Bool => Value::Bool(r.read_bool()?),
        JsonKind::Null => {
            r.try_null()?;
            Value::Null
        }
    })
}

fn write_value(out: &mut Vec<u8>, value: &Value<'_>) {
    match value {
        Value::Object(members) => {
            out.push(b'{');
            for (i, (key, value)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_escaped(out, key);
                out.push(b':');
                write_value(out, value);
            }
            out.push(b'}');
        }
        Value::Array(elements) => {
            out.push(b'[');
            for (i, value) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, value);
            }
            out.push(b']');
        }
        Value::String(text) => write_escaped(out, text),
        Value::Number(text) => out.extend_from_slice(text.as_bytes()),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// The canonical form of a JSON document (see the module documentation).
///
/// Fails on malformed JSON and on duplicate member names (which have no canonical order).
pub fn canonicalize(json: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut r = JsonReader::new(json);
    let value = read_value(&mut r)?;
    r.finish()?;
    let mut out = Vec::with_capacity(json.len());
    write_value(&mut out, &value);
    Ok(out)
}

/// The content hash: SHA-256 over [`CONTENT_HASH_DOMAIN`] followed by the canonical bytes.
///
/// The caller passes bytes already in canonical form (see [`canonicalize`]); the domain prefix
/// keeps this hash apart from every other SHA-256 the system computes.
pub fn content_hash(canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(CONTENT_HASH_DOMAIN);
    hasher.update(canonical);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(json: &str) -> String {
        String::from_utf8(canonicalize(json.as_bytes()).expect("canonicalizes")).expect("UTF-8")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc8785_sorting_example() {
        // RFC 8785 section 3.2.3: the order goes by UTF-16 code units, so the emoji (a surrogate
        // pair starting 0xD83D) sorts before U+FB33.
        let input = r#"{
           "\u20ac": "Euro Sign",
           "\r": "Carriage Return",
           "\ufb33": "Hebrew Letter Dalet With Dagesh",
           "1": "One",
           "\ud83d\ude00": "Emoji: Grinning Face",
           "\u0080": "Control",
           "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let keys: Vec<String> = {
            let out = canonical(input);
            let mut r = JsonReader::new(out.as_bytes());
            r.begin_object().unwrap();
            let mut keys = Vec::new();
            while let Some(k) = r.next_key().unwrap() {
                keys.push(k.into_owned());
                r.skip_value().unwrap();
            }
            keys
        };
        assert_eq!(keys, ["\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1F600}", "\u{fb33}"]);
    }

    #[test]
    fn rfc8785_string_escaping_example() {
        // RFC 8785 section 3.2.2.2.
        let input = r#"{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/"}"#;
        assert_eq!(canonical(input), "{\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
    }

    #[test]
    fn whitespace_goes_and_decimals_keep_their_text() {
        assert_eq!(
            canonical("{ \"b\" : [ 1.50 , 2e3 , -0 ], \"a\" : { \"z\" : true , \"y\" : null } }"),
            r#"{"a":{"y":null,"z":true},"b":[1.50,2e3,-0]}"#
        );
    }

    #[test]
    fn empty_members_are_removed_recursively_but_array_positions_stay() {
        assert_eq!(canonical(r#"{"a":{},"b":[],"c":{"d":{"e":[]}},"f":[{},1],"g":"x"}"#), r#"{"f":[{},1],"g":"x"}"#);
    }

    #[test]
    fn duplicate_members_are_refused_with_their_path() {
        let error = canonicalize(br#"{"a":{"b":1,"b":2}}"#).expect_err("duplicate");
        assert_eq!(error.kind, DecodeErrorKind::DuplicateElement("b".into()));
        assert_eq!(error.path_string("$"), "$.a.b");
    }

    #[test]
    fn canonical_form_is_a_fixed_point_and_independent_of_input_order() {
        let a = canonicalize(br#"{"resourceType":"Patient","id":"1","active":true}"#).unwrap();
        let b = canonicalize(br#"{ "active": true, "id": "1", "resourceType": "Patient" }"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(canonicalize(&a).unwrap(), a);
    }

    #[test]
    fn the_deepest_document_allowed_canonicalises_on_a_small_stack() {
        // Reading and writing recurse once per level (about 4.3 KiB each in a debug build), so
        // the deepest document the reader admits must fit well within a small thread.
        let levels = crate::MAX_DEPTH as usize;
        let at_limit = "{\"a\":".repeat(levels - 1) + "[1]" + &"}".repeat(levels - 1);
        let over_limit = "{\"a\":".repeat(levels) + "[1]" + &"}".repeat(levels);
        let (ok, too_deep) = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || (canonicalize(at_limit.as_bytes()).map(|_| ()), canonicalize(over_limit.as_bytes())))
            .expect("thread starts")
            .join()
            .expect("no panic");
        ok.expect("the deepest document allowed canonicalises");
        let error = too_deep.expect_err("too deep");
        assert_eq!(error.kind, DecodeErrorKind::TooDeep);
        assert_eq!(error.path_string("$"), format!("${}", ".a".repeat(levels)));
    }

    #[test]
    fn content_hash_known_answers() {
        // Computed independently: printf 'fhir-ledger-bridge/content/v1\0%s' '<json>' | sha256sum
        assert_eq!(
            hex(&content_hash(br#"{"active":true,"id":"1","resourceType":"Patient"}"#)),
            "e22eb5dc8b049fbe70145df7d25f1ad7c7ecae9c3a84737f1bdb0e23b3793b17"
        );
        assert_eq!(hex(&content_hash(b"")), "de971b4e127da4664cbc114ca62f5b4664ce0335565242bd8efab2788fd8d0fd");
    }
}
